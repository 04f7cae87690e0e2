//! OAuth applications, on Postgres.

use domain::StoreError;
use domain::application::{Application, ClientSecret, MobileIdentifier};
use domain::page::{Page, PageRequest};
use domain::store::{ApplicationStore, StoreResult};
use domain::stored::{ApplicationColumns, MobileHolderRecord, identifiers_held};
use domain::time::Timestamp;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::rows::ApplicationRow;
use crate::wallets::delete_wallet_applications_of;
use crate::{PgStore, after_key, backend, one_row};

pub(crate) async fn insert_application(executor: impl PgExecutor<'_>, application: &Application) -> StoreResult<()> {
    let (id, environment_id) = (application.id, application.environment_id);
    let c = ApplicationColumns::of(application);
    sqlx::query!(
        "INSERT INTO applications (id, environment_id, type, name, description, enabled, token_endpoint_auth_method,
                                   secret_hash, sealed_secret, bundle_id, package_name, huawei_app_id,
                                   huawei_package_name, native_settings, sealed_google_play_keys, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        id,
        environment_id,
        c.application_type,
        application.name,
        application.description,
        application.enabled,
        c.token_endpoint_auth_method,
        c.secret_hash,
        c.sealed_secret,
        c.bundle_id,
        c.package_name,
        c.huawei_app_id,
        c.huawei_package_name,
        c.native_settings,
        c.sealed_google_play_keys,
        application.created_at,
        application.updated_at,
    )
    .execute(executor)
    .await
    .map(drop)
    .map_err(backend)
}

impl ApplicationStore for PgStore {
    async fn create_application(&self, application: &Application) -> StoreResult<()> {
        insert_application(&self.pool, application).await
    }

    async fn application(&self, environment_id: Uuid, id: Uuid) -> StoreResult<Application> {
        sqlx::query_as!(
            ApplicationRow,
            "SELECT id, environment_id, type AS application_type, name, description, enabled,
                    token_endpoint_auth_method, secret_hash, sealed_secret, bundle_id, package_name, huawei_app_id,
                    huawei_package_name, native_settings, sealed_google_play_keys, created_at, updated_at
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
        let (after, limit) = (after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            ApplicationRow,
            "SELECT id, environment_id, type AS application_type, name, description, enabled,
                    token_endpoint_auth_method, secret_hash, sealed_secret, bundle_id, package_name, huawei_app_id,
                    huawei_package_name, native_settings, sealed_google_play_keys, created_at, updated_at
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
        let c = ApplicationColumns::of(application);
        // The stored secret stays (a rotation may have replaced the one read), unless
        // the method is NONE now or the application had none.
        let result = sqlx::query!(
            "UPDATE applications SET name = $3, description = $4, enabled = $5, token_endpoint_auth_method = $6,
                    sealed_secret = CASE WHEN $6 = 'NONE' THEN NULL WHEN secret_hash IS NULL THEN $8
                                         ELSE sealed_secret END,
                    secret_hash = CASE WHEN $6 = 'NONE' THEN NULL ELSE coalesce(secret_hash, $7) END,
                    bundle_id = $9, package_name = $10, huawei_app_id = $11, huawei_package_name = $12,
                    native_settings = $13, sealed_google_play_keys = $14, updated_at = $15
             WHERE environment_id = $1 AND id = $2",
            environment_id,
            id,
            application.name,
            application.description,
            application.enabled,
            c.token_endpoint_auth_method,
            c.secret_hash,
            c.sealed_secret,
            c.bundle_id,
            c.package_name,
            c.huawei_app_id,
            c.huawei_package_name,
            c.native_settings,
            c.sealed_google_play_keys,
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
        secret: &ClientSecret,
        updated_at: Timestamp,
    ) -> StoreResult<()> {
        let result = sqlx::query!(
            "UPDATE applications SET secret_hash = $3, sealed_secret = $4, updated_at = $5
             WHERE environment_id = $1 AND id = $2 AND token_endpoint_auth_method <> 'NONE'",
            environment_id,
            id,
            secret.hash,
            secret.sealed,
            updated_at,
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn delete_application(&self, environment_id: Uuid, id: Uuid, now: Timestamp) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // First, so that its row stays locked: a wallet application being created on it
        // waits, then finds it gone; one created before is deleted below.
        let result = sqlx::query!("DELETE FROM applications WHERE environment_id = $1 AND id = $2", environment_id, id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        one_row(result)?;
        delete_wallet_applications_of(&mut tx, environment_id, id, now).await?;
        tx.commit().await.map_err(backend)
    }

    async fn taken_mobile_identifiers(&self, application: &Application) -> StoreResult<Vec<MobileIdentifier>> {
        let (id, environment_id) = (application.id, application.environment_id);
        let c = ApplicationColumns::of(application);
        let holders = sqlx::query_as!(
            MobileHolderRecord,
            r#"SELECT coalesce(bundle_id = $3, FALSE) AS "bundle_id!",
                      coalesce(package_name = $4, FALSE) AS "package_name!",
                      coalesce(huawei_app_id = $5, FALSE) AS "huawei_app_id!",
                      coalesce(huawei_package_name = $6, FALSE) AS "huawei_package_name!"
               FROM applications
               WHERE environment_id = $1 AND id <> $2
                 AND (bundle_id = $3 OR package_name = $4 OR huawei_app_id = $5 OR huawei_package_name = $6)"#,
            environment_id,
            id,
            c.bundle_id,
            c.package_name,
            c.huawei_app_id,
            c.huawei_package_name,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(identifiers_held(&holders))
    }
}
