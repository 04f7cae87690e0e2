//! The credential a wallet receives: a JWT VC (the W3C VC data model's JWT encoding)
//! signed with the environment's issuer key, EdDSA.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::credential::{CredentialField, CredentialType, FieldType, ProvisionedCredential, UserCredential};
use domain::time::{format_timestamp, now};
use domain::user::User;
use domain::validation::FieldError;
use domain::wallet::DigitalWallet;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Map, Value};

use super::Credd;
use crate::error::{Error, Result};

/// The claim set of a JWT VC; `exp` comes last, only for a credential that expires.
#[derive(Serialize)]
struct JwtVcClaims {
    /// The environment's `did:web`.
    iss: String,
    /// The wallet's key as a `did:jwk`.
    sub: String,
    iat: i64,
    nbf: i64,
    /// `urn:uuid:` and the provisioned credential's id.
    jti: String,
    cnf: Confirmation,
    vc: VerifiableCredential,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
}

/// The key whose holder the credential is bound to: the wallet's public JWK as the
/// wallet sent it.
#[derive(Serialize)]
struct Confirmation {
    jwk: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifiableCredential {
    #[serde(rename = "@context")]
    context: [&'static str; 1],
    /// `VerifiableCredential` and the type's title without spaces.
    #[serde(rename = "type")]
    kind: [String; 2],
    /// `id` (the subject) first, then one claim per field of the type, by title.
    credential_subject: Map<String, Value>,
    credential_schema: CredentialSchema,
}

#[derive(Serialize)]
struct CredentialSchema {
    /// The credential type's URI.
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// The value of a directory attribute of the user, by its PingOne name; none when
/// the user has none (or an empty one).
fn directory_attribute(user: &User, attribute: &str) -> Option<String> {
    let value = match attribute {
        "id" => Some(user.id.to_string()),
        "username" => Some(user.username.clone()),
        "email" => user.email.clone(),
        "mobilePhone" => user.mobile_phone.clone(),
        "primaryPhone" => user.primary_phone.clone(),
        "locale" => user.locale.clone(),
        "preferredLanguage" => user.preferred_language.clone(),
        "name.given" => user.name_given.clone(),
        "name.family" => user.name_family.clone(),
        "name.formatted" => user.name_formatted.clone(),
        _ => None,
    };
    value.filter(|v| !v.is_empty())
}

/// A Directory Attribute field's claim: the user's attribute, else the field's
/// `default`, else empty.
fn directory_claim(user: &User, field: &CredentialField) -> Option<String> {
    directory_attribute(user, field.attribute.as_deref().unwrap_or_default()).or_else(|| field.default.clone())
}

/// A 400 for each required Directory Attribute field the user cannot fill: PingOne
/// refuses such a credential rather than issuing an empty claim.
pub(super) fn missing_directory_attributes(credential_type: &CredentialType, user: &User) -> Vec<FieldError> {
    credential_type
        .metadata
        .fields
        .iter()
        .filter(|f| f.kind == FieldType::DirectoryAttribute && f.required && directory_claim(user, f).is_none())
        .map(|f| {
            let attribute = f.attribute.as_deref().unwrap_or_default();
            FieldError::invalid(
                attribute,
                format!(
                    "The credential type's required field {:?} takes the user's {attribute}, which the user does not have.",
                    f.title
                ),
            )
        })
        .collect()
}

impl Credd {
    /// A JWT VC: issuer the environment's `did:web`, subject the wallet's key
    /// (`did:jwk`, also in `cnf`), claims every field of the type.
    pub(super) async fn sign_credential(
        &self,
        credential: &UserCredential,
        credential_type: &CredentialType,
        user: &User,
        wallet: &DigitalWallet,
        copy: &ProvisionedCredential,
        data_claims: BTreeMap<String, String>,
    ) -> Result<String> {
        let profile = self.ensure_issuer_profile(copy.environment_id).await?;
        let did = self.issuer_did(copy.environment_id);
        let wallet_key: Value =
            wallet.public_key.as_deref().and_then(|k| serde_json::from_str(k).ok()).unwrap_or(Value::Null);
        let subject = format!("did:jwk:{}", URL_SAFE_NO_PAD.encode(wallet_key.to_string()));
        let issued_at = now();
        let mut subject_claims = Map::new();
        subject_claims.insert("id".into(), subject.clone().into());
        for field in &credential_type.metadata.fields {
            let value = match field.kind {
                FieldType::AlphanumericText => data_claims.get(&field.title).cloned().unwrap_or_default(),
                FieldType::IssuedTimestamp => format_timestamp(&issued_at),
                FieldType::DirectoryAttribute => directory_claim(user, field).unwrap_or_default(),
            };
            subject_claims.insert(field.title.clone(), value.into());
        }
        let claims = JwtVcClaims {
            iss: did.clone(),
            sub: subject,
            iat: issued_at.timestamp(),
            nbf: issued_at.timestamp(),
            jti: format!("urn:uuid:{}", copy.id),
            cnf: Confirmation { jwk: wallet_key },
            vc: VerifiableCredential {
                context: ["https://www.w3.org/2018/credentials/v1"],
                kind: ["VerifiableCredential".into(), credential_type.title.replace(' ', "")],
                credential_subject: subject_claims,
                credential_schema: CredentialSchema {
                    id: self.credential_type_uri(credential_type.id),
                    kind: "credd-credential-type",
                },
            },
            exp: credential.expires_at.map(|e| e.timestamp()),
        };
        let seed = self.master_key.open(&profile.sealed_private_key, profile.id.as_bytes()).map_err(Error::internal)?;
        let seed: [u8; 32] = seed.try_into().map_err(|_| Error::Internal("issuer key has the wrong length".into()))?;
        let der = ed25519_dalek::SigningKey::from_bytes(&seed)
            .to_pkcs8_der()
            .map_err(|e| Error::Internal(e.to_string().into()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(format!("{did}#key-1"));
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(der.as_bytes())).map_err(Error::internal)
    }
}
