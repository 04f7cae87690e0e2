//! Pairing links: a disabled wallet (or one whose application was deleted) is never
//! paired, not even by a request racing the disable.

use axum::http::StatusCode;
use credd::wallet_client;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::user_credentials::{self, Setup, credentials_path};
use crate::wallets::attempt;

on_both_backends!(
    a_disabled_wallet_is_not_paired_and_receives_nothing,
    a_wallet_whose_application_was_deleted_is_not_paired,
    a_disable_racing_a_pairing_always_ends_disabled,
);

fn wallet_path(s: &Setup, wallet: &Value) -> String {
    format!("/v1/environments/{}/users/{}/digitalWallets/{}", s.env, s.user_id, wallet["id"].as_str().unwrap())
}

fn strip(url: &str) -> &str {
    url.strip_prefix("https://credd.test").unwrap()
}

/// A user with a credential waiting for a wallet (no data: the type's defaults), a
/// wallet application, and a wallet waiting to pair.
async fn waiting_wallet(app: &TestApp) -> (Setup, String, String, Value) {
    let s = user_credentials::setup(app).await;
    let waiting =
        app.post(&credentials_path(&s)).bearer(&s.token).json(json!({ "credentialType": { "id": s.type_id } }));
    let waiting = waiting.send().await;
    assert_eq!(waiting.body["status"], "PENDING", "{}", waiting.body);
    let credential = format!("{}/{}", credentials_path(&s), waiting.body["id"].as_str().unwrap());
    let wallet_app = app.create_wallet_application(&s.token, &s.env).await;
    let wallet = app
        .create_wallet(&s.token, &s.env, &s.user_id, json!({ "digitalWalletApplication": { "id": wallet_app } }))
        .await;
    (s, credential, wallet_app, wallet)
}

/// The wallet is `DISABLED`, was never paired, and the waiting credential went nowhere.
async fn assert_disabled_and_empty(app: &TestApp, s: &Setup, credential: &str, wallet: &Value) {
    app.run_jobs().await;
    let read = app.get(&wallet_path(s, wallet)).bearer(&s.token).send().await.body;
    assert_eq!(read["status"], "DISABLED", "{read}");
    assert!(read["applicationInstance"].is_null() && read["deviceData"].is_null(), "{read}");
    let copies = app.get(&format!("{}/provisionedCredentials", wallet_path(s, wallet))).bearer(&s.token).send().await;
    assert_eq!(copies.body["size"], 0, "{}", copies.body);
    assert_eq!(app.get(credential).bearer(&s.token).send().await.body["status"], "PENDING");
}

async fn a_disabled_wallet_is_not_paired_and_receives_nothing(app: &TestApp) {
    let (s, credential, _, wallet) = waiting_wallet(app).await;
    let link = wallet["_links"]["appOpen"]["href"].as_str().unwrap();
    let disabled =
        app.put(&wallet_path(&s, &wallet)).bearer(&s.token).json(json!({ "status": "DISABLED" })).send().await;
    assert_eq!(disabled.body["status"], "DISABLED");

    let refused = wallet_client::pair(app, link, "phone").await.unwrap_err();
    assert!(refused.contains("400") && refused.contains("The digital wallet is disabled"), "{refused}");
    // The disable ended the session: the link reads as over.
    let request = app.get(strip(wallet_client::request_url(link).unwrap().as_str())).send().await;
    assert_eq!(request.body["status"], "EXPIRED");
    assert_disabled_and_empty(app, &s, &credential, &wallet).await;
}

async fn a_wallet_whose_application_was_deleted_is_not_paired(app: &TestApp) {
    let (s, credential, wallet_app, wallet) = waiting_wallet(app).await;
    let link = wallet["pairingSession"]["qrUrl"].as_str().unwrap();
    let application = format!("/v1/environments/{}/digitalWalletApplications/{wallet_app}", s.env);
    assert_eq!(app.delete(&application).bearer(&s.token).send().await.status, StatusCode::NO_CONTENT);

    let refused = wallet_client::pair(app, link, "phone").await.unwrap_err();
    assert!(refused.contains("400") && refused.contains("application was deleted"), "{refused}");
    assert_eq!(app.get(strip(link)).send().await.body["status"], "EXPIRED");
    assert_disabled_and_empty(app, &s, &credential, &wallet).await;
}

/// The disable and the pairing sent at once, many times, in both orders: whichever
/// lands first, the wallet ends `DISABLED` once the disable is acknowledged.
async fn a_disable_racing_a_pairing_always_ends_disabled(app: &TestApp) {
    let s = user_credentials::setup(app).await;
    let wallet_app = app.create_wallet_application(&s.token, &s.env).await;
    let mut paired = 0;
    for round in 0..30u8 {
        let wallet = app
            .create_wallet(&s.token, &s.env, &s.user_id, json!({ "digitalWalletApplication": { "id": wallet_app } }))
            .await;
        let (url, challenge) = (
            wallet["pairingSession"]["qrUrl"].as_str().unwrap(),
            wallet["pairingSession"]["challenge"].as_str().unwrap(),
        );
        let path = wallet_path(&s, &wallet);
        let disable = app.put(&path).bearer(&s.token).json(json!({ "status": "DISABLED" })).send();
        let pair = attempt(app, url, challenge, round, challenge);
        let (disabled, pairing) = if round % 2 == 0 {
            tokio::join!(disable, pair)
        } else {
            let (pairing, disabled) = tokio::join!(pair, disable);
            (disabled, pairing)
        };
        assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
        match pairing.status {
            StatusCode::OK => paired += 1,
            _ => assert!(
                pairing.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST")["target"] == "requestId",
                "{}",
                pairing.body
            ),
        }
        let read = app.get(&path).bearer(&s.token).send().await.body;
        assert_eq!(read["status"], "DISABLED", "round {round}: the pairing answered {}", pairing.status);
        // And the link is spent whatever happened.
        assert_eq!(attempt(app, url, challenge, round, challenge).await.status, StatusCode::BAD_REQUEST);
    }
    println!("{paired} of 30 pairings landed before their disable");
}
