//! A user credential's life after issue: updates re-delivered to every active
//! wallet, revocation and expiry, the mailbox time-to-live, the cascades of deleting
//! or disabling what a credential hangs on, a failed delivery made visible, and
//! delivery exactly once across a restart.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{TimeDelta, Utc};
use credd::jobs::JobHandler;
use credd::wallet_client::{self, PairedWallet};
use domain::store::JobStore;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, tamper};
use crate::on_both_backends;
use crate::user_credentials::{Setup, credentials_path, setup};

on_both_backends!(
    args = ["--mailbox-ttl-seconds", "1"];
    update_redelivers_to_every_active_wallet_and_notifies,
    credentials_expire_at_expires_at,
    expires_at_must_fall_in_years_0001_to_9999,
    uncollected_credentials_leave_the_mailbox_after_its_time_to_live,
    disabling_or_deleting_a_wallet_revokes_its_copies_and_reenabling_provisions,
    deleting_a_type_revokes_issued_and_deletes_pending_credentials,
    a_failed_delivery_is_visible_on_the_copy,
);

async fn paired_wallet(app: &TestApp, s: &Setup, user_id: &str) -> PairedWallet {
    let wallet_app = app.create_wallet_application(&s.token, &s.env).await;
    let wallet =
        app.create_wallet(&s.token, &s.env, user_id, json!({ "digitalWalletApplication": { "id": wallet_app } })).await;
    wallet_client::pair(app, wallet["pairingSession"]["qrUrl"].as_str().unwrap(), "phone").await.unwrap()
}

/// Issues a credential to Ada; returns its path.
async fn issue(app: &TestApp, s: &Setup, body: Value) -> String {
    let created = app.post(&credentials_path(s)).bearer(&s.token).json(body).send().await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    format!("{}/{}", credentials_path(s), created.body["id"].as_str().unwrap())
}

async fn read(app: &TestApp, s: &Setup, path: &str) -> Value {
    let response = app.get(path).bearer(&s.token).send().await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.body
}

async fn copies(app: &TestApp, s: &Setup, credential_path: &str) -> Vec<Value> {
    let body = read(app, s, &format!("{credential_path}/provisionedCredentials")).await;
    body["_embedded"]["provisionedCredentials"].as_array().unwrap().clone()
}

fn actions(copy: &Value) -> Vec<&str> {
    copy["walletActions"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect()
}

/// The `credentialSubject` of an offered credential.
fn subject(offer: &Value) -> Value {
    let payload = offer["credentialJwt"].as_str().unwrap().split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["vc"]["credentialSubject"].clone()
}

async fn sent_templates(app: &TestApp, s: &Setup) -> Vec<String> {
    let body = read(app, s, &format!("/v1/environments/{}/notifications", s.env)).await;
    body["_embedded"]["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["template"]["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn update_redelivers_to_every_active_wallet_and_notifies(app: &TestApp) {
    let s = setup(app).await;
    let (phone, tablet) = (paired_wallet(app, &s, &s.user_id).await, paired_wallet(app, &s, &s.user_id).await);
    let notify = json!({ "methods": ["EMAIL"] });
    let path = issue(
        app,
        &s,
        json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "Silver" }, "notification": notify }),
    )
    .await;
    app.run_jobs().await;
    let offer = &wallet_client::credentials(app, &phone).await.unwrap()[0];
    wallet_client::act(app, &phone, offer["id"].as_str().unwrap(), "ACCEPT").await.unwrap();

    let update = json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "Gold", "Club": "Go" }, "notification": notify });
    let updated = app.put(&path).bearer(&s.token).json(update).send().await;
    assert_eq!((updated.status, updated.body["status"].as_str()), (StatusCode::OK, Some("ISSUED")), "{}", updated.body);
    assert!(updated.body.get("data").is_none());
    assert_eq!(updated.body["notification"]["results"][0]["sent"], true);
    let before = copies(app, &s, &path).await;
    assert_eq!(before.len(), 2, "still one copy per wallet");
    assert!(before.iter().all(|c| c["status"] == "CREATED"), "both wait for the new delivery: {before:?}");
    app.run_jobs().await;
    for wallet in [&phone, &tablet] {
        let offers = wallet_client::credentials(app, wallet).await.unwrap();
        assert_eq!(offers.len(), 1, "exactly the updated credential");
        let subject = subject(&offers[0]);
        assert_eq!((subject["Level"].as_str(), subject["Club"].as_str()), (Some("Gold"), Some("Go")));
    }
    let phone_copy = copies(app, &s, &path).await.into_iter().find(|c| c["digitalWallet"]["id"] == phone.wallet_id);
    assert_eq!(actions(&phone_copy.unwrap()), ["CREDENTIAL_ACCEPTED"], "the history stays");
    assert!(sent_templates(app, &s).await.contains(&"credential_updated".to_owned()));

    // An update follows the same rules as a create.
    let other_type = json!({ "credentialType": { "id": uuid::Uuid::now_v7() }, "data": { "Level": "x" } });
    let refused = app.put(&path).bearer(&s.token).json(other_type).send().await;
    assert_eq!(refused.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "credentialType.id");
    let missing =
        app.put(&path).bearer(&s.token).json(json!({ "credentialType": { "id": s.type_id }, "data": {} })).send().await;
    assert_eq!(missing.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "data.Level");

    // Revoking a credential issued with a notification sends `credential_revoked`.
    let revoked = app
        .post(&path)
        .bearer(&s.token)
        .raw("application/vnd.pingidentity.validations.revokeCredential+json", "")
        .send()
        .await;
    assert_eq!(revoked.body["status"], "REVOKED");
    assert!(sent_templates(app, &s).await.contains(&"credential_revoked".to_owned()));
    assert!(copies(app, &s, &path).await.iter().all(|c| c["status"] == "REVOKED"));
    let again = app
        .put(&path)
        .bearer(&s.token)
        .json(json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "x" } }))
        .send()
        .await;
    again.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
}

async fn credentials_expire_at_expires_at(app: &TestApp) {
    let s = setup(app).await;
    let wallet = paired_wallet(app, &s, &s.user_id).await;
    let past = (Utc::now() - TimeDelta::days(1)).to_rfc3339();
    let expired_at_birth =
        issue(app, &s, json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "x" }, "expiresAt": past }))
            .await;
    assert_eq!(read(app, &s, &expired_at_birth).await["status"], "REVOKED");
    assert!(copies(app, &s, &expired_at_birth).await.is_empty(), "never delivered");

    let soon = (Utc::now() + TimeDelta::milliseconds(800)).to_rfc3339();
    let path =
        issue(app, &s, json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "x" }, "expiresAt": soon }))
            .await;
    app.run_jobs().await;
    assert_eq!(read(app, &s, &path).await["status"], "ISSUED");
    assert_eq!(wallet_client::credentials(app, &wallet).await.unwrap().len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    app.run_jobs().await;
    assert_eq!(read(app, &s, &path).await["status"], "REVOKED", "the expiry job revoked it");
    let copy = &copies(app, &s, &path).await[0];
    assert_eq!((copy["status"].as_str(), actions(copy)), (Some("REVOKED"), vec!["CREDENTIAL_REVOKED"]));
    assert!(wallet_client::credentials(app, &wallet).await.unwrap().is_empty());

    // An update may move expiresAt into the past: revoked at once.
    let path = issue(app, &s, json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "y" } })).await;
    let update = json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "y" }, "expiresAt": past });
    let updated = app.put(&path).bearer(&s.token).json(update).send().await;
    assert_eq!(updated.body["status"], "REVOKED", "{}", updated.body);
}

/// Both stores sort timestamps as time only within four-digit years (SQLite as text):
/// a credential expiring in year 10000 was revoked at once there. Such times are refused.
async fn expires_at_must_fall_in_years_0001_to_9999(app: &TestApp) {
    let s = setup(app).await;
    paired_wallet(app, &s, &s.user_id).await;
    let body = |expires_at: &str| json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "x" }, "expiresAt": expires_at });
    let last = issue(app, &s, body("9999-12-31T23:59:59.999Z")).await;
    for beyond in ["+10000-01-01T00:00:00Z", "9999-12-31T23:00:00-05:00", "0000-12-31T00:00:00Z"] {
        let created = app.post(&credentials_path(&s)).bearer(&s.token).json(body(beyond)).send().await;
        assert_eq!(created.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "expiresAt", "{beyond}");
        let updated = app.put(&last).bearer(&s.token).json(body(beyond)).send().await;
        assert_eq!(updated.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "expiresAt", "{beyond}");
    }
    app.run_jobs().await;
    let credential = read(app, &s, &last).await;
    assert_eq!(
        (credential["status"].as_str(), credential["expiresAt"].as_str()),
        (Some("ISSUED"), Some("9999-12-31T23:59:59.999Z")),
        "issued, and not taken for expired"
    );
}

async fn uncollected_credentials_leave_the_mailbox_after_its_time_to_live(app: &TestApp) {
    let s = setup(app).await;
    let wallet = paired_wallet(app, &s, &s.user_id).await;
    let path = issue(app, &s, json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "x" } })).await;
    app.run_jobs().await;
    assert_eq!(wallet_client::credentials(app, &wallet).await.unwrap().len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.run_jobs().await;
    assert!(wallet_client::credentials(app, &wallet).await.unwrap().is_empty(), "wiped after the time-to-live");
    let copy = &copies(app, &s, &path).await[0];
    assert_eq!(copy["status"], "CREATED");
    assert!(copy["deliveryError"].as_str().unwrap().contains("time-to-live"), "{copy}");
}

async fn disabling_or_deleting_a_wallet_revokes_its_copies_and_reenabling_provisions(app: &TestApp) {
    let s = setup(app).await;
    let (phone, tablet) = (paired_wallet(app, &s, &s.user_id).await, paired_wallet(app, &s, &s.user_id).await);
    let path = issue(app, &s, json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "x" } })).await;
    app.run_jobs().await;
    let wallet_path =
        |w: &PairedWallet| format!("/v1/environments/{}/users/{}/digitalWallets/{}", s.env, s.user_id, w.wallet_id);
    let copy_in = |copies: &[Value], w: &PairedWallet| {
        copies.iter().find(|c| c["digitalWallet"]["id"] == w.wallet_id).cloned().unwrap()
    };

    let disabled = app.put(&wallet_path(&phone)).bearer(&s.token).json(json!({ "status": "DISABLED" })).send().await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    let phone_copy = copy_in(&copies(app, &s, &path).await, &phone);
    assert_eq!((phone_copy["status"].as_str(), actions(&phone_copy)), (Some("REVOKED"), vec!["CREDENTIAL_REVOKED"]));
    assert_eq!(copy_in(&copies(app, &s, &path).await, &tablet)["status"], "CREATED", "other wallets keep theirs");

    // Deleting the only active wallet revokes its copies, which stay as history.
    let deleted = app.delete(&wallet_path(&tablet)).bearer(&s.token).send().await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(copy_in(&copies(app, &s, &path).await, &tablet)["status"], "REVOKED");

    // A credential without data waits; re-enabling the phone provisions it.
    let waiting = issue(app, &s, json!({ "credentialType": { "id": s.type_id } })).await;
    app.run_jobs().await;
    assert_eq!(read(app, &s, &waiting).await["status"], "PENDING");
    let enabled = app
        .put(&wallet_path(&phone))
        .bearer(&s.token)
        .json(json!({ "status": "ACTIVE", "applicationInstance": { "id": "phone" } }))
        .send()
        .await;
    assert_eq!(enabled.body["status"], "ACTIVE", "{}", enabled.body);
    app.run_jobs().await;
    assert_eq!(read(app, &s, &waiting).await["status"], "ISSUED");
    let offers = wallet_client::credentials(app, &phone).await.unwrap();
    assert_eq!(offers.len(), 1, "only the waiting credential; the revoked copy is not offered again");

    // Deleting the user deletes their credentials.
    let user_path = format!("/v1/environments/{}/users/{}", s.env, s.user_id);
    assert_eq!(app.delete(&user_path).bearer(&s.token).send().await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path).bearer(&s.token).send().await.status, StatusCode::NOT_FOUND);
}

async fn deleting_a_type_revokes_issued_and_deletes_pending_credentials(app: &TestApp) {
    let s = setup(app).await;
    let wallet = paired_wallet(app, &s, &s.user_id).await;
    let issued = issue(app, &s, json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "x" } })).await;
    app.run_jobs().await;
    let bob = app.create_user(&s.token, &s.env, json!({ "username": "bob" })).await;
    let bob_id = bob["id"].as_str().unwrap();
    let bobs = format!("/v1/environments/{}/users/{bob_id}/credentials", s.env);
    let pending = app.post(&bobs).bearer(&s.token).json(json!({ "credentialType": { "id": s.type_id } })).send().await;
    assert_eq!(pending.body["status"], "PENDING");
    let pending_path = format!("{bobs}/{}", pending.body["id"].as_str().unwrap());

    let type_path = format!("/v1/environments/{}/credentialTypes/{}", s.env, s.type_id);
    assert_eq!(app.delete(&type_path).bearer(&s.token).send().await.status, StatusCode::NO_CONTENT);
    assert_eq!(read(app, &s, &issued).await["status"], "REVOKED", "onDelete.revokeIssuedCredentials defaults to true");
    assert_eq!(copies(app, &s, &issued).await[0]["status"], "REVOKED");
    assert!(wallet_client::credentials(app, &wallet).await.unwrap().is_empty());
    app.get(&pending_path).bearer(&s.token).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let refused = app
        .post(&credentials_path(&s))
        .bearer(&s.token)
        .json(json!({ "credentialType": { "id": s.type_id } }))
        .send()
        .await;
    assert_eq!(refused.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "credentialType.id");
}

async fn a_failed_delivery_is_visible_on_the_copy(app: &TestApp) {
    let s = setup(app).await;
    paired_wallet(app, &s, &s.user_id).await;
    read(app, &s, &format!("/v1/environments/{}/credentialIssuerProfile", s.env)).await;
    // The issuer's key can no longer be opened (say, the master key was changed).
    tamper(app, "UPDATE issuer_profiles SET sealed_private_key = substr(sealed_private_key, 1, 8)").await;
    let path = issue(app, &s, json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "x" } })).await;
    app.run_jobs().await;
    assert_eq!(read(app, &s, &path).await["status"], "PENDING");
    let copy = &copies(app, &s, &path).await[0];
    let error = copy["deliveryError"].as_str().unwrap();
    assert!(error.starts_with("Delivery attempt 1 of 10 failed (it will be retried)"), "{error}");
}

#[tokio::test]
async fn sqlite_delivery_completes_once_across_restarts() {
    delivery_completes_once_across_restarts(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_delivery_completes_once_across_restarts() {
    delivery_completes_once_across_restarts(Backend::Postgres).await;
}

/// credd stops after the API accepted two credentials and before their delivery; one
/// delivery even ran but its job was never settled (a kill between the two writes).
/// After the restart each credential is in the wallet once.
async fn delivery_completes_once_across_restarts(backend: Backend) {
    let app = TestApp::start(backend).await;
    let s = setup(&app).await;
    let wallet = paired_wallet(&app, &s, &s.user_id).await;
    let first = issue(&app, &s, json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "One" } })).await;
    let app = app.restart().await;
    let second = issue(&app, &s, json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "Two" } })).await;

    // A worker claims one delivery with a lease that runs out at once, delivers, and dies.
    let now = Utc::now();
    let claimed = app
        .state
        .credd
        .store
        .claim_jobs(now, now + TimeDelta::milliseconds(1), 1)
        .await
        .unwrap()
        .pop()
        .expect("a queued delivery");
    credd::jobs::Jobs { credd: app.state.credd.clone() }.run(claimed.clone()).await.unwrap();
    let app = app.restart().await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert!(app.run_jobs().await >= 2, "the unsettled delivery runs again, the other for the first time");
    app.run_jobs().await;

    let offers = wallet_client::credentials(&app, &wallet).await.unwrap();
    let mut levels: Vec<String> = offers.iter().map(|o| subject(o)["Level"].as_str().unwrap().to_owned()).collect();
    levels.sort();
    assert_eq!(levels, ["One", "Two"], "each credential exactly once");
    for path in [&first, &second] {
        assert_eq!(read(&app, &s, path).await["status"], "ISSUED");
        assert_eq!(copies(&app, &s, path).await.len(), 1);
    }
    assert_eq!(app.state.credd.store.job(claimed.id).await.unwrap().status, domain::job::JobStatus::Done);
    app.finish().await;
}
