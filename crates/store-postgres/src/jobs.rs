//! The job queue, and pruning what has been kept long enough, on Postgres.

use domain::StoreError;
use domain::job::{ClaimedJob, Job, JobQueue, NewJob, PruneBefore, Pruned, SettledJob};
use domain::store::{JobStore, Outbox, StoreResult};
use domain::time::Timestamp;
use uuid::Uuid;

use crate::rows::JobRow;
use crate::{PgStore, backend, write_outbox};

impl JobStore for PgStore {
    async fn enqueue_job(&self, job: &NewJob) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        write_outbox(&mut conn, &Outbox { notifications: Vec::new(), jobs: vec![job.clone()] }).await
    }

    async fn claim_jobs(&self, now: Timestamp, lease_until: Timestamp, limit: u32) -> StoreResult<Vec<ClaimedJob>> {
        // SKIP LOCKED: concurrent claimers (other instances too) each take different
        // rows instead of queueing behind the same ones. A running job was due when it
        // was claimed, so `run_at <= now` holds for every candidate and bounds the
        // index scan: jobs due tomorrow are never visited.
        let rows = sqlx::query!(
            r#"UPDATE jobs SET status = 'running', attempts = jobs.attempts + 1, locked_until = $2, updated_at = $1
               FROM (SELECT id FROM jobs
                     WHERE run_at <= $1 AND (status = 'queued' OR (status = 'running' AND locked_until < $1))
                     ORDER BY run_at LIMIT $3
                     FOR UPDATE SKIP LOCKED) next
               WHERE jobs.id = next.id
               RETURNING jobs.id, jobs.kind, jobs.payload, jobs.attempts, jobs.max_attempts"#,
            now,
            lease_until,
            i64::from(limit),
        )
        .fetch_all(&self.bookkeeping)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|r| ClaimedJob {
                id: r.id,
                kind: r.kind,
                payload: r.payload,
                attempt: r.attempts,
                max_attempts: r.max_attempts,
            })
            .collect())
    }

    async fn finish_jobs(&self, settled: &[SettledJob], now: Timestamp) -> StoreResult<()> {
        let (mut ids, mut attempts, mut statuses, mut run_ats, mut errors) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for SettledJob { job, outcome } in settled {
            let (status, run_at, error) = outcome.settlement();
            ids.push(job.id);
            attempts.push(job.attempt);
            statuses.push(status.as_str());
            run_ats.push(run_at);
            errors.push(error);
        }
        sqlx::query!(
            "UPDATE jobs SET status = settled.status, run_at = COALESCE(settled.run_at, jobs.run_at),
                             last_error = COALESCE(settled.error, jobs.last_error), locked_until = NULL,
                             updated_at = $6,
                             payload = CASE WHEN settled.status = 'done' THEN ''::bytea ELSE jobs.payload END
             FROM UNNEST($1::uuid[], $2::int8[], $3::text[], $4::timestamptz[], $5::text[])
                 AS settled (id, attempt, status, run_at, error)
             WHERE jobs.id = settled.id AND jobs.attempts = settled.attempt AND jobs.status = 'running'",
            &ids as &[Uuid],
            &attempts as &[i64],
            &statuses as &[&str],
            &run_ats as &[Option<Timestamp>],
            &errors as &[Option<&str>],
            now,
        )
        .execute(&self.bookkeeping)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn job(&self, id: Uuid) -> StoreResult<Job> {
        sqlx::query_as!(
            JobRow,
            "SELECT id, kind, payload, status, attempts, max_attempts, run_at, locked_until, last_error, created_at,
                    updated_at
             FROM jobs WHERE id = $1",
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn job_queue(&self, now: Timestamp) -> StoreResult<JobQueue> {
        let row = sqlx::query!(
            r#"SELECT count(*) FILTER (WHERE run_at <= $1 AND (status = 'queued' OR locked_until < $1)) AS "due!",
                      count(*) FILTER (WHERE status = 'running' AND locked_until >= $1) AS "running!",
                      count(*) FILTER (WHERE status = 'queued' AND run_at > $1) AS "scheduled!",
                      min(run_at) FILTER (WHERE run_at <= $1 AND (status = 'queued' OR locked_until < $1)) AS oldest_due
               FROM jobs WHERE status IN ('queued', 'running')"#,
            now,
        )
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        Ok(JobQueue { due: row.due, running: row.running, scheduled: row.scheduled, oldest_due: row.oldest_due })
    }

    async fn prune(&self, before: &PruneBefore, batch: u32) -> StoreResult<Pruned> {
        // Each kind is a statement and a short transaction of its own. SKIP LOCKED:
        // instances pruning at once each take other rows instead of queueing behind the
        // same ones. On the bookkeeping pool: a prune lost in a crash is done again.
        // Each status has a statement of its own, which names it as a literal: a partial
        // index serves only a query that repeats its condition.
        let batch = i64::from(batch);
        let mut pruned = Pruned::default();
        if let Some(cutoff) = before.done_jobs {
            pruned.done_jobs = sqlx::query!(
                "DELETE FROM jobs WHERE id IN
                   (SELECT id FROM jobs WHERE status = 'done' AND updated_at < $1 ORDER BY updated_at LIMIT $2
                    FOR UPDATE SKIP LOCKED)",
                cutoff,
                batch,
            )
            .execute(&self.bookkeeping)
            .await
            .map_err(backend)?
            .rows_affected();
        }
        if let Some(cutoff) = before.dead_jobs {
            pruned.dead_jobs = sqlx::query!(
                "DELETE FROM jobs WHERE id IN
                   (SELECT id FROM jobs WHERE status = 'dead' AND updated_at < $1 ORDER BY updated_at LIMIT $2
                    FOR UPDATE SKIP LOCKED)",
                cutoff,
                batch,
            )
            .execute(&self.bookkeeping)
            .await
            .map_err(backend)?
            .rows_affected();
        }
        if let Some(cutoff) = before.sent_notifications {
            pruned.sent_notifications = sqlx::query!(
                "DELETE FROM notifications WHERE id IN
                   (SELECT id FROM notifications WHERE status = 'SENT' AND created_at < $1 ORDER BY created_at LIMIT $2
                    FOR UPDATE SKIP LOCKED)",
                cutoff,
                batch,
            )
            .execute(&self.bookkeeping)
            .await
            .map_err(backend)?
            .rows_affected();
        }
        if let Some(cutoff) = before.failed_notifications {
            pruned.failed_notifications = sqlx::query!(
                "DELETE FROM notifications WHERE id IN
                   (SELECT id FROM notifications WHERE status = 'FAILED' AND created_at < $1 ORDER BY created_at LIMIT $2
                    FOR UPDATE SKIP LOCKED)",
                cutoff,
                batch,
            )
            .execute(&self.bookkeeping)
            .await
            .map_err(backend)?
            .rows_affected();
        }
        if let Some(cutoff) = before.expired_pairing_sessions {
            pruned.expired_pairing_sessions = sqlx::query!(
                "DELETE FROM pairing_sessions WHERE id IN
                   (SELECT s.id FROM pairing_sessions s
                    WHERE s.status = 'EXPIRED' AND s.updated_at < $1
                      AND NOT EXISTS (SELECT 1 FROM pairing_attempts a WHERE a.session_id = s.id)
                    ORDER BY s.updated_at LIMIT $2
                    FOR UPDATE SKIP LOCKED)",
                cutoff,
                batch,
            )
            .execute(&self.bookkeeping)
            .await
            .map_err(backend)?
            .rows_affected();
        }
        Ok(pruned)
    }
}
