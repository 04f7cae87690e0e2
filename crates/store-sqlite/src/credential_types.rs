//! The issuer profile and credential types with their fields, on SQLite.

use domain::StoreError;
use domain::credential::{CredentialStatus, CredentialType, CredentialTypeVersion, IssuerProfile};
use domain::page::{Page, PageRequest};
use domain::store::{CredentialTypeStore, StoreResult};
use domain::stored::{assemble_credential_type, encode_json, encode_options};
use domain::time::Timestamp;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::rows::{CredentialFieldRow, CredentialTypeRow, CredentialTypeVersionRow, IssuerProfileRow};
use crate::user_credentials::{Copies, revoke_copies};
use crate::{SqliteStore, after_key, backend, one_row};

/// Writes the type, its fields and its version; part of whatever transaction `conn` is in.
pub(crate) async fn insert_credential_type(
    conn: &mut SqliteConnection,
    credential_type: &CredentialType,
) -> StoreResult<()> {
    let (id, environment_id, mode) =
        (credential_type.id.hyphenated(), credential_type.environment_id.hyphenated(), credential_type.mode.as_str());
    let m = &credential_type.metadata;
    let (options, version_id) = (encode_options(&credential_type.options), credential_type.version_id.hyphenated());
    sqlx::query!(
        "INSERT INTO credential_types (id, environment_id, title, description, card_type, issuer_name, management_mode,
                                       metadata_name, metadata_description, background_image, logo_image, card_color,
                                       text_color, bg_opacity_percent, columns, revoke_on_delete, version, deleted_at,
                                       created_at, updated_at, metadata_version, options, version_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
        id,
        environment_id,
        credential_type.title,
        credential_type.description,
        credential_type.card_type,
        credential_type.issuer_name,
        mode,
        m.name,
        m.description,
        m.background_image,
        m.logo_image,
        m.card_color,
        m.text_color,
        m.bg_opacity_percent,
        m.columns,
        credential_type.revoke_on_delete,
        credential_type.version,
        credential_type.deleted_at,
        credential_type.created_at,
        credential_type.updated_at,
        m.version,
        options,
        version_id,
    )
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    insert_credential_fields(conn, credential_type).await?;
    insert_version(conn, credential_type).await
}

/// Writes the type's current version unless it is stored already: versions never change.
async fn insert_version(conn: &mut SqliteConnection, credential_type: &CredentialType) -> StoreResult<()> {
    let version = CredentialTypeVersion::of(credential_type);
    let (id, environment_id, type_id) =
        (version.id.hyphenated(), version.environment_id.hyphenated(), version.credential_type_id.hyphenated());
    let snapshot = encode_json(&version.snapshot);
    sqlx::query!(
        "INSERT INTO credential_type_versions (id, environment_id, type_id, number, snapshot, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
        id,
        environment_id,
        type_id,
        version.number,
        snapshot,
        version.created_at,
    )
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}

async fn insert_credential_fields(conn: &mut SqliteConnection, credential_type: &CredentialType) -> StoreResult<()> {
    let type_id = credential_type.id.hyphenated();
    for (position, field) in credential_type.metadata.fields.iter().enumerate() {
        let (position, kind) = (position as i64, field.kind.as_str());
        let file_support = field.file_support.map(|f| f.as_str());
        sqlx::query!(
            "INSERT INTO credential_type_fields (type_id, position, field_id, type, title, value, attribute, required,
                                                 default_value, file_support, is_visible)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            type_id,
            position,
            field.id,
            kind,
            field.title,
            field.value,
            field.attribute,
            field.required,
            field.default,
            file_support,
            field.is_visible,
        )
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    Ok(())
}

impl CredentialTypeStore for SqliteStore {
    async fn ensure_issuer_profile(&self, profile: &IssuerProfile) -> StoreResult<IssuerProfile> {
        let (id, environment_id, instance_id) = (
            profile.id.hyphenated(),
            profile.environment_id.hyphenated(),
            profile.application_instance_id.hyphenated(),
        );
        let signing = profile.credential_signing.as_ref().map(encode_json);
        let mut tx = self.writer.begin().await?;
        sqlx::query!(
            "INSERT INTO issuer_profiles (id, environment_id, name, site_url, public_key, sealed_private_key, created_at,
                                          updated_at, application_instance_id, logo, use_custom_domain, credential_signing)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT (environment_id) DO NOTHING",
            id,
            environment_id,
            profile.name,
            profile.site_url,
            profile.public_key,
            profile.sealed_private_key,
            profile.created_at,
            profile.updated_at,
            instance_id,
            profile.logo,
            profile.use_custom_domain,
            signing,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        // The profile this write kept: this one, or the one another made first.
        let kept = sqlx::query_as!(
            IssuerProfileRow,
            "SELECT id, environment_id, application_instance_id, name, site_url, logo, use_custom_domain,
                    credential_signing, public_key, sealed_private_key, created_at, updated_at
             FROM issuer_profiles WHERE environment_id = ?1",
            environment_id
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await?;
        kept.try_into()
    }

    async fn issuer_profile(&self, environment_id: Uuid) -> StoreResult<IssuerProfile> {
        let environment_id = environment_id.hyphenated();
        sqlx::query_as!(
            IssuerProfileRow,
            "SELECT id, environment_id, application_instance_id, name, site_url, logo, use_custom_domain,
                    credential_signing, public_key, sealed_private_key, created_at, updated_at
             FROM issuer_profiles WHERE environment_id = ?1",
            environment_id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn update_issuer_profile(&self, profile: &IssuerProfile) -> StoreResult<()> {
        let environment_id = profile.environment_id.hyphenated();
        let signing = profile.credential_signing.as_ref().map(encode_json);
        let result = self
            .writer
            .execute(sqlx::query!(
                "UPDATE issuer_profiles SET name = ?2, site_url = ?3, updated_at = ?4, logo = ?5, use_custom_domain = ?6,
                        credential_signing = ?7
                 WHERE environment_id = ?1",
                environment_id,
                profile.name,
                profile.site_url,
                profile.updated_at,
                profile.logo,
                profile.use_custom_domain,
                signing,
            ))
            .await?;
        one_row(result)
    }

    async fn create_credential_type(&self, credential_type: &CredentialType) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        insert_credential_type(&mut tx, credential_type).await?;
        tx.commit().await
    }

    async fn credential_type(&self, environment_id: Uuid, id: Uuid) -> StoreResult<CredentialType> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        let row = sqlx::query_as!(
            CredentialTypeRow,
            "SELECT id, environment_id, title, description, card_type, issuer_name, management_mode, metadata_name,
                    metadata_description, background_image, logo_image, card_color, text_color, bg_opacity_percent, columns,
                    metadata_version, options, revoke_on_delete, version, version_id, deleted_at, created_at, updated_at
             FROM credential_types WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        let fields = sqlx::query_as!(
            CredentialFieldRow,
            "SELECT type_id, position, field_id, type AS kind, title, value, attribute, default_value, file_support,
                    required, is_visible
             FROM credential_type_fields WHERE type_id = ?1 ORDER BY position",
            id
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        assemble_credential_type(row, fields)
    }

    async fn credential_types(&self, environment_id: Uuid, page: PageRequest) -> StoreResult<Page<CredentialType>> {
        let (environment_id, after, limit) = (environment_id.hyphenated(), after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            CredentialTypeRow,
            "SELECT id, environment_id, title, description, card_type, issuer_name, management_mode, metadata_name,
                    metadata_description, background_image, logo_image, card_color, text_color, bg_opacity_percent, columns,
                    metadata_version, options, revoke_on_delete, version, version_id, deleted_at, created_at, updated_at
             FROM credential_types WHERE environment_id = ?1 AND deleted_at IS NULL AND id > ?2 ORDER BY id LIMIT ?3",
            environment_id,
            after,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        let mut fields = sqlx::query_as!(
            CredentialFieldRow,
            "SELECT f.type_id, f.position, f.field_id, f.type AS kind, f.title, f.value, f.attribute, f.default_value,
                    f.file_support, f.required, f.is_visible
             FROM credential_type_fields f JOIN credential_types t ON t.id = f.type_id
             WHERE t.environment_id = ?1 AND t.deleted_at IS NULL AND t.id > ?2
             ORDER BY f.type_id, f.position",
            environment_id,
            after
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(|row| {
            let (own, rest): (Vec<_>, Vec<_>) = fields.drain(..).partition(|f| f.type_id == row.id);
            fields = rest;
            assemble_credential_type(row, own)
        })
    }

    async fn update_credential_type(&self, credential_type: &CredentialType) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let (id, environment_id, mode) = (
            credential_type.id.hyphenated(),
            credential_type.environment_id.hyphenated(),
            credential_type.mode.as_str(),
        );
        let m = &credential_type.metadata;
        let (options, version_id) = (encode_options(&credential_type.options), credential_type.version_id.hyphenated());
        let result = sqlx::query!(
            "UPDATE credential_types SET description = ?3, card_type = ?4, issuer_name = ?5, management_mode = ?6,
                    metadata_name = ?7, metadata_description = ?8, background_image = ?9, logo_image = ?10, card_color = ?11,
                    text_color = ?12, bg_opacity_percent = ?13, columns = ?14, revoke_on_delete = ?15, version = ?16,
                    deleted_at = ?17, updated_at = ?18, metadata_version = ?19, options = ?20, version_id = ?21
             WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            id,
            credential_type.description,
            credential_type.card_type,
            credential_type.issuer_name,
            mode,
            m.name,
            m.description,
            m.background_image,
            m.logo_image,
            m.card_color,
            m.text_color,
            m.bg_opacity_percent,
            m.columns,
            credential_type.revoke_on_delete,
            credential_type.version,
            credential_type.deleted_at,
            credential_type.updated_at,
            m.version,
            options,
            version_id,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        sqlx::query!("DELETE FROM credential_type_fields WHERE type_id = ?1", id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        insert_credential_fields(&mut tx, credential_type).await?;
        insert_version(&mut tx, credential_type).await?;
        tx.commit().await
    }

    async fn credential_type_versions(
        &self,
        environment_id: Uuid,
        type_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<CredentialTypeVersion>> {
        let (environment_id, type_id) = (environment_id.hyphenated(), type_id.hyphenated());
        let (after, limit) = (after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            CredentialTypeVersionRow,
            "SELECT id, environment_id, type_id, number, snapshot, created_at FROM credential_type_versions
             WHERE environment_id = ?1 AND type_id = ?2 AND id > ?3 ORDER BY id LIMIT ?4",
            environment_id,
            type_id,
            after,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn credential_type_version(
        &self,
        environment_id: Uuid,
        type_id: Uuid,
        id: Uuid,
    ) -> StoreResult<CredentialTypeVersion> {
        let (environment_id, type_id, id) = (environment_id.hyphenated(), type_id.hyphenated(), id.hyphenated());
        sqlx::query_as!(
            CredentialTypeVersionRow,
            "SELECT id, environment_id, type_id, number, snapshot, created_at FROM credential_type_versions
             WHERE environment_id = ?1 AND type_id = ?2 AND id = ?3",
            environment_id,
            type_id,
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn delete_credential_type(
        &self,
        environment_id: Uuid,
        id: Uuid,
        at: Timestamp,
        revoke_issued: bool,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let (environment_id, type_id) = (environment_id.hyphenated(), id.hyphenated());
        let result = sqlx::query!(
            "UPDATE credential_types SET deleted_at = ?3, updated_at = ?3
             WHERE environment_id = ?1 AND id = ?2 AND deleted_at IS NULL",
            environment_id,
            type_id,
            at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        let (pending, revoked) = (CredentialStatus::Pending.as_str(), CredentialStatus::Revoked.as_str());
        sqlx::query!(
            "DELETE FROM user_credentials WHERE environment_id = ?1 AND credential_type_id = ?2 AND status = ?3",
            environment_id,
            type_id,
            pending,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if revoke_issued {
            let revoked_ids = sqlx::query_scalar!(
                r#"UPDATE user_credentials SET status = ?3, expires_at = MIN(COALESCE(expires_at, ?4), ?4), updated_at = ?4
                   WHERE environment_id = ?1 AND credential_type_id = ?2 AND status <> ?3
                   RETURNING id AS "id: uuid::fmt::Hyphenated""#,
                environment_id,
                type_id,
                revoked,
                at,
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
            for credential_id in revoked_ids {
                revoke_copies(&mut tx, Copies::OfCredential(credential_id.into_uuid()), at).await?;
            }
        }
        tx.commit().await
    }
}
