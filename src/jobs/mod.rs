//! Background work: the worker loop and the job kinds it runs.

pub mod worker;

use std::future::Future;

use domain::job::ClaimedJob;

pub use worker::Worker;

/// Runs one claimed job. Must be idempotent: a job may run again after a crash or an
/// expired lease. An `Err` is retried with backoff until the attempts run out.
pub trait JobHandler: Send + Sync + 'static {
    fn run(&self, job: ClaimedJob) -> impl Future<Output = Result<(), String>> + Send;
}

/// The job kinds credd knows. Later features register theirs here; a job of a kind
/// this version does not know fails (and ends dead with that reason) rather than
/// vanishing.
pub struct Jobs;

impl JobHandler for Jobs {
    async fn run(&self, job: ClaimedJob) -> Result<(), String> {
        Err(format!("unknown job kind {:?}", job.kind))
    }
}
