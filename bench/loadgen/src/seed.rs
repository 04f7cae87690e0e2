//! `loadgen seed-wallets`: puts N digital wallets of one user straight into credd's
//! database, in large transactions (SQLite: a recursive CTE per batch; Postgres:
//! `generate_series`), never through HTTP. The rows are what credd writes for a paired
//! wallet: status `ACTIVE`, an existing wallet application, an application instance and
//! a public key (JWK), no pairing session (an active wallet's read does not need one).
//!
//! Ids are UUIDv7 made of one millisecond timestamp and a counter in the random bits
//! (RFC 9562 §6.2, method 1), so they are valid, unique and in creation order, as credd's
//! own ids are.

use std::str::FromStr;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode};

pub struct SeedArgs {
    pub database_url: String,
    pub environment_id: String,
    pub user_id: String,
    pub wallet_application_id: String,
    pub count: u64,
    pub batch: u64,
    /// How many of the user's wallet ids to pick at random afterwards.
    pub sample: u32,
}

pub struct Seeded {
    pub inserted: u64,
    pub seconds: f64,
    /// The user's wallets after seeding.
    pub total: i64,
    pub sample: Vec<String>,
}

fn now_millis() -> DateTime<Utc> {
    let t = Utc::now();
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}

/// `tttttttt-tttt-7000-8000-`: the id of wallet `i` is this and `i` in 12 hex digits.
fn id_prefix(at: DateTime<Utc>) -> String {
    let ms = at.timestamp_millis() as u64;
    format!("{:08x}-{:04x}-7000-8000-", ms >> 16, ms & 0xffff)
}

fn public_key() -> String {
    // Not a real wallet's key: nothing verifies a seeded wallet's key.
    let x = URL_SAFE_NO_PAD.encode(*b"credd bench seeded wallet key 32");
    serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "x": x }).to_string()
}

const SQLITE_BATCH: &str = "WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
    INSERT INTO digital_wallets (id, environment_id, user_id, wallet_application_id, application_instance_id, status,
                                 public_key, device_data, token_hash, notification, created_at, updated_at)
    SELECT printf('%s%012x', ?3, i), ?4, ?5, ?6, 'bench-seed', 'ACTIVE', ?7, NULL, NULL, NULL, ?8, ?8 FROM n";

const POSTGRES_BATCH: &str = "INSERT INTO digital_wallets (id, environment_id, user_id, wallet_application_id,
                                 application_instance_id, status, public_key, device_data, token_hash, notification,
                                 created_at, updated_at)
    SELECT ($3 || lpad(to_hex(i), 12, '0'))::uuid, $4::uuid, $5::uuid, $6::uuid, 'bench-seed', 'ACTIVE', $7,
           NULL, NULL, NULL, $8, $8
    FROM generate_series($1::bigint, $2::bigint) AS s(i)";

async fn seed_sqlite(args: &SeedArgs, prefix: &str, at: DateTime<Utc>) -> Result<(i64, Vec<String>), sqlx::Error> {
    // credd's pragmas (crates/store-sqlite `connect`); credd keeps running beside us.
    let options = SqliteConnectOptions::from_str(&args.database_url)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let key = public_key();
    let mut start = 0;
    while start < args.count {
        let end = (start + args.batch).min(args.count) - 1;
        let mut tx = conn.begin().await?;
        sqlx::query(SQLITE_BATCH)
            .bind(start as i64)
            .bind(end as i64)
            .bind(prefix)
            .bind(&args.environment_id)
            .bind(&args.user_id)
            .bind(&args.wallet_application_id)
            .bind(&key)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        start = end + 1;
    }
    // Fold the WAL back so the runs after this do not pay for the seeding's checkpoint.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await?;
    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM digital_wallets WHERE environment_id = ?1 AND user_id = ?2")
            .bind(&args.environment_id)
            .bind(&args.user_id)
            .fetch_one(&mut conn)
            .await?;
    let sample = sqlx::query_scalar(
        "SELECT id FROM digital_wallets WHERE environment_id = ?1 AND user_id = ?2 ORDER BY random() LIMIT ?3",
    )
    .bind(&args.environment_id)
    .bind(&args.user_id)
    .bind(args.sample)
    .fetch_all(&mut conn)
    .await?;
    conn.close().await?;
    Ok((total, sample))
}

async fn seed_postgres(args: &SeedArgs, prefix: &str, at: DateTime<Utc>) -> Result<(i64, Vec<String>), sqlx::Error> {
    let mut conn = PgConnection::connect(&args.database_url).await?;
    let key = public_key();
    let mut start = 0;
    while start < args.count {
        let end = (start + args.batch).min(args.count) - 1;
        let mut tx = conn.begin().await?;
        sqlx::query(POSTGRES_BATCH)
            .bind(start as i64)
            .bind(end as i64)
            .bind(prefix)
            .bind(&args.environment_id)
            .bind(&args.user_id)
            .bind(&args.wallet_application_id)
            .bind(&key)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        start = end + 1;
    }
    // What autovacuum would do soon after such an insert; done now so every run sees
    // the same planner statistics.
    sqlx::query("ANALYZE digital_wallets").execute(&mut conn).await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM digital_wallets WHERE environment_id = $1::uuid AND user_id = $2::uuid",
    )
    .bind(&args.environment_id)
    .bind(&args.user_id)
    .fetch_one(&mut conn)
    .await?;
    let sample = sqlx::query_scalar(
        "SELECT id::text FROM digital_wallets WHERE environment_id = $1::uuid AND user_id = $2::uuid
         ORDER BY random() LIMIT $3",
    )
    .bind(&args.environment_id)
    .bind(&args.user_id)
    .bind(i64::from(args.sample))
    .fetch_all(&mut conn)
    .await?;
    conn.close().await?;
    Ok((total, sample))
}

pub async fn seed(args: &SeedArgs) -> Result<Seeded, String> {
    if args.batch == 0 {
        return Err("--batch must be at least 1".into());
    }
    let at = now_millis();
    let prefix = id_prefix(at);
    let started = Instant::now();
    let result = if args.database_url.starts_with("sqlite:") {
        seed_sqlite(args, &prefix, at).await
    } else {
        seed_postgres(args, &prefix, at).await
    };
    let (total, sample) = result.map_err(|e| format!("seeding failed: {e}"))?;
    Ok(Seeded { inserted: args.count, seconds: started.elapsed().as_secs_f64(), total, sample })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_are_uuid_v7_in_order() {
        let prefix = id_prefix(Utc::now());
        let first = uuid::Uuid::parse_str(&format!("{prefix}{:012x}", 0)).unwrap();
        let later = uuid::Uuid::parse_str(&format!("{prefix}{:012x}", 999_999)).unwrap();
        assert_eq!(first.get_version_num(), 7);
        assert_eq!(first.get_variant(), uuid::Variant::RFC4122);
        assert!(first < later);
    }
}
