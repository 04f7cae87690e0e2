//! Pairing links: a disabled wallet (or one whose application was deleted) is never
//! paired, not even by a request racing the disable; a link's id is unpredictable and
//! never rests in the database; the SQLite file is private to credd's user.

use std::os::unix::fs::PermissionsExt;

use axum::http::StatusCode;
use credd::app_store::AppStore;
use credd::crypto::MasterKey;
use credd::wallet_client;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::user_credentials::{self, Setup, contains, credentials_path, database_contents};
use crate::wallets::attempt;

on_both_backends!(
    a_disabled_wallet_is_not_paired_and_receives_nothing,
    a_wallet_whose_application_was_deleted_is_not_paired,
    a_disable_racing_a_pairing_always_ends_disabled,
    a_pending_link_id_rests_nowhere_in_the_database,
    link_ids_are_random_and_need_the_master_key,
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

/// A pending wallet's link id is in no form in the stored bytes (SQLite's file and
/// WAL; every Postgres row as text, and every BYTEA value as raw bytes), while the
/// ids around it are; and the link still pairs.
async fn a_pending_link_id_rests_nowhere_in_the_database(app: &TestApp) {
    let s = user_credentials::setup(app).await;
    let wallet_app = app.create_wallet_application(&s.token, &s.env).await;
    let wallet = app
        .create_wallet(&s.token, &s.env, &s.user_id, json!({ "digitalWalletApplication": { "id": wallet_app } }))
        .await;
    let qr_url = wallet["pairingSession"]["qrUrl"].as_str().unwrap();
    let link_id: Uuid = qr_url.rsplit('/').next().unwrap().parse().unwrap();

    let stored = database_contents(app).await;
    let session_id = wallet["pairingSession"]["id"].as_str().unwrap();
    assert!(contains(&stored, session_id) && contains(&stored, wallet["id"].as_str().unwrap()), "the search sees ids");
    for form in [link_id.hyphenated().to_string(), link_id.simple().to_string(), link_id.to_string().to_uppercase()] {
        assert!(!contains(&stored, &form), "the link id rests in the database as {form}");
    }
    assert!(!stored.windows(16).any(|w| w == link_id.as_bytes()), "the link id rests as raw bytes");

    let paired = wallet_client::pair(app, qr_url, "phone").await.unwrap();
    assert_eq!(paired.wallet_id, wallet["id"].as_str().unwrap());
}

/// Two wallets made back to back: their link ids are version 4 UUIDs that share
/// nothing but those bits, are not their session ids, and follow from the session id
/// only with the master key.
async fn link_ids_are_random_and_need_the_master_key(app: &TestApp) {
    let s = user_credentials::setup(app).await;
    let wallet_app = app.create_wallet_application(&s.token, &s.env).await;
    let body = json!({ "digitalWalletApplication": { "id": wallet_app } });
    let (first, second) = tokio::join!(
        app.create_wallet(&s.token, &s.env, &s.user_id, body.clone()),
        app.create_wallet(&s.token, &s.env, &s.user_id, body.clone())
    );
    let ids = |wallet: &Value| {
        let session: Uuid = wallet["pairingSession"]["id"].as_str().unwrap().parse().unwrap();
        let link: Uuid =
            wallet["pairingSession"]["qrUrl"].as_str().unwrap().rsplit('/').next().unwrap().parse().unwrap();
        (session, link)
    };
    let ((first_session, first_link), (second_session, second_link)) = (ids(&first), ids(&second));
    for link in [first_link, second_link] {
        assert_eq!((link.get_version_num(), link.get_variant()), (4, uuid::Variant::RFC4122), "{link}");
    }
    // Apart from the version and variant bits, the two ids have no prefix in common.
    let (a, b) = (first_link.as_u128() & !VERSION_AND_VARIANT, second_link.as_u128() & !VERSION_AND_VARIANT);
    assert!((a ^ b).leading_zeros() < 32, "{first_link} and {second_link} share a prefix");
    assert_ne!(first_session, first_link);

    let key = &app.state.credd.master_key;
    assert_eq!(key.pairing_link_id(first_session), first_link);
    assert_eq!(key.pairing_link_id(second_session), second_link);
    let another_key = MasterKey::from_bytes(&[42; 32]);
    assert_ne!(another_key.pairing_link_id(first_session), first_link, "the link needs credd's own key");
}

const VERSION_AND_VARIANT: u128 = (0xf << 76) | (0x3 << 62);

/// A database credd creates, with its folder, is readable by credd's user only, its
/// WAL and shared-memory files too; an existing one is made so at start.
#[tokio::test]
async fn the_sqlite_database_and_its_folder_are_private() {
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("data");
    let file = folder.join("credd.db");
    let url = format!("sqlite://{}", file.display());
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let companions = [format!("{}-wal", file.display()), format!("{}-shm", file.display())];

    let store = AppStore::open(&url, 1, true).await.unwrap();
    assert_eq!(mode(&folder), 0o700);
    assert_eq!(mode(&file), 0o600);
    for companion in &companions {
        assert_eq!(mode(companion.as_ref()), 0o600, "{companion}");
    }
    store.close().await;

    for path in [file.display().to_string()].iter().chain(&companions) {
        if std::path::Path::new(path).exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let store = AppStore::open(&url, 1, true).await.unwrap();
    assert_eq!(mode(&file), 0o600, "an existing database is made private");
    for companion in companions.iter().filter(|c| std::path::Path::new(c.as_str()).exists()) {
        assert_eq!(mode(companion.as_ref()), 0o600, "{companion}");
    }
    store.close().await;
}
