//! `SqliteStore`: credd's embedded default backend.
//!
//! One file in WAL mode with foreign keys and `secure_delete` on (deleted data is
//! overwritten, not left in free pages). Writes go through a single-connection pool,
//! so they queue in-process instead of fighting over SQLite's one write lock; reads
//! use their own pool and run beside them. Several processes may share the file on
//! one host (`busy_timeout` covers the lock); never put it on a network file system.

mod rows;

use std::str::FromStr;
use std::time::Duration;

use domain::application::Application;
use domain::environment::Environment;
use domain::job::{ClaimedJob, Job, JobOutcome, JobStatus, NewJob};
use domain::page::{Page, PageRequest};
use domain::signing_key::SigningKey;
use domain::store::StoreResult;
use domain::time::Timestamp;
use domain::user::{User, UserFilter};
use domain::{Store, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqlitePool, migrate::Migrator};
use uuid::Uuid;

use rows::{ApplicationRow, EnvironmentRow, JobRow, SigningKeyRow, UserRow};

/// The SQLite migrations, embedded in the binary so a single-file install needs no CLI.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");

#[derive(Clone, Debug)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url`, e.g. `sqlite://./credd-data/credd.db`.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a transaction acknowledged to a client survives power loss too.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("secure_delete", "ON");
        let writer = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        let reader = SqlitePoolOptions::new().max_connections(8).connect_with(options.read_only(true)).await?;
        Ok(Self { reader, writer })
    }

    /// A store over an existing pool (tests): reads and writes share it.
    pub fn new(pool: SqlitePool) -> Self {
        Self { reader: pool.clone(), writer: pool }
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        MIGRATOR.run(&self.writer).await
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

fn backend(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        // The parent row (an environment, say) is not there.
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::backend(error),
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

impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query!("SELECT sqlite_version() AS version").fetch_one(&self.reader).await.map(drop).map_err(backend)
    }

    async fn create_environment(&self, environment: &Environment, key: &SigningKey) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(backend)?;
        let (id, kind, region) = (environment.id.hyphenated(), environment.kind.as_str(), environment.region.as_str());
        sqlx::query!(
            "INSERT INTO environments (id, name, description, type, region, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            id,
            environment.name,
            environment.description,
            kind,
            region,
            environment.created_at,
            environment.updated_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let key_id = key.id.hyphenated();
        sqlx::query!(
            "INSERT INTO signing_keys (id, environment_id, public_key, sealed_private_key, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            key_id,
            id,
            key.public_key,
            key.sealed_private_key,
            key.created_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn environment(&self, id: Uuid) -> StoreResult<Environment> {
        let id = id.hyphenated();
        sqlx::query_as!(
            EnvironmentRow,
            "SELECT id, name, description, type AS kind, region, created_at, updated_at FROM environments WHERE id = ?1",
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn environments(&self, page: PageRequest) -> StoreResult<Page<Environment>> {
        let (after, limit) = (after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            EnvironmentRow,
            "SELECT id, name, description, type AS kind, region, created_at, updated_at FROM environments
             WHERE id > ?1 ORDER BY id LIMIT ?2",
            after,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn update_environment(&self, environment: &Environment) -> StoreResult<()> {
        let (id, kind) = (environment.id.hyphenated(), environment.kind.as_str());
        let result = sqlx::query!(
            "UPDATE environments SET name = ?2, description = ?3, type = ?4, updated_at = ?5 WHERE id = ?1",
            id,
            environment.name,
            environment.description,
            kind,
            environment.updated_at,
        )
        .execute(&self.writer)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn delete_environment(&self, id: Uuid) -> StoreResult<()> {
        let id = id.hyphenated();
        let result =
            sqlx::query!("DELETE FROM environments WHERE id = ?1", id).execute(&self.writer).await.map_err(backend)?;
        one_row(result)
    }

    async fn signing_key(&self, id: Uuid) -> StoreResult<SigningKey> {
        let id = id.hyphenated();
        sqlx::query_as!(
            SigningKeyRow,
            "SELECT id, environment_id, public_key, sealed_private_key, created_at FROM signing_keys WHERE id = ?1",
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .map(Into::into)
        .ok_or(StoreError::NotFound)
    }

    async fn signing_keys(&self, environment_id: Uuid) -> StoreResult<Vec<SigningKey>> {
        let environment_id = environment_id.hyphenated();
        let rows = sqlx::query_as!(
            SigningKeyRow,
            "SELECT id, environment_id, public_key, sealed_private_key, created_at FROM signing_keys
             WHERE environment_id = ?1 ORDER BY created_at DESC, id DESC",
            environment_id
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn create_application(&self, application: &Application) -> StoreResult<()> {
        let (id, environment_id) = (application.id.hyphenated(), application.environment_id.hyphenated());
        let method = application.token_endpoint_auth_method.as_str();
        sqlx::query!(
            "INSERT INTO applications (id, environment_id, name, description, enabled, token_endpoint_auth_method,
                                       secret_hash, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            id,
            environment_id,
            application.name,
            application.description,
            application.enabled,
            method,
            application.secret_hash,
            application.created_at,
            application.updated_at,
        )
        .execute(&self.writer)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn application(&self, environment_id: Uuid, id: Uuid) -> StoreResult<Application> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        sqlx::query_as!(
            ApplicationRow,
            "SELECT id, environment_id, name, description, enabled, token_endpoint_auth_method, secret_hash,
                    created_at, updated_at
             FROM applications WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn applications(&self, environment_id: Uuid, page: PageRequest) -> StoreResult<Page<Application>> {
        let (environment_id, after, limit) = (environment_id.hyphenated(), after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            ApplicationRow,
            "SELECT id, environment_id, name, description, enabled, token_endpoint_auth_method, secret_hash,
                    created_at, updated_at
             FROM applications WHERE environment_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            environment_id,
            after,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn update_application(&self, application: &Application) -> StoreResult<()> {
        let (id, environment_id) = (application.id.hyphenated(), application.environment_id.hyphenated());
        let method = application.token_endpoint_auth_method.as_str();
        let result = sqlx::query!(
            "UPDATE applications SET name = ?3, description = ?4, enabled = ?5, token_endpoint_auth_method = ?6,
                                     secret_hash = ?7, updated_at = ?8
             WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            id,
            application.name,
            application.description,
            application.enabled,
            method,
            application.secret_hash,
            application.updated_at,
        )
        .execute(&self.writer)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn delete_application(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        let result = sqlx::query!("DELETE FROM applications WHERE environment_id = ?1 AND id = ?2", environment_id, id)
            .execute(&self.writer)
            .await
            .map_err(backend)?;
        one_row(result)
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let (id, environment_id) = (user.id.hyphenated(), user.environment_id.hyphenated());
        sqlx::query!(
            "INSERT INTO users (id, environment_id, username, email, mobile_phone, primary_phone, locale,
                                preferred_language, name_given, name_family, name_formatted, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            id,
            environment_id,
            user.username,
            user.email,
            user.mobile_phone,
            user.primary_phone,
            user.locale,
            user.preferred_language,
            user.name_given,
            user.name_family,
            user.name_formatted,
            user.created_at,
            user.updated_at,
        )
        .execute(&self.writer)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn user(&self, environment_id: Uuid, id: Uuid) -> StoreResult<User> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        sqlx::query_as!(
            UserRow,
            "SELECT id, environment_id, username, email, mobile_phone, primary_phone, locale, preferred_language,
                    name_given, name_family, name_formatted, created_at, updated_at
             FROM users WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .map(Into::into)
        .ok_or(StoreError::NotFound)
    }

    async fn users(&self, environment_id: Uuid, filter: &UserFilter, page: PageRequest) -> StoreResult<Page<User>> {
        let (environment_id, after, limit) = (environment_id.hyphenated(), after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            UserRow,
            "SELECT id, environment_id, username, email, mobile_phone, primary_phone, locale, preferred_language,
                    name_given, name_family, name_formatted, created_at, updated_at
             FROM users
             WHERE environment_id = ?1 AND id > ?2
               AND (?3 IS NULL OR username = ?3) AND (?4 IS NULL OR email = ?4)
             ORDER BY id LIMIT ?5",
            environment_id,
            after,
            filter.username,
            filter.email,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Ok(Page::from_overfetch(rows.into_iter().map(Into::into).collect(), page))
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        let (id, environment_id) = (user.id.hyphenated(), user.environment_id.hyphenated());
        let result = sqlx::query!(
            "UPDATE users SET username = ?3, email = ?4, mobile_phone = ?5, primary_phone = ?6, locale = ?7,
                              preferred_language = ?8, name_given = ?9, name_family = ?10, name_formatted = ?11,
                              updated_at = ?12
             WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            id,
            user.username,
            user.email,
            user.mobile_phone,
            user.primary_phone,
            user.locale,
            user.preferred_language,
            user.name_given,
            user.name_family,
            user.name_formatted,
            user.updated_at,
        )
        .execute(&self.writer)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn delete_user(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        let result = sqlx::query!("DELETE FROM users WHERE environment_id = ?1 AND id = ?2", environment_id, id)
            .execute(&self.writer)
            .await
            .map_err(backend)?;
        one_row(result)
    }

    async fn enqueue_job(&self, job: &NewJob) -> StoreResult<()> {
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
        .execute(&self.writer)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn claim_job(&self, now: Timestamp, lease_until: Timestamp) -> StoreResult<Option<ClaimedJob>> {
        // SQLite has one writer at a time, so the inner SELECT and the UPDATE cannot
        // interleave with another claim: no SKIP LOCKED needed.
        let row = sqlx::query!(
            r#"UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = ?2, updated_at = ?1
               WHERE id = (SELECT id FROM jobs
                           WHERE (status = 'queued' AND run_at <= ?1) OR (status = 'running' AND locked_until < ?1)
                           ORDER BY run_at LIMIT 1)
               RETURNING id AS "id!: uuid::fmt::Hyphenated", kind, payload, attempts, max_attempts"#,
            now,
            lease_until,
        )
        .fetch_optional(&self.writer)
        .await
        .map_err(backend)?;
        Ok(row.map(|r| ClaimedJob {
            id: r.id.into_uuid(),
            kind: r.kind,
            payload: r.payload,
            attempt: r.attempts,
            max_attempts: r.max_attempts,
        }))
    }

    async fn finish_job(&self, job: &ClaimedJob, outcome: &JobOutcome, now: Timestamp) -> StoreResult<()> {
        let id = job.id.hyphenated();
        let (status, run_at, error) = outcome.settlement();
        let status = status.as_str();
        sqlx::query!(
            "UPDATE jobs SET status = ?3, run_at = COALESCE(?4, run_at), last_error = COALESCE(?5, last_error),
                             locked_until = NULL, updated_at = ?6
             WHERE id = ?1 AND attempts = ?2 AND status = 'running'",
            id,
            job.attempt,
            status,
            run_at,
            error,
            now,
        )
        .execute(&self.writer)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn job(&self, id: Uuid) -> StoreResult<Job> {
        let id = id.hyphenated();
        sqlx::query_as!(
            JobRow,
            "SELECT id, kind, payload, status, attempts, max_attempts, run_at, locked_until, last_error, created_at,
                    updated_at
             FROM jobs WHERE id = ?1",
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }
}

#[cfg(test)]
mod conformance {
    domain::conformance_tests!(sqlx::SqlitePool, crate::SqliteStore::new, migrations = "../../migrations/sqlite");
}
