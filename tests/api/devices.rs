//! MFA devices, their policies and activation, as the seed document and issue describe.

use std::pin::Pin;

use axum::http::StatusCode;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{Server, TestApp, TestResponse, tamper};
use crate::mfa_policies::policy;
use crate::on_both_backends;

on_both_backends!(
    seed_whatsapp_request_gives_the_seed_response,
    phone_spellings_are_one_number_and_bad_numbers_are_refused,
    policy_must_exist_here_and_allow_the_method,
    self_service_whatsapp_device_activates_with_the_texted_code,
    wrong_codes_lock_the_device_and_expired_codes_are_refused,
    a_locked_device_gets_a_new_code_only_after_its_cool_down,
    concurrent_wrong_codes_lock_at_the_policy_count,
    nickname_changes_racing_wrong_codes_do_not_reset_the_count,
    totp_device_activates_with_a_current_code,
    devices_list_filter_page_reorder_rename_and_delete,
    max_allowed_devices_is_enforced,
    policies_and_settings_are_validated,
    device_put_keeps_the_nickname_and_refuses_block_and_lock,
);

const ACTIVATE: &str = "application/vnd.pingidentity.device.activate+json";

struct Setup {
    token: String,
    env: String,
    user_id: String,
    policy_id: String,
}

async fn setup(app: &TestApp, user: Value) -> Setup {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "MFA").await;
    let user = app.create_user(&token, &env, user).await;
    let policies =
        app.get(&format!("/v1/environments/{env}/deviceAuthenticationPolicies")).bearer(&token).send().await.body;
    let default = &policies["_embedded"]["deviceAuthenticationPolicies"][0];
    assert_eq!(
        (default["default"].as_bool(), policies["size"].as_u64()),
        (Some(true), Some(1)),
        "each environment starts with its default policy"
    );
    Setup {
        policy_id: default["id"].as_str().unwrap().to_owned(),
        user_id: user["id"].as_str().unwrap().to_owned(),
        env,
        token,
    }
}

fn devices_path(s: &Setup) -> String {
    format!("/v1/environments/{}/users/{}/devices", s.env, s.user_id)
}

async fn create(app: &TestApp, s: &Setup, token: &str, body: Value) -> crate::helpers::TestResponse {
    app.post(&devices_path(s)).bearer(token).json(body).send().await
}

async fn seed_whatsapp_request_gives_the_seed_response(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let response = create(
        app,
        &s,
        &s.token,
        json!({ "type": "WHATSAPP", "phone": "+1.5125551234", "policy": { "id": s.policy_id } }),
    )
    .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    let device = &response.body;
    let keys: Vec<&str> = device.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["_links", "id", "environment", "user", "type", "status", "createdAt", "updatedAt", "phone"]);
    let id = device["id"].as_str().unwrap();
    let base = "https://credd.test/v1/environments";
    assert_eq!(
        device["_links"],
        json!({
            "self": { "href": format!("{base}/{}/users/{}/devices/{id}", s.env, s.user_id) },
            "environment": { "href": format!("{base}/{}", s.env) },
            "user": { "href": format!("{base}/{}/users/{}", s.env, s.user_id) },
        })
    );
    assert_eq!(
        (device["environment"]["id"].as_str(), device["user"]["id"].as_str()),
        (Some(s.env.as_str()), Some(s.user_id.as_str()))
    );
    assert_eq!(
        (device["type"].as_str(), device["status"].as_str(), device["phone"].as_str()),
        (Some("WHATSAPP"), Some("ACTIVE"), Some("+1.5125551234"))
    );
    assert_eq!(device["createdAt"], device["updatedAt"]);
    let read = app.get(&format!("{}/{id}", devices_path(&s))).bearer(&s.token).send().await;
    assert_eq!(&read.body, device);
}

async fn phone_spellings_are_one_number_and_bad_numbers_are_refused(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let first = create(
        app,
        &s,
        &s.token,
        json!({ "type": "SMS", "phone": "+1 (512) 555-1234", "policy": { "id": s.policy_id } }),
    )
    .await;
    assert_eq!(first.body["phone"], "+1.5125551234");
    for spelling in ["+1.5125551234", "+15125551234", "+1.512.555.1234"] {
        let again =
            create(app, &s, &s.token, json!({ "type": "SMS", "phone": spelling, "policy": { "id": s.policy_id } }))
                .await;
        assert_eq!(
            again.expect_error(StatusCode::CONFLICT, "UNIQUENESS_VIOLATION")["target"],
            "phone",
            "{spelling} is the same number"
        );
    }
    for (phone, why) in
        [("5125551234", "+"), ("+1 555", "not"), ("+1.000.000.0000", "not"), ("+44 20 1234", "not"), ("call me", "+")]
    {
        let response =
            create(app, &s, &s.token, json!({ "type": "VOICE", "phone": phone, "policy": { "id": s.policy_id } }))
                .await;
        let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
        assert_eq!(detail["target"], "phone", "{phone}");
        assert!(detail["message"].as_str().unwrap().contains(why), "{phone}: {detail}");
    }
    let response = create(app, &s, &s.token, json!({ "type": "EMAIL", "policy": { "id": s.policy_id } })).await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["code"], "REQUIRED_VALUE");
}

async fn policy_must_exist_here_and_allow_the_method(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let response = create(app, &s, &s.token, json!({ "type": "SMS", "phone": "+15125551234" })).await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "policy.id");
    let other = app.create_environment(&s.token, "Other").await;
    let foreign =
        app.get(&format!("/v1/environments/{other}/deviceAuthenticationPolicies")).bearer(&s.token).send().await;
    let foreign_id = foreign.body["_embedded"]["deviceAuthenticationPolicies"][0]["id"].clone();
    let response =
        create(app, &s, &s.token, json!({ "type": "SMS", "phone": "+15125551234", "policy": { "id": foreign_id } }))
            .await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "policy.id");

    let policies = format!("/v1/environments/{}/deviceAuthenticationPolicies", s.env);
    let no_whatsapp = app
        .post(&policies)
        .bearer(&s.token)
        .json(policy("No WhatsApp", json!({ "whatsApp": { "enabled": false, "otp": { "lifeTime": { "duration": 30, "timeUnit": "MINUTES" }, "failure": { "count": 3, "coolDown": { "duration": 0, "timeUnit": "MINUTES" } } } } })))
        .send()
        .await;
    assert_eq!(no_whatsapp.status, StatusCode::CREATED, "{}", no_whatsapp.body);
    let response = create(
        app,
        &s,
        &s.token,
        json!({ "type": "WHATSAPP", "phone": "+15125551234", "policy": { "id": no_whatsapp.body["id"] } }),
    )
    .await;
    let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!(
        (detail["target"].as_str(), detail["message"].as_str()),
        (Some("type"), Some("The policy does not allow pairing WHATSAPP devices."))
    );
    let sms = create(
        app,
        &s,
        &s.token,
        json!({ "type": "SMS", "phone": "+15125551234", "policy": { "id": no_whatsapp.body["id"] } }),
    )
    .await;
    assert_eq!(sms.status, StatusCode::CREATED);
}

/// A self-service token for the user, as a staging suite gets one.
async fn user_token(app: &TestApp, s: &Setup, user_id: &str, scope: &str) -> String {
    let (id, secret) = app.create_worker(&s.token, &s.env, json!({ "name": "suite", "type": "WORKER" })).await;
    let form = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token={user_id}\
         &subject_token_type=urn%3Acredd%3Aparams%3Aoauth%3Atoken-type%3Auser-id&scope={scope}"
    );
    let response = app.post(&format!("/{}/as/token", s.env)).basic(&id, &secret).form(&form).send().await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.body["access_token"].as_str().unwrap().to_owned()
}

async fn activate(app: &TestApp, path: &str, token: &str, otp: &str) -> crate::helpers::TestResponse {
    app.post(path).bearer(token).raw(ACTIVATE, json!({ "otp": otp }).to_string()).send().await
}

async fn self_service_whatsapp_device_activates_with_the_texted_code(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let bob = app.create_user(&s.token, &s.env, json!({ "username": "bob" })).await;
    let contents = format!("/v1/environments/{}/templates/device_pairing/contents", s.env);
    let content =
        json!({ "deliveryMethod": "WhatsApp", "locale": "en", "variant": "suite", "content": "Suite code: ${otp}" });
    assert_eq!(app.post(&contents).bearer(&s.token).json(content).send().await.status, StatusCode::CREATED);

    let ada = user_token(app, &s, &s.user_id, "p1:create:device").await;
    let body = json!({
        "type": "WHATSAPP", "phone": "+1 (512) 555-1234", "policy": { "id": s.policy_id },
        "notification": { "template": { "locale": "en", "variant": "suite" } }
    });
    let asked_active = create(
        app,
        &s,
        &ada,
        json!({ "status": "ACTIVE", "type": "WHATSAPP", "phone": "+15125551234", "policy": { "id": s.policy_id } }),
    )
    .await;
    assert_eq!(asked_active.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "status");
    let bobs = format!("/v1/environments/{}/users/{}/devices", s.env, bob["id"].as_str().unwrap());
    app.post(&bobs).bearer(&ada).json(body.clone()).send().await.expect_error(StatusCode::FORBIDDEN, "ACCESS_FAILED");

    let created = create(app, &s, &ada, body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["status"], "ACTIVATION_REQUIRED");
    assert!(created.body.get("notification").is_none(), "notification is never returned");
    let path = created.body["_links"]["activate"]["href"]
        .as_str()
        .unwrap()
        .strip_prefix("https://credd.test")
        .unwrap()
        .to_owned();

    app.run_jobs().await;
    let (code, message) = app.sent_code(&s.token, &s.env, "+1.5125551234").await;
    assert_eq!((message["deliveryMethod"].as_str(), message["status"].as_str()), (Some("WhatsApp"), Some("SENT")));
    assert_eq!(message["body"], format!("Suite code: {code}"));
    assert_eq!(code.len(), 6);

    let activated = activate(app, &path, &ada, &code).await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.body);
    assert_eq!(activated.body["status"], "ACTIVE");
    assert!(activated.body["_links"].get("activate").is_none());
    let again = activate(app, &path, &ada, &code).await;
    again.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    let response = app.put(&path).bearer(&s.token).json(json!({ "notification": { "methods": ["SMS"] } })).send().await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "notification");
}

async fn wrong_codes_lock_the_device_and_expired_codes_are_refused(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada", "email": "ada@example.com" })).await;
    let policies = format!("/v1/environments/{}/deviceAuthenticationPolicies", s.env);
    let strict = policy(
        "Strict",
        json!({ "email": { "otp": { "failure": { "count": 2, "coolDown": { "duration": 5, "timeUnit": "MINUTES" } }, "otpLength": 8 } } }),
    );
    let policy = app.post(&policies).bearer(&s.token).json(strict).send().await.body;
    let body = json!({ "type": "EMAIL", "email": "ada@example.com", "policy": { "id": policy["id"] }, "status": "ACTIVATION_REQUIRED" });
    let created = create(app, &s, &s.token, body).await;
    let path = format!("{}/{}", devices_path(&s), created.body["id"].as_str().unwrap());
    let (code, _) = app.sent_code(&s.token, &s.env, "ada@example.com").await;
    assert_eq!(code.len(), 8, "the policy's otpLength");

    let wrong = if code == "00000000" { "11111111" } else { "00000000" };
    let first = activate(app, &path, &s.token, wrong).await;
    let detail = first.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!((detail["code"].as_str(), detail["target"].as_str()), (Some("INVALID_OTP"), Some("otp")));
    assert!(detail["message"].as_str().unwrap().contains("1 attempt(s) left"));
    let second = activate(app, &path, &s.token, wrong).await;
    assert!(
        second.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["message"]
            .as_str()
            .unwrap()
            .contains("0 attempt(s) left")
    );
    let locked = activate(app, &path, &s.token, &code).await;
    assert!(
        locked.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST")["message"].as_str().unwrap().contains("locked")
    );
    let device = app.get(&path).bearer(&s.token).send().await.body;
    assert_eq!(
        (device["status"].as_str(), device["lock"]["status"].as_str()),
        (Some("ACTIVATION_REQUIRED"), Some("LOCKED"))
    );

    // A second device: its code expires (moved to the past here) and is then refused.
    let created = create(app, &s, &s.token, json!({ "type": "SMS", "phone": "+15125550000", "policy": { "id": s.policy_id }, "status": "ACTIVATION_REQUIRED" })).await;
    let (env, user, id) =
        (s.env.parse().unwrap(), s.user_id.parse().unwrap(), created.body["id"].as_str().unwrap().parse().unwrap());
    tamper(app, &format!("UPDATE devices SET otp_expires_at = '{PAST}' WHERE id = '{id}'")).await;
    let stored = domain::store::MfaStore::device(&app.state.credd.store, env, user, id).await.unwrap();
    let (code, _) = app.sent_code(&s.token, &s.env, "+1.5125550000").await;
    let expired = activate(app, &format!("{}/{id}", devices_path(&s)), &s.token, &code).await;
    let detail = expired.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!(detail["code"], "INVALID_OTP");
    assert!(detail["message"].as_str().unwrap().contains("expired"));
    // Codes are kept only as keyed hashes.
    let hash = stored.otp_hash.unwrap();
    assert!(!String::from_utf8_lossy(&hash).contains(&code) && hash.len() == 32);
}

const SEND_CODE: &str = "application/vnd.pingidentity.device.sendActivationCode+json";
/// A time long gone, as both databases read it.
const PAST: &str = "2020-01-01T00:00:00+00:00";

/// An EMAIL device waiting for its code, under a policy that locks after `count` wrong
/// codes for five minutes; returns its path and the code sent.
async fn strict_email_device(app: &TestApp, s: &Setup, count: u32) -> (String, String) {
    let policies = format!("/v1/environments/{}/deviceAuthenticationPolicies", s.env);
    let strict = policy(
        "Strict",
        json!({ "email": { "otp": { "failure": { "count": count, "coolDown": { "duration": 5, "timeUnit": "MINUTES" } } } } }),
    );
    let policy = app.post(&policies).bearer(&s.token).json(strict).send().await.body;
    let body = json!({ "type": "EMAIL", "email": "ada@example.com", "policy": { "id": policy["id"] }, "status": "ACTIVATION_REQUIRED" });
    let created = create(app, s, &s.token, body).await;
    let path = format!("{}/{}", devices_path(s), created.body["id"].as_str().unwrap());
    (path, app.sent_code(&s.token, &s.env, "ada@example.com").await.0)
}

fn wrong_code(code: &str) -> String {
    if code.starts_with('0') { "1".repeat(code.len()) } else { "0".repeat(code.len()) }
}

async fn a_locked_device_gets_a_new_code_only_after_its_cool_down(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada", "email": "ada@example.com" })).await;
    let (path, code) = strict_email_device(app, &s, 2).await;
    for _ in 0..2 {
        activate(app, &path, &s.token, &wrong_code(&code)).await.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    }
    let resend = app.post(&path).bearer(&s.token).raw(SEND_CODE, "").send().await;
    let detail = resend.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert!(detail["message"].as_str().unwrap().contains("locked"), "{detail}");

    // The cool-down passes (moved to the past here): a new code is sent, and it works.
    let id = path.rsplit('/').next().unwrap();
    tamper(app, &format!("UPDATE devices SET locked_until = '{PAST}' WHERE id = '{id}'")).await;
    let resend = app.post(&path).bearer(&s.token).raw(SEND_CODE, "").send().await;
    assert_eq!(resend.status, StatusCode::OK, "{}", resend.body);
    app.run_jobs().await;
    let (new_code, _) = app.sent_code(&s.token, &s.env, "ada@example.com").await;
    activate(app, &path, &s.token, &code).await.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    let activated = activate(app, &path, &s.token, &new_code).await;
    assert_eq!(activated.body["status"], "ACTIVE", "{}", activated.body);
}

/// Wrong codes sent at once still count one by one: no more than the policy's count
/// are judged before the lock.
async fn concurrent_wrong_codes_lock_at_the_policy_count(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada", "email": "ada@example.com" })).await;
    let (path, code) = strict_email_device(app, &s, 3).await;
    let wrong = wrong_code(&code);
    let guess = || activate(app, &path, &s.token, &wrong);
    let answers = tokio::join!(guess(), guess(), guess(), guess(), guess(), guess(), guess(), guess());
    let answers = [answers.0, answers.1, answers.2, answers.3, answers.4, answers.5, answers.6, answers.7];
    let judged = answers.iter().filter(|a| a.body["code"] == "INVALID_DATA").count();
    assert_eq!(judged, 3, "{answers:#?}");
    assert!(answers.iter().all(|a| a.status == StatusCode::BAD_REQUEST));
    let locked = activate(app, &path, &s.token, &code).await;
    assert!(
        locked.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST")["message"].as_str().unwrap().contains("locked")
    );
}

/// Nickname changes sent along with wrong codes rewrite nothing of the count: no more
/// than the policy's count of wrong codes are judged, and then even the right code is
/// refused. The racing requests go at once to a `credd serve`, which runs them in
/// parallel on its own pool; a few devices, each raced once, so that a window a single
/// race may miss is hit.
async fn nickname_changes_racing_wrong_codes_do_not_reset_the_count(app: &TestApp) {
    const DEVICES: usize = 4;
    const EACH: usize = 50;
    let server = Server::start(app, &[]);
    let remote = app.over_http(&server.base);
    for _ in 0..DEVICES {
        let s = setup(app, json!({ "username": "ada", "email": "ada@example.com" })).await;
        let (path, code) = strict_email_device(app, &s, 3).await;
        let wrong = wrong_code(&code);
        let nickname = format!("{path}/nickname");
        let mut racing: Vec<Pin<Box<dyn Future<Output = Option<TestResponse>> + '_>>> = Vec::new();
        for i in 0..EACH {
            racing.push(Box::pin(async { Some(activate(&remote, &path, &s.token, &wrong).await) }));
            let body = json!({ "nickname": format!("phone {i}") });
            let rename = remote.put(&nickname).bearer(&s.token).json(body).send();
            racing.push(Box::pin(async move {
                assert_eq!(rename.await.status, StatusCode::OK);
                None
            }));
        }
        let answers: Vec<TestResponse> = join_all(racing).await.into_iter().flatten().collect();
        let judged: Vec<&TestResponse> = answers.iter().filter(|a| a.body["code"] == "INVALID_DATA").collect();
        assert!(judged.len() <= 3, "{} wrong codes were judged: {judged:#?}", judged.len());
        let right = activate(app, &path, &s.token, &code).await;
        let refused = right.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
        assert!(refused["message"].as_str().unwrap().contains("locked"), "{}", right.body);
        let device = app.get(&path).bearer(&s.token).send().await.body;
        assert_eq!(
            (device["status"].as_str(), device["lock"]["status"].as_str()),
            (Some("ACTIVATION_REQUIRED"), Some("LOCKED"))
        );
    }
}

async fn totp_device_activates_with_a_current_code(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let created = create(
        app,
        &s,
        &s.token,
        json!({ "type": "TOTP", "policy": { "id": s.policy_id }, "status": "ACTIVATION_REQUIRED" }),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let key_uri = created.body["keyUri"].as_str().unwrap();
    assert!(key_uri.starts_with("otpauth://totp/credd:ada?"), "{key_uri}");
    let totp = totp_rs::Totp::from_url(key_uri).unwrap();
    assert_eq!(totp.secret().to_base32(), created.body["secret"].as_str().unwrap());
    let path = format!("{}/{}", devices_path(&s), created.body["id"].as_str().unwrap());
    let read = app.get(&path).bearer(&s.token).send().await.body;
    assert!(read.get("secret").is_none() && read.get("keyUri").is_none(), "shown once");

    let current = totp.generate_current().to_string();
    let wrong = if current == "000000" { "111111" } else { "000000" };
    activate(app, &path, &s.token, wrong).await.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    let activated = activate(app, &path, &s.token, &totp.generate_current().to_string()).await;
    assert_eq!(activated.body["status"], "ACTIVE", "{}", activated.body);
}

async fn devices_list_filter_page_reorder_rename_and_delete(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let mut ids = Vec::new();
    for body in [
        json!({ "type": "SMS", "phone": "+15125550001", "policy": { "id": s.policy_id } }),
        json!({ "type": "EMAIL", "email": "ada@example.com", "policy": { "id": s.policy_id }, "status": "ACTIVATION_REQUIRED" }),
        json!({ "type": "VOICE", "phone": "+15125550002", "policy": { "id": s.policy_id } }),
    ] {
        ids.push(create(app, &s, &s.token, body).await.body["id"].as_str().unwrap().to_owned());
    }
    let listed = |query: String| {
        let path = format!("{}{query}", devices_path(&s));
        let token = s.token.clone();
        async move { app.get(&path).bearer(&token).send().await.body }
    };
    let ids_of = |body: &Value| {
        body["_embedded"]["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids_of(&listed(String::new()).await), ids);
    assert_eq!(ids_of(&listed("?filter=status%20eq%20%22ACTIVATION_REQUIRED%22".into()).await), [ids[1].clone()]);
    assert_eq!(ids_of(&listed("?filter=type%20eq%20%22VOICE%22".into()).await), [ids[2].clone()]);
    assert!(ids_of(&listed("?filter=type%20eq%20%22PIGEON%22".into()).await).is_empty());
    let bad = app.get(&format!("{}?filter=nickname%20eq%20%22x%22", devices_path(&s))).bearer(&s.token).send().await;
    assert_eq!(bad.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["code"], "INVALID_FILTER");

    let reorder = app
        .post(&devices_path(&s))
        .bearer(&s.token)
        .raw(
            "application/vnd.pingidentity.devices.reorder+json",
            json!({ "order": [{ "id": ids[2] }, { "id": ids[0] }] }).to_string(),
        )
        .send()
        .await;
    assert_eq!(reorder.status, StatusCode::OK, "{}", reorder.body);
    let mut seen = Vec::new();
    let mut next = Some("?limit=1".to_owned());
    while let Some(query) = next {
        let page = listed(query).await;
        seen.extend(ids_of(&page));
        next = page["_links"]["next"]["href"].as_str().map(|h| h[h.find('?').unwrap()..].to_owned());
    }
    assert_eq!(seen, [ids[2].clone(), ids[0].clone(), ids[1].clone()]);

    let path = format!("{}/{}", devices_path(&s), ids[0]);
    let renamed =
        app.put(&format!("{path}/nickname")).bearer(&s.token).json(json!({ "nickname": "Work phone" })).send().await;
    assert_eq!(renamed.body["nickname"], "Work phone");
    assert_eq!(app.delete(&path).bearer(&s.token).send().await.status, StatusCode::NO_CONTENT);
    app.get(&path).bearer(&s.token).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    assert_eq!(ids_of(&listed(String::new()).await), [ids[2].clone(), ids[1].clone()]);
}

async fn max_allowed_devices_is_enforced(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let settings = format!("/v1/environments/{}/mfaSettings", s.env);
    assert_eq!(app.get(&settings).bearer(&s.token).send().await.body["pairing"]["maxAllowedDevices"], 5);
    let response =
        app.put(&settings).bearer(&s.token).json(json!({ "pairing": { "maxAllowedDevices": 16 } })).send().await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["code"], "OUT_OF_RANGE");
    let changed =
        app.put(&settings).bearer(&s.token).json(json!({ "pairing": { "maxAllowedDevices": 2 } })).send().await;
    assert_eq!(changed.body["pairing"]["maxAllowedDevices"], 2);
    for phone in ["+15125550001", "+15125550002"] {
        assert_eq!(
            create(app, &s, &s.token, json!({ "type": "SMS", "phone": phone, "policy": { "id": s.policy_id } }))
                .await
                .status,
            StatusCode::CREATED
        );
    }
    let third =
        create(app, &s, &s.token, json!({ "type": "SMS", "phone": "+15125550003", "policy": { "id": s.policy_id } }))
            .await;
    let detail = third.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!(detail["code"], "LIMIT_EXCEEDED");
    assert!(detail["message"].as_str().unwrap().contains("maximum of 2"));
}

async fn policies_and_settings_are_validated(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let policies = format!("/v1/environments/{}/deviceAuthenticationPolicies", s.env);
    let bad = policy(
        "Bad",
        json!({ "sms": { "otp": { "lifeTime": { "duration": 45, "timeUnit": "MINUTES" }, "failure": { "count": 9 }, "otpLength": 4 } } }),
    );
    let response = app.post(&policies).bearer(&s.token).json(bad).send().await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    let targets: Vec<&str> =
        response.body["details"].as_array().unwrap().iter().map(|d| d["target"].as_str().unwrap()).collect();
    assert_eq!(targets, ["sms.otp.lifeTime.duration", "sms.otp.failure.count", "sms.otp.otpLength"]);

    let default_path = format!("{policies}/{}", s.policy_id);
    app.delete(&default_path).bearer(&s.token).send().await.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    let response = app.put(&default_path).bearer(&s.token).json(policy("Default", json!({}))).send().await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "default");

    let second =
        app.post(&policies).bearer(&s.token).json(policy("New default", json!({ "default": true }))).send().await.body;
    let list = app.get(&policies).bearer(&s.token).send().await.body;
    let defaults: Vec<&str> = list["_embedded"]["deviceAuthenticationPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["default"] == true)
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(defaults, [second["id"].as_str().unwrap()]);
    assert_eq!(second["sms"]["otp"]["lifeTime"], json!({ "duration": 30, "timeUnit": "MINUTES" }));

    let device =
        create(app, &s, &s.token, json!({ "type": "SMS", "phone": "+15125550001", "policy": { "id": s.policy_id } }))
            .await;
    let in_use = app.delete(&default_path).bearer(&s.token).send().await;
    assert!(
        in_use.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST")["message"]
            .as_str()
            .unwrap()
            .contains("Devices use")
    );
    let device_path = format!("{}/{}", devices_path(&s), device.body["id"].as_str().unwrap());
    assert_eq!(app.delete(&device_path).bearer(&s.token).send().await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&default_path).bearer(&s.token).send().await.status, StatusCode::NO_CONTENT);
}

async fn device_put_keeps_the_nickname_and_refuses_block_and_lock(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada", "email": "ada@example.com" })).await;
    let body = json!({ "type": "EMAIL", "email": "ada@example.com", "policy": { "id": s.policy_id }, "nickname": "Work mail" });
    let created = create(app, &s, &s.token, body).await;
    let path = format!("{}/{}", devices_path(&s), created.body["id"].as_str().unwrap());

    let kept = app.put(&path).bearer(&s.token).json(json!({})).send().await;
    assert_eq!((kept.status, kept.body["nickname"].as_str()), (StatusCode::OK, Some("Work mail")), "{}", kept.body);
    let renamed = app.put(&path).bearer(&s.token).json(json!({ "nickname": "Home mail" })).send().await;
    assert_eq!(renamed.body["nickname"], "Home mail");
    assert_eq!(app.get(&path).bearer(&s.token).send().await.body["nickname"], "Home mail");

    for refused_field in ["block", "lock"] {
        let body = json!({ "nickname": "Other", refused_field: { "status": "LOCKED" } });
        let refused = app.put(&path).bearer(&s.token).json(body).send().await;
        assert_eq!(refused.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], refused_field);
    }
    assert_eq!(
        app.get(&path).bearer(&s.token).send().await.body["nickname"],
        "Home mail",
        "a refused PUT changes nothing"
    );

    let cleared = app.put(&path).bearer(&s.token).json(json!({ "nickname": null })).send().await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert!(cleared.body.get("nickname").is_none(), "null clears it: {}", cleared.body);
}
