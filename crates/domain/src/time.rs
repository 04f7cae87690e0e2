//! Time and identity conventions shared by every record.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use uuid::Uuid;

pub type Timestamp = DateTime<Utc>;

/// The current time at millisecond precision: what PingOne shows
/// (`2023-02-10T14:46:24.669Z`) and what both stores round-trip exactly.
pub fn now() -> Timestamp {
    truncate_to_millis(Utc::now())
}

pub fn truncate_to_millis(t: Timestamp) -> Timestamp {
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}

/// A new record id: UUIDv7 is time-ordered, so keyset pagination by id is
/// creation order and B-tree inserts stay at the right edge.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}
