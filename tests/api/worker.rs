//! The background worker: runs due jobs, retries failures with backoff, parks a job
//! that keeps failing (or panics) as dead with its reason, prunes finished work once
//! it is old enough, and stops when told.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use chrono::TimeDelta;
use credd::jobs::{JobHandler, Jobs, Worker};
use domain::job::{ClaimedJob, Job, JobStatus, NewJob};
use domain::store::JobStore;
use domain::time::{new_id, now};
use domain::{Store, StoreError};
use serde_json::json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(worker_runs_retries_and_buries_jobs);

mod retention {
    use super::*;
    on_both_backends!(
        args = [
            "--job-retention-seconds", "1",
            "--notification-retention-seconds", "1",
            "--pairing-retention-seconds", "1",
            "--pairing-lifetime-seconds", "1",
        ];
        the_worker_prunes_finished_work_once_it_is_old_enough
    );
}

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

/// With jobs, sent notifications and untried pairing sessions kept a second: what the
/// wallets' creation left behind goes, while unfinished jobs, failures (kept 30 days
/// by default) and the wallets themselves stay.
async fn the_worker_prunes_finished_work_once_it_is_old_enough(app: &TestApp) {
    let credd = &app.state.credd;
    let store = credd.store.clone();
    let job = |kind: &str, run_at, payload: Vec<u8>| NewJob {
        id: new_id(),
        kind: kind.into(),
        payload,
        run_at,
        max_attempts: 1,
    };
    // Held by another instance under a long lease, and due an hour ago.
    let held = job("expire_credential", now() - TimeDelta::hours(1), new_id().as_bytes().to_vec());
    store.enqueue_job(&held).await.unwrap();
    assert_eq!(store.claim_jobs(now(), now() + TimeDelta::hours(1), 1).await.unwrap()[0].id, held.id);
    let later = job("expire_credential", now() + TimeDelta::hours(1), new_id().as_bytes().to_vec());
    // Done at once (no such credential), and dead at once (no such kind).
    let finished = job("expire_credential", now(), new_id().as_bytes().to_vec());
    let doomed = job("retired_kind", now(), Vec::new());
    for j in [&later, &finished, &doomed] {
        store.enqueue_job(j).await.unwrap();
    }

    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Retention").await;
    let user = app.create_user(&token, &env, json!({ "username": "ada", "email": "ada@example.com" })).await;
    let user_id = user["id"].as_str().unwrap();
    let wallet_application = app.create_wallet_application(&token, &env).await;
    let mut wallets = Vec::new();
    for _ in 0..3 {
        let body = json!({ "digitalWalletApplication": { "id": wallet_application }, "notification": { "methods": ["EMAIL"] } });
        wallets.push(app.create_wallet(&token, &env, user_id, body).await);
    }
    let notifications = format!("/v1/environments/{env}/notifications");
    assert_eq!(app.get(&notifications).bearer(&token).send().await.body["size"], 3);

    let stop = CancellationToken::new();
    let worker = Worker::new(store.clone(), Jobs { credd: credd.clone() }, Arc::new(Notify::new()), Arc::default())
        .concurrency(4)
        .poll_interval(Duration::from_millis(20))
        .retention(app.args.retention())
        .prune_every(Duration::from_millis(50));
    let running = tokio::spawn(worker.run(stop.clone()));

    // The emails are sent, the sessions expire untried, then each goes a second later.
    // Bounded wait for the worker; the assertions are on the outcome, not the time.
    let mut gone = false;
    for _ in 0..300 {
        let listed = app.get(&notifications).bearer(&token).send().await.body;
        let mut links_gone = true;
        for wallet in &wallets {
            let link = wallet["pairingSession"]["qrUrl"].as_str().unwrap().strip_prefix("https://credd.test").unwrap();
            links_gone &= app.get(link).send().await.status == StatusCode::NOT_FOUND;
        }
        let job_gone = matches!(store.job(finished.id).await, Err(StoreError::NotFound));
        if listed["size"] == 0 && links_gone && job_gone {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the sent emails, the expired sessions and the done job were not pruned");

    // The wallets stay as their reads showed them: expired, with no pairing attempt.
    for wallet in &wallets {
        let path = format!("/v1/environments/{env}/users/{user_id}/digitalWallets/{}", wallet["id"].as_str().unwrap());
        let read = app.get(&path).bearer(&token).send().await.body;
        let attempts = read["pairingAttempts"].as_array().map_or(0, Vec::len);
        assert_eq!((read["status"].as_str(), attempts), (Some("EXPIRED"), 0));
    }
    assert_eq!(store.job(held.id).await.unwrap().status, JobStatus::Running, "a running job is never pruned");
    assert_eq!(store.job(later.id).await.unwrap().status, JobStatus::Queued, "nor one waiting for its time");
    assert_eq!(store.job(doomed.id).await.unwrap().status, JobStatus::Dead, "failures are kept longer");

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), running).await.expect("the worker stops when told").unwrap();
}
