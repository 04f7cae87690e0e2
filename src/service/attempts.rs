//! One secret-guessing attempt at a time per record (a pairing session), so that
//! attempts sent at once are counted one by one and cannot all be judged before the
//! lock that the first few should trigger. (A device's code needs none: its store
//! counts each guess in one conditional statement before it is judged.)
//!
//! This serializes within one instance only: the stores write the count back as read,
//! so instances sharing a PostgreSQL database can still each judge a guess before the
//! others' failures are seen. Memory is fixed: keys share a small set of locks.

use std::hash::{DefaultHasher, Hash, Hasher};

use tokio::sync::{Mutex, MutexGuard};
use uuid::Uuid;

const STRIPES: usize = 64;

pub struct AttemptLocks {
    stripes: Vec<Mutex<()>>,
}

impl Default for AttemptLocks {
    fn default() -> Self {
        Self { stripes: (0..STRIPES).map(|_| Mutex::new(())).collect() }
    }
}

impl AttemptLocks {
    /// Held while an attempt on `record` reads, judges and records.
    pub async fn lock(&self, record: Uuid) -> MutexGuard<'_, ()> {
        let mut hasher = DefaultHasher::new();
        record.hash(&mut hasher);
        self.stripes[(hasher.finish() % STRIPES as u64) as usize].lock().await
    }
}
