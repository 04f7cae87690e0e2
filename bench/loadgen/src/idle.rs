//! `loadgen wait-idle`: waits until credd's worker has no due job left, so that one
//! scenario's background work (emails, credential deliveries) is not measured as part
//! of the next one. Reads credd's `jobs` table. On Postgres it then runs `ANALYZE`, as
//! autovacuum would within its naptime (a minute) on a live service: scenarios follow
//! each other faster than that, and a plan credd's connections cached while a table was
//! nearly empty (a sequential scan of `users`, say) would otherwise outlive the
//! table's growth by thousands of rows and be measured as credd's cost.

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

async fn due_jobs_sqlite(conn: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running') AND run_at <= ?1")
        .bind(chrono::Utc::now())
        .fetch_one(conn)
        .await
}

async fn due_jobs_postgres(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running') AND run_at <= now()")
        .fetch_one(conn)
        .await
}

/// Waits until no job is due; returns the seconds waited and the jobs due at first.
pub async fn wait_idle(database_url: &str, timeout: Duration) -> Result<(f64, i64), String> {
    let started = Instant::now();
    let fail = |e: sqlx::Error| format!("reading credd's jobs: {e}");
    let poll = Duration::from_millis(100);
    let mut first = None;
    if database_url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(database_url).map_err(fail)?.read_only(true);
        let mut conn = SqliteConnection::connect_with(&options).await.map_err(fail)?;
        loop {
            let due = due_jobs_sqlite(&mut conn).await.map_err(fail)?;
            first.get_or_insert(due);
            if due == 0 || started.elapsed() >= timeout {
                break;
            }
            tokio::time::sleep(poll).await;
        }
        conn.close().await.map_err(fail)?;
    } else {
        let mut conn = PgConnection::connect(database_url).await.map_err(fail)?;
        loop {
            let due = due_jobs_postgres(&mut conn).await.map_err(fail)?;
            first.get_or_insert(due);
            if due == 0 || started.elapsed() >= timeout {
                break;
            }
            tokio::time::sleep(poll).await;
        }
        sqlx::query("ANALYZE").execute(&mut conn).await.map_err(fail)?;
        conn.close().await.map_err(fail)?;
    }
    if started.elapsed() >= timeout {
        return Err(format!("credd's worker still had due jobs after {} s", timeout.as_secs()));
    }
    Ok((started.elapsed().as_secs_f64(), first.unwrap_or(0)))
}

/// Counts a wallet's delivered credentials in credd's database: a cheap way to watch
/// delivery progress without making credd build the whole mailbox again and again.
pub enum DeliveredCounter {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl DeliveredCounter {
    pub async fn open(database_url: &str) -> Result<Self, String> {
        let fail = |e: sqlx::Error| format!("opening credd's database: {e}");
        if database_url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(database_url).map_err(fail)?.read_only(true);
            Ok(Self::Sqlite(SqliteConnection::connect_with(&options).await.map_err(fail)?))
        } else {
            Ok(Self::Postgres(PgConnection::connect(database_url).await.map_err(fail)?))
        }
    }

    pub async fn delivered(&mut self, wallet_id: &str) -> Result<u64, String> {
        let count: i64 = match self {
            Self::Sqlite(conn) => {
                sqlx::query_scalar(
                    "SELECT count(*) FROM provisioned_credentials WHERE wallet_id = ?1 AND delivered_at IS NOT NULL",
                )
                .bind(wallet_id)
                .fetch_one(conn)
                .await
            }
            Self::Postgres(conn) => sqlx::query_scalar(
                "SELECT count(*) FROM provisioned_credentials WHERE wallet_id = $1::uuid AND delivered_at IS NOT NULL",
            )
            .bind(wallet_id)
            .fetch_one(conn)
            .await,
        }
        .map_err(|e| format!("counting deliveries: {e}"))?;
        Ok(count as u64)
    }
}
