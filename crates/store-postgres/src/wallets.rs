//! Wallet applications, wallets and their pairing, on Postgres.

use domain::StoreError;
use domain::page::{Page, PageRequest};
use domain::store::{Outbox, StoreResult, WalletStore};
use domain::time::Timestamp;
use domain::wallet::{DigitalWallet, PairingAttempt, PairingSession, PairingStatus, WalletApplication, WalletStatus};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::rows::{DigitalWalletRow, PairingSessionRow, WalletApplicationRow, WalletAttemptRow};
use crate::user_credentials::{Copies, revoke_copies};
use crate::{OutboxColumns, PgStore, after_key, backend, one_row, with_outbox, write_outbox};

async fn insert_attempt(conn: &mut PgConnection, attempt: &PairingAttempt) -> StoreResult<()> {
    let (id, session_id, wallet_id) = (attempt.id, attempt.session_id, attempt.wallet_id);
    sqlx::query!(
        "INSERT INTO pairing_attempts (id, session_id, wallet_id, success, attempted_at) VALUES ($1, $2, $3, $4, $5)",
        id,
        session_id,
        wallet_id,
        attempt.success,
        attempt.attempted_at,
    )
    .execute(conn)
    .await
    .map(drop)
    .map_err(backend)
}

/// `NotFound` unless the application it names is a native app of its environment with
/// a bundle id or a package name (neither ever changes once set, and an application's
/// type never does). The application's row is share-locked until the transaction ends,
/// so a delete of it waits, then finds and deletes this wallet application too.
pub(crate) async fn insert_wallet_application(
    executor: impl PgExecutor<'_>,
    application: &WalletApplication,
) -> StoreResult<()> {
    let (id, environment_id, application_id) = (application.id, application.environment_id, application.application_id);
    let result = sqlx::query!(
        "WITH native AS (SELECT id FROM applications
                         WHERE environment_id = $2 AND id = $3 AND type = 'NATIVE_APP'
                           AND (bundle_id IS NOT NULL OR package_name IS NOT NULL)
                         FOR SHARE)
         INSERT INTO wallet_applications (id, environment_id, application_id, name, app_open_url, uses_pingone_wallet_sdk,
                                          created_at, updated_at)
         SELECT $1, $2, native.id, $4, $5, $6, $7, $8 FROM native",
        id,
        environment_id,
        application_id,
        application.name,
        application.app_open_url,
        application.uses_pingone_wallet_sdk,
        application.created_at,
        application.updated_at,
    )
    .execute(executor)
    .await
    .map_err(backend)?;
    one_row(result)
}

/// Disables the wallets of a deleted wallet application: revokes the credentials
/// provisioned to them and ends their pending pairing sessions; in `conn`'s transaction.
async fn disable_wallets_of(
    conn: &mut PgConnection,
    environment_id: Uuid,
    wallet_application_id: Uuid,
    now: Timestamp,
) -> StoreResult<()> {
    let disabled = WalletStatus::Disabled.as_str();
    let disabled_wallets = sqlx::query_scalar!(
        "UPDATE digital_wallets SET status = $3, updated_at = $4 WHERE environment_id = $1 AND wallet_application_id = $2
         RETURNING id",
        environment_id,
        wallet_application_id,
        disabled,
        now,
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(backend)?;
    // Their links stop working at once.
    let (initial, expired) = (PairingStatus::Initial.as_str(), PairingStatus::Expired.as_str());
    sqlx::query!(
        "UPDATE pairing_sessions SET status = $3, updated_at = $4 WHERE wallet_id = ANY($1) AND status = $2",
        &disabled_wallets,
        initial,
        expired,
        now,
    )
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    for wallet_id in disabled_wallets {
        revoke_copies(conn, Copies::InWallet(wallet_id), now).await?;
    }
    Ok(())
}

/// Deletes the wallet applications that name the (deleted) application `application_id`,
/// as [`WalletStore::delete_wallet_application`] deletes one; in `conn`'s transaction.
pub(crate) async fn delete_wallet_applications_of(
    conn: &mut PgConnection,
    environment_id: Uuid,
    application_id: Uuid,
    now: Timestamp,
) -> StoreResult<()> {
    let deleted = sqlx::query_scalar!(
        "DELETE FROM wallet_applications WHERE environment_id = $1 AND application_id = $2 RETURNING id",
        environment_id,
        application_id,
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(backend)?;
    for wallet_application_id in deleted {
        disable_wallets_of(conn, environment_id, wallet_application_id, now).await?;
    }
    Ok(())
}

impl WalletStore for PgStore {
    async fn create_wallet_application(&self, application: &WalletApplication) -> StoreResult<()> {
        insert_wallet_application(&self.pool, application).await
    }

    async fn wallet_application(&self, environment_id: Uuid, id: Uuid) -> StoreResult<WalletApplication> {
        sqlx::query_as!(
            WalletApplicationRow,
            "SELECT id, environment_id, application_id, name, app_open_url, uses_pingone_wallet_sdk, created_at, updated_at
             FROM wallet_applications WHERE environment_id = $1 AND id = $2",
            environment_id,
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(Into::into)
        .ok_or(StoreError::NotFound)
    }

    async fn wallet_applications(
        &self,
        environment_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<WalletApplication>> {
        let (environment_id, after, limit) = (environment_id, after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            WalletApplicationRow,
            "SELECT id, environment_id, application_id, name, app_open_url, uses_pingone_wallet_sdk, created_at, updated_at
             FROM wallet_applications WHERE environment_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            environment_id,
            after,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(Page::from_overfetch(rows.into_iter().map(Into::into).collect(), page))
    }

    async fn update_wallet_application(&self, application: &WalletApplication) -> StoreResult<()> {
        let (id, environment_id) = (application.id, application.environment_id);
        let result = sqlx::query!(
            "UPDATE wallet_applications SET name = $3, app_open_url = $4, updated_at = $5
             WHERE environment_id = $1 AND id = $2",
            environment_id,
            id,
            application.name,
            application.app_open_url,
            application.updated_at,
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn delete_wallet_application(&self, environment_id: Uuid, id: Uuid, now: Timestamp) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let result =
            sqlx::query!("DELETE FROM wallet_applications WHERE environment_id = $1 AND id = $2", environment_id, id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        one_row(result)?;
        disable_wallets_of(&mut tx, environment_id, id, now).await?;
        tx.commit().await.map_err(backend)
    }

    async fn create_wallet(
        &self,
        wallet: &DigitalWallet,
        session: &PairingSession,
        outbox: &Outbox,
    ) -> StoreResult<()> {
        let columns = OutboxColumns::new(outbox);
        with_outbox!(
            columns,
            ", new_wallet AS (
                 INSERT INTO digital_wallets (id, environment_id, user_id, wallet_application_id, application_instance_id,
                                              status, public_key, device_data, token_hash, notification, created_at,
                                              updated_at)
                 VALUES ($20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31))
             INSERT INTO pairing_sessions (id, environment_id, user_id, wallet_id, link_hash, challenge, status,
                                           failed_attempts, expires_at, created_at, updated_at)
             VALUES ($32, $21, $22, $20, $33, $34, $35, $36, $37, $38, $39)",
            wallet.id,
            wallet.environment_id,
            wallet.user_id,
            wallet.wallet_application_id,
            wallet.application_instance_id,
            wallet.status.as_str(),
            wallet.public_key,
            wallet.device_data,
            wallet.token_hash,
            wallet.notification,
            wallet.created_at,
            wallet.updated_at,
            session.id,
            session.link_hash,
            session.challenge,
            session.status.as_str(),
            session.failed_attempts,
            session.expires_at,
            session.created_at,
            session.updated_at,
        )
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn wallet_by_id(&self, id: Uuid) -> StoreResult<DigitalWallet> {
        sqlx::query_as!(
            DigitalWalletRow,
            "SELECT id, environment_id, user_id, wallet_application_id, application_instance_id, status, public_key,
                    device_data, token_hash, notification, created_at, updated_at
             FROM digital_wallets WHERE id = $1",
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn wallets(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<DigitalWallet>> {
        let (environment_id, user_id, after, limit) = (environment_id, user_id, after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            DigitalWalletRow,
            "SELECT id, environment_id, user_id, wallet_application_id, application_instance_id, status, public_key,
                    device_data, token_hash, notification, created_at, updated_at
             FROM digital_wallets
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

    async fn update_wallet(&self, wallet: &DigitalWallet, outbox: &Outbox) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let result = sqlx::query!(
            "UPDATE digital_wallets SET application_instance_id = $3, status = $4, updated_at = $5
             WHERE environment_id = $1 AND id = $2",
            wallet.environment_id,
            wallet.id,
            wallet.application_instance_id,
            wallet.status.as_str(),
            wallet.updated_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        if wallet.status == WalletStatus::Disabled {
            // Its link stops working at once.
            let (initial, expired) = (PairingStatus::Initial.as_str(), PairingStatus::Expired.as_str());
            sqlx::query!(
                "UPDATE pairing_sessions SET status = $3, updated_at = $4 WHERE wallet_id = $1 AND status = $2",
                wallet.id,
                initial,
                expired,
                wallet.updated_at,
            )
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            revoke_copies(&mut tx, Copies::InWallet(wallet.id), wallet.updated_at).await?;
        }
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await.map_err(backend)
    }

    async fn delete_wallet(&self, environment_id: Uuid, user_id: Uuid, id: Uuid, at: Timestamp) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let result = sqlx::query!(
            "DELETE FROM digital_wallets WHERE environment_id = $1 AND user_id = $2 AND id = $3",
            environment_id,
            user_id,
            id
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        revoke_copies(&mut tx, Copies::InWallet(id), at).await?;
        tx.commit().await.map_err(backend)
    }

    async fn pairing_session_of_wallet(&self, wallet_id: Uuid) -> StoreResult<PairingSession> {
        sqlx::query_as!(
            PairingSessionRow,
            "SELECT id, environment_id, user_id, wallet_id, link_hash, challenge, status, failed_attempts, expires_at,
                    created_at, updated_at
             FROM pairing_sessions WHERE wallet_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
            wallet_id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn pairing_session(&self, link_hash: &str) -> StoreResult<PairingSession> {
        sqlx::query_as!(
            PairingSessionRow,
            "SELECT id, environment_id, user_id, wallet_id, link_hash, challenge, status, failed_attempts, expires_at,
                    created_at, updated_at
             FROM pairing_sessions WHERE link_hash = $1",
            link_hash
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn wallet_with_attempts(&self, id: Uuid) -> StoreResult<(DigitalWallet, Vec<PairingAttempt>)> {
        // One row per attempt (one row with no attempt when there is none), the
        // wallet repeated on each: one round trip instead of two.
        let rows = sqlx::query_as!(
            WalletAttemptRow,
            r#"SELECT w.id, w.environment_id, w.user_id, w.wallet_application_id, w.application_instance_id, w.status,
                      w.public_key, w.device_data, w.token_hash, w.notification, w.created_at, w.updated_at,
                      a.id AS "attempt_id?", a.session_id AS "attempt_session_id?", a.success AS "attempt_success?",
                      a.attempted_at AS "attempted_at?"
               FROM digital_wallets w LEFT JOIN pairing_attempts a ON a.wallet_id = w.id
               WHERE w.id = $1
               ORDER BY a.attempted_at, a.id"#,
            id
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        domain::stored::wallet_with_attempts(rows)
    }

    async fn record_pairing_failure(&self, attempt: &PairingAttempt) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        insert_attempt(&mut tx, attempt).await?;
        let session_id = attempt.session_id;
        sqlx::query!(
            "UPDATE pairing_sessions SET failed_attempts = failed_attempts + 1, updated_at = $2 WHERE id = $1",
            session_id,
            attempt.attempted_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn complete_pairing(
        &self,
        wallet: &DigitalWallet,
        attempt: &PairingAttempt,
        outbox: &Outbox,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let (session_id, initial, completed, pending) = (
            attempt.session_id,
            PairingStatus::Initial.as_str(),
            PairingStatus::Completed.as_str(),
            WalletStatus::PairingRequired.as_str(),
        );
        // The wallet's own state is the condition: a wallet disabled (or whose
        // application was deleted) after the caller read it is never paired. Under the
        // row lock a disable that committed meanwhile shows here. Wallet before session,
        // the order every other write (and every cascade) locks them in.
        let paired = sqlx::query!(
            "UPDATE digital_wallets SET application_instance_id = $2, status = $3, public_key = $4, device_data = $5,
                                        token_hash = $6, updated_at = $7
             WHERE id = $1 AND status = $8
               AND EXISTS (SELECT 1 FROM wallet_applications a
                           WHERE a.id = digital_wallets.wallet_application_id
                             AND a.environment_id = digital_wallets.environment_id)
               AND EXISTS (SELECT 1 FROM pairing_sessions s
                           WHERE s.id = $9 AND s.wallet_id = digital_wallets.id AND s.status = $10)",
            wallet.id,
            wallet.application_instance_id,
            wallet.status.as_str(),
            wallet.public_key,
            wallet.device_data,
            wallet.token_hash,
            wallet.updated_at,
            pending,
            session_id,
            initial,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if paired.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        let won = sqlx::query!(
            "UPDATE pairing_sessions SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2",
            session_id,
            initial,
            completed,
            attempt.attempted_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if won.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        insert_attempt(&mut tx, attempt).await?;
        write_outbox(&mut tx, outbox).await?;
        tx.commit().await.map_err(backend)
    }

    async fn expire_pairing_session(&self, session_id: Uuid, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let (initial, expired) = (PairingStatus::Initial.as_str(), PairingStatus::Expired.as_str());
        let (pending, wallet_expired) = (WalletStatus::PairingRequired.as_str(), WalletStatus::Expired.as_str());
        // Wallet before session, the order pairing locks them in.
        sqlx::query!(
            "UPDATE digital_wallets SET status = $5, updated_at = $3
             WHERE status = $4
               AND id = (SELECT wallet_id FROM pairing_sessions WHERE id = $1 AND status = $2 AND expires_at <= $3)",
            session_id,
            initial,
            now,
            pending,
            wallet_expired,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let ended = sqlx::query!(
            "UPDATE pairing_sessions SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2 AND expires_at <= $4",
            session_id,
            initial,
            expired,
            now,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(ended.rows_affected() == 1)
    }
}
