//! User credentials, their copies in wallets, mailboxes and wallet actions, on Postgres.

use domain::StoreError;
use domain::credential::{
    CredentialStatus, ProvisionStatus, ProvisionedCredential, UserCredential, WalletAction, WalletActionRecord,
};
use domain::page::{Page, PageRequest};
use domain::store::{Outbox, StoreResult, UserCredentialStore};
use domain::time::Timestamp;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::rows::{ProvisionedCredentialRow, UserCredentialRow};
use crate::{PgStore, after_key, backend, one_row, write_outbox};

/// Puts the copy in its wallet; a copy already there (same credential) is reset in
/// place to wait for the new delivery.
async fn put_provisioned(conn: &mut PgConnection, copy: &ProvisionedCredential) -> StoreResult<()> {
    sqlx::query!(
        "INSERT INTO provisioned_credentials (id, environment_id, user_id, credential_id, wallet_id, status, sealed_payload,
                                              delivered_at, delivery_error, delivery_job_id, expires_at, created_at,
                                              updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (credential_id, wallet_id) DO UPDATE SET
             status = excluded.status, sealed_payload = excluded.sealed_payload, delivered_at = excluded.delivered_at,
             delivery_error = excluded.delivery_error, delivery_job_id = excluded.delivery_job_id,
             expires_at = excluded.expires_at, updated_at = excluded.updated_at",
        copy.id,
        copy.environment_id,
        copy.user_id,
        copy.credential_id,
        copy.wallet_id,
        copy.status.as_str(),
        copy.sealed_payload,
        copy.delivered_at,
        copy.delivery_error,
        copy.delivery_job_id,
        copy.expires_at,
        copy.created_at,
        copy.updated_at,
    )
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}

/// Whose copies to revoke.
#[derive(Clone, Copy)]
pub(crate) enum Copies {
    OfCredential(Uuid),
    InWallet(Uuid),
}

/// Revokes the copies not revoked or deleted already: `CREDENTIAL_REVOKED`
/// recorded, the mailbox wiped.
pub(crate) async fn revoke_copies(conn: &mut PgConnection, copies: Copies, at: Timestamp) -> StoreResult<()> {
    let (credential_id, wallet_id) = match copies {
        Copies::OfCredential(id) => (Some(id), None),
        Copies::InWallet(id) => (None, Some(id)),
    };
    let (revoked, deleted, action) =
        (ProvisionStatus::Revoked.as_str(), ProvisionStatus::Deleted.as_str(), WalletAction::Revoked.as_str());
    sqlx::query!(
        "INSERT INTO wallet_actions (provisioned_id, action, occurred_at)
         SELECT id, $3, $4 FROM provisioned_credentials
         WHERE (credential_id = $1 OR wallet_id = $2) AND status NOT IN ($5, $6)",
        credential_id,
        wallet_id,
        action,
        at,
        revoked,
        deleted,
    )
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    sqlx::query!(
        "UPDATE provisioned_credentials SET status = $3, sealed_payload = NULL, updated_at = $4
         WHERE (credential_id = $1 OR wallet_id = $2) AND status NOT IN ($3, $5)",
        credential_id,
        wallet_id,
        revoked,
        at,
        deleted,
    )
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}

impl UserCredentialStore for PgStore {
    async fn create_user_credential(
        &self,
        credential: &UserCredential,
        provisioned: &[ProvisionedCredential],
        outbox: &Outbox,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let (id, environment_id, user_id, type_id) =
            (credential.id, credential.environment_id, credential.user_id, credential.credential_type_id);
        let status = credential.status.as_str();
        sqlx::query!(
            "INSERT INTO user_credentials (id, environment_id, user_id, credential_type_id, type_version, title, status,
                                           expires_at, notification, created_at, updated_at, type_version_id,
                                           store_until_issued)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            id,
            environment_id,
            user_id,
            type_id,
            credential.type_version,
            credential.title,
            status,
            credential.expires_at,
            credential.notification,
            credential.created_at,
            credential.updated_at,
            credential.type_version_id,
            credential.store_until_issued,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        for copy in provisioned {
            put_provisioned(&mut tx, copy).await?;
        }
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await.map_err(backend)
    }

    async fn update_user_credential(
        &self,
        credential: &UserCredential,
        provisioned: &[ProvisionedCredential],
        outbox: &Outbox,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let result = sqlx::query!(
            "UPDATE user_credentials SET type_version = $2, title = $3, status = $4, expires_at = $5, notification = $6,
                                         updated_at = $7, type_version_id = $8
             WHERE id = $1",
            credential.id,
            credential.type_version,
            credential.title,
            credential.status.as_str(),
            credential.expires_at,
            credential.notification,
            credential.updated_at,
            credential.type_version_id,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        for copy in provisioned {
            put_provisioned(&mut tx, copy).await?;
        }
        if credential.status == CredentialStatus::Revoked {
            revoke_copies(&mut tx, Copies::OfCredential(credential.id), credential.updated_at).await?;
        }
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await.map_err(backend)
    }

    async fn expire_user_credential(&self, credential_id: Uuid, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let result = sqlx::query!(
            "UPDATE user_credentials SET status = $2, updated_at = $3 WHERE id = $1 AND status <> $2 AND expires_at <= $3",
            credential_id,
            CredentialStatus::Revoked.as_str(),
            now,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if result.rows_affected() == 0 {
            return Ok(false);
        }
        revoke_copies(&mut tx, Copies::OfCredential(credential_id), now).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn add_provisioned_credential(
        &self,
        provisioned: &ProvisionedCredential,
        outbox: &Outbox,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        put_provisioned(&mut tx, provisioned).await?;
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await.map_err(backend)
    }

    async fn user_credential(&self, environment_id: Uuid, user_id: Uuid, id: Uuid) -> StoreResult<UserCredential> {
        sqlx::query_as!(
            UserCredentialRow,
            "SELECT id, environment_id, user_id, credential_type_id, type_version, type_version_id, store_until_issued,
                    title, status, expires_at, notification, created_at, updated_at
             FROM user_credentials WHERE environment_id = $1 AND user_id = $2 AND id = $3",
            environment_id,
            user_id,
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn user_credentials(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<UserCredential>> {
        let (environment_id, user_id, after, limit) = (environment_id, user_id, after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            UserCredentialRow,
            "SELECT id, environment_id, user_id, credential_type_id, type_version, type_version_id, store_until_issued,
                    title, status, expires_at, notification, created_at, updated_at
             FROM user_credentials
             WHERE environment_id = $1 AND user_id = $2 AND (environment_id, user_id, id) > ($1, $2, $3)
             ORDER BY id LIMIT $4",
            environment_id,
            user_id,
            after,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn provisioned_credential(&self, id: Uuid) -> StoreResult<ProvisionedCredential> {
        sqlx::query_as!(
            ProvisionedCredentialRow,
            "SELECT id, environment_id, user_id, credential_id, wallet_id, status, sealed_payload, delivered_at, delivery_error,
                    delivery_job_id, expires_at, created_at, updated_at
             FROM provisioned_credentials WHERE id = $1",
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn provisioned_of_credential(&self, credential_id: Uuid) -> StoreResult<Vec<ProvisionedCredential>> {
        let rows = sqlx::query_as!(
            ProvisionedCredentialRow,
            "SELECT id, environment_id, user_id, credential_id, wallet_id, status, sealed_payload, delivered_at, delivery_error,
                    delivery_job_id, expires_at, created_at, updated_at
             FROM provisioned_credentials WHERE credential_id = $1 ORDER BY id",
            credential_id
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn provisioned_in_wallet(&self, wallet_id: Uuid) -> StoreResult<Vec<ProvisionedCredential>> {
        let rows = sqlx::query_as!(
            ProvisionedCredentialRow,
            "SELECT id, environment_id, user_id, credential_id, wallet_id, status, sealed_payload, delivered_at, delivery_error,
                    delivery_job_id, expires_at, created_at, updated_at
             FROM provisioned_credentials WHERE wallet_id = $1 ORDER BY id",
            wallet_id
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn mailbox(&self, wallet_id: Uuid, page: PageRequest) -> StoreResult<Page<ProvisionedCredential>> {
        let (after, limit) = (after_key(&page), page.fetch_limit());
        // `sealed_payload IS NOT NULL` word for word: the partial index `mailboxes`.
        let rows = sqlx::query_as!(
            ProvisionedCredentialRow,
            "SELECT id, environment_id, user_id, credential_id, wallet_id, status, sealed_payload, delivered_at, delivery_error,
                    delivery_job_id, expires_at, created_at, updated_at
             FROM provisioned_credentials
             WHERE wallet_id = $1 AND sealed_payload IS NOT NULL AND status = 'CREATED' AND (wallet_id, id) > ($1, $2)
             ORDER BY id LIMIT $3",
            wallet_id,
            after,
            limit,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn wallet_actions(&self, provisioned_id: Uuid) -> StoreResult<Vec<WalletActionRecord>> {
        let rows = sqlx::query!(
            "SELECT action, occurred_at FROM wallet_actions WHERE provisioned_id = $1 ORDER BY occurred_at",
            provisioned_id
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter()
            .map(|r| {
                Ok(WalletActionRecord {
                    action: StoreError::parse_stored("wallet action", &r.action, WalletAction::parse)?,
                    occurred_at: r.occurred_at,
                })
            })
            .collect()
    }

    async fn deliver_credential(
        &self,
        provisioned_id: Uuid,
        job_id: Uuid,
        sealed_payload: &[u8],
        at: Timestamp,
        outbox: &Outbox,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let delivered = sqlx::query!(
            "UPDATE provisioned_credentials SET sealed_payload = $2, delivered_at = $3, delivery_error = NULL, updated_at = $3
             WHERE id = $1 AND status = $4 AND delivered_at IS NULL AND (delivery_job_id = $5 OR delivery_job_id IS NULL)
             RETURNING credential_id",
            provisioned_id,
            sealed_payload,
            at,
            ProvisionStatus::Created.as_str(),
            job_id,
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(delivered) = delivered else { return Ok(false) };
        let (pending, issued) = (CredentialStatus::Pending.as_str(), CredentialStatus::Issued.as_str());
        sqlx::query!(
            "UPDATE user_credentials SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2",
            delivered.credential_id,
            pending,
            issued,
            at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn record_delivery_error(
        &self,
        provisioned_id: Uuid,
        job_id: Uuid,
        error: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query!(
            "UPDATE provisioned_credentials SET delivery_error = $3, updated_at = $4
             WHERE id = $1 AND (delivery_job_id = $2 OR delivery_job_id IS NULL)",
            provisioned_id,
            job_id,
            error,
            at,
        )
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn purge_mailbox(
        &self,
        provisioned_id: Uuid,
        delivered_before: Timestamp,
        reason: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let result = sqlx::query!(
            "UPDATE provisioned_credentials SET sealed_payload = NULL, delivery_error = $3, updated_at = $4
             WHERE id = $1 AND sealed_payload IS NOT NULL AND delivered_at <= $2",
            provisioned_id,
            delivered_before,
            reason,
            at,
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(result.rows_affected() > 0)
    }

    async fn record_wallet_action(&self, provisioned_id: Uuid, action: WalletAction, at: Timestamp) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let (id, status, name) = (provisioned_id, action.status().as_str(), action.as_str());
        let result = sqlx::query!(
            "UPDATE provisioned_credentials SET status = $2, sealed_payload = NULL, updated_at = $3 WHERE id = $1",
            id,
            status,
            at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        sqlx::query!(
            "INSERT INTO wallet_actions (provisioned_id, action, occurred_at) VALUES ($1, $2, $3)",
            id,
            name,
            at
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }
}
