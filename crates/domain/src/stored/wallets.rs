//! Wallet applications, wallets and their pairing.

use uuid::Uuid;

use crate::store::{StoreError, StoreResult};
use crate::time::Timestamp;
use crate::wallet::{DigitalWallet, PairingAttempt, PairingSession, PairingStatus, WalletApplication, WalletStatus};

pub struct WalletApplicationRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub application_id: Id,
    pub name: String,
    pub app_open_url: String,
    pub uses_pingone_wallet_sdk: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> From<WalletApplicationRecord<Id>> for WalletApplication {
    fn from(row: WalletApplicationRecord<Id>) -> Self {
        Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            application_id: row.application_id.into(),
            name: row.name,
            app_open_url: row.app_open_url,
            uses_pingone_wallet_sdk: row.uses_pingone_wallet_sdk,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub struct DigitalWalletRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub user_id: Id,
    pub wallet_application_id: Id,
    pub application_instance_id: Option<String>,
    pub status: String,
    pub public_key: Option<String>,
    pub device_data: Option<String>,
    pub token_hash: Option<Vec<u8>>,
    pub notification: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<DigitalWalletRecord<Id>> for DigitalWallet {
    type Error = StoreError;

    fn try_from(row: DigitalWalletRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            user_id: row.user_id.into(),
            wallet_application_id: row.wallet_application_id.into(),
            application_instance_id: row.application_instance_id,
            status: StoreError::parse_stored("wallet status", &row.status, WalletStatus::parse)?,
            public_key: row.public_key,
            device_data: row.device_data,
            token_hash: row.token_hash,
            notification: row.notification,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// One row of a wallet read with its pairing attempts in one query: the wallet joined
/// (LEFT JOIN) with one attempt, or with none when it has none.
pub struct WalletAttemptRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub user_id: Id,
    pub wallet_application_id: Id,
    pub application_instance_id: Option<String>,
    pub status: String,
    pub public_key: Option<String>,
    pub device_data: Option<String>,
    pub token_hash: Option<Vec<u8>>,
    pub notification: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub attempt_id: Option<Id>,
    pub attempt_session_id: Option<Id>,
    pub attempt_success: Option<bool>,
    pub attempted_at: Option<Timestamp>,
}

/// The wallet of the joined rows (all carry it) and its attempts in row order; no row:
/// no such wallet.
pub fn wallet_with_attempts<Id: Into<Uuid> + Copy>(
    rows: Vec<WalletAttemptRecord<Id>>,
) -> StoreResult<(DigitalWallet, Vec<PairingAttempt>)> {
    let attempts = rows
        .iter()
        .filter_map(|r| {
            Some(PairingAttempt {
                id: r.attempt_id?.into(),
                session_id: r.attempt_session_id?.into(),
                wallet_id: r.id.into(),
                success: r.attempt_success?,
                attempted_at: r.attempted_at?,
            })
        })
        .collect();
    let r = rows.into_iter().next().ok_or(StoreError::NotFound)?;
    let wallet = DigitalWalletRecord {
        id: r.id,
        environment_id: r.environment_id,
        user_id: r.user_id,
        wallet_application_id: r.wallet_application_id,
        application_instance_id: r.application_instance_id,
        status: r.status,
        public_key: r.public_key,
        device_data: r.device_data,
        token_hash: r.token_hash,
        notification: r.notification,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
    .try_into()?;
    Ok((wallet, attempts))
}

pub struct PairingSessionRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub user_id: Id,
    pub wallet_id: Id,
    pub link_hash: String,
    pub challenge: String,
    pub status: String,
    pub failed_attempts: i64,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<PairingSessionRecord<Id>> for PairingSession {
    type Error = StoreError;

    fn try_from(row: PairingSessionRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            user_id: row.user_id.into(),
            wallet_id: row.wallet_id.into(),
            link_hash: row.link_hash,
            challenge: row.challenge,
            status: StoreError::parse_stored("pairing status", &row.status, PairingStatus::parse)?,
            failed_attempts: row.failed_attempts,
            expires_at: row.expires_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}
