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
use domain::validation::{Collector, FieldError, bounded_text};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::extract::{Caller, Json, Path, Query};
use super::openapi;
use super::wire::{self, Links, ListQuery};
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

/// Shapes this module renders with `json!`, for the OpenAPI document.
#[expect(dead_code, reason = "described to utoipa, never built: the views render json!")]
mod shapes {
    use utoipa::ToSchema;
    use uuid::Uuid;

    use crate::http::openapi;
    use crate::http::wire::Ref;

    /// The environment's issuer: its name and its `did:web`.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct CredentialIssuerProfile {
        #[serde(rename = "_links")]
        pub links: (),
        pub id: Uuid,
        #[schema(value_type = openapi::Timestamp)]
        pub created_at: String,
        #[schema(value_type = openapi::Timestamp)]
        pub updated_at: String,
        pub environment: Ref,
        pub name: String,
        pub did: Did,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub site_url: Option<String>,
    }

    #[derive(ToSchema)]
    pub struct Did {
        /// `WEB`.
        pub method: String,
        /// `did:web:…`.
        pub value: String,
    }

    /// The W3C DID document of the environment's `did:web`.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct DidDocument {
        #[serde(rename = "@context")]
        pub context: Vec<String>,
        pub id: String,
        pub verification_method: Vec<VerificationMethod>,
        pub assertion_method: Vec<String>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct VerificationMethod {
        pub id: String,
        /// `JsonWebKey2020`.
        #[serde(rename = "type")]
        pub kind: String,
        pub controller: String,
        pub public_key_jwk: PublicKeyJwk,
    }

    /// An Ed25519 public key (`kty` `OKP`, `crv` `Ed25519`).
    #[derive(ToSchema)]
    pub struct PublicKeyJwk {
        pub kty: String,
        pub crv: String,
        pub x: String,
    }

    /// A credential type; lists leave `metadata` out.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct CredentialType {
        #[serde(rename = "_links")]
        pub links: (),
        pub id: Uuid,
        #[schema(value_type = openapi::Timestamp)]
        pub created_at: String,
        #[schema(value_type = openapi::Timestamp)]
        pub updated_at: String,
        pub environment: Ref,
        /// The environment's `did:web`.
        pub issuer: Issuer,
        pub management: Management,
        pub title: String,
        pub card_type: String,
        pub uri: String,
        pub version: Version,
        pub on_delete: OnDelete,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub issuer_name: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub metadata: Option<Metadata>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<openapi::Timestamp>)]
        pub deleted_at: Option<String>,
    }

    #[derive(ToSchema)]
    pub struct Issuer {
        pub id: String,
    }

    #[derive(ToSchema)]
    pub struct Management {
        #[schema(value_type = openapi::ManagementMode)]
        pub mode: String,
    }

    #[derive(ToSchema)]
    pub struct Version {
        pub number: i64,
        pub uri: String,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct OnDelete {
        pub revoke_issued_credentials: bool,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    #[schema(as = CredentialTypeMetadata)]
    pub struct Metadata {
        pub fields: Vec<Field>,
        pub version: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub background_image: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub logo_image: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub card_color: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub text_color: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub bg_opacity_percent: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub columns: Option<i64>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    #[schema(as = CredentialField)]
    pub struct Field {
        pub id: String,
        #[serde(rename = "type")]
        #[schema(value_type = openapi::FieldType)]
        pub kind: String,
        pub title: String,
        pub required: bool,
        pub is_visible: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub value: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub attribute: Option<String>,
    }
}

wire::untyped_collection_schema!(CredentialTypes, "items", shapes::CredentialType);

pub(super) fn profile_view(links: &Links, did: String, profile: &IssuerProfile) -> Value {
    let mut view = json!({
        "_links": { "self": links.link(&format!("/v1/environments/{}/credentialIssuerProfile", profile.environment_id)) },
        "id": profile.id,
        "createdAt": wire::format_timestamp(&profile.created_at),
        "updatedAt": wire::format_timestamp(&profile.updated_at),
        "environment": { "id": profile.environment_id },
        "name": profile.name,
        "did": { "method": "WEB", "value": did },
    });
    if let Some(site_url) = &profile.site_url {
        view["siteUrl"] = site_url.as_str().into();
    }
    view
}

/// Read the environment's issuer profile (made when first read).
#[utoipa::path(get, path = "/v1/environments/{environment_id}/credentialIssuerProfile",
    operation_id = "readCredentialIssuerProfile", tag = "Credential issuer",
    responses((status = 200, description = "The issuer profile.", body = shapes::CredentialIssuerProfile)))]
async fn read_profile(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
) -> Result<Json<Value>> {
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
    responses((status = 200, description = "The issuer profile.", body = shapes::CredentialIssuerProfile)))]
async fn update_profile(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<ProfileBody>,
) -> Result<Json<Value>> {
    let (name, site_url) = body.parse()?;
    let profile = state.credd.update_issuer_profile(&caller, environment_id, name, site_url).await?;
    Ok(Json(profile_view(&state.links, state.credd.issuer_did(environment_id), &profile)))
}

/// The `did:web` document of the environment: its issuer key as a JWK.
#[utoipa::path(get, path = "/{environment_id}/did.json", operation_id = "readDidDocument", tag = "Credential issuer",
    security(()), responses((status = 200, description = "The DID document.", body = shapes::DidDocument)))]
async fn did_document(State(state): State<AppState>, Path(environment_id): Path<Uuid>) -> Result<Json<Value>> {
    let public_key = state.credd.issuer_public_key(environment_id).await?;
    let did = state.credd.issuer_did(environment_id);
    let key_id = format!("{did}#key-1");
    Ok(Json(json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did,
        "verificationMethod": [{
            "id": key_id, "type": "JsonWebKey2020", "controller": did,
            "publicKeyJwk": { "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(public_key) },
        }],
        "assertionMethod": [key_id],
    })))
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

pub(super) fn type_view(state: &AppState, credential_type: &CredentialType, with_metadata: bool) -> Value {
    let links = &state.links;
    let env = credential_type.environment_id;
    let path = format!("/v1/environments/{env}/credentialTypes/{}", credential_type.id);
    let uri = links.href(&format!("/v1/distributedid/credentialTypes/{}", credential_type.id));
    let mut view = json!({
        "_links": {
            "self": links.link(&path),
            "environment": links.link(&links.environment(env)),
            "credentialIssuerProfile": links.link(&format!("/v1/environments/{env}/credentialIssuerProfile")),
        },
        "id": credential_type.id,
        "createdAt": wire::format_timestamp(&credential_type.created_at),
        "updatedAt": wire::format_timestamp(&credential_type.updated_at),
        "environment": { "id": env },
        "issuer": { "id": state.credd.issuer_did(env) },
        "management": { "mode": credential_type.mode.as_str() },
        "title": credential_type.title,
        "cardType": credential_type.card_type,
        "uri": uri,
        "version": { "number": credential_type.version, "uri": format!("{uri}/v{}", credential_type.version) },
        "onDelete": { "revokeIssuedCredentials": credential_type.revoke_on_delete },
    });
    for (key, value) in [("description", &credential_type.description), ("issuerName", &credential_type.issuer_name)] {
        if let Some(value) = value {
            view[key] = value.as_str().into();
        }
    }
    if with_metadata {
        let m = &credential_type.metadata;
        let mut metadata = json!({
            "fields": m.fields.iter().map(|f| {
                let mut field = json!({ "id": f.id, "type": f.kind.as_str(), "title": f.title, "required": f.required, "isVisible": false });
                if let Some(value) = &f.value { field["value"] = value.as_str().into(); }
                if let Some(attribute) = &f.attribute { field["attribute"] = attribute.as_str().into(); }
                field
            }).collect::<Vec<_>>(),
            "version": credential_type.version,
        });
        for (key, value) in [
            ("name", &m.name),
            ("description", &m.description),
            ("backgroundImage", &m.background_image),
            ("logoImage", &m.logo_image),
            ("cardColor", &m.card_color),
            ("textColor", &m.text_color),
        ] {
            if let Some(value) = value {
                metadata[key] = value.as_str().into();
            }
        }
        for (key, value) in [("bgOpacityPercent", m.bg_opacity_percent), ("columns", m.columns)] {
            if let Some(value) = value {
                metadata[key] = value.into();
            }
        }
        view["metadata"] = metadata;
        if let Some(deleted_at) = &credential_type.deleted_at {
            view["deletedAt"] = wire::format_timestamp(deleted_at).into();
        }
    }
    view
}

/// Create a credential type.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/credentialTypes", operation_id = "createCredentialType",
    request_body = TypeBody,
    responses((status = 201, description = "The new credential type.", body = shapes::CredentialType)))]
async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<TypeBody>,
) -> Result<(StatusCode, Json<Value>)> {
    let created = state.credd.create_credential_type(&caller, environment_id, body.parse()?).await?;
    Ok((StatusCode::CREATED, Json(type_view(&state, &created, true))))
}

/// List the credential types: `_embedded.items`, without `metadata`, as PingOne lists them.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/credentialTypes", operation_id = "listCredentialTypes",
    params(ListQuery),
    responses((status = 200, description = "A page of credential types.", body = CredentialTypes)))]
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<wire::Collection<Value>>> {
    let request = query.page(&uri)?;
    let page = state.credd.credential_types(&caller, environment_id, request).await?;
    Ok(Json(wire::untyped_collection(
        &state.links,
        &uri,
        "items",
        page,
        request,
        |t| t.id,
        |t| type_view(&state, &t, false),
    )))
}

/// Read a credential type.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/credentialTypes/{type_id}",
    operation_id = "readCredentialType",
    responses((status = 200, description = "The credential type.", body = shapes::CredentialType)))]
async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<Json<Value>> {
    let credential_type = state.credd.credential_type(&caller, environment_id, id).await?;
    Ok(Json(type_view(&state, &credential_type, true)))
}

/// Replace a credential type; its version goes up.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/credentialTypes/{type_id}",
    operation_id = "replaceCredentialType", request_body = TypeBody,
    responses((status = 200, description = "The credential type.", body = shapes::CredentialType)))]
async fn replace(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<TypeBody>,
) -> Result<Json<Value>> {
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
