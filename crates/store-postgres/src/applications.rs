//! OAuth applications, on Postgres.

use domain::StoreError;
use domain::application::Application;
use domain::page::{Page, PageRequest};
use domain::store::{ApplicationStore, StoreResult};
use domain::time::Timestamp;
use uuid::Uuid;

use crate::rows::ApplicationRow;
use crate::{PgStore, after_key, backend, one_row};

impl ApplicationStore for PgStore {
    async fn create_application(&self, application: &Application) -> StoreResult<()> {
        let (id, environment_id) = (application.id, application.environment_id);
        let method = application.token_endpoint_auth_method.as_str();
        sqlx::query!(
            "INSERT INTO applications (id, environment_id, name, description, enabled, token_endpoint_auth_method,
                                       secret_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            id,
            environment_id,
            application.name,
            application.description,
            application.enabled,
            method,
            application.secret_hash,
            application.created_at,
            application.updated_at,
        )
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn application(&self, environment_id: Uuid, id: Uuid) -> StoreResult<Application> {
        sqlx::query_as!(
            ApplicationRow,
            "SELECT id, environment_id, name, description, enabled, token_endpoint_auth_method, secret_hash,
                    created_at, updated_at
             FROM applications WHERE environment_id = $1 AND id = $2",
            environment_id,
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn applications(&self, environment_id: Uuid, page: PageRequest) -> StoreResult<Page<Application>> {
        let (environment_id, after, limit) = (environment_id, after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            ApplicationRow,
            "SELECT id, environment_id, name, description, enabled, token_endpoint_auth_method, secret_hash,
                    created_at, updated_at
             FROM applications WHERE environment_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            environment_id,
            after,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn update_application(&self, application: &Application) -> StoreResult<()> {
        let (id, environment_id) = (application.id, application.environment_id);
        let method = application.token_endpoint_auth_method.as_str();
        let result = sqlx::query!(
            "UPDATE applications SET name = $3, description = $4, enabled = $5, token_endpoint_auth_method = $6,
                                     updated_at = $7
             WHERE environment_id = $1 AND id = $2",
            environment_id,
            id,
            application.name,
            application.description,
            application.enabled,
            method,
            application.updated_at,
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn replace_application_secret(
        &self,
        environment_id: Uuid,
        id: Uuid,
        secret_hash: &[u8],
        updated_at: Timestamp,
    ) -> StoreResult<()> {
        let result = sqlx::query!(
            "UPDATE applications SET secret_hash = $3, updated_at = $4 WHERE environment_id = $1 AND id = $2",
            environment_id,
            id,
            secret_hash,
            updated_at,
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn delete_application(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()> {
        let result = sqlx::query!("DELETE FROM applications WHERE environment_id = $1 AND id = $2", environment_id, id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        one_row(result)
    }
}
