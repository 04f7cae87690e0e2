//! Device policies, MFA settings, and devices with their one-time codes, on SQLite.

use domain::StoreError;
use domain::mfa::{
    Device, DeviceFilter, DevicePolicy, DeviceSlot, DeviceStatus, DeviceType, MethodPolicy, MfaSettings, OtpAttempt,
};
use domain::page::{Page, PageRequest};
use domain::store::{MfaStore, Outbox, StoreResult};
use domain::stored::{assemble_policy, policy_methods};
use domain::time::Timestamp;
use sqlx::{SqliteConnection, SqliteExecutor};
use uuid::Uuid;

use crate::rows::{DevicePolicyRow, DeviceRow, MethodPolicyRow, MfaSettingsRow};
use crate::{SqliteStore, backend, one_row, write_outbox};

/// Writes a policy and its method rows; a default policy takes the flag from the others.
pub(crate) async fn insert_policy(conn: &mut SqliteConnection, policy: &DevicePolicy) -> StoreResult<()> {
    let (id, environment_id) = (policy.id.hyphenated(), policy.environment_id.hyphenated());
    sqlx::query!(
        "INSERT INTO device_policies (id, environment_id, name, is_default, kept_settings, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        id,
        environment_id,
        policy.name,
        policy.default,
        policy.kept.as_str(),
        policy.created_at,
        policy.updated_at,
    )
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    insert_policy_methods(conn, policy).await
}

async fn insert_policy_methods(conn: &mut SqliteConnection, policy: &DevicePolicy) -> StoreResult<()> {
    let (id, environment_id) = (policy.id.hyphenated(), policy.environment_id.hyphenated());
    if policy.default {
        sqlx::query!(
            "UPDATE device_policies SET is_default = FALSE WHERE environment_id = ?1 AND id <> ?2",
            environment_id,
            id
        )
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    for (kind, method) in policy_methods(policy) {
        let (kind, lifetime_unit, cool_down_unit) =
            (kind.as_str(), method.otp_lifetime.unit.as_str(), method.cool_down.unit.as_str());
        sqlx::query!(
            "INSERT INTO device_policy_methods (policy_id, method, enabled, pairing_disabled, otp_lifetime, otp_lifetime_unit,
                                                failure_count, cool_down, cool_down_unit, otp_length)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            id,
            kind,
            method.enabled,
            method.pairing_disabled,
            method.otp_lifetime.duration,
            lifetime_unit,
            method.failure_count,
            method.cool_down.duration,
            cool_down_unit,
            method.otp_length,
        )
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    Ok(())
}

async fn read_device(
    executor: impl SqliteExecutor<'_>,
    environment_id: Uuid,
    user_id: Uuid,
    id: Uuid,
) -> StoreResult<Device> {
    let (environment_id, user_id, id) = (environment_id.hyphenated(), user_id.hyphenated(), id.hyphenated());
    sqlx::query_as!(
        DeviceRow,
        "SELECT id, environment_id, user_id, type AS kind, status, phone, email, nickname, policy_id, sealed_secret,
                otp_hash, otp_expires_at, failed_attempts, locked_until, position, created_at, updated_at
         FROM devices WHERE environment_id = ?1 AND user_id = ?2 AND id = ?3",
        environment_id,
        user_id,
        id
    )
    .fetch_optional(executor)
    .await
    .map_err(backend)?
    .ok_or(StoreError::NotFound)?
    .try_into()
}

pub(crate) async fn upsert_mfa_settings(conn: &mut SqliteConnection, settings: &MfaSettings) -> StoreResult<()> {
    let environment_id = settings.environment_id.hyphenated();
    sqlx::query!(
        "INSERT INTO mfa_settings (environment_id, max_allowed_devices, kept_settings, updated_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (environment_id) DO UPDATE SET max_allowed_devices = excluded.max_allowed_devices,
                                                    kept_settings = excluded.kept_settings,
                                                    updated_at = excluded.updated_at",
        environment_id,
        settings.max_allowed_devices,
        settings.kept.as_str(),
        settings.updated_at,
    )
    .execute(conn)
    .await
    .map(drop)
    .map_err(backend)
}

impl MfaStore for SqliteStore {
    async fn create_device_policy(&self, policy: &DevicePolicy) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        insert_policy(&mut tx, policy).await?;
        tx.commit().await
    }

    async fn device_policy(&self, environment_id: Uuid, id: Uuid) -> StoreResult<DevicePolicy> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        let record = sqlx::query_as!(
            DevicePolicyRow,
            "SELECT id, environment_id, name, is_default, kept_settings, created_at, updated_at FROM device_policies
             WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        let methods = sqlx::query_as!(
            MethodPolicyRow,
            "SELECT policy_id, method, enabled, pairing_disabled, otp_lifetime, otp_lifetime_unit, failure_count, cool_down,
                    cool_down_unit, otp_length
             FROM device_policy_methods WHERE policy_id = ?1",
            id
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        assemble_policy(record, methods)
    }

    async fn device_policies(&self, environment_id: Uuid) -> StoreResult<Vec<DevicePolicy>> {
        let environment_id = environment_id.hyphenated();
        let records = sqlx::query_as!(
            DevicePolicyRow,
            "SELECT id, environment_id, name, is_default, kept_settings, created_at, updated_at FROM device_policies
             WHERE environment_id = ?1 ORDER BY id",
            environment_id
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        let mut methods = sqlx::query_as!(
            MethodPolicyRow,
            "SELECT m.policy_id, m.method, m.enabled, m.pairing_disabled, m.otp_lifetime, m.otp_lifetime_unit,
                    m.failure_count, m.cool_down, m.cool_down_unit, m.otp_length
             FROM device_policy_methods m JOIN device_policies p ON p.id = m.policy_id
             WHERE p.environment_id = ?1",
            environment_id
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        records
            .into_iter()
            .map(|record| {
                let (own, rest): (Vec<_>, Vec<_>) = methods.drain(..).partition(|m| m.policy_id == record.id);
                methods = rest;
                assemble_policy(record, own)
            })
            .collect()
    }

    async fn update_device_policy(&self, policy: &DevicePolicy) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let (environment_id, id) = (policy.environment_id.hyphenated(), policy.id.hyphenated());
        let result = sqlx::query!(
            "UPDATE device_policies SET name = ?3, is_default = ?4, kept_settings = ?5, updated_at = ?6
             WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            id,
            policy.name,
            policy.default,
            policy.kept.as_str(),
            policy.updated_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        sqlx::query!("DELETE FROM device_policy_methods WHERE policy_id = ?1", id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        insert_policy_methods(&mut tx, policy).await?;
        tx.commit().await
    }

    async fn delete_device_policy(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        let mut tx = self.writer.begin().await?;
        let in_use = sqlx::query!(r#"SELECT COUNT(*) AS "count!: i64" FROM devices WHERE policy_id = ?1"#, id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if in_use.count > 0 {
            return Err(StoreError::Conflict);
        }
        let result =
            sqlx::query!("DELETE FROM device_policies WHERE environment_id = ?1 AND id = ?2", environment_id, id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        one_row(result)?;
        tx.commit().await
    }

    async fn mfa_settings(&self, environment_id: Uuid) -> StoreResult<Option<MfaSettings>> {
        let environment_id = environment_id.hyphenated();
        let row = sqlx::query_as!(
            MfaSettingsRow,
            "SELECT environment_id, max_allowed_devices, kept_settings, updated_at FROM mfa_settings WHERE environment_id = ?1",
            environment_id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?;
        Ok(row.map(Into::into))
    }

    async fn put_mfa_settings(&self, settings: &MfaSettings) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        upsert_mfa_settings(&mut tx, settings).await?;
        tx.commit().await
    }

    async fn create_device(&self, device: &Device, max_devices: i64, outbox: &Outbox) -> StoreResult<DeviceSlot> {
        let mut tx = self.writer.begin().await?;
        let (id, environment_id, user_id, policy_id) = (
            device.id.hyphenated(),
            device.environment_id.hyphenated(),
            device.user_id.hyphenated(),
            device.policy_id.hyphenated(),
        );
        let held = sqlx::query!(
            r#"SELECT COUNT(*) AS "count!: i64" FROM devices WHERE environment_id = ?1 AND user_id = ?2"#,
            environment_id,
            user_id
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        if held.count >= max_devices {
            return Ok(DeviceSlot::LimitReached);
        }
        let (kind, status) = (device.kind.as_str(), device.status.as_str());
        let created = sqlx::query!(
            "INSERT INTO devices (id, environment_id, user_id, type, status, phone, email, nickname, policy_id, sealed_secret,
                                  otp_hash, otp_expires_at, failed_attempts, locked_until, position, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
                     (SELECT COALESCE(MAX(position), 0) + 1 FROM devices WHERE environment_id = ?2 AND user_id = ?3), ?15, ?16)
             RETURNING position",
            id,
            environment_id,
            user_id,
            kind,
            status,
            device.phone,
            device.email,
            device.nickname,
            policy_id,
            device.sealed_secret,
            device.otp_hash,
            device.otp_expires_at,
            device.failed_attempts,
            device.locked_until,
            device.created_at,
            device.updated_at,
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await?;
        Ok(DeviceSlot::Created { position: created.position })
    }

    async fn device(&self, environment_id: Uuid, user_id: Uuid, id: Uuid) -> StoreResult<Device> {
        read_device(&self.reader, environment_id, user_id, id).await
    }

    async fn devices(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        filter: &DeviceFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Device>> {
        let (environment_id, user_id) = (environment_id.hyphenated(), user_id.hyphenated());
        let (status, kind) = (filter.status.map(DeviceStatus::as_str), filter.kind.map(DeviceType::as_str));
        let after = page.after.map(|id| id.hyphenated());
        let limit = page.fetch_limit();
        let rows = sqlx::query_as!(
            DeviceRow,
            "SELECT id, environment_id, user_id, type AS kind, status, phone, email, nickname, policy_id, sealed_secret,
                    otp_hash, otp_expires_at, failed_attempts, locked_until, position, created_at, updated_at
             FROM devices
             WHERE environment_id = ?1 AND user_id = ?2 AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR type = ?4)
               AND (?5 IS NULL OR (position, id) > (SELECT position, id FROM devices WHERE id = ?5))
             ORDER BY position, id LIMIT ?6",
            environment_id,
            user_id,
            status,
            kind,
            after,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn set_device_nickname(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        nickname: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<Device> {
        let mut tx = self.writer.begin().await?;
        let (environment_key, user_key, key) = (environment_id.hyphenated(), user_id.hyphenated(), id.hyphenated());
        let result = sqlx::query!(
            "UPDATE devices SET nickname = ?4, updated_at = ?5 WHERE environment_id = ?1 AND user_id = ?2 AND id = ?3",
            environment_key,
            user_key,
            key,
            nickname,
            at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        let device = read_device(&mut *tx, environment_id, user_id, id).await?;
        tx.commit().await?;
        Ok(device)
    }

    async fn issue_device_code(&self, device: &Device, outbox: &Outbox) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        let (environment_id, user_id, id) =
            (device.environment_id.hyphenated(), device.user_id.hyphenated(), device.id.hyphenated());
        let waiting = DeviceStatus::ActivationRequired.as_str();
        let result = sqlx::query!(
            "UPDATE devices SET otp_hash = ?4, otp_expires_at = ?5, failed_attempts = 0, updated_at = ?6
             WHERE environment_id = ?1 AND user_id = ?2 AND id = ?3 AND status = ?7
               AND (locked_until IS NULL OR locked_until <= ?6)",
            environment_id,
            user_id,
            id,
            device.otp_hash,
            device.otp_expires_at,
            device.updated_at,
            waiting,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if result.rows_affected() == 0 {
            return Ok(false);
        }
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn claim_otp_attempt(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        rules: &MethodPolicy,
        at: Timestamp,
    ) -> StoreResult<Option<OtpAttempt>> {
        let (environment_id, user_id, id) = (environment_id.hyphenated(), user_id.hyphenated(), id.hyphenated());
        let (limit, locked_until) = (rules.failure_count, at + rules.cool_down.delta());
        let waiting = DeviceStatus::ActivationRequired.as_str();
        let mut tx = self.writer.begin().await?;
        // The count and the lock change here only: this guess is counted before it is
        // judged, and writes run one at a time.
        let row = sqlx::query!(
            r#"UPDATE devices SET
                   failed_attempts = CASE WHEN failed_attempts >= ?4 THEN 1 ELSE failed_attempts + 1 END,
                   locked_until = CASE WHEN (CASE WHEN failed_attempts >= ?4 THEN 1 ELSE failed_attempts + 1 END) >= ?4
                                       THEN ?5 ELSE locked_until END,
                   updated_at = ?6
               WHERE environment_id = ?1 AND user_id = ?2 AND id = ?3 AND status = ?7
                 AND (locked_until IS NULL OR locked_until <= ?6)
                 AND ((otp_hash IS NOT NULL AND otp_expires_at > ?6 AND failed_attempts < ?4) OR sealed_secret IS NOT NULL)
               RETURNING otp_hash AS "otp_hash?: Vec<u8>", sealed_secret AS "sealed_secret?: Vec<u8>",
                         failed_attempts AS "failed_attempts!: i64""#,
            environment_id,
            user_id,
            id,
            limit,
            locked_until,
            at,
            waiting,
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await?;
        Ok(row.map(|r| OtpAttempt {
            otp_hash: r.otp_hash,
            sealed_secret: r.sealed_secret,
            attempts: r.failed_attempts,
        }))
    }

    async fn activate_device(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        otp_hash: Option<&[u8]>,
        at: Timestamp,
    ) -> StoreResult<Option<Device>> {
        let mut tx = self.writer.begin().await?;
        let (environment_key, user_key, key) = (environment_id.hyphenated(), user_id.hyphenated(), id.hyphenated());
        let (active, waiting) = (DeviceStatus::Active.as_str(), DeviceStatus::ActivationRequired.as_str());
        let result = sqlx::query!(
            "UPDATE devices SET status = ?4, otp_hash = NULL, otp_expires_at = NULL, failed_attempts = 0,
                                locked_until = NULL, updated_at = ?5
             WHERE environment_id = ?1 AND user_id = ?2 AND id = ?3 AND status = ?6 AND otp_hash IS ?7",
            environment_key,
            user_key,
            key,
            active,
            at,
            waiting,
            otp_hash,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if result.rows_affected() == 0 {
            return Ok(None);
        }
        let device = read_device(&mut *tx, environment_id, user_id, id).await?;
        tx.commit().await?;
        Ok(Some(device))
    }

    async fn delete_device(&self, environment_id: Uuid, user_id: Uuid, id: Uuid) -> StoreResult<()> {
        let (environment_id, user_id, id) = (environment_id.hyphenated(), user_id.hyphenated(), id.hyphenated());
        let result = self
            .writer
            .execute(sqlx::query!(
                "DELETE FROM devices WHERE environment_id = ?1 AND user_id = ?2 AND id = ?3",
                environment_id,
                user_id,
                id
            ))
            .await?;
        one_row(result)
    }

    async fn reorder_devices(&self, environment_id: Uuid, user_id: Uuid, order: &[Uuid]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let (environment_id, user_id) = (environment_id.hyphenated(), user_id.hyphenated());
        let current = sqlx::query!(
            r#"SELECT id AS "id: uuid::fmt::Hyphenated" FROM devices WHERE environment_id = ?1 AND user_id = ?2 ORDER BY position, id"#,
            environment_id,
            user_id
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let current: Vec<Uuid> = current.into_iter().map(|r| r.id.into_uuid()).collect();
        for (position, id) in domain::mfa::reordered(&current, order)?.into_iter().enumerate() {
            let (id, position) = (id.hyphenated(), position as i64 + 1);
            sqlx::query!("UPDATE devices SET position = ?2 WHERE id = ?1", id, position)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await
    }
}
