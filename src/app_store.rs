//! The store credd runs on, picked at start from the database URL's scheme.
//!
//! An enum rather than `dyn Store`: the traits' async methods are not object safe,
//! and an enum keeps one router instead of one per backend.

use std::path::Path;

use domain::application::{Application, ClientSecret, MobileIdentifier};
use domain::configuration::Configuration;
use domain::credential::{
    CredentialType, CredentialTypeVersion, IssuerProfile, ProvisionedCredential, UserCredential, WalletAction,
    WalletActionRecord,
};
use domain::environment::Environment;
use domain::group::{Group, GroupGraph, GroupNode, GroupWrite, MemberAdded, Nested};
use domain::job::{ClaimedJob, Job, JobQueue, NewJob, PruneBefore, Pruned, SettledJob};
use domain::mfa::{Device, DeviceFilter, DevicePolicy, DeviceSlot, MethodPolicy, MfaSettings, OtpAttempt};
use domain::notification::{Notification, NotificationFilter, NotificationStatus, TemplateContent, TemplateName};
use domain::page::{Page, PageRequest};
use domain::population::Population;
use domain::signing_key::SigningKey;
use domain::store::{
    ApplicationStore, CredentialTypeStore, EnvironmentStore, GroupStore, HealthStore, JobStore, MfaStore,
    NotificationStore, Outbox, PoolUsage, PopulationStore, StorageUsage, StoreResult, UserCredentialStore, UserStore,
    WalletStore,
};
use domain::time::Timestamp;
use domain::user::{User, UserFilter};
use domain::wallet::{DigitalWallet, PairingAttempt, PairingSession, WalletApplication};
use store_postgres::PgStore;
use store_sqlite::SqliteStore;
use uuid::Uuid;

#[derive(Clone, Debug)]
pub enum AppStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "unsupported database URL {0:?}: use sqlite://path/to/credd.db (the default) or postgres://user@host/database"
    )]
    UnsupportedScheme(String),
    #[error("cannot create the folder for the SQLite database {0:?}: {1}")]
    Folder(String, std::io::Error),
    #[error("cannot open the database: {0}")]
    Connect(#[from] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl AppStore {
    /// Opens the database the URL names. SQLite files and their folders are created
    /// and migrated; Postgres is migrated only when `migrate` is set, because
    /// deployments run `sqlx migrate run` before starting instances.
    pub async fn open(url: &str, max_connections: u32, migrate: bool) -> Result<Self, OpenError> {
        let scheme = url.split(':').next().unwrap_or_default();
        let store = match scheme {
            "sqlite" => {
                create_sqlite_folder(url)?;
                let store = SqliteStore::connect(url).await?;
                store.migrate().await?;
                Self::Sqlite(store)
            }
            "postgres" | "postgresql" => {
                let store = PgStore::connect(url, max_connections).await?;
                if migrate {
                    store.migrate().await?;
                }
                Self::Postgres(store)
            }
            _ => return Err(OpenError::UnsupportedScheme(redact(url))),
        };
        Ok(store)
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Self::Sqlite(store) => store.migrate().await,
            Self::Postgres(store) => store.migrate().await,
        }
    }

    /// The migrations this binary holds that the database has not applied (empty when
    /// the schema is current), by version.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>, sqlx::migrate::MigrateError> {
        let (migrator, applied) = match self {
            Self::Sqlite(store) => (&store_sqlite::MIGRATOR, store.applied_migrations().await?),
            Self::Postgres(store) => (&store_postgres::MIGRATOR, store.applied_migrations().await?),
        };
        Ok(migrator
            .iter()
            .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
            .map(|m| m.version)
            .collect())
    }

    pub async fn close(&self) {
        match self {
            Self::Sqlite(store) => store.close().await,
            Self::Postgres(store) => store.close().await,
        }
    }

    /// Each connection pool's usage, for metrics.
    pub fn pool_usage(&self) -> Vec<PoolUsage> {
        match self {
            Self::Sqlite(store) => store.pool_usage().to_vec(),
            Self::Postgres(store) => store.pool_usage().to_vec(),
        }
    }
}

/// Drops any password from a URL before it is shown in an error.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

fn create_sqlite_folder(url: &str) -> Result<(), OpenError> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(":memory:") {
        return Ok(());
    }
    match Path::new(path).parent() {
        Some(folder) if !folder.as_os_str().is_empty() => {
            crate::crypto::create_private_folder(folder).map_err(|e| OpenError::Folder(folder.display().to_string(), e))
        }
        _ => Ok(()),
    }
}

/// Implements each listed trait for `AppStore` by forwarding every method to the
/// backend in use.
macro_rules! delegate {
    ($(impl $store:ident { $( fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty; )* })*) => {$(
        impl $store for AppStore {$(
            async fn $name(&self $(, $arg: $ty)*) -> $ret {
                match self {
                    Self::Sqlite(store) => store.$name($($arg),*).await,
                    Self::Postgres(store) => store.$name($($arg),*).await,
                }
            }
        )*}
    )*};
}

delegate! {
    impl HealthStore {
        fn check_writable(&self) -> StoreResult<()>;
        fn storage_usage(&self) -> StoreResult<StorageUsage>;
    }
    impl EnvironmentStore {
        fn create_environment(&self, environment: &Environment, policy: &DevicePolicy, population: &Population) -> StoreResult<()>;
        fn environment(&self, id: Uuid) -> StoreResult<Environment>;
        fn environments(&self, page: PageRequest) -> StoreResult<Page<Environment>>;
        fn update_environment(&self, environment: &Environment) -> StoreResult<()>;
        fn delete_environment(&self, id: Uuid) -> StoreResult<()>;
        fn reset_environment(&self, configuration: &Configuration) -> StoreResult<()>;
        fn replace_configuration(&self, configuration: &Configuration) -> StoreResult<bool>;
        fn signing_key(&self, id: Uuid) -> StoreResult<SigningKey>;
        fn signing_keys(&self, environment_id: Uuid) -> StoreResult<Vec<SigningKey>>;
        fn add_signing_key(&self, key: &SigningKey, newest: Option<Uuid>) -> StoreResult<SigningKey>;
    }
    impl ApplicationStore {
        fn create_application(&self, application: &Application) -> StoreResult<()>;
        fn application(&self, environment_id: Uuid, id: Uuid) -> StoreResult<Application>;
        fn applications(&self, environment_id: Uuid, page: PageRequest) -> StoreResult<Page<Application>>;
        fn update_application(&self, application: &Application) -> StoreResult<()>;
        fn replace_application_secret(&self, environment_id: Uuid, id: Uuid, secret: &ClientSecret, updated_at: Timestamp) -> StoreResult<()>;
        fn delete_application(&self, environment_id: Uuid, id: Uuid, now: Timestamp) -> StoreResult<()>;
        fn taken_mobile_identifiers(&self, application: &Application) -> StoreResult<Vec<MobileIdentifier>>;
    }
    impl PopulationStore {
        fn create_population(&self, population: &Population) -> StoreResult<()>;
        fn population(&self, environment_id: Uuid, id: Uuid) -> StoreResult<Population>;
        fn default_population(&self, environment_id: Uuid) -> StoreResult<Population>;
        fn populations(&self, environment_id: Uuid, page: PageRequest) -> StoreResult<Page<Population>>;
        fn update_population(&self, population: &Population) -> StoreResult<()>;
        fn delete_population(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()>;
    }
    impl UserStore {
        fn create_user(&self, user: &User) -> StoreResult<()>;
        fn user(&self, environment_id: Uuid, id: Uuid) -> StoreResult<User>;
        fn users(&self, environment_id: Uuid, filter: &UserFilter, page: PageRequest) -> StoreResult<Page<User>>;
        fn update_user(&self, user: &User) -> StoreResult<()>;
        fn delete_user(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()>;
        fn count_users(&self, environment_id: Uuid) -> StoreResult<u64>;
    }
    impl GroupStore {
        fn create_group(&self, group: &Group) -> StoreResult<GroupWrite>;
        fn group(&self, environment_id: Uuid, id: Uuid) -> StoreResult<Group>;
        fn groups(&self, environment_id: Uuid, page: PageRequest) -> StoreResult<Page<Group>>;
        fn update_group(&self, group: &Group) -> StoreResult<GroupWrite>;
        fn delete_group(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()>;
        fn add_group_member(&self, environment_id: Uuid, user_id: Uuid, group_id: Uuid) -> StoreResult<MemberAdded>;
        fn remove_group_member(&self, environment_id: Uuid, user_id: Uuid, group_id: Uuid) -> StoreResult<()>;
        fn direct_groups(&self, environment_id: Uuid, user_ids: &[Uuid]) -> StoreResult<Vec<(Uuid, Uuid)>>;
        fn direct_members(&self, environment_id: Uuid, group_ids: &[Uuid]) -> StoreResult<Vec<Uuid>>;
        fn dynamic_groups(&self, environment_id: Uuid) -> StoreResult<Vec<GroupNode>>;
        fn add_group_nesting(&self, environment_id: Uuid, group_id: Uuid, outer_group_id: Uuid) -> StoreResult<Nested>;
        fn remove_group_nesting(&self, environment_id: Uuid, group_id: Uuid, outer_group_id: Uuid) -> StoreResult<()>;
        fn groups_above(&self, environment_id: Uuid, group_ids: &[Uuid]) -> StoreResult<GroupGraph>;
        fn groups_below(&self, environment_id: Uuid, group_id: Uuid) -> StoreResult<Vec<GroupNode>>;
    }
    impl WalletStore {
        fn create_wallet_application(&self, application: &WalletApplication) -> StoreResult<()>;
        fn wallet_application(&self, environment_id: Uuid, id: Uuid) -> StoreResult<WalletApplication>;
        fn wallet_applications(&self, environment_id: Uuid, page: PageRequest) -> StoreResult<Page<WalletApplication>>;
        fn update_wallet_application(&self, application: &WalletApplication) -> StoreResult<()>;
        fn delete_wallet_application(&self, environment_id: Uuid, id: Uuid, now: Timestamp) -> StoreResult<()>;
        fn create_wallet(&self, wallet: &DigitalWallet, session: &PairingSession, outbox: &Outbox) -> StoreResult<()>;
        fn wallet_by_id(&self, id: Uuid) -> StoreResult<DigitalWallet>;
        fn wallets(&self, environment_id: Uuid, user_id: Uuid, page: PageRequest) -> StoreResult<Page<DigitalWallet>>;
        fn update_wallet(&self, wallet: &DigitalWallet, outbox: &Outbox) -> StoreResult<()>;
        fn delete_wallet(&self, environment_id: Uuid, user_id: Uuid, id: Uuid, at: Timestamp) -> StoreResult<()>;
        fn pairing_session_of_wallet(&self, wallet_id: Uuid) -> StoreResult<PairingSession>;
        fn pairing_session(&self, link_hash: &str) -> StoreResult<PairingSession>;
        fn wallet_with_attempts(&self, id: Uuid) -> StoreResult<(DigitalWallet, Vec<PairingAttempt>)>;
        fn record_pairing_failure(&self, attempt: &PairingAttempt) -> StoreResult<()>;
        fn complete_pairing(&self, wallet: &DigitalWallet, attempt: &PairingAttempt, outbox: &Outbox) -> StoreResult<()>;
        fn expire_pairing_session(&self, session_id: Uuid, now: Timestamp) -> StoreResult<bool>;
    }
    impl NotificationStore {
        fn create_template_content(&self, content: &TemplateContent) -> StoreResult<()>;
        fn template_content(&self, environment_id: Uuid, template: TemplateName, id: Uuid) -> StoreResult<TemplateContent>;
        fn template_contents(&self, environment_id: Uuid, template: TemplateName) -> StoreResult<Vec<TemplateContent>>;
        fn update_template_content(&self, content: &TemplateContent) -> StoreResult<()>;
        fn delete_template_content(&self, environment_id: Uuid, template: TemplateName, id: Uuid) -> StoreResult<()>;
        fn notification(&self, id: Uuid) -> StoreResult<Notification>;
        fn notifications(&self, environment_id: Uuid, filter: &NotificationFilter, page: PageRequest) -> StoreResult<Page<Notification>>;
        fn count_notifications(&self, environment_id: Uuid) -> StoreResult<u64>;
        fn settle_notification(&self, id: Uuid, status: NotificationStatus, error: Option<&str>, at: Timestamp) -> StoreResult<()>;
    }
    impl MfaStore {
        fn create_device_policy(&self, policy: &DevicePolicy) -> StoreResult<()>;
        fn device_policy(&self, environment_id: Uuid, id: Uuid) -> StoreResult<DevicePolicy>;
        fn device_policies(&self, environment_id: Uuid) -> StoreResult<Vec<DevicePolicy>>;
        fn update_device_policy(&self, policy: &DevicePolicy) -> StoreResult<()>;
        fn delete_device_policy(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()>;
        fn mfa_settings(&self, environment_id: Uuid) -> StoreResult<Option<MfaSettings>>;
        fn put_mfa_settings(&self, settings: &MfaSettings) -> StoreResult<()>;
        fn create_device(&self, device: &Device, max_devices: i64, outbox: &Outbox) -> StoreResult<DeviceSlot>;
        fn device(&self, environment_id: Uuid, user_id: Uuid, id: Uuid) -> StoreResult<Device>;
        fn devices(&self, environment_id: Uuid, user_id: Uuid, filter: &DeviceFilter, page: PageRequest) -> StoreResult<Page<Device>>;
        fn set_device_nickname(&self, environment_id: Uuid, user_id: Uuid, id: Uuid, nickname: Option<&str>, at: Timestamp) -> StoreResult<Device>;
        fn issue_device_code(&self, device: &Device, outbox: &Outbox) -> StoreResult<bool>;
        fn claim_otp_attempt(&self, environment_id: Uuid, user_id: Uuid, id: Uuid, rules: &MethodPolicy, at: Timestamp) -> StoreResult<Option<OtpAttempt>>;
        fn activate_device(&self, environment_id: Uuid, user_id: Uuid, id: Uuid, otp_hash: Option<&[u8]>, at: Timestamp) -> StoreResult<Option<Device>>;
        fn delete_device(&self, environment_id: Uuid, user_id: Uuid, id: Uuid) -> StoreResult<()>;
        fn reorder_devices(&self, environment_id: Uuid, user_id: Uuid, order: &[Uuid]) -> StoreResult<()>;
    }
    impl CredentialTypeStore {
        fn ensure_issuer_profile(&self, profile: &IssuerProfile) -> StoreResult<IssuerProfile>;
        fn issuer_profile(&self, environment_id: Uuid) -> StoreResult<IssuerProfile>;
        fn update_issuer_profile(&self, profile: &IssuerProfile) -> StoreResult<()>;
        fn create_credential_type(&self, credential_type: &CredentialType) -> StoreResult<()>;
        fn credential_type(&self, environment_id: Uuid, id: Uuid) -> StoreResult<CredentialType>;
        fn credential_types(&self, environment_id: Uuid, page: PageRequest) -> StoreResult<Page<CredentialType>>;
        fn update_credential_type(&self, credential_type: &CredentialType) -> StoreResult<()>;
        fn credential_type_versions(&self, environment_id: Uuid, type_id: Uuid, page: PageRequest) -> StoreResult<Page<CredentialTypeVersion>>;
        fn credential_type_version(&self, environment_id: Uuid, type_id: Uuid, id: Uuid) -> StoreResult<CredentialTypeVersion>;
        fn delete_credential_type(&self, environment_id: Uuid, id: Uuid, at: Timestamp, revoke_issued: bool) -> StoreResult<()>;
    }
    impl UserCredentialStore {
        fn create_user_credential(&self, credential: &UserCredential, provisioned: &[ProvisionedCredential], outbox: &Outbox) -> StoreResult<()>;
        fn update_user_credential(&self, credential: &UserCredential, provisioned: &[ProvisionedCredential], outbox: &Outbox) -> StoreResult<()>;
        fn add_provisioned_credential(&self, provisioned: &ProvisionedCredential, outbox: &Outbox) -> StoreResult<()>;
        fn expire_user_credential(&self, credential_id: Uuid, now: Timestamp) -> StoreResult<bool>;
        fn user_credential(&self, environment_id: Uuid, user_id: Uuid, id: Uuid) -> StoreResult<UserCredential>;
        fn user_credentials(&self, environment_id: Uuid, user_id: Uuid, page: PageRequest) -> StoreResult<Page<UserCredential>>;
        fn provisioned_credential(&self, id: Uuid) -> StoreResult<ProvisionedCredential>;
        fn provisioned_of_credential(&self, credential_id: Uuid) -> StoreResult<Vec<ProvisionedCredential>>;
        fn provisioned_in_wallet(&self, wallet_id: Uuid) -> StoreResult<Vec<ProvisionedCredential>>;
        fn mailbox(&self, wallet_id: Uuid, page: PageRequest) -> StoreResult<Page<ProvisionedCredential>>;
        fn wallet_actions(&self, provisioned_id: Uuid) -> StoreResult<Vec<WalletActionRecord>>;
        fn deliver_credential(&self, provisioned_id: Uuid, job_id: Uuid, sealed_payload: &[u8], at: Timestamp, outbox: &Outbox) -> StoreResult<bool>;
        fn record_delivery_error(&self, provisioned_id: Uuid, job_id: Uuid, error: &str, at: Timestamp) -> StoreResult<()>;
        fn purge_mailbox(&self, provisioned_id: Uuid, delivered_before: Timestamp, reason: &str, at: Timestamp) -> StoreResult<bool>;
        fn record_wallet_action(&self, provisioned_id: Uuid, action: WalletAction, at: Timestamp) -> StoreResult<()>;
    }
    impl JobStore {
        fn enqueue_job(&self, job: &NewJob) -> StoreResult<()>;
        fn claim_jobs(&self, now: Timestamp, lease_until: Timestamp, limit: u32) -> StoreResult<Vec<ClaimedJob>>;
        fn finish_jobs(&self, settled: &[SettledJob], now: Timestamp) -> StoreResult<()>;
        fn job(&self, id: Uuid) -> StoreResult<Job>;
        fn job_queue(&self, now: Timestamp) -> StoreResult<JobQueue>;
        fn prune(&self, before: &PruneBefore, batch: u32) -> StoreResult<Pruned>;
    }
}
