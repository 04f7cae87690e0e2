//! `SqliteStore`: credd's embedded default backend.
//!
//! One file in WAL mode with foreign keys and `secure_delete` on (deleted data is
//! overwritten, not left in free pages). Writes go through a single-connection pool,
//! so they queue in-process instead of fighting over SQLite's one write lock; reads
//! use their own pool and run beside them. Several processes may share the file on
//! one host (`busy_timeout` covers the lock); never put it on a network file system.

mod group_commit;
mod rows;

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use domain::application::Application;
use domain::configuration::Configuration;
use domain::credential::{
    CredentialStatus, CredentialType, IssuerProfile, ProvisionStatus, ProvisionedCredential, UserCredential,
    WalletAction, WalletActionRecord,
};
use domain::environment::Environment;
use domain::job::{ClaimedJob, Job, JobQueue, JobStatus, NewJob, PruneBefore, Pruned, SettledJob};
use domain::mfa::{
    Device, DeviceFilter, DevicePolicy, DeviceSlot, DeviceStatus, DeviceType, MethodPolicy, MfaSettings, OtpAttempt,
};
use domain::notification::{Notification, NotificationFilter, NotificationStatus, TemplateContent, TemplateName};
use domain::page::{MAX_LIMIT, Page, PageRequest};
use domain::signing_key::SigningKey;
use domain::store::{Outbox, PoolUsage, StorageUsage, StoreResult};
use domain::stored::{assemble_credential_type, assemble_policy, policy_methods};
use domain::time::Timestamp;
use domain::user::{User, UserFilter};
use domain::wallet::{DigitalWallet, PairingAttempt, PairingSession, PairingStatus, WalletApplication, WalletStatus};
use domain::{Store, StoreError};
use sqlx::sqlite::{SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqliteExecutor, SqlitePool, migrate::Migrator};
use uuid::Uuid;

use group_commit::GroupCommit;
use rows::{
    ApplicationRow, CredentialFieldRow, CredentialTypeRow, DevicePolicyRow, DeviceRow, DigitalWalletRow,
    EnvironmentRow, IssuerProfileRow, JobRow, MethodPolicyRow, MfaSettingsRow, NotificationRow, PairingSessionRow,
    ProvisionedCredentialRow, SigningKeyRow, TemplateContentRow, UserCredentialRow, UserRow, WalletApplicationRow,
    WalletAttemptRow,
};

/// The SQLite migrations, embedded in the binary so a single-file install needs no CLI.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// `PRAGMA auto_vacuum`'s answer for a database that gives free pages back on request.
const AUTO_VACUUM_INCREMENTAL: i64 = 2;

/// Gives back at most 1,024 free pages (4 MiB of 4 KiB pages), once per prune: more
/// than a batch of each kind frees, so the free list drains as the prune goes, while
/// each step holds the writer only briefly.
const VACUUM_STEP: &str = "PRAGMA incremental_vacuum(1024)";

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

async fn insert_attempt(conn: &mut SqliteConnection, attempt: &PairingAttempt) -> StoreResult<()> {
    let (id, session_id, wallet_id) =
        (attempt.id.hyphenated(), attempt.session_id.hyphenated(), attempt.wallet_id.hyphenated());
    sqlx::query!(
        "INSERT INTO pairing_attempts (id, session_id, wallet_id, success, attempted_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        id,
        session_id,
        wallet_id,
        attempt.success,
        attempt.attempted_at,
    )
    .execute(conn)
    .await
    .map(drop)
    .map_err(backend)
}

/// Writes a policy and its method rows; a default policy takes the flag from the others.
async fn insert_policy(conn: &mut SqliteConnection, policy: &DevicePolicy) -> StoreResult<()> {
    let (id, environment_id) = (policy.id.hyphenated(), policy.environment_id.hyphenated());
    sqlx::query!(
        "INSERT INTO device_policies (id, environment_id, name, is_default, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        id,
        environment_id,
        policy.name,
        policy.default,
        policy.created_at,
        policy.updated_at,
    )
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    insert_policy_methods(conn, policy).await
}

async fn insert_policy_methods(conn: &mut SqliteConnection, policy: &DevicePolicy) -> StoreResult<()> {
    let (id, environment_id) = (policy.id.hyphenated(), policy.environment_id.hyphenated());
    if policy.default {
        sqlx::query!(
            "UPDATE device_policies SET is_default = FALSE WHERE environment_id = ?1 AND id <> ?2",
            environment_id,
            id
        )
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    for (kind, method) in policy_methods(policy) {
        let (kind, lifetime_unit, cool_down_unit) =
            (kind.as_str(), method.otp_lifetime.unit.as_str(), method.cool_down.unit.as_str());
        sqlx::query!(
            "INSERT INTO device_policy_methods (policy_id, method, enabled, pairing_disabled, otp_lifetime, otp_lifetime_unit,
                                                failure_count, cool_down, cool_down_unit, otp_length)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            id,
            kind,
            method.enabled,
            method.pairing_disabled,
            method.otp_lifetime.duration,
            lifetime_unit,
            method.failure_count,
            method.cool_down.duration,
            cool_down_unit,
            method.otp_length,
        )
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    Ok(())
}

/// Writes the type and its fields; part of whatever transaction `conn` is in.
async fn insert_credential_type(conn: &mut SqliteConnection, credential_type: &CredentialType) -> StoreResult<()> {
    let (id, environment_id, mode) =
        (credential_type.id.hyphenated(), credential_type.environment_id.hyphenated(), credential_type.mode.as_str());
    let m = &credential_type.metadata;
    sqlx::query!(
        "INSERT INTO credential_types (id, environment_id, title, description, card_type, issuer_name, management_mode,
                                       metadata_name, metadata_description, background_image, logo_image, card_color,
                                       text_color, bg_opacity_percent, columns, revoke_on_delete, version, deleted_at,
                                       created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
        id,
        environment_id,
        credential_type.title,
        credential_type.description,
        credential_type.card_type,
        credential_type.issuer_name,
        mode,
        m.name,
        m.description,
        m.background_image,
        m.logo_image,
        m.card_color,
        m.text_color,
        m.bg_opacity_percent,
        m.columns,
        credential_type.revoke_on_delete,
        credential_type.version,
        credential_type.deleted_at,
        credential_type.created_at,
        credential_type.updated_at,
    )
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    insert_credential_fields(conn, credential_type).await
}

async fn read_device(
    executor: impl SqliteExecutor<'_>,
    environment_id: Uuid,
    user_id: Uuid,
    id: Uuid,
) -> StoreResult<Device> {
    let (environment_id, user_id, id) = (environment_id.hyphenated(), user_id.hyphenated(), id.hyphenated());
    sqlx::query_as!(
        DeviceRow,
        "SELECT id, environment_id, user_id, type AS kind, status, phone, email, nickname, policy_id, sealed_secret,
                otp_hash, otp_expires_at, failed_attempts, locked_until, position, created_at, updated_at
         FROM devices WHERE environment_id = ?1 AND user_id = ?2 AND id = ?3",
        environment_id,
        user_id,
        id
    )
    .fetch_optional(executor)
    .await
    .map_err(backend)?
    .ok_or(StoreError::NotFound)?
    .try_into()
}

async fn insert_wallet_application(conn: &mut SqliteConnection, application: &WalletApplication) -> StoreResult<()> {
    let (id, environment_id, application_id) =
        (application.id.hyphenated(), application.environment_id.hyphenated(), application.application_id.hyphenated());
    sqlx::query!(
        "INSERT INTO wallet_applications (id, environment_id, application_id, name, app_open_url, uses_pingone_wallet_sdk,
                                          created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        id,
        environment_id,
        application_id,
        application.name,
        application.app_open_url,
        application.uses_pingone_wallet_sdk,
        application.created_at,
        application.updated_at,
    )
    .execute(conn)
    .await
    .map(drop)
    .map_err(backend)
}

async fn insert_template_content(conn: &mut SqliteConnection, content: &TemplateContent) -> StoreResult<()> {
    let (id, environment_id) = (content.id.hyphenated(), content.environment_id.hyphenated());
    let (template, method) = (content.template.as_str(), content.delivery_method.as_str());
    sqlx::query!(
        "INSERT INTO template_contents (id, environment_id, template, delivery_method, locale, variant, subject, body,
                                        created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        id,
        environment_id,
        template,
        method,
        content.locale,
        content.variant,
        content.subject,
        content.body,
        content.created_at,
        content.updated_at,
    )
    .execute(conn)
    .await
    .map(drop)
    .map_err(backend)
}

async fn upsert_mfa_settings(conn: &mut SqliteConnection, settings: &MfaSettings) -> StoreResult<()> {
    let environment_id = settings.environment_id.hyphenated();
    sqlx::query!(
        "INSERT INTO mfa_settings (environment_id, max_allowed_devices, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (environment_id) DO UPDATE SET max_allowed_devices = excluded.max_allowed_devices,
                                                    updated_at = excluded.updated_at",
        environment_id,
        settings.max_allowed_devices,
        settings.updated_at,
    )
    .execute(conn)
    .await
    .map(drop)
    .map_err(backend)
}

/// Replaces the environment's configuration with `configuration`'s, in `conn`'s
/// transaction (see `Store::replace_configuration`).
async fn write_configuration(conn: &mut SqliteConnection, configuration: &Configuration) -> StoreResult<()> {
    let environment_id = configuration.environment_id.hyphenated();
    sqlx::query!("DELETE FROM credential_types WHERE environment_id = ?1", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    sqlx::query!("DELETE FROM wallet_applications WHERE environment_id = ?1", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    sqlx::query!("DELETE FROM template_contents WHERE environment_id = ?1", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    sqlx::query!("DELETE FROM device_policies WHERE environment_id = ?1", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    sqlx::query!("DELETE FROM mfa_settings WHERE environment_id = ?1", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    let profile = &configuration.issuer_profile;
    let profile_id = profile.id.hyphenated();
    sqlx::query!(
        "INSERT INTO issuer_profiles (id, environment_id, name, site_url, public_key, sealed_private_key, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (environment_id) DO UPDATE SET name = excluded.name, site_url = excluded.site_url,
                                                    updated_at = excluded.updated_at",
        profile_id,
        environment_id,
        profile.name,
        profile.site_url,
        profile.public_key,
        profile.sealed_private_key,
        profile.created_at,
        profile.updated_at,
    )
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    for credential_type in &configuration.credential_types {
        insert_credential_type(conn, credential_type).await?;
    }
    for application in &configuration.wallet_applications {
        insert_wallet_application(conn, application).await?;
    }
    for content in &configuration.template_contents {
        insert_template_content(conn, content).await?;
    }
    for policy in &configuration.device_policies {
        insert_policy(conn, policy).await?;
    }
    if let Some(settings) = &configuration.mfa_settings {
        upsert_mfa_settings(conn, settings).await?;
    }
    Ok(())
}

/// `NotFound` unless the environment exists; in `conn`'s transaction.
async fn existing_environment(conn: &mut SqliteConnection, id: Uuid) -> StoreResult<()> {
    let id = id.hyphenated();
    sqlx::query_scalar!("SELECT 1 AS found FROM environments WHERE id = ?1", id)
        .fetch_optional(conn)
        .await
        .map_err(backend)?
        .map(drop)
        .ok_or(StoreError::NotFound)
}

async fn insert_credential_fields(conn: &mut SqliteConnection, credential_type: &CredentialType) -> StoreResult<()> {
    let type_id = credential_type.id.hyphenated();
    for (position, field) in credential_type.metadata.fields.iter().enumerate() {
        let (position, kind) = (position as i64, field.kind.as_str());
        sqlx::query!(
            "INSERT INTO credential_type_fields (type_id, position, field_id, type, title, value, attribute, required)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            type_id,
            position,
            field.id,
            kind,
            field.title,
            field.value,
            field.attribute,
            field.required,
        )
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    Ok(())
}

/// Puts the copy in its wallet; a copy already there (same credential) is reset in
/// place to wait for the new delivery.
async fn put_provisioned(conn: &mut SqliteConnection, copy: &ProvisionedCredential) -> StoreResult<()> {
    let (environment_id, user_id, credential_id) =
        (copy.environment_id.hyphenated(), copy.user_id.hyphenated(), copy.credential_id.hyphenated());
    let (copy_id, wallet_id, copy_status) = (copy.id.hyphenated(), copy.wallet_id.hyphenated(), copy.status.as_str());
    let job_id = copy.delivery_job_id.map(Uuid::hyphenated);
    sqlx::query!(
        "INSERT INTO provisioned_credentials (id, environment_id, user_id, credential_id, wallet_id, status, sealed_payload,
                                              delivered_at, delivery_error, delivery_job_id, expires_at, created_at,
                                              updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (credential_id, wallet_id) DO UPDATE SET
             status = excluded.status, sealed_payload = excluded.sealed_payload, delivered_at = excluded.delivered_at,
             delivery_error = excluded.delivery_error, delivery_job_id = excluded.delivery_job_id,
             expires_at = excluded.expires_at, updated_at = excluded.updated_at",
        copy_id,
        environment_id,
        user_id,
        credential_id,
        wallet_id,
        copy_status,
        copy.sealed_payload,
        copy.delivered_at,
        copy.delivery_error,
        job_id,
        copy.expires_at,
        copy.created_at,
        copy.updated_at,
    )
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}

/// Whose copies to revoke.
#[derive(Clone, Copy)]
enum Copies {
    OfCredential(Uuid),
    InWallet(Uuid),
}

/// Revokes the copies not revoked or deleted already: `CREDENTIAL_REVOKED`
/// recorded, the mailbox wiped.
async fn revoke_copies(conn: &mut SqliteConnection, copies: Copies, at: Timestamp) -> StoreResult<()> {
    let (credential_id, wallet_id) = match copies {
        Copies::OfCredential(id) => (Some(id.hyphenated()), None),
        Copies::InWallet(id) => (None, Some(id.hyphenated())),
    };
    let (revoked, deleted, action) =
        (ProvisionStatus::Revoked.as_str(), ProvisionStatus::Deleted.as_str(), WalletAction::Revoked.as_str());
    sqlx::query!(
        "INSERT INTO wallet_actions (provisioned_id, action, occurred_at)
         SELECT id, ?3, ?4 FROM provisioned_credentials
         WHERE (credential_id = ?1 OR wallet_id = ?2) AND status NOT IN (?5, ?6)",
        credential_id,
        wallet_id,
        action,
        at,
        revoked,
        deleted,
    )
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    sqlx::query!(
        "UPDATE provisioned_credentials SET status = ?3, sealed_payload = NULL, updated_at = ?4
         WHERE (credential_id = ?1 OR wallet_id = ?2) AND status NOT IN (?3, ?5)",
        credential_id,
        wallet_id,
        revoked,
        at,
        deleted,
    )
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}

impl Store for SqliteStore {
    async fn check_writable(&self) -> StoreResult<()> {
        sqlx::query!("SELECT sqlite_version() AS version").fetch_one(&self.reader).await.map_err(backend)?;
        self.writer
            .execute(sqlx::query!(
                "INSERT INTO readiness_probe (id, written_at) VALUES (1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                 ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at"
            ))
            .await
            .map(drop)
    }

    async fn create_environment(
        &self,
        environment: &Environment,
        key: &SigningKey,
        policy: &DevicePolicy,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
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
        insert_policy(&mut tx, policy).await?;
        tx.commit().await
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
        let result = self
            .writer
            .execute(sqlx::query!(
                "UPDATE environments SET name = ?2, description = ?3, type = ?4, updated_at = ?5 WHERE id = ?1",
                id,
                environment.name,
                environment.description,
                kind,
                environment.updated_at,
            ))
            .await?;
        one_row(result)
    }

    async fn delete_environment(&self, id: Uuid) -> StoreResult<()> {
        let id = id.hyphenated();
        let result = self.writer.execute(sqlx::query!("DELETE FROM environments WHERE id = ?1", id)).await?;
        one_row(result)
    }

    async fn reset_environment(&self, configuration: &Configuration) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        existing_environment(&mut tx, configuration.environment_id).await?;
        let environment_id = configuration.environment_id.hyphenated();
        // Users take their wallets, sessions, attempts, credentials, copies and
        // devices with them (ON DELETE CASCADE); notifications only lose their user.
        sqlx::query!("DELETE FROM notifications WHERE environment_id = ?1", environment_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query!("DELETE FROM users WHERE environment_id = ?1", environment_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        write_configuration(&mut tx, configuration).await?;
        tx.commit().await
    }

    async fn replace_configuration(&self, configuration: &Configuration) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        existing_environment(&mut tx, configuration.environment_id).await?;
        let environment_id = configuration.environment_id.hyphenated();
        let has_users =
            sqlx::query_scalar!("SELECT 1 AS found FROM users WHERE environment_id = ?1 LIMIT 1", environment_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?
                .is_some();
        if has_users {
            return Ok(false);
        }
        write_configuration(&mut tx, configuration).await?;
        tx.commit().await?;
        Ok(true)
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
        self.writer
            .execute(sqlx::query!(
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
            ))
            .await
            .map(drop)
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
        let result = self
            .writer
            .execute(sqlx::query!(
                "UPDATE applications SET name = ?3, description = ?4, enabled = ?5, token_endpoint_auth_method = ?6,
                                     updated_at = ?7
             WHERE environment_id = ?1 AND id = ?2",
                environment_id,
                id,
                application.name,
                application.description,
                application.enabled,
                method,
                application.updated_at,
            ))
            .await?;
        one_row(result)
    }

    async fn replace_application_secret(
        &self,
        environment_id: Uuid,
        id: Uuid,
        secret_hash: &[u8],
        updated_at: Timestamp,
    ) -> StoreResult<()> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        let result = self
            .writer
            .execute(sqlx::query!(
                "UPDATE applications SET secret_hash = ?3, updated_at = ?4 WHERE environment_id = ?1 AND id = ?2",
                environment_id,
                id,
                secret_hash,
                updated_at,
            ))
            .await?;
        one_row(result)
    }

    async fn delete_application(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        let result = self
            .writer
            .execute(sqlx::query!("DELETE FROM applications WHERE environment_id = ?1 AND id = ?2", environment_id, id))
            .await?;
        one_row(result)
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let (id, environment_id) = (user.id.hyphenated(), user.environment_id.hyphenated());
        self.writer
            .execute(sqlx::query!(
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
            ))
            .await
            .map(drop)
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
               AND (?3 IS NULL OR lower(username) = lower(?3)) AND (?4 IS NULL OR email = ?4)
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
        let result = self
            .writer
            .execute(sqlx::query!(
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
            ))
            .await?;
        one_row(result)
    }

    async fn delete_user(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        let result = self
            .writer
            .execute(sqlx::query!("DELETE FROM users WHERE environment_id = ?1 AND id = ?2", environment_id, id))
            .await?;
        one_row(result)
    }

    async fn create_wallet_application(&self, application: &WalletApplication) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        insert_wallet_application(&mut tx, application).await?;
        tx.commit().await
    }

    async fn wallet_application(&self, environment_id: Uuid, id: Uuid) -> StoreResult<WalletApplication> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        sqlx::query_as!(
            WalletApplicationRow,
            "SELECT id, environment_id, application_id, name, app_open_url, uses_pingone_wallet_sdk, created_at, updated_at
             FROM wallet_applications WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .map(Into::into)
        .ok_or(StoreError::NotFound)
    }

    async fn wallet_applications(
        &self,
        environment_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<WalletApplication>> {
        let (environment_id, after, limit) = (environment_id.hyphenated(), after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            WalletApplicationRow,
            "SELECT id, environment_id, application_id, name, app_open_url, uses_pingone_wallet_sdk, created_at, updated_at
             FROM wallet_applications WHERE environment_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            environment_id,
            after,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Ok(Page::from_overfetch(rows.into_iter().map(Into::into).collect(), page))
    }

    async fn update_wallet_application(&self, application: &WalletApplication) -> StoreResult<()> {
        let (id, environment_id) = (application.id.hyphenated(), application.environment_id.hyphenated());
        let result = self
            .writer
            .execute(sqlx::query!(
                "UPDATE wallet_applications SET name = ?3, app_open_url = ?4, updated_at = ?5
             WHERE environment_id = ?1 AND id = ?2",
                environment_id,
                id,
                application.name,
                application.app_open_url,
                application.updated_at,
            ))
            .await?;
        one_row(result)
    }

    async fn delete_wallet_application(&self, environment_id: Uuid, id: Uuid, now: Timestamp) -> StoreResult<()> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        let disabled = WalletStatus::Disabled.as_str();
        let mut tx = self.writer.begin().await?;
        let result =
            sqlx::query!("DELETE FROM wallet_applications WHERE environment_id = ?1 AND id = ?2", environment_id, id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        one_row(result)?;
        // Their links stop working at once.
        let (initial, expired) = (PairingStatus::Initial.as_str(), PairingStatus::Expired.as_str());
        sqlx::query!(
            "UPDATE pairing_sessions SET status = ?4, updated_at = ?5
             WHERE environment_id = ?1 AND status = ?3
               AND wallet_id IN (SELECT id FROM digital_wallets WHERE environment_id = ?1 AND wallet_application_id = ?2)",
            environment_id,
            id,
            initial,
            expired,
            now,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let disabled_wallets = sqlx::query_scalar!(
            r#"UPDATE digital_wallets SET status = ?3, updated_at = ?4 WHERE environment_id = ?1 AND wallet_application_id = ?2
               RETURNING id AS "id: uuid::fmt::Hyphenated""#,
            environment_id,
            id,
            disabled,
            now,
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        for wallet_id in disabled_wallets {
            revoke_copies(&mut tx, Copies::InWallet(wallet_id.into_uuid()), now).await?;
        }
        tx.commit().await
    }

    async fn create_wallet(
        &self,
        wallet: &DigitalWallet,
        session: &PairingSession,
        outbox: &Outbox,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let (id, environment_id, user_id, app_id) = (
            wallet.id.hyphenated(),
            wallet.environment_id.hyphenated(),
            wallet.user_id.hyphenated(),
            wallet.wallet_application_id.hyphenated(),
        );
        let status = wallet.status.as_str();
        sqlx::query!(
            "INSERT INTO digital_wallets (id, environment_id, user_id, wallet_application_id, application_instance_id, status,
                                          public_key, device_data, token_hash, notification, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            id,
            environment_id,
            user_id,
            app_id,
            wallet.application_instance_id,
            status,
            wallet.public_key,
            wallet.device_data,
            wallet.token_hash,
            wallet.notification,
            wallet.created_at,
            wallet.updated_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let (session_id, session_status) = (session.id.hyphenated(), session.status.as_str());
        sqlx::query!(
            "INSERT INTO pairing_sessions (id, environment_id, user_id, wallet_id, link_hash, challenge, status,
                                           failed_attempts, expires_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            session_id,
            environment_id,
            user_id,
            id,
            session.link_hash,
            session.challenge,
            session_status,
            session.failed_attempts,
            session.expires_at,
            session.created_at,
            session.updated_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await
    }

    async fn wallet_by_id(&self, id: Uuid) -> StoreResult<DigitalWallet> {
        let id = id.hyphenated();
        sqlx::query_as!(
            DigitalWalletRow,
            "SELECT id, environment_id, user_id, wallet_application_id, application_instance_id, status, public_key,
                    device_data, token_hash, notification, created_at, updated_at
             FROM digital_wallets WHERE id = ?1",
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn wallets(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<DigitalWallet>> {
        let (environment_id, user_id, after, limit) =
            (environment_id.hyphenated(), user_id.hyphenated(), after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            DigitalWalletRow,
            "SELECT id, environment_id, user_id, wallet_application_id, application_instance_id, status, public_key,
                    device_data, token_hash, notification, created_at, updated_at
             FROM digital_wallets WHERE environment_id = ?1 AND user_id = ?2 AND id > ?3 ORDER BY id LIMIT ?4",
            environment_id,
            user_id,
            after,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn update_wallet(&self, wallet: &DigitalWallet, outbox: &Outbox) -> StoreResult<()> {
        let (environment_id, id, status) =
            (wallet.environment_id.hyphenated(), wallet.id.hyphenated(), wallet.status.as_str());
        let mut tx = self.writer.begin().await?;
        let result = sqlx::query!(
            "UPDATE digital_wallets SET application_instance_id = ?3, status = ?4, updated_at = ?5
             WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            id,
            wallet.application_instance_id,
            status,
            wallet.updated_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        if wallet.status == WalletStatus::Disabled {
            // Its link stops working at once.
            let (initial, expired) = (PairingStatus::Initial.as_str(), PairingStatus::Expired.as_str());
            sqlx::query!(
                "UPDATE pairing_sessions SET status = ?3, updated_at = ?4 WHERE wallet_id = ?1 AND status = ?2",
                id,
                initial,
                expired,
                wallet.updated_at,
            )
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            revoke_copies(&mut tx, Copies::InWallet(wallet.id), wallet.updated_at).await?;
        }
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await
    }

    async fn delete_wallet(&self, environment_id: Uuid, user_id: Uuid, id: Uuid, at: Timestamp) -> StoreResult<()> {
        let (environment_id, user_id, wallet_id) = (environment_id.hyphenated(), user_id.hyphenated(), id.hyphenated());
        let mut tx = self.writer.begin().await?;
        let result = sqlx::query!(
            "DELETE FROM digital_wallets WHERE environment_id = ?1 AND user_id = ?2 AND id = ?3",
            environment_id,
            user_id,
            wallet_id
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        revoke_copies(&mut tx, Copies::InWallet(id), at).await?;
        tx.commit().await
    }

    async fn pairing_session_of_wallet(&self, wallet_id: Uuid) -> StoreResult<PairingSession> {
        let wallet_id = wallet_id.hyphenated();
        sqlx::query_as!(
            PairingSessionRow,
            "SELECT id, environment_id, user_id, wallet_id, link_hash, challenge, status, failed_attempts, expires_at,
                    created_at, updated_at
             FROM pairing_sessions WHERE wallet_id = ?1 ORDER BY created_at DESC, id DESC LIMIT 1",
            wallet_id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn pairing_session(&self, link_hash: &str) -> StoreResult<PairingSession> {
        sqlx::query_as!(
            PairingSessionRow,
            "SELECT id, environment_id, user_id, wallet_id, link_hash, challenge, status, failed_attempts, expires_at,
                    created_at, updated_at
             FROM pairing_sessions WHERE link_hash = ?1",
            link_hash
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn wallet_with_attempts(&self, id: Uuid) -> StoreResult<(DigitalWallet, Vec<PairingAttempt>)> {
        // One query, as on Postgres: each statement is a hand-off to a connection's
        // thread and back, which costs more than the read itself.
        let id = id.hyphenated();
        let rows = sqlx::query_as!(
            WalletAttemptRow,
            r#"SELECT w.id, w.environment_id, w.user_id, w.wallet_application_id, w.application_instance_id, w.status,
                      w.public_key, w.device_data, w.token_hash, w.notification, w.created_at, w.updated_at,
                      a.id AS "attempt_id?", a.session_id AS "attempt_session_id?", a.success AS "attempt_success?",
                      a.attempted_at AS "attempted_at?"
               FROM digital_wallets w LEFT JOIN pairing_attempts a ON a.wallet_id = w.id
               WHERE w.id = ?1
               ORDER BY a.attempted_at, a.id"#,
            id
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        domain::stored::wallet_with_attempts(rows)
    }

    async fn record_pairing_failure(&self, attempt: &PairingAttempt) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        insert_attempt(&mut tx, attempt).await?;
        let session_id = attempt.session_id.hyphenated();
        sqlx::query!(
            "UPDATE pairing_sessions SET failed_attempts = failed_attempts + 1, updated_at = ?2 WHERE id = ?1",
            session_id,
            attempt.attempted_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await
    }

    async fn complete_pairing(
        &self,
        wallet: &DigitalWallet,
        attempt: &PairingAttempt,
        outbox: &Outbox,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let (session_id, initial, completed, pending) = (
            attempt.session_id.hyphenated(),
            PairingStatus::Initial.as_str(),
            PairingStatus::Completed.as_str(),
            WalletStatus::PairingRequired.as_str(),
        );
        // The wallet's own state is the condition: a wallet disabled (or whose
        // application was deleted) after the caller read it is never paired.
        let (id, status) = (wallet.id.hyphenated(), wallet.status.as_str());
        let paired = sqlx::query!(
            "UPDATE digital_wallets SET application_instance_id = ?2, status = ?3, public_key = ?4, device_data = ?5,
                                        token_hash = ?6, updated_at = ?7
             WHERE id = ?1 AND status = ?8
               AND EXISTS (SELECT 1 FROM wallet_applications a
                           WHERE a.id = digital_wallets.wallet_application_id
                             AND a.environment_id = digital_wallets.environment_id)
               AND EXISTS (SELECT 1 FROM pairing_sessions s
                           WHERE s.id = ?9 AND s.wallet_id = digital_wallets.id AND s.status = ?10)",
            id,
            wallet.application_instance_id,
            status,
            wallet.public_key,
            wallet.device_data,
            wallet.token_hash,
            wallet.updated_at,
            pending,
            session_id,
            initial,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if paired.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        let won = sqlx::query!(
            "UPDATE pairing_sessions SET status = ?3, updated_at = ?4 WHERE id = ?1 AND status = ?2",
            session_id,
            initial,
            completed,
            attempt.attempted_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if won.rows_affected() == 0 {
            // Dropping the write undoes the wallet's pairing.
            return Err(StoreError::Conflict);
        }
        insert_attempt(&mut tx, attempt).await?;
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await
    }

    async fn expire_pairing_session(&self, session_id: Uuid, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        let (id, initial, expired) =
            (session_id.hyphenated(), PairingStatus::Initial.as_str(), PairingStatus::Expired.as_str());
        let wallet = sqlx::query!(
            r#"UPDATE pairing_sessions SET status = ?3, updated_at = ?4
               WHERE id = ?1 AND status = ?2 AND expires_at <= ?4
               RETURNING wallet_id AS "wallet_id: uuid::fmt::Hyphenated""#,
            id,
            initial,
            expired,
            now,
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(wallet) = wallet else { return Ok(false) };
        let (pending, wallet_expired) = (WalletStatus::PairingRequired.as_str(), WalletStatus::Expired.as_str());
        sqlx::query!(
            "UPDATE digital_wallets SET status = ?3, updated_at = ?4 WHERE id = ?1 AND status = ?2",
            wallet.wallet_id,
            pending,
            wallet_expired,
            now,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await?;
        Ok(true)
    }

    async fn create_template_content(&self, content: &TemplateContent) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        insert_template_content(&mut tx, content).await?;
        tx.commit().await
    }

    async fn template_content(
        &self,
        environment_id: Uuid,
        template: TemplateName,
        id: Uuid,
    ) -> StoreResult<TemplateContent> {
        let (environment_id, template, id) = (environment_id.hyphenated(), template.as_str(), id.hyphenated());
        sqlx::query_as!(
            TemplateContentRow,
            "SELECT id, environment_id, template, delivery_method, locale, variant, subject, body, created_at, updated_at
             FROM template_contents WHERE environment_id = ?1 AND template = ?2 AND id = ?3",
            environment_id,
            template,
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn template_contents(
        &self,
        environment_id: Uuid,
        template: TemplateName,
    ) -> StoreResult<Vec<TemplateContent>> {
        let (environment_id, template) = (environment_id.hyphenated(), template.as_str());
        let rows = sqlx::query_as!(
            TemplateContentRow,
            "SELECT id, environment_id, template, delivery_method, locale, variant, subject, body, created_at, updated_at
             FROM template_contents WHERE environment_id = ?1 AND template = ?2 ORDER BY id",
            environment_id,
            template
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn update_template_content(&self, content: &TemplateContent) -> StoreResult<()> {
        let (id, environment_id, template) =
            (content.id.hyphenated(), content.environment_id.hyphenated(), content.template.as_str());
        let method = content.delivery_method.as_str();
        let result = self
            .writer
            .execute(sqlx::query!(
                "UPDATE template_contents SET delivery_method = ?4, locale = ?5, variant = ?6, subject = ?7, body = ?8,
                                          updated_at = ?9
             WHERE environment_id = ?1 AND template = ?2 AND id = ?3",
                environment_id,
                template,
                id,
                method,
                content.locale,
                content.variant,
                content.subject,
                content.body,
                content.updated_at,
            ))
            .await?;
        one_row(result)
    }

    async fn delete_template_content(&self, environment_id: Uuid, template: TemplateName, id: Uuid) -> StoreResult<()> {
        let (environment_id, template, id) = (environment_id.hyphenated(), template.as_str(), id.hyphenated());
        let result = self
            .writer
            .execute(sqlx::query!(
                "DELETE FROM template_contents WHERE environment_id = ?1 AND template = ?2 AND id = ?3",
                environment_id,
                template,
                id
            ))
            .await?;
        one_row(result)
    }

    async fn notification(&self, id: Uuid) -> StoreResult<Notification> {
        let id = id.hyphenated();
        sqlx::query_as!(
            NotificationRow,
            "SELECT id, environment_id, user_id, template, delivery_method, recipient, locale, variant, sealed_message,
                    status, error, created_at, sent_at
             FROM notifications WHERE id = ?1",
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn notifications(
        &self,
        environment_id: Uuid,
        filter: &NotificationFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Notification>> {
        let environment_id = environment_id.hyphenated();
        let before = page.after.map(|id| id.hyphenated());
        let user_id = filter.user_id.map(|id| id.hyphenated());
        let template = filter.template.map(TemplateName::as_str);
        let limit = page.fetch_limit();
        let rows = sqlx::query_as!(
            NotificationRow,
            "SELECT id, environment_id, user_id, template, delivery_method, recipient, locale, variant, sealed_message,
                    status, error, created_at, sent_at
             FROM notifications
             WHERE environment_id = ?1 AND (?2 IS NULL OR id < ?2)
               AND (?3 IS NULL OR user_id = ?3) AND (?4 IS NULL OR template = ?4) AND (?5 IS NULL OR recipient = ?5)
             ORDER BY id DESC LIMIT ?6",
            environment_id,
            before,
            user_id,
            template,
            filter.recipient,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn settle_notification(
        &self,
        id: Uuid,
        status: NotificationStatus,
        error: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<()> {
        let (id, status) = (id.hyphenated(), status.as_str());
        let sent_at = (status == NotificationStatus::Sent.as_str()).then_some(at);
        let result = self
            .writer
            .execute(sqlx::query!(
                "UPDATE notifications SET status = ?2, error = ?3, sent_at = ?4 WHERE id = ?1",
                id,
                status,
                error,
                sent_at,
            ))
            .await?;
        one_row(result)
    }

    async fn create_device_policy(&self, policy: &DevicePolicy) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        insert_policy(&mut tx, policy).await?;
        tx.commit().await
    }

    async fn device_policy(&self, environment_id: Uuid, id: Uuid) -> StoreResult<DevicePolicy> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        let record = sqlx::query_as!(
            DevicePolicyRow,
            "SELECT id, environment_id, name, is_default, created_at, updated_at FROM device_policies
             WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        let methods = sqlx::query_as!(
            MethodPolicyRow,
            "SELECT policy_id, method, enabled, pairing_disabled, otp_lifetime, otp_lifetime_unit, failure_count, cool_down,
                    cool_down_unit, otp_length
             FROM device_policy_methods WHERE policy_id = ?1",
            id
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        assemble_policy(record, methods)
    }

    async fn device_policies(&self, environment_id: Uuid) -> StoreResult<Vec<DevicePolicy>> {
        let environment_id = environment_id.hyphenated();
        let records = sqlx::query_as!(
            DevicePolicyRow,
            "SELECT id, environment_id, name, is_default, created_at, updated_at FROM device_policies
             WHERE environment_id = ?1 ORDER BY id",
            environment_id
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        let mut methods = sqlx::query_as!(
            MethodPolicyRow,
            "SELECT m.policy_id, m.method, m.enabled, m.pairing_disabled, m.otp_lifetime, m.otp_lifetime_unit,
                    m.failure_count, m.cool_down, m.cool_down_unit, m.otp_length
             FROM device_policy_methods m JOIN device_policies p ON p.id = m.policy_id
             WHERE p.environment_id = ?1",
            environment_id
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        records
            .into_iter()
            .map(|record| {
                let (own, rest): (Vec<_>, Vec<_>) = methods.drain(..).partition(|m| m.policy_id == record.id);
                methods = rest;
                assemble_policy(record, own)
            })
            .collect()
    }

    async fn update_device_policy(&self, policy: &DevicePolicy) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let (environment_id, id) = (policy.environment_id.hyphenated(), policy.id.hyphenated());
        let result = sqlx::query!(
            "UPDATE device_policies SET name = ?3, is_default = ?4, updated_at = ?5 WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            id,
            policy.name,
            policy.default,
            policy.updated_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        sqlx::query!("DELETE FROM device_policy_methods WHERE policy_id = ?1", id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        insert_policy_methods(&mut tx, policy).await?;
        tx.commit().await
    }

    async fn delete_device_policy(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        let mut tx = self.writer.begin().await?;
        let in_use = sqlx::query!(r#"SELECT COUNT(*) AS "count!: i64" FROM devices WHERE policy_id = ?1"#, id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if in_use.count > 0 {
            return Err(StoreError::Conflict);
        }
        let result =
            sqlx::query!("DELETE FROM device_policies WHERE environment_id = ?1 AND id = ?2", environment_id, id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        one_row(result)?;
        tx.commit().await
    }

    async fn mfa_settings(&self, environment_id: Uuid) -> StoreResult<Option<MfaSettings>> {
        let environment_id = environment_id.hyphenated();
        let row = sqlx::query_as!(
            MfaSettingsRow,
            "SELECT environment_id, max_allowed_devices, updated_at FROM mfa_settings WHERE environment_id = ?1",
            environment_id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?;
        Ok(row.map(Into::into))
    }

    async fn put_mfa_settings(&self, settings: &MfaSettings) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        upsert_mfa_settings(&mut tx, settings).await?;
        tx.commit().await
    }

    async fn create_device(&self, device: &Device, max_devices: i64, outbox: &Outbox) -> StoreResult<DeviceSlot> {
        let mut tx = self.writer.begin().await?;
        let (id, environment_id, user_id, policy_id) = (
            device.id.hyphenated(),
            device.environment_id.hyphenated(),
            device.user_id.hyphenated(),
            device.policy_id.hyphenated(),
        );
        let held = sqlx::query!(
            r#"SELECT COUNT(*) AS "count!: i64" FROM devices WHERE environment_id = ?1 AND user_id = ?2"#,
            environment_id,
            user_id
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        if held.count >= max_devices {
            return Ok(DeviceSlot::LimitReached);
        }
        let (kind, status) = (device.kind.as_str(), device.status.as_str());
        let created = sqlx::query!(
            "INSERT INTO devices (id, environment_id, user_id, type, status, phone, email, nickname, policy_id, sealed_secret,
                                  otp_hash, otp_expires_at, failed_attempts, locked_until, position, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
                     (SELECT COALESCE(MAX(position), 0) + 1 FROM devices WHERE environment_id = ?2 AND user_id = ?3), ?15, ?16)
             RETURNING position",
            id,
            environment_id,
            user_id,
            kind,
            status,
            device.phone,
            device.email,
            device.nickname,
            policy_id,
            device.sealed_secret,
            device.otp_hash,
            device.otp_expires_at,
            device.failed_attempts,
            device.locked_until,
            device.created_at,
            device.updated_at,
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await?;
        Ok(DeviceSlot::Created { position: created.position })
    }

    async fn device(&self, environment_id: Uuid, user_id: Uuid, id: Uuid) -> StoreResult<Device> {
        read_device(&self.reader, environment_id, user_id, id).await
    }

    async fn devices(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        filter: &DeviceFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Device>> {
        let (environment_id, user_id) = (environment_id.hyphenated(), user_id.hyphenated());
        let (status, kind) = (filter.status.map(DeviceStatus::as_str), filter.kind.map(DeviceType::as_str));
        let after = page.after.map(|id| id.hyphenated());
        let limit = page.fetch_limit();
        let rows = sqlx::query_as!(
            DeviceRow,
            "SELECT id, environment_id, user_id, type AS kind, status, phone, email, nickname, policy_id, sealed_secret,
                    otp_hash, otp_expires_at, failed_attempts, locked_until, position, created_at, updated_at
             FROM devices
             WHERE environment_id = ?1 AND user_id = ?2 AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR type = ?4)
               AND (?5 IS NULL OR (position, id) > (SELECT position, id FROM devices WHERE id = ?5))
             ORDER BY position, id LIMIT ?6",
            environment_id,
            user_id,
            status,
            kind,
            after,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn set_device_nickname(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        nickname: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<Device> {
        let mut tx = self.writer.begin().await?;
        let (environment_key, user_key, key) = (environment_id.hyphenated(), user_id.hyphenated(), id.hyphenated());
        let result = sqlx::query!(
            "UPDATE devices SET nickname = ?4, updated_at = ?5 WHERE environment_id = ?1 AND user_id = ?2 AND id = ?3",
            environment_key,
            user_key,
            key,
            nickname,
            at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        let device = read_device(&mut *tx, environment_id, user_id, id).await?;
        tx.commit().await?;
        Ok(device)
    }

    async fn issue_device_code(&self, device: &Device, outbox: &Outbox) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        let (environment_id, user_id, id) =
            (device.environment_id.hyphenated(), device.user_id.hyphenated(), device.id.hyphenated());
        let waiting = DeviceStatus::ActivationRequired.as_str();
        let result = sqlx::query!(
            "UPDATE devices SET otp_hash = ?4, otp_expires_at = ?5, failed_attempts = 0, updated_at = ?6
             WHERE environment_id = ?1 AND user_id = ?2 AND id = ?3 AND status = ?7
               AND (locked_until IS NULL OR locked_until <= ?6)",
            environment_id,
            user_id,
            id,
            device.otp_hash,
            device.otp_expires_at,
            device.updated_at,
            waiting,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if result.rows_affected() == 0 {
            return Ok(false);
        }
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn claim_otp_attempt(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        rules: &MethodPolicy,
        at: Timestamp,
    ) -> StoreResult<Option<OtpAttempt>> {
        let (environment_id, user_id, id) = (environment_id.hyphenated(), user_id.hyphenated(), id.hyphenated());
        let (limit, locked_until) = (rules.failure_count, at + rules.cool_down.delta());
        let waiting = DeviceStatus::ActivationRequired.as_str();
        let mut tx = self.writer.begin().await?;
        // The count and the lock change here only: this guess is counted before it is
        // judged, and writes run one at a time.
        let row = sqlx::query!(
            r#"UPDATE devices SET
                   failed_attempts = CASE WHEN failed_attempts >= ?4 THEN 1 ELSE failed_attempts + 1 END,
                   locked_until = CASE WHEN (CASE WHEN failed_attempts >= ?4 THEN 1 ELSE failed_attempts + 1 END) >= ?4
                                       THEN ?5 ELSE locked_until END,
                   updated_at = ?6
               WHERE environment_id = ?1 AND user_id = ?2 AND id = ?3 AND status = ?7
                 AND (locked_until IS NULL OR locked_until <= ?6)
                 AND ((otp_hash IS NOT NULL AND otp_expires_at > ?6 AND failed_attempts < ?4) OR sealed_secret IS NOT NULL)
               RETURNING otp_hash AS "otp_hash?: Vec<u8>", sealed_secret AS "sealed_secret?: Vec<u8>",
                         failed_attempts AS "failed_attempts!: i64""#,
            environment_id,
            user_id,
            id,
            limit,
            locked_until,
            at,
            waiting,
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await?;
        Ok(row.map(|r| OtpAttempt {
            otp_hash: r.otp_hash,
            sealed_secret: r.sealed_secret,
            attempts: r.failed_attempts,
        }))
    }

    async fn activate_device(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        otp_hash: Option<&[u8]>,
        at: Timestamp,
    ) -> StoreResult<Option<Device>> {
        let mut tx = self.writer.begin().await?;
        let (environment_key, user_key, key) = (environment_id.hyphenated(), user_id.hyphenated(), id.hyphenated());
        let (active, waiting) = (DeviceStatus::Active.as_str(), DeviceStatus::ActivationRequired.as_str());
        let result = sqlx::query!(
            "UPDATE devices SET status = ?4, otp_hash = NULL, otp_expires_at = NULL, failed_attempts = 0,
                                locked_until = NULL, updated_at = ?5
             WHERE environment_id = ?1 AND user_id = ?2 AND id = ?3 AND status = ?6 AND otp_hash IS ?7",
            environment_key,
            user_key,
            key,
            active,
            at,
            waiting,
            otp_hash,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if result.rows_affected() == 0 {
            return Ok(None);
        }
        let device = read_device(&mut *tx, environment_id, user_id, id).await?;
        tx.commit().await?;
        Ok(Some(device))
    }

    async fn delete_device(&self, environment_id: Uuid, user_id: Uuid, id: Uuid) -> StoreResult<()> {
        let (environment_id, user_id, id) = (environment_id.hyphenated(), user_id.hyphenated(), id.hyphenated());
        let result = self
            .writer
            .execute(sqlx::query!(
                "DELETE FROM devices WHERE environment_id = ?1 AND user_id = ?2 AND id = ?3",
                environment_id,
                user_id,
                id
            ))
            .await?;
        one_row(result)
    }

    async fn reorder_devices(&self, environment_id: Uuid, user_id: Uuid, order: &[Uuid]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let (environment_id, user_id) = (environment_id.hyphenated(), user_id.hyphenated());
        let current = sqlx::query!(
            r#"SELECT id AS "id: uuid::fmt::Hyphenated" FROM devices WHERE environment_id = ?1 AND user_id = ?2 ORDER BY position, id"#,
            environment_id,
            user_id
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let current: Vec<Uuid> = current.into_iter().map(|r| r.id.into_uuid()).collect();
        for (position, id) in domain::mfa::reordered(&current, order)?.into_iter().enumerate() {
            let (id, position) = (id.hyphenated(), position as i64 + 1);
            sqlx::query!("UPDATE devices SET position = ?2 WHERE id = ?1", id, position)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await
    }

    async fn ensure_issuer_profile(&self, profile: &IssuerProfile) -> StoreResult<IssuerProfile> {
        let (id, environment_id) = (profile.id.hyphenated(), profile.environment_id.hyphenated());
        let mut tx = self.writer.begin().await?;
        sqlx::query!(
            "INSERT INTO issuer_profiles (id, environment_id, name, site_url, public_key, sealed_private_key, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (environment_id) DO NOTHING",
            id,
            environment_id,
            profile.name,
            profile.site_url,
            profile.public_key,
            profile.sealed_private_key,
            profile.created_at,
            profile.updated_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        // The profile this write kept: this one, or the one another made first.
        let kept = sqlx::query_as!(
            IssuerProfileRow,
            "SELECT id, environment_id, name, site_url, public_key, sealed_private_key, created_at, updated_at
             FROM issuer_profiles WHERE environment_id = ?1",
            environment_id
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await?;
        Ok(kept.into())
    }

    async fn issuer_profile(&self, environment_id: Uuid) -> StoreResult<IssuerProfile> {
        let environment_id = environment_id.hyphenated();
        sqlx::query_as!(
            IssuerProfileRow,
            "SELECT id, environment_id, name, site_url, public_key, sealed_private_key, created_at, updated_at
             FROM issuer_profiles WHERE environment_id = ?1",
            environment_id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .map(Into::into)
        .ok_or(StoreError::NotFound)
    }

    async fn update_issuer_profile(&self, profile: &IssuerProfile) -> StoreResult<()> {
        let environment_id = profile.environment_id.hyphenated();
        let result = self
            .writer
            .execute(sqlx::query!(
                "UPDATE issuer_profiles SET name = ?2, site_url = ?3, updated_at = ?4 WHERE environment_id = ?1",
                environment_id,
                profile.name,
                profile.site_url,
                profile.updated_at,
            ))
            .await?;
        one_row(result)
    }

    async fn create_credential_type(&self, credential_type: &CredentialType) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        insert_credential_type(&mut tx, credential_type).await?;
        tx.commit().await
    }

    async fn credential_type(&self, environment_id: Uuid, id: Uuid) -> StoreResult<CredentialType> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        let row = sqlx::query_as!(
            CredentialTypeRow,
            "SELECT id, environment_id, title, description, card_type, issuer_name, management_mode, metadata_name,
                    metadata_description, background_image, logo_image, card_color, text_color, bg_opacity_percent, columns,
                    revoke_on_delete, version, deleted_at, created_at, updated_at
             FROM credential_types WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        let fields = sqlx::query_as!(
            CredentialFieldRow,
            "SELECT type_id, position, field_id, type AS kind, title, value, attribute, required
             FROM credential_type_fields WHERE type_id = ?1 ORDER BY position",
            id
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        assemble_credential_type(row, fields)
    }

    async fn credential_types(&self, environment_id: Uuid, page: PageRequest) -> StoreResult<Page<CredentialType>> {
        let (environment_id, after, limit) = (environment_id.hyphenated(), after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            CredentialTypeRow,
            "SELECT id, environment_id, title, description, card_type, issuer_name, management_mode, metadata_name,
                    metadata_description, background_image, logo_image, card_color, text_color, bg_opacity_percent, columns,
                    revoke_on_delete, version, deleted_at, created_at, updated_at
             FROM credential_types WHERE environment_id = ?1 AND deleted_at IS NULL AND id > ?2 ORDER BY id LIMIT ?3",
            environment_id,
            after,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        let mut fields = sqlx::query_as!(
            CredentialFieldRow,
            "SELECT f.type_id, f.position, f.field_id, f.type AS kind, f.title, f.value, f.attribute, f.required
             FROM credential_type_fields f JOIN credential_types t ON t.id = f.type_id
             WHERE t.environment_id = ?1 AND t.deleted_at IS NULL AND t.id > ?2
             ORDER BY f.type_id, f.position",
            environment_id,
            after
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(|row| {
            let (own, rest): (Vec<_>, Vec<_>) = fields.drain(..).partition(|f| f.type_id == row.id);
            fields = rest;
            assemble_credential_type(row, own)
        })
    }

    async fn update_credential_type(&self, credential_type: &CredentialType) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let (id, environment_id, mode) = (
            credential_type.id.hyphenated(),
            credential_type.environment_id.hyphenated(),
            credential_type.mode.as_str(),
        );
        let m = &credential_type.metadata;
        let result = sqlx::query!(
            "UPDATE credential_types SET description = ?3, card_type = ?4, issuer_name = ?5, management_mode = ?6,
                    metadata_name = ?7, metadata_description = ?8, background_image = ?9, logo_image = ?10, card_color = ?11,
                    text_color = ?12, bg_opacity_percent = ?13, columns = ?14, revoke_on_delete = ?15, version = ?16,
                    deleted_at = ?17, updated_at = ?18
             WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            id,
            credential_type.description,
            credential_type.card_type,
            credential_type.issuer_name,
            mode,
            m.name,
            m.description,
            m.background_image,
            m.logo_image,
            m.card_color,
            m.text_color,
            m.bg_opacity_percent,
            m.columns,
            credential_type.revoke_on_delete,
            credential_type.version,
            credential_type.deleted_at,
            credential_type.updated_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        sqlx::query!("DELETE FROM credential_type_fields WHERE type_id = ?1", id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        insert_credential_fields(&mut tx, credential_type).await?;
        tx.commit().await
    }

    async fn delete_credential_type(
        &self,
        environment_id: Uuid,
        id: Uuid,
        at: Timestamp,
        revoke_issued: bool,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let (environment_id, type_id) = (environment_id.hyphenated(), id.hyphenated());
        let result = sqlx::query!(
            "UPDATE credential_types SET deleted_at = ?3, updated_at = ?3
             WHERE environment_id = ?1 AND id = ?2 AND deleted_at IS NULL",
            environment_id,
            type_id,
            at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        let (pending, revoked) = (CredentialStatus::Pending.as_str(), CredentialStatus::Revoked.as_str());
        sqlx::query!(
            "DELETE FROM user_credentials WHERE environment_id = ?1 AND credential_type_id = ?2 AND status = ?3",
            environment_id,
            type_id,
            pending,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if revoke_issued {
            let revoked_ids = sqlx::query_scalar!(
                r#"UPDATE user_credentials SET status = ?3, expires_at = MIN(COALESCE(expires_at, ?4), ?4), updated_at = ?4
                   WHERE environment_id = ?1 AND credential_type_id = ?2 AND status <> ?3
                   RETURNING id AS "id: uuid::fmt::Hyphenated""#,
                environment_id,
                type_id,
                revoked,
                at,
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
            for credential_id in revoked_ids {
                revoke_copies(&mut tx, Copies::OfCredential(credential_id.into_uuid()), at).await?;
            }
        }
        tx.commit().await
    }

    async fn create_user_credential(
        &self,
        credential: &UserCredential,
        provisioned: &[ProvisionedCredential],
        outbox: &Outbox,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let (id, environment_id, user_id, type_id) = (
            credential.id.hyphenated(),
            credential.environment_id.hyphenated(),
            credential.user_id.hyphenated(),
            credential.credential_type_id.hyphenated(),
        );
        let status = credential.status.as_str();
        sqlx::query!(
            "INSERT INTO user_credentials (id, environment_id, user_id, credential_type_id, type_version, title, status,
                                           expires_at, notification, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            id,
            environment_id,
            user_id,
            type_id,
            credential.type_version,
            credential.title,
            status,
            credential.expires_at,
            credential.notification,
            credential.created_at,
            credential.updated_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        for copy in provisioned {
            put_provisioned(&mut tx, copy).await?;
        }
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await
    }

    async fn update_user_credential(
        &self,
        credential: &UserCredential,
        provisioned: &[ProvisionedCredential],
        outbox: &Outbox,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let (id, status) = (credential.id.hyphenated(), credential.status.as_str());
        let result = sqlx::query!(
            "UPDATE user_credentials SET type_version = ?2, title = ?3, status = ?4, expires_at = ?5, notification = ?6,
                                         updated_at = ?7
             WHERE id = ?1",
            id,
            credential.type_version,
            credential.title,
            status,
            credential.expires_at,
            credential.notification,
            credential.updated_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        for copy in provisioned {
            put_provisioned(&mut tx, copy).await?;
        }
        if credential.status == CredentialStatus::Revoked {
            revoke_copies(&mut tx, Copies::OfCredential(credential.id), credential.updated_at).await?;
        }
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await
    }

    async fn expire_user_credential(&self, credential_id: Uuid, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        let (id, revoked) = (credential_id.hyphenated(), CredentialStatus::Revoked.as_str());
        let result = sqlx::query!(
            "UPDATE user_credentials SET status = ?2, updated_at = ?3 WHERE id = ?1 AND status <> ?2 AND expires_at <= ?3",
            id,
            revoked,
            now,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if result.rows_affected() == 0 {
            return Ok(false);
        }
        revoke_copies(&mut tx, Copies::OfCredential(credential_id), now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn add_provisioned_credential(
        &self,
        provisioned: &ProvisionedCredential,
        outbox: &Outbox,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        put_provisioned(&mut tx, provisioned).await?;
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await
    }

    async fn user_credential(&self, environment_id: Uuid, user_id: Uuid, id: Uuid) -> StoreResult<UserCredential> {
        let (environment_id, user_id, id) = (environment_id.hyphenated(), user_id.hyphenated(), id.hyphenated());
        sqlx::query_as!(
            UserCredentialRow,
            "SELECT id, environment_id, user_id, credential_type_id, type_version, title, status, expires_at, notification,
                    created_at, updated_at
             FROM user_credentials WHERE environment_id = ?1 AND user_id = ?2 AND id = ?3",
            environment_id,
            user_id,
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn user_credentials(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<UserCredential>> {
        let (environment_id, user_id, after, limit) =
            (environment_id.hyphenated(), user_id.hyphenated(), after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            UserCredentialRow,
            "SELECT id, environment_id, user_id, credential_type_id, type_version, title, status, expires_at, notification,
                    created_at, updated_at
             FROM user_credentials WHERE environment_id = ?1 AND user_id = ?2 AND id > ?3 ORDER BY id LIMIT ?4",
            environment_id,
            user_id,
            after,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn provisioned_credential(&self, id: Uuid) -> StoreResult<ProvisionedCredential> {
        let id = id.hyphenated();
        sqlx::query_as!(
            ProvisionedCredentialRow,
            "SELECT id, environment_id, user_id, credential_id, wallet_id, status, sealed_payload, delivered_at, delivery_error,
                    delivery_job_id, expires_at, created_at, updated_at
             FROM provisioned_credentials WHERE id = ?1",
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn provisioned_of_credential(&self, credential_id: Uuid) -> StoreResult<Vec<ProvisionedCredential>> {
        let credential_id = credential_id.hyphenated();
        let rows = sqlx::query_as!(
            ProvisionedCredentialRow,
            "SELECT id, environment_id, user_id, credential_id, wallet_id, status, sealed_payload, delivered_at, delivery_error,
                    delivery_job_id, expires_at, created_at, updated_at
             FROM provisioned_credentials WHERE credential_id = ?1 ORDER BY id",
            credential_id
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn provisioned_in_wallet(&self, wallet_id: Uuid) -> StoreResult<Vec<ProvisionedCredential>> {
        let wallet_id = wallet_id.hyphenated();
        let rows = sqlx::query_as!(
            ProvisionedCredentialRow,
            "SELECT id, environment_id, user_id, credential_id, wallet_id, status, sealed_payload, delivered_at, delivery_error,
                    delivery_job_id, expires_at, created_at, updated_at
             FROM provisioned_credentials WHERE wallet_id = ?1 ORDER BY id",
            wallet_id
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn mailbox(&self, wallet_id: Uuid, page: PageRequest) -> StoreResult<Page<ProvisionedCredential>> {
        let (wallet_id, after, limit) = (wallet_id.hyphenated(), after_key(&page), page.fetch_limit());
        // `sealed_payload IS NOT NULL` word for word: the partial index `mailboxes`.
        let rows = sqlx::query_as!(
            ProvisionedCredentialRow,
            "SELECT id, environment_id, user_id, credential_id, wallet_id, status, sealed_payload, delivered_at, delivery_error,
                    delivery_job_id, expires_at, created_at, updated_at
             FROM provisioned_credentials
             WHERE wallet_id = ?1 AND sealed_payload IS NOT NULL AND status = 'CREATED' AND id > ?2
             ORDER BY id LIMIT ?3",
            wallet_id,
            after,
            limit,
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn wallet_actions(&self, provisioned_id: Uuid) -> StoreResult<Vec<WalletActionRecord>> {
        let provisioned_id = provisioned_id.hyphenated();
        let rows = sqlx::query!(
            "SELECT action, occurred_at FROM wallet_actions WHERE provisioned_id = ?1 ORDER BY occurred_at, rowid",
            provisioned_id
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        rows.into_iter()
            .map(|r| {
                Ok(WalletActionRecord {
                    action: StoreError::parse_stored("wallet action", &r.action, WalletAction::parse)?,
                    occurred_at: r.occurred_at,
                })
            })
            .collect()
    }

    async fn deliver_credential(
        &self,
        provisioned_id: Uuid,
        job_id: Uuid,
        sealed_payload: &[u8],
        at: Timestamp,
        outbox: &Outbox,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        let (id, job_id, created) =
            (provisioned_id.hyphenated(), job_id.hyphenated(), ProvisionStatus::Created.as_str());
        let delivered = sqlx::query!(
            r#"UPDATE provisioned_credentials SET sealed_payload = ?2, delivered_at = ?3, delivery_error = NULL, updated_at = ?3
               WHERE id = ?1 AND status = ?4 AND delivered_at IS NULL AND (delivery_job_id = ?5 OR delivery_job_id IS NULL)
               RETURNING credential_id AS "credential_id: uuid::fmt::Hyphenated""#,
            id,
            sealed_payload,
            at,
            created,
            job_id,
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(delivered) = delivered else { return Ok(false) };
        let (pending, issued) = (CredentialStatus::Pending.as_str(), CredentialStatus::Issued.as_str());
        sqlx::query!(
            "UPDATE user_credentials SET status = ?3, updated_at = ?4 WHERE id = ?1 AND status = ?2",
            delivered.credential_id,
            pending,
            issued,
            at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn record_delivery_error(
        &self,
        provisioned_id: Uuid,
        job_id: Uuid,
        error: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        let (id, job_id) = (provisioned_id.hyphenated(), job_id.hyphenated());
        self.writer
            .execute(sqlx::query!(
                "UPDATE provisioned_credentials SET delivery_error = ?3, updated_at = ?4
             WHERE id = ?1 AND (delivery_job_id = ?2 OR delivery_job_id IS NULL)",
                id,
                job_id,
                error,
                at,
            ))
            .await
            .map(drop)
    }

    async fn purge_mailbox(
        &self,
        provisioned_id: Uuid,
        delivered_before: Timestamp,
        reason: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let id = provisioned_id.hyphenated();
        let result = self
            .writer
            .execute(sqlx::query!(
                "UPDATE provisioned_credentials SET sealed_payload = NULL, delivery_error = ?3, updated_at = ?4
             WHERE id = ?1 AND sealed_payload IS NOT NULL AND delivered_at <= ?2",
                id,
                delivered_before,
                reason,
                at,
            ))
            .await?;
        Ok(result.rows_affected() > 0)
    }

    async fn record_wallet_action(&self, provisioned_id: Uuid, action: WalletAction, at: Timestamp) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let (id, status, name) = (provisioned_id.hyphenated(), action.status().as_str(), action.as_str());
        let result = sqlx::query!(
            "UPDATE provisioned_credentials SET status = ?2, sealed_payload = NULL, updated_at = ?3 WHERE id = ?1",
            id,
            status,
            at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        sqlx::query!(
            "INSERT INTO wallet_actions (provisioned_id, action, occurred_at) VALUES (?1, ?2, ?3)",
            id,
            name,
            at
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await
    }

    async fn enqueue_job(&self, job: &NewJob) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        insert_job(&mut tx, job).await?;
        tx.commit().await
    }

    async fn claim_jobs(&self, now: Timestamp, lease_until: Timestamp, limit: u32) -> StoreResult<Vec<ClaimedJob>> {
        // SQLite has one writer at a time, so the inner SELECT and the UPDATE cannot
        // interleave with another claim: no SKIP LOCKED needed. A running job was due
        // when it was claimed, so `run_at <= now` bounds the index scan. The `IN` repeats
        // the `jobs_due` index's condition word for word: SQLite uses a partial index only
        // then, and otherwise scans every finished job on each claim.
        let mut tx = self.writer.begin().await?;
        let rows = sqlx::query!(
            r#"UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = ?2, updated_at = ?1
               WHERE id IN (SELECT id FROM jobs
                            WHERE run_at <= ?1 AND status IN ('queued', 'running')
                              AND (status = 'queued' OR locked_until < ?1)
                            ORDER BY run_at LIMIT ?3)
               RETURNING id AS "id!: uuid::fmt::Hyphenated", kind, payload, attempts, max_attempts"#,
            now,
            lease_until,
            limit,
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|r| ClaimedJob {
                id: r.id.into_uuid(),
                kind: r.kind,
                payload: r.payload,
                attempt: r.attempts,
                max_attempts: r.max_attempts,
            })
            .collect())
    }

    async fn finish_jobs(&self, settled: &[SettledJob], now: Timestamp) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        for SettledJob { job, outcome } in settled {
            let id = job.id.hyphenated();
            let (status, run_at, error) = outcome.settlement();
            let status = status.as_str();
            sqlx::query!(
                "UPDATE jobs SET status = ?3, run_at = COALESCE(?4, run_at), last_error = COALESCE(?5, last_error),
                                 locked_until = NULL, updated_at = ?6,
                                 payload = CASE WHEN ?3 = 'done' THEN X'' ELSE payload END
                 WHERE id = ?1 AND attempts = ?2 AND status = 'running'",
                id,
                job.attempt,
                status,
                run_at,
                error,
                now,
            )
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await
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

    async fn job_queue(&self, now: Timestamp) -> StoreResult<JobQueue> {
        // The `IN` repeats the `jobs_due` index's condition word for word, so SQLite
        // reads the unfinished jobs from it instead of scanning every finished one
        // (see `claim_jobs`).
        let row = sqlx::query!(
            r#"SELECT count(*) FILTER (WHERE run_at <= ?1 AND (status = 'queued' OR locked_until < ?1)) AS "due!: i64",
                      count(*) FILTER (WHERE status = 'running' AND locked_until >= ?1) AS "running!: i64",
                      count(*) FILTER (WHERE status = 'queued' AND run_at > ?1) AS "scheduled!: i64",
                      min(run_at) FILTER (WHERE run_at <= ?1 AND (status = 'queued' OR locked_until < ?1))
                          AS "oldest_due?: chrono::DateTime<chrono::Utc>"
               FROM jobs WHERE status IN ('queued', 'running')"#,
            now,
        )
        .fetch_one(&self.reader)
        .await
        .map_err(backend)?;
        Ok(JobQueue { due: row.due, running: row.running, scheduled: row.scheduled, oldest_due: row.oldest_due })
    }

    async fn prune(&self, before: &PruneBefore, batch: u32) -> StoreResult<Pruned> {
        // One write per kind, so other writes take the writer between them. SQLite has one
        // writer, so no two prunes pick the same rows. The inner SELECTs read `rowid` from
        // the partial indexes, whose conditions they repeat word for word.
        let mut pruned = Pruned::default();
        if let Some(cutoff) = before.done_jobs {
            pruned.done_jobs = self
                .writer
                .execute(sqlx::query!(
                    "DELETE FROM jobs WHERE rowid IN
                       (SELECT rowid FROM jobs WHERE status = 'done' AND updated_at < ?1 ORDER BY updated_at LIMIT ?2)",
                    cutoff,
                    batch,
                ))
                .await?
                .rows_affected();
        }
        if let Some(cutoff) = before.dead_jobs {
            pruned.dead_jobs = self
                .writer
                .execute(sqlx::query!(
                    "DELETE FROM jobs WHERE rowid IN
                       (SELECT rowid FROM jobs WHERE status = 'dead' AND updated_at < ?1 ORDER BY updated_at LIMIT ?2)",
                    cutoff,
                    batch,
                ))
                .await?
                .rows_affected();
        }
        if let Some(cutoff) = before.sent_notifications {
            pruned.sent_notifications = self
                .writer
                .execute(sqlx::query!(
                    "DELETE FROM notifications WHERE rowid IN
                       (SELECT rowid FROM notifications WHERE status = 'SENT' AND created_at < ?1
                        ORDER BY created_at LIMIT ?2)",
                    cutoff,
                    batch,
                ))
                .await?
                .rows_affected();
        }
        if let Some(cutoff) = before.failed_notifications {
            pruned.failed_notifications = self
                .writer
                .execute(sqlx::query!(
                    "DELETE FROM notifications WHERE rowid IN
                       (SELECT rowid FROM notifications WHERE status = 'FAILED' AND created_at < ?1
                        ORDER BY created_at LIMIT ?2)",
                    cutoff,
                    batch,
                ))
                .await?
                .rows_affected();
        }
        if let Some(cutoff) = before.expired_pairing_sessions {
            pruned.expired_pairing_sessions = self
                .writer
                .execute(sqlx::query!(
                    "DELETE FROM pairing_sessions WHERE rowid IN
                       (SELECT s.rowid FROM pairing_sessions s
                        WHERE s.status = 'EXPIRED' AND s.updated_at < ?1
                          AND NOT EXISTS (SELECT 1 FROM pairing_attempts a WHERE a.session_id = s.id)
                        ORDER BY s.updated_at LIMIT ?2)",
                    cutoff,
                    batch,
                ))
                .await?
                .rows_affected();
        }
        // The freed pages (and those of wiped payloads) go back to the file system, a
        // bounded step per prune. A database without incremental auto-vacuum ignores it.
        self.writer.execute(sqlx::query(VACUUM_STEP)).await?;
        Ok(pruned)
    }

    async fn storage_usage(&self) -> StoreResult<StorageUsage> {
        // Each count reads the table's smallest index; the pragmas read the file header.
        let row = sqlx::query!(
            r#"SELECT (SELECT count(*) FROM jobs) AS "jobs!: i64",
                      (SELECT count(*) FROM notifications) AS "notifications!: i64",
                      (SELECT count(*) FROM pairing_sessions) AS "pairing_sessions!: i64",
                      page_count * page_size AS "database_bytes!: i64",
                      freelist_count * page_size AS "free_bytes!: i64"
               FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()"#
        )
        .fetch_one(&self.reader)
        .await
        .map_err(backend)?;
        Ok(StorageUsage {
            jobs: row.jobs,
            notifications: row.notifications,
            pairing_sessions: row.pairing_sessions,
            database_bytes: row.database_bytes,
            free_bytes: Some(row.free_bytes),
        })
    }
}

#[cfg(test)]
mod conformance {
    domain::conformance_tests!(sqlx::SqlitePool, crate::SqliteStore::new, migrations = "../../migrations/sqlite");
}

#[cfg(test)]
mod space {
    use chrono::TimeDelta;
    use domain::time::{new_id, now};
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
