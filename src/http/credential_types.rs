//! The issuer: `/v1/environments/{envId}/credentialIssuerProfile`, the DID document
//! at `/{envId}/did.json`, and `/v1/environments/{envId}/credentialTypes`.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::credential::{
    CredentialField, CredentialMetadata, CredentialType, CredentialTypeFields, FieldType, IssuerProfile,
    ManagementMode, issuer_name,
};
use domain::time::Timestamp;
use domain::validation::{Collector, FieldError, bounded_text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::extract::{Caller, Json, Path, Query};
use super::openapi;
use super::wire::{self, LinkSet, Links, ListQuery, Ref};
use crate::error::Result;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read_profile, update_profile))
        .routes(routes!(did_document))
        .routes(routes!(list, create))
        .routes(routes!(read, replace, delete))
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
    name: String,
    did: Did,
    #[serde(skip_serializing_if = "Option::is_none")]
    site_url: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct Did {
    /// `WEB`.
    #[schema(value_type = String)]
    method: &'static str,
    /// `did:web:…`.
    value: String,
}

pub(super) fn profile_view(links: &Links, did: String, profile: &IssuerProfile) -> ProfileView {
    let env = profile.environment_id;
    ProfileView {
        links: links.set([("self", &format!("/v1/environments/{env}/credentialIssuerProfile"))]),
        id: profile.id,
        created_at: profile.created_at,
        updated_at: profile.updated_at,
        environment: Ref { id: env },
        name: profile.name.clone(),
        did: Did { method: "WEB", value: did },
        site_url: profile.site_url.clone(),
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
}

impl ProfileBody {
    /// The profile's name and site URL.
    pub(super) fn parse(self) -> Result<(String, Option<String>), Vec<FieldError>> {
        let mut errors = Collector::default();
        let name = errors.take(self.name.as_deref().ok_or_else(|| FieldError::required("name")).and_then(issuer_name));
        let site_url = self.site_url.as_deref().and_then(|u| {
            errors.take(
                domain::wallet::app_open_url(u)
                    .map_err(|_| FieldError::invalid("siteUrl", "siteUrl must be a valid URL.")),
            )
        });
        errors.finish_with(name.map(|name| (name, site_url)))
    }
}

/// Update the issuer profile's `name` and `siteUrl`.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/credentialIssuerProfile",
    operation_id = "updateCredentialIssuerProfile", tag = "Credential issuer", request_body = ProfileBody,
    responses((status = 200, description = "The issuer profile.", body = ProfileView)))]
async fn update_profile(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<ProfileBody>,
) -> Result<Json<ProfileView>> {
    let (name, site_url) = body.parse()?;
    let profile = state.credd.update_issuer_profile(&caller, environment_id, name, site_url).await?;
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

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialTypeRequest)]
pub(super) struct TypeBody {
    #[schema(required = true, nullable = false, value_type = Option<openapi::Text>)]
    title: Option<String>,
    #[schema(value_type = Option<openapi::Text>)]
    description: Option<String>,
    #[schema(value_type = Option<openapi::Text>)]
    card_type: Option<String>,
    #[schema(value_type = Option<openapi::Text>)]
    issuer_name: Option<String>,
    /// `AUTOMATED` when left out.
    management: Option<ManagementBody>,
    #[schema(required = true, nullable = false)]
    metadata: Option<MetadataBody>,
    /// `revokeIssuedCredentials` is `true` when left out.
    on_delete: Option<OnDeleteBody>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = CredentialTypeManagementRequest)]
struct ManagementBody {
    #[schema(value_type = Option<openapi::ManagementMode>)]
    mode: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialTypeOnDeleteRequest)]
struct OnDeleteBody {
    revoke_issued_credentials: Option<bool>,
}

/// The card's look and its fields; colors are `#rrggbb`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialTypeMetadataRequest)]
struct MetadataBody {
    name: Option<String>,
    description: Option<String>,
    background_image: Option<String>,
    logo_image: Option<String>,
    #[schema(pattern = "^#[0-9A-Fa-f]{6}$")]
    card_color: Option<String>,
    #[schema(pattern = "^#[0-9A-Fa-f]{6}$")]
    text_color: Option<String>,
    #[schema(minimum = 0, maximum = 100)]
    bg_opacity_percent: Option<i64>,
    #[schema(minimum = 1, maximum = 3)]
    columns: Option<i64>,
    /// Titles are unique.
    #[serde(default)]
    #[schema(required = true, min_items = 1)]
    fields: Vec<FieldBody>,
}

/// A claim: `Alphanumeric Text` (a `value`: the value of an AUTOMATED type, the default
/// of a MANAGED one), `Issued Timestamp`, or `Directory Attribute` (an `attribute`).
#[derive(Deserialize, ToSchema)]
#[schema(as = CredentialFieldRequest)]
struct FieldBody {
    #[schema(required = true, nullable = false, value_type = Option<openapi::Text>)]
    id: Option<String>,
    #[serde(rename = "type")]
    #[schema(required = true, nullable = false, value_type = Option<openapi::FieldType>)]
    kind: Option<String>,
    /// The claim's name: `data` keys are titles.
    #[schema(required = true, nullable = false, value_type = Option<openapi::Text>)]
    title: Option<String>,
    #[schema(value_type = Option<openapi::Text>)]
    value: Option<String>,
    /// A user attribute: `name.given`, `email`, …
    #[schema(value_type = Option<openapi::Text>)]
    attribute: Option<String>,
    #[serde(default)]
    required: bool,
}

impl TypeBody {
    pub(super) fn parse(self) -> Result<CredentialTypeFields, Vec<FieldError>> {
        let mut errors = Collector::default();
        let title = errors.take(
            self.title
                .as_deref()
                .ok_or_else(|| FieldError::required("title"))
                .and_then(|t| bounded_text("title", t, 256)),
        );
        let mode = match self.management.and_then(|m| m.mode) {
            None => Some(ManagementMode::Automated),
            Some(m) => errors.take(ManagementMode::parse(&m).ok_or_else(|| {
                FieldError::invalid("management.mode", "management.mode must be AUTOMATED or MANAGED.")
            })),
        };
        let description = optional_text(&mut errors, "description", self.description, 1024);
        let card_type = optional_text(&mut errors, "cardType", self.card_type, 256);
        let issuer_name = optional_text(&mut errors, "issuerName", self.issuer_name, 256);
        let metadata = errors.take(self.metadata.ok_or_else(|| FieldError::required("metadata")));
        let metadata = metadata.map(|m| CredentialMetadata {
            name: optional_text(&mut errors, "metadata.name", m.name, 256),
            description: optional_text(&mut errors, "metadata.description", m.description, 1024),
            // PingOne's limits: 50 KB and 25 KB, as URLs or `data:` URIs.
            background_image: optional_text(&mut errors, "metadata.backgroundImage", m.background_image, 50 * 1024),
            logo_image: optional_text(&mut errors, "metadata.logoImage", m.logo_image, 25 * 1024),
            card_color: m.card_color,
            text_color: m.text_color,
            bg_opacity_percent: m.bg_opacity_percent,
            columns: m.columns,
            fields: m
                .fields
                .into_iter()
                .enumerate()
                .filter_map(|(i, f)| {
                    let kind = errors.take(
                        f.kind
                            .as_deref()
                            .ok_or_else(|| FieldError::required(&format!("metadata.fields[{i}].type")))
                            .and_then(|k| {
                                FieldType::parse(k).ok_or_else(|| {
                                    FieldError::invalid(
                                        &format!("metadata.fields[{i}].type"),
                                        "type must be Alphanumeric Text, Issued Timestamp or Directory Attribute.",
                                    )
                                })
                            }),
                    )?;
                    let at = |name: &str| format!("metadata.fields[{i}].{name}");
                    Some(CredentialField {
                        id: optional_text(&mut errors, &at("id"), f.id, 256).unwrap_or_default(),
                        kind,
                        title: optional_text(&mut errors, &at("title"), f.title, 256).unwrap_or_default(),
                        value: optional_text(&mut errors, &at("value"), f.value, 1024),
                        attribute: optional_text(&mut errors, &at("attribute"), f.attribute, 256),
                        required: f.required,
                    })
                })
                .collect(),
        });
        let built = title.zip(mode).zip(metadata).map(|((title, mode), metadata)| CredentialTypeFields {
            title,
            description,
            card_type,
            issuer_name,
            mode,
            metadata,
            revoke_on_delete: self.on_delete.and_then(|o| o.revoke_issued_credentials).unwrap_or(true),
        });
        errors.finish_with(built)
    }
}

/// An optional text: at most `max` characters, without control characters. Blank
/// stays as sent (PingOne's examples send `""` for an unset image).
fn optional_text(errors: &mut Collector, target: &str, value: Option<String>, max: usize) -> Option<String> {
    match value {
        Some(text) if !text.trim().is_empty() => errors.take(bounded_text(target, &text, max)),
        blank => blank,
    }
}

/// A credential type; lists leave `metadata` (and `deletedAt`) out.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialType)]
pub(super) struct TypeView {
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
    /// The environment's `did:web`.
    issuer: Issuer,
    management: Management,
    title: String,
    card_type: String,
    uri: String,
    version: Version,
    on_delete: OnDelete,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<MetadataView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<openapi::Timestamp>)]
    deleted_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct Issuer {
    id: String,
}

#[derive(Serialize, ToSchema)]
struct Management {
    #[schema(value_type = openapi::ManagementMode)]
    mode: &'static str,
}

#[derive(Serialize, ToSchema)]
struct Version {
    number: i64,
    uri: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct OnDelete {
    revoke_issued_credentials: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialTypeMetadata)]
struct MetadataView {
    fields: Vec<FieldView>,
    version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    background_image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logo_image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_color: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text_color: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bg_opacity_percent: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    columns: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialField)]
struct FieldView {
    id: String,
    #[serde(rename = "type")]
    #[schema(value_type = openapi::FieldType)]
    kind: &'static str,
    title: String,
    required: bool,
    is_visible: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attribute: Option<String>,
}

wire::collection!(CredentialTypes, "items", TypeView);

fn metadata_view(version: i64, m: &CredentialMetadata) -> MetadataView {
    MetadataView {
        fields: m
            .fields
            .iter()
            .map(|f| FieldView {
                id: f.id.clone(),
                kind: f.kind.as_str(),
                title: f.title.clone(),
                required: f.required,
                is_visible: false,
                value: f.value.clone(),
                attribute: f.attribute.clone(),
            })
            .collect(),
        version,
        name: m.name.clone(),
        description: m.description.clone(),
        background_image: m.background_image.clone(),
        logo_image: m.logo_image.clone(),
        card_color: m.card_color.clone(),
        text_color: m.text_color.clone(),
        bg_opacity_percent: m.bg_opacity_percent,
        columns: m.columns,
    }
}

pub(super) fn type_view(state: &AppState, credential_type: &CredentialType, with_metadata: bool) -> TypeView {
    let links = &state.links;
    let env = credential_type.environment_id;
    let uri = state.credd.credential_type_uri(credential_type);
    TypeView {
        links: links.set([
            ("self", &format!("/v1/environments/{env}/credentialTypes/{}", credential_type.id)),
            ("environment", &links.environment(env)),
            ("credentialIssuerProfile", &format!("/v1/environments/{env}/credentialIssuerProfile")),
        ]),
        id: credential_type.id,
        created_at: credential_type.created_at,
        updated_at: credential_type.updated_at,
        environment: Ref { id: env },
        issuer: Issuer { id: state.credd.issuer_did(env) },
        management: Management { mode: credential_type.mode.as_str() },
        title: credential_type.title.clone(),
        card_type: credential_type.card_type.clone(),
        version: Version { number: credential_type.version, uri: format!("{uri}/v{}", credential_type.version) },
        uri,
        on_delete: OnDelete { revoke_issued_credentials: credential_type.revoke_on_delete },
        description: credential_type.description.clone(),
        issuer_name: credential_type.issuer_name.clone(),
        metadata: with_metadata.then(|| metadata_view(credential_type.version, &credential_type.metadata)),
        deleted_at: credential_type.deleted_at.filter(|_| with_metadata).as_ref().map(wire::format_timestamp),
    }
}

/// Create a credential type.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/credentialTypes", operation_id = "createCredentialType",
    request_body = TypeBody,
    responses((status = 201, description = "The new credential type.", body = TypeView)))]
async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<TypeBody>,
) -> Result<(StatusCode, Json<TypeView>)> {
    let created = state.credd.create_credential_type(&caller, environment_id, body.parse()?).await?;
    Ok((StatusCode::CREATED, Json(type_view(&state, &created, true))))
}

/// List the credential types: `_embedded.items`, without `metadata`, as PingOne lists them.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/credentialTypes", operation_id = "listCredentialTypes",
    params(ListQuery, ("filter" = Option<String>, Query,
        description = "SCIM (credd's addition): `title` eq or sw, `management.mode` eq; joined by `and`, `or`, parentheses.")),
    responses((status = 200, description = "A page of credential types.", body = CredentialTypes)))]
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<CredentialTypes>> {
    let (request, filter) = query.filtered_page::<CredentialType>(&uri)?;
    let page = state.credd.credential_types(&caller, environment_id, filter.as_ref(), request).await?;
    Ok(Json(CredentialTypes::page(&state.links, &uri, page, request, |t| t.id, |t| type_view(&state, &t, false))))
}

/// Read a credential type.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/credentialTypes/{type_id}",
    operation_id = "readCredentialType",
    responses((status = 200, description = "The credential type.", body = TypeView)))]
async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<Json<TypeView>> {
    let credential_type = state.credd.credential_type(&caller, environment_id, id).await?;
    Ok(Json(type_view(&state, &credential_type, true)))
}

/// Replace a credential type; its version goes up.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/credentialTypes/{type_id}",
    operation_id = "replaceCredentialType", request_body = TypeBody,
    responses((status = 200, description = "The credential type.", body = TypeView)))]
async fn replace(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<TypeBody>,
) -> Result<Json<TypeView>> {
    let credential_type = state.credd.replace_credential_type(&caller, environment_id, id, body.parse()?).await?;
    Ok(Json(type_view(&state, &credential_type, true)))
}

/// Delete a credential type: its `PENDING` credentials go, and with
/// `onDelete.revokeIssuedCredentials` the others are revoked.
#[utoipa::path(delete, path = "/v1/environments/{environment_id}/credentialTypes/{type_id}",
    operation_id = "deleteCredentialType", responses((status = 204, description = "Deleted.")))]
async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode> {
    state.credd.delete_credential_type(&caller, environment_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
