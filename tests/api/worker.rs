//! The background worker: runs due jobs, retries failures with backoff, parks a job
//! that keeps failing (or panics) as dead with its reason, and stops when told.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::TimeDelta;
use credd::jobs::{JobHandler, Worker};
use domain::Store;
use domain::job::{ClaimedJob, Job, JobStatus, NewJob};
use domain::time::{new_id, now};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(worker_runs_retries_and_buries_jobs);

/// Fails the first attempt of `flaky`, always fails `broken`, panics on `panics`.
#[derive(Clone, Default)]
struct Scripted {
    runs: Arc<AtomicUsize>,
}

impl JobHandler for Scripted {
    async fn run(&self, job: ClaimedJob) -> Result<(), String> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        match (job.kind.as_str(), job.attempt) {
            ("flaky", 1) => Err("first attempt fails".into()),
            ("broken", _) => Err("always fails".into()),
            ("panics", _) => panic!("handler bug"),
            _ => Ok(()),
        }
    }
}

async fn settled<S: Store>(store: &S, id: uuid::Uuid) -> Job {
    // Bounded wait for the worker; the assertion is on the outcome, not the time.
    for _ in 0..200 {
        let job = store.job(id).await.unwrap();
        if matches!(job.status, JobStatus::Done | JobStatus::Dead) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} did not settle");
}

async fn worker_runs_retries_and_buries_jobs(app: &TestApp) {
    let store = app.state.credd.store.clone();
    let job = |kind: &str, max_attempts| NewJob {
        id: new_id(),
        kind: kind.into(),
        payload: vec![],
        run_at: now(),
        max_attempts,
    };
    let (ok, flaky, broken, panics) = (job("ok", 3), job("flaky", 3), job("broken", 1), job("panics", 1));
    for j in [&ok, &flaky, &broken, &panics] {
        store.enqueue_job(j).await.unwrap();
    }

    let handler = Scripted::default();
    let stop = CancellationToken::new();
    let wake = Arc::new(Notify::new());
    // Retries wait for their backoff (2 s after the first attempt).
    let worker = Worker::new(store.clone(), handler.clone(), Arc::clone(&wake), Arc::default())
        .poll_interval(Duration::from_millis(20))
        .lease(TimeDelta::seconds(30));
    let running = tokio::spawn(worker.run(stop.clone()));

    assert_eq!(settled(&store, ok.id).await.status, JobStatus::Done);
    let dead = settled(&store, broken.id).await;
    assert_eq!((dead.status, dead.last_error.as_deref()), (JobStatus::Dead, Some("always fails")));
    let dead = settled(&store, panics.id).await;
    assert_eq!(dead.status, JobStatus::Dead);
    assert!(dead.last_error.unwrap().contains("panicked"));
    let retried = settled(&store, flaky.id).await;
    assert_eq!(
        (retried.status, retried.attempts, retried.last_error.as_deref()),
        (JobStatus::Done, 2, Some("first attempt fails"))
    );
    assert_eq!(handler.runs.load(Ordering::SeqCst), 5);

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), running).await.expect("the worker stops when told").unwrap();
}
