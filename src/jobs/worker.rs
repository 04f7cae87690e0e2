//! The worker: a few loops that each claim a due job under a lease, run it in its
//! own task (a panic fails that attempt, not the worker), record the outcome, and
//! sleep until woken or the poll interval passes. Stops when its cancellation token
//! fires, after the jobs in hand.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use domain::Store;
use domain::job::{ClaimedJob, JobOutcome};
use domain::time::now;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::JobHandler;
use crate::metrics::Metrics;

pub struct Worker<S, H> {
    store: S,
    handler: Arc<H>,
    wake: Arc<Notify>,
    poll_interval: Duration,
    lease: TimeDelta,
    concurrency: usize,
    metrics: Arc<Metrics>,
}

impl<S: Store, H: JobHandler> Worker<S, H> {
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
        }
    }

    /// How many jobs run at once: deliveries spend most of their time signing and
    /// waiting on the database, so several loops keep both busy.
    pub fn concurrency(mut self, loops: usize) -> Self {
        self.concurrency = loops.max(1);
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
        tracing::info!(loops = self.concurrency, "worker started");
        let worker = Arc::new(self);
        let mut loops = tokio::task::JoinSet::new();
        for _ in 0..worker.concurrency {
            let (worker, stop) = (Arc::clone(&worker), stop.clone());
            loops.spawn(async move { worker.run_loop(&stop).await });
        }
        while loops.join_next().await.is_some() {}
        tracing::info!("worker stopped");
    }

    async fn run_loop(&self, stop: &CancellationToken) {
        while !stop.is_cancelled() {
            match self.run_next().await {
                Ok(true) => {}
                Ok(false) => self.idle(stop).await,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming a job failed");
                    self.idle(stop).await;
                }
            }
        }
    }

    /// Runs due jobs until none is left; how many ran.
    pub async fn drain(&self) -> Result<usize, domain::StoreError> {
        let mut ran = 0;
        while self.run_next().await? {
            ran += 1;
        }
        Ok(ran)
    }

    /// Claims and runs one due job; false when none is due.
    async fn run_next(&self) -> Result<bool, domain::StoreError> {
        let at = now();
        match self.store.claim_job(at, at + self.lease).await? {
            Some(job) => {
                // There may be more: an idle loop joins in.
                self.wake.notify_one();
                self.execute(job).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn idle(&self, stop: &CancellationToken) {
        tokio::select! {
            () = stop.cancelled() => {}
            () = self.wake.notified() => {}
            () = tokio::time::sleep(self.poll_interval) => {}
        }
    }

    async fn execute(&self, job: ClaimedJob) {
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
            if let Err(e) = self.store.finish_job(&job, &outcome, now()).await {
                // The lease runs out and the job is claimed again: at least once.
                tracing::warn!(error = %e, "recording the job outcome failed");
            }
        }
        .instrument(span)
        .await;
    }
}
