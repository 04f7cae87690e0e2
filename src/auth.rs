//! Access tokens: RS256-signed JWTs with PingOne's claims, signed by the newest RSA
//! key of their environment and published with its other keys at `/{envId}/as/jwks`.
//! Only RS256 verifies (wallet credentials are signed elsewhere, by issuer keys). A
//! verified token becomes a [`Principal`]; services decide what a principal may do.
//! A token lives only as long as the credential it was issued from: its worker (still
//! there, enabled, with the same secret), and for a user token its user.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::application::Application;
use domain::signing_key::SigningKey;
use domain::store::{ApplicationStore, EnvironmentStore, UserStore};
use domain::time::{new_id, now};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use moka::sync::Cache;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::app_store::AppStore;
use crate::crypto::{MasterKey, new_rsa_key};
use crate::error::{Error, Result};

/// The PingOne self-management scopes a user token may carry.
pub const SELF_MANAGEMENT_SCOPES: [&str; 14] = [
    "p1:read:user",
    "p1:update:user",
    "p1:update:userMfaEnabled",
    "p1:create:device",
    "p1:read:device",
    "p1:update:device",
    "p1:delete:device",
    "p1:read:userPassword",
    "p1:reset:userPassword",
    "p1:validate:userPassword",
    "p1:read:userLinkedAccounts",
    "p1:delete:userLinkedAccounts",
    "p1:create:pairingKey",
    "p1:read:pairingKey",
];

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A worker application. Workers of the administrator environment manage every
    /// environment; any other worker manages only its own.
    Worker { environment_id: Uuid, application_id: Uuid, administrator: bool },
    /// An end user acting on themself with self-management scopes.
    User { environment_id: Uuid, user_id: Uuid, scopes: Vec<String> },
}

impl Principal {
    /// May this principal manage the environment's resources?
    pub fn require_manage(&self, environment_id: Uuid) -> Result<()> {
        match self {
            Self::Worker { administrator: true, .. } => Ok(()),
            Self::Worker { environment_id: own, .. } if *own == environment_id => Ok(()),
            _ => Err(Error::Forbidden),
        }
    }

    pub fn require_administrator(&self) -> Result<()> {
        match self {
            Self::Worker { administrator: true, .. } => Ok(()),
            _ => Err(Error::Forbidden),
        }
    }

    /// A manager of the environment, or the user themself holding `scope`.
    pub fn require_self_or_manage(&self, environment_id: Uuid, user_id: Uuid, scope: &str) -> Result<()> {
        self.require_self_with_any_or_manage(environment_id, user_id, &[scope])
    }

    /// A manager of the environment, or the user themself holding one of `scopes`.
    pub fn require_self_with_any_or_manage(&self, environment_id: Uuid, user_id: Uuid, scopes: &[&str]) -> Result<()> {
        if self.is_user(environment_id, user_id) && self.has_any_scope(scopes) {
            Ok(())
        } else {
            self.require_manage(environment_id)
        }
    }

    /// Is this the user's own token?
    pub fn is_user(&self, environment_id: Uuid, user_id: Uuid) -> bool {
        matches!(self, Self::User { environment_id: env, user_id: own, .. } if *env == environment_id && *own == user_id)
    }

    fn has_any_scope(&self, wanted: &[&str]) -> bool {
        matches!(self, Self::User { scopes, .. } if scopes.iter().any(|s| wanted.contains(&s.as_str())))
    }
}

/// An access token's claims, named and typed as PingOne's.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The application that requested the token.
    client_id: Uuid,
    /// `{publicUrl}/{envId}/as`.
    iss: String,
    /// The resources the token is for: credd's API (PingOne's lists its platform API).
    aud: Vec<String>,
    /// Space-separated; empty for a worker, whose rights come from its environment.
    scope: String,
    /// The worker's id, or the user's for a self-service token.
    sub: String,
    iat: i64,
    exp: i64,
    jti: String,
    /// The environment of the application or user.
    env: Uuid,
    /// The organization: the installation's ([`MasterKey::organization_id`]).
    org: Uuid,
    /// The worker's secret when the token was issued (see [`secret_fingerprint`]):
    /// once the secret is rotated, the token no longer matches.
    secret_fingerprint: String,
}

/// Names the application's client secret without revealing anything of it: a digest of
/// its keyed hash, which changes whenever the secret does. (Only workers, which always
/// have a secret, get tokens; an application without one has the digest of nothing.)
fn secret_fingerprint(application: &Application) -> String {
    let hash = application.secret.as_ref().map_or(&[][..], |kept| kept.hash.as_slice());
    URL_SAFE_NO_PAD.encode(&Sha256::digest(hash)[..16])
}

/// What a token stands on, read again from the store at least every [`RECHECK_AFTER`].
#[derive(Debug)]
struct Credential {
    environment_id: Uuid,
    client_id: Uuid,
    secret_fingerprint: String,
    /// A user token's user.
    user_id: Option<Uuid>,
}

/// A token verified here.
struct Verified {
    principal: Principal,
    /// The token's `exp` (seconds).
    expires: i64,
    /// [`Tokens::forgotten`] when its credential was read: a verification made
    /// before a later forget is not trusted.
    generation: u64,
}

pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: u32,
    pub scope: Option<String>,
}

/// Verified tokens remembered at most; past it the least used go first.
const VERIFIED_LIMIT: u64 = 10_000;
/// Environments whose keys are remembered at most, to sign and to verify.
const KEY_LIMIT: u64 = 10_000;

/// How long a token's verification is trusted without reading its credential again.
/// A rotation, disable or deletion made through another instance on the same
/// database ends the token here within this bound; one made through this instance
/// ends it at once.
pub const RECHECK_AFTER: Duration = Duration::from_secs(5);

const INVALID_TOKEN: Error = Error::Unauthorized("The access token is invalid or has expired.");

/// Issues and verifies access tokens. An environment's keys never change once
/// created, so they are cached (the newest by environment to sign, each by `kid` to
/// verify; a key added by a rotation signs here once the cached one is forgotten),
/// and so is each token's verification for [`RECHECK_AFTER`]: a request then costs
/// no signature check and no database read. Deleting an environment forgets all
/// three; rotating, replacing or deleting a worker and deleting a user forget the
/// verifications. All three caches are bounded (moka, least recently used out first)
/// and verifications expire after [`RECHECK_AFTER`].
pub struct Tokens {
    store: AppStore,
    master_key: Arc<MasterKey>,
    public_base: String,
    lifetime_seconds: u32,
    administrator_environment: Uuid,
    /// `kid` → its environment and key.
    decoding_keys: Cache<Uuid, (Uuid, Arc<DecodingKey>)>,
    /// Environment → its key's id and the key.
    encoding_keys: Cache<Uuid, (Uuid, Arc<EncodingKey>)>,
    /// SHA-256 of a token → its verification, kept for [`RECHECK_AFTER`].
    verified: Cache<[u8; 32], Arc<Verified>>,
    /// Counts the calls that forget verifications, so one that raced a call is not trusted.
    forgotten: AtomicU64,
}

impl Tokens {
    pub fn new(
        store: AppStore,
        master_key: Arc<MasterKey>,
        public_base: String,
        lifetime_seconds: u32,
        administrator_environment: Uuid,
    ) -> Self {
        Self {
            store,
            master_key,
            public_base,
            lifetime_seconds,
            administrator_environment,
            decoding_keys: Cache::builder().max_capacity(KEY_LIMIT).support_invalidation_closures().build(),
            encoding_keys: Cache::new(KEY_LIMIT),
            verified: Cache::builder().max_capacity(VERIFIED_LIMIT).time_to_live(RECHECK_AFTER).build(),
            forgotten: AtomicU64::new(0),
        }
    }

    pub fn administrator_environment(&self) -> Uuid {
        self.administrator_environment
    }

    /// A fresh RSA signing key for the environment, its private half sealed. Made on
    /// the blocking pool: it takes a good part of a second.
    pub async fn new_signing_key(&self, environment_id: Uuid) -> Result<SigningKey> {
        let id = new_id();
        let master_key = Arc::clone(&self.master_key);
        let (public_key, sealed_private_key) =
            tokio::task::spawn_blocking(move || new_rsa_key(&master_key, id.as_bytes()))
                .await
                .map_err(Error::internal)?
                .map_err(Error::internal)?;
        Ok(SigningKey { id, environment_id, public_key, sealed_private_key, created_at: now() })
    }

    /// The environment's signing keys, newest first, which its JWK Set publishes; it
    /// gets its first one here when it has none. `NotFound` when there is no such
    /// environment.
    pub async fn signing_keys(&self, environment_id: Uuid) -> Result<Vec<SigningKey>> {
        let keys = self.store.signing_keys(environment_id).await?;
        if keys.is_empty() {
            return Ok(vec![self.first_signing_key(environment_id).await?]);
        }
        Ok(keys)
    }

    /// Gives an environment without a key its first (one made before tokens were
    /// RS256, or not yet asked for a token), and answers it. Two instances racing
    /// here end with the one key the store let in first; a call cancelled part way
    /// leaves no key or a whole one.
    async fn first_signing_key(&self, environment_id: Uuid) -> Result<SigningKey> {
        // Before the key is made, so an unknown environment costs no key.
        self.store.environment(environment_id).await?;
        let key = self.new_signing_key(environment_id).await?;
        Ok(self.store.add_signing_key(&key, None).await?)
    }

    pub fn issuer(&self, environment_id: Uuid) -> String {
        format!("{}/{environment_id}/as", self.public_base)
    }

    /// The issuer of an existing environment's tokens; `NotFound` when there is no
    /// such environment.
    pub async fn environment_issuer(&self, environment_id: Uuid) -> Result<String> {
        self.store.environment(environment_id).await?;
        Ok(self.issuer(environment_id))
    }

    /// Signs a token that the worker `client` obtained for `subject` (its own id, or a
    /// user id).
    pub async fn issue(&self, client: &Application, subject: Uuid, scope: Option<String>) -> Result<IssuedToken> {
        let environment_id = client.environment_id;
        let (kid, key) = self.encoding_key(environment_id).await?;
        let issued_at = now().timestamp();
        let claims = Claims {
            client_id: client.id,
            iss: self.issuer(environment_id),
            aud: vec![self.public_base.clone()],
            scope: scope.clone().unwrap_or_default(),
            sub: subject.to_string(),
            iat: issued_at,
            exp: issued_at + i64::from(self.lifetime_seconds),
            jti: new_id().to_string(),
            env: environment_id,
            org: self.master_key.organization_id(),
            secret_fingerprint: secret_fingerprint(client),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_string());
        let access_token = jsonwebtoken::encode(&header, &claims, &key).map_err(Error::internal)?;
        Ok(IssuedToken { access_token, expires_in: self.lifetime_seconds, scope })
    }

    /// The environment's newest signing key, opened: its id and the key.
    async fn encoding_key(&self, environment_id: Uuid) -> Result<(Uuid, Arc<EncodingKey>)> {
        if let Some(cached) = self.encoding_keys.get(&environment_id) {
            return Ok(cached);
        }
        let newest = self.store.signing_keys(environment_id).await?.into_iter().next();
        let key = match newest {
            Some(key) => key,
            None => self.first_signing_key(environment_id).await?,
        };
        let der = self.master_key.open(&key.sealed_private_key, key.id.as_bytes()).map_err(Error::internal)?;
        let entry = (key.id, Arc::new(EncodingKey::from_rsa_der(&der)));
        self.encoding_keys.insert(environment_id, entry.clone());
        Ok(entry)
    }

    /// Checks signature, expiry, audience, issuer and the credential the token was
    /// issued from; any failure is a 401.
    pub async fn verify(&self, token: &str) -> Result<Principal> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(verified) = self.verified.get(&digest)
            && verified.generation == self.forgotten.load(Ordering::Acquire)
            && now().timestamp() < verified.expires
        {
            return Ok(verified.principal.clone());
        }
        // Read before the store, so a rotation or deletion made here while it is read
        // leaves this verification untrusted for the next request.
        let generation = self.forgotten.load(Ordering::Acquire);
        let (principal, credential, expires) = self.verify_signed(token).await?;
        if !self.credential_stands(&credential).await? {
            self.verified.invalidate(&digest);
            return Err(INVALID_TOKEN);
        }
        self.verified.insert(digest, Arc::new(Verified { principal: principal.clone(), expires, generation }));
        Ok(principal)
    }

    /// Does the token's worker still exist, enabled and with the secret it had, and
    /// its user too, enabled? (A deleted environment takes its workers with it.)
    async fn credential_stands(&self, credential: &Credential) -> Result<bool> {
        let application = match self.store.application(credential.environment_id, credential.client_id).await {
            Ok(application) => application,
            Err(domain::StoreError::NotFound) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        // Only workers get tokens; the check stands guard should one name another app.
        if !application.is_worker()
            || !application.enabled
            || secret_fingerprint(&application) != credential.secret_fingerprint
        {
            return Ok(false);
        }
        if let Some(user_id) = credential.user_id {
            match self.store.user(credential.environment_id, user_id).await {
                Ok(user) if user.enabled => {}
                Ok(_) | Err(domain::StoreError::NotFound) => return Ok(false),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(true)
    }

    /// The token's own checks; its principal, credential and expiry.
    async fn verify_signed(&self, token: &str) -> Result<(Principal, Credential, i64)> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| INVALID_TOKEN)?;
        let kid = header.kid.as_deref().and_then(|k| Uuid::parse_str(k).ok()).ok_or(INVALID_TOKEN)?;
        let (environment_id, key) = self.decoding_key(kid).await?.ok_or(INVALID_TOKEN)?;

        // RS256 alone: a token naming any other algorithm is refused before its
        // signature is looked at.
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[&self.public_base]);
        validation.set_issuer(&[self.issuer(environment_id)]);
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|_| INVALID_TOKEN)?.claims;
        if claims.env != environment_id {
            return Err(INVALID_TOKEN);
        }
        let subject = Uuid::parse_str(&claims.sub).map_err(|_| INVALID_TOKEN)?;
        // A worker's token names the worker; a user token, obtained by a worker, its user.
        let (principal, user_id) = if subject != claims.client_id {
            let scopes = claims.scope.split_whitespace().map(str::to_owned).collect();
            (Principal::User { environment_id, user_id: subject, scopes }, Some(subject))
        } else {
            let administrator = environment_id == self.administrator_environment;
            (Principal::Worker { environment_id, application_id: claims.client_id, administrator }, None)
        };
        let credential = Credential {
            environment_id,
            client_id: claims.client_id,
            secret_fingerprint: claims.secret_fingerprint,
            user_id,
        };
        Ok((principal, credential, claims.exp))
    }

    async fn decoding_key(&self, kid: Uuid) -> Result<Option<(Uuid, Arc<DecodingKey>)>> {
        if let Some(cached) = self.decoding_keys.get(&kid) {
            return Ok(Some(cached));
        }
        let key = match self.store.signing_key(kid).await {
            Ok(key) => key,
            Err(domain::StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let entry = (key.environment_id, Arc::new(DecodingKey::from_rsa_der(&key.public_key)));
        self.decoding_keys.insert(kid, entry.clone());
        Ok(Some(entry))
    }

    /// Forgets the keys of a deleted environment, so its tokens stop verifying here at once.
    pub fn forget_environment(&self, environment_id: Uuid) {
        self.forget_verified_tokens();
        self.decoding_keys
            .invalidate_entries_if(move |_, (env, _)| *env == environment_id)
            .expect("the key cache supports invalidation closures");
        self.encoding_keys.invalidate(&environment_id);
    }

    /// After a worker's secret was rotated, a worker replaced or deleted, or a user
    /// deleted: every token is checked against the store again at its next use, so
    /// theirs stop working here at once.
    pub fn forget_verified_tokens(&self) {
        self.forgotten.fetch_add(1, Ordering::AcqRel);
        self.verified.invalidate_all();
    }
}
