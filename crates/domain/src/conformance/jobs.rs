//! The job queue, and pruning what has been kept long enough.

use std::collections::HashSet;

use chrono::TimeDelta;
use uuid::Uuid;

use super::{job, notification, user_with_app, wallet_with_session};
use crate::job::{ClaimedJob, JobOutcome, JobQueue, JobStatus, NewJob, PruneBefore, Pruned, SettledJob};
use crate::notification::{Notification, NotificationStatus, TemplateName};
use crate::store::Outbox;
use crate::time::{Timestamp, new_id, now};
use crate::wallet::{PairingAttempt, PairingStatus, WalletStatus};
use crate::{Store, StoreError};

/// Claims at most one due job.
async fn claim_one<S: Store>(store: &S, at: Timestamp, lease_until: Timestamp) -> Option<ClaimedJob> {
    let mut claimed = store.claim_jobs(at, lease_until, 1).await.unwrap();
    assert!(claimed.len() <= 1, "a claim of one handed out {}", claimed.len());
    claimed.pop()
}

async fn finish_one<S: Store>(store: &S, job: &ClaimedJob, outcome: JobOutcome, at: Timestamp) {
    store.finish_jobs(&[SettledJob { job: job.clone(), outcome }], at).await.unwrap();
}

pub(super) async fn job_runs_when_due_and_settles<S: Store>(store: &S) {
    let later = NewJob { run_at: now() + TimeDelta::hours(1), ..job("later", 3) };
    store.enqueue_job(&later).await.unwrap();
    let due = job("due", 3);
    store.enqueue_job(&due).await.unwrap();

    let at = now();
    let claimed = claim_one(store, at, at + TimeDelta::seconds(30)).await.expect("the due job");
    assert_eq!((claimed.id, claimed.kind.as_str(), claimed.attempt), (due.id, "due", 1));
    assert_eq!(claimed.payload, due.payload);
    assert_eq!(store.job(due.id).await.unwrap().status, JobStatus::Running);
    // Leased: nobody else gets it, and the other job is not due.
    assert_eq!(claim_one(store, at, at + TimeDelta::seconds(30)).await, None);

    finish_one(store, &claimed, JobOutcome::Done, now()).await;
    let done = store.job(due.id).await.unwrap();
    assert_eq!((done.status, done.attempts, done.locked_until), (JobStatus::Done, 1, None));
}

pub(super) async fn job_retries_then_dies<S: Store>(store: &S) {
    let flaky = job("flaky", 2);
    store.enqueue_job(&flaky).await.unwrap();
    let at = now();
    let first = claim_one(store, at, at + TimeDelta::seconds(30)).await.unwrap();
    let retry_at = at + TimeDelta::seconds(5);
    finish_one(store, &first, JobOutcome::Retry { at: retry_at, error: "smtp down".into() }, at).await;
    let queued = store.job(flaky.id).await.unwrap();
    assert_eq!(
        (queued.status, queued.run_at, queued.last_error.as_deref()),
        (JobStatus::Queued, retry_at, Some("smtp down"))
    );
    assert_eq!(claim_one(store, at, at + TimeDelta::seconds(30)).await, None, "not before its retry time");

    let second = claim_one(store, retry_at, retry_at + TimeDelta::seconds(30)).await.unwrap();
    assert_eq!(second.attempt, 2);
    let outcome = second.failed("still down".into(), retry_at);
    finish_one(store, &second, outcome, retry_at).await;
    let dead = store.job(flaky.id).await.unwrap();
    assert_eq!((dead.status, dead.attempts, dead.last_error.as_deref()), (JobStatus::Dead, 2, Some("still down")));
    assert_eq!(claim_one(store, retry_at + TimeDelta::days(1), retry_at + TimeDelta::days(2)).await, None);
}

pub(super) async fn expired_lease_is_claimed_again_and_stale_finish_is_ignored<S: Store>(store: &S) {
    let crashed = job("crashed", 5);
    store.enqueue_job(&crashed).await.unwrap();
    let at = now();
    let lease_end = at + TimeDelta::seconds(10);
    let first = claim_one(store, at, lease_end).await.unwrap();

    let after_lease = lease_end + TimeDelta::milliseconds(1);
    let second = claim_one(store, after_lease, after_lease + TimeDelta::seconds(10)).await.expect("lease ran out");
    assert_eq!((second.id, second.attempt), (first.id, 2));

    // The first worker wakes up late: its finish must not settle the new claim.
    finish_one(store, &first, JobOutcome::Done, after_lease).await;
    assert_eq!(store.job(crashed.id).await.unwrap().status, JobStatus::Running);
    finish_one(store, &second, JobOutcome::Done, after_lease).await;
    assert_eq!(store.job(crashed.id).await.unwrap().status, JobStatus::Done);
}

pub(super) async fn concurrent_claims_never_share_a_job<S: Store>(store: &S) {
    const JOBS: usize = 30;
    const CLAIMERS: usize = 8;
    let mut enqueued = HashSet::new();
    for _ in 0..JOBS {
        let j = job("parallel", 3);
        enqueued.insert(j.id);
        store.enqueue_job(&j).await.unwrap();
    }
    let mut claimers = Vec::new();
    for _ in 0..CLAIMERS {
        let store = store.clone();
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let at = now();
                let batch = store.claim_jobs(at, at + TimeDelta::minutes(5), 3).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.iter().map(|claimed| claimed.id));
                let settled: Vec<SettledJob> =
                    batch.into_iter().map(|job| SettledJob { job, outcome: JobOutcome::Done }).collect();
                store.finish_jobs(&settled, now()).await.unwrap();
            }
        }));
    }
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.unwrap());
    }
    let distinct: HashSet<Uuid> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), JOBS, "every job claimed exactly once");
    assert_eq!(distinct, enqueued);
}

pub(super) async fn jobs_are_claimed_and_settled_in_batches<S: Store>(store: &S) {
    let at = now();
    let waiting: Vec<NewJob> =
        (1..=5).map(|minutes| NewJob { run_at: at - TimeDelta::minutes(minutes), ..job("batch", 2) }).collect();
    for j in &waiting {
        store.enqueue_job(j).await.unwrap();
    }
    let ids = |jobs: &[ClaimedJob]| jobs.iter().map(|j| j.id).collect::<HashSet<Uuid>>();
    let lease_end = at + TimeDelta::seconds(30);
    let first = store.claim_jobs(at, lease_end, 3).await.unwrap();
    // The longest waiting first: the last three enqueued.
    assert_eq!(ids(&first), waiting[2..].iter().map(|j| j.id).collect());
    let rest = store.claim_jobs(at, lease_end, 10).await.unwrap();
    assert_eq!(ids(&rest), waiting[..2].iter().map(|j| j.id).collect());
    assert!(store.claim_jobs(at, lease_end, 10).await.unwrap().is_empty());

    // One write settles each claim its own way.
    let retry_at = at + TimeDelta::seconds(5);
    let outcomes = [
        JobOutcome::Done,
        JobOutcome::Retry { at: retry_at, error: "smtp down".into() },
        JobOutcome::Dead { error: "gone".into() },
    ];
    let settled: Vec<SettledJob> =
        first.iter().cloned().zip(outcomes.clone()).map(|(job, outcome)| SettledJob { job, outcome }).collect();
    store.finish_jobs(&settled, at).await.unwrap();
    for SettledJob { job, outcome } in &settled {
        let (status, run_at, error) = outcome.settlement();
        let stored = store.job(job.id).await.unwrap();
        assert_eq!((stored.status, stored.last_error.as_deref(), stored.locked_until), (status, error, None));
        if let Some(run_at) = run_at {
            assert_eq!(stored.run_at, run_at);
        }
    }

    // A batch holding a stale claim settles the rest and leaves the newer claim running.
    let after_lease = lease_end + TimeDelta::milliseconds(1);
    let reclaimed = store.claim_jobs(after_lease, after_lease + TimeDelta::seconds(30), 1).await.unwrap();
    assert_eq!(reclaimed.len(), 1);
    let stale = rest.iter().find(|j| j.id == reclaimed[0].id).unwrap().clone();
    let fresh = rest.iter().find(|j| j.id != stale.id).unwrap().clone();
    let settled = [stale, fresh.clone()].map(|job| SettledJob { job, outcome: JobOutcome::Done });
    store.finish_jobs(&settled, after_lease).await.unwrap();
    assert_eq!(store.job(reclaimed[0].id).await.unwrap().status, JobStatus::Running);
    assert_eq!(store.job(fresh.id).await.unwrap().status, JobStatus::Done);
}

pub(super) async fn job_queue_counts_due_running_and_scheduled_jobs<S: Store>(store: &S) {
    let at = now();
    let empty = JobQueue { due: 0, running: 0, scheduled: 0, oldest_due: None };
    assert_eq!(store.job_queue(at).await.unwrap(), empty);

    let oldest = NewJob { run_at: at - TimeDelta::minutes(3), ..job("oldest", 3) };
    let newer = NewJob { run_at: at - TimeDelta::minutes(1), ..job("newer", 3) };
    let later = NewJob { run_at: at + TimeDelta::hours(1), ..job("later", 3) };
    let finished = NewJob { run_at: at - TimeDelta::hours(1), ..job("finished", 3) };
    for j in [&finished, &oldest, &newer, &later] {
        store.enqueue_job(j).await.unwrap();
    }
    // `finished` is claimed first (it is the oldest) and done: it counts nowhere.
    let claimed = claim_one(store, at, at + TimeDelta::seconds(30)).await.unwrap();
    assert_eq!(claimed.id, finished.id);
    finish_one(store, &claimed, JobOutcome::Done, at).await;
    assert_eq!(
        store.job_queue(at).await.unwrap(),
        JobQueue { due: 2, running: 0, scheduled: 1, oldest_due: Some(oldest.run_at) }
    );

    // A claimed job runs until its lease ends; then it is due again, as it waited.
    let lease_end = at + TimeDelta::seconds(30);
    assert_eq!(claim_one(store, at, lease_end).await.unwrap().id, oldest.id);
    assert_eq!(
        store.job_queue(at).await.unwrap(),
        JobQueue { due: 1, running: 1, scheduled: 1, oldest_due: Some(newer.run_at) }
    );
    let after_lease = lease_end + TimeDelta::seconds(1);
    assert_eq!(
        store.job_queue(after_lease).await.unwrap(),
        JobQueue { due: 2, running: 0, scheduled: 1, oldest_due: Some(oldest.run_at) }
    );
}

pub(super) async fn finished_jobs_keep_no_payload<S: Store>(store: &S) {
    let secret = NewJob { payload: b"sealed claims".to_vec(), ..job("deliver_credential", 3) };
    store.enqueue_job(&secret).await.unwrap();
    let at = now();
    let claimed = claim_one(store, at, at + TimeDelta::seconds(30)).await.unwrap();
    finish_one(store, &claimed, JobOutcome::Done, now()).await;
    assert!(store.job(secret.id).await.unwrap().payload.is_empty());
}

pub(super) async fn prune_deletes_finished_jobs_a_batch_at_a_time_and_never_unfinished_ones<S: Store>(store: &S) {
    let at = now();
    let (long_ago, lately) = (at - TimeDelta::hours(2), at - TimeDelta::minutes(1));
    // Seven finished jobs: five done long ago, one done lately, one dead long ago.
    let finished: Vec<NewJob> =
        (0..7).map(|_| NewJob { run_at: long_ago - TimeDelta::hours(1), ..job("finished", 1) }).collect();
    for j in &finished {
        store.enqueue_job(j).await.unwrap();
    }
    let claimed = store.claim_jobs(long_ago - TimeDelta::hours(1), long_ago, 10).await.unwrap();
    assert_eq!(claimed.len(), 7);
    let (done_long_ago, rest) = claimed.split_at(5);
    for job in done_long_ago {
        finish_one(store, job, JobOutcome::Done, long_ago).await;
    }
    finish_one(store, &rest[0], JobOutcome::Done, lately).await;
    finish_one(store, &rest[1], JobOutcome::Dead { error: "gave up".into() }, long_ago).await;

    // Unfinished jobs, each older than any cutoff below: one running under a lease,
    // one whose lease ran out long ago (due again), one due long ago and never
    // claimed, one scheduled for later.
    let running = NewJob { run_at: long_ago, ..job("running", 3) };
    store.enqueue_job(&running).await.unwrap();
    assert_eq!(claim_one(store, at, at + TimeDelta::hours(1)).await.unwrap().id, running.id);
    let lease_ran_out = NewJob { run_at: long_ago, ..job("lease_ran_out", 3) };
    store.enqueue_job(&lease_ran_out).await.unwrap();
    let lapsed = claim_one(store, long_ago, long_ago + TimeDelta::minutes(1)).await.unwrap();
    assert_eq!(lapsed.id, lease_ran_out.id);
    let due = NewJob { run_at: long_ago, ..job("due", 3) };
    let later = NewJob { run_at: at + TimeDelta::hours(1), ..job("later", 3) };
    for j in [&due, &later] {
        store.enqueue_job(j).await.unwrap();
    }

    // Done an hour ago or earlier, two at a time: the batch bounds each prune.
    let done_before = PruneBefore { done_jobs: Some(at - TimeDelta::hours(1)), ..PruneBefore::default() };
    let mut batches = Vec::new();
    loop {
        let pruned = store.prune(&done_before, 2).await.unwrap();
        batches.push(pruned.done_jobs);
        assert_eq!(pruned, Pruned { done_jobs: pruned.done_jobs, ..Pruned::default() });
        if !pruned.filled(2) {
            break;
        }
    }
    assert_eq!(batches, [2, 2, 1]);
    for j in &finished[..5] {
        assert!(matches!(store.job(j.id).await, Err(StoreError::NotFound)));
    }
    assert_eq!(store.job(finished[5].id).await.unwrap().status, JobStatus::Done, "done lately");
    assert_eq!(store.job(finished[6].id).await.unwrap().status, JobStatus::Dead, "dead jobs have their own age");

    // Cutoffs past every row: the finished jobs go, the unfinished ones all stay.
    let tomorrow = at + TimeDelta::days(1);
    let all_finished = PruneBefore { done_jobs: Some(tomorrow), dead_jobs: Some(tomorrow), ..PruneBefore::default() };
    let pruned = store.prune(&all_finished, 10).await.unwrap();
    assert_eq!(pruned, Pruned { done_jobs: 1, dead_jobs: 1, ..Pruned::default() });
    for (j, status) in [
        (&running, JobStatus::Running),
        (&lease_ran_out, JobStatus::Running),
        (&due, JobStatus::Queued),
        (&later, JobStatus::Queued),
    ] {
        assert_eq!(store.job(j.id).await.unwrap().status, status, "{}", j.kind);
    }
    assert_eq!(store.prune(&all_finished, 10).await.unwrap(), Pruned::default());
    // The lapsed job is still claimed again, and settles.
    let again = claim_one(store, at, at + TimeDelta::minutes(1)).await.unwrap();
    assert_eq!(again.id, lease_ran_out.id);
    finish_one(store, &again, JobOutcome::Done, at).await;
    assert_eq!(store.job(lease_ran_out.id).await.unwrap().status, JobStatus::Done);
}

pub(super) async fn prune_deletes_settled_notifications_and_expired_sessions_nobody_tried<S: Store>(store: &S) {
    let (ada, app) = user_with_app(store).await;
    let at = now();
    let (long_ago, lately) = (at - TimeDelta::hours(2), at - TimeDelta::minutes(1));
    let cutoff = at - TimeDelta::hours(1);

    // Notifications enter the store through a write's outbox; each wallet brings one.
    let wallet = |created_at, expires_at| {
        let (wallet, session) = wallet_with_session(&ada, &app, expires_at);
        let message =
            Notification { created_at, ..notification(&ada, TemplateName::DigitalWalletPairing, "ada@example.com") };
        (wallet, session, message)
    };
    // Sent long ago, failed long ago, sent lately, and one still queued since long ago.
    let sent_long_ago = wallet(long_ago, long_ago);
    let failed_long_ago = wallet(long_ago, long_ago);
    let sent_lately = wallet(lately, at + TimeDelta::hours(1));
    let queued = wallet(long_ago, at + TimeDelta::hours(1));
    for (wallet, session, message) in [&sent_long_ago, &failed_long_ago, &sent_lately, &queued] {
        let outbox = Outbox { notifications: vec![message.clone()], jobs: vec![] };
        store.create_wallet(wallet, session, &outbox).await.unwrap();
    }
    store.settle_notification(sent_long_ago.2.id, NotificationStatus::Sent, None, long_ago).await.unwrap();
    store
        .settle_notification(failed_long_ago.2.id, NotificationStatus::Failed, Some("refused"), long_ago)
        .await
        .unwrap();
    store.settle_notification(sent_lately.2.id, NotificationStatus::Sent, None, lately).await.unwrap();

    // Sessions: the first expired long ago untried; the second expired long ago after a
    // failed attempt, which its wallet's reads show; the third expired lately; the
    // fourth was completed; the last is still pending.
    let untried = &sent_long_ago;
    store.expire_pairing_session(untried.1.id, long_ago).await.unwrap();
    let tried = &failed_long_ago;
    let failure = PairingAttempt {
        id: new_id(),
        session_id: tried.1.id,
        wallet_id: tried.0.id,
        success: false,
        attempted_at: long_ago - TimeDelta::minutes(1),
    };
    store.record_pairing_failure(&failure).await.unwrap();
    store.expire_pairing_session(tried.1.id, long_ago).await.unwrap();
    let (expired_lately, session) = wallet_with_session(&ada, &app, lately);
    store.create_wallet(&expired_lately, &session, &Outbox::default()).await.unwrap();
    store.expire_pairing_session(session.id, lately).await.unwrap();
    let (mut completed, completed_session) = wallet_with_session(&ada, &app, at + TimeDelta::hours(1));
    store.create_wallet(&completed, &completed_session, &Outbox::default()).await.unwrap();
    completed.status = WalletStatus::Active;
    let success = PairingAttempt {
        id: new_id(),
        session_id: completed_session.id,
        wallet_id: completed.id,
        success: true,
        attempted_at: long_ago,
    };
    store.complete_pairing(&completed, &success, &Outbox::default()).await.unwrap();
    let pending = &queued;

    let before = PruneBefore {
        sent_notifications: Some(cutoff),
        expired_pairing_sessions: Some(cutoff),
        ..PruneBefore::default()
    };
    let pruned = store.prune(&before, 10).await.unwrap();
    assert_eq!(pruned, Pruned { sent_notifications: 1, expired_pairing_sessions: 1, ..Pruned::default() });
    assert!(matches!(store.notification(sent_long_ago.2.id).await, Err(StoreError::NotFound)));
    for (kept, status) in [
        (&failed_long_ago.2, NotificationStatus::Failed),
        (&sent_lately.2, NotificationStatus::Sent),
        (&queued.2, NotificationStatus::Queued),
    ] {
        assert_eq!(store.notification(kept.id).await.unwrap().status, status);
    }
    assert!(matches!(store.pairing_session(&untried.1.link_hash).await, Err(StoreError::NotFound)));
    // The wallet stays, as its reads showed it: expired, with no attempts.
    assert_eq!(store.wallet_with_attempts(untried.0.id).await.unwrap().0.status, WalletStatus::Expired);
    assert_eq!(store.wallet_with_attempts(tried.0.id).await.unwrap().1, vec![failure]);
    assert_eq!(store.wallet_with_attempts(completed.id).await.unwrap().1, vec![success]);
    for (link_hash, status) in [
        (&tried.1.link_hash, PairingStatus::Expired),
        (&session.link_hash, PairingStatus::Expired),
        (&completed_session.link_hash, PairingStatus::Completed),
        (&pending.1.link_hash, PairingStatus::Initial),
    ] {
        assert_eq!(store.pairing_session(link_hash).await.unwrap().status, status);
    }

    // Failures have their own age.
    let failures = PruneBefore { failed_notifications: Some(cutoff), ..PruneBefore::default() };
    assert_eq!(store.prune(&failures, 10).await.unwrap(), Pruned { failed_notifications: 1, ..Pruned::default() });
    assert!(matches!(store.notification(failed_long_ago.2.id).await, Err(StoreError::NotFound)));
}
