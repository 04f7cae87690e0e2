//! Whether the store can serve, and how much it holds: what readiness probes and
//! metrics ask.

use std::future::Future;

use super::{StorageUsage, StoreResult};

pub trait HealthStore {
    /// Can this instance serve: the database answers reads, and a write through this
    /// instance's writer commits?
    fn check_writable(&self) -> impl Future<Output = StoreResult<()>> + Send;
    /// The sizes metrics show, read cheaply enough for every scrape.
    fn storage_usage(&self) -> impl Future<Output = StoreResult<StorageUsage>> + Send;
}
