//! Digital wallet applications, users' wallets and their pairing.

use std::future::Future;

use uuid::Uuid;

use super::{Outbox, StoreResult};
use crate::page::{Page, PageRequest};
use crate::time::Timestamp;
use crate::wallet::{DigitalWallet, PairingAttempt, PairingSession, WalletApplication};

pub trait WalletStore {
    // Digital wallet applications ---------------------------------------------

    /// `NotFound` unless `application.application_id` names a native app of its
    /// environment with a bundle id or a package name (checked in the same transaction).
    fn create_wallet_application(
        &self,
        application: &WalletApplication,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn wallet_application(
        &self,
        environment_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = StoreResult<WalletApplication>> + Send;
    fn wallet_applications(
        &self,
        environment_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<WalletApplication>>> + Send;
    fn update_wallet_application(
        &self,
        application: &WalletApplication,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes the application and disables its wallets, revoking the credentials
    /// provisioned to them and ending their pending pairing sessions.
    fn delete_wallet_application(
        &self,
        environment_id: Uuid,
        id: Uuid,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    // Digital wallets and pairing -------------------------------------------------

    /// Creates the wallet, its pairing session and the outbox entries.
    fn create_wallet(
        &self,
        wallet: &DigitalWallet,
        session: &PairingSession,
        outbox: &Outbox,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A wallet by id; callers scoped to an environment and user check those.
    fn wallet_by_id(&self, id: Uuid) -> impl Future<Output = StoreResult<DigitalWallet>> + Send;
    fn wallets(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<DigitalWallet>>> + Send;
    /// Writes the wallet's status and instance, with the outbox. A `DISABLED` wallet
    /// has the credentials provisioned to it revoked and its pending pairing session
    /// ended (`EXPIRED`).
    fn update_wallet(&self, wallet: &DigitalWallet, outbox: &Outbox) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes the wallet and revokes the credentials provisioned to it (the copies
    /// stay, as the credential's history).
    fn delete_wallet(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The wallet's newest pairing session.
    fn pairing_session_of_wallet(&self, wallet_id: Uuid) -> impl Future<Output = StoreResult<PairingSession>> + Send;
    /// The session whose link hashes to `link_hash`.
    fn pairing_session(&self, link_hash: &str) -> impl Future<Output = StoreResult<PairingSession>> + Send;
    /// The wallet with its pairing attempts, oldest first: what a wallet read shows,
    /// in one round trip where the backend allows.
    fn wallet_with_attempts(
        &self,
        id: Uuid,
    ) -> impl Future<Output = StoreResult<(DigitalWallet, Vec<PairingAttempt>)>> + Send;
    /// Records the failed attempt and counts it on its session.
    fn record_pairing_failure(&self, attempt: &PairingAttempt) -> impl Future<Output = StoreResult<()>> + Send;
    /// Completes the session, stores the paired wallet and the attempt, and the outbox;
    /// `Conflict`, changing nothing, unless the session is still `INITIAL` and its wallet
    /// still `PAIRING_REQUIRED` with its application (another request won, or the wallet
    /// was disabled or its application deleted meanwhile).
    fn complete_pairing(
        &self,
        wallet: &DigitalWallet,
        attempt: &PairingAttempt,
        outbox: &Outbox,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Expires the session and its wallet if the session is still `INITIAL` and due;
    /// true when it did.
    fn expire_pairing_session(
        &self,
        session_id: Uuid,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}
