//! Access tokens: EdDSA-signed JWTs, one signing key per environment, published at
//! `/{envId}/as/jwks`. A verified token becomes a [`Principal`]; services decide what
//! a principal may do.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::Store;
use domain::signing_key::SigningKey;
use domain::time::{new_id, now};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::app_store::AppStore;
use crate::crypto::{MasterKey, new_ed25519_key};
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

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    iat: i64,
    exp: i64,
    jti: String,
    /// The environment the token belongs to (PingOne's `env` claim).
    env: Uuid,
    client_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: u32,
    pub scope: Option<String>,
}

/// Verified tokens remembered at most; past it the expired ones go, or all of them.
const VERIFIED_LIMIT: usize = 10_000;

/// Issues and verifies access tokens. An environment's signing key never changes
/// once created, so the keys are cached (by environment to sign, by `kid` to
/// verify), and so is each token's verification until it expires: a request then
/// costs no signature check and no database read. Deleting an environment forgets
/// all three.
pub struct Tokens {
    store: AppStore,
    master_key: Arc<MasterKey>,
    public_base: String,
    lifetime_seconds: u32,
    administrator_environment: Uuid,
    decoding_keys: RwLock<HashMap<Uuid, (Uuid, Arc<DecodingKey>)>>,
    encoding_keys: RwLock<HashMap<Uuid, (Uuid, Arc<EncodingKey>)>>,
    /// SHA-256 of a token → who it is and when it expires (seconds).
    verified: RwLock<HashMap<[u8; 32], (Principal, i64)>>,
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
            decoding_keys: RwLock::default(),
            encoding_keys: RwLock::default(),
            verified: RwLock::default(),
        }
    }

    pub fn administrator_environment(&self) -> Uuid {
        self.administrator_environment
    }

    /// A fresh signing key for a new environment, its private half sealed.
    pub fn new_signing_key(&self, environment_id: Uuid) -> SigningKey {
        let id = new_id();
        let (public_key, sealed_private_key) = new_ed25519_key(&self.master_key, id.as_bytes());
        SigningKey { id, environment_id, public_key, sealed_private_key, created_at: now() }
    }

    /// The environment's public keys as a JWK Set.
    pub async fn jwks(&self, environment_id: Uuid) -> Result<serde_json::Value> {
        let keys = self.store.signing_keys(environment_id).await?;
        if keys.is_empty() {
            return Err(Error::NotFound);
        }
        let keys: Vec<_> = keys
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
                    "kid": k.id, "x": URL_SAFE_NO_PAD.encode(&k.public_key),
                })
            })
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }

    pub fn issuer(&self, environment_id: Uuid) -> String {
        format!("{}/{environment_id}/as", self.public_base)
    }

    /// Signs a token for `subject` (the worker's client id, or a user id).
    pub async fn issue(
        &self,
        environment_id: Uuid,
        client_id: Uuid,
        subject: Uuid,
        scope: Option<String>,
    ) -> Result<IssuedToken> {
        let (kid, key) = self.encoding_key(environment_id).await?;
        let issued_at = now().timestamp();
        let claims = Claims {
            iss: self.issuer(environment_id),
            sub: subject.to_string(),
            aud: self.public_base.clone(),
            iat: issued_at,
            exp: issued_at + i64::from(self.lifetime_seconds),
            jti: new_id().to_string(),
            env: environment_id,
            client_id,
            scope: scope.clone(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_string());
        let access_token = jsonwebtoken::encode(&header, &claims, &key).map_err(Error::internal)?;
        Ok(IssuedToken { access_token, expires_in: self.lifetime_seconds, scope })
    }

    /// The environment's signing key, opened: its id and the key.
    async fn encoding_key(&self, environment_id: Uuid) -> Result<(Uuid, Arc<EncodingKey>)> {
        if let Some(cached) = self.encoding_keys.read().expect("key cache lock").get(&environment_id) {
            return Ok(cached.clone());
        }
        let key = self.store.signing_keys(environment_id).await?.into_iter().next().ok_or(Error::NotFound)?;
        let seed = self.master_key.open(&key.sealed_private_key, key.id.as_bytes()).map_err(Error::internal)?;
        let seed: [u8; 32] = seed.try_into().map_err(|_| Error::Internal("signing key has the wrong length".into()))?;
        let der = ed25519_dalek::SigningKey::from_bytes(&seed)
            .to_pkcs8_der()
            .map_err(|e| Error::Internal(e.to_string().into()))?;
        let entry = (key.id, Arc::new(EncodingKey::from_ed_der(der.as_bytes())));
        self.encoding_keys.write().expect("key cache lock").insert(environment_id, entry.clone());
        Ok(entry)
    }

    /// Checks signature, expiry, audience and issuer; any failure is a 401.
    pub async fn verify(&self, token: &str) -> Result<Principal> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some((principal, expires)) = self.verified.read().expect("token cache lock").get(&digest)
            && now().timestamp() < *expires
        {
            return Ok(principal.clone());
        }
        let (principal, expires) = self.verify_signed(token).await?;
        let mut verified = self.verified.write().expect("token cache lock");
        if verified.len() >= VERIFIED_LIMIT {
            let at = now().timestamp();
            verified.retain(|_, (_, expires)| at < *expires);
            if verified.len() >= VERIFIED_LIMIT {
                verified.clear();
            }
        }
        verified.insert(digest, (principal.clone(), expires));
        Ok(principal)
    }

    /// The full check, and the token's expiry.
    async fn verify_signed(&self, token: &str) -> Result<(Principal, i64)> {
        const INVALID: Error = Error::Unauthorized("The access token is invalid or has expired.");
        let header = jsonwebtoken::decode_header(token).map_err(|_| INVALID)?;
        let kid = header.kid.as_deref().and_then(|k| Uuid::parse_str(k).ok()).ok_or(INVALID)?;
        let (environment_id, key) = self.decoding_key(kid).await?.ok_or(INVALID)?;

        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[&self.public_base]);
        validation.set_issuer(&[self.issuer(environment_id)]);
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|_| INVALID)?.claims;
        if claims.env != environment_id {
            return Err(INVALID);
        }
        let subject = Uuid::parse_str(&claims.sub).map_err(|_| INVALID)?;
        let principal = match claims.scope {
            Some(scope) if subject != claims.client_id => Principal::User {
                environment_id,
                user_id: subject,
                scopes: scope.split_whitespace().map(str::to_owned).collect(),
            },
            _ => Principal::Worker {
                environment_id,
                application_id: claims.client_id,
                administrator: environment_id == self.administrator_environment,
            },
        };
        Ok((principal, claims.exp))
    }

    async fn decoding_key(&self, kid: Uuid) -> Result<Option<(Uuid, Arc<DecodingKey>)>> {
        if let Some(cached) = self.decoding_keys.read().expect("key cache lock").get(&kid) {
            return Ok(Some(cached.clone()));
        }
        let key = match self.store.signing_key(kid).await {
            Ok(key) => key,
            Err(domain::StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let decoding = Arc::new(
            DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(&key.public_key)).map_err(Error::internal)?,
        );
        let entry = (key.environment_id, decoding);
        self.decoding_keys.write().expect("key cache lock").insert(kid, entry.clone());
        Ok(Some(entry))
    }

    /// Forgets the keys of a deleted environment, so its tokens stop verifying here at once.
    pub fn forget_environment(&self, environment_id: Uuid) {
        self.decoding_keys.write().expect("key cache lock").retain(|_, (env, _)| *env != environment_id);
        self.encoding_keys.write().expect("key cache lock").remove(&environment_id);
        self.verified.write().expect("token cache lock").retain(|_, (principal, _)| {
            let (Principal::Worker { environment_id: own, .. } | Principal::User { environment_id: own, .. }) =
                principal;
            *own != environment_id
        });
    }
}
