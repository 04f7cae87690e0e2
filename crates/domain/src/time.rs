//! Time and identity conventions shared by every record.

use chrono::{DateTime, Datelike, Timelike, Utc};
use uuid::Uuid;

pub type Timestamp = DateTime<Utc>;

/// The current time at millisecond precision: what PingOne shows
/// (`2023-02-10T14:46:24.669Z`) and what both stores round-trip exactly.
pub fn now() -> Timestamp {
    truncate_to_millis(Utc::now())
}

pub fn truncate_to_millis(t: Timestamp) -> Timestamp {
    // Not `duration_trunc`, which fails outside the nanosecond range (after 2262).
    t.with_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000).unwrap_or(t)
}

/// `2023-02-10T14:46:24.669Z`: how PingOne writes a time, and how credd writes one
/// wherever it is text (responses, the `Issued Timestamp` claim of a credential).
pub fn format_timestamp(t: &Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A time a client sent, at millisecond precision, if it falls in the years 0001 to
/// 9999 (UTC): both stores keep timestamps in forms that sort as time does only for
/// four-digit years (SQLite compares them as text), so no other time may reach them.
pub fn storable(t: Timestamp) -> Option<Timestamp> {
    (1..=9999).contains(&t.year()).then(|| truncate_to_millis(t))
}

/// A new record id: UUIDv7 is time-ordered, so keyset pagination by id is
/// creation order and B-tree inserts stay at the right edge.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        let at = |text: &str| text.parse::<Timestamp>().unwrap();
        assert_eq!(format_timestamp(&at("2023-02-10T14:46:24.669+00:00")), "2023-02-10T14:46:24.669Z");
        assert_eq!(format_timestamp(&at("2023-02-10T14:46:24+00:00")), "2023-02-10T14:46:24.000Z");
    }

    #[test]
    fn only_four_digit_years_are_storable() {
        let at = |text: &str| text.parse::<Timestamp>().unwrap();
        assert_eq!(storable(at("9999-12-31T23:59:59.9999Z")), Some(at("9999-12-31T23:59:59.999Z")));
        assert_eq!(storable(at("0001-01-01T00:00:00Z")), Some(at("0001-01-01T00:00:00Z")));
        assert_eq!(storable(at("+10000-01-01T00:00:00Z")), None);
        assert_eq!(storable(at("9999-12-31T23:00:00-05:00")), None, "year 10000 in UTC");
        assert_eq!(storable(at("0000-12-31T23:59:59Z")), None);
    }
}
