//! Digital wallet applications, wallets, pairing and the pairing notification.

use axum::http::StatusCode;
use credd::wallet_client;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    new_user_pairs_a_wallet_from_the_email_link,
    wrong_challenge_counts_and_locks_after_five,
    concurrent_wrong_proofs_lock_after_five,
    signature_must_be_by_the_offered_key,
    wallet_put_rules,
    wallet_application_rules_and_delete_cascade,
    deleting_a_wallet_or_its_user_removes_it,
    wallets_paginate_past_one_page,
    wallet_for_unknown_user_or_application_is_refused,
    wallet_api_needs_the_wallet_token,
    pairing_qr_code_is_served_while_the_wallet_waits,
);

mod expiring {
    use super::*;
    on_both_backends!(args = ["--pairing-lifetime-seconds", "1"]; pairing_session_expires);
}

struct Setup {
    token: String,
    env: String,
    user_id: String,
    app_id: String,
}

async fn setup(app: &TestApp, user: Value) -> Setup {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Wallets").await;
    let user = app.create_user(&token, &env, user).await;
    let app_id = app.create_wallet_application(&token, &env).await;
    Setup { token, user_id: user["id"].as_str().unwrap().to_owned(), env, app_id }
}

fn wallet_path(s: &Setup, wallet: &Value) -> String {
    format!("/v1/environments/{}/users/{}/digitalWallets/{}", s.env, s.user_id, wallet["id"].as_str().unwrap())
}

/// The getting-started walk-through: the seed's request, the seed's answer, the email, the pairing.
async fn new_user_pairs_a_wallet_from_the_email_link(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada", "email": "ada@example.com", "name": { "given": "Ada" } })).await;
    let created = app
        .create_wallet(
            &s.token,
            &s.env,
            &s.user_id,
            json!({
                "digitalWalletApplication": { "id": s.app_id },
                "notification": { "methods": ["EMAIL", "SMS"], "template": { "locale": "en", "variant": "variant_B", "variables": {} } }
            }),
        )
        .await;

    // The seed's example, field for field.
    let wallet_id = created["id"].as_str().unwrap();
    assert_eq!(created["status"], "PAIRING_REQUIRED");
    assert_eq!(created["environment"]["id"], s.env);
    assert_eq!(created["user"]["id"], s.user_id);
    assert_eq!(created["digitalWalletApplication"]["id"], s.app_id);
    let session = &created["pairingSession"];
    assert_eq!(session["status"], "INITIAL");
    assert_eq!(
        (session["digitalWallet"]["id"].as_str(), session["user"]["id"].as_str()),
        (Some(wallet_id), Some(s.user_id.as_str()))
    );
    assert_eq!(session["environment"]["id"], s.env);
    let challenge = session["challenge"].as_str().unwrap();
    assert!(challenge.len() == 16 && challenge.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    let qr_url = session["qrUrl"].as_str().unwrap();
    assert!(qr_url.starts_with("https://credd.test/v1/distributedid/requests/"));
    assert_eq!(created["_links"]["qrUrl"]["href"], qr_url);
    let encoded: String = url::form_urlencoded::byte_serialize(qr_url.as_bytes()).collect();
    assert_eq!(created["_links"]["appOpen"]["href"], format!("https://credentials.customer.com?u={encoded}"));
    assert_eq!(created["_links"]["self"]["href"], format!("https://credd.test{}", wallet_path(&s, &created)));
    let notification = &created["notification"];
    assert_eq!(notification["methods"], json!(["EMAIL", "SMS"]));
    assert_eq!(notification["template"], json!({ "locale": "en", "variant": "variant_B" }), "variables are not echoed");
    let results = notification["results"].as_array().unwrap();
    assert_eq!((results[0]["method"].as_str(), results[0]["sent"].as_bool()), (Some("EMAIL"), Some(true)));
    let email_id = results[0]["notification"]["id"].as_str().unwrap();
    assert_eq!((results[1]["method"].as_str(), results[1]["sent"].as_bool()), (Some("SMS"), Some(false)));
    assert_eq!(results[1]["error"]["code"], "INVALID_DATA");
    assert_eq!(results[1]["error"]["details"][0]["code"], "INVALID_VALUE");
    assert_eq!(
        results[1]["error"]["details"][0]["message"],
        format!("Could not find phone attribute for user {}.", s.user_id)
    );

    // The email, as a test suite reads it.
    assert!(app.run_jobs().await >= 1);
    let sent = app
        .get(&format!("/v1/environments/{}/notifications?filter=recipient%20eq%20%22ada%40example.com%22", s.env))
        .bearer(&s.token)
        .send()
        .await;
    let email = &sent.body["_embedded"]["notifications"][0];
    assert_eq!((email["id"].as_str(), email["status"].as_str()), (Some(email_id), Some("SENT")));
    assert_eq!(
        (email["deliveryMethod"].as_str(), email["template"]["name"].as_str()),
        (Some("Email"), Some("digital_wallet_pairing"))
    );
    let body = email["body"].as_str().unwrap();
    assert!(body.contains("Hello Ada"), "{body}");
    let link = body
        .split_whitespace()
        .find(|w| w.starts_with("https://credentials.customer.com?u="))
        .expect("the pairing link");
    assert_eq!(link, created["_links"]["appOpen"]["href"]);

    // The wallet app pairs with that link.
    let paired = wallet_client::pair(app, link, "instance-1").await.unwrap();
    assert_eq!(paired.wallet_id, wallet_id);
    assert_eq!(wallet_client::status(app, &paired).await.unwrap()["status"], "ACTIVE");
    let wallet = app.get(&wallet_path(&s, &created)).bearer(&s.token).send().await.body;
    assert_eq!(wallet["status"], "ACTIVE");
    assert_eq!(wallet["applicationInstance"]["id"], "instance-1");
    assert_eq!(wallet["deviceData"]["osType"], "ANDROID");
    assert_eq!(wallet["pairingAttempts"].as_array().unwrap().len(), 1);
    assert_eq!(wallet["pairingAttempts"][0]["success"], true);
    assert!(wallet.get("pairingSession").is_none());
    assert_eq!(wallet["notification"], created["notification"], "the notification block is kept");
    let request = app.get(&format!("/v1/distributedid/requests/{}", qr_url.rsplit('/').next().unwrap())).send().await;
    assert_eq!(request.body["status"], "COMPLETED");

    // The same link again: refused.
    let again = wallet_client::pair(app, link, "instance-2").await.unwrap_err();
    assert!(again.contains("400") && again.contains("already been completed"), "{again}");
}

/// A pairing attempt by hand, with what the wallet app would send.
pub(crate) async fn attempt(
    app: &TestApp,
    request_url: &str,
    challenge: &str,
    key_seed: u8,
    signed_challenge: &str,
) -> crate::helpers::TestResponse {
    use base64::Engine;
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let key = ed25519_dalek::SigningKey::from_bytes(&[key_seed; 32]);
    let der = key.to_pkcs8_der().unwrap();
    let signature = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA),
        &json!({ "challenge": signed_challenge }),
        &jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes()),
    )
    .unwrap();
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
    let body = json!({
        "challenge": challenge, "applicationInstance": { "id": "i" }, "signature": signature,
        "publicKey": { "kty": "OKP", "crv": "Ed25519", "x": x },
    });
    app.post(request_url.strip_prefix("https://credd.test").unwrap()).json(body).send().await
}

async fn pending_wallet(app: &TestApp, s: &Setup) -> (Value, String, String) {
    let created = app
        .create_wallet(&s.token, &s.env, &s.user_id, json!({ "digitalWalletApplication": { "id": s.app_id } }))
        .await;
    let url = created["pairingSession"]["qrUrl"].as_str().unwrap().to_owned();
    let challenge = created["pairingSession"]["challenge"].as_str().unwrap().to_owned();
    (created, url, challenge)
}

async fn wrong_challenge_counts_and_locks_after_five(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let (created, url, challenge) = pending_wallet(app, &s).await;
    for left in (0..5).rev() {
        let response = attempt(app, &url, "wrongchallenge00", 1, "wrongchallenge00").await;
        let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
        assert_eq!(detail["target"], "challenge");
        assert!(detail["message"].as_str().unwrap().contains(&format!("{left} attempt(s) left")), "{detail}");
    }
    // Locked: even the right proof is refused now.
    let response = attempt(app, &url, &challenge, 1, &challenge).await;
    let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert!(detail["message"].as_str().unwrap().contains("locked"));
    let wallet = app.get(&wallet_path(&s, &created)).bearer(&s.token).send().await.body;
    assert_eq!(wallet["status"], "PAIRING_REQUIRED");
    let attempts = wallet["pairingAttempts"].as_array().unwrap();
    assert_eq!((attempts.len(), attempts.iter().all(|a| a["success"] == false)), (5, true));
}

/// Wrong challenges and signatures sent at once still count one by one: five are
/// judged, the rest find the session locked.
async fn concurrent_wrong_proofs_lock_after_five(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let (created, url, challenge) = pending_wallet(app, &s).await;
    let wrong_challenge = || attempt(app, &url, "wrongchallenge00", 1, "wrongchallenge00");
    let wrong_signature = || attempt(app, &url, &challenge, 1, "anotherchallenge");
    let answers = tokio::join!(
        wrong_challenge(),
        wrong_signature(),
        wrong_challenge(),
        wrong_signature(),
        wrong_challenge(),
        wrong_signature(),
        wrong_challenge(),
        wrong_signature()
    );
    let answers = [answers.0, answers.1, answers.2, answers.3, answers.4, answers.5, answers.6, answers.7];
    let judged = answers.iter().filter(|a| a.body["code"] == "INVALID_DATA").count();
    assert_eq!(judged, 5, "{answers:#?}");
    let wallet = app.get(&wallet_path(&s, &created)).bearer(&s.token).send().await.body;
    assert_eq!(wallet["pairingAttempts"].as_array().unwrap().len(), 5);
    let response = attempt(app, &url, &challenge, 1, &challenge).await;
    assert!(
        response.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST")["message"]
            .as_str()
            .unwrap()
            .contains("locked")
    );
}

async fn signature_must_be_by_the_offered_key(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let (_, url, challenge) = pending_wallet(app, &s).await;
    // Signed over another challenge.
    let response = attempt(app, &url, &challenge, 1, "anotherchallenge").await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "signature");
    // A key that is not Ed25519 or P-256.
    let response = app
        .post(url.strip_prefix("https://credd.test").unwrap())
        .json(json!({ "challenge": challenge, "applicationInstance": { "id": "i" }, "signature": "x.y.z", "publicKey": { "kty": "oct", "k": "c2VjcmV0" } }))
        .send()
        .await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "publicKey");
    // Missing fields are reported, and do not count as attempts.
    let response = app.post(url.strip_prefix("https://credd.test").unwrap()).json(json!({})).send().await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!(response.body["details"].as_array().unwrap().len(), 4);
    // The right proof still pairs.
    assert_eq!(attempt(app, &url, &challenge, 1, &challenge).await.status, StatusCode::OK);
}

async fn pairing_session_expires(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let (created, url, challenge) = pending_wallet(app, &s).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.run_jobs().await;
    let wallet = app.get(&wallet_path(&s, &created)).bearer(&s.token).send().await.body;
    assert_eq!(wallet["status"], "EXPIRED");
    let request = app.get(url.strip_prefix("https://credd.test").unwrap()).send().await;
    assert_eq!(request.body["status"], "EXPIRED");
    let response = attempt(app, &url, &challenge, 1, &challenge).await;
    assert!(
        response.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST")["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

async fn wallet_put_rules(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let (created, _, _) = pending_wallet(app, &s).await;
    let path = wallet_path(&s, &created);
    let put = |body: Value| app.put(&path).bearer(&s.token).json(body).send();
    for refused in [
        json!({ "status": "PAIRING_REQUIRED" }),
        json!({ "status": "EXPIRED" }),
        json!({ "status": "ACTIVE" }),
        json!({ "status": "GONE" }),
    ] {
        assert_eq!(put(refused).await.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "status");
    }
    let active = put(json!({ "status": "ACTIVE", "applicationInstance": { "id": "phone-1" } })).await;
    assert_eq!(
        (active.body["status"].as_str(), active.body["applicationInstance"]["id"].as_str()),
        (Some("ACTIVE"), Some("phone-1"))
    );
    let changed = put(json!({ "applicationInstance": { "id": "phone-2" } })).await;
    assert_eq!(changed.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "applicationInstance.id");
    assert_eq!(put(json!({ "status": "DISABLED" })).await.body["status"], "DISABLED");
    assert_eq!(put(json!({ "status": "ACTIVE" })).await.body["status"], "ACTIVE", "the instance is already known");
}

async fn wallet_application_rules_and_delete_cascade(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let apps = format!("/v1/environments/{}/digitalWalletApplications", s.env);
    let response = app
        .post(&apps)
        .bearer(&s.token)
        .json(json!({ "name": "x", "application": { "id": s.app_id }, "appOpenUrl": "not a url" }))
        .send()
        .await;
    let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!(
        (detail["target"].as_str(), detail["message"].as_str()),
        (Some("appOpenUrl"), Some("appOpenUrl must be a valid URL."))
    );

    let app_path = format!("{apps}/{}", s.app_id);
    let original = app.get(&app_path).bearer(&s.token).send().await.body;
    assert_eq!(original["usesPingOneWalletSDK"], true);
    let renamed = app
        .put(&app_path)
        .bearer(&s.token)
        .json(json!({ "name": "Renamed", "application": original["application"], "appOpenUrl": "https://wallet.example.com/open" }))
        .send()
        .await;
    assert_eq!(
        (renamed.body["name"].as_str(), renamed.body["appOpenUrl"].as_str()),
        (Some("Renamed"), Some("https://wallet.example.com/open"))
    );
    let response = app
        .put(&app_path)
        .bearer(&s.token)
        .json(json!({ "name": "x", "application": { "id": uuid::Uuid::new_v4() }, "appOpenUrl": "https://a.b", "usesPingOneWalletSDK": false }))
        .send()
        .await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!(response.body["details"].as_array().unwrap().len(), 2);

    let (created, _, _) = pending_wallet(app, &s).await;
    assert_eq!(app.delete(&app_path).bearer(&s.token).send().await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&wallet_path(&s, &created)).bearer(&s.token).send().await.body["status"], "DISABLED");
    app.get(&app_path).bearer(&s.token).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

async fn deleting_a_wallet_or_its_user_removes_it(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let (first, _, _) = pending_wallet(app, &s).await;
    let (second, url, _) = pending_wallet(app, &s).await;
    assert_eq!(app.delete(&wallet_path(&s, &first)).bearer(&s.token).send().await.status, StatusCode::NO_CONTENT);
    app.get(&wallet_path(&s, &first)).bearer(&s.token).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let user_path = format!("/v1/environments/{}/users/{}", s.env, s.user_id);
    assert_eq!(app.delete(&user_path).bearer(&s.token).send().await.status, StatusCode::NO_CONTENT);
    app.get(&wallet_path(&s, &second)).bearer(&s.token).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.get(url.strip_prefix("https://credd.test").unwrap())
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

async fn wallets_paginate_past_one_page(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(pending_wallet(app, &s).await.0["id"].as_str().unwrap().to_owned());
    }
    let mut next = Some(format!("/v1/environments/{}/users/{}/digitalWallets?limit=2", s.env, s.user_id));
    let mut seen = Vec::new();
    while let Some(path) = next {
        let page = app.get(&path).bearer(&s.token).send().await.body;
        seen.extend(
            page["_embedded"]["digitalWallets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["id"].as_str().unwrap().to_owned()),
        );
        next =
            page["_links"]["next"]["href"].as_str().map(|h| h.strip_prefix("https://credd.test").unwrap().to_owned());
    }
    assert_eq!(seen, ids);
}

async fn wallet_for_unknown_user_or_application_is_refused(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let missing_user = format!("/v1/environments/{}/users/{}/digitalWallets", s.env, uuid::Uuid::now_v7());
    let response = app
        .post(&missing_user)
        .bearer(&s.token)
        .json(json!({ "digitalWalletApplication": { "id": s.app_id } }))
        .send()
        .await;
    response.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let path = format!("/v1/environments/{}/users/{}/digitalWallets", s.env, s.user_id);
    let response = app
        .post(&path)
        .bearer(&s.token)
        .json(json!({ "digitalWalletApplication": { "id": uuid::Uuid::now_v7() } }))
        .send()
        .await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "digitalWalletApplication.id");
    let response = app
        .post(&path)
        .bearer(&s.token)
        .json(json!({ "digitalWalletApplication": { "id": s.app_id }, "notification": { "methods": ["PIGEON"] } }))
        .send()
        .await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "notification.methods");
    let list = app.get(&path).bearer(&s.token).send().await;
    assert_eq!(list.body["size"], 0, "nothing was created");
}

async fn wallet_api_needs_the_wallet_token(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let (_, url, _) = pending_wallet(app, &s).await;
    let paired = wallet_client::pair(app, &url, "instance").await.unwrap();
    let (_, other_url, _) = pending_wallet(app, &s).await;
    let other = wallet_client::pair(app, &other_url, "instance-2").await.unwrap();
    let path = paired.wallet_url.strip_prefix("https://credd.test").unwrap();
    app.get(path).send().await.expect_error(StatusCode::UNAUTHORIZED, "ACCESS_FAILED");
    app.get(path).bearer(&other.access_token).send().await.expect_error(StatusCode::UNAUTHORIZED, "ACCESS_FAILED");
    app.get(path).bearer(&s.token).send().await.expect_error(StatusCode::UNAUTHORIZED, "ACCESS_FAILED");
    assert_eq!(app.get(path).bearer(&paired.access_token).send().await.body["status"], "ACTIVE");
}

/// The QR code of a wallet's pairing link: an SVG while it waits, no longer once paired.
/// (tests/api/console.rs decodes it out of the console's screenshot.)
async fn pairing_qr_code_is_served_while_the_wallet_waits(app: &TestApp) {
    let s = setup(app, json!({ "username": "ada" })).await;
    let wallet = app
        .create_wallet(&s.token, &s.env, &s.user_id, json!({ "digitalWalletApplication": { "id": s.app_id } }))
        .await;
    let qr = format!("{}/pairingQr", wallet_path(&s, &wallet));

    let response = app.get(&qr).bearer(&s.token).send().await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.headers["content-type"], "image/svg+xml");
    assert_eq!(response.headers["cache-control"], "no-store", "the code is a capability");
    assert!(response.body.as_str().is_some_and(|svg| svg.contains("<svg")), "{}", response.body);

    let other = app.create_user(&s.token, &s.env, json!({ "username": "grace" })).await;
    let under_other = qr.replace(&s.user_id, other["id"].as_str().unwrap());
    app.get(&under_other).bearer(&s.token).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    wallet_client::pair(app, wallet["pairingSession"]["qrUrl"].as_str().unwrap(), "phone").await.unwrap();
    app.get(&qr).bearer(&s.token).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}
