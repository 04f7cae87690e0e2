//! User credentials: created with ephemeral claim `data` that is sealed into one
//! delivery job per active wallet in the request's transaction, delivered by the
//! worker as a signed JWT VC into the wallet's mailbox, and acted on by the wallet.

use domain::filter::{Filter, page_matching};
use std::collections::BTreeMap;

use domain::credential::{
    CredentialStatus, CredentialType, ManagementMode, ProvisionStatus, ProvisionedCredential, UserCredential,
    WalletAction, WalletActionRecord, claims_from_data, default_claims,
};
use domain::job::{ClaimedJob, NewJob};
use domain::notification::TemplateName;
use domain::page::{CountedPage, PageRequest, scan};
use domain::store::{CredentialTypeStore, Outbox, UserCredentialStore, UserStore, WalletStore};
use domain::time::{Timestamp, new_id, now};
use domain::user::User;
use domain::validation::FieldError;
use domain::wallet::{DigitalWallet, WalletStatus};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Credd;
use super::jwt_vc::missing_directory_attributes;
use super::notifications::NotificationRequest;
use crate::auth::Principal;
use crate::error::{Error, Result};

/// The job kind that signs one credential into one wallet's mailbox; its payload is
/// a sealed [`Delivery`].
pub const DELIVER_CREDENTIAL: &str = "deliver_credential";
const DELIVERY_ATTEMPTS: i64 = 10;

/// The job kind that provisions a user's waiting credentials to a wallet that just
/// became active; its payload is the wallet id.
pub const PROVISION_PENDING: &str = "provision_pending";
const PROVISION_ATTEMPTS: i64 = 10;

/// The job kind that revokes a credential when its `expiresAt` comes; its payload is
/// the credential id.
pub const EXPIRE_CREDENTIAL: &str = "expire_credential";
const EXPIRY_ATTEMPTS: i64 = 10;

/// The job kind that wipes an uncollected credential from a wallet's mailbox when
/// its time-to-live passes; its payload is the provisioned credential id.
pub const PURGE_MAILBOX: &str = "purge_mailbox";
const PURGE_ATTEMPTS: i64 = 10;

/// The job that provisions the user's waiting credentials to a wallet that became
/// active at `at`.
pub(super) fn provision_pending_job(wallet_id: Uuid, at: Timestamp) -> NewJob {
    NewJob {
        id: new_id(),
        kind: PROVISION_PENDING.into(),
        payload: wallet_id.as_bytes().to_vec(),
        run_at: at,
        max_attempts: PROVISION_ATTEMPTS,
    }
}

/// The job that revokes `credential` at its `expiresAt`, if that is in the future.
fn expiry_job(credential: &UserCredential) -> Option<NewJob> {
    let expires_at = credential.expires_at.filter(|e| *e > now())?;
    Some(NewJob {
        id: new_id(),
        kind: EXPIRE_CREDENTIAL.into(),
        payload: credential.id.as_bytes().to_vec(),
        run_at: expires_at,
        max_attempts: EXPIRY_ATTEMPTS,
    })
}

/// What a delivery job carries: the copy to fill and its claims (the ephemeral data).
#[derive(Serialize, Deserialize)]
struct Delivery {
    provisioned_id: Uuid,
    claims: BTreeMap<String, String>,
}

/// A provisioned credential with the wallet's actions on it.
pub struct ProvisionedWithActions {
    pub provisioned: ProvisionedCredential,
    pub actions: Vec<WalletActionRecord>,
}

/// A credential in a wallet's mailbox: its id and the signed credential.
pub struct MailboxEntry {
    pub provisioned: ProvisionedCredential,
    pub credential_jwt: String,
}

/// What a create or an update of a user credential asks for.
pub struct CredentialRequest {
    pub credential_type_id: Uuid,
    /// The ephemeral claims; never stored in plaintext.
    pub data: Option<BTreeMap<String, String>>,
    pub expires_at: Option<Timestamp>,
    pub notification: Option<NotificationRequest>,
    /// `demoDataStorage.storeUntilIssued`: kept at creation, immutable after.
    pub store_until_issued: Option<bool>,
}

impl Credd {
    pub async fn create_user_credential(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        request: CredentialRequest,
    ) -> Result<UserCredential> {
        principal.require_manage(environment_id)?;
        let user = self.store.user(environment_id, user_id).await?;
        let credential_type = self.issuable_type(environment_id, request.credential_type_id).await?;
        let (claims, wallets) = self.claims_and_wallets(&credential_type, &user, request.data.as_ref()).await?;
        let at = now();
        let revoked = request.expires_at.is_some_and(|e| e <= at);
        let mut credential = UserCredential {
            id: new_id(),
            environment_id,
            user_id,
            credential_type_id: credential_type.id,
            type_version: credential_type.version,
            type_version_id: Some(credential_type.version_id),
            store_until_issued: request.store_until_issued.unwrap_or(false),
            title: credential_type.title.clone(),
            status: if revoked { CredentialStatus::Revoked } else { CredentialStatus::Pending },
            expires_at: request.expires_at,
            notification: None,
            created_at: at,
            updated_at: at,
        };
        let mut outbox = Outbox::default();
        let provisioned = if revoked {
            Vec::new()
        } else {
            self.copies_for_wallets(&credential, &wallets, &[], &claims, &mut outbox)?
        };
        if let Some(notification) = request.notification.filter(|_| !revoked) {
            let template = TemplateName::CredentialIssued;
            credential.notification =
                Some(self.notify_of(&user, &credential, template, &notification, &mut outbox).await?);
        }
        outbox.jobs.extend(expiry_job(&credential));
        self.store.create_user_credential(&credential, &provisioned, &outbox).await?;
        self.wake_worker.notify_one();
        Ok(credential)
    }

    /// A full replacement: all `data` is sent again (omitted fields take their
    /// defaults), and every active wallet of the user gets the updated credential.
    pub async fn update_user_credential(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        request: CredentialRequest,
    ) -> Result<UserCredential> {
        principal.require_manage(environment_id)?;
        let user = self.store.user(environment_id, user_id).await?;
        let mut credential = self.store.user_credential(environment_id, user_id, id).await?;
        if request.credential_type_id != credential.credential_type_id {
            return Err(Error::invalid(FieldError::invalid(
                "credentialType.id",
                "The credential type of a credential cannot be changed.",
            )));
        }
        if credential.status == CredentialStatus::Revoked {
            return Err(Error::bad_request("status", "A revoked credential cannot be updated."));
        }
        if request.store_until_issued.is_some_and(|s| s != credential.store_until_issued) {
            return Err(Error::invalid(FieldError::invalid(
                "demoDataStorage.storeUntilIssued",
                "demoDataStorage.storeUntilIssued is immutable.",
            )));
        }
        let credential_type = self.issuable_type(environment_id, request.credential_type_id).await?;
        let (claims, wallets) = self.claims_and_wallets(&credential_type, &user, request.data.as_ref()).await?;
        let at = now();
        let revoked = request.expires_at.is_some_and(|e| e <= at);
        let expiry_changed = credential.expires_at != request.expires_at;
        (credential.expires_at, credential.type_version, credential.type_version_id, credential.updated_at) =
            (request.expires_at, credential_type.version, Some(credential_type.version_id), at);
        if revoked {
            credential.status = CredentialStatus::Revoked;
        }
        let mut outbox = Outbox::default();
        let provisioned = if revoked {
            Vec::new()
        } else {
            let existing = self.store.provisioned_of_credential(credential.id).await?;
            self.copies_for_wallets(&credential, &wallets, &existing, &claims, &mut outbox)?
        };
        if let Some(notification) = request.notification {
            let template = if revoked { TemplateName::CredentialRevoked } else { TemplateName::CredentialUpdated };
            credential.notification =
                Some(self.notify_of(&user, &credential, template, &notification, &mut outbox).await?);
        }
        if expiry_changed {
            outbox.jobs.extend(expiry_job(&credential));
        }
        self.store.update_user_credential(&credential, &provisioned, &outbox).await?;
        self.wake_worker.notify_one();
        Ok(credential)
    }

    /// A type that credentials can be issued from through this API: a MANAGED one. A
    /// missing, deleted or AUTOMATED one is the request's fault.
    async fn issuable_type(&self, environment_id: Uuid, id: Uuid) -> Result<CredentialType> {
        match self.store.credential_type(environment_id, id).await {
            Ok(t) if t.deleted_at.is_none() && t.mode == ManagementMode::Automated => {
                Err(Error::invalid(FieldError::invalid(
                    "credentialType.id",
                    "The credential type's management.mode is AUTOMATED: its credentials are issued by its issuance rules, not through this API.",
                )))
            }
            Ok(t) if t.deleted_at.is_none() => Ok(t),
            Ok(_) | Err(domain::StoreError::NotFound) => Err(Error::invalid(FieldError::invalid(
                "credentialType.id",
                "No credential type with this id exists in the environment.",
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// The claims to deliver (checked against the type) and the user's active
    /// wallets; `data` needs at least one of them. A required Directory Attribute
    /// field needs the user to have that attribute (or the field a default).
    async fn claims_and_wallets(
        &self,
        credential_type: &CredentialType,
        user: &User,
        data: Option<&BTreeMap<String, String>>,
    ) -> Result<(BTreeMap<String, String>, Vec<DigitalWallet>)> {
        let missing = missing_directory_attributes(credential_type, user);
        if !missing.is_empty() {
            return Err(Error::Invalid(missing));
        }
        let claims = match data {
            Some(data) => claims_from_data(credential_type, data)?,
            None => default_claims(credential_type),
        };
        let wallets: Vec<DigitalWallet> = self
            .store
            .wallets(user.environment_id, user.id, PageRequest::first(domain::page::MAX_LIMIT))
            .await?
            .items
            .into_iter()
            .filter(|w| w.status == WalletStatus::Active)
            .collect();
        if data.is_some() && wallets.is_empty() {
            return Err(Error::invalid(FieldError::invalid(
                "data",
                "The user has no paired digital wallet: a credential with data can be issued only to a wallet that is already paired.",
            )));
        }
        Ok((claims, wallets))
    }

    /// The credential's `notification` report after notifying the user with `template`.
    async fn notify_of(
        &self,
        user: &User,
        credential: &UserCredential,
        template: TemplateName,
        request: &NotificationRequest,
        outbox: &mut Outbox,
    ) -> Result<String> {
        let variables = BTreeMap::from([("credential.name".to_owned(), credential.title.clone())]);
        let report = self.notify_user(user, template, request, variables, outbox).await?;
        serde_json::to_string(&report).map_err(Error::internal)
    }

    /// One copy per wallet, each with its delivery job (claims sealed) in `outbox`;
    /// a copy already in a wallet keeps its id and waits for the new delivery.
    fn copies_for_wallets(
        &self,
        credential: &UserCredential,
        wallets: &[DigitalWallet],
        existing: &[ProvisionedCredential],
        claims: &BTreeMap<String, String>,
        outbox: &mut Outbox,
    ) -> Result<Vec<ProvisionedCredential>> {
        wallets
            .iter()
            .map(|wallet| {
                let previous = existing.iter().find(|c| c.wallet_id == wallet.id);
                self.copy_for_wallet(credential, wallet.id, previous, claims, outbox)
            })
            .collect()
    }

    fn copy_for_wallet(
        &self,
        credential: &UserCredential,
        wallet_id: Uuid,
        previous: Option<&ProvisionedCredential>,
        claims: &BTreeMap<String, String>,
        outbox: &mut Outbox,
    ) -> Result<ProvisionedCredential> {
        let at = now();
        let job_id = new_id();
        let copy = ProvisionedCredential {
            id: previous.map_or_else(new_id, |p| p.id),
            environment_id: credential.environment_id,
            user_id: credential.user_id,
            credential_id: credential.id,
            wallet_id,
            status: ProvisionStatus::Created,
            sealed_payload: None,
            delivered_at: None,
            delivery_error: None,
            delivery_job_id: Some(job_id),
            expires_at: credential.expires_at,
            created_at: previous.map_or(at, |p| p.created_at),
            updated_at: at,
        };
        let delivery = serde_json::to_vec(&Delivery { provisioned_id: copy.id, claims: claims.clone() })
            .map_err(Error::internal)?;
        outbox.jobs.push(NewJob {
            id: job_id,
            kind: DELIVER_CREDENTIAL.into(),
            payload: self.master_key.seal(&delivery, job_id.as_bytes()),
            run_at: at,
            max_attempts: DELIVERY_ATTEMPTS,
        });
        Ok(copy)
    }

    /// The worker's half of a wallet becoming active: each of the user's credentials
    /// still waiting with no copy anywhere (created without data) goes to this wallet,
    /// built from its type's defaults. Idempotent: a credential with a copy is skipped.
    pub async fn provision_pending(&self, wallet_id: Uuid) -> Result<(), String> {
        self.provision_pending_to(wallet_id).await.map_err(|e| e.to_string())
    }

    async fn provision_pending_to(&self, wallet_id: Uuid) -> Result<()> {
        let wallet = match self.store.wallet_by_id(wallet_id).await {
            Ok(wallet) if wallet.status == WalletStatus::Active => wallet,
            Ok(_) | Err(domain::StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let page = self
            .store
            .user_credentials(wallet.environment_id, wallet.user_id, PageRequest::first(domain::page::MAX_LIMIT))
            .await?;
        for credential in page.items.into_iter().filter(|c| c.status == CredentialStatus::Pending) {
            if !self.store.provisioned_of_credential(credential.id).await?.is_empty() {
                continue;
            }
            let credential_type =
                self.store.credential_type(wallet.environment_id, credential.credential_type_id).await?;
            let claims = default_claims(&credential_type);
            let mut outbox = Outbox::default();
            let copy = self.copy_for_wallet(&credential, wallet.id, None, &claims, &mut outbox)?;
            self.store.add_provisioned_credential(&copy, &outbox).await?;
        }
        self.wake_worker.notify_one();
        Ok(())
    }

    /// The expiry job: revokes the credential if its `expiresAt` has come (it may
    /// have moved since the job was queued).
    pub async fn expire_credential(&self, credential_id: Uuid) -> Result<(), String> {
        self.store.expire_user_credential(credential_id, now()).await.map(drop).map_err(|e| e.to_string())
    }

    /// The mailbox time-to-live job: wipes a signed credential the wallet never
    /// collected, and says so on the copy.
    pub async fn purge_mailbox(&self, provisioned_id: Uuid) -> Result<(), String> {
        let at = now();
        let reason = format!(
            "The wallet did not collect the credential within the mailbox time-to-live ({} s); it was wiped.",
            self.settings.mailbox_ttl.num_seconds()
        );
        self.store
            .purge_mailbox(provisioned_id, at - self.settings.mailbox_ttl, &reason, at)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    pub async fn user_credentials(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        filter: Option<&Filter>,
        page: PageRequest,
    ) -> Result<CountedPage<UserCredential>> {
        principal.require_manage(environment_id)?;
        self.store.user(environment_id, user_id).await?;
        let fetch = |page| self.store.user_credentials(environment_id, user_id, page);
        Ok(page_matching(filter, page, fetch, |c| c.id).await?)
    }

    pub async fn user_credential(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
    ) -> Result<UserCredential> {
        principal.require_manage(environment_id)?;
        Ok(self.store.user_credential(environment_id, user_id, id).await?)
    }

    /// Revokes the credential and its copies in wallets (`CREDENTIAL_REVOKED`);
    /// `expiresAt` becomes the revocation time. A credential issued with a
    /// notification sends `credential_revoked` the same way.
    pub async fn revoke_user_credential(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
    ) -> Result<UserCredential> {
        principal.require_manage(environment_id)?;
        let mut credential = self.store.user_credential(environment_id, user_id, id).await?;
        if credential.status == CredentialStatus::Revoked {
            return Ok(credential);
        }
        let at = now();
        credential.status = CredentialStatus::Revoked;
        credential.expires_at = Some(credential.expires_at.map_or(at, |e| e.min(at)));
        credential.updated_at = at;
        let mut outbox = Outbox::default();
        let earlier = credential.notification.as_deref().and_then(|n| serde_json::from_str(n).ok());
        if let Some(request) = earlier.as_ref().and_then(NotificationRequest::repeat_of) {
            let user = self.store.user(environment_id, user_id).await?;
            let template = TemplateName::CredentialRevoked;
            credential.notification = Some(self.notify_of(&user, &credential, template, &request, &mut outbox).await?);
        }
        self.store.update_user_credential(&credential, &[], &outbox).await?;
        self.wake_worker.notify_one();
        Ok(credential)
    }

    /// The copies of a credential, or of the credentials in a wallet, with their actions.
    pub async fn provisioned_credentials(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        of: ProvisionedOf,
        filter: Option<&Filter>,
    ) -> Result<Vec<ProvisionedWithActions>> {
        principal.require_manage(environment_id)?;
        let copies = match of {
            ProvisionedOf::Credential(id) => {
                self.store.user_credential(environment_id, user_id, id).await?;
                self.store.provisioned_of_credential(id).await?
            }
            ProvisionedOf::Wallet(id) => {
                self.users_wallet(environment_id, user_id, id).await?;
                self.store.provisioned_in_wallet(id).await?
            }
        };
        let mut with_actions = Vec::with_capacity(copies.len());
        for provisioned in copies.into_iter().filter(|p| filter.is_none_or(|f| f.matches(p))) {
            with_actions.push(ProvisionedWithActions {
                actions: self.store.wallet_actions(provisioned.id).await?,
                provisioned,
            });
        }
        Ok(with_actions)
    }

    /// The worker's half: signs the credential for the wallet's key and puts it in the
    /// mailbox. Idempotent: a copy delivered (or acted on, or waiting for a newer
    /// job) already is left alone. A failed attempt is recorded on the copy.
    pub async fn deliver_credential(&self, job: &ClaimedJob) -> Result<(), String> {
        let opened = self.master_key.open(&job.payload, job.id.as_bytes()).map_err(|e| e.to_string())?;
        let delivery: Delivery = serde_json::from_slice(&opened).map_err(|e| e.to_string())?;
        let provisioned_id = delivery.provisioned_id;
        let Err(error) = self.sign_into_mailbox(job.id, delivery).await else { return Ok(()) };
        let retry = if job.attempt < job.max_attempts { "it will be retried" } else { "no attempts are left" };
        let message = format!("Delivery attempt {} of {} failed ({retry}): {error}", job.attempt, job.max_attempts);
        self.store.record_delivery_error(provisioned_id, job.id, &message, now()).await.map_err(|e| e.to_string())?;
        Err(error.to_string())
    }

    async fn sign_into_mailbox(&self, job_id: Uuid, delivery: Delivery) -> Result<()> {
        let copy = match self.store.provisioned_credential(delivery.provisioned_id).await {
            Ok(copy) => copy,
            Err(domain::StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let superseded = copy.delivery_job_id.is_some_and(|waited_for| waited_for != job_id);
        if copy.status != ProvisionStatus::Created || copy.delivered_at.is_some() || superseded {
            return Ok(());
        }
        let credential = self.store.user_credential(copy.environment_id, copy.user_id, copy.credential_id).await?;
        let credential_type = self.store.credential_type(copy.environment_id, credential.credential_type_id).await?;
        let user = self.store.user(copy.environment_id, copy.user_id).await?;
        let wallet = self.store.wallet_by_id(copy.wallet_id).await?;
        let jwt = self.sign_credential(&credential, &credential_type, &user, &wallet, &copy, delivery.claims).await?;
        let sealed = self.master_key.seal(jwt.as_bytes(), copy.id.as_bytes());
        let at = now();
        let purge_id = new_id();
        let purge = NewJob {
            id: purge_id,
            kind: PURGE_MAILBOX.into(),
            payload: copy.id.as_bytes().to_vec(),
            run_at: at + self.settings.mailbox_ttl,
            max_attempts: PURGE_ATTEMPTS,
        };
        self.store
            .deliver_credential(copy.id, job_id, &sealed, at, &Outbox { notifications: vec![], jobs: vec![purge] })
            .await?;
        Ok(())
    }

    /// The wallet's mailbox: delivered credentials it has not acted on.
    pub async fn mailbox(&self, wallet_id: Uuid, token: &str, page: PageRequest) -> Result<CountedPage<MailboxEntry>> {
        self.authenticate_wallet(wallet_id, token).await?;
        let listed = scan(page, |page| self.store.mailbox(wallet_id, page), |c| c.id, |_| true).await?;
        listed.try_map(|provisioned| {
            let sealed = provisioned.sealed_payload.as_deref().unwrap_or_default();
            let jwt = self.master_key.open(sealed, provisioned.id.as_bytes()).map_err(Error::internal)?;
            let credential_jwt = String::from_utf8(jwt).map_err(Error::internal)?;
            Ok(MailboxEntry { provisioned, credential_jwt })
        })
    }

    /// The wallet accepts, rejects or deletes an offered credential; the mailbox copy
    /// is wiped.
    pub async fn act_on_credential(
        &self,
        wallet_id: Uuid,
        token: &str,
        provisioned_id: Uuid,
        action: WalletAction,
    ) -> Result<ProvisionedCredential> {
        self.authenticate_wallet(wallet_id, token).await?;
        let copy = self.store.provisioned_credential(provisioned_id).await?;
        if copy.wallet_id != wallet_id {
            return Err(Error::NotFound);
        }
        let allowed = match action {
            WalletAction::Accepted | WalletAction::Rejected => {
                copy.status == ProvisionStatus::Created && copy.delivered_at.is_some()
            }
            WalletAction::Deleted => !matches!(copy.status, ProvisionStatus::Deleted),
            WalletAction::Revoked => false,
        };
        if !allowed {
            return Err(Error::bad_request(
                "action",
                format!("The credential is {} and cannot take this action.", copy.status.as_str()),
            ));
        }
        self.store.record_wallet_action(provisioned_id, action, now()).await?;
        Ok(self.store.provisioned_credential(provisioned_id).await?)
    }
}

/// Whose provisioned credentials to list.
pub enum ProvisionedOf {
    Credential(Uuid),
    Wallet(Uuid),
}
