//! What operators read: whether this instance can serve (`/readyz`), and its
//! metrics (`/metrics`).

use domain::store::{HealthStore, JobStore};
use domain::time::now;

use super::Credd;

impl Credd {
    /// Ok when the database answers, takes a write, and has applied every migration
    /// this binary knows; otherwise why not, fit to show an operator (no secrets in it).
    pub async fn readiness(&self) -> Result<(), String> {
        self.store.check_writable().await.map_err(|e| format!("the database cannot serve: {e}"))?;
        let pending =
            self.store.pending_migrations().await.map_err(|e| format!("cannot read the applied migrations: {e}"))?;
        if pending.is_empty() {
            Ok(())
        } else {
            Err(format!("migrations not applied yet: {pending:?} (run `credd migrate` or `sqlx migrate run`)"))
        }
    }

    /// The metrics exposition, with the job queue, the storage sizes and the pools
    /// read now. A database that does not answer leaves the queue and storage gauges
    /// out (and says why in the log).
    pub async fn metrics_exposition(&self) -> String {
        let at = now();
        let queue = match self.store.job_queue(at).await {
            Ok(queue) => Some(queue),
            Err(e) => {
                tracing::warn!(error = %e, "reading the job queue for /metrics failed");
                None
            }
        };
        let storage = match self.store.storage_usage().await {
            Ok(storage) => Some(storage),
            Err(e) => {
                tracing::warn!(error = %e, "reading the storage sizes for /metrics failed");
                None
            }
        };
        self.metrics.render(queue.as_ref(), storage.as_ref(), &self.store.pool_usage(), at)
    }
}
