//! The storage contract. `store-sqlite` and `store-postgres` implement it, and the
//! conformance suite (feature `conformance`) holds both to the same behaviour.
//!
//! Every method that writes is one transaction. Reads scoped to an environment take
//! its id, so a row of another environment is simply not found.

use std::future::Future;

use uuid::Uuid;

use crate::application::Application;
use crate::environment::Environment;
use crate::job::{ClaimedJob, Job, JobOutcome, NewJob};
use crate::page::{Page, PageRequest};
use crate::signing_key::SigningKey;
use crate::time::Timestamp;
use crate::user::{User, UserFilter};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule refused the write; the caller knows which one applies.
    #[error("conflicts with an existing record")]
    Conflict,
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

/// Async methods return `Send` futures so handlers can run on any runtime thread.
pub trait Store: Clone + Send + Sync + 'static {
    /// Is the database reachable?
    fn ping(&self) -> impl Future<Output = StoreResult<()>> + Send;

    // Environments -------------------------------------------------------------

    /// Creates the environment with its first signing key. `Conflict` when the id exists.
    fn create_environment(
        &self,
        environment: &Environment,
        key: &SigningKey,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn environment(&self, id: Uuid) -> impl Future<Output = StoreResult<Environment>> + Send;
    fn environments(&self, page: PageRequest) -> impl Future<Output = StoreResult<Page<Environment>>> + Send;
    fn update_environment(&self, environment: &Environment) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes the environment and everything in it.
    fn delete_environment(&self, id: Uuid) -> impl Future<Output = StoreResult<()>> + Send;

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
    fn update_application(&self, application: &Application) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_application(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<()>> + Send;

    // Users --------------------------------------------------------------------

    /// `Conflict` when the username is taken in the environment.
    fn create_user(&self, user: &User) -> impl Future<Output = StoreResult<()>> + Send;
    fn user(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<User>> + Send;
    fn users(
        &self,
        environment_id: Uuid,
        filter: &UserFilter,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<User>>> + Send;
    /// `Conflict` when the new username is taken in the environment.
    fn update_user(&self, user: &User) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_user(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<()>> + Send;

    // Jobs ---------------------------------------------------------------------

    fn enqueue_job(&self, job: &NewJob) -> impl Future<Output = StoreResult<()>> + Send;
    /// Hands the next due job to exactly one caller: a queued job whose `run_at` has
    /// come, or a running one whose lease ended before `now`. The claim counts an
    /// attempt and leases the job until `lease_until`.
    fn claim_job(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> impl Future<Output = StoreResult<Option<ClaimedJob>>> + Send;
    /// Settles a claim. Ignored when the job has been claimed again since (its lease
    /// ran out), so a slow worker cannot overwrite a newer attempt.
    fn finish_job(
        &self,
        job: &ClaimedJob,
        outcome: &JobOutcome,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn job(&self, id: Uuid) -> impl Future<Output = StoreResult<Job>> + Send;
}
