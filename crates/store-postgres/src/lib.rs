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

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use domain::application::Application;
use domain::configuration::Configuration;
use domain::credential::{
    CredentialStatus, CredentialType, IssuerProfile, ProvisionStatus, ProvisionedCredential, UserCredential,
    WalletAction, WalletActionRecord,
};
use domain::environment::Environment;
use domain::job::{ClaimedJob, Job, JobQueue, NewJob, PruneBefore, Pruned, SettledJob};
use domain::mfa::{
    Device, DeviceFilter, DevicePolicy, DeviceSlot, DeviceStatus, DeviceType, MethodPolicy, MfaSettings, OtpAttempt,
};
use domain::notification::{Notification, NotificationFilter, NotificationStatus, TemplateContent, TemplateName};
use domain::page::{Page, PageRequest};
use domain::signing_key::SigningKey;
use domain::store::{Outbox, PoolUsage, StorageUsage, StoreResult};
use domain::stored::{
    ApplicationRecord, CredentialFieldRecord, CredentialTypeRecord, DevicePolicyRecord, DeviceRecord,
    DigitalWalletRecord, EnvironmentRecord, IssuerProfileRecord, JobRecord, MethodPolicyRecord, MfaSettingsRecord,
    NotificationRecord, PairingSessionRecord, SigningKeyRecord, TemplateContentRecord, UserRecord,
    WalletApplicationRecord,
};
use domain::stored::{assemble_credential_type, assemble_policy, policy_methods};
use domain::time::Timestamp;
use domain::user::{User, UserFilter};
use domain::wallet::{DigitalWallet, PairingAttempt, PairingSession, PairingStatus, WalletApplication, WalletStatus};
use domain::{Store, StoreError};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgExecutor, PgPool, migrate::Migrator};
use uuid::Uuid;

type EnvironmentRow = EnvironmentRecord<Uuid>;
type SigningKeyRow = SigningKeyRecord<Uuid>;
type ApplicationRow = ApplicationRecord<Uuid>;
type UserRow = UserRecord<Uuid>;
type JobRow = JobRecord<Uuid>;
type WalletApplicationRow = WalletApplicationRecord<Uuid>;
type DigitalWalletRow = DigitalWalletRecord<Uuid>;
type PairingSessionRow = PairingSessionRecord<Uuid>;
type TemplateContentRow = TemplateContentRecord<Uuid>;
type NotificationRow = NotificationRecord<Uuid>;
type DevicePolicyRow = DevicePolicyRecord<Uuid>;
type MethodPolicyRow = MethodPolicyRecord<Uuid>;
type DeviceRow = DeviceRecord<Uuid>;
type MfaSettingsRow = MfaSettingsRecord<Uuid>;
type IssuerProfileRow = IssuerProfileRecord<Uuid>;
type CredentialTypeRow = CredentialTypeRecord<Uuid>;
type CredentialFieldRow = CredentialFieldRecord<Uuid>;
type UserCredentialRow = domain::stored::UserCredentialRecord<Uuid>;
type ProvisionedCredentialRow = domain::stored::ProvisionedCredentialRecord<Uuid>;
type WalletAttemptRow = domain::stored::WalletAttemptRecord<Uuid>;

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

/// Writes the outbox's notifications and jobs in `conn`'s transaction.
async fn write_outbox(conn: &mut PgConnection, outbox: &Outbox) -> StoreResult<()> {
    let columns = OutboxColumns::new(outbox);
    with_outbox!(columns, " SELECT").execute(conn).await.map(drop).map_err(backend)
}

async fn insert_attempt(conn: &mut PgConnection, attempt: &PairingAttempt) -> StoreResult<()> {
    let (id, session_id, wallet_id) = (attempt.id, attempt.session_id, attempt.wallet_id);
    sqlx::query!(
        "INSERT INTO pairing_attempts (id, session_id, wallet_id, success, attempted_at) VALUES ($1, $2, $3, $4, $5)",
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
async fn insert_policy(conn: &mut PgConnection, policy: &DevicePolicy) -> StoreResult<()> {
    let (id, environment_id) = (policy.id, policy.environment_id);
    sqlx::query!(
        "INSERT INTO device_policies (id, environment_id, name, is_default, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
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

async fn insert_policy_methods(conn: &mut PgConnection, policy: &DevicePolicy) -> StoreResult<()> {
    let (id, environment_id) = (policy.id, policy.environment_id);
    if policy.default {
        sqlx::query!(
            "UPDATE device_policies SET is_default = FALSE WHERE environment_id = $1 AND id <> $2",
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
async fn insert_credential_type(conn: &mut PgConnection, credential_type: &CredentialType) -> StoreResult<()> {
    let (id, environment_id, mode) =
        (credential_type.id, credential_type.environment_id, credential_type.mode.as_str());
    let m = &credential_type.metadata;
    sqlx::query!(
        "INSERT INTO credential_types (id, environment_id, title, description, card_type, issuer_name, management_mode,
                                       metadata_name, metadata_description, background_image, logo_image, card_color,
                                       text_color, bg_opacity_percent, columns, revoke_on_delete, version, deleted_at,
                                       created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
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
    executor: impl PgExecutor<'_>,
    environment_id: Uuid,
    user_id: Uuid,
    id: Uuid,
) -> StoreResult<Device> {
    sqlx::query_as!(
        DeviceRow,
        "SELECT id, environment_id, user_id, type AS kind, status, phone, email, nickname, policy_id, sealed_secret,
                otp_hash, otp_expires_at, failed_attempts, locked_until, position, created_at, updated_at
         FROM devices WHERE environment_id = $1 AND user_id = $2 AND id = $3",
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

async fn insert_wallet_application(executor: impl PgExecutor<'_>, application: &WalletApplication) -> StoreResult<()> {
    let (id, environment_id, application_id) = (application.id, application.environment_id, application.application_id);
    sqlx::query!(
        "INSERT INTO wallet_applications (id, environment_id, application_id, name, app_open_url, uses_pingone_wallet_sdk,
                                          created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        id,
        environment_id,
        application_id,
        application.name,
        application.app_open_url,
        application.uses_pingone_wallet_sdk,
        application.created_at,
        application.updated_at,
    )
    .execute(executor)
    .await
    .map(drop)
    .map_err(backend)
}

async fn insert_template_content(executor: impl PgExecutor<'_>, content: &TemplateContent) -> StoreResult<()> {
    let (id, environment_id) = (content.id, content.environment_id);
    let (template, method) = (content.template.as_str(), content.delivery_method.as_str());
    sqlx::query!(
        "INSERT INTO template_contents (id, environment_id, template, delivery_method, locale, variant, subject, body,
                                        created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
    .execute(executor)
    .await
    .map(drop)
    .map_err(backend)
}

async fn upsert_mfa_settings(executor: impl PgExecutor<'_>, settings: &MfaSettings) -> StoreResult<()> {
    let environment_id = settings.environment_id;
    sqlx::query!(
        "INSERT INTO mfa_settings (environment_id, max_allowed_devices, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (environment_id) DO UPDATE SET max_allowed_devices = excluded.max_allowed_devices,
                                                    updated_at = excluded.updated_at",
        environment_id,
        settings.max_allowed_devices,
        settings.updated_at,
    )
    .execute(executor)
    .await
    .map(drop)
    .map_err(backend)
}

/// Replaces the environment's configuration with `configuration`'s, in `conn`'s
/// transaction (see `Store::replace_configuration`).
async fn write_configuration(conn: &mut PgConnection, configuration: &Configuration) -> StoreResult<()> {
    let environment_id = configuration.environment_id;
    sqlx::query!("DELETE FROM credential_types WHERE environment_id = $1", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    sqlx::query!("DELETE FROM wallet_applications WHERE environment_id = $1", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    sqlx::query!("DELETE FROM template_contents WHERE environment_id = $1", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    sqlx::query!("DELETE FROM device_policies WHERE environment_id = $1", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    sqlx::query!("DELETE FROM mfa_settings WHERE environment_id = $1", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    let profile = &configuration.issuer_profile;
    sqlx::query!(
        "INSERT INTO issuer_profiles (id, environment_id, name, site_url, public_key, sealed_private_key, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (environment_id) DO UPDATE SET name = excluded.name, site_url = excluded.site_url,
                                                    updated_at = excluded.updated_at",
        profile.id,
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
        insert_wallet_application(&mut *conn, application).await?;
    }
    for content in &configuration.template_contents {
        insert_template_content(&mut *conn, content).await?;
    }
    for policy in &configuration.device_policies {
        insert_policy(conn, policy).await?;
    }
    if let Some(settings) = &configuration.mfa_settings {
        upsert_mfa_settings(&mut *conn, settings).await?;
    }
    Ok(())
}

/// Locks the environment's row until `conn`'s transaction ends: a write that adds a
/// row pointing at the environment (a user, say) waits for it, since its foreign key
/// check takes a key-share lock on that row. `NotFound` when there is none.
async fn lock_environment(conn: &mut PgConnection, id: Uuid) -> StoreResult<()> {
    sqlx::query_scalar!("SELECT 1 AS found FROM environments WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(conn)
        .await
        .map_err(backend)?
        .map(drop)
        .ok_or(StoreError::NotFound)
}

async fn insert_credential_fields(conn: &mut PgConnection, credential_type: &CredentialType) -> StoreResult<()> {
    let type_id = credential_type.id;
    for (position, field) in credential_type.metadata.fields.iter().enumerate() {
        let (position, kind) = (position as i64, field.kind.as_str());
        sqlx::query!(
            "INSERT INTO credential_type_fields (type_id, position, field_id, type, title, value, attribute, required)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
async fn put_provisioned(conn: &mut PgConnection, copy: &ProvisionedCredential) -> StoreResult<()> {
    sqlx::query!(
        "INSERT INTO provisioned_credentials (id, environment_id, user_id, credential_id, wallet_id, status, sealed_payload,
                                              delivered_at, delivery_error, delivery_job_id, expires_at, created_at,
                                              updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (credential_id, wallet_id) DO UPDATE SET
             status = excluded.status, sealed_payload = excluded.sealed_payload, delivered_at = excluded.delivered_at,
             delivery_error = excluded.delivery_error, delivery_job_id = excluded.delivery_job_id,
             expires_at = excluded.expires_at, updated_at = excluded.updated_at",
        copy.id,
        copy.environment_id,
        copy.user_id,
        copy.credential_id,
        copy.wallet_id,
        copy.status.as_str(),
        copy.sealed_payload,
        copy.delivered_at,
        copy.delivery_error,
        copy.delivery_job_id,
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
async fn revoke_copies(conn: &mut PgConnection, copies: Copies, at: Timestamp) -> StoreResult<()> {
    let (credential_id, wallet_id) = match copies {
        Copies::OfCredential(id) => (Some(id), None),
        Copies::InWallet(id) => (None, Some(id)),
    };
    let (revoked, deleted, action) =
        (ProvisionStatus::Revoked.as_str(), ProvisionStatus::Deleted.as_str(), WalletAction::Revoked.as_str());
    sqlx::query!(
        "INSERT INTO wallet_actions (provisioned_id, action, occurred_at)
         SELECT id, $3, $4 FROM provisioned_credentials
         WHERE (credential_id = $1 OR wallet_id = $2) AND status NOT IN ($5, $6)",
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
        "UPDATE provisioned_credentials SET status = $3, sealed_payload = NULL, updated_at = $4
         WHERE (credential_id = $1 OR wallet_id = $2) AND status NOT IN ($3, $5)",
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

impl Store for PgStore {
    async fn check_writable(&self) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO readiness_probe (id, written_at) VALUES (1, now())
             ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at"
        )
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn create_environment(
        &self,
        environment: &Environment,
        key: &SigningKey,
        policy: &DevicePolicy,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let (id, kind, region) = (environment.id, environment.kind.as_str(), environment.region.as_str());
        sqlx::query!(
            "INSERT INTO environments (id, name, description, type, region, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
        let key_id = key.id;
        sqlx::query!(
            "INSERT INTO signing_keys (id, environment_id, public_key, sealed_private_key, created_at)
             VALUES ($1, $2, $3, $4, $5)",
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
        tx.commit().await.map_err(backend)
    }

    async fn environment(&self, id: Uuid) -> StoreResult<Environment> {
        sqlx::query_as!(
            EnvironmentRow,
            "SELECT id, name, description, type AS kind, region, created_at, updated_at FROM environments WHERE id = $1",
            id
        )
        .fetch_optional(&self.pool)
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
             WHERE id > $1 ORDER BY id LIMIT $2",
            after,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn update_environment(&self, environment: &Environment) -> StoreResult<()> {
        let (id, kind) = (environment.id, environment.kind.as_str());
        let result = sqlx::query!(
            "UPDATE environments SET name = $2, description = $3, type = $4, updated_at = $5 WHERE id = $1",
            id,
            environment.name,
            environment.description,
            kind,
            environment.updated_at,
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn delete_environment(&self, id: Uuid) -> StoreResult<()> {
        let result =
            sqlx::query!("DELETE FROM environments WHERE id = $1", id).execute(&self.pool).await.map_err(backend)?;
        one_row(result)
    }

    async fn reset_environment(&self, configuration: &Configuration) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        lock_environment(&mut tx, configuration.environment_id).await?;
        let environment_id = configuration.environment_id;
        // Users take their wallets, sessions, attempts, credentials, copies and
        // devices with them (ON DELETE CASCADE); notifications only lose their user.
        sqlx::query!("DELETE FROM notifications WHERE environment_id = $1", environment_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query!("DELETE FROM users WHERE environment_id = $1", environment_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        write_configuration(&mut tx, configuration).await?;
        tx.commit().await.map_err(backend)
    }

    async fn replace_configuration(&self, configuration: &Configuration) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        lock_environment(&mut tx, configuration.environment_id).await?;
        let has_users = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM users WHERE environment_id = $1) AS "has_users!""#,
            configuration.environment_id
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        if has_users {
            return Ok(false);
        }
        write_configuration(&mut tx, configuration).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn signing_key(&self, id: Uuid) -> StoreResult<SigningKey> {
        sqlx::query_as!(
            SigningKeyRow,
            "SELECT id, environment_id, public_key, sealed_private_key, created_at FROM signing_keys WHERE id = $1",
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(Into::into)
        .ok_or(StoreError::NotFound)
    }

    async fn signing_keys(&self, environment_id: Uuid) -> StoreResult<Vec<SigningKey>> {
        let rows = sqlx::query_as!(
            SigningKeyRow,
            "SELECT id, environment_id, public_key, sealed_private_key, created_at FROM signing_keys
             WHERE environment_id = $1 ORDER BY created_at DESC, id DESC",
            environment_id
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn create_application(&self, application: &Application) -> StoreResult<()> {
        let (id, environment_id) = (application.id, application.environment_id);
        let method = application.token_endpoint_auth_method.as_str();
        sqlx::query!(
            "INSERT INTO applications (id, environment_id, name, description, enabled, token_endpoint_auth_method,
                                       secret_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn application(&self, environment_id: Uuid, id: Uuid) -> StoreResult<Application> {
        sqlx::query_as!(
            ApplicationRow,
            "SELECT id, environment_id, name, description, enabled, token_endpoint_auth_method, secret_hash,
                    created_at, updated_at
             FROM applications WHERE environment_id = $1 AND id = $2",
            environment_id,
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn applications(&self, environment_id: Uuid, page: PageRequest) -> StoreResult<Page<Application>> {
        let (environment_id, after, limit) = (environment_id, after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            ApplicationRow,
            "SELECT id, environment_id, name, description, enabled, token_endpoint_auth_method, secret_hash,
                    created_at, updated_at
             FROM applications WHERE environment_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            environment_id,
            after,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn update_application(&self, application: &Application) -> StoreResult<()> {
        let (id, environment_id) = (application.id, application.environment_id);
        let method = application.token_endpoint_auth_method.as_str();
        let result = sqlx::query!(
            "UPDATE applications SET name = $3, description = $4, enabled = $5, token_endpoint_auth_method = $6,
                                     updated_at = $7
             WHERE environment_id = $1 AND id = $2",
            environment_id,
            id,
            application.name,
            application.description,
            application.enabled,
            method,
            application.updated_at,
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn replace_application_secret(
        &self,
        environment_id: Uuid,
        id: Uuid,
        secret_hash: &[u8],
        updated_at: Timestamp,
    ) -> StoreResult<()> {
        let result = sqlx::query!(
            "UPDATE applications SET secret_hash = $3, updated_at = $4 WHERE environment_id = $1 AND id = $2",
            environment_id,
            id,
            secret_hash,
            updated_at,
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn delete_application(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()> {
        let result = sqlx::query!("DELETE FROM applications WHERE environment_id = $1 AND id = $2", environment_id, id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        one_row(result)
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let (id, environment_id) = (user.id, user.environment_id);
        sqlx::query!(
            "INSERT INTO users (id, environment_id, username, email, mobile_phone, primary_phone, locale,
                                preferred_language, name_given, name_family, name_formatted, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn user(&self, environment_id: Uuid, id: Uuid) -> StoreResult<User> {
        sqlx::query_as!(
            UserRow,
            "SELECT id, environment_id, username, email, mobile_phone, primary_phone, locale, preferred_language,
                    name_given, name_family, name_formatted, created_at, updated_at
             FROM users WHERE environment_id = $1 AND id = $2",
            environment_id,
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(Into::into)
        .ok_or(StoreError::NotFound)
    }

    async fn users(&self, environment_id: Uuid, filter: &UserFilter, page: PageRequest) -> StoreResult<Page<User>> {
        let (environment_id, after, limit) = (environment_id, after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            UserRow,
            r#"SELECT id, environment_id, username, email, mobile_phone, primary_phone, locale, preferred_language,
                      name_given, name_family, name_formatted, created_at, updated_at
               FROM users
               WHERE environment_id = $1 AND id > $2
                 AND ($3::text IS NULL OR lower(username COLLATE "C") = lower($3 COLLATE "C"))
                 AND ($4::text IS NULL OR email = $4)
               ORDER BY id LIMIT $5"#,
            environment_id,
            after,
            filter.username,
            filter.email,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(Page::from_overfetch(rows.into_iter().map(Into::into).collect(), page))
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        let (id, environment_id) = (user.id, user.environment_id);
        let result = sqlx::query!(
            "UPDATE users SET username = $3, email = $4, mobile_phone = $5, primary_phone = $6, locale = $7,
                              preferred_language = $8, name_given = $9, name_family = $10, name_formatted = $11,
                              updated_at = $12
             WHERE environment_id = $1 AND id = $2",
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
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn delete_user(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()> {
        let result = sqlx::query!("DELETE FROM users WHERE environment_id = $1 AND id = $2", environment_id, id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        one_row(result)
    }

    async fn create_wallet_application(&self, application: &WalletApplication) -> StoreResult<()> {
        insert_wallet_application(&self.pool, application).await
    }

    async fn wallet_application(&self, environment_id: Uuid, id: Uuid) -> StoreResult<WalletApplication> {
        sqlx::query_as!(
            WalletApplicationRow,
            "SELECT id, environment_id, application_id, name, app_open_url, uses_pingone_wallet_sdk, created_at, updated_at
             FROM wallet_applications WHERE environment_id = $1 AND id = $2",
            environment_id,
            id
        )
        .fetch_optional(&self.pool)
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
        let (environment_id, after, limit) = (environment_id, after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            WalletApplicationRow,
            "SELECT id, environment_id, application_id, name, app_open_url, uses_pingone_wallet_sdk, created_at, updated_at
             FROM wallet_applications WHERE environment_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            environment_id,
            after,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(Page::from_overfetch(rows.into_iter().map(Into::into).collect(), page))
    }

    async fn update_wallet_application(&self, application: &WalletApplication) -> StoreResult<()> {
        let (id, environment_id) = (application.id, application.environment_id);
        let result = sqlx::query!(
            "UPDATE wallet_applications SET name = $3, app_open_url = $4, updated_at = $5
             WHERE environment_id = $1 AND id = $2",
            environment_id,
            id,
            application.name,
            application.app_open_url,
            application.updated_at,
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn delete_wallet_application(&self, environment_id: Uuid, id: Uuid, now: Timestamp) -> StoreResult<()> {
        let disabled = WalletStatus::Disabled.as_str();
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let result =
            sqlx::query!("DELETE FROM wallet_applications WHERE environment_id = $1 AND id = $2", environment_id, id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        one_row(result)?;
        let disabled_wallets = sqlx::query_scalar!(
            "UPDATE digital_wallets SET status = $3, updated_at = $4 WHERE environment_id = $1 AND wallet_application_id = $2
             RETURNING id",
            environment_id,
            id,
            disabled,
            now,
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        // Their links stop working at once.
        let (initial, expired) = (PairingStatus::Initial.as_str(), PairingStatus::Expired.as_str());
        sqlx::query!(
            "UPDATE pairing_sessions SET status = $3, updated_at = $4 WHERE wallet_id = ANY($1) AND status = $2",
            &disabled_wallets,
            initial,
            expired,
            now,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        for wallet_id in disabled_wallets {
            revoke_copies(&mut tx, Copies::InWallet(wallet_id), now).await?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn create_wallet(
        &self,
        wallet: &DigitalWallet,
        session: &PairingSession,
        outbox: &Outbox,
    ) -> StoreResult<()> {
        let columns = OutboxColumns::new(outbox);
        with_outbox!(
            columns,
            ", new_wallet AS (
                 INSERT INTO digital_wallets (id, environment_id, user_id, wallet_application_id, application_instance_id,
                                              status, public_key, device_data, token_hash, notification, created_at,
                                              updated_at)
                 VALUES ($20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31))
             INSERT INTO pairing_sessions (id, environment_id, user_id, wallet_id, link_hash, challenge, status,
                                           failed_attempts, expires_at, created_at, updated_at)
             VALUES ($32, $21, $22, $20, $33, $34, $35, $36, $37, $38, $39)",
            wallet.id,
            wallet.environment_id,
            wallet.user_id,
            wallet.wallet_application_id,
            wallet.application_instance_id,
            wallet.status.as_str(),
            wallet.public_key,
            wallet.device_data,
            wallet.token_hash,
            wallet.notification,
            wallet.created_at,
            wallet.updated_at,
            session.id,
            session.link_hash,
            session.challenge,
            session.status.as_str(),
            session.failed_attempts,
            session.expires_at,
            session.created_at,
            session.updated_at,
        )
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn wallet_by_id(&self, id: Uuid) -> StoreResult<DigitalWallet> {
        sqlx::query_as!(
            DigitalWalletRow,
            "SELECT id, environment_id, user_id, wallet_application_id, application_instance_id, status, public_key,
                    device_data, token_hash, notification, created_at, updated_at
             FROM digital_wallets WHERE id = $1",
            id
        )
        .fetch_optional(&self.pool)
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
        let (environment_id, user_id, after, limit) = (environment_id, user_id, after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            DigitalWalletRow,
            "SELECT id, environment_id, user_id, wallet_application_id, application_instance_id, status, public_key,
                    device_data, token_hash, notification, created_at, updated_at
             FROM digital_wallets
             WHERE environment_id = $1 AND user_id = $2 AND (environment_id, user_id, id) > ($1, $2, $3)
             ORDER BY id LIMIT $4",
            environment_id,
            user_id,
            after,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn update_wallet(&self, wallet: &DigitalWallet, outbox: &Outbox) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let result = sqlx::query!(
            "UPDATE digital_wallets SET application_instance_id = $3, status = $4, updated_at = $5
             WHERE environment_id = $1 AND id = $2",
            wallet.environment_id,
            wallet.id,
            wallet.application_instance_id,
            wallet.status.as_str(),
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
                "UPDATE pairing_sessions SET status = $3, updated_at = $4 WHERE wallet_id = $1 AND status = $2",
                wallet.id,
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
        tx.commit().await.map_err(backend)
    }

    async fn delete_wallet(&self, environment_id: Uuid, user_id: Uuid, id: Uuid, at: Timestamp) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let result = sqlx::query!(
            "DELETE FROM digital_wallets WHERE environment_id = $1 AND user_id = $2 AND id = $3",
            environment_id,
            user_id,
            id
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        revoke_copies(&mut tx, Copies::InWallet(id), at).await?;
        tx.commit().await.map_err(backend)
    }

    async fn pairing_session_of_wallet(&self, wallet_id: Uuid) -> StoreResult<PairingSession> {
        sqlx::query_as!(
            PairingSessionRow,
            "SELECT id, environment_id, user_id, wallet_id, link_hash, challenge, status, failed_attempts, expires_at,
                    created_at, updated_at
             FROM pairing_sessions WHERE wallet_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
            wallet_id
        )
        .fetch_optional(&self.pool)
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
             FROM pairing_sessions WHERE link_hash = $1",
            link_hash
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn wallet_with_attempts(&self, id: Uuid) -> StoreResult<(DigitalWallet, Vec<PairingAttempt>)> {
        // One row per attempt (one row with no attempt when there is none), the
        // wallet repeated on each: one round trip instead of two.
        let rows = sqlx::query_as!(
            WalletAttemptRow,
            r#"SELECT w.id, w.environment_id, w.user_id, w.wallet_application_id, w.application_instance_id, w.status,
                      w.public_key, w.device_data, w.token_hash, w.notification, w.created_at, w.updated_at,
                      a.id AS "attempt_id?", a.session_id AS "attempt_session_id?", a.success AS "attempt_success?",
                      a.attempted_at AS "attempted_at?"
               FROM digital_wallets w LEFT JOIN pairing_attempts a ON a.wallet_id = w.id
               WHERE w.id = $1
               ORDER BY a.attempted_at, a.id"#,
            id
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        domain::stored::wallet_with_attempts(rows)
    }

    async fn record_pairing_failure(&self, attempt: &PairingAttempt) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        insert_attempt(&mut tx, attempt).await?;
        let session_id = attempt.session_id;
        sqlx::query!(
            "UPDATE pairing_sessions SET failed_attempts = failed_attempts + 1, updated_at = $2 WHERE id = $1",
            session_id,
            attempt.attempted_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn complete_pairing(
        &self,
        wallet: &DigitalWallet,
        attempt: &PairingAttempt,
        outbox: &Outbox,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let (session_id, initial, completed, pending) = (
            attempt.session_id,
            PairingStatus::Initial.as_str(),
            PairingStatus::Completed.as_str(),
            WalletStatus::PairingRequired.as_str(),
        );
        // The wallet's own state is the condition: a wallet disabled (or whose
        // application was deleted) after the caller read it is never paired. Under the
        // row lock a disable that committed meanwhile shows here. Wallet before session,
        // the order every other write (and every cascade) locks them in.
        let paired = sqlx::query!(
            "UPDATE digital_wallets SET application_instance_id = $2, status = $3, public_key = $4, device_data = $5,
                                        token_hash = $6, updated_at = $7
             WHERE id = $1 AND status = $8
               AND EXISTS (SELECT 1 FROM wallet_applications a
                           WHERE a.id = digital_wallets.wallet_application_id
                             AND a.environment_id = digital_wallets.environment_id)
               AND EXISTS (SELECT 1 FROM pairing_sessions s
                           WHERE s.id = $9 AND s.wallet_id = digital_wallets.id AND s.status = $10)",
            wallet.id,
            wallet.application_instance_id,
            wallet.status.as_str(),
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
            "UPDATE pairing_sessions SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2",
            session_id,
            initial,
            completed,
            attempt.attempted_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if won.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        insert_attempt(&mut tx, attempt).await?;
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await.map_err(backend)
    }

    async fn expire_pairing_session(&self, session_id: Uuid, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let (initial, expired) = (PairingStatus::Initial.as_str(), PairingStatus::Expired.as_str());
        let (pending, wallet_expired) = (WalletStatus::PairingRequired.as_str(), WalletStatus::Expired.as_str());
        // Wallet before session, the order pairing locks them in.
        sqlx::query!(
            "UPDATE digital_wallets SET status = $5, updated_at = $3
             WHERE status = $4
               AND id = (SELECT wallet_id FROM pairing_sessions WHERE id = $1 AND status = $2 AND expires_at <= $3)",
            session_id,
            initial,
            now,
            pending,
            wallet_expired,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let ended = sqlx::query!(
            "UPDATE pairing_sessions SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2 AND expires_at <= $4",
            session_id,
            initial,
            expired,
            now,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(ended.rows_affected() == 1)
    }

    async fn create_template_content(&self, content: &TemplateContent) -> StoreResult<()> {
        insert_template_content(&self.pool, content).await
    }

    async fn template_content(
        &self,
        environment_id: Uuid,
        template: TemplateName,
        id: Uuid,
    ) -> StoreResult<TemplateContent> {
        let (environment_id, template, id) = (environment_id, template.as_str(), id);
        sqlx::query_as!(
            TemplateContentRow,
            "SELECT id, environment_id, template, delivery_method, locale, variant, subject, body, created_at, updated_at
             FROM template_contents WHERE environment_id = $1 AND template = $2 AND id = $3",
            environment_id,
            template,
            id
        )
        .fetch_optional(&self.pool)
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
        let (environment_id, template) = (environment_id, template.as_str());
        let rows = sqlx::query_as!(
            TemplateContentRow,
            "SELECT id, environment_id, template, delivery_method, locale, variant, subject, body, created_at, updated_at
             FROM template_contents WHERE environment_id = $1 AND template = $2 ORDER BY id",
            environment_id,
            template
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn update_template_content(&self, content: &TemplateContent) -> StoreResult<()> {
        let (id, environment_id, template) = (content.id, content.environment_id, content.template.as_str());
        let method = content.delivery_method.as_str();
        let result = sqlx::query!(
            "UPDATE template_contents SET delivery_method = $4, locale = $5, variant = $6, subject = $7, body = $8,
                                          updated_at = $9
             WHERE environment_id = $1 AND template = $2 AND id = $3",
            environment_id,
            template,
            id,
            method,
            content.locale,
            content.variant,
            content.subject,
            content.body,
            content.updated_at,
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn delete_template_content(&self, environment_id: Uuid, template: TemplateName, id: Uuid) -> StoreResult<()> {
        let (environment_id, template, id) = (environment_id, template.as_str(), id);
        let result = sqlx::query!(
            "DELETE FROM template_contents WHERE environment_id = $1 AND template = $2 AND id = $3",
            environment_id,
            template,
            id
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn notification(&self, id: Uuid) -> StoreResult<Notification> {
        sqlx::query_as!(
            NotificationRow,
            "SELECT id, environment_id, user_id, template, delivery_method, recipient, locale, variant, sealed_message,
                    status, error, created_at, sent_at
             FROM notifications WHERE id = $1",
            id
        )
        .fetch_optional(&self.pool)
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
        let before = page.after;
        let user_id = filter.user_id;
        let template = filter.template.map(TemplateName::as_str);
        let limit = page.fetch_limit();
        let rows = sqlx::query_as!(
            NotificationRow,
            "SELECT id, environment_id, user_id, template, delivery_method, recipient, locale, variant, sealed_message,
                    status, error, created_at, sent_at
             FROM notifications
             WHERE environment_id = $1 AND ($2::uuid IS NULL OR id < $2)
               AND ($3::uuid IS NULL OR user_id = $3) AND ($4::text IS NULL OR template = $4) AND ($5::text IS NULL OR recipient = $5)
             ORDER BY id DESC LIMIT $6",
            environment_id,
            before,
            user_id,
            template,
            filter.recipient,
            limit
        )
        .fetch_all(&self.pool)
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
        let (id, status) = (id, status.as_str());
        let sent_at = (status == NotificationStatus::Sent.as_str()).then_some(at);
        let result = sqlx::query!(
            "UPDATE notifications SET status = $2, error = $3, sent_at = $4 WHERE id = $1",
            id,
            status,
            error,
            sent_at,
        )
        .execute(&self.bookkeeping)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn create_device_policy(&self, policy: &DevicePolicy) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        insert_policy(&mut tx, policy).await?;
        tx.commit().await.map_err(backend)
    }

    async fn device_policy(&self, environment_id: Uuid, id: Uuid) -> StoreResult<DevicePolicy> {
        let record = sqlx::query_as!(
            DevicePolicyRow,
            "SELECT id, environment_id, name, is_default, created_at, updated_at FROM device_policies
             WHERE environment_id = $1 AND id = $2",
            environment_id,
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        let methods = sqlx::query_as!(
            MethodPolicyRow,
            "SELECT policy_id, method, enabled, pairing_disabled, otp_lifetime, otp_lifetime_unit, failure_count, cool_down,
                    cool_down_unit, otp_length
             FROM device_policy_methods WHERE policy_id = $1",
            id
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        assemble_policy(record, methods)
    }

    async fn device_policies(&self, environment_id: Uuid) -> StoreResult<Vec<DevicePolicy>> {
        let records = sqlx::query_as!(
            DevicePolicyRow,
            "SELECT id, environment_id, name, is_default, created_at, updated_at FROM device_policies
             WHERE environment_id = $1 ORDER BY id",
            environment_id
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut methods = sqlx::query_as!(
            MethodPolicyRow,
            "SELECT m.policy_id, m.method, m.enabled, m.pairing_disabled, m.otp_lifetime, m.otp_lifetime_unit,
                    m.failure_count, m.cool_down, m.cool_down_unit, m.otp_length
             FROM device_policy_methods m JOIN device_policies p ON p.id = m.policy_id
             WHERE p.environment_id = $1",
            environment_id
        )
        .fetch_all(&self.pool)
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let (environment_id, id) = (policy.environment_id, policy.id);
        let result = sqlx::query!(
            "UPDATE device_policies SET name = $3, is_default = $4, updated_at = $5 WHERE environment_id = $1 AND id = $2",
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
        sqlx::query!("DELETE FROM device_policy_methods WHERE policy_id = $1", id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        insert_policy_methods(&mut tx, policy).await?;
        tx.commit().await.map_err(backend)
    }

    async fn delete_device_policy(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let in_use = sqlx::query!(r#"SELECT COUNT(*) AS "count!: i64" FROM devices WHERE policy_id = $1"#, id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if in_use.count > 0 {
            return Err(StoreError::Conflict);
        }
        let result =
            sqlx::query!("DELETE FROM device_policies WHERE environment_id = $1 AND id = $2", environment_id, id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        one_row(result)?;
        tx.commit().await.map_err(backend)
    }

    async fn mfa_settings(&self, environment_id: Uuid) -> StoreResult<Option<MfaSettings>> {
        let row = sqlx::query_as!(
            MfaSettingsRow,
            "SELECT environment_id, max_allowed_devices, updated_at FROM mfa_settings WHERE environment_id = $1",
            environment_id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Ok(row.map(Into::into))
    }

    async fn put_mfa_settings(&self, settings: &MfaSettings) -> StoreResult<()> {
        upsert_mfa_settings(&self.pool, settings).await
    }

    async fn create_device(&self, device: &Device, max_devices: i64, outbox: &Outbox) -> StoreResult<DeviceSlot> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let (id, environment_id, user_id, policy_id) =
            (device.id, device.environment_id, device.user_id, device.policy_id);
        // Holding the user's row serializes concurrent additions for that user, so the
        // count below stays true until this transaction ends.
        sqlx::query!("SELECT id FROM users WHERE id = $1 FOR UPDATE", user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        let held = sqlx::query!(
            r#"SELECT COUNT(*) AS "count!: i64" FROM devices WHERE environment_id = $1 AND user_id = $2"#,
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                     (SELECT COALESCE(MAX(position), 0) + 1 FROM devices WHERE environment_id = $2 AND user_id = $3), $15, $16)
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
        tx.commit().await.map_err(backend)?;
        Ok(DeviceSlot::Created { position: created.position })
    }

    async fn device(&self, environment_id: Uuid, user_id: Uuid, id: Uuid) -> StoreResult<Device> {
        read_device(&self.pool, environment_id, user_id, id).await
    }

    async fn devices(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        filter: &DeviceFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Device>> {
        let (status, kind) = (filter.status.map(DeviceStatus::as_str), filter.kind.map(DeviceType::as_str));
        let after = page.after;
        let limit = page.fetch_limit();
        let rows = sqlx::query_as!(
            DeviceRow,
            "SELECT id, environment_id, user_id, type AS kind, status, phone, email, nickname, policy_id, sealed_secret,
                    otp_hash, otp_expires_at, failed_attempts, locked_until, position, created_at, updated_at
             FROM devices
             WHERE environment_id = $1 AND user_id = $2 AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR type = $4)
               AND ($5::uuid IS NULL OR (position, id) > (SELECT position, id FROM devices WHERE id = $5))
             ORDER BY position, id LIMIT $6",
            environment_id,
            user_id,
            status,
            kind,
            after,
            limit
        )
        .fetch_all(&self.pool)
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let result = sqlx::query!(
            "UPDATE devices SET nickname = $4, updated_at = $5 WHERE environment_id = $1 AND user_id = $2 AND id = $3",
            environment_id,
            user_id,
            id,
            nickname,
            at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        let device = read_device(&mut *tx, environment_id, user_id, id).await?;
        tx.commit().await.map_err(backend)?;
        Ok(device)
    }

    async fn issue_device_code(&self, device: &Device, outbox: &Outbox) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let (environment_id, user_id, id) = (device.environment_id, device.user_id, device.id);
        let waiting = DeviceStatus::ActivationRequired.as_str();
        let result = sqlx::query!(
            "UPDATE devices SET otp_hash = $4, otp_expires_at = $5, failed_attempts = 0, updated_at = $6
             WHERE environment_id = $1 AND user_id = $2 AND id = $3 AND status = $7
               AND (locked_until IS NULL OR locked_until <= $6)",
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
        tx.commit().await.map_err(backend)?;
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
        let (limit, locked_until) = (rules.failure_count, at + rules.cool_down.delta());
        let waiting = DeviceStatus::ActivationRequired.as_str();
        // The count and the lock change here only: this guess is counted before it is
        // judged, and the row's lock orders guesses sent at once.
        let row = sqlx::query!(
            "UPDATE devices SET
                 failed_attempts = CASE WHEN failed_attempts >= $4 THEN 1 ELSE failed_attempts + 1 END,
                 locked_until = CASE WHEN (CASE WHEN failed_attempts >= $4 THEN 1 ELSE failed_attempts + 1 END) >= $4
                                     THEN $5 ELSE locked_until END,
                 updated_at = $6
             WHERE environment_id = $1 AND user_id = $2 AND id = $3 AND status = $7
               AND (locked_until IS NULL OR locked_until <= $6)
               AND ((otp_hash IS NOT NULL AND otp_expires_at > $6 AND failed_attempts < $4) OR sealed_secret IS NOT NULL)
             RETURNING otp_hash, sealed_secret, failed_attempts",
            environment_id,
            user_id,
            id,
            limit,
            locked_until,
            at,
            waiting,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let (active, waiting) = (DeviceStatus::Active.as_str(), DeviceStatus::ActivationRequired.as_str());
        let result = sqlx::query!(
            "UPDATE devices SET status = $4, otp_hash = NULL, otp_expires_at = NULL, failed_attempts = 0,
                                locked_until = NULL, updated_at = $5
             WHERE environment_id = $1 AND user_id = $2 AND id = $3 AND status = $6 AND otp_hash IS NOT DISTINCT FROM $7",
            environment_id,
            user_id,
            id,
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
        tx.commit().await.map_err(backend)?;
        Ok(Some(device))
    }

    async fn delete_device(&self, environment_id: Uuid, user_id: Uuid, id: Uuid) -> StoreResult<()> {
        let result = sqlx::query!(
            "DELETE FROM devices WHERE environment_id = $1 AND user_id = $2 AND id = $3",
            environment_id,
            user_id,
            id
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn reorder_devices(&self, environment_id: Uuid, user_id: Uuid, order: &[Uuid]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let current = sqlx::query!(
            "SELECT id FROM devices WHERE environment_id = $1 AND user_id = $2 ORDER BY position, id",
            environment_id,
            user_id
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let current: Vec<Uuid> = current.into_iter().map(|r| r.id).collect();
        for (position, id) in domain::mfa::reordered(&current, order)?.into_iter().enumerate() {
            let (id, position) = (id, position as i64 + 1);
            sqlx::query!("UPDATE devices SET position = $2 WHERE id = $1", id, position)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn ensure_issuer_profile(&self, profile: &IssuerProfile) -> StoreResult<IssuerProfile> {
        let (id, environment_id) = (profile.id, profile.environment_id);
        sqlx::query!(
            "INSERT INTO issuer_profiles (id, environment_id, name, site_url, public_key, sealed_private_key, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (environment_id) DO NOTHING",
            id,
            environment_id,
            profile.name,
            profile.site_url,
            profile.public_key,
            profile.sealed_private_key,
            profile.created_at,
            profile.updated_at,
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        sqlx::query_as!(
            IssuerProfileRow,
            "SELECT id, environment_id, name, site_url, public_key, sealed_private_key, created_at, updated_at
             FROM issuer_profiles WHERE environment_id = $1",
            environment_id
        )
        .fetch_one(&self.pool)
        .await
        .map(Into::into)
        .map_err(backend)
    }

    async fn issuer_profile(&self, environment_id: Uuid) -> StoreResult<IssuerProfile> {
        sqlx::query_as!(
            IssuerProfileRow,
            "SELECT id, environment_id, name, site_url, public_key, sealed_private_key, created_at, updated_at
             FROM issuer_profiles WHERE environment_id = $1",
            environment_id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(Into::into)
        .ok_or(StoreError::NotFound)
    }

    async fn update_issuer_profile(&self, profile: &IssuerProfile) -> StoreResult<()> {
        let environment_id = profile.environment_id;
        let result = sqlx::query!(
            "UPDATE issuer_profiles SET name = $2, site_url = $3, updated_at = $4 WHERE environment_id = $1",
            environment_id,
            profile.name,
            profile.site_url,
            profile.updated_at,
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn create_credential_type(&self, credential_type: &CredentialType) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        insert_credential_type(&mut tx, credential_type).await?;
        tx.commit().await.map_err(backend)
    }

    async fn credential_type(&self, environment_id: Uuid, id: Uuid) -> StoreResult<CredentialType> {
        let row = sqlx::query_as!(
            CredentialTypeRow,
            "SELECT id, environment_id, title, description, card_type, issuer_name, management_mode, metadata_name,
                    metadata_description, background_image, logo_image, card_color, text_color, bg_opacity_percent, columns,
                    revoke_on_delete, version, deleted_at, created_at, updated_at
             FROM credential_types WHERE environment_id = $1 AND id = $2",
            environment_id,
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        let fields = sqlx::query_as!(
            CredentialFieldRow,
            "SELECT type_id, position, field_id, type AS kind, title, value, attribute, required
             FROM credential_type_fields WHERE type_id = $1 ORDER BY position",
            id
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        assemble_credential_type(row, fields)
    }

    async fn credential_types(&self, environment_id: Uuid, page: PageRequest) -> StoreResult<Page<CredentialType>> {
        let (environment_id, after, limit) = (environment_id, after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            CredentialTypeRow,
            "SELECT id, environment_id, title, description, card_type, issuer_name, management_mode, metadata_name,
                    metadata_description, background_image, logo_image, card_color, text_color, bg_opacity_percent, columns,
                    revoke_on_delete, version, deleted_at, created_at, updated_at
             FROM credential_types WHERE environment_id = $1 AND deleted_at IS NULL AND id > $2 ORDER BY id LIMIT $3",
            environment_id,
            after,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut fields = sqlx::query_as!(
            CredentialFieldRow,
            "SELECT f.type_id, f.position, f.field_id, f.type AS kind, f.title, f.value, f.attribute, f.required
             FROM credential_type_fields f JOIN credential_types t ON t.id = f.type_id
             WHERE t.environment_id = $1 AND t.deleted_at IS NULL AND t.id > $2
             ORDER BY f.type_id, f.position",
            environment_id,
            after
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(|row| {
            let (own, rest): (Vec<_>, Vec<_>) = fields.drain(..).partition(|f| f.type_id == row.id);
            fields = rest;
            assemble_credential_type(row, own)
        })
    }

    async fn update_credential_type(&self, credential_type: &CredentialType) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let (id, environment_id, mode) =
            (credential_type.id, credential_type.environment_id, credential_type.mode.as_str());
        let m = &credential_type.metadata;
        let result = sqlx::query!(
            "UPDATE credential_types SET description = $3, card_type = $4, issuer_name = $5, management_mode = $6,
                    metadata_name = $7, metadata_description = $8, background_image = $9, logo_image = $10, card_color = $11,
                    text_color = $12, bg_opacity_percent = $13, columns = $14, revoke_on_delete = $15, version = $16,
                    deleted_at = $17, updated_at = $18
             WHERE environment_id = $1 AND id = $2",
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
        sqlx::query!("DELETE FROM credential_type_fields WHERE type_id = $1", id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        insert_credential_fields(&mut tx, credential_type).await?;
        tx.commit().await.map_err(backend)
    }

    async fn delete_credential_type(
        &self,
        environment_id: Uuid,
        id: Uuid,
        at: Timestamp,
        revoke_issued: bool,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let result = sqlx::query!(
            "UPDATE credential_types SET deleted_at = $3, updated_at = $3
             WHERE environment_id = $1 AND id = $2 AND deleted_at IS NULL",
            environment_id,
            id,
            at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        sqlx::query!(
            "DELETE FROM user_credentials WHERE environment_id = $1 AND credential_type_id = $2 AND status = $3",
            environment_id,
            id,
            CredentialStatus::Pending.as_str(),
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if revoke_issued {
            let revoked_ids = sqlx::query_scalar!(
                "UPDATE user_credentials SET status = $3, expires_at = LEAST(COALESCE(expires_at, $4), $4), updated_at = $4
                 WHERE environment_id = $1 AND credential_type_id = $2 AND status <> $3
                 RETURNING id",
                environment_id,
                id,
                CredentialStatus::Revoked.as_str(),
                at,
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
            for credential_id in revoked_ids {
                revoke_copies(&mut tx, Copies::OfCredential(credential_id), at).await?;
            }
        }
        tx.commit().await.map_err(backend)
    }

    async fn create_user_credential(
        &self,
        credential: &UserCredential,
        provisioned: &[ProvisionedCredential],
        outbox: &Outbox,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let (id, environment_id, user_id, type_id) =
            (credential.id, credential.environment_id, credential.user_id, credential.credential_type_id);
        let status = credential.status.as_str();
        sqlx::query!(
            "INSERT INTO user_credentials (id, environment_id, user_id, credential_type_id, type_version, title, status,
                                           expires_at, notification, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
        tx.commit().await.map_err(backend)
    }

    async fn update_user_credential(
        &self,
        credential: &UserCredential,
        provisioned: &[ProvisionedCredential],
        outbox: &Outbox,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let result = sqlx::query!(
            "UPDATE user_credentials SET type_version = $2, title = $3, status = $4, expires_at = $5, notification = $6,
                                         updated_at = $7
             WHERE id = $1",
            credential.id,
            credential.type_version,
            credential.title,
            credential.status.as_str(),
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
        tx.commit().await.map_err(backend)
    }

    async fn expire_user_credential(&self, credential_id: Uuid, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let result = sqlx::query!(
            "UPDATE user_credentials SET status = $2, updated_at = $3 WHERE id = $1 AND status <> $2 AND expires_at <= $3",
            credential_id,
            CredentialStatus::Revoked.as_str(),
            now,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if result.rows_affected() == 0 {
            return Ok(false);
        }
        revoke_copies(&mut tx, Copies::OfCredential(credential_id), now).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn add_provisioned_credential(
        &self,
        provisioned: &ProvisionedCredential,
        outbox: &Outbox,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        put_provisioned(&mut tx, provisioned).await?;
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await.map_err(backend)
    }

    async fn user_credential(&self, environment_id: Uuid, user_id: Uuid, id: Uuid) -> StoreResult<UserCredential> {
        sqlx::query_as!(
            UserCredentialRow,
            "SELECT id, environment_id, user_id, credential_type_id, type_version, title, status, expires_at, notification,
                    created_at, updated_at
             FROM user_credentials WHERE environment_id = $1 AND user_id = $2 AND id = $3",
            environment_id,
            user_id,
            id
        )
        .fetch_optional(&self.pool)
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
        let (environment_id, user_id, after, limit) = (environment_id, user_id, after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            UserCredentialRow,
            "SELECT id, environment_id, user_id, credential_type_id, type_version, title, status, expires_at, notification,
                    created_at, updated_at
             FROM user_credentials
             WHERE environment_id = $1 AND user_id = $2 AND (environment_id, user_id, id) > ($1, $2, $3)
             ORDER BY id LIMIT $4",
            environment_id,
            user_id,
            after,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn provisioned_credential(&self, id: Uuid) -> StoreResult<ProvisionedCredential> {
        sqlx::query_as!(
            ProvisionedCredentialRow,
            "SELECT id, environment_id, user_id, credential_id, wallet_id, status, sealed_payload, delivered_at, delivery_error,
                    delivery_job_id, expires_at, created_at, updated_at
             FROM provisioned_credentials WHERE id = $1",
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn provisioned_of_credential(&self, credential_id: Uuid) -> StoreResult<Vec<ProvisionedCredential>> {
        let rows = sqlx::query_as!(
            ProvisionedCredentialRow,
            "SELECT id, environment_id, user_id, credential_id, wallet_id, status, sealed_payload, delivered_at, delivery_error,
                    delivery_job_id, expires_at, created_at, updated_at
             FROM provisioned_credentials WHERE credential_id = $1 ORDER BY id",
            credential_id
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn provisioned_in_wallet(&self, wallet_id: Uuid) -> StoreResult<Vec<ProvisionedCredential>> {
        let rows = sqlx::query_as!(
            ProvisionedCredentialRow,
            "SELECT id, environment_id, user_id, credential_id, wallet_id, status, sealed_payload, delivered_at, delivery_error,
                    delivery_job_id, expires_at, created_at, updated_at
             FROM provisioned_credentials WHERE wallet_id = $1 ORDER BY id",
            wallet_id
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn mailbox(&self, wallet_id: Uuid, page: PageRequest) -> StoreResult<Page<ProvisionedCredential>> {
        let (after, limit) = (after_key(&page), page.fetch_limit());
        // `sealed_payload IS NOT NULL` word for word: the partial index `mailboxes`.
        let rows = sqlx::query_as!(
            ProvisionedCredentialRow,
            "SELECT id, environment_id, user_id, credential_id, wallet_id, status, sealed_payload, delivered_at, delivery_error,
                    delivery_job_id, expires_at, created_at, updated_at
             FROM provisioned_credentials
             WHERE wallet_id = $1 AND sealed_payload IS NOT NULL AND status = 'CREATED' AND (wallet_id, id) > ($1, $2)
             ORDER BY id LIMIT $3",
            wallet_id,
            after,
            limit,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn wallet_actions(&self, provisioned_id: Uuid) -> StoreResult<Vec<WalletActionRecord>> {
        let rows = sqlx::query!(
            "SELECT action, occurred_at FROM wallet_actions WHERE provisioned_id = $1 ORDER BY occurred_at",
            provisioned_id
        )
        .fetch_all(&self.pool)
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let delivered = sqlx::query!(
            "UPDATE provisioned_credentials SET sealed_payload = $2, delivered_at = $3, delivery_error = NULL, updated_at = $3
             WHERE id = $1 AND status = $4 AND delivered_at IS NULL AND (delivery_job_id = $5 OR delivery_job_id IS NULL)
             RETURNING credential_id",
            provisioned_id,
            sealed_payload,
            at,
            ProvisionStatus::Created.as_str(),
            job_id,
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(delivered) = delivered else { return Ok(false) };
        let (pending, issued) = (CredentialStatus::Pending.as_str(), CredentialStatus::Issued.as_str());
        sqlx::query!(
            "UPDATE user_credentials SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2",
            delivered.credential_id,
            pending,
            issued,
            at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn record_delivery_error(
        &self,
        provisioned_id: Uuid,
        job_id: Uuid,
        error: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query!(
            "UPDATE provisioned_credentials SET delivery_error = $3, updated_at = $4
             WHERE id = $1 AND (delivery_job_id = $2 OR delivery_job_id IS NULL)",
            provisioned_id,
            job_id,
            error,
            at,
        )
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn purge_mailbox(
        &self,
        provisioned_id: Uuid,
        delivered_before: Timestamp,
        reason: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let result = sqlx::query!(
            "UPDATE provisioned_credentials SET sealed_payload = NULL, delivery_error = $3, updated_at = $4
             WHERE id = $1 AND sealed_payload IS NOT NULL AND delivered_at <= $2",
            provisioned_id,
            delivered_before,
            reason,
            at,
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(result.rows_affected() > 0)
    }

    async fn record_wallet_action(&self, provisioned_id: Uuid, action: WalletAction, at: Timestamp) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let (id, status, name) = (provisioned_id, action.status().as_str(), action.as_str());
        let result = sqlx::query!(
            "UPDATE provisioned_credentials SET status = $2, sealed_payload = NULL, updated_at = $3 WHERE id = $1",
            id,
            status,
            at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        sqlx::query!(
            "INSERT INTO wallet_actions (provisioned_id, action, occurred_at) VALUES ($1, $2, $3)",
            id,
            name,
            at
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn enqueue_job(&self, job: &NewJob) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        write_outbox(&mut conn, &Outbox { notifications: Vec::new(), jobs: vec![job.clone()] }).await
    }

    async fn claim_jobs(&self, now: Timestamp, lease_until: Timestamp, limit: u32) -> StoreResult<Vec<ClaimedJob>> {
        // SKIP LOCKED: concurrent claimers (other instances too) each take different
        // rows instead of queueing behind the same ones. A running job was due when it
        // was claimed, so `run_at <= now` holds for every candidate and bounds the
        // index scan: jobs due tomorrow are never visited.
        let rows = sqlx::query!(
            r#"UPDATE jobs SET status = 'running', attempts = jobs.attempts + 1, locked_until = $2, updated_at = $1
               FROM (SELECT id FROM jobs
                     WHERE run_at <= $1 AND (status = 'queued' OR (status = 'running' AND locked_until < $1))
                     ORDER BY run_at LIMIT $3
                     FOR UPDATE SKIP LOCKED) next
               WHERE jobs.id = next.id
               RETURNING jobs.id, jobs.kind, jobs.payload, jobs.attempts, jobs.max_attempts"#,
            now,
            lease_until,
            i64::from(limit),
        )
        .fetch_all(&self.bookkeeping)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|r| ClaimedJob {
                id: r.id,
                kind: r.kind,
                payload: r.payload,
                attempt: r.attempts,
                max_attempts: r.max_attempts,
            })
            .collect())
    }

    async fn finish_jobs(&self, settled: &[SettledJob], now: Timestamp) -> StoreResult<()> {
        let (mut ids, mut attempts, mut statuses, mut run_ats, mut errors) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for SettledJob { job, outcome } in settled {
            let (status, run_at, error) = outcome.settlement();
            ids.push(job.id);
            attempts.push(job.attempt);
            statuses.push(status.as_str());
            run_ats.push(run_at);
            errors.push(error);
        }
        sqlx::query!(
            "UPDATE jobs SET status = settled.status, run_at = COALESCE(settled.run_at, jobs.run_at),
                             last_error = COALESCE(settled.error, jobs.last_error), locked_until = NULL,
                             updated_at = $6,
                             payload = CASE WHEN settled.status = 'done' THEN ''::bytea ELSE jobs.payload END
             FROM UNNEST($1::uuid[], $2::int8[], $3::text[], $4::timestamptz[], $5::text[])
                 AS settled (id, attempt, status, run_at, error)
             WHERE jobs.id = settled.id AND jobs.attempts = settled.attempt AND jobs.status = 'running'",
            &ids as &[Uuid],
            &attempts as &[i64],
            &statuses as &[&str],
            &run_ats as &[Option<Timestamp>],
            &errors as &[Option<&str>],
            now,
        )
        .execute(&self.bookkeeping)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn job(&self, id: Uuid) -> StoreResult<Job> {
        sqlx::query_as!(
            JobRow,
            "SELECT id, kind, payload, status, attempts, max_attempts, run_at, locked_until, last_error, created_at,
                    updated_at
             FROM jobs WHERE id = $1",
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn job_queue(&self, now: Timestamp) -> StoreResult<JobQueue> {
        let row = sqlx::query!(
            r#"SELECT count(*) FILTER (WHERE run_at <= $1 AND (status = 'queued' OR locked_until < $1)) AS "due!",
                      count(*) FILTER (WHERE status = 'running' AND locked_until >= $1) AS "running!",
                      count(*) FILTER (WHERE status = 'queued' AND run_at > $1) AS "scheduled!",
                      min(run_at) FILTER (WHERE run_at <= $1 AND (status = 'queued' OR locked_until < $1)) AS oldest_due
               FROM jobs WHERE status IN ('queued', 'running')"#,
            now,
        )
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        Ok(JobQueue { due: row.due, running: row.running, scheduled: row.scheduled, oldest_due: row.oldest_due })
    }

    async fn prune(&self, before: &PruneBefore, batch: u32) -> StoreResult<Pruned> {
        // Each kind is a statement and a short transaction of its own. SKIP LOCKED:
        // instances pruning at once each take other rows instead of queueing behind the
        // same ones. On the bookkeeping pool: a prune lost in a crash is done again.
        // Each status has a statement of its own, which names it as a literal: a partial
        // index serves only a query that repeats its condition.
        let batch = i64::from(batch);
        let mut pruned = Pruned::default();
        if let Some(cutoff) = before.done_jobs {
            pruned.done_jobs = sqlx::query!(
                "DELETE FROM jobs WHERE id IN
                   (SELECT id FROM jobs WHERE status = 'done' AND updated_at < $1 ORDER BY updated_at LIMIT $2
                    FOR UPDATE SKIP LOCKED)",
                cutoff,
                batch,
            )
            .execute(&self.bookkeeping)
            .await
            .map_err(backend)?
            .rows_affected();
        }
        if let Some(cutoff) = before.dead_jobs {
            pruned.dead_jobs = sqlx::query!(
                "DELETE FROM jobs WHERE id IN
                   (SELECT id FROM jobs WHERE status = 'dead' AND updated_at < $1 ORDER BY updated_at LIMIT $2
                    FOR UPDATE SKIP LOCKED)",
                cutoff,
                batch,
            )
            .execute(&self.bookkeeping)
            .await
            .map_err(backend)?
            .rows_affected();
        }
        if let Some(cutoff) = before.sent_notifications {
            pruned.sent_notifications = sqlx::query!(
                "DELETE FROM notifications WHERE id IN
                   (SELECT id FROM notifications WHERE status = 'SENT' AND created_at < $1 ORDER BY created_at LIMIT $2
                    FOR UPDATE SKIP LOCKED)",
                cutoff,
                batch,
            )
            .execute(&self.bookkeeping)
            .await
            .map_err(backend)?
            .rows_affected();
        }
        if let Some(cutoff) = before.failed_notifications {
            pruned.failed_notifications = sqlx::query!(
                "DELETE FROM notifications WHERE id IN
                   (SELECT id FROM notifications WHERE status = 'FAILED' AND created_at < $1 ORDER BY created_at LIMIT $2
                    FOR UPDATE SKIP LOCKED)",
                cutoff,
                batch,
            )
            .execute(&self.bookkeeping)
            .await
            .map_err(backend)?
            .rows_affected();
        }
        if let Some(cutoff) = before.expired_pairing_sessions {
            pruned.expired_pairing_sessions = sqlx::query!(
                "DELETE FROM pairing_sessions WHERE id IN
                   (SELECT s.id FROM pairing_sessions s
                    WHERE s.status = 'EXPIRED' AND s.updated_at < $1
                      AND NOT EXISTS (SELECT 1 FROM pairing_attempts a WHERE a.session_id = s.id)
                    ORDER BY s.updated_at LIMIT $2
                    FOR UPDATE SKIP LOCKED)",
                cutoff,
                batch,
            )
            .execute(&self.bookkeeping)
            .await
            .map_err(backend)?
            .rows_affected();
        }
        Ok(pruned)
    }

    async fn storage_usage(&self) -> StoreResult<StorageUsage> {
        // The statistics' running row estimates: no table is read. The database's size
        // is a sum over its files.
        let row = sqlx::query!(
            r#"SELECT coalesce(sum(n_live_tup) FILTER (WHERE relname = 'jobs'), 0)::int8 AS "jobs!",
                      coalesce(sum(n_live_tup) FILTER (WHERE relname = 'notifications'), 0)::int8 AS "notifications!",
                      coalesce(sum(n_live_tup) FILTER (WHERE relname = 'pairing_sessions'), 0)::int8
                          AS "pairing_sessions!",
                      pg_database_size(current_database()) AS "database_bytes!"
               FROM pg_stat_user_tables
               WHERE schemaname = current_schema() AND relname IN ('jobs', 'notifications', 'pairing_sessions')"#
        )
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        Ok(StorageUsage {
            jobs: row.jobs,
            notifications: row.notifications,
            pairing_sessions: row.pairing_sessions,
            database_bytes: row.database_bytes,
            free_bytes: None,
        })
    }
}

#[cfg(test)]
mod conformance {
    domain::conformance_tests!(sqlx::PgPool, crate::PgStore::new, migrations = "../../migrations/postgres");
}
