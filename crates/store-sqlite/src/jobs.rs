//! The job queue, and pruning what has been kept long enough, on SQLite.

use domain::StoreError;
use domain::job::{ClaimedJob, Job, JobQueue, NewJob, PruneBefore, Pruned, SettledJob};
use domain::store::{JobStore, StoreResult};
use domain::time::Timestamp;
use uuid::Uuid;

use crate::rows::JobRow;
use crate::{SqliteStore, backend, insert_job};

/// Gives back at most 1,024 free pages (4 MiB of 4 KiB pages), once per prune: more
/// than a batch of each kind frees, so the free list drains as the prune goes, while
/// each step holds the writer only briefly.
const VACUUM_STEP: &str = "PRAGMA incremental_vacuum(1024)";

impl JobStore for SqliteStore {
    async fn enqueue_job(&self, job: &NewJob) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        insert_job(&mut tx, job).await?;
        tx.commit().await
    }

    async fn claim_jobs(&self, now: Timestamp, lease_until: Timestamp, limit: u32) -> StoreResult<Vec<ClaimedJob>> {
        // SQLite has one writer at a time, so the inner SELECT and the UPDATE cannot
        // interleave with another claim: no SKIP LOCKED needed. A running job was due
        // when it was claimed, so `run_at <= now` bounds the index scan. The `IN` repeats
        // the `jobs_due` index's condition word for word: SQLite uses a partial index only
        // then, and otherwise scans every finished job on each claim.
        let mut tx = self.writer.begin().await?;
        let rows = sqlx::query!(
            r#"UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = ?2, updated_at = ?1
               WHERE id IN (SELECT id FROM jobs
                            WHERE run_at <= ?1 AND status IN ('queued', 'running')
                              AND (status = 'queued' OR locked_until < ?1)
                            ORDER BY run_at LIMIT ?3)
               RETURNING id AS "id!: uuid::fmt::Hyphenated", kind, payload, attempts, max_attempts"#,
            now,
            lease_until,
            limit,
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|r| ClaimedJob {
                id: r.id.into_uuid(),
                kind: r.kind,
                payload: r.payload,
                attempt: r.attempts,
                max_attempts: r.max_attempts,
            })
            .collect())
    }

    async fn finish_jobs(&self, settled: &[SettledJob], now: Timestamp) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        for SettledJob { job, outcome } in settled {
            let id = job.id.hyphenated();
            let (status, run_at, error) = outcome.settlement();
            let status = status.as_str();
            sqlx::query!(
                "UPDATE jobs SET status = ?3, run_at = COALESCE(?4, run_at), last_error = COALESCE(?5, last_error),
                                 locked_until = NULL, updated_at = ?6,
                                 payload = CASE WHEN ?3 = 'done' THEN X'' ELSE payload END
                 WHERE id = ?1 AND attempts = ?2 AND status = 'running'",
                id,
                job.attempt,
                status,
                run_at,
                error,
                now,
            )
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await
    }

    async fn job(&self, id: Uuid) -> StoreResult<Job> {
        let id = id.hyphenated();
        sqlx::query_as!(
            JobRow,
            "SELECT id, kind, payload, status, attempts, max_attempts, run_at, locked_until, last_error, created_at,
                    updated_at
             FROM jobs WHERE id = ?1",
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn job_queue(&self, now: Timestamp) -> StoreResult<JobQueue> {
        // The `IN` repeats the `jobs_due` index's condition word for word, so SQLite
        // reads the unfinished jobs from it instead of scanning every finished one
        // (see `claim_jobs`).
        let row = sqlx::query!(
            r#"SELECT count(*) FILTER (WHERE run_at <= ?1 AND (status = 'queued' OR locked_until < ?1)) AS "due!: i64",
                      count(*) FILTER (WHERE status = 'running' AND locked_until >= ?1) AS "running!: i64",
                      count(*) FILTER (WHERE status = 'queued' AND run_at > ?1) AS "scheduled!: i64",
                      min(run_at) FILTER (WHERE run_at <= ?1 AND (status = 'queued' OR locked_until < ?1))
                          AS "oldest_due?: chrono::DateTime<chrono::Utc>"
               FROM jobs WHERE status IN ('queued', 'running')"#,
            now,
        )
        .fetch_one(&self.reader)
        .await
        .map_err(backend)?;
        Ok(JobQueue { due: row.due, running: row.running, scheduled: row.scheduled, oldest_due: row.oldest_due })
    }

    async fn prune(&self, before: &PruneBefore, batch: u32) -> StoreResult<Pruned> {
        // One write per kind, so other writes take the writer between them. SQLite has one
        // writer, so no two prunes pick the same rows. The inner SELECTs read `rowid` from
        // the partial indexes, whose conditions they repeat word for word.
        let mut pruned = Pruned::default();
        if let Some(cutoff) = before.done_jobs {
            pruned.done_jobs = self
                .writer
                .execute(sqlx::query!(
                    "DELETE FROM jobs WHERE rowid IN
                       (SELECT rowid FROM jobs WHERE status = 'done' AND updated_at < ?1 ORDER BY updated_at LIMIT ?2)",
                    cutoff,
                    batch,
                ))
                .await?
                .rows_affected();
        }
        if let Some(cutoff) = before.dead_jobs {
            pruned.dead_jobs = self
                .writer
                .execute(sqlx::query!(
                    "DELETE FROM jobs WHERE rowid IN
                       (SELECT rowid FROM jobs WHERE status = 'dead' AND updated_at < ?1 ORDER BY updated_at LIMIT ?2)",
                    cutoff,
                    batch,
                ))
                .await?
                .rows_affected();
        }
        if let Some(cutoff) = before.sent_notifications {
            pruned.sent_notifications = self
                .writer
                .execute(sqlx::query!(
                    "DELETE FROM notifications WHERE rowid IN
                       (SELECT rowid FROM notifications WHERE status = 'SENT' AND created_at < ?1
                        ORDER BY created_at LIMIT ?2)",
                    cutoff,
                    batch,
                ))
                .await?
                .rows_affected();
        }
        if let Some(cutoff) = before.failed_notifications {
            pruned.failed_notifications = self
                .writer
                .execute(sqlx::query!(
                    "DELETE FROM notifications WHERE rowid IN
                       (SELECT rowid FROM notifications WHERE status = 'FAILED' AND created_at < ?1
                        ORDER BY created_at LIMIT ?2)",
                    cutoff,
                    batch,
                ))
                .await?
                .rows_affected();
        }
        if let Some(cutoff) = before.expired_pairing_sessions {
            pruned.expired_pairing_sessions = self
                .writer
                .execute(sqlx::query!(
                    "DELETE FROM pairing_sessions WHERE rowid IN
                       (SELECT s.rowid FROM pairing_sessions s
                        WHERE s.status = 'EXPIRED' AND s.updated_at < ?1
                          AND NOT EXISTS (SELECT 1 FROM pairing_attempts a WHERE a.session_id = s.id)
                        ORDER BY s.updated_at LIMIT ?2)",
                    cutoff,
                    batch,
                ))
                .await?
                .rows_affected();
        }
        // The freed pages (and those of wiped payloads) go back to the file system, a
        // bounded step per prune. A database without incremental auto-vacuum ignores it.
        self.writer.execute(sqlx::query(VACUUM_STEP)).await?;
        Ok(pruned)
    }
}
