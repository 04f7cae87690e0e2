//! The job queue, and pruning what has been kept long enough.

use std::future::Future;

use uuid::Uuid;

use super::StoreResult;
use crate::job::{ClaimedJob, Job, JobQueue, NewJob, PruneBefore, Pruned, SettledJob};
use crate::time::Timestamp;

pub trait JobStore {
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
}
