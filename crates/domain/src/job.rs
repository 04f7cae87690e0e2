//! Durable background jobs: a row per job, claimed under a lease, run at least
//! once, retried with exponential backoff, and parked as dead with its reason when
//! it keeps failing. Handlers must be idempotent.

use chrono::TimeDelta;
use uuid::Uuid;

use crate::time::Timestamp;

crate::text_enum! {
    pub enum JobStatus {
        /// Waiting for `run_at`.
        Queued => "queued",
        /// Claimed by a worker until `locked_until`; after that any worker may claim it again.
        Running => "running",
        Done => "done",
        /// Gave up after `max_attempts`; `last_error` says why.
        Dead => "dead",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub id: Uuid,
    pub kind: String,
    pub payload: Vec<u8>,
    pub run_at: Timestamp,
    pub max_attempts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: Uuid,
    pub kind: String,
    pub payload: Vec<u8>,
    pub status: JobStatus,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: Timestamp,
    pub locked_until: Option<Timestamp>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The unfinished jobs at one moment, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobQueue {
    /// Claimable now: queued and due, or running with an ended lease.
    pub due: i64,
    /// Claimed, with a lease still running.
    pub running: i64,
    /// Queued for later (a retry's backoff, a pairing session's expiry).
    pub scheduled: i64,
    /// The `run_at` of the longest-waiting due job.
    pub oldest_due: Option<Timestamp>,
}

/// How long finished work is kept before the worker prunes it; `None` keeps that
/// kind forever. A failure is kept longer than a success by default, for an operator
/// to look into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Jobs that succeeded (`done`), counted from when they finished.
    pub done_jobs: Option<TimeDelta>,
    /// Notifications handed to their sender (`SENT`): the outbox a test suite reads.
    pub sent_notifications: Option<TimeDelta>,
    /// Jobs that gave up (`dead`) and notifications that could not be delivered (`FAILED`).
    pub failures: Option<TimeDelta>,
    /// Pairing sessions that expired with no pairing attempt, counted from their expiry.
    pub expired_pairing_sessions: Option<TimeDelta>,
}

impl Retention {
    /// What a prune at `now` may delete: each kind last changed before its cutoff.
    pub fn before(&self, now: Timestamp) -> PruneBefore {
        let cutoff = |age: Option<TimeDelta>| age.map(|age| now - age);
        PruneBefore {
            done_jobs: cutoff(self.done_jobs),
            dead_jobs: cutoff(self.failures),
            sent_notifications: cutoff(self.sent_notifications),
            failed_notifications: cutoff(self.failures),
            expired_pairing_sessions: cutoff(self.expired_pairing_sessions),
        }
    }
}

/// The cutoffs of one prune, for [`crate::store::JobStore::prune`]: a row of each kind last
/// changed before its cutoff goes; `None` spares that kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneBefore {
    pub done_jobs: Option<Timestamp>,
    pub dead_jobs: Option<Timestamp>,
    pub sent_notifications: Option<Timestamp>,
    pub failed_notifications: Option<Timestamp>,
    pub expired_pairing_sessions: Option<Timestamp>,
}

/// How many rows of each kind one prune deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub done_jobs: u64,
    pub dead_jobs: u64,
    pub sent_notifications: u64,
    pub failed_notifications: u64,
    pub expired_pairing_sessions: u64,
}

impl Pruned {
    fn counts(&self) -> [u64; 5] {
        [
            self.done_jobs,
            self.dead_jobs,
            self.sent_notifications,
            self.failed_notifications,
            self.expired_pairing_sessions,
        ]
    }

    pub fn total(&self) -> u64 {
        self.counts().iter().sum()
    }

    /// Whether a kind filled its batch, so more of it may be waiting.
    pub fn filled(&self, batch: u32) -> bool {
        self.counts().contains(&u64::from(batch))
    }
}

/// A job handed to one worker. `attempt` identifies this claim: a worker whose lease
/// ran out cannot settle a later claim of the same job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub id: Uuid,
    pub kind: String,
    pub payload: Vec<u8>,
    pub attempt: i64,
    pub max_attempts: i64,
}

/// A claimed job and how it ended, for [`crate::store::JobStore::finish_jobs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledJob {
    pub job: ClaimedJob,
    pub outcome: JobOutcome,
}

/// How a claimed job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    Retry { at: Timestamp, error: String },
    Dead { error: String },
}

impl JobOutcome {
    /// What a store writes for this outcome: the new status, the next `run_at` (for
    /// a retry) and the error to remember.
    pub fn settlement(&self) -> (JobStatus, Option<Timestamp>, Option<&str>) {
        match self {
            Self::Done => (JobStatus::Done, None, None),
            Self::Retry { at, error } => (JobStatus::Queued, Some(*at), Some(error)),
            Self::Dead { error } => (JobStatus::Dead, None, Some(error)),
        }
    }
}

impl ClaimedJob {
    /// The outcome of a failed attempt: retry after the backoff, or dead when the
    /// attempts are used up.
    pub fn failed(&self, error: String, now: Timestamp) -> JobOutcome {
        if self.attempt >= self.max_attempts {
            JobOutcome::Dead { error }
        } else {
            JobOutcome::Retry { at: now + retry_delay(self.attempt), error }
        }
    }
}

/// Exponential backoff: 2, 4, 8 … seconds after attempt 1, 2, 3 …, capped at one hour.
pub fn retry_delay(attempt: i64) -> TimeDelta {
    let exponent = attempt.clamp(1, 12) as u32;
    TimeDelta::seconds(2_i64.pow(exponent)).min(TimeDelta::hours(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps() {
        assert_eq!(retry_delay(1), TimeDelta::seconds(2));
        assert_eq!(retry_delay(3), TimeDelta::seconds(8));
        assert_eq!(retry_delay(40), TimeDelta::hours(1));
    }

    #[test]
    fn last_attempt_failure_is_dead() {
        let now = crate::time::now();
        let mut job = ClaimedJob { id: Uuid::nil(), kind: "k".into(), payload: vec![], attempt: 1, max_attempts: 2 };
        assert!(matches!(job.failed("boom".into(), now), JobOutcome::Retry { .. }));
        job.attempt = 2;
        assert_eq!(job.failed("boom".into(), now), JobOutcome::Dead { error: "boom".into() });
    }
}
