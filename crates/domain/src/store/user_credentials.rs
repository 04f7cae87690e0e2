//! Users' credentials, their copies provisioned to wallets, the wallets' mailboxes
//! and the actions wallets take on their copies.

use std::future::Future;

use uuid::Uuid;

use super::{Outbox, StoreResult};
use crate::credential::{ProvisionedCredential, UserCredential, WalletAction, WalletActionRecord};
use crate::page::{Page, PageRequest};
use crate::time::Timestamp;

pub trait UserCredentialStore {
    /// The credential, its provisioned copies and the outbox (delivery jobs among it).
    fn create_user_credential(
        &self,
        credential: &UserCredential,
        provisioned: &[ProvisionedCredential],
        outbox: &Outbox,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Writes the credential's mutable state (status, expiry, type version,
    /// notification report) and puts each copy in its wallet, with the outbox. A
    /// `REVOKED` credential has every copy not already revoked or deleted revoked
    /// (`CREDENTIAL_REVOKED`, mailbox wiped).
    fn update_user_credential(
        &self,
        credential: &UserCredential,
        provisioned: &[ProvisionedCredential],
        outbox: &Outbox,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Puts a copy of an existing credential in its wallet, with the outbox. A copy
    /// already in that wallet is replaced in place (same id, its actions kept): it
    /// waits for the new delivery.
    fn add_provisioned_credential(
        &self,
        provisioned: &ProvisionedCredential,
        outbox: &Outbox,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Revokes the credential and its copies when its expiry has come and it is not
    /// revoked yet; true when it did.
    fn expire_user_credential(
        &self,
        credential_id: Uuid,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn user_credential(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = StoreResult<UserCredential>> + Send;
    fn user_credentials(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<UserCredential>>> + Send;
    fn provisioned_credential(&self, id: Uuid) -> impl Future<Output = StoreResult<ProvisionedCredential>> + Send;
    /// Oldest first.
    fn provisioned_of_credential(
        &self,
        credential_id: Uuid,
    ) -> impl Future<Output = StoreResult<Vec<ProvisionedCredential>>> + Send;
    /// Oldest first.
    fn provisioned_in_wallet(
        &self,
        wallet_id: Uuid,
    ) -> impl Future<Output = StoreResult<Vec<ProvisionedCredential>>> + Send;
    /// The copies waiting in the wallet's mailbox (`CREATED`, delivered, not yet
    /// acted on), oldest first: a wallet reads them a page at a time.
    fn mailbox(
        &self,
        wallet_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<ProvisionedCredential>>> + Send;
    /// Oldest first.
    fn wallet_actions(&self, provisioned_id: Uuid)
    -> impl Future<Output = StoreResult<Vec<WalletActionRecord>>> + Send;
    /// Puts the signed credential in the mailbox, marks the credential `ISSUED` and
    /// writes the outbox, once: false (and nothing written) when the copy was
    /// delivered already, is no longer `CREATED`, or waits for another job.
    fn deliver_credential(
        &self,
        provisioned_id: Uuid,
        job_id: Uuid,
        sealed_payload: &[u8],
        at: Timestamp,
        outbox: &Outbox,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Records why the delivery job the copy waits for failed.
    fn record_delivery_error(
        &self,
        provisioned_id: Uuid,
        job_id: Uuid,
        error: &str,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Wipes a signed credential left in the mailbox since `delivered_before` or
    /// earlier, recording `reason` as the copy's delivery error; true when it did.
    fn purge_mailbox(
        &self,
        provisioned_id: Uuid,
        delivered_before: Timestamp,
        reason: &str,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The wallet's (or the issuer's) action: the copy's new status, the action
    /// recorded, the mailbox payload wiped.
    fn record_wallet_action(
        &self,
        provisioned_id: Uuid,
        action: WalletAction,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
