//! `PgStore`: the PostgreSQL backend, for several credd instances on one database.
//!
//! Deployment applies the migrations with `sqlx migrate run --source
//! migrations/postgres`; job claims use `FOR UPDATE SKIP LOCKED` so instances never
//! hand out the same job.
//!
//! The keyset lists of one user's or one wallet's rows state their cursor as a row
//! comparison on their index's whole key (`(environment_id, user_id, id) > ($1, $2, $3)`)
//! beside the equalities. Written as `id > $3`, Postgres planned the first page as a
//! walk of the primary key filtered on the user, which reads every older row of every
//! other user first (the bench's list of a user's wallets skipped 10,002 rows: 1.9 ms
//! instead of 0.15 ms); the row comparison only the user's index can serve.

mod applications;
mod credential_types;
mod environments;
mod health;
mod jobs;
mod mfa;
mod notifications;
mod populations;
mod rows;
mod user_credentials;
mod users;
mod wallets;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use domain::StoreError;
use domain::page::PageRequest;
use domain::store::{Outbox, PoolUsage, StoreResult};
use domain::time::Timestamp;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

/// The Postgres migrations, for `credd migrate` and `credd serve --migrate`.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    /// The worker's own bookkeeping (job claims and outcomes, a notification's
    /// status): committed without waiting for the WAL flush. A database crash can
    /// lose the last few of these, which only makes a job run again, and every job
    /// is idempotent. A flush wait per write was most of a job's cost: three of the
    /// four commits behind each emailed create.
    bookkeeping: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, sqlx::Error> {
        let pool = pool_options(max_connections).connect(url).await?;
        Ok(Self::new(pool))
    }

    pub fn new(pool: PgPool) -> Self {
        let options = pool.connect_options().as_ref().clone().options([("synchronous_commit", "off")]);
        // Bookkeeping statements never wait on disk, so a few connections serve them.
        let connections = (pool.options().get_max_connections() / 4).max(2);
        let bookkeeping = pool_options(connections).connect_lazy_with(options);
        Self { pool, bookkeeping }
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        MIGRATOR.run(&self.pool).await
    }

    /// The versions of the migrations the database has applied.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, sqlx::migrate::MigrateError> {
        let mut conn = self.pool.acquire().await?;
        let applied = sqlx::migrate::Migrate::list_applied_migrations(&mut *conn, &MIGRATOR.table_name).await?;
        Ok(applied.into_iter().map(|m| m.version).collect())
    }

    pub async fn close(&self) {
        self.bookkeeping.close().await;
        self.pool.close().await;
    }

    /// The main pool, and the worker's bookkeeping pool.
    pub fn pool_usage(&self) -> [PoolUsage; 2] {
        let usage = |pool: &'static str, of: &PgPool| PoolUsage {
            backend: "postgres",
            pool,
            size: of.size(),
            idle: u32::try_from(of.num_idle()).unwrap_or(u32::MAX),
            max: of.options().get_max_connections(),
        };
        [usage("main", &self.pool), usage("bookkeeping", &self.bookkeeping)]
    }
}

/// A connection that sat idle this long is pinged before use: the server may have
/// closed it meanwhile (a restart, `idle_session_timeout`).
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// For this long after a connection failed, every connection is pinged before use:
/// when the server restarts or ends its sessions, the pool's other connections are
/// most likely dead too, however recently they were used.
const PING_ALL_AFTER_FAILURE_MILLIS: u64 = 10_000;

/// When a statement last failed for want of a working connection, in
/// [`monotonic_millis`]; shared by the process's pools, which all talk to the same
/// server in practice (and a needless ping costs one round trip).
static CONNECTION_FAILED_AT: AtomicU64 = AtomicU64::new(0);

/// Milliseconds since the process first asked, never 0 (which means never).
fn monotonic_millis() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let elapsed = START.get_or_init(Instant::now).elapsed();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn connections_recently_failed() -> bool {
    let failed_at = CONNECTION_FAILED_AT.load(Ordering::Relaxed);
    failed_at != 0 && monotonic_millis().saturating_sub(failed_at) < PING_ALL_AFTER_FAILURE_MILLIS
}

/// sqlx pings every connection before handing it out as well as when it comes back,
/// three round trips per pooled statement; the return ping already checks a busy
/// connection, so only one that has been idle is pinged again.
fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new().max_connections(max_connections).test_before_acquire(false).before_acquire(
        |connection, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE || connections_recently_failed() {
                    connection.ping().await?;
                }
                Ok(true)
            })
        },
    )
}

fn backend(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        // The parent row (an environment, say) is not there.
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ if unavailable(&error) => {
            CONNECTION_FAILED_AT.store(monotonic_millis(), Ordering::Relaxed);
            StoreError::Unavailable(Box::new(error))
        }
        _ => StoreError::backend(error),
    }
}

/// Failures of the server or the connection rather than of the statement: SQLSTATE
/// classes 08 (connection), 53 (out of disk, memory or connections) and 57P
/// (shutting down, starting up), 25006 (a read-only server, e.g. a standby), and a
/// connection or pool that is gone.
fn unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") || code == "25006"
        }),
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        _ => false,
    }
}

/// Zero rows touched by an update or delete of one record means it was not there.
fn one_row(result: sqlx::postgres::PgQueryResult) -> StoreResult<()> {
    if result.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

fn after_key(page: &PageRequest) -> Uuid {
    // The nil UUID sorts before every real id.
    page.after.unwrap_or(Uuid::nil())
}

/// The outbox as one array per column, for `UNNEST`: any number of notifications
/// and jobs cost one statement.
struct OutboxColumns<'a> {
    ids: Vec<Uuid>,
    environment_ids: Vec<Uuid>,
    user_ids: Vec<Option<Uuid>>,
    templates: Vec<&'a str>,
    methods: Vec<&'a str>,
    recipients: Vec<&'a str>,
    locales: Vec<&'a str>,
    variants: Vec<Option<&'a str>>,
    sealed_messages: Vec<&'a [u8]>,
    statuses: Vec<&'a str>,
    errors: Vec<Option<&'a str>>,
    created_ats: Vec<Timestamp>,
    sent_ats: Vec<Option<Timestamp>>,
    job_ids: Vec<Uuid>,
    job_kinds: Vec<&'a str>,
    job_payloads: Vec<&'a [u8]>,
    job_max_attempts: Vec<i64>,
    job_run_ats: Vec<Timestamp>,
    jobs_created_at: Timestamp,
}

impl<'a> OutboxColumns<'a> {
    fn new(outbox: &'a Outbox) -> Self {
        let (n, j) = (&outbox.notifications, &outbox.jobs);
        Self {
            ids: n.iter().map(|n| n.id).collect(),
            environment_ids: n.iter().map(|n| n.environment_id).collect(),
            user_ids: n.iter().map(|n| n.user_id).collect(),
            templates: n.iter().map(|n| n.template.as_str()).collect(),
            methods: n.iter().map(|n| n.delivery_method.as_str()).collect(),
            recipients: n.iter().map(|n| n.recipient.as_str()).collect(),
            locales: n.iter().map(|n| n.locale.as_str()).collect(),
            variants: n.iter().map(|n| n.variant.as_deref()).collect(),
            sealed_messages: n.iter().map(|n| n.sealed_message.as_slice()).collect(),
            statuses: n.iter().map(|n| n.status.as_str()).collect(),
            errors: n.iter().map(|n| n.error.as_deref()).collect(),
            created_ats: n.iter().map(|n| n.created_at).collect(),
            sent_ats: n.iter().map(|n| n.sent_at).collect(),
            job_ids: j.iter().map(|j| j.id).collect(),
            job_kinds: j.iter().map(|j| j.kind.as_str()).collect(),
            job_payloads: j.iter().map(|j| j.payload.as_slice()).collect(),
            job_max_attempts: j.iter().map(|j| j.max_attempts).collect(),
            job_run_ats: j.iter().map(|j| j.run_at).collect(),
            jobs_created_at: domain::time::now(),
        }
    }
}

/// One statement that writes an outbox's notifications and jobs (parameters $1 to
/// $19, from [`OutboxColumns`]) and then runs `$statement`: either more
/// data-modifying CTEs (`, name AS (...)`, parameters from $20) followed by the main
/// statement, or just the main statement. A create is then a single round trip,
/// atomic without BEGIN and COMMIT; on a loaded machine those round trips, not the
/// database's work, were most of a create's cost.
macro_rules! with_outbox {
    ($columns:expr, $statement:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query!(
            "WITH outbox_notifications AS (
                 INSERT INTO notifications (id, environment_id, user_id, template, delivery_method, recipient, locale,
                                            variant, sealed_message, status, error, created_at, sent_at)
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                                      $7::text[], $8::text[], $9::bytea[], $10::text[], $11::text[],
                                      $12::timestamptz[], $13::timestamptz[])),
             outbox_jobs AS (
                 INSERT INTO jobs (id, kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at)
                 SELECT id, kind, payload, 'queued', 0, max_attempts, run_at, $19, $19
                 FROM UNNEST($14::uuid[], $15::text[], $16::bytea[], $17::int8[], $18::timestamptz[])
                     AS job (id, kind, payload, max_attempts, run_at))"
                + $statement,
            &$columns.ids as &[Uuid],
            &$columns.environment_ids as &[Uuid],
            &$columns.user_ids as &[Option<Uuid>],
            &$columns.templates as &[&str],
            &$columns.methods as &[&str],
            &$columns.recipients as &[&str],
            &$columns.locales as &[&str],
            &$columns.variants as &[Option<&str>],
            &$columns.sealed_messages as &[&[u8]],
            &$columns.statuses as &[&str],
            &$columns.errors as &[Option<&str>],
            &$columns.created_ats as &[Timestamp],
            &$columns.sent_ats as &[Option<Timestamp>],
            &$columns.job_ids as &[Uuid],
            &$columns.job_kinds as &[&str],
            &$columns.job_payloads as &[&[u8]],
            &$columns.job_max_attempts as &[i64],
            &$columns.job_run_ats as &[Timestamp],
            $columns.jobs_created_at,
            $($arg),*
        )
    };
}

pub(crate) use with_outbox;

/// Writes the outbox's notifications and jobs in `conn`'s transaction.
async fn write_outbox(conn: &mut PgConnection, outbox: &Outbox) -> StoreResult<()> {
    let columns = OutboxColumns::new(outbox);
    with_outbox!(columns, " SELECT").execute(conn).await.map(drop).map_err(backend)
}

#[cfg(test)]
mod conformance {
    domain::conformance_tests!(sqlx::PgPool, crate::PgStore::new, migrations = "../../migrations/postgres");
}
