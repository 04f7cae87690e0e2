//! Digital wallet applications, digital wallets, and pairing a wallet app with the
//! wallet credd created for it.

use domain::StoreError;
use domain::application::application_not_in_environment;
use domain::filter::{Filter, page_matching};
use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::job::NewJob;
use domain::notification::TemplateName;
use domain::page::{CountedPage, Page, PageRequest};
use domain::store::{ApplicationStore, Outbox, UserStore, WalletStore};
use domain::time::{Timestamp, new_id, now};
use domain::validation::FieldError;
use domain::wallet::{
    DigitalWallet, MAX_PAIRING_FAILURES, PairingAttempt, PairingRefusal, PairingSession, PairingStatus,
    WalletApplication, WalletApplicationFields, WalletStatus, new_challenge,
};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::Credd;
use super::notifications::NotificationRequest;
use super::user_credentials::provision_pending_job;
use crate::auth::Principal;
use crate::crypto::{random_bytes, random_secret};
use crate::error::{Error, Result};

/// The job kind that expires one pairing session; its payload is the session id.
pub const EXPIRE_PAIRING_SESSION: &str = "expire_pairing_session";
/// Purpose of the keyed hash of wallet access tokens.
pub const WALLET_TOKEN: &str = "wallet-token";
/// Purpose of the keyed hash of pairing link ids, by which a link finds its session.
pub const PAIRING_LINK: &str = "pairing-link";

/// A created wallet, with what its creation sent.
pub struct CreatedWallet {
    pub wallet: DigitalWallet,
    pub session: PairingSession,
    pub application: WalletApplication,
}

/// A wallet with what its reads show: the pending pairing session, the attempts.
pub struct WalletDetails {
    pub wallet: DigitalWallet,
    pub session: Option<PairingSession>,
    pub attempts: Vec<PairingAttempt>,
    pub application: Option<WalletApplication>,
}

/// What a wallet app sends to pair.
pub struct PairingProof {
    pub challenge: String,
    pub application_instance_id: String,
    /// The wallet's public key, a JWK (Ed25519 or P-256).
    pub public_key: serde_json::Value,
    /// A compact JWS over `{"challenge": "…"}`, signed with that key.
    pub signature: String,
    pub device_data: Option<serde_json::Value>,
}

pub struct PairedWallet {
    pub wallet: DigitalWallet,
    pub access_token: String,
}

#[derive(Deserialize)]
struct SignedChallenge {
    challenge: String,
}

impl Credd {
    // Wallet applications ---------------------------------------------------------

    pub async fn create_wallet_application(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        fields: WalletApplicationFields,
    ) -> Result<WalletApplication> {
        self.existing_environment(principal, environment_id).await?;
        let named = fields.application_id;
        // PingOne's rule, with its reasons: a native app of the environment, with a
        // bundle id or a package name.
        match self.store.application(environment_id, named).await {
            Ok(native) => native.backs_wallet_applications().map_err(Error::invalid)?,
            Err(StoreError::NotFound) => return Err(Error::invalid(application_not_in_environment(named))),
            Err(e) => return Err(e.into()),
        }
        let application = WalletApplication::new(new_id(), environment_id, fields, now());
        match self.store.create_wallet_application(&application).await {
            Ok(()) => Ok(application),
            // The store checks again as it writes: the native app was deleted meanwhile.
            Err(StoreError::NotFound) => Err(Error::invalid(application_not_in_environment(named))),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn wallet_applications(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        filter: Option<&Filter>,
        page: PageRequest,
    ) -> Result<CountedPage<WalletApplication>> {
        self.existing_environment(principal, environment_id).await?;
        Ok(page_matching(filter, page, |page| self.store.wallet_applications(environment_id, page), |a| a.id).await?)
    }

    pub async fn wallet_application(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        id: Uuid,
    ) -> Result<WalletApplication> {
        principal.require_manage(environment_id)?;
        Ok(self.store.wallet_application(environment_id, id).await?)
    }

    /// Full replace; `application.id` and `usesPingOneWalletSDK` cannot change.
    pub async fn replace_wallet_application(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        id: Uuid,
        replacement: WalletApplicationFields,
    ) -> Result<WalletApplication> {
        principal.require_manage(environment_id)?;
        let mut application = self.store.wallet_application(environment_id, id).await?;
        let mut errors = Vec::new();
        if replacement.application_id != application.application_id {
            errors.push(FieldError::invalid("application.id", "application.id is immutable."));
        }
        if replacement.uses_pingone_wallet_sdk != application.uses_pingone_wallet_sdk {
            errors.push(FieldError::invalid("usesPingOneWalletSDK", "usesPingOneWalletSDK is immutable."));
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        (application.name, application.app_open_url, application.updated_at) =
            (replacement.name, replacement.app_open_url, now());
        self.store.update_wallet_application(&application).await?;
        Ok(application)
    }

    /// Deletes the application; its wallets become `DISABLED`.
    pub async fn delete_wallet_application(&self, principal: &Principal, environment_id: Uuid, id: Uuid) -> Result<()> {
        principal.require_manage(environment_id)?;
        Ok(self.store.delete_wallet_application(environment_id, id, now()).await?)
    }

    // Wallets -----------------------------------------------------------------------

    /// `{publicUrl}/v1/distributedid/requests/{requestId}`, the id derived from the
    /// session's (see [`crate::crypto::MasterKey::pairing_link_id`]).
    pub fn qr_url(&self, session: &PairingSession) -> String {
        let link_id = self.master_key.pairing_link_id(session.id);
        format!("{}/v1/distributedid/requests/{link_id}", self.settings.public_base)
    }

    /// What the store keeps of a link id, to find its session: a keyed hash.
    fn pairing_link_hash(&self, link_id: Uuid) -> String {
        URL_SAFE_NO_PAD.encode(self.master_key.hash_secret(PAIRING_LINK, &link_id.hyphenated().to_string()))
    }

    /// The wallet app's `appOpenUrl` with `u=<url-encoded qrUrl>`.
    pub fn app_open_url(&self, application: &WalletApplication, session: &PairingSession) -> String {
        let separator = if application.app_open_url.contains('?') { '&' } else { '?' };
        let encoded: String = url::form_urlencoded::byte_serialize(self.qr_url(session).as_bytes()).collect();
        format!("{}{separator}u={encoded}", application.app_open_url)
    }

    pub async fn create_wallet(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        wallet_application_id: Uuid,
        application_instance_id: Option<String>,
        notification: Option<NotificationRequest>,
    ) -> Result<CreatedWallet> {
        principal.require_manage(environment_id)?;
        let user = self.store.user(environment_id, user_id).await?;
        let application = match self.store.wallet_application(environment_id, wallet_application_id).await {
            Ok(application) => application,
            Err(domain::StoreError::NotFound) => {
                return Err(Error::invalid(FieldError::invalid(
                    "digitalWalletApplication.id",
                    "No digital wallet application with this id exists in the environment.",
                )));
            }
            Err(e) => return Err(e.into()),
        };

        let at = now();
        let (wallet_id, session_id) = (new_id(), new_id());
        let session = PairingSession {
            id: session_id,
            environment_id,
            user_id,
            wallet_id,
            link_hash: self.pairing_link_hash(self.master_key.pairing_link_id(session_id)),
            challenge: new_challenge(random_bytes()),
            status: PairingStatus::Initial,
            failed_attempts: 0,
            expires_at: at + self.settings.pairing_lifetime,
            created_at: at,
            updated_at: at,
        };
        let mut outbox = Outbox::default();
        outbox.jobs.push(NewJob {
            id: new_id(),
            kind: EXPIRE_PAIRING_SESSION.into(),
            payload: session.id.as_bytes().to_vec(),
            run_at: session.expires_at,
            max_attempts: 10,
        });
        let report = match notification {
            Some(request) => {
                let variables = BTreeMap::from([
                    ("pairingUrl".to_owned(), self.app_open_url(&application, &session)),
                    ("qrUrl".to_owned(), self.qr_url(&session)),
                    ("digitalWalletApplication.name".to_owned(), application.name.clone()),
                ]);
                Some(
                    self.notify_user(&user, TemplateName::DigitalWalletPairing, &request, variables, &mut outbox)
                        .await?,
                )
            }
            None => None,
        };
        let wallet = DigitalWallet {
            id: wallet_id,
            environment_id,
            user_id,
            wallet_application_id,
            application_instance_id,
            status: WalletStatus::PairingRequired,
            public_key: None,
            device_data: None,
            token_hash: None,
            notification: report.map(|r| serde_json::to_string(&r)).transpose().map_err(Error::internal)?,
            created_at: at,
            updated_at: at,
        };
        self.store.create_wallet(&wallet, &session, &outbox).await?;
        self.wake_worker.notify_one();
        Ok(CreatedWallet { wallet, session, application })
    }

    /// The user's wallet: 404 for a wallet of another user or environment.
    pub(super) async fn users_wallet(&self, environment_id: Uuid, user_id: Uuid, id: Uuid) -> Result<DigitalWallet> {
        users_own(self.store.wallet_by_id(id).await?, environment_id, user_id)
    }

    /// The user's wallet with its pairing attempts, and while it waits for pairing
    /// its session and application (for the links).
    async fn details(&self, environment_id: Uuid, user_id: Uuid, id: Uuid) -> Result<WalletDetails> {
        let (wallet, attempts) = self.store.wallet_with_attempts(id).await?;
        let wallet = users_own(wallet, environment_id, user_id)?;
        Ok(WalletDetails { attempts, ..self.summary(wallet).await? })
    }

    /// [`Self::details`] without the attempts, for lists: an active wallet costs no
    /// further read.
    async fn summary(&self, wallet: DigitalWallet) -> Result<WalletDetails> {
        let (session, application) = match wallet.status {
            WalletStatus::PairingRequired => (
                Some(self.store.pairing_session_of_wallet(wallet.id).await?),
                self.store.wallet_application(wallet.environment_id, wallet.wallet_application_id).await.ok(),
            ),
            _ => (None, None),
        };
        Ok(WalletDetails { wallet, session, attempts: Vec::new(), application })
    }

    pub async fn wallet(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
    ) -> Result<WalletDetails> {
        principal.require_manage(environment_id)?;
        self.details(environment_id, user_id, id).await
    }

    /// The `qrUrl` of a wallet waiting for pairing, for its QR code; 404 for a wallet
    /// that is not (nothing to pair with).
    pub async fn pairing_qr_url(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
    ) -> Result<String> {
        principal.require_manage(environment_id)?;
        let wallet = self.users_wallet(environment_id, user_id, id).await?;
        if wallet.status != WalletStatus::PairingRequired {
            return Err(Error::NotFound);
        }
        Ok(self.qr_url(&self.store.pairing_session_of_wallet(wallet.id).await?))
    }

    pub async fn wallets(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        filter: Option<&Filter>,
        page: PageRequest,
    ) -> Result<CountedPage<WalletDetails>> {
        principal.require_manage(environment_id)?;
        self.store.user(environment_id, user_id).await?;
        let listed =
            page_matching(filter, page, |page| self.store.wallets(environment_id, user_id, page), |w| w.id).await?;
        let mut items = Vec::with_capacity(listed.page.items.len());
        for wallet in listed.page.items {
            items.push(self.summary(wallet).await?);
        }
        Ok(CountedPage { page: Page { items, has_more: listed.page.has_more }, count: listed.count })
    }

    pub async fn administer_wallet(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        status: Option<WalletStatus>,
        application_instance_id: Option<String>,
    ) -> Result<WalletDetails> {
        principal.require_manage(environment_id)?;
        let mut wallet = self.users_wallet(environment_id, user_id, id).await?;
        let was_active = wallet.status == WalletStatus::Active;
        let at = now();
        wallet.administer(status, application_instance_id, at)?;
        // Re-enabled: the user's waiting credentials follow, as after pairing.
        let mut outbox = Outbox::default();
        if wallet.status == WalletStatus::Active && !was_active {
            outbox.jobs.push(provision_pending_job(wallet.id, at));
        }
        self.store.update_wallet(&wallet, &outbox).await?;
        self.wake_worker.notify_one();
        self.details(environment_id, user_id, id).await
    }

    pub async fn delete_wallet(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
    ) -> Result<()> {
        principal.require_manage(environment_id)?;
        Ok(self.store.delete_wallet(environment_id, user_id, id, now()).await?)
    }

    /// The worker's half of a session's lifetime.
    pub async fn expire_pairing_session(&self, session_id: Uuid) -> Result<(), String> {
        self.store.expire_pairing_session(session_id, now()).await.map(drop).map_err(|e| e.to_string())
    }

    // Pairing (wallet-facing) ---------------------------------------------------------

    /// A pairing request as the wallet app sees it.
    pub async fn pairing_request(&self, request_id: Uuid) -> Result<(PairingSession, Option<WalletApplication>)> {
        let session = self.store.pairing_session(&self.pairing_link_hash(request_id)).await?;
        let wallet = self.store.wallet_by_id(session.wallet_id).await?;
        let application = self.store.wallet_application(wallet.environment_id, wallet.wallet_application_id).await.ok();
        Ok((session, application))
    }

    /// Pairs the wallet when the proof holds and the wallet may still be paired. A
    /// wrong challenge or signature counts as a failed attempt; the session locks after
    /// `MAX_PAIRING_FAILURES`. Attempts on one session are judged one at a time
    /// (`attempts`).
    pub async fn pair(&self, request_id: Uuid, proof: PairingProof) -> Result<PairedWallet> {
        let _one_attempt_at_a_time = self.attempt_locks.lock(request_id).await;
        let session = self.store.pairing_session(&self.pairing_link_hash(request_id)).await?;
        let mut wallet = self.store.wallet_by_id(session.wallet_id).await?;
        let at = now();
        self.check_pairable(&wallet, &session, at).await?;
        let attempt = PairingAttempt {
            id: new_id(),
            session_id: session.id,
            wallet_id: session.wallet_id,
            success: false,
            attempted_at: at,
        };
        if let Err(failure) = verify_proof(&session, &proof) {
            self.store.record_pairing_failure(&attempt).await?;
            let left = MAX_PAIRING_FAILURES - session.failed_attempts - 1;
            let message = format!("{} {left} attempt(s) left before the session locks.", failure.message);
            return Err(Error::invalid(FieldError::new(failure.target, failure.kind, message)));
        }

        let access_token = random_secret();
        wallet.status = WalletStatus::Active;
        wallet.application_instance_id = Some(proof.application_instance_id);
        wallet.public_key = Some(proof.public_key.to_string());
        wallet.device_data = proof.device_data.map(|d| d.to_string());
        wallet.token_hash = Some(self.master_key.hash_secret(WALLET_TOKEN, &access_token));
        wallet.updated_at = at;
        // The user's waiting credentials follow the wallet, by a job in the same transaction.
        let outbox = Outbox { notifications: vec![], jobs: vec![provision_pending_job(wallet.id, at)] };
        match self.store.complete_pairing(&wallet, &PairingAttempt { success: true, ..attempt }, &outbox).await {
            Ok(()) => {
                self.wake_worker.notify_one();
                Ok(PairedWallet { wallet, access_token })
            }
            Err(domain::StoreError::Conflict) => {
                // The wallet or its session changed since the check above: say how.
                let wallet = self.store.wallet_by_id(session.wallet_id).await?;
                let session = self.store.pairing_session_of_wallet(wallet.id).await?;
                self.check_pairable(&wallet, &session, now()).await?;
                Err(refused(PairingRefusal::Completed))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// 400 unless the wallet is `PAIRING_REQUIRED`, its application exists and the
    /// session is usable. The store checks the wallet again as it completes the pairing.
    async fn check_pairable(&self, wallet: &DigitalWallet, session: &PairingSession, at: Timestamp) -> Result<()> {
        let application_exists =
            match self.store.wallet_application(wallet.environment_id, wallet.wallet_application_id).await {
                Ok(_) => true,
                Err(domain::StoreError::NotFound) => false,
                Err(e) => return Err(e.into()),
            };
        wallet.pairable(application_exists).and_then(|()| session.usable(at)).map_err(refused)
    }

    /// The wallet whose access token this is; 401 otherwise.
    pub async fn authenticate_wallet(&self, wallet_id: Uuid, token: &str) -> Result<DigitalWallet> {
        const INVALID: Error = Error::Unauthorized("The wallet access token is invalid.");
        let wallet = match self.store.wallet_by_id(wallet_id).await {
            Ok(wallet) => wallet,
            Err(domain::StoreError::NotFound) => return Err(INVALID),
            Err(e) => return Err(e.into()),
        };
        let hash = wallet.token_hash.as_deref().ok_or(INVALID)?;
        if self.master_key.verify_secret(WALLET_TOKEN, token, hash) { Ok(wallet) } else { Err(INVALID) }
    }
}

/// Why a pairing is refused, as a 400 on the link's `requestId`.
fn refused(refusal: PairingRefusal) -> Error {
    let message = match refusal {
        PairingRefusal::Completed => "The pairing session has already been completed.",
        PairingRefusal::Expired => "The pairing session has expired.",
        PairingRefusal::Locked => "The pairing session is locked after too many failed attempts.",
        PairingRefusal::WalletDisabled => "The digital wallet is disabled: it can no longer be paired.",
        PairingRefusal::ApplicationDeleted => {
            "The digital wallet's application was deleted: the wallet can no longer be paired."
        }
    };
    Error::bad_request("requestId", message)
}

/// Checks the challenge (in constant time) and the JWS over it by the offered key.
fn verify_proof(session: &PairingSession, proof: &PairingProof) -> Result<(), FieldError> {
    let challenge_ok: bool = proof.challenge.as_bytes().ct_eq(session.challenge.as_bytes()).into();
    if !challenge_ok {
        return Err(FieldError::invalid("challenge", "The challenge does not match the pairing request."));
    }
    let jwk: Jwk = serde_json::from_value(proof.public_key.clone())
        .map_err(|_| FieldError::invalid("publicKey", "publicKey must be an Ed25519 or P-256 JWK."))?;
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => Algorithm::EdDSA,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        _ => return Err(FieldError::invalid("publicKey", "publicKey must be an Ed25519 or P-256 JWK.")),
    };
    let key =
        DecodingKey::from_jwk(&jwk).map_err(|_| FieldError::invalid("publicKey", "publicKey is not a usable key."))?;
    let mut validation = Validation::new(algorithm);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let signed = jsonwebtoken::decode::<SignedChallenge>(&proof.signature, &key, &validation)
        .map_err(|_| FieldError::invalid("signature", "The signature does not verify with publicKey."))?;
    let signed_ok: bool = signed.claims.challenge.as_bytes().ct_eq(session.challenge.as_bytes()).into();
    if signed_ok { Ok(()) } else { Err(FieldError::invalid("signature", "The signature is over another challenge.")) }
}

/// 404 for a wallet of another user or environment.
fn users_own(wallet: DigitalWallet, environment_id: Uuid, user_id: Uuid) -> Result<DigitalWallet> {
    if wallet.environment_id == environment_id && wallet.user_id == user_id { Ok(wallet) } else { Err(Error::NotFound) }
}
