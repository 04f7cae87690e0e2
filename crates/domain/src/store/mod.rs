//! The storage contract, one trait per aggregate. `store-sqlite` and `store-postgres`
//! implement them all, and the conformance suite (feature `conformance`) holds both to
//! the same behaviour. [`Store`] is their sum, for code that wants the whole store.
//!
//! Every method that writes is one transaction. Reads scoped to an environment take
//! its id, so a row of another environment is simply not found. Async methods return
//! `Send` futures so handlers can run on any runtime thread.

mod applications;
mod credential_types;
mod environments;
mod health;
mod jobs;
mod mfa;
mod notifications;
mod populations;
mod user_credentials;
mod users;
mod wallets;

pub use applications::ApplicationStore;
pub use credential_types::CredentialTypeStore;
pub use environments::EnvironmentStore;
pub use health::HealthStore;
pub use jobs::JobStore;
pub use mfa::MfaStore;
pub use notifications::NotificationStore;
pub use populations::PopulationStore;
pub use user_credentials::UserCredentialStore;
pub use users::UserStore;
pub use wallets::WalletStore;

use crate::job::NewJob;
use crate::notification::Notification;

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

/// The whole store: every aggregate's trait. Implemented for any type that
/// implements them all.
pub trait Store:
    EnvironmentStore
    + ApplicationStore
    + PopulationStore
    + UserStore
    + WalletStore
    + NotificationStore
    + MfaStore
    + CredentialTypeStore
    + UserCredentialStore
    + JobStore
    + HealthStore
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: EnvironmentStore
        + ApplicationStore
        + PopulationStore
        + UserStore
        + WalletStore
        + NotificationStore
        + MfaStore
        + CredentialTypeStore
        + UserCredentialStore
        + JobStore
        + HealthStore
        + Clone
        + Send
        + Sync
        + 'static
{
}
