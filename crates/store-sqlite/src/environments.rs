//! Environments, their signing keys, and their configuration as a whole, on SQLite.

use domain::StoreError;
use domain::configuration::Configuration;
use domain::environment::Environment;
use domain::mfa::DevicePolicy;
use domain::page::{Page, PageRequest};
use domain::population::Population;
use domain::signing_key::SigningKey;
use domain::store::{EnvironmentStore, StoreResult};
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::applications::insert_application;
use crate::credential_types::insert_credential_type;
use crate::groups::replace_groups;
use crate::mfa::{insert_policy, upsert_mfa_settings};
use crate::notifications::insert_template_content;
use crate::populations::{insert_population, replace_populations};
use crate::rows::{EnvironmentRow, SigningKeyRow};
use crate::wallets::insert_wallet_application;
use crate::{SqliteStore, after_key, backend, one_row};

/// Replaces the environment's configuration with `configuration`'s, in `conn`'s
/// transaction (see `EnvironmentStore::replace_configuration`).
async fn write_configuration(conn: &mut SqliteConnection, configuration: &Configuration) -> StoreResult<()> {
    let environment_id = configuration.environment_id.hyphenated();
    sqlx::query!("DELETE FROM credential_types WHERE environment_id = ?1", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    sqlx::query!("DELETE FROM wallet_applications WHERE environment_id = ?1", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    // Native applications are configuration; workers are not (the suite's own stay).
    sqlx::query!("DELETE FROM applications WHERE environment_id = ?1 AND type = 'NATIVE_APP'", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    sqlx::query!("DELETE FROM template_contents WHERE environment_id = ?1", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    sqlx::query!("DELETE FROM device_policies WHERE environment_id = ?1", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    sqlx::query!("DELETE FROM mfa_settings WHERE environment_id = ?1", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    let profile = &configuration.issuer_profile;
    let profile_id = profile.id.hyphenated();
    sqlx::query!(
        "INSERT INTO issuer_profiles (id, environment_id, name, site_url, public_key, sealed_private_key, created_at,
                                      updated_at, application_instance_id, logo, use_custom_domain, credential_signing)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (environment_id) DO UPDATE SET name = excluded.name, site_url = excluded.site_url,
                                                    updated_at = excluded.updated_at, logo = excluded.logo,
                                                    use_custom_domain = excluded.use_custom_domain,
                                                    credential_signing = excluded.credential_signing",
        profile_id,
        environment_id,
        profile.name,
        profile.site_url,
        profile.public_key,
        profile.sealed_private_key,
        profile.created_at,
        profile.updated_at,
        profile.application_instance_id.hyphenated(),
        profile.logo,
        profile.use_custom_domain,
        profile.credential_signing.as_ref().map(domain::stored::encode_json),
    )
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    for credential_type in &configuration.credential_types {
        insert_credential_type(conn, credential_type).await?;
    }
    for application in &configuration.applications {
        insert_application(conn, application).await?;
    }
    for application in &configuration.wallet_applications {
        insert_wallet_application(conn, application).await?;
    }
    for content in &configuration.template_contents {
        insert_template_content(conn, content).await?;
    }
    for policy in &configuration.device_policies {
        insert_policy(conn, policy).await?;
    }
    if let Some(populations) = &configuration.populations {
        replace_populations(&mut *conn, configuration.environment_id, populations).await?;
    }
    if let Some(settings) = &configuration.mfa_settings {
        upsert_mfa_settings(conn, settings).await?;
    }
    Ok(())
}

/// `NotFound` unless the environment exists; in `conn`'s transaction.
async fn existing_environment(conn: &mut SqliteConnection, id: Uuid) -> StoreResult<()> {
    let id = id.hyphenated();
    sqlx::query_scalar!("SELECT 1 AS found FROM environments WHERE id = ?1", id)
        .fetch_optional(conn)
        .await
        .map_err(backend)?
        .map(drop)
        .ok_or(StoreError::NotFound)
}

impl EnvironmentStore for SqliteStore {
    async fn create_environment(
        &self,
        environment: &Environment,
        policy: &DevicePolicy,
        population: &Population,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let (id, kind, region) = (environment.id.hyphenated(), environment.kind.as_str(), environment.region.as_str());
        sqlx::query!(
            "INSERT INTO environments (id, name, description, type, region, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            id,
            environment.name,
            environment.description,
            kind,
            region,
            environment.created_at,
            environment.updated_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        insert_policy(&mut tx, policy).await?;
        insert_population(&mut tx, population).await?;
        tx.commit().await
    }

    async fn environment(&self, id: Uuid) -> StoreResult<Environment> {
        let id = id.hyphenated();
        sqlx::query_as!(
            EnvironmentRow,
            "SELECT id, name, description, type AS kind, region, created_at, updated_at FROM environments WHERE id = ?1",
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn environments(&self, page: PageRequest) -> StoreResult<Page<Environment>> {
        let (after, limit) = (after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            EnvironmentRow,
            "SELECT id, name, description, type AS kind, region, created_at, updated_at FROM environments
             WHERE id > ?1 ORDER BY id LIMIT ?2",
            after,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn update_environment(&self, environment: &Environment) -> StoreResult<()> {
        let (id, kind) = (environment.id.hyphenated(), environment.kind.as_str());
        let result = self
            .writer
            .execute(sqlx::query!(
                "UPDATE environments SET name = ?2, description = ?3, type = ?4, updated_at = ?5 WHERE id = ?1",
                id,
                environment.name,
                environment.description,
                kind,
                environment.updated_at,
            ))
            .await?;
        one_row(result)
    }

    async fn delete_environment(&self, id: Uuid) -> StoreResult<()> {
        let id = id.hyphenated();
        let result = self.writer.execute(sqlx::query!("DELETE FROM environments WHERE id = ?1", id)).await?;
        one_row(result)
    }

    async fn reset_environment(&self, configuration: &Configuration) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        existing_environment(&mut tx, configuration.environment_id).await?;
        let environment_id = configuration.environment_id.hyphenated();
        // Users take their wallets, sessions, attempts, credentials, copies and
        // devices with them (ON DELETE CASCADE); notifications only lose their user.
        sqlx::query!("DELETE FROM notifications WHERE environment_id = ?1", environment_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query!("DELETE FROM users WHERE environment_id = ?1", environment_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        write_configuration(&mut tx, configuration).await?;
        tx.commit().await
    }

    async fn replace_configuration(&self, configuration: &Configuration) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        existing_environment(&mut tx, configuration.environment_id).await?;
        let environment_id = configuration.environment_id.hyphenated();
        let has_users =
            sqlx::query_scalar!("SELECT 1 AS found FROM users WHERE environment_id = ?1 LIMIT 1", environment_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?
                .is_some();
        if has_users {
            return Ok(false);
        }
        write_configuration(&mut tx, configuration).await?;
        if let Some(groups) = &configuration.groups {
            replace_groups(&mut tx, configuration.environment_id, groups).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn signing_key(&self, id: Uuid) -> StoreResult<SigningKey> {
        let id = id.hyphenated();
        sqlx::query_as!(
            SigningKeyRow,
            "SELECT id, environment_id, public_key, sealed_private_key, created_at FROM signing_keys WHERE id = ?1",
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .map(Into::into)
        .ok_or(StoreError::NotFound)
    }

    async fn signing_keys(&self, environment_id: Uuid) -> StoreResult<Vec<SigningKey>> {
        let environment_id = environment_id.hyphenated();
        let rows = sqlx::query_as!(
            SigningKeyRow,
            "SELECT id, environment_id, public_key, sealed_private_key, created_at FROM signing_keys
             WHERE environment_id = ?1 ORDER BY created_at DESC, id DESC",
            environment_id
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn add_signing_key(&self, key: &SigningKey, newest: Option<Uuid>) -> StoreResult<SigningKey> {
        // The one writer runs one transaction at a time: no other add comes between
        // reading the newest key and adding this one.
        let mut tx = self.writer.begin().await?;
        existing_environment(&mut tx, key.environment_id).await?;
        let environment_id = key.environment_id.hyphenated();
        let current = sqlx::query_as!(
            SigningKeyRow,
            "SELECT id, environment_id, public_key, sealed_private_key, created_at FROM signing_keys
             WHERE environment_id = ?1 ORDER BY created_at DESC, id DESC LIMIT 1",
            environment_id
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .map(SigningKey::from);
        match current {
            Some(current) if Some(current.id) != newest => return Ok(current),
            None if newest.is_some() => return Err(StoreError::Conflict),
            _ => {}
        }
        let key_id = key.id.hyphenated();
        sqlx::query!(
            "INSERT INTO signing_keys (id, environment_id, public_key, sealed_private_key, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            key_id,
            environment_id,
            key.public_key,
            key.sealed_private_key,
            key.created_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await?;
        Ok(key.clone())
    }
}
