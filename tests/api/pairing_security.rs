//! Pairing links: a disabled wallet (or one whose application was deleted) is never
//! paired, not even by a request racing the disable; a link's id is unpredictable and
//! never rests in the database, not even one made before the upgrade that hashed
//! them; the SQLite file is private to credd's user.

use std::borrow::Cow;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

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
use domain::store::WalletStore;
use domain::wallet::{PairingStatus, WalletStatus};
use sqlx::migrate::Migrator;

on_both_backends!(
    a_disabled_wallet_is_not_paired_and_receives_nothing,
    a_wallet_whose_application_was_deleted_is_not_paired,
    a_disable_racing_a_pairing_always_ends_disabled,
    a_delete_racing_a_pairing_always_ends_deleted,
    a_pending_link_id_rests_nowhere_in_the_database,
    link_ids_are_random_and_need_the_master_key,
);

fn wallet_path(s: &Setup, wallet: &Value) -> String {
    format!("/v1/environments/{}/users/{}/digitalWallets/{}", s.env, s.user_id, wallet["id"].as_str().unwrap())
}

/// A new wallet waiting to pair: its path, its link and its challenge.
async fn pending_wallet(app: &TestApp, s: &Setup, wallet_app: &str) -> (String, String, String) {
    let wallet = app
        .create_wallet(&s.token, &s.env, &s.user_id, json!({ "digitalWalletApplication": { "id": wallet_app } }))
        .await;
    let session = &wallet["pairingSession"];
    let text = |field: &str| session[field].as_str().unwrap().to_owned();
    (wallet_path(s, &wallet), text("qrUrl"), text("challenge"))
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
        let (path, url, challenge) = pending_wallet(app, &s, &wallet_app).await;
        let (url, challenge) = (url.as_str(), challenge.as_str());
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

/// The wallet's deletion and its pairing sent at once, many times, in both orders:
/// neither fails (on Postgres they lock the wallet and its session in one order) and
/// the wallet is gone.
async fn a_delete_racing_a_pairing_always_ends_deleted(app: &TestApp) {
    let s = user_credentials::setup(app).await;
    let wallet_app = app.create_wallet_application(&s.token, &s.env).await;
    for round in 0..100u8 {
        let (path, url, challenge) = pending_wallet(app, &s, &wallet_app).await;
        let (url, challenge) = (url.as_str(), challenge.as_str());
        // `send` fails the test on any 5xx, a deadlock's answer.
        let delete = app.delete(&path).bearer(&s.token).send();
        let pair = attempt(app, url, challenge, round, challenge);
        let deleted = if round % 2 == 0 { tokio::join!(delete, pair).0 } else { tokio::join!(pair, delete).1 };
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
        app.get(&path).bearer(&s.token).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    }
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

/// The last migration of the release that stored link ids as they are.
const LAST_WITH_PLAIN_LINK_IDS: i64 = 20261123070000;

fn migrations_until_plain_link_ids(all: &Migrator) -> Migrator {
    let migrations = all.iter().filter(|m| m.version <= LAST_WITH_PLAIN_LINK_IDS).cloned().collect();
    Migrator { migrations: Cow::Owned(migrations), ..Migrator::DEFAULT }
}

/// Rows as that release wrote them: a wallet waiting to pair and one paired, with
/// their sessions and link ids. `{t}` is a timestamp literal of the backend.
fn plain_link_rows(ids: &OldIds, t: &str) -> Vec<String> {
    let OldIds { env, user, pending, paired, pending_session, paired_session, pending_link, paired_link } = ids;
    let wallet = |id: &Uuid, status: &str| {
        format!(
            "INSERT INTO digital_wallets (id, environment_id, user_id, wallet_application_id, status, created_at, updated_at)
             VALUES ('{id}', '{env}', '{user}', '{}', '{status}', {t}, {t})",
            Uuid::new_v4()
        )
    };
    let session = |id: &Uuid, wallet: &Uuid, link: &Uuid, status: &str| {
        format!(
            "INSERT INTO pairing_sessions (id, environment_id, user_id, wallet_id, request_id, challenge, status,
                                           failed_attempts, expires_at, created_at, updated_at)
             VALUES ('{id}', '{env}', '{user}', '{wallet}', '{link}', 'abc123', '{status}', 0, {t}, {t}, {t})"
        )
    };
    vec![
        format!(
            "INSERT INTO environments (id, name, type, region, created_at, updated_at)
             VALUES ('{env}', 'Before', 'SANDBOX', 'NA', {t}, {t})"
        ),
        format!(
            "INSERT INTO users (id, environment_id, username, created_at, updated_at) VALUES ('{user}', '{env}', 'ada', {t}, {t})"
        ),
        wallet(pending, "PAIRING_REQUIRED"),
        wallet(paired, "ACTIVE"),
        session(pending_session, pending, pending_link, "INITIAL"),
        session(paired_session, paired, paired_link, "COMPLETED"),
    ]
}

struct OldIds {
    env: Uuid,
    user: Uuid,
    pending: Uuid,
    paired: Uuid,
    pending_session: Uuid,
    paired_session: Uuid,
    pending_link: Uuid,
    paired_link: Uuid,
}

impl OldIds {
    fn new() -> Self {
        let id = Uuid::now_v7;
        Self {
            env: id(),
            user: id(),
            pending: id(),
            paired: id(),
            pending_session: id(),
            paired_session: id(),
            pending_link: id(),
            paired_link: id(),
        }
    }
}

/// After the upgrade the session that was pending has ended with its wallet
/// (`EXPIRED`), the paired one is as it was, and neither old link id is stored.
async fn old_links_are_gone(app: &TestApp, ids: &OldIds) {
    let store = &app.state.credd.store;
    assert_eq!(store.wallet_by_id(ids.pending).await.unwrap().status, WalletStatus::Expired);
    assert_eq!(store.wallet_by_id(ids.paired).await.unwrap().status, WalletStatus::Active);
    for (wallet, session, status) in [
        (ids.pending, ids.pending_session, PairingStatus::Expired),
        (ids.paired, ids.paired_session, PairingStatus::Completed),
    ] {
        let stored = store.pairing_session_of_wallet(wallet).await.unwrap();
        assert_eq!((stored.id, stored.status), (session, status));
    }
    let request = app.get(&format!("/v1/distributedid/requests/{}", ids.pending_link)).send().await;
    request.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let stored = database_contents(app).await;
    assert!(contains(&stored, &ids.pending_session.to_string()), "the search sees the sessions");
    for link in [ids.pending_link, ids.paired_link] {
        assert!(!contains(&stored, &link.to_string()), "an old link id rests in the database");
    }
}

#[tokio::test]
async fn sqlite_links_made_before_the_upgrade_end_and_leave_no_id() {
    let data_dir = Arc::new(tempfile::tempdir().unwrap());
    let url = format!("sqlite://{}/credd.db", data_dir.path().display());
    let options = url.parse::<sqlx::sqlite::SqliteConnectOptions>().unwrap().create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    migrations_until_plain_link_ids(&store_sqlite::MIGRATOR).run(&pool).await.unwrap();
    let ids = OldIds::new();
    for row in plain_link_rows(&ids, "'2026-12-01T00:00:00+00:00'") {
        sqlx::query(sqlx::AssertSqlSafe(row)).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let app = TestApp::open(&url, data_dir, None, vec![]).await;
    old_links_are_gone(&app, &ids).await;
    app.finish().await;
}

#[tokio::test]
async fn postgres_links_made_before_the_upgrade_end_and_leave_no_id() {
    let admin_url = std::env::var("DATABASE_URL").expect("DATABASE_URL must point at PostgreSQL");
    let name = format!("credd_test_{}", Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    // `name` is made here from a UUID, never from input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
    admin.close().await;
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&name);
    let pool = sqlx::PgPool::connect(url.as_str()).await.unwrap();
    migrations_until_plain_link_ids(&store_postgres::MIGRATOR).run(&pool).await.unwrap();
    let ids = OldIds::new();
    for row in plain_link_rows(&ids, "'2026-12-01T00:00:00Z'") {
        sqlx::query(sqlx::AssertSqlSafe(row)).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let data_dir = Arc::new(tempfile::tempdir().unwrap());
    let app = TestApp::open(url.as_str(), data_dir, Some((admin_url, name)), vec![]).await;
    old_links_are_gone(&app, &ids).await;
    app.finish().await;
}
