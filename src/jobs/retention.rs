//! Retention: the worker deletes finished jobs, settled notifications and expired
//! pairing sessions once they are old enough (`Retention`), so a long-running credd
//! does not grow without bound. It prunes at start and then periodically, a small
//! batch of each kind per statement, so a prune never holds the SQLite writer or a
//! Postgres transaction for long. Every instance prunes; the store makes concurrent
//! prunes take different rows.
//!
//! A sweep rather than a job per row: a job to delete each row would add a row for
//! every one it removes, and the jobs table is itself what grows most.

use std::time::Duration;

use domain::job::Retention;
use domain::store::JobStore;
use domain::time::now;
use tokio_util::sync::CancellationToken;

/// The most rows of each kind one statement deletes.
pub const BATCH: u32 = 500;

/// How often an instance prunes when nothing is left over.
pub const EVERY: Duration = Duration::from_secs(60);

/// Prunes now and then every `every` until stopped.
pub async fn run<S: JobStore>(store: S, retention: Retention, every: Duration, stop: CancellationToken) {
    loop {
        prune(&store, &retention, &stop).await;
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// Deletes batches until a batch comes back short (nothing old enough is left) or
/// the worker stops. A failure is logged and the next round tries again.
async fn prune<S: JobStore>(store: &S, retention: &Retention, stop: &CancellationToken) {
    let mut deleted = 0;
    while !stop.is_cancelled() {
        match store.prune(&retention.before(now()), BATCH).await {
            Ok(pruned) => {
                deleted += pruned.total();
                if !pruned.filled(BATCH) {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "pruning old jobs and notifications failed");
                break;
            }
        }
    }
    if deleted > 0 {
        tracing::info!(rows = deleted, "pruned finished jobs, notifications and pairing sessions");
    }
}
