//! The environment as an issuer: `/v1/environments/{envId}/credentialIssuerProfile`
//! and the DID document of its `did:web` at `/{envId}/did.json`.

use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::credential::{
    CredentialSigning, DidMethod, IssuerProfile, IssuerProfileFields, MAX_SIGNING_HEADERS, issuer_name,
};
use domain::time::Timestamp;
use domain::validation::{Collector, FieldError, FieldErrorKind, bounded_text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Caller, Json, Path};
use super::openapi;
use super::wire::{self, LinkSet, Links, Ref};
use crate::error::Result;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read_profile, create_profile, update_profile)).routes(routes!(did_document))
}

/// The environment's issuer: its name and its `did:web`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialIssuerProfile)]
pub(super) struct ProfileView {
    #[serde(rename = "_links")]
    links: LinkSet,
    id: Uuid,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    created_at: Timestamp,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    updated_at: Timestamp,
    environment: Ref,
    application_instance: Ref,
    name: String,
    did: Did,
    #[serde(skip_serializing_if = "Option::is_none")]
    site_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credential_signing: Option<CredentialSigningView>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = CredentialIssuerDid)]
struct Did {
    /// `WEB`: the method credd serves.
    #[schema(value_type = openapi::DidMethod)]
    method: &'static str,
    /// `did:web:…`.
    value: String,
    web: DidWeb,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialIssuerDidWeb)]
struct DidWeb {
    /// `PING`, as PingOne answers.
    #[schema(value_type = String)]
    host: &'static str,
    use_custom_domain: bool,
}

/// The customer's remote signing service, as sent.
#[derive(Serialize, ToSchema)]
#[schema(as = CredentialSigning)]
struct CredentialSigningView {
    url: String,
    headers: std::collections::BTreeMap<String, String>,
}

pub(super) fn profile_view(links: &Links, did: String, profile: &IssuerProfile) -> ProfileView {
    let env = profile.environment_id;
    ProfileView {
        links: links.set([("self", &format!("/v1/environments/{env}/credentialIssuerProfile"))]),
        id: profile.id,
        created_at: profile.created_at,
        updated_at: profile.updated_at,
        environment: Ref { id: env },
        application_instance: Ref { id: profile.application_instance_id },
        name: profile.name.clone(),
        did: Did {
            method: DidMethod::Web.as_str(),
            value: did,
            web: DidWeb { host: "PING", use_custom_domain: profile.use_custom_domain },
        },
        site_url: profile.site_url.clone(),
        logo: profile.logo.clone(),
        credential_signing: profile
            .credential_signing
            .as_ref()
            .map(|c| CredentialSigningView { url: c.url.clone(), headers: c.headers.clone() }),
    }
}

/// Read the environment's issuer profile (made when first read).
#[utoipa::path(get, path = "/v1/environments/{environment_id}/credentialIssuerProfile",
    operation_id = "readCredentialIssuerProfile", tag = "Credential issuer",
    responses((status = 200, description = "The issuer profile.", body = ProfileView)))]
async fn read_profile(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
) -> Result<Json<ProfileView>> {
    let profile = state.credd.issuer_profile(&caller, environment_id).await?;
    Ok(Json(profile_view(&state.links, state.credd.issuer_did(environment_id), &profile)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialIssuerProfileRequest)]
pub(super) struct ProfileBody {
    #[schema(required = true, nullable = false, value_type = Option<openapi::Text>)]
    name: Option<String>,
    #[schema(examples("https://www.example.com"))]
    site_url: Option<String>,
    /// An `https:` URL or a `data:` image.
    logo: Option<String>,
    did: Option<DidBody>,
    credential_signing: Option<CredentialSigningBody>,
}

/// `method` `WEB` (`WEBVH` is refused: credd serves `did:web` only).
#[derive(Deserialize, ToSchema)]
#[schema(as = CredentialIssuerDidRequest)]
struct DidBody {
    #[schema(value_type = Option<openapi::DidMethod>)]
    method: Option<String>,
    web: Option<DidWebBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialIssuerDidWebRequest)]
struct DidWebBody {
    /// `true` when left out.
    use_custom_domain: Option<bool>,
}

/// Kept and shown; credd itself signs every credential with the environment's key.
#[derive(Deserialize, ToSchema)]
#[schema(as = CredentialSigningRequest)]
struct CredentialSigningBody {
    /// An `https:` URL.
    #[schema(required = true, nullable = false)]
    url: Option<String>,
    /// At most 10.
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
}

/// `value` when it is an absolute URL with one of `schemes`.
fn url_with_scheme(target: &str, value: &str, schemes: &[&str], max: usize) -> Result<String, FieldError> {
    let value = bounded_text(target, value, max)?;
    match url::Url::parse(&value) {
        Ok(url) if schemes.contains(&url.scheme()) && (url.scheme() == "data" || url.has_host()) => Ok(value),
        _ => Err(FieldError::invalid(target, format!("{target} must be a valid URL ({}).", schemes.join(" or ")))),
    }
}

impl ProfileBody {
    pub(super) fn parse(self) -> Result<IssuerProfileFields, Vec<FieldError>> {
        let mut errors = Collector::default();
        let name = errors.take(self.name.as_deref().ok_or_else(|| FieldError::required("name")).and_then(issuer_name));
        let site_url = self.site_url.as_deref().and_then(|u| {
            errors.take(
                domain::wallet::app_open_url(u)
                    .map_err(|_| FieldError::invalid("siteUrl", "siteUrl must be a valid URL.")),
            )
        });
        // PingOne's limit for a logo as a `data:` URI is 25 KB.
        let logo =
            self.logo.as_deref().and_then(|l| errors.take(url_with_scheme("logo", l, &["https", "data"], 25 * 1024)));
        let mut use_custom_domain = true;
        if let Some(did) = self.did {
            match did.method.as_deref().map(|m| (m, DidMethod::parse(m))) {
                None | Some((_, Some(DidMethod::Web))) => {}
                Some((m, Some(DidMethod::WebVh))) => errors.push(FieldError::invalid(
                    "did.method",
                    format!("did.method {m} is not supported: credd serves did:web only."),
                )),
                Some((_, None)) => errors.push(FieldError::invalid("did.method", "did.method must be WEB or WEBVH.")),
            }
            use_custom_domain = did.web.and_then(|w| w.use_custom_domain).unwrap_or(true);
        }
        let credential_signing = self.credential_signing.and_then(|c| parse_signing(&mut errors, c));
        errors.finish_with(name.map(|name| IssuerProfileFields {
            name,
            site_url,
            logo,
            use_custom_domain,
            credential_signing,
        }))
    }
}

fn parse_signing(errors: &mut Collector, body: CredentialSigningBody) -> Option<CredentialSigning> {
    let url = errors.take(
        body.url
            .as_deref()
            .ok_or_else(|| FieldError::required("credentialSigning.url"))
            .and_then(|u| url_with_scheme("credentialSigning.url", u, &["https"], 2048)),
    );
    if body.headers.len() > MAX_SIGNING_HEADERS {
        errors.push(FieldError::new(
            "credentialSigning.headers",
            FieldErrorKind::LimitExceeded,
            format!("credentialSigning.headers may hold at most {MAX_SIGNING_HEADERS} headers."),
        ));
    }
    for (name, value) in &body.headers {
        let target = format!("credentialSigning.headers.{name}");
        if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            errors.push(FieldError::invalid(&target, "The header name is not a valid HTTP header name."));
        } else if axum::http::HeaderValue::from_str(value).is_err() || value.len() > 4096 {
            errors.push(FieldError::invalid(&target, "The header value must be visible text of at most 4096 bytes."));
        }
    }
    url.map(|url| CredentialSigning { url, headers: body.headers })
}

/// Create the environment's issuer profile. An environment has one: credd makes it
/// on first use, so this answers 409 once the environment has one.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/credentialIssuerProfile",
    operation_id = "createCredentialIssuerProfile", tag = "Credential issuer", request_body = ProfileBody,
    responses(
        (status = 201, description = "The issuer profile.", body = ProfileView),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: the environment has an issuer profile.", body = ErrorBody),
    ))]
async fn create_profile(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<ProfileBody>,
) -> Result<(StatusCode, Json<ProfileView>)> {
    let profile = state.credd.create_issuer_profile(&caller, environment_id, body.parse()?).await?;
    Ok((StatusCode::CREATED, Json(profile_view(&state.links, state.credd.issuer_did(environment_id), &profile))))
}

/// Update the issuer profile (a full replace).
#[utoipa::path(put, path = "/v1/environments/{environment_id}/credentialIssuerProfile",
    operation_id = "updateCredentialIssuerProfile", tag = "Credential issuer", request_body = ProfileBody,
    responses((status = 200, description = "The issuer profile.", body = ProfileView)))]
async fn update_profile(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<ProfileBody>,
) -> Result<Json<ProfileView>> {
    let profile = state.credd.update_issuer_profile(&caller, environment_id, body.parse()?).await?;
    Ok(Json(profile_view(&state.links, state.credd.issuer_did(environment_id), &profile)))
}

/// The W3C DID document of the environment's `did:web`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DidDocument)]
struct DidDocumentView {
    #[serde(rename = "@context")]
    #[schema(value_type = Vec<String>)]
    context: [&'static str; 2],
    id: String,
    verification_method: Vec<VerificationMethod>,
    assertion_method: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct VerificationMethod {
    id: String,
    /// `JsonWebKey2020`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    kind: &'static str,
    controller: String,
    public_key_jwk: PublicKeyJwk,
}

/// An Ed25519 public key (`kty` `OKP`, `crv` `Ed25519`).
#[derive(Serialize, ToSchema)]
struct PublicKeyJwk {
    #[schema(value_type = String)]
    kty: &'static str,
    #[schema(value_type = String)]
    crv: &'static str,
    x: String,
}

/// The `did:web` document of the environment: its issuer key as a JWK.
#[utoipa::path(get, path = "/{environment_id}/did.json", operation_id = "readDidDocument", tag = "Credential issuer",
    security(()), responses((status = 200, description = "The DID document.", body = DidDocumentView)))]
async fn did_document(
    State(state): State<AppState>,
    Path(environment_id): Path<Uuid>,
) -> Result<Json<DidDocumentView>> {
    let public_key = state.credd.issuer_public_key(environment_id).await?;
    let did = state.credd.issuer_did(environment_id);
    let key_id = format!("{did}#key-1");
    Ok(Json(DidDocumentView {
        context: ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        verification_method: vec![VerificationMethod {
            id: key_id.clone(),
            kind: "JsonWebKey2020",
            controller: did.clone(),
            public_key_jwk: PublicKeyJwk { kty: "OKP", crv: "Ed25519", x: URL_SAFE_NO_PAD.encode(public_key) },
        }],
        id: did,
        assertion_method: vec![key_id],
    }))
}
