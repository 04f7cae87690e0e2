//! `SqliteStore`: credd's embedded default backend.
//!
//! One file in WAL mode with foreign keys and `secure_delete` on (deleted data is
//! overwritten, not left in free pages). Writes go through a single-connection pool,
//! so they queue in-process instead of fighting over SQLite's one write lock; reads
//! use their own pool and run beside them. Several processes may share the file on
//! one host (`busy_timeout` covers the lock); never put it on a network file system.

mod applications;
mod credential_types;
mod environments;
mod group_commit;
mod health;
mod jobs;
mod mfa;
mod notifications;
mod populations;
mod rows;
mod user_credentials;
mod users;
mod wallets;

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use domain::StoreError;
use domain::job::{JobStatus, NewJob};
use domain::page::{MAX_LIMIT, PageRequest};
use domain::store::{Outbox, PoolUsage, StoreResult};
use group_commit::GroupCommit;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};
use uuid::Uuid;

/// The SQLite migrations, embedded in the binary so a single-file install needs no CLI.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// `PRAGMA auto_vacuum`'s answer for a database that gives free pages back on request.
const AUTO_VACUUM_INCREMENTAL: i64 = 2;

#[derive(Clone, Debug)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: GroupCommit,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url`, e.g. `sqlite://./credd-data/credd.db`.
    /// The file is readable by its owner only (mode 0600), an existing one made so.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?;
        if !url.contains(":memory:") && !url.contains("mode=memory") {
            make_private(options.get_filename())?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a transaction acknowledged to a client survives power loss too.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("secure_delete", "ON")
            // Room for a whole page (and the row that tells whether another follows):
            // with sqlx's default of 50, a connection's thread blocked on every row of a
            // longer page until the handler took one, two thread wake-ups per row.
            .row_buffer_size(MAX_LIMIT as usize + 1);
        // No ping before each acquire: a connection to a local file cannot go stale, and
        // sqlx's ping is one more round trip to the connection's thread per statement.
        let pool = |connections| SqlitePoolOptions::new().max_connections(connections).test_before_acquire(false);
        // INCREMENTAL: pruned rows' pages can be given back to the file system (see
        // `prune`). It takes effect only on a database created by this connection (it is
        // set before the first table) or after a VACUUM; a read-only connection may not
        // set it at all.
        let writer = pool(1).connect_with(options.clone().auto_vacuum(SqliteAutoVacuum::Incremental)).await?;
        let reader = pool(8).connect_with(options.read_only(true)).await?;
        let store = Self { reader, writer: GroupCommit::new(writer) };
        store.warn_unless_incremental().await?;
        Ok(store)
    }

    /// A database made before credd set `auto_vacuum` keeps the pages it frees (and
    /// reuses them) but never shrinks; one VACUUM converts it.
    async fn warn_unless_incremental(&self) -> Result<(), sqlx::Error> {
        let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum").fetch_one(self.writer.pool()).await?;
        if mode != AUTO_VACUUM_INCREMENTAL {
            let file: String = sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .fetch_one(self.writer.pool())
                .await?;
            tracing::warn!(
                "the SQLite database reuses the space pruning frees but does not give it back to the file system; \
                 to convert it once, stop credd and run: sqlite3 {file} 'PRAGMA auto_vacuum = INCREMENTAL; VACUUM'"
            );
        }
        Ok(())
    }

    /// A store over an existing pool (tests): reads and writes share it. Call it
    /// inside a Tokio runtime (see [`GroupCommit::new`]).
    pub fn new(pool: SqlitePool) -> Self {
        Self { reader: pool.clone(), writer: GroupCommit::new(pool) }
    }

    /// Applies the migrations, then copies the WAL into the file and empties it: a
    /// migration that rewrites secrets out of rows leaves no page in the file that
    /// still holds them.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        MIGRATOR.run(self.writer.pool()).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(self.writer.pool()).await?;
        Ok(())
    }

    /// The versions of the migrations the database has applied.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, sqlx::migrate::MigrateError> {
        let mut conn = self.reader.acquire().await?;
        let applied = sqlx::migrate::Migrate::list_applied_migrations(&mut *conn, &MIGRATOR.table_name).await?;
        Ok(applied.into_iter().map(|m| m.version).collect())
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    /// The reader pool's connections, and the writer's one connection (busy while a
    /// write or a commit holds it).
    pub fn pool_usage(&self) -> [PoolUsage; 2] {
        let (reader, writer) = (&self.reader, self.writer.usage());
        let reader = PoolUsage {
            backend: "sqlite",
            pool: "reader",
            size: reader.size(),
            idle: u32::try_from(reader.num_idle()).unwrap_or(u32::MAX),
            max: reader.options().get_max_connections(),
        };
        [reader, PoolUsage { backend: "sqlite", pool: "writer", size: writer.open, idle: writer.idle, max: 1 }]
    }
}

/// Creates the database file with mode 0600 (SQLite gives its `-wal` and `-shm` files
/// the main file's mode), or sets an existing one and its companions to 0600.
fn make_private(path: &Path) -> std::io::Result<()> {
    let private = || std::fs::Permissions::from_mode(0o600);
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    std::fs::set_permissions(path, private())?;
    for suffix in ["-wal", "-shm"] {
        let mut companion = path.as_os_str().to_owned();
        companion.push(suffix);
        match std::fs::set_permissions(&companion, private()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

fn backend(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        // The parent row (an environment, say) is not there.
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ if unavailable(&error) => StoreError::Unavailable(Box::new(error)),
        _ => StoreError::backend(error),
    }
}

/// Failures of the file, the disk or the lock rather than of the statement: SQLite's
/// BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL and CANTOPEN (the primary result code is
/// the low byte of the extended one), and a connection that is gone.
fn unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| matches!(code & 0xff, 5 | 6 | 7 | 8 | 10 | 13 | 14)),
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}

/// Zero rows touched by an update or delete of one record means it was not there.
fn one_row(result: sqlx::sqlite::SqliteQueryResult) -> StoreResult<()> {
    if result.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

fn after_key(page: &PageRequest) -> String {
    // The smallest hyphenated UUID sorts before every real id.
    page.after.unwrap_or(Uuid::nil()).hyphenated().to_string()
}

/// Writes a job; part of whatever transaction `conn` is in.
async fn insert_job(conn: &mut SqliteConnection, job: &NewJob) -> StoreResult<()> {
    let (id, status) = (job.id.hyphenated(), JobStatus::Queued.as_str());
    let created_at = domain::time::now();
    sqlx::query!(
        "INSERT INTO jobs (id, kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?7)",
        id,
        job.kind,
        job.payload,
        status,
        job.max_attempts,
        job.run_at,
        created_at,
    )
    .execute(conn)
    .await
    .map(drop)
    .map_err(backend)
}

/// Writes the outbox's notifications and jobs in `conn`'s transaction.
async fn write_outbox(conn: &mut SqliteConnection, outbox: &Outbox) -> StoreResult<()> {
    for n in &outbox.notifications {
        let (id, environment_id, user_id) =
            (n.id.hyphenated(), n.environment_id.hyphenated(), n.user_id.map(|u| u.hyphenated()));
        let (template, method, status) = (n.template.as_str(), n.delivery_method.as_str(), n.status.as_str());
        sqlx::query!(
            "INSERT INTO notifications (id, environment_id, user_id, template, delivery_method, recipient, locale, variant,
                                        sealed_message, status, error, created_at, sent_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            id,
            environment_id,
            user_id,
            template,
            method,
            n.recipient,
            n.locale,
            n.variant,
            n.sealed_message,
            status,
            n.error,
            n.created_at,
            n.sent_at,
        )
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    for job in &outbox.jobs {
        insert_job(conn, job).await?;
    }
    Ok(())
}

#[cfg(test)]
mod conformance {
    domain::conformance_tests!(sqlx::SqlitePool, crate::SqliteStore::new, migrations = "../../migrations/sqlite");
}

#[cfg(test)]
mod space {
    use chrono::TimeDelta;
    use domain::job::{NewJob, PruneBefore, SettledJob};
    use domain::store::{HealthStore, JobStore};
    use domain::time::{Timestamp, new_id, now};
    use tokio::task::JoinSet;

    use super::*;

    /// The file behind a test pool, closed so a store can open it as credd does.
    async fn file_of(pool: SqlitePool) -> String {
        let file = sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        file
    }

    async fn auto_vacuum(store: &SqliteStore) -> i64 {
        sqlx::query_scalar("PRAGMA auto_vacuum").fetch_one(&store.reader).await.unwrap()
    }

    /// `count` dead jobs (which keep their payload) of 3,000 bytes each, finished at `at`.
    async fn dead_jobs(store: &SqliteStore, count: u32, at: Timestamp) {
        let mut writes = JoinSet::new();
        for _ in 0..count {
            let (store, job) = (
                store.clone(),
                NewJob { id: new_id(), kind: "bulky".into(), payload: vec![7; 3000], run_at: at, max_attempts: 1 },
            );
            writes.spawn(async move { store.enqueue_job(&job).await });
        }
        while let Some(write) = writes.join_next().await {
            write.unwrap().unwrap();
        }
        let claimed = store.claim_jobs(at, at + TimeDelta::minutes(1), count).await.unwrap();
        let settled: Vec<SettledJob> = claimed
            .into_iter()
            .map(|job| SettledJob { job, outcome: domain::job::JobOutcome::Dead { error: "gave up".into() } })
            .collect();
        store.finish_jobs(&settled, at).await.unwrap();
    }

    /// Prunes every dead job finished before `before`, a batch at a time.
    async fn prune_dead_jobs(store: &SqliteStore, before: Timestamp) {
        let before = PruneBefore { dead_jobs: Some(before), ..PruneBefore::default() };
        while store.prune(&before, 500).await.unwrap().filled(500) {}
    }

    #[sqlx::test(migrations = false)]
    async fn a_new_database_gives_pruned_pages_back(pool: SqlitePool) {
        let store = SqliteStore::connect(&format!("sqlite://{}", file_of(pool).await)).await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(auto_vacuum(&store).await, AUTO_VACUUM_INCREMENTAL);

        let at = now();
        dead_jobs(&store, 1000, at).await;
        let full = store.storage_usage().await.unwrap();
        assert_eq!(full.jobs, 1000);
        prune_dead_jobs(&store, at + TimeDelta::seconds(1)).await;
        let pruned = store.storage_usage().await.unwrap();
        assert_eq!(pruned.jobs, 0);
        assert_eq!(pruned.free_bytes, Some(0), "every freed page was given back");
        assert!(
            full.database_bytes - pruned.database_bytes > 3_000_000,
            "the file shrank by the payloads: {full:?} → {pruned:?}"
        );
        store.close().await;
    }

    #[sqlx::test(migrations = "../../migrations/sqlite")]
    async fn an_older_database_still_opens_and_prunes(pool: SqlitePool) {
        // Made without incremental auto-vacuum: credd leaves it so (converting it takes
        // a VACUUM of the whole file) and the space pruning frees is reused instead.
        let store = SqliteStore::connect(&format!("sqlite://{}", file_of(pool).await)).await.unwrap();
        assert_eq!(auto_vacuum(&store).await, 0);
        let at = now();
        dead_jobs(&store, 10, at).await;
        prune_dead_jobs(&store, at + TimeDelta::seconds(1)).await;
        let usage = store.storage_usage().await.unwrap();
        assert_eq!(usage.jobs, 0);
        assert!(usage.free_bytes.unwrap() > 0, "kept for reuse: {usage:?}");
        store.close().await;
    }
}
