//! The storage contract. `store-sqlite` and `store-postgres` implement it, and the
//! conformance suite (feature `conformance`) holds both to the same behaviour.
//!
//! Every method that writes is one transaction. Reads scoped to an environment take
//! its id, so a row of another environment is simply not found.

use std::future::Future;

use uuid::Uuid;

use crate::application::Application;
use crate::configuration::Configuration;
use crate::credential::{
    CredentialType, IssuerProfile, ProvisionedCredential, UserCredential, WalletAction, WalletActionRecord,
};
use crate::environment::Environment;
use crate::job::{ClaimedJob, Job, JobQueue, NewJob, PruneBefore, Pruned, SettledJob};
use crate::mfa::{Device, DeviceFilter, DevicePolicy, DeviceSlot, MethodPolicy, MfaSettings, OtpAttempt};
use crate::notification::{Notification, NotificationFilter, NotificationStatus, TemplateContent, TemplateName};
use crate::page::{Page, PageRequest};
use crate::signing_key::SigningKey;
use crate::time::Timestamp;
use crate::user::{User, UserFilter};
use crate::wallet::{DigitalWallet, PairingAttempt, PairingSession, WalletApplication};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule refused the write; the caller knows which one applies.
    #[error("conflicts with an existing record")]
    Conflict,
    /// The database cannot serve now: unreachable, restarting, read-only, out of disk
    /// or locked too long. Trying again later may work.
    #[error("storage unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database failed or holds something this version cannot read.
    #[error("storage failure: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(error))
    }

    /// A stored value this version cannot interpret (an unknown enum text, say).
    pub fn corrupt(what: impl Into<String>) -> Self {
        Self::Backend(what.into().into())
    }

    /// Reads a stored enum text with the type's own parser.
    pub fn parse_stored<T>(column: &str, value: &str, parse: impl FnOnce(&str) -> Option<T>) -> StoreResult<T> {
        parse(value).ok_or_else(|| Self::corrupt(format!("unknown {column} {value:?} in the database")))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Messages and jobs that a write queues in its own transaction, so a request's
/// effects and the work it starts commit, or vanish, together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbox {
    pub notifications: Vec<Notification>,
    pub jobs: Vec<NewJob>,
}

/// How full one connection pool of a store is, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Which of the backend's pools: SQLite's `reader` and `writer`, Postgres' `main`.
    pub pool: &'static str,
    /// Connections open, busy or idle.
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// How much a store holds, for metrics: the tables that grow with use, and the
/// database's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageUsage {
    /// Rows of `jobs`, `notifications` and `pairing_sessions`: counted on SQLite,
    /// Postgres' running estimate (`pg_stat_user_tables.n_live_tup`).
    pub jobs: i64,
    pub notifications: i64,
    pub pairing_sessions: i64,
    /// The database file (SQLite) or database (Postgres), in bytes.
    pub database_bytes: i64,
    /// SQLite's free pages, in bytes: space the file holds for reuse but gives back
    /// only by vacuuming. Postgres keeps no such count.
    pub free_bytes: Option<i64>,
}

/// Async methods return `Send` futures so handlers can run on any runtime thread.
pub trait Store: Clone + Send + Sync + 'static {
    /// Can this instance serve: the database answers reads, and a write through this
    /// instance's writer commits?
    fn check_writable(&self) -> impl Future<Output = StoreResult<()>> + Send;

    // Environments -------------------------------------------------------------

    /// Creates the environment with its first signing key and its default device
    /// policy. `Conflict` when the id exists.
    fn create_environment(
        &self,
        environment: &Environment,
        key: &SigningKey,
        policy: &DevicePolicy,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn environment(&self, id: Uuid) -> impl Future<Output = StoreResult<Environment>> + Send;
    fn environments(&self, page: PageRequest) -> impl Future<Output = StoreResult<Page<Environment>>> + Send;
    fn update_environment(&self, environment: &Environment) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes the environment and everything in it.
    fn delete_environment(&self, id: Uuid) -> impl Future<Output = StoreResult<()>> + Send;
    /// Empties the environment back to `configuration`, in one transaction: deletes
    /// its users with everything that hangs on them (wallets, pairing sessions,
    /// credentials and their copies, devices) and its notifications, then replaces
    /// the configuration as [`Store::replace_configuration`] does. The environment,
    /// its applications and signing keys, and its issuer key stay. Jobs are not
    /// scoped to an environment and stay too; each finds its record gone and ends.
    fn reset_environment(&self, configuration: &Configuration) -> impl Future<Output = StoreResult<()>> + Send;
    /// Replaces the environment's credential types, wallet applications, template
    /// contents, device policies and MFA settings with the configuration's, and
    /// gives its issuer profile the configuration's name and site URL (made with the
    /// configuration's key when it has none), in one transaction. Writes nothing and
    /// answers false when the environment has users, whose records point at the
    /// configuration. `Conflict` when an id belongs to another environment's record.
    fn replace_configuration(&self, configuration: &Configuration) -> impl Future<Output = StoreResult<bool>> + Send;

    // Signing keys -------------------------------------------------------------

    fn signing_key(&self, id: Uuid) -> impl Future<Output = StoreResult<SigningKey>> + Send;
    /// The environment's keys, newest first.
    fn signing_keys(&self, environment_id: Uuid) -> impl Future<Output = StoreResult<Vec<SigningKey>>> + Send;

    // Applications -------------------------------------------------------------

    /// `Conflict` when the id exists.
    fn create_application(&self, application: &Application) -> impl Future<Output = StoreResult<()>> + Send;
    fn application(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<Application>> + Send;
    fn applications(
        &self,
        environment_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<Application>>> + Send;
    /// Writes the application's fields; its secret changes only through
    /// [`Store::replace_application_secret`], so a replace racing a rotation cannot
    /// write the old secret back.
    fn update_application(&self, application: &Application) -> impl Future<Output = StoreResult<()>> + Send;
    fn replace_application_secret(
        &self,
        environment_id: Uuid,
        id: Uuid,
        secret_hash: &[u8],
        updated_at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_application(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<()>> + Send;

    // Users --------------------------------------------------------------------

    /// `Conflict` when the username is taken in the environment, in any case of A to Z.
    fn create_user(&self, user: &User) -> impl Future<Output = StoreResult<()>> + Send;
    fn user(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<User>> + Send;
    /// `filter.username` matches whatever the case of A to Z; `filter.email` exactly.
    fn users(
        &self,
        environment_id: Uuid,
        filter: &UserFilter,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<User>>> + Send;
    /// `Conflict` when the new username is taken in the environment.
    fn update_user(&self, user: &User) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_user(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<()>> + Send;

    // Digital wallet applications ---------------------------------------------

    fn create_wallet_application(
        &self,
        application: &WalletApplication,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn wallet_application(
        &self,
        environment_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = StoreResult<WalletApplication>> + Send;
    fn wallet_applications(
        &self,
        environment_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<WalletApplication>>> + Send;
    fn update_wallet_application(
        &self,
        application: &WalletApplication,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes the application and disables its wallets, revoking the credentials
    /// provisioned to them and ending their pending pairing sessions.
    fn delete_wallet_application(
        &self,
        environment_id: Uuid,
        id: Uuid,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    // Digital wallets and pairing -------------------------------------------------

    /// Creates the wallet, its pairing session and the outbox entries.
    fn create_wallet(
        &self,
        wallet: &DigitalWallet,
        session: &PairingSession,
        outbox: &Outbox,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A wallet by id; callers scoped to an environment and user check those.
    fn wallet_by_id(&self, id: Uuid) -> impl Future<Output = StoreResult<DigitalWallet>> + Send;
    fn wallets(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<DigitalWallet>>> + Send;
    /// Writes the wallet's status and instance, with the outbox. A `DISABLED` wallet
    /// has the credentials provisioned to it revoked and its pending pairing session
    /// ended (`EXPIRED`).
    fn update_wallet(&self, wallet: &DigitalWallet, outbox: &Outbox) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes the wallet and revokes the credentials provisioned to it (the copies
    /// stay, as the credential's history).
    fn delete_wallet(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The wallet's newest pairing session.
    fn pairing_session_of_wallet(&self, wallet_id: Uuid) -> impl Future<Output = StoreResult<PairingSession>> + Send;
    /// The session whose link hashes to `link_hash`.
    fn pairing_session(&self, link_hash: &str) -> impl Future<Output = StoreResult<PairingSession>> + Send;
    /// The wallet with its pairing attempts, oldest first: what a wallet read shows,
    /// in one round trip where the backend allows.
    fn wallet_with_attempts(
        &self,
        id: Uuid,
    ) -> impl Future<Output = StoreResult<(DigitalWallet, Vec<PairingAttempt>)>> + Send;
    /// Records the failed attempt and counts it on its session.
    fn record_pairing_failure(&self, attempt: &PairingAttempt) -> impl Future<Output = StoreResult<()>> + Send;
    /// Completes the session, stores the paired wallet and the attempt, and the outbox;
    /// `Conflict`, changing nothing, unless the session is still `INITIAL` and its wallet
    /// still `PAIRING_REQUIRED` with its application (another request won, or the wallet
    /// was disabled or its application deleted meanwhile).
    fn complete_pairing(
        &self,
        wallet: &DigitalWallet,
        attempt: &PairingAttempt,
        outbox: &Outbox,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Expires the session and its wallet if the session is still `INITIAL` and due;
    /// true when it did.
    fn expire_pairing_session(
        &self,
        session_id: Uuid,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    // Notification template contents --------------------------------------------

    /// `Conflict` when the template, method, locale and variant already have one.
    fn create_template_content(&self, content: &TemplateContent) -> impl Future<Output = StoreResult<()>> + Send;
    fn template_content(
        &self,
        environment_id: Uuid,
        template: TemplateName,
        id: Uuid,
    ) -> impl Future<Output = StoreResult<TemplateContent>> + Send;
    /// Oldest first.
    fn template_contents(
        &self,
        environment_id: Uuid,
        template: TemplateName,
    ) -> impl Future<Output = StoreResult<Vec<TemplateContent>>> + Send;
    fn update_template_content(&self, content: &TemplateContent) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_template_content(
        &self,
        environment_id: Uuid,
        template: TemplateName,
        id: Uuid,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    // Notifications ----------------------------------------------------------------

    fn notification(&self, id: Uuid) -> impl Future<Output = StoreResult<Notification>> + Send;
    /// Newest first.
    fn notifications(
        &self,
        environment_id: Uuid,
        filter: &NotificationFilter,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<Notification>>> + Send;
    fn settle_notification(
        &self,
        id: Uuid,
        status: NotificationStatus,
        error: Option<&str>,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    // MFA ------------------------------------------------------------------------

    /// A policy marked default makes the environment's other policies not default.
    fn create_device_policy(&self, policy: &DevicePolicy) -> impl Future<Output = StoreResult<()>> + Send;
    fn device_policy(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<DevicePolicy>> + Send;
    /// Oldest first.
    fn device_policies(&self, environment_id: Uuid) -> impl Future<Output = StoreResult<Vec<DevicePolicy>>> + Send;
    /// A policy marked default makes the environment's other policies not default.
    fn update_device_policy(&self, policy: &DevicePolicy) -> impl Future<Output = StoreResult<()>> + Send;
    /// `Conflict` while devices use the policy.
    fn delete_device_policy(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<()>> + Send;
    fn mfa_settings(&self, environment_id: Uuid) -> impl Future<Output = StoreResult<Option<MfaSettings>>> + Send;
    fn put_mfa_settings(&self, settings: &MfaSettings) -> impl Future<Output = StoreResult<()>> + Send;

    /// Adds the device at the end of the user's list, unless the user already has
    /// `max_devices`; with the outbox. `Conflict` when the user has a device of this
    /// type and target.
    fn create_device(
        &self,
        device: &Device,
        max_devices: i64,
        outbox: &Outbox,
    ) -> impl Future<Output = StoreResult<DeviceSlot>> + Send;
    fn device(&self, environment_id: Uuid, user_id: Uuid, id: Uuid)
    -> impl Future<Output = StoreResult<Device>> + Send;
    /// In the user's order (`position`, then id).
    fn devices(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        filter: &DeviceFilter,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<Device>>> + Send;
    /// Sets the nickname (`None` clears it) and nothing else; the device as it now is.
    fn set_device_nickname(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        nickname: Option<&str>,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<Device>> + Send;
    /// Stores `device`'s new activation code (`otp_hash`, `otp_expires_at`) with the
    /// outbox that sends it, and starts its guess count over, if the device still waits
    /// for activation and is not locked at `device.updated_at`; `false` otherwise.
    fn issue_device_code(&self, device: &Device, outbox: &Outbox) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Counts one guess at the device's pending code (or TOTP) in one conditional
    /// statement and answers what to judge it against; `None` when no guess may be
    /// judged now: the device is active, locked, its code expired or voided, or the
    /// code already had `rules.failure_count` guesses. The guess that reaches that count
    /// locks the device for `rules.cool_down` (activation lifts the lock). A TOTP
    /// device's count starts over once its lock has passed.
    fn claim_otp_attempt(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        rules: &MethodPolicy,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<Option<OtpAttempt>>> + Send;
    /// Activates the device if it still waits with the code a guess was judged
    /// against (`otp_hash`, `None` for TOTP); the activated device, or `None`.
    fn activate_device(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        otp_hash: Option<&[u8]>,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<Option<Device>>> + Send;
    fn delete_device(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Puts the listed devices first, in that order, the others after them as they
    /// were. `NotFound` when a listed id is not one of the user's devices.
    fn reorder_devices(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        order: &[Uuid],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    // Issuer profiles and credential types ---------------------------------------

    /// Stores the profile unless the environment has one already; either way, the
    /// environment's profile.
    fn ensure_issuer_profile(&self, profile: &IssuerProfile)
    -> impl Future<Output = StoreResult<IssuerProfile>> + Send;
    fn issuer_profile(&self, environment_id: Uuid) -> impl Future<Output = StoreResult<IssuerProfile>> + Send;
    fn update_issuer_profile(&self, profile: &IssuerProfile) -> impl Future<Output = StoreResult<()>> + Send;
    fn create_credential_type(&self, credential_type: &CredentialType) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deleted types too (with `deleted_at`).
    fn credential_type(
        &self,
        environment_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = StoreResult<CredentialType>> + Send;
    /// Types not deleted.
    fn credential_types(
        &self,
        environment_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<CredentialType>>> + Send;
    /// Replaces the type's fields and definition.
    fn update_credential_type(&self, credential_type: &CredentialType) -> impl Future<Output = StoreResult<()>> + Send;
    /// Marks the type deleted at `at`, deletes its `PENDING` credentials, and with
    /// `revoke_issued` revokes the others and their copies.
    fn delete_credential_type(
        &self,
        environment_id: Uuid,
        id: Uuid,
        at: Timestamp,
        revoke_issued: bool,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    // User credentials and their copies in wallets -----------------------------

    /// The credential, its provisioned copies and the outbox (delivery jobs among it).
    fn create_user_credential(
        &self,
        credential: &UserCredential,
        provisioned: &[ProvisionedCredential],
        outbox: &Outbox,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Writes the credential's mutable state (status, expiry, type version,
    /// notification report) and puts each copy in its wallet, with the outbox. A
    /// `REVOKED` credential has every copy not already revoked or deleted revoked
    /// (`CREDENTIAL_REVOKED`, mailbox wiped).
    fn update_user_credential(
        &self,
        credential: &UserCredential,
        provisioned: &[ProvisionedCredential],
        outbox: &Outbox,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Puts a copy of an existing credential in its wallet, with the outbox. A copy
    /// already in that wallet is replaced in place (same id, its actions kept): it
    /// waits for the new delivery.
    fn add_provisioned_credential(
        &self,
        provisioned: &ProvisionedCredential,
        outbox: &Outbox,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Revokes the credential and its copies when its expiry has come and it is not
    /// revoked yet; true when it did.
    fn expire_user_credential(
        &self,
        credential_id: Uuid,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn user_credential(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = StoreResult<UserCredential>> + Send;
    fn user_credentials(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<UserCredential>>> + Send;
    fn provisioned_credential(&self, id: Uuid) -> impl Future<Output = StoreResult<ProvisionedCredential>> + Send;
    /// Oldest first.
    fn provisioned_of_credential(
        &self,
        credential_id: Uuid,
    ) -> impl Future<Output = StoreResult<Vec<ProvisionedCredential>>> + Send;
    /// Oldest first.
    fn provisioned_in_wallet(
        &self,
        wallet_id: Uuid,
    ) -> impl Future<Output = StoreResult<Vec<ProvisionedCredential>>> + Send;
    /// The copies waiting in the wallet's mailbox (`CREATED`, delivered, not yet
    /// acted on), oldest first: a wallet reads them a page at a time.
    fn mailbox(
        &self,
        wallet_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<ProvisionedCredential>>> + Send;
    /// Oldest first.
    fn wallet_actions(&self, provisioned_id: Uuid)
    -> impl Future<Output = StoreResult<Vec<WalletActionRecord>>> + Send;
    /// Puts the signed credential in the mailbox, marks the credential `ISSUED` and
    /// writes the outbox, once: false (and nothing written) when the copy was
    /// delivered already, is no longer `CREATED`, or waits for another job.
    fn deliver_credential(
        &self,
        provisioned_id: Uuid,
        job_id: Uuid,
        sealed_payload: &[u8],
        at: Timestamp,
        outbox: &Outbox,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Records why the delivery job the copy waits for failed.
    fn record_delivery_error(
        &self,
        provisioned_id: Uuid,
        job_id: Uuid,
        error: &str,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Wipes a signed credential left in the mailbox since `delivered_before` or
    /// earlier, recording `reason` as the copy's delivery error; true when it did.
    fn purge_mailbox(
        &self,
        provisioned_id: Uuid,
        delivered_before: Timestamp,
        reason: &str,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The wallet's (or the issuer's) action: the copy's new status, the action
    /// recorded, the mailbox payload wiped.
    fn record_wallet_action(
        &self,
        provisioned_id: Uuid,
        action: WalletAction,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    // Jobs ---------------------------------------------------------------------

    fn enqueue_job(&self, job: &NewJob) -> impl Future<Output = StoreResult<()>> + Send;
    /// Hands up to `limit` due jobs, each to exactly one caller: queued jobs whose
    /// `run_at` has come, or running ones whose lease ended before `now`, the longest
    /// waiting first. The claim counts an attempt and leases each job until
    /// `lease_until`. One claim for many jobs: a worker under load pays one write, not
    /// one per job.
    fn claim_jobs(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<ClaimedJob>>> + Send;
    /// Settles claims, in one write. A job claimed again since (its lease ran out) is
    /// left alone, so a slow worker cannot overwrite a newer attempt.
    fn finish_jobs(&self, settled: &[SettledJob], now: Timestamp) -> impl Future<Output = StoreResult<()>> + Send;
    fn job(&self, id: Uuid) -> impl Future<Output = StoreResult<Job>> + Send;
    /// How many unfinished jobs are due, running and scheduled at `now`.
    fn job_queue(&self, now: Timestamp) -> impl Future<Output = StoreResult<JobQueue>> + Send;
    /// Deletes what has been kept long enough, the oldest first and at most `batch`
    /// rows of each kind, each kind in a statement of its own so no prune holds the
    /// database long: finished jobs (`done`, `dead`; never a queued or running one),
    /// settled notifications, and expired pairing sessions that had no pairing attempt
    /// (an attempt shows in its wallet's reads). Instances pruning at once each delete
    /// different rows. SQLite then gives a bounded number of free pages back to the
    /// file system.
    fn prune(&self, before: &PruneBefore, batch: u32) -> impl Future<Output = StoreResult<Pruned>> + Send;
    /// The sizes metrics show, read cheaply enough for every scrape.
    fn storage_usage(&self) -> impl Future<Output = StoreResult<StorageUsage>> + Send;
}
