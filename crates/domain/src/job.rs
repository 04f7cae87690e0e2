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

/// A claimed job and how it ended, for [`crate::Store::finish_jobs`].
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
