//! Whether the database can serve, and how much it holds, on Postgres.

use domain::store::{HealthStore, StorageUsage, StoreResult};

use crate::{PgStore, backend};

impl HealthStore for PgStore {
    async fn check_writable(&self) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO readiness_probe (id, written_at) VALUES (1, now())
             ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at"
        )
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn storage_usage(&self) -> StoreResult<StorageUsage> {
        // The statistics' running row estimates: no table is read. The database's size
        // is a sum over its files.
        let row = sqlx::query!(
            r#"SELECT coalesce(sum(n_live_tup) FILTER (WHERE relname = 'jobs'), 0)::int8 AS "jobs!",
                      coalesce(sum(n_live_tup) FILTER (WHERE relname = 'notifications'), 0)::int8 AS "notifications!",
                      coalesce(sum(n_live_tup) FILTER (WHERE relname = 'pairing_sessions'), 0)::int8
                          AS "pairing_sessions!",
                      pg_database_size(current_database()) AS "database_bytes!"
               FROM pg_stat_user_tables
               WHERE schemaname = current_schema() AND relname IN ('jobs', 'notifications', 'pairing_sessions')"#
        )
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        Ok(StorageUsage {
            jobs: row.jobs,
            notifications: row.notifications,
            pairing_sessions: row.pairing_sessions,
            database_bytes: row.database_bytes,
            free_bytes: None,
        })
    }
}
