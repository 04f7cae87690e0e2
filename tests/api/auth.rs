//! Tokens and who may do what: workers of the administrator environment manage every
//! environment, other workers only their own, users only themselves.

use std::sync::Arc;

use axum::http::StatusCode;
use credd::auth::Tokens;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    worker_gets_a_token_with_basic_or_post_as_configured,
    bad_client_credentials_are_invalid_client,
    repeated_bad_secrets_lock_the_client_for_a_while,
    a_strangers_bad_secrets_lock_out_only_the_stranger,
    form_encoded_basic_credentials_are_accepted,
    missing_malformed_expired_and_foreign_tokens_are_unauthorized,
    a_worker_manages_only_its_own_environment,
    self_service_token_acts_only_on_its_user,
    token_exchange_refuses_bad_requests,
    rotated_secret_replaces_the_old_one,
    a_replace_racing_a_rotation_never_brings_the_old_secret_back,
    rotating_a_secret_ends_the_tokens_it_obtained,
    disabling_or_deleting_a_worker_ends_its_tokens,
    deleting_a_user_ends_their_tokens,
    another_instance_ends_tokens_within_the_recheck_bound,
    client_secrets_are_stored_as_keyed_hashes,
    access_tokens_are_rs256_with_pingone_claims,
    tokens_signed_any_other_way_are_refused,
    discovery_names_the_endpoints_credd_serves,
    a_rotated_key_signs_and_the_old_one_still_verifies,
    an_environment_without_a_key_gets_one_when_first_needed,
);

async fn worker_gets_a_token_with_basic_or_post_as_configured(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Workers").await;
    let token_url = format!("/{env}/as/token");
    let (id, secret) = app
        .create_worker(
            &admin,
            &env,
            json!({ "name": "poster", "type": "WORKER", "tokenEndpointAuthMethod": "CLIENT_SECRET_POST" }),
        )
        .await;

    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let response = app.post(&token_url).form(&form).send().await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(
        (response.body["token_type"].as_str(), response.body["expires_in"].as_u64()),
        (Some("Bearer"), Some(3600))
    );
    assert_eq!(response.headers.get("cache-control").unwrap(), "no-store");

    // The app is configured for POST: Basic is refused.
    let response = app.post(&token_url).basic(&id, &secret).form("grant_type=client_credentials").send().await;
    response.expect_error(StatusCode::UNAUTHORIZED, "ACCESS_FAILED");
    assert_eq!(response.body["error"], "invalid_client");
}

async fn bad_client_credentials_are_invalid_client(app: &TestApp) {
    let token_url = format!("/{}/as/token", app.admin.environment_id);
    let client_id = app.admin.client_id.to_string();
    for (user, password) in
        [(client_id.as_str(), "wrong"), ("not-a-uuid", "x"), (&uuid::Uuid::now_v7().to_string(), "x")]
    {
        let response = app.post(&token_url).basic(user, password).form("grant_type=client_credentials").send().await;
        response.expect_error(StatusCode::UNAUTHORIZED, "ACCESS_FAILED");
        assert_eq!(response.body["error"], "invalid_client");
    }
    let response = app.post(&token_url).form("grant_type=client_credentials").send().await;
    assert_eq!(response.body["error"], "invalid_client");
    let response =
        app.post(&token_url).basic(&client_id, &app.admin.client_secret).form("grant_type=password").send().await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert_eq!(response.body["error"], "unsupported_grant_type");
    assert!(response.body["error_description"].is_string(), "OAuth's spelling: {}", response.body);
    // The right secret for another environment's token endpoint is still refused.
    let admin = app.admin_token().await;
    let other = app.create_environment(&admin, "Other").await;
    let response = app
        .post(&format!("/{other}/as/token"))
        .basic(&client_id, &app.admin.client_secret)
        .form("grant_type=client_credentials")
        .send()
        .await;
    assert_eq!(response.body["error"], "invalid_client");
}

async fn repeated_bad_secrets_lock_the_client_for_a_while(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Throttle").await;
    let (id, secret) = app.create_worker(&admin, &env, json!({ "name": "target", "type": "WORKER" })).await;
    let (other_id, other_secret) = app.create_worker(&admin, &env, json!({ "name": "other", "type": "WORKER" })).await;
    let attempt = |secret: &str| {
        app.post(&format!("/{env}/as/token")).basic(&id, secret).form("grant_type=client_credentials").send()
    };
    for _ in 0..5 {
        let response = attempt("wrong").await;
        assert_eq!(
            (response.status, response.body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client"))
        );
    }
    // Locked: even the right secret is refused, so guessing on gains nothing.
    let locked = attempt(&secret).await;
    assert_eq!(locked.expect_error(StatusCode::TOO_MANY_REQUESTS, "REQUEST_LIMITED")["code"], "LIMIT_EXCEEDED");
    assert_eq!(locked.body["error"], "slow_down");
    let retry_after: u64 = locked.headers.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert_eq!(retry_after, 1, "the first lock is one second");
    app.worker_token(&env, &other_id, &other_secret).await;

    // Once Retry-After has passed the right secret works, and the count starts over.
    tokio::time::sleep(std::time::Duration::from_millis(retry_after * 1000 + 100)).await;
    app.worker_token(&env, &id, &secret).await;
    assert_eq!(attempt("wrong").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(attempt(&secret).await.status, StatusCode::OK);
}

async fn a_strangers_bad_secrets_lock_out_only_the_stranger(app: &TestApp) {
    let token_url = format!("/{}/as/token", app.admin.environment_id);
    let client_id = app.admin.client_id.to_string();
    let (stranger, administrator) = ("192.0.2.7:40000", "198.51.100.20:50000");
    let attempt = |peer: &'static str, secret: &str| {
        app.post(&token_url).peer(peer).basic(&client_id, secret).form("grant_type=client_credentials").send()
    };
    // The environment's key is made with its first token: made now, so that making it
    // cannot outlast the stranger's one-second lock below.
    app.admin_token().await;
    for _ in 0..5 {
        assert_eq!(attempt(stranger, "wrong").await.status, StatusCode::UNAUTHORIZED);
    }
    attempt(stranger, "wrong").await.expect_error(StatusCode::TOO_MANY_REQUESTS, "REQUEST_LIMITED");
    // The administrator, elsewhere, is never refused, however long the stranger goes on.
    for _ in 0..3 {
        let response = attempt(administrator, &app.admin.client_secret).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    }
    // …and the stranger's lock outlives the administrator's successes.
    let locked = attempt(stranger, "wrong").await;
    assert_eq!(locked.expect_error(StatusCode::TOO_MANY_REQUESTS, "REQUEST_LIMITED")["code"], "LIMIT_EXCEEDED");
    assert_eq!(locked.body["error"], "slow_down");
}

/// What oauth4webapi (and so openid-client) sends: RFC 6749 §2.3.1's form-urlencoding
/// of id and secret before base64, which turns every `-` and `_` into `%2D` and `%5F`:
/// a client id (a UUID) always changes.
async fn form_encoded_basic_credentials_are_accepted(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Form-encoded").await;
    let (id, secret) = app.create_worker(&admin, &env, json!({ "name": "w", "type": "WORKER" })).await;
    let like_oauth4webapi = |value: &str| {
        value
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("%{:02X}", c as u32) })
            .collect::<String>()
    };
    let every_byte = |value: &str| value.bytes().map(|b| format!("%{b:02x}")).collect::<String>();
    for (id, secret) in [
        (like_oauth4webapi(&id), like_oauth4webapi(&secret)),
        (every_byte(&id), every_byte(&secret)),
        (id.clone(), secret.clone()),
    ] {
        let response = app
            .post(&format!("/{env}/as/token"))
            .basic(&id, &secret)
            .form("grant_type=client_credentials")
            .send()
            .await;
        assert_eq!(response.status, StatusCode::OK, "{id}: {}", response.body);
    }
    // Decoded, a wrong secret is still wrong, and undecodable bytes are no secret.
    for wrong in [format!("{secret}%2D"), format!("{secret}+"), "%FF".to_owned()] {
        let response =
            app.post(&format!("/{env}/as/token")).basic(&id, &wrong).form("grant_type=client_credentials").send().await;
        assert_eq!(response.body["error"], "invalid_client");
    }
}

async fn missing_malformed_expired_and_foreign_tokens_are_unauthorized(app: &TestApp) {
    let environments = "/v1/environments";
    app.get(environments).send().await.expect_error(StatusCode::UNAUTHORIZED, "ACCESS_FAILED");
    for header in ["Bearer", "Bearer not.a.jwt", "Basic abc", "Bearer eyJhbGciOiJub25lIn0.e30."] {
        let response = app.get(environments).header("authorization", header).send().await;
        assert_eq!(response.expect_error(StatusCode::UNAUTHORIZED, "ACCESS_FAILED")["code"], "INVALID_TOKEN");
        assert_eq!(response.headers.get("www-authenticate").unwrap(), "Bearer");
    }

    // Signed by a key credd never issued: under an unknown kid, and under the real kid.
    let admin_env = app.admin.environment_id;
    let real_kid = jsonwebtoken::decode_header(app.admin_token().await).unwrap().kid.unwrap();
    let forged = ed25519_dalek::SigningKey::from_bytes(&[9; 32]).to_pkcs8_der().unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": format!("https://credd.test/{admin_env}/as"), "sub": app.admin.client_id, "aud": "https://credd.test",
        "iat": now, "exp": now + 3600, "jti": "forged", "env": admin_env, "client_id": app.admin.client_id,
    });
    for kid in [uuid::Uuid::now_v7().to_string(), real_kid] {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(kid);
        let token =
            jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_ed_der(forged.as_bytes())).unwrap();
        app.get(environments).bearer(&token).send().await.expect_error(StatusCode::UNAUTHORIZED, "ACCESS_FAILED");
    }

    // Expired: issued by the real key with no lifetime, checked once its second has passed.
    let expiring = Tokens::new(
        app.state.credd.store.clone(),
        Arc::clone(&app.state.credd.master_key),
        "https://credd.test".into(),
        0,
        app.admin.environment_id,
    );
    let administrator = {
        use domain::store::ApplicationStore;
        app.state.credd.store.application(app.admin.environment_id, app.admin.client_id).await.unwrap()
    };
    let expired = expiring.issue(&administrator, app.admin.client_id, None).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let response = app.get(environments).bearer(&expired.access_token).send().await;
    response.expect_error(StatusCode::UNAUTHORIZED, "ACCESS_FAILED");

    // A valid token whose signature was tampered with.
    let admin = app.admin_token().await;
    let mut tampered = admin.clone();
    tampered.pop();
    tampered.push(if admin.ends_with('A') { 'B' } else { 'A' });
    app.get(environments).bearer(&tampered).send().await.expect_error(StatusCode::UNAUTHORIZED, "ACCESS_FAILED");
    assert_eq!(app.get(environments).bearer(&admin).send().await.status, StatusCode::OK);
}

async fn a_worker_manages_only_its_own_environment(app: &TestApp) {
    let admin = app.admin_token().await;
    let a = app.create_environment(&admin, "A").await;
    let b = app.create_environment(&admin, "B").await;
    let (id, secret) = app.create_worker(&admin, &a, json!({ "name": "a-worker", "type": "WORKER" })).await;
    let worker = app.worker_token(&a, &id, &secret).await;

    let user = app.create_user(&worker, &a, json!({ "username": "ada" })).await;
    assert_eq!(app.get(&format!("/v1/environments/{a}")).bearer(&worker).send().await.status, StatusCode::OK);

    let b_user = app.create_user(&admin, &b, json!({ "username": "bob" })).await;
    let b_user_id = b_user["id"].as_str().unwrap();
    for path in [
        format!("/v1/environments/{b}"),
        format!("/v1/environments/{b}/users"),
        format!("/v1/environments/{b}/users/{b_user_id}"),
        format!("/v1/environments/{b}/applications"),
        "/v1/environments".to_owned(),
    ] {
        app.get(&path).bearer(&worker).send().await.expect_error(StatusCode::FORBIDDEN, "ACCESS_FAILED");
    }
    let response = app
        .post(&format!("/v1/environments/{b}/users"))
        .bearer(&worker)
        .json(json!({ "username": "mallory" }))
        .send()
        .await;
    response.expect_error(StatusCode::FORBIDDEN, "ACCESS_FAILED");
    app.delete(&format!("/v1/environments/{b}/users/{b_user_id}"))
        .bearer(&worker)
        .send()
        .await
        .expect_error(StatusCode::FORBIDDEN, "ACCESS_FAILED");
    app.delete(&format!("/v1/environments/{b}"))
        .bearer(&worker)
        .send()
        .await
        .expect_error(StatusCode::FORBIDDEN, "ACCESS_FAILED");
    let response = app.post("/v1/environments").bearer(&worker).json(json!({ "name": "mine" })).send().await;
    response.expect_error(StatusCode::FORBIDDEN, "ACCESS_FAILED");
    // B's user is untouched, and A's user is A's.
    assert_eq!(
        app.get(&format!("/v1/environments/{b}/users/{b_user_id}")).bearer(&admin).send().await.body["username"],
        "bob"
    );
    let a_user_in_b = format!("/v1/environments/{b}/users/{}", user["id"].as_str().unwrap());
    app.get(&a_user_in_b).bearer(&admin).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

pub(crate) async fn exchange(
    app: &TestApp,
    env: &str,
    id: &str,
    secret: &str,
    user_id: &str,
    scope: &str,
) -> crate::helpers::TestResponse {
    let form = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token={user_id}\
         &subject_token_type=urn%3Acredd%3Aparams%3Aoauth%3Atoken-type%3Auser-id&scope={scope}"
    );
    app.post(&format!("/{env}/as/token")).basic(id, secret).form(&form).send().await
}

async fn self_service_token_acts_only_on_its_user(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Self service").await;
    let (id, secret) = app.create_worker(&admin, &env, json!({ "name": "w", "type": "WORKER" })).await;
    let ada = app.create_user(&admin, &env, json!({ "username": "ada" })).await;
    let bob = app.create_user(&admin, &env, json!({ "username": "bob" })).await;
    let (ada_id, bob_id) = (ada["id"].as_str().unwrap(), bob["id"].as_str().unwrap());

    let response = exchange(app, &env, &id, &secret, ada_id, "p1:read:user%20p1:create:device").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.body["scope"], "p1:read:user p1:create:device");
    assert_eq!(response.body["issued_token_type"], "urn:ietf:params:oauth:token-type:access_token");
    let ada_token = response.body["access_token"].as_str().unwrap().to_owned();

    let me = app.get(&format!("/v1/environments/{env}/users/{ada_id}")).bearer(&ada_token).send().await;
    assert_eq!(me.body["username"], "ada");
    for path in [
        format!("/v1/environments/{env}/users/{bob_id}"),
        format!("/v1/environments/{env}/users"),
        format!("/v1/environments/{env}"),
    ] {
        app.get(&path).bearer(&ada_token).send().await.expect_error(StatusCode::FORBIDDEN, "ACCESS_FAILED");
    }
    // Reading is not updating: p1:update:user was not granted.
    let response = app
        .patch(&format!("/v1/environments/{env}/users/{ada_id}"))
        .bearer(&ada_token)
        .json(json!({ "locale": "fr" }))
        .send()
        .await;
    response.expect_error(StatusCode::FORBIDDEN, "ACCESS_FAILED");
    let response = app
        .post(&format!("/v1/environments/{env}/users"))
        .bearer(&ada_token)
        .json(json!({ "username": "eve" }))
        .send()
        .await;
    response.expect_error(StatusCode::FORBIDDEN, "ACCESS_FAILED");
}

async fn token_exchange_refuses_bad_requests(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Exchange").await;
    let (id, secret) = app.create_worker(&admin, &env, json!({ "name": "w", "type": "WORKER" })).await;
    let ada = app.create_user(&admin, &env, json!({ "username": "ada" })).await;
    let ada_id = ada["id"].as_str().unwrap();

    let response = exchange(app, &env, &id, &secret, ada_id, "openid").await;
    assert_eq!((response.status, response.body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
    let response = exchange(app, &env, &id, &secret, ada_id, "").await;
    assert_eq!(response.body["error"], "invalid_scope");
    let response = exchange(app, &env, &id, &secret, &uuid::Uuid::now_v7().to_string(), "p1:read:user").await;
    assert_eq!(response.body["error"], "invalid_grant");
    let response = exchange(app, &env, &id, "wrong", ada_id, "p1:read:user").await;
    assert_eq!((response.status, response.body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
}

async fn rotated_secret_replaces_the_old_one(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Rotation").await;
    let (id, old) = app.create_worker(&admin, &env, json!({ "name": "w", "type": "WORKER" })).await;
    let response = app.post(&format!("/v1/environments/{env}/applications/{id}/secret")).bearer(&admin).send().await;
    let new = response.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    app.worker_token(&env, &id, &new).await;
    let response =
        app.post(&format!("/{env}/as/token")).basic(&id, &old).form("grant_type=client_credentials").send().await;
    assert_eq!(response.body["error"], "invalid_client");
    // The secret is never shown again.
    let read = app.get(&format!("/v1/environments/{env}/applications/{id}")).bearer(&admin).send().await;
    assert!(read.body.get("secret").is_none(), "{}", read.body);
}

/// A replace reads the application and writes it back; a rotation between the two must
/// survive, or the old (perhaps leaked) secret would work again.
async fn a_replace_racing_a_rotation_never_brings_the_old_secret_back(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Rotation race").await;
    let (id, _) = app.create_worker(&admin, &env, json!({ "name": "w", "type": "WORKER" })).await;
    let application = format!("/v1/environments/{env}/applications/{id}");
    let body =
        json!({ "name": "w", "type": "WORKER", "enabled": true, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC" });
    for round in 0..30 {
        let replace = app.put(&application).bearer(&admin).json(body.clone()).send();
        let rotate = app.post(&format!("{application}/secret")).bearer(&admin).send();
        let (replaced, rotated) = tokio::join!(replace, rotate);
        assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
        let secret = rotated.body["secret"].as_str().unwrap();
        let response = app
            .post(&format!("/{env}/as/token"))
            .basic(&id, secret)
            .form("grant_type=client_credentials")
            .send_unchecked()
            .await;
        assert_eq!(response.status, StatusCode::OK, "round {round}: the rotated secret was undone: {}", response.body);
    }
}

/// A worker's token, and a self-service token it obtained for a new user; both work.
async fn worker_and_user_tokens(app: &TestApp, env: &str, id: &str, secret: &str) -> (String, String, String) {
    let worker = app.worker_token(env, id, secret).await;
    let user =
        app.create_user(&worker, env, json!({ "username": format!("u{}", uuid::Uuid::now_v7().simple()) })).await;
    let user_id = user["id"].as_str().unwrap().to_owned();
    let response = exchange(app, env, id, secret, &user_id, "p1:read:user").await;
    let user_token = response.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(users_status(app, env, &user_id, &worker).await, StatusCode::OK);
    assert_eq!(users_status(app, env, &user_id, &user_token).await, StatusCode::OK);
    (worker, user_id, user_token)
}

/// What reading the user answers to `token`.
async fn users_status(app: &TestApp, env: &str, user_id: &str, token: &str) -> StatusCode {
    app.get(&format!("/v1/environments/{env}/users/{user_id}")).bearer(token).send().await.status
}

async fn rotating_a_secret_ends_the_tokens_it_obtained(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Rotation ends tokens").await;
    let (id, secret) = app.create_worker(&admin, &env, json!({ "name": "w", "type": "WORKER" })).await;
    let (worker, user_id, user_token) = worker_and_user_tokens(app, &env, &id, &secret).await;

    let response = app.post(&format!("/v1/environments/{env}/applications/{id}/secret")).bearer(&admin).send().await;
    let new_secret = response.body["secret"].as_str().unwrap().to_owned();
    for token in [&worker, &user_token] {
        let response = app.get(&format!("/v1/environments/{env}/users/{user_id}")).bearer(token).send().await;
        assert_eq!(response.expect_error(StatusCode::UNAUTHORIZED, "ACCESS_FAILED")["code"], "INVALID_TOKEN");
    }
    let fresh = app.worker_token(&env, &id, &new_secret).await;
    assert_eq!(users_status(app, &env, &user_id, &fresh).await, StatusCode::OK);
}

async fn disabling_or_deleting_a_worker_ends_its_tokens(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Workers end").await;
    let (disabled, secret) = app.create_worker(&admin, &env, json!({ "name": "disabled", "type": "WORKER" })).await;
    let (worker, user_id, user_token) = worker_and_user_tokens(app, &env, &disabled, &secret).await;
    let response = app
        .put(&format!("/v1/environments/{env}/applications/{disabled}"))
        .bearer(&admin)
        .json(json!({ "name": "disabled", "type": "WORKER", "enabled": false }))
        .send()
        .await;
    assert_eq!(response.body["enabled"], false, "{}", response.body);
    for token in [&worker, &user_token] {
        assert_eq!(users_status(app, &env, &user_id, token).await, StatusCode::UNAUTHORIZED);
    }

    let (deleted, secret) = app.create_worker(&admin, &env, json!({ "name": "deleted", "type": "WORKER" })).await;
    let (worker, user_id, user_token) = worker_and_user_tokens(app, &env, &deleted, &secret).await;
    let path = format!("/v1/environments/{env}/applications/{deleted}");
    assert_eq!(app.delete(&path).bearer(&admin).send().await.status, StatusCode::NO_CONTENT);
    for token in [&worker, &user_token] {
        assert_eq!(users_status(app, &env, &user_id, token).await, StatusCode::UNAUTHORIZED);
    }
}

async fn deleting_a_user_ends_their_tokens(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Users end").await;
    let (id, secret) = app.create_worker(&admin, &env, json!({ "name": "w", "type": "WORKER" })).await;
    let (worker, user_id, user_token) = worker_and_user_tokens(app, &env, &id, &secret).await;
    let path = format!("/v1/environments/{env}/users/{user_id}");
    assert_eq!(app.delete(&path).bearer(&worker).send().await.status, StatusCode::NO_CONTENT);
    let response = app.get(&format!("/v1/environments/{env}/users/{user_id}/devices")).bearer(&user_token).send().await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{}", response.body);
    // The worker that obtained it is untouched.
    assert_eq!(users_status(app, &env, &user_id, &worker).await, StatusCode::NOT_FOUND);
}

/// Instance B trusted a token; A rotates its worker's secret, then deletes its
/// environment. B refuses the token once it checks the credential again.
async fn another_instance_ends_tokens_within_the_recheck_bound(a: &TestApp) {
    let b = a.another_instance().await;
    let admin = a.admin_token().await;
    let env = a.create_environment(&admin, "Two instances").await;
    let (rotated, secret) = a.create_worker(&admin, &env, json!({ "name": "rotated", "type": "WORKER" })).await;
    let (rotated_token, user_id, user_token) = worker_and_user_tokens(a, &env, &rotated, &secret).await;
    let (kept, secret) = a.create_worker(&admin, &env, json!({ "name": "kept", "type": "WORKER" })).await;
    let kept_token = a.worker_token(&env, &kept, &secret).await;
    for token in [&rotated_token, &user_token, &kept_token] {
        assert_eq!(users_status(&b, &env, &user_id, token).await, StatusCode::OK, "B trusts the token");
    }

    a.post(&format!("/v1/environments/{env}/applications/{rotated}/secret")).bearer(&admin).send().await;
    for token in [&rotated_token, &user_token] {
        refused_by_and_by(&b, &env, &user_id, token).await;
    }
    assert_eq!(users_status(&b, &env, &user_id, &kept_token).await, StatusCode::OK, "other workers go on");

    a.delete(&format!("/v1/environments/{env}")).bearer(&admin).send().await;
    // Trusted, B would answer 404: the environment is gone.
    refused_by_and_by(&b, &env, &user_id, &kept_token).await;
    b.finish().await;
}

/// Polls until `app` answers the token with 401, within the recheck bound and a margin.
async fn refused_by_and_by(app: &TestApp, env: &str, user_id: &str, token: &str) {
    let deadline = std::time::Instant::now() + credd::auth::RECHECK_AFTER + std::time::Duration::from_secs(20);
    loop {
        let status = users_status(app, env, user_id, token).await;
        if status == StatusCode::UNAUTHORIZED {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "still answered {status} long after the recheck bound");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

async fn client_secrets_are_stored_as_keyed_hashes(app: &TestApp) {
    use domain::store::ApplicationStore;
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Hashes").await;
    let (id, secret) = app.create_worker(&admin, &env, json!({ "name": "w", "type": "WORKER" })).await;
    let stored = app.state.credd.store.application(env.parse().unwrap(), id.parse().unwrap()).await.unwrap();
    let kept = stored.secret.unwrap();
    assert_eq!(kept.hash.len(), 32);
    assert!(app.state.credd.master_key.verify_secret(credd::service::CLIENT_SECRET, &secret, &kept.hash));
    // The sealed copy (which `GET …/secret` opens) holds no run of the secret either.
    for rest in [&kept.hash, &kept.sealed.unwrap()] {
        assert!(!rest.windows(8).any(|w| secret.as_bytes().windows(8).any(|s| s == w)));
    }
}

/// The environment's JWK Set, its keys by `kid`.
async fn jwks(app: &TestApp, env: &str) -> Vec<Value> {
    let response = app.get(&format!("/{env}/as/jwks")).send().await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.body["keys"].as_array().unwrap().clone()
}

/// The token's claims, verified as a client configured for PingOne verifies them: RS256
/// only, with the key its `kid` names in the environment's JWK Set.
async fn verified_claims(app: &TestApp, env: &str, token: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let keys = jwks(app, env).await;
    let kid = header.kid.expect("a kid");
    let key = keys.iter().find(|k| k["kid"] == kid.as_str()).unwrap_or_else(|| panic!("{kid} not in {keys:?}"));
    assert_eq!(
        (key["kty"].as_str(), key["use"].as_str(), key["alg"].as_str()),
        (Some("RSA"), Some("sig"), Some("RS256"))
    );
    let decoding = DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["https://credd.test"]);
    validation.set_issuer(&[format!("https://credd.test/{env}/as")]);
    jsonwebtoken::decode::<Value>(token, &decoding, &validation).unwrap().claims
}

async fn access_tokens_are_rs256_with_pingone_claims(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Claims").await;
    let (id, secret) = app.create_worker(&admin, &env, json!({ "name": "w", "type": "WORKER" })).await;
    let token = app.worker_token(&env, &id, &secret).await;
    let claims = verified_claims(app, &env, &token).await;
    assert_eq!(
        (&claims["client_id"], &claims["sub"], &claims["env"], &claims["scope"]),
        (&json!(id), &json!(id), &json!(env), &json!(""))
    );
    assert_eq!(claims["iss"], format!("https://credd.test/{env}/as"));
    assert_eq!(claims["aud"], json!(["https://credd.test"]));
    let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 3600);
    assert!((iat - chrono::Utc::now().timestamp()).abs() < 60);
    let jti = claims["jti"].as_str().unwrap();
    assert_ne!(jti, verified_claims(app, &env, &app.worker_token(&env, &id, &secret).await).await["jti"]);
    // One organization, the installation, for every environment.
    let org = claims["org"].as_str().unwrap();
    uuid::Uuid::parse_str(org).unwrap();
    let admin_env = app.admin.environment_id.to_string();
    assert_eq!(verified_claims(app, &admin_env, &admin).await["org"], org);

    // A self-service token names its user and its scopes.
    let ada = app.create_user(&admin, &env, json!({ "username": "ada" })).await;
    let response = exchange(app, &env, &id, &secret, ada["id"].as_str().unwrap(), "p1:read:user").await;
    let claims = verified_claims(app, &env, response.body["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (&claims["client_id"], &claims["sub"], &claims["scope"], &claims["org"]),
        (&json!(id), &ada["id"], &json!("p1:read:user"), &json!(org))
    );
}

async fn tokens_signed_any_other_way_are_refused(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.admin.environment_id;
    let key = jwks(app, &env.to_string()).await.remove(0);
    let kid = key["kid"].as_str().unwrap().to_owned();
    let claims = verified_claims(app, &env.to_string(), &admin).await;
    let signed = |alg, key: &EncodingKey| {
        let mut header = Header::new(alg);
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, &claims, key).unwrap()
    };
    let ed25519 = ed25519_dalek::SigningKey::from_bytes(&[9; 32]).to_pkcs8_der().unwrap();
    let other_rsa = {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap().to_pkcs1_der().unwrap()
    };
    let forged = [
        signed(Algorithm::EdDSA, &EncodingKey::from_ed_der(ed25519.as_bytes())),
        // The public key as an HMAC secret: the old algorithm-confusion trick.
        signed(Algorithm::HS256, &EncodingKey::from_secret(key["n"].as_str().unwrap().as_bytes())),
        signed(Algorithm::HS256, &EncodingKey::from_secret(b"secret")),
        signed(Algorithm::RS256, &EncodingKey::from_rsa_der(other_rsa.as_bytes())),
        signed(Algorithm::PS256, &EncodingKey::from_rsa_der(other_rsa.as_bytes())),
    ];
    for token in &forged {
        let response = app.get("/v1/environments").bearer(token).send().await;
        response.expect_error(StatusCode::UNAUTHORIZED, "ACCESS_FAILED");
    }
    assert_eq!(app.get("/v1/environments").bearer(&admin).send().await.status, StatusCode::OK);
}

async fn discovery_names_the_endpoints_credd_serves(app: &TestApp) {
    let env = app.admin.environment_id.to_string();
    let response = app.get(&format!("/{env}/as/.well-known/openid-configuration")).send().await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let metadata = response.body;
    let path = |field: &str| metadata[field].as_str().unwrap().strip_prefix("https://credd.test").unwrap().to_owned();

    // The issuer is the tokens' `iss`, and the named endpoints serve.
    let response = app
        .post(&path("token_endpoint"))
        .basic(&app.admin.client_id.to_string(), &app.admin.client_secret)
        .form("grant_type=client_credentials")
        .send()
        .await;
    let token = response.body["access_token"].as_str().unwrap();
    assert_eq!(verified_claims(app, &env, token).await["iss"], metadata["issuer"]);
    let keys = app.get(&path("jwks_uri")).send().await;
    assert_eq!(keys.body["keys"].as_array().unwrap(), &jwks(app, &env).await);
    assert_eq!(metadata["token_endpoint_auth_methods_supported"], json!(["client_secret_basic", "client_secret_post"]));
    assert_eq!(
        metadata["grant_types_supported"],
        json!(["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"])
    );
    assert_eq!(metadata["response_types_supported"], json!([]));
    assert_eq!(metadata["subject_types_supported"], json!(["public"]));
    assert_eq!(metadata["id_token_signing_alg_values_supported"], json!(["RS256"]));
    assert!(metadata["scopes_supported"].as_array().unwrap().contains(&json!("p1:create:device")));
    // Nothing credd does not serve.
    for absent in ["authorization_endpoint", "userinfo_endpoint", "introspection_endpoint"] {
        assert!(metadata.get(absent).is_none(), "{absent}");
    }

    app.get(&format!("/{}/as/.well-known/openid-configuration", uuid::Uuid::now_v7()))
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

/// A key added over the newest signs on an instance that did not cache the old one;
/// tokens of the old key verify on every instance, the new key's too.
async fn a_rotated_key_signs_and_the_old_one_still_verifies(a: &TestApp) {
    use domain::store::EnvironmentStore;
    let old_token = a.admin_token().await;
    let env = a.admin.environment_id;
    let old_kid: uuid::Uuid = jsonwebtoken::decode_header(&old_token).unwrap().kid.unwrap().parse().unwrap();
    let rotated = a.state.credd.tokens.new_signing_key(env).await.unwrap();
    assert_eq!(a.state.credd.store.add_signing_key(&rotated, Some(old_kid)).await.unwrap(), rotated);

    let b = a.another_instance().await;
    let new_token = b.admin_token().await;
    let header = jsonwebtoken::decode_header(&new_token).unwrap();
    assert_eq!(header.kid, Some(rotated.id.to_string()));
    let kids: Vec<Value> = jwks(&b, &env.to_string()).await.iter().map(|k| k["kid"].clone()).collect();
    assert_eq!(kids, [json!(rotated.id), json!(old_kid)], "newest first");
    for (instance, token) in [(a, &old_token), (a, &new_token), (&b, &old_token), (&b, &new_token)] {
        assert_eq!(instance.get("/v1/environments").bearer(token).send().await.status, StatusCode::OK);
    }
    b.finish().await;
}

/// As in a database from before RS256 (whose keys the migration removed): instances
/// that find no key make one, racing ones agree on one, and the old tokens are refused.
async fn an_environment_without_a_key_gets_one_when_first_needed(a: &TestApp) {
    let old_token = a.admin_token().await;
    crate::helpers::tamper(a, "DELETE FROM signing_keys").await;
    let (b, c) = (a.another_instance().await, a.another_instance().await);
    let env = a.admin.environment_id.to_string();
    let (from_b, from_c) = tokio::join!(b.admin_token(), c.admin_token());
    let kid = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    assert_eq!(kid(&from_b), kid(&from_c), "one key for both");
    let keys = jwks(&b, &env).await;
    assert_eq!((keys.len(), keys[0]["kid"].as_str()), (1, Some(kid(&from_b).as_str())));
    assert_ne!(kid(&from_b), kid(&old_token));
    b.get("/v1/environments").bearer(&old_token).send().await.expect_error(StatusCode::UNAUTHORIZED, "ACCESS_FAILED");
    assert_eq!(b.get("/v1/environments").bearer(&from_c).send().await.status, StatusCode::OK);
    b.finish().await;
    c.finish().await;
}
