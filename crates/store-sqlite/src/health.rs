//! Whether the database can serve, and how much it holds, on SQLite.

use domain::store::{HealthStore, StorageUsage, StoreResult};

use crate::{SqliteStore, backend};

impl HealthStore for SqliteStore {
    async fn check_writable(&self) -> StoreResult<()> {
        sqlx::query!("SELECT sqlite_version() AS version").fetch_one(&self.reader).await.map_err(backend)?;
        self.writer
            .execute(sqlx::query!(
                "INSERT INTO readiness_probe (id, written_at) VALUES (1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                 ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at"
            ))
            .await
            .map(drop)
    }

    async fn storage_usage(&self) -> StoreResult<StorageUsage> {
        // Each count reads the table's smallest index; the pragmas read the file header.
        let row = sqlx::query!(
            r#"SELECT (SELECT count(*) FROM jobs) AS "jobs!: i64",
                      (SELECT count(*) FROM notifications) AS "notifications!: i64",
                      (SELECT count(*) FROM pairing_sessions) AS "pairing_sessions!: i64",
                      page_count * page_size AS "database_bytes!: i64",
                      freelist_count * page_size AS "free_bytes!: i64"
               FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()"#
        )
        .fetch_one(&self.reader)
        .await
        .map_err(backend)?;
        Ok(StorageUsage {
            jobs: row.jobs,
            notifications: row.notifications,
            pairing_sessions: row.pairing_sessions,
            database_bytes: row.database_bytes,
            free_bytes: Some(row.free_bytes),
        })
    }
}
