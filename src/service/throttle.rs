//! Slows down secret guessing at the token endpoint. Per source and client (the
//! peer's address, the environment and the client id), after [`FREE_FAILURES`]
//! consecutive failed client authentications that source is refused for that client
//! for a lock of [`FIRST_LOCK`] that doubles with every further failure, up to
//! [`MAX_LOCK`]; a success forgets the pair, and so does a quiet spell of
//! [`FORGET_AFTER`]. Keyed by source, a stranger's wrong guesses lock out only the
//! stranger, never the client's other sources.
//!
//! It lives in memory, per instance (several instances on one database each keep
//! their own count), and never holds more than [`MAX_TRACKED`] pairs. It never
//! decides anything about a secret: the caller checks it and reports the outcome.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// Failures answered normally before the first lock.
pub const FREE_FAILURES: u32 = 5;
/// The lock after the `FREE_FAILURES`th failure; each further failure doubles it.
pub const FIRST_LOCK: Duration = Duration::from_secs(1);
pub const MAX_LOCK: Duration = Duration::from_secs(60);
/// A client whose last failure is older than this starts from zero again.
pub const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// The most pairs tracked at once; past it, forgotten ones go first, then the stalest.
pub const MAX_TRACKED: usize = 10_000;

/// Where failures come from: an IPv4 address, an IPv6 address's /64 (what one host
/// is usually given, so its other addresses count as the same source), or `None`
/// for a caller whose address is unknown (the in-process router in tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Source(Option<IpAddr>);

impl Source {
    pub fn of(peer: Option<IpAddr>) -> Self {
        Self(peer.map(|ip| match ip.to_canonical() {
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
            v4 => v4,
        }))
    }
}

/// A source, and the environment's client id it authenticates as.
pub type ClientKey = (Source, Uuid, Uuid);

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

impl Failures {
    fn forgotten(&self, now: Instant) -> bool {
        self.locked_until.is_none_or(|until| until <= now) && now.duration_since(self.last) >= FORGET_AFTER
    }
}

#[derive(Default)]
pub struct ClientThrottle {
    clients: Mutex<HashMap<ClientKey, Failures>>,
}

impl ClientThrottle {
    /// `Err(wait)` while the client is locked: refuse it without checking its secret.
    pub fn check(&self, client: ClientKey, now: Instant) -> Result<(), Duration> {
        let clients = self.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match clients.get(&client).and_then(|f| f.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Counts a failed authentication; returns the lock it starts, if any.
    pub fn failed(&self, client: ClientKey, now: Instant) -> Option<Duration> {
        let mut clients = self.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !clients.contains_key(&client) && clients.len() >= MAX_TRACKED {
            make_room(&mut clients, now);
        }
        let failures = clients.entry(client).or_insert(Failures { count: 0, last: now, locked_until: None });
        if failures.forgotten(now) {
            *failures = Failures { count: 0, last: now, locked_until: None };
        }
        failures.count = failures.count.saturating_add(1);
        failures.last = now;
        let lock = lock_after(failures.count)?;
        failures.locked_until = Some(now + lock);
        Some(lock)
    }

    /// A successful authentication: the client starts from zero.
    pub fn succeeded(&self, client: ClientKey) {
        self.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&client);
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.clients.lock().unwrap().len()
    }
}

/// The lock after the `count`th consecutive failure.
fn lock_after(count: u32) -> Option<Duration> {
    let doublings = count.checked_sub(FREE_FAILURES)?;
    let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
    Some(FIRST_LOCK.saturating_mul(factor).min(MAX_LOCK))
}

/// Drops the forgotten clients, or else the one whose last failure is oldest.
fn make_room(clients: &mut HashMap<ClientKey, Failures>, now: Instant) {
    clients.retain(|_, failures| !failures.forgotten(now));
    if clients.len() >= MAX_TRACKED
        && let Some(stalest) = clients.iter().min_by_key(|(_, failures)| failures.last).map(|(key, _)| *key)
    {
        clients.remove(&stalest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(n: u128) -> ClientKey {
        (Source::of(None), Uuid::from_u128(1), Uuid::from_u128(n))
    }

    fn from_source(peer: &str, n: u128) -> ClientKey {
        (Source::of(Some(peer.parse().unwrap())), Uuid::from_u128(1), Uuid::from_u128(n))
    }

    #[test]
    fn a_source_locks_only_itself() {
        let throttle = ClientThrottle::default();
        let now = Instant::now();
        for _ in 0..FREE_FAILURES {
            throttle.failed(from_source("192.0.2.1", 1), now);
        }
        assert!(throttle.check(from_source("192.0.2.1", 1), now).is_err(), "the guessing source is locked");
        assert_eq!(throttle.check(from_source("192.0.2.2", 1), now), Ok(()), "another address is not");
        assert_eq!(throttle.check(client(1), now), Ok(()), "nor the unknown source");
    }

    #[test]
    fn an_ipv6_source_is_its_64() {
        let throttle = ClientThrottle::default();
        let now = Instant::now();
        for host in 1..=FREE_FAILURES {
            throttle.failed(from_source(&format!("2001:db8:1:2::{host}"), 1), now);
        }
        assert!(throttle.check(from_source("2001:db8:1:2:ffff::1", 1), now).is_err(), "the same /64");
        assert_eq!(throttle.check(from_source("2001:db8:1:3::1", 1), now), Ok(()), "another /64");
        assert_eq!(Source::of(Some("::ffff:192.0.2.1".parse().unwrap())), from_source("192.0.2.1", 1).0, "mapped v4");
    }

    #[test]
    fn locks_after_five_failures_doubling_up_to_the_cap() {
        let throttle = ClientThrottle::default();
        let mut now = Instant::now();
        for _ in 0..FREE_FAILURES - 1 {
            assert_eq!(throttle.failed(client(1), now), None);
        }
        let mut locks = Vec::new();
        for _ in 0..10 {
            let lock = throttle.failed(client(1), now).unwrap();
            assert_eq!(throttle.check(client(1), now), Err(lock), "refused while locked");
            locks.push(lock.as_secs());
            now += lock;
            assert_eq!(throttle.check(client(1), now), Ok(()), "free once the lock has passed");
        }
        assert_eq!(locks, [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
        assert_eq!(throttle.check(client(2), now), Ok(()), "other clients are not affected");
    }

    #[test]
    fn success_or_a_quiet_spell_starts_over() {
        let throttle = ClientThrottle::default();
        let now = Instant::now();
        for _ in 0..FREE_FAILURES - 1 {
            throttle.failed(client(1), now);
        }
        throttle.succeeded(client(1));
        assert_eq!(throttle.failed(client(1), now), None, "the count started over after a success");
        for _ in 0..FREE_FAILURES - 2 {
            throttle.failed(client(1), now);
        }
        assert_eq!(throttle.failed(client(1), now + FORGET_AFTER), None, "old failures are forgotten");
    }

    #[test]
    fn memory_is_bounded() {
        let throttle = ClientThrottle::default();
        let start = Instant::now();
        for n in 0..MAX_TRACKED as u128 {
            throttle.failed(client(n), start);
        }
        let later = start + Duration::from_secs(1);
        throttle.failed(client(u128::MAX), later);
        assert_eq!(throttle.tracked(), MAX_TRACKED, "the stalest client made room");
        throttle.failed(client(u128::MAX - 1), start + FORGET_AFTER);
        assert_eq!(throttle.tracked(), 2, "forgotten clients are dropped first");
    }
}
