//! The worker: claims due jobs under a lease, as many at once as it has free slots,
//! runs each in its own task (a panic fails that attempt, not the worker), and
//! records the outcomes that are ready together. Under load one claim and one
//! settling write serve many jobs, instead of two writes per job. When nothing is
//! due it sleeps until woken or the poll interval passes. Beside it, when given a
//! [`Retention`], it prunes what has been kept long enough (see `retention`). Stops
//! when its cancellation token fires, after the jobs in hand.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use domain::job::{ClaimedJob, JobOutcome, Retention, SettledJob};
use domain::store::JobStore;
use domain::time::now;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::{JobHandler, retention};
use crate::metrics::Metrics;

/// The most outcomes one settling write records.
const SETTLE_BATCH: usize = 512;

pub struct Worker<S, H> {
    store: S,
    handler: Arc<H>,
    wake: Arc<Notify>,
    poll_interval: Duration,
    lease: TimeDelta,
    concurrency: usize,
    metrics: Arc<Metrics>,
    retention: Option<Retention>,
    prune_every: Duration,
}

impl<S: JobStore + Clone + Send + Sync + 'static, H: JobHandler> Worker<S, H> {
    /// `metrics` counts each settled attempt.
    pub fn new(store: S, handler: H, wake: Arc<Notify>, metrics: Arc<Metrics>) -> Self {
        Self {
            store,
            handler: Arc::new(handler),
            wake,
            poll_interval: Duration::from_secs(1),
            lease: TimeDelta::seconds(60),
            concurrency: 1,
            metrics,
            retention: None,
            prune_every: retention::EVERY,
        }
    }

    /// Prunes what `retention` no longer keeps, at start and then every minute (or
    /// `prune_every`). Without it nothing is pruned.
    pub fn retention(mut self, retention: Retention) -> Self {
        self.retention = Some(retention);
        self
    }

    /// How often to prune once a prune has left nothing old enough behind.
    pub fn prune_every(mut self, interval: Duration) -> Self {
        self.prune_every = interval;
        self
    }

    /// How many jobs run at once: deliveries spend most of their time signing and
    /// waiting on the database, so several keep both busy.
    pub fn concurrency(mut self, slots: usize) -> Self {
        self.concurrency = slots.max(1);
        self
    }

    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    pub fn lease(mut self, lease: TimeDelta) -> Self {
        self.lease = lease;
        self
    }

    pub async fn run(self, stop: CancellationToken) {
        tracing::info!(slots = self.concurrency, "worker started");
        let worker = Arc::new(self);
        let slots = Arc::new(Semaphore::new(worker.concurrency));
        let (settled_tx, settled_rx) = unbounded_channel();
        let recorder = tokio::spawn({
            let worker = Arc::clone(&worker);
            async move { worker.record(settled_rx).await }
        });
        let running = TaskTracker::new();
        if let Some(retention) = worker.retention {
            running.spawn(retention::run(worker.store.clone(), retention, worker.prune_every, stop.clone()));
        }
        while let Some(free) = free_slots(&slots, &stop).await {
            match worker.claim(free.len()).await {
                Ok(jobs) => {
                    let emptied_queue = jobs.len() < free.len();
                    // Slots the claim found no job for are given back as `free` drops.
                    for (job, slot) in jobs.into_iter().zip(free) {
                        let (worker, settled) = (Arc::clone(&worker), settled_tx.clone());
                        running.spawn(async move {
                            let outcome = worker.execute(&job).await;
                            // Fails only once the recorder is gone: the lease then runs out
                            // and the job runs again, as after a crash.
                            let _ = settled.send(SettledJob { job, outcome });
                            drop(slot);
                        });
                    }
                    if emptied_queue {
                        worker.idle(&stop).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "claiming jobs failed");
                    worker.idle(&stop).await;
                }
            }
        }
        running.close();
        running.wait().await;
        drop(settled_tx);
        let _ = recorder.await;
        tracing::info!("worker stopped");
    }

    /// Runs due jobs one at a time, in order, until none is left; how many ran.
    pub async fn drain(&self) -> Result<usize, domain::StoreError> {
        let mut ran = 0;
        while let Some(job) = self.claim(1).await?.pop() {
            let outcome = self.execute(&job).await;
            self.store.finish_jobs(&[SettledJob { job, outcome }], now()).await?;
            ran += 1;
        }
        Ok(ran)
    }

    async fn claim(&self, limit: usize) -> Result<Vec<ClaimedJob>, domain::StoreError> {
        let at = now();
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        self.store.claim_jobs(at, at + self.lease, limit).await
    }

    /// Records outcomes as they arrive, all that are waiting in one write.
    async fn record(&self, mut settled: UnboundedReceiver<SettledJob>) {
        let mut batch = Vec::new();
        while settled.recv_many(&mut batch, SETTLE_BATCH).await > 0 {
            if let Err(e) = self.store.finish_jobs(&batch, now()).await {
                // The leases run out and the jobs are claimed again: at least once.
                tracing::warn!(error = %e, jobs = batch.len(), "recording job outcomes failed");
            }
            batch.clear();
        }
    }

    async fn idle(&self, stop: &CancellationToken) {
        tokio::select! {
            () = stop.cancelled() => {}
            () = self.wake.notified() => {}
            () = tokio::time::sleep(self.poll_interval) => {}
        }
    }

    async fn execute(&self, job: &ClaimedJob) -> JobOutcome {
        let span = tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempt);
        async {
            let handler = Arc::clone(&self.handler);
            let task_job = job.clone();
            let started = Instant::now();
            let result = match tokio::spawn(async move { handler.run(task_job).await }).await {
                Ok(result) => result,
                Err(join_error) => Err(format!("the job panicked: {join_error}")),
            };
            let outcome = match result {
                Ok(()) => JobOutcome::Done,
                Err(error) => job.failed(error, now()),
            };
            self.metrics.job(&job.kind, &outcome, started.elapsed());
            match &outcome {
                JobOutcome::Done => tracing::info!("job done"),
                JobOutcome::Retry { at, error } => {
                    tracing::warn!(%error, retry_at = %at, "job failed; will retry")
                }
                JobOutcome::Dead { error } => {
                    tracing::error!(%error, "job failed for the last time")
                }
            }
            outcome
        }
        .instrument(span)
        .await
    }
}

/// Waits for a free slot, then takes every other free one too; None once stopped.
async fn free_slots(slots: &Arc<Semaphore>, stop: &CancellationToken) -> Option<Vec<OwnedSemaphorePermit>> {
    let first = tokio::select! {
        biased;
        () = stop.cancelled() => return None,
        permit = Arc::clone(slots).acquire_owned() => permit.ok()?,
    };
    let mut free = vec![first];
    free.extend(std::iter::from_fn(|| Arc::clone(slots).try_acquire_owned().ok()));
    Some(free)
}
