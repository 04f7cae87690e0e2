//! The issuer: `/v1/environments/{envId}/credentialIssuerProfile`, the DID document
//! at `/{envId}/did.json`, and `/v1/environments/{envId}/credentialTypes`.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::credential::{
    CredentialField, CredentialMetadata, CredentialType, CredentialTypeFields, FieldType, IssuerProfile,
    ManagementMode, issuer_name,
};
use domain::validation::{Collector, FieldError, bounded_text};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::extract::{Caller, Json, Path, Query};
use super::wire::{self, Links, ListQuery};
use crate::error::Result;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/environments/{environment_id}/credentialIssuerProfile", get(read_profile).put(update_profile))
        .route("/{environment_id}/did.json", get(did_document))
        .route("/v1/environments/{environment_id}/credentialTypes", get(list).post(create))
        .route("/v1/environments/{environment_id}/credentialTypes/{type_id}", get(read).put(replace).delete(delete))
}

fn profile_view(links: &Links, did: String, profile: &IssuerProfile) -> Value {
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

async fn read_profile(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
) -> Result<Json<Value>> {
    let profile = state.credd.issuer_profile(&caller, environment_id).await?;
    Ok(Json(profile_view(&state.links, state.credd.issuer_did(environment_id), &profile)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileBody {
    name: Option<String>,
    site_url: Option<String>,
}

async fn update_profile(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<ProfileBody>,
) -> Result<Json<Value>> {
    let mut errors = Collector::default();
    let name = errors.take(body.name.as_deref().ok_or_else(|| FieldError::required("name")).and_then(issuer_name));
    let site_url = body.site_url.as_deref().and_then(|u| {
        errors.take(
            domain::wallet::app_open_url(u).map_err(|_| FieldError::invalid("siteUrl", "siteUrl must be a valid URL.")),
        )
    });
    let name = errors.finish_with(name)?;
    let profile = state.credd.update_issuer_profile(&caller, environment_id, name, site_url).await?;
    Ok(Json(profile_view(&state.links, state.credd.issuer_did(environment_id), &profile)))
}

/// The `did:web` document of the environment: its issuer key as a JWK.
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypeBody {
    title: Option<String>,
    description: Option<String>,
    card_type: Option<String>,
    issuer_name: Option<String>,
    management: Option<ManagementBody>,
    metadata: Option<MetadataBody>,
    on_delete: Option<OnDeleteBody>,
}

#[derive(Deserialize)]
struct ManagementBody {
    mode: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OnDeleteBody {
    revoke_issued_credentials: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetadataBody {
    name: Option<String>,
    description: Option<String>,
    background_image: Option<String>,
    logo_image: Option<String>,
    card_color: Option<String>,
    text_color: Option<String>,
    bg_opacity_percent: Option<i64>,
    columns: Option<i64>,
    #[serde(default)]
    fields: Vec<FieldBody>,
}

#[derive(Deserialize)]
struct FieldBody {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    title: Option<String>,
    value: Option<String>,
    attribute: Option<String>,
    #[serde(default)]
    required: bool,
}

impl TypeBody {
    fn parse(self) -> Result<CredentialTypeFields, Vec<FieldError>> {
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

fn type_view(state: &AppState, credential_type: &CredentialType, with_metadata: bool) -> Value {
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

async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<TypeBody>,
) -> Result<(StatusCode, Json<Value>)> {
    let created = state.credd.create_credential_type(&caller, environment_id, body.parse()?).await?;
    Ok((StatusCode::CREATED, Json(type_view(&state, &created, true))))
}

/// `_embedded.items`, without `metadata`, as PingOne lists them.
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>> {
    let request = query.page()?;
    let page = state.credd.credential_types(&caller, environment_id, request).await?;
    Ok(Json(wire::collection(&state.links, &uri, "items", page, request, |t| t.id, |t| type_view(&state, &t, false))))
}

async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<Json<Value>> {
    let credential_type = state.credd.credential_type(&caller, environment_id, id).await?;
    Ok(Json(type_view(&state, &credential_type, true)))
}

async fn replace(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<TypeBody>,
) -> Result<Json<Value>> {
    let credential_type = state.credd.replace_credential_type(&caller, environment_id, id, body.parse()?).await?;
    Ok(Json(type_view(&state, &credential_type, true)))
}

async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode> {
    state.credd.delete_credential_type(&caller, environment_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
