//! OAuth applications, on SQLite.

use domain::StoreError;
use domain::application::Application;
use domain::page::{Page, PageRequest};
use domain::store::{ApplicationStore, StoreResult};
use domain::time::Timestamp;
use uuid::Uuid;

use crate::rows::ApplicationRow;
use crate::{SqliteStore, after_key, backend, one_row};

impl ApplicationStore for SqliteStore {
    async fn create_application(&self, application: &Application) -> StoreResult<()> {
        let (id, environment_id) = (application.id.hyphenated(), application.environment_id.hyphenated());
        let method = application.token_endpoint_auth_method.as_str();
        self.writer
            .execute(sqlx::query!(
                "INSERT INTO applications (id, environment_id, name, description, enabled, token_endpoint_auth_method,
                                       secret_hash, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                id,
                environment_id,
                application.name,
                application.description,
                application.enabled,
                method,
                application.secret_hash,
                application.created_at,
                application.updated_at,
            ))
            .await
            .map(drop)
    }

    async fn application(&self, environment_id: Uuid, id: Uuid) -> StoreResult<Application> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        sqlx::query_as!(
            ApplicationRow,
            "SELECT id, environment_id, name, description, enabled, token_endpoint_auth_method, secret_hash,
                    created_at, updated_at
             FROM applications WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn applications(&self, environment_id: Uuid, page: PageRequest) -> StoreResult<Page<Application>> {
        let (environment_id, after, limit) = (environment_id.hyphenated(), after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            ApplicationRow,
            "SELECT id, environment_id, name, description, enabled, token_endpoint_auth_method, secret_hash,
                    created_at, updated_at
             FROM applications WHERE environment_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            environment_id,
            after,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn update_application(&self, application: &Application) -> StoreResult<()> {
        let (id, environment_id) = (application.id.hyphenated(), application.environment_id.hyphenated());
        let method = application.token_endpoint_auth_method.as_str();
        let result = self
            .writer
            .execute(sqlx::query!(
                "UPDATE applications SET name = ?3, description = ?4, enabled = ?5, token_endpoint_auth_method = ?6,
                                     updated_at = ?7
             WHERE environment_id = ?1 AND id = ?2",
                environment_id,
                id,
                application.name,
                application.description,
                application.enabled,
                method,
                application.updated_at,
            ))
            .await?;
        one_row(result)
    }

    async fn replace_application_secret(
        &self,
        environment_id: Uuid,
        id: Uuid,
        secret_hash: &[u8],
        updated_at: Timestamp,
    ) -> StoreResult<()> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        let result = self
            .writer
            .execute(sqlx::query!(
                "UPDATE applications SET secret_hash = ?3, updated_at = ?4 WHERE environment_id = ?1 AND id = ?2",
                environment_id,
                id,
                secret_hash,
                updated_at,
            ))
            .await?;
        one_row(result)
    }

    async fn delete_application(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        let result = self
            .writer
            .execute(sqlx::query!("DELETE FROM applications WHERE environment_id = ?1 AND id = ?2", environment_id, id))
            .await?;
        one_row(result)
    }
}
