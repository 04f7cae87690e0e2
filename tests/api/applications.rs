//! `/v1/environments/{envId}/applications`: worker and native applications, their
//! secrets, and the native applications digital wallet applications name.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse, tamper};
use crate::on_both_backends;

on_both_backends!(
    worker_application_lifecycle,
    disabled_worker_gets_no_token,
    native_application_round_trips_with_its_mobile_settings,
    native_application_refusals_name_the_field,
    wallet_application_needs_a_native_application_of_its_environment,
    deleting_a_native_application_deletes_its_wallet_applications,
    application_secret_reads_back_until_rotated,
    native_application_gets_no_token,
);

async fn worker_application_lifecycle(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Apps").await;
    let response = app
        .post(&format!("/v1/environments/{env}/applications"))
        .bearer(&admin)
        .json(json!({ "name": "ci", "type": "WORKER", "protocol": "OPENID_CONNECT", "grantTypes": ["CLIENT_CREDENTIALS"] }))
        .send()
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    let created = response.body;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["tokenEndpointAuthMethod"], "CLIENT_SECRET_BASIC");
    assert_eq!(created["enabled"], true);
    assert!(created["secret"].as_str().is_some_and(|s| s.len() >= 43));

    let path = format!("/v1/environments/{env}/applications/{id}");
    let read = app.get(&path).bearer(&admin).send().await.body;
    assert_eq!(read["name"], "ci");
    assert!(read.get("secret").is_none());

    let replaced = app
        .put(&path)
        .bearer(&admin)
        .json(json!({ "name": "ci-renamed", "type": "WORKER", "tokenEndpointAuthMethod": "CLIENT_SECRET_POST" }))
        .send()
        .await;
    assert_eq!(
        (replaced.body["name"].as_str(), replaced.body["tokenEndpointAuthMethod"].as_str()),
        (Some("ci-renamed"), Some("CLIENT_SECRET_POST"))
    );

    let list = app.get(&format!("/v1/environments/{env}/applications")).bearer(&admin).send().await;
    assert_eq!(list.body["_embedded"]["applications"][0]["id"], id);
    assert_eq!(app.delete(&path).bearer(&admin).send().await.status, StatusCode::NO_CONTENT);
    app.get(&path).bearer(&admin).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    let response = app
        .post(&format!("/v1/environments/{env}/applications"))
        .bearer(&admin)
        .json(json!({ "name": "spa", "type": "SINGLE_PAGE_APP", "grantTypes": ["IMPLICIT"] }))
        .send()
        .await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
}

async fn disabled_worker_gets_no_token(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Disabled").await;
    let (id, secret) =
        app.create_worker(&admin, &env, json!({ "name": "w", "type": "WORKER", "enabled": false })).await;
    let response =
        app.post(&format!("/{env}/as/token")).basic(&id, &secret).form("grant_type=client_credentials").send().await;
    assert_eq!((response.status, response.body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
}

/// PingOne's own example of a native app, with every mobile setting.
fn native_body(bundle_id: &str) -> Value {
    json!({
        "enabled": true, "name": "OIDC-Native-App", "description": "Test Description - OIDC App (Native)",
        "type": "NATIVE_APP", "protocol": "OPENID_CONNECT",
        "homePageUrl": "https://example.com/homePage", "loginPageUrl": "https://example.com/loginPage",
        "grantTypes": ["AUTHORIZATION_CODE", "IMPLICIT"], "postLogoutRedirectUris": ["https://example.com/logout"],
        "redirectUris": ["https://example.com", "com.example.app:/callback"], "responseTypes": ["CODE", "TOKEN", "ID_TOKEN"],
        "tokenEndpointAuthMethod": "NONE", "pkceEnforcement": "REQUIRED",
        "refreshTokenDuration": 86400, "refreshTokenRollingDuration": 86400,
        "mobile": {
            "bundleId": bundle_id, "packageName": "myAndroidPackage4.myApp",
            "huaweiAppId": "120240968", "huaweiPackageName": "com.company.somePackage",
            "passcodeRefreshDuration": { "duration": 45, "timeUnit": "SECONDS" },
            "uriPrefix": "https://wallet.example.com/open",
            "integrityDetection": {
                "mode": "ENABLED", "cacheDuration": { "amount": 10, "units": "MINUTES" },
                "googlePlay": { "verificationType": "INTERNAL", "decryptionKey": "decrypt-me", "verificationKey": "verify-me" }
            },
            "push": { "numberMatching": { "type": "SELECT_NUMBER" } }
        }
    })
}

async fn create(app: &TestApp, token: &str, env: &str, body: Value) -> TestResponse {
    app.post(&format!("/v1/environments/{env}/applications")).bearer(token).json(body).send().await
}

/// `body` with `changes` merged in at the top level.
fn with(body: &Value, changes: Value) -> Value {
    let mut merged = body.clone();
    merged.as_object_mut().unwrap().extend(changes.as_object().unwrap().clone());
    merged
}

async fn native_application_round_trips_with_its_mobile_settings(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Natives").await;
    let body = native_body("myAppleBundle4.myApp");
    let response = create(app, &admin, &env, body.clone()).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    let created = response.body;
    assert!(created.get("secret").is_none(), "NONE: no secret");
    assert!(created["_links"].get("secret").is_none());
    // Everything as sent, but the Play keys, which are never answered.
    let mut expected = body.clone();
    let play = expected["mobile"]["integrityDetection"]["googlePlay"].as_object_mut().unwrap();
    play.retain(|k, _| k == "verificationType");
    for (field, value) in expected.as_object().unwrap() {
        assert_eq!(&created[field], value, "{field}");
    }
    let path = format!("/v1/environments/{env}/applications/{}", created["id"].as_str().unwrap());
    let read = app.get(&path).bearer(&admin).send().await.body;
    assert_eq!(read, created);
    let list = app
        .get(&format!("/v1/environments/{env}/applications?filter=type%20eq%20%22NATIVE_APP%22"))
        .bearer(&admin)
        .send()
        .await;
    assert_eq!(list.body["_embedded"]["applications"], json!([created]));

    // PUT replaces; a mobile identifier once set, and the type, stay.
    let replaced = with(
        &body,
        json!({ "redirectUris": ["com.example.app:/other"], "grantTypes": ["AUTHORIZATION_CODE", "IMPLICIT", "REFRESH_TOKEN"] }),
    );
    let response = app.put(&path).bearer(&admin).json(replaced).send().await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.body["redirectUris"], json!(["com.example.app:/other"]));
    assert_eq!(app.get(&path).bearer(&admin).send().await.body, response.body);
    let mut moved = body.clone();
    moved["mobile"]["bundleId"] = json!("another.bundle");
    moved["mobile"].as_object_mut().unwrap().remove("huaweiAppId");
    let response = app.put(&path).bearer(&admin).json(moved).send().await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    let targets: Vec<&str> =
        response.body["details"].as_array().unwrap().iter().map(|d| d["target"].as_str().unwrap()).collect();
    assert_eq!(targets, ["mobile.bundleId", "mobile.huaweiAppId"]);
    let response = app.put(&path).bearer(&admin).json(json!({ "name": "w", "type": "WORKER" })).send().await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "type");

    // The older top-level spelling PingOne still takes lands in `mobile`.
    let older = json!({ "name": "Older", "type": "NATIVE_APP", "protocol": "OPENID_CONNECT", "grantTypes": ["IMPLICIT"],
        "responseTypes": ["TOKEN", "ID_TOKEN"], "redirectUris": ["https://www.example.com"], "tokenEndpointAuthMethod": "NONE",
        "bundleId": "com.example.something1", "packageName": "org.example.hyphenated_name1" });
    let response = create(app, &admin, &env, older).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    assert_eq!(
        response.body["mobile"],
        json!({ "bundleId": "com.example.something1", "packageName": "org.example.hyphenated_name1" })
    );

    assert_eq!(app.delete(&path).bearer(&admin).send().await.status, StatusCode::NO_CONTENT);
    app.get(&path).bearer(&admin).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

async fn native_application_refusals_name_the_field(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Refusals").await;
    let body = native_body("com.example.refusals");
    let refused = |changes: Value, targets: &'static [&'static str]| {
        let (admin, env, body) = (admin.clone(), env.clone(), body.clone());
        async move {
            let mut sent = with(&body, changes.clone());
            sent.as_object_mut().unwrap().retain(|_, v| !v.is_null());
            let response = create(app, &admin, &env, sent).await;
            response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
            let mut got: Vec<&str> =
                response.body["details"].as_array().unwrap().iter().map(|d| d["target"].as_str().unwrap()).collect();
            got.sort_unstable();
            assert_eq!(got, targets, "{changes}: {}", response.body);
        }
    };
    refused(json!({ "grantTypes": null }), &["grantTypes", "responseTypes", "responseTypes"]).await;
    refused(json!({ "responseTypes": ["TOKEN"] }), &["responseTypes"]).await;
    refused(json!({ "redirectUris": [] }), &["redirectUris"]).await;
    refused(
        json!({ "redirectUris": ["no scheme", "https://a.example/#fragment"] }),
        &["redirectUris[0]", "redirectUris[1]"],
    )
    .await;
    refused(json!({ "grantTypes": ["PASSWORD"] }), &["grantTypes[0]"]).await;
    refused(json!({ "grantTypes": ["AUTHORIZATION_CODE", "IMPLICIT", "IMPLICIT"] }), &["grantTypes"]).await;
    refused(json!({ "pkceEnforcement": "SOMETIMES" }), &["pkceEnforcement"]).await;
    refused(
        json!({ "tokenEndpointAuthMethod": "PRIVATE_KEY_JWT", "jwks": "{}" }),
        &["jwks", "tokenEndpointAuthMethod"],
    )
    .await;
    refused(
        json!({ "grantTypes": ["CLIENT_CREDENTIALS"], "responseTypes": null, "redirectUris": null }),
        &["grantTypes"],
    )
    .await;
    refused(json!({ "refreshTokenDuration": 30 }), &["refreshTokenDuration"]).await;
    let mut mobile = body["mobile"].clone();
    mobile["passcodeRefreshDuration"]["duration"] = json!(90);
    mobile["integrityDetection"]["googlePlay"] = json!({ "verificationType": "INTERNAL" });
    refused(
        json!({ "mobile": mobile }),
        &[
            "mobile.integrityDetection.googlePlay.decryptionKey",
            "mobile.integrityDetection.googlePlay.verificationKey",
            "mobile.passcodeRefreshDuration.duration",
        ],
    )
    .await;
    let response = create(app, &admin, &env, with(&body, json!({ "mobile": { "passcodeGracePeriod": "five" } }))).await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "mobile.passcodeGracePeriod");
    // Native settings on a worker are refused, not dropped.
    let worker =
        json!({ "name": "w", "type": "WORKER", "mobile": { "bundleId": "x" }, "redirectUris": ["https://a.example"] });
    let response = create(app, &admin, &env, worker).await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!(response.body["details"].as_array().unwrap().len(), 2, "{}", response.body);
    let response =
        create(app, &admin, &env, json!({ "name": "w", "type": "WORKER", "tokenEndpointAuthMethod": "NONE" })).await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "tokenEndpointAuthMethod");

    // Mobile identifiers are unique in the environment.
    assert_eq!(create(app, &admin, &env, body.clone()).await.status, StatusCode::CREATED);
    let mut twin = body.clone();
    twin["mobile"] = json!({ "bundleId": "another", "packageName": body["mobile"]["packageName"] });
    let response = create(app, &admin, &env, twin).await;
    assert_eq!(response.expect_error(StatusCode::CONFLICT, "UNIQUENESS_VIOLATION")["target"], "mobile.packageName");
    let elsewhere = app.create_environment(&admin, "Elsewhere").await;
    assert_eq!(create(app, &admin, &elsewhere, body).await.status, StatusCode::CREATED);
}

async fn create_wallet_app(app: &TestApp, token: &str, env: &str, application_id: &str) -> TestResponse {
    let body = json!({ "name": "Customer Wallet App", "application": { "id": application_id }, "appOpenUrl": "https://credentials.customer.com" });
    app.post(&format!("/v1/environments/{env}/digitalWalletApplications")).bearer(token).json(body).send().await
}

async fn wallet_application_needs_a_native_application_of_its_environment(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Wallets").await;
    let native = app.create_native_application(&admin, &env).await;
    let response = create_wallet_app(app, &admin, &env, &native).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    assert_eq!(response.body["application"]["id"], native.as_str());

    let refused = |id: String, message: &'static str| {
        let (admin, env) = (admin.clone(), env.clone());
        async move {
            let response = create_wallet_app(app, &admin, &env, &id).await;
            let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
            assert_eq!(detail["target"], "application.id");
            assert!(detail["message"].as_str().unwrap().contains(message), "{}", response.body);
        }
    };
    let (worker, _) = app.create_worker(&admin, &env, json!({ "name": "w", "type": "WORKER" })).await;
    refused(worker, "is not the required native (NATIVE_APP)").await;
    refused(uuid::Uuid::new_v4().to_string(), "does not exist in this environment").await;
    let other = app.create_environment(&admin, "Other").await;
    refused(app.create_native_application(&admin, &other).await, "does not exist in this environment").await;
    let huawei_only = json!({ "name": "Huawei", "type": "NATIVE_APP", "grantTypes": ["AUTHORIZATION_CODE"], "responseTypes": ["CODE"],
        "redirectUris": ["com.example:/cb"], "mobile": { "huaweiAppId": "120240968" } });
    let huawei_only = create(app, &admin, &env, huawei_only).await.body["id"].as_str().unwrap().to_owned();
    refused(huawei_only, "does not contain mobile application configuration").await;
}

async fn deleting_a_native_application_deletes_its_wallet_applications(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Cascade").await;
    let native = app.create_native_application(&admin, &env).await;
    let wallet_app = create_wallet_app(app, &admin, &env, &native).await.body["id"].as_str().unwrap().to_owned();
    let kept = app.create_wallet_application(&admin, &env).await;
    let user = app.create_user(&admin, &env, json!({ "username": "ada" })).await["id"].as_str().unwrap().to_owned();
    let wallet =
        app.create_wallet(&admin, &env, &user, json!({ "digitalWalletApplication": { "id": wallet_app } })).await;

    let native_path = format!("/v1/environments/{env}/applications/{native}");
    assert_eq!(app.delete(&native_path).bearer(&admin).send().await.status, StatusCode::NO_CONTENT);
    let apps = format!("/v1/environments/{env}/digitalWalletApplications");
    app.get(&format!("{apps}/{wallet_app}"))
        .bearer(&admin)
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    assert_eq!(app.get(&format!("{apps}/{kept}")).bearer(&admin).send().await.status, StatusCode::OK);
    let wallet_path = format!("/v1/environments/{env}/users/{user}/digitalWallets/{}", wallet["id"].as_str().unwrap());
    assert_eq!(app.get(&wallet_path).bearer(&admin).send().await.body["status"], "DISABLED");
}

async fn application_secret_reads_back_until_rotated(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Secrets").await;
    let (worker, secret) = app.create_worker(&admin, &env, json!({ "name": "w", "type": "WORKER" })).await;
    let secret_path = format!("/v1/environments/{env}/applications/{worker}/secret");
    let read = app.get(&secret_path).bearer(&admin).send().await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(
        (read.body["secret"].as_str(), read.body["environment"]["id"].as_str()),
        (Some(secret.as_str()), Some(env.as_str()))
    );
    let rotated = app.post(&secret_path).bearer(&admin).send().await.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(rotated, secret);
    assert_eq!(app.get(&secret_path).bearer(&admin).send().await.body["secret"], rotated.as_str());
    app.worker_token(&env, &worker, &rotated).await;

    // A secret from before credd kept secrets readable: refused until rotated.
    tamper(app, &format!("UPDATE applications SET sealed_secret = NULL WHERE id = '{worker}'")).await;
    let response = app.get(&secret_path).bearer(&admin).send().await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST")["target"], "secret");
    app.worker_token(&env, &worker, &rotated).await;
    let again = app.post(&secret_path).bearer(&admin).send().await.body["secret"].clone();
    assert_eq!(app.get(&secret_path).bearer(&admin).send().await.body["secret"], again);

    // A native app with NONE has none; given a secret method, it gets one to read.
    let native = app.create_native_application(&admin, &env).await;
    let native_path = format!("/v1/environments/{env}/applications/{native}");
    let response = app.get(&format!("{native_path}/secret")).bearer(&admin).send().await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST")["target"], "tokenEndpointAuthMethod");
    let response = app.post(&format!("{native_path}/secret")).bearer(&admin).send().await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    let mut body = app.get(&native_path).bearer(&admin).send().await.body;
    body["tokenEndpointAuthMethod"] = json!("CLIENT_SECRET_POST");
    let response = app.put(&native_path).bearer(&admin).json(body.clone()).send().await;
    assert_eq!(
        response.body["_links"]["secret"]["href"].as_str().map(|h| h.ends_with("/secret")),
        Some(true),
        "{}",
        response.body
    );
    let first = app.get(&format!("{native_path}/secret")).bearer(&admin).send().await.body["secret"].clone();
    assert!(first.as_str().is_some_and(|s| s.len() >= 43));
    // Replaced again with a secret method, it keeps its secret; with NONE, it loses it.
    app.put(&native_path).bearer(&admin).json(body.clone()).send().await;
    assert_eq!(app.get(&format!("{native_path}/secret")).bearer(&admin).send().await.body["secret"], first);
    body["tokenEndpointAuthMethod"] = json!("NONE");
    app.put(&native_path).bearer(&admin).json(body).send().await;
    let response = app.get(&format!("{native_path}/secret")).bearer(&admin).send().await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");

    // Another environment's worker reads no secret here.
    let other_env = app.create_environment(&admin, "Other").await;
    let (other_worker, other_secret) =
        app.create_worker(&admin, &other_env, json!({ "name": "o", "type": "WORKER" })).await;
    let other_token = app.worker_token(&other_env, &other_worker, &other_secret).await;
    let response = app.get(&secret_path).bearer(&other_token).send().await;
    response.expect_error(StatusCode::FORBIDDEN, "ACCESS_FAILED");
}

async fn native_application_gets_no_token(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Tokens").await;
    let body = json!({ "name": "confidential", "type": "NATIVE_APP", "grantTypes": ["CLIENT_CREDENTIALS"],
        "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "mobile": { "bundleId": "com.example.confidential" } });
    let created = create(app, &admin, &env, body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let (id, secret) = (created.body["id"].as_str().unwrap(), created.body["secret"].as_str().unwrap());
    let token = format!("/{env}/as/token");
    let response = app.post(&token).basic(id, secret).form("grant_type=client_credentials").send().await;
    assert_eq!(
        (response.status, response.body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
    );
    let response = app.post(&token).basic(id, "wrong").form("grant_type=client_credentials").send().await;
    assert_eq!((response.status, response.body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    let public = app.create_native_application(&admin, &env).await;
    let response =
        app.post(&token).form(&format!("grant_type=client_credentials&client_id={public}&client_secret=")).send().await;
    assert_eq!((response.status, response.body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
}
