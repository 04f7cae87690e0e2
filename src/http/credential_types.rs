//! `/v1/environments/{envId}/credentialTypes` and their versions.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use domain::credential::{
    CredentialField, CredentialMetadata, CredentialType, CredentialTypeFields, CredentialTypeOptions,
    CredentialTypeVersion, DisplayField, Expiration, ExpirationAfter, ExpirationType, FieldType, FileSupport,
    ManagementMode, OPENID4VCI_SCOPE, OpenId4Vci, TimeUnit, Visualization,
};
use domain::time::Timestamp;
use domain::validation::{Collector, FieldError, bounded_text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::extract::{Caller, Json, Path, Query};
use super::openapi;
use super::wire::{self, LinkSet, ListQuery, Ref};
use crate::error::Result;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, replace, delete))
        .routes(routes!(list_versions))
        .routes(routes!(read_version))
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
    /// Deprecated SVG card design; once set it may be removed but not changed.
    #[schema(value_type = Option<openapi::Text>)]
    card_design_template: Option<String>,
    /// AUTOMATED types only: exactly one of `after`, `timestamp` and `expression`.
    expiration: Option<ExpirationBody>,
    multiple: Option<MultipleBody>,
    #[serde(rename = "openid4VCI")]
    openid4vci: Option<OpenId4VciBody>,
    visualization_template_data: Option<VisualizationBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialTypeExpirationRequest)]
struct ExpirationBody {
    #[serde(rename = "type")]
    #[schema(required = true, nullable = false, value_type = Option<openapi::ExpirationType>)]
    kind: Option<String>,
    /// At least one hour.
    after: Option<AfterBody>,
    #[schema(value_type = Option<openapi::Timestamp>)]
    #[serde(default, deserialize_with = "wire::optional_timestamp")]
    timestamp: Option<Timestamp>,
    /// A PingOne Expression Language expression, kept as sent.
    #[schema(value_type = Option<openapi::Text>)]
    expression: Option<String>,
    /// Required for `SOFT`: a name no field of the type has.
    #[schema(value_type = Option<openapi::Text>)]
    field_name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialTypeExpirationAfterRequest)]
struct AfterBody {
    #[schema(required = true, nullable = false)]
    duration: Option<i64>,
    #[schema(required = true, nullable = false, value_type = Option<openapi::ExpirationTimeUnit>)]
    time_unit: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = CredentialTypeMultipleRequest)]
struct MultipleBody {
    /// A PingOne Expression Language expression, kept as sent.
    #[schema(required = true, nullable = false, value_type = Option<openapi::Text>)]
    expression: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = CredentialTypeOpenId4VciRequest)]
struct OpenId4VciBody {
    #[schema(required = true, nullable = false)]
    enabled: Option<bool>,
    /// `p1:provision:credentials` (when left out) or `p1:provision:credentials:…`; immutable.
    #[schema(value_type = Option<openapi::Text>)]
    scope: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialTypeVisualizationRequest)]
struct VisualizationBody {
    show_title: Option<bool>,
    /// One to three fields, by title.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 3)]
    display_fields: Vec<DisplayFieldBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialTypeDisplayFieldRequest)]
struct DisplayFieldBody {
    /// The title of a field of the type.
    #[schema(required = true, nullable = false, value_type = Option<openapi::Text>)]
    data_field_name: Option<String>,
    /// `false` when left out.
    show_field_name: Option<bool>,
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
    /// Shown as sent; when left out, the type's version number.
    version: Option<i64>,
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
    /// Directory Attribute: the claim when the user's attribute is empty.
    #[schema(value_type = Option<openapi::Text>)]
    default: Option<String>,
    /// Directory Attribute only; at most 5 fields of a type embed files.
    #[serde(rename = "fileSupport")]
    #[schema(value_type = Option<openapi::FileSupport>)]
    file_support: Option<String>,
    #[serde(default)]
    required: bool,
    /// Deprecated by PingOne; shown as sent (`false` when left out).
    #[serde(rename = "isVisible")]
    is_visible: Option<bool>,
    /// Refused: PingOne documents no meaning for it, so credd cannot honour it.
    #[schema(value_type = Option<Vec<String>>)]
    values: Option<serde_json::Value>,
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
            version: m.version,
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
                    if f.values.is_some() {
                        errors.push(FieldError::invalid(&at("values"), "credd does not support values."));
                    }
                    let file_support = f.file_support.as_deref().and_then(|v| {
                        errors.take(FileSupport::parse(v).ok_or_else(|| {
                            FieldError::invalid(
                                &at("fileSupport"),
                                "fileSupport must be BASE64_STRING, INCLUDE_FILE or REFERENCE_FILE.",
                            )
                        }))
                    });
                    Some(CredentialField {
                        id: optional_text(&mut errors, &at("id"), f.id, 256).unwrap_or_default(),
                        kind,
                        title: optional_text(&mut errors, &at("title"), f.title, 256).unwrap_or_default(),
                        value: optional_text(&mut errors, &at("value"), f.value, 1024),
                        attribute: optional_text(&mut errors, &at("attribute"), f.attribute, 256),
                        default: optional_text(&mut errors, &at("default"), f.default, 1024),
                        file_support,
                        required: f.required,
                        is_visible: f.is_visible,
                    })
                })
                .collect(),
        });
        let options = CredentialTypeOptions {
            // An SVG card is an image of up to PingOne's 50 KB for a background.
            card_design_template: optional_text(
                &mut errors,
                "cardDesignTemplate",
                self.card_design_template,
                50 * 1024,
            ),
            expiration: self.expiration.and_then(|e| e.parse(&mut errors)),
            multiple: self.multiple.and_then(|m| {
                errors.take(
                    m.expression
                        .as_deref()
                        .ok_or_else(|| FieldError::required("multiple.expression"))
                        .and_then(|e| bounded_text("multiple.expression", e, 1024)),
                )
            }),
            openid4vci: self.openid4vci.and_then(|o| {
                let enabled = errors.take(o.enabled.ok_or_else(|| FieldError::required("openid4VCI.enabled")));
                let scope = optional_text(&mut errors, "openid4VCI.scope", o.scope, 256);
                enabled.map(|enabled| OpenId4Vci { enabled, scope: scope.unwrap_or_else(|| OPENID4VCI_SCOPE.into()) })
            }),
            visualization: self.visualization_template_data.map(|v| Visualization {
                show_title: v.show_title,
                display_fields: v
                    .display_fields
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, d)| {
                        let target = format!("visualizationTemplateData.displayFields[{i}].dataFieldName");
                        let name = errors.take(
                            d.data_field_name
                                .as_deref()
                                .ok_or_else(|| FieldError::required(&target))
                                .and_then(|n| bounded_text(&target, n, 256)),
                        )?;
                        Some(DisplayField {
                            data_field_name: name,
                            show_field_name: d.show_field_name.unwrap_or(false),
                        })
                    })
                    .collect(),
            }),
        };
        let built = title.zip(mode).zip(metadata).map(|((title, mode), metadata)| CredentialTypeFields {
            title,
            description,
            card_type,
            issuer_name,
            mode,
            metadata,
            options,
            revoke_on_delete: self.on_delete.and_then(|o| o.revoke_issued_credentials).unwrap_or(true),
        });
        errors.finish_with(built)
    }
}

impl ExpirationBody {
    fn parse(self, errors: &mut Collector) -> Option<Expiration> {
        let kind =
            errors.take(self.kind.as_deref().ok_or_else(|| FieldError::required("expiration.type")).and_then(|k| {
                ExpirationType::parse(k)
                    .ok_or_else(|| FieldError::invalid("expiration.type", "expiration.type must be SOFT or HARD."))
            }));
        let after = self.after.and_then(|a| {
            let duration = errors.take(a.duration.ok_or_else(|| FieldError::required("expiration.after.duration")));
            let unit = errors.take(
                a.time_unit.as_deref().ok_or_else(|| FieldError::required("expiration.after.timeUnit")).and_then(|u| {
                    TimeUnit::parse(u).ok_or_else(|| {
                        FieldError::invalid(
                            "expiration.after.timeUnit",
                            "expiration.after.timeUnit must be SECONDS, MINUTES, HOURS or DAYS.",
                        )
                    })
                }),
            );
            duration.zip(unit).map(|(duration, time_unit)| ExpirationAfter { duration, time_unit })
        });
        let expression = optional_text(errors, "expiration.expression", self.expression, 1024);
        let field_name = optional_text(errors, "expiration.fieldName", self.field_name, 256);
        kind.map(|kind| Expiration { kind, after, timestamp: self.timestamp, expression, field_name })
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

/// A credential type; lists leave `metadata`, `cardDesignTemplate` (and `deletedAt`) out.
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
    /// Always `false`: credd provides no types of its own.
    system_provided: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<MetadataView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_design_template: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<ExpirationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    multiple: Option<MultipleView>,
    #[serde(rename = "openid4VCI", skip_serializing_if = "Option::is_none")]
    openid4vci: Option<OpenId4VciView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    visualization_template_data: Option<VisualizationView>,
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
    id: Uuid,
    number: i64,
    uri: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialTypeExpiration)]
struct ExpirationView {
    #[serde(rename = "type")]
    #[schema(value_type = openapi::ExpirationType)]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<AfterView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<openapi::Timestamp>)]
    timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialTypeExpirationAfter)]
struct AfterView {
    duration: i64,
    #[schema(value_type = openapi::ExpirationTimeUnit)]
    time_unit: &'static str,
}

#[derive(Serialize, ToSchema)]
#[schema(as = CredentialTypeMultiple)]
struct MultipleView {
    expression: String,
}

#[derive(Serialize, ToSchema)]
#[schema(as = CredentialTypeOpenId4Vci)]
struct OpenId4VciView {
    enabled: bool,
    scope: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialTypeVisualization)]
struct VisualizationView {
    #[serde(skip_serializing_if = "Option::is_none")]
    show_title: Option<bool>,
    display_fields: Vec<DisplayFieldView>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialTypeDisplayField)]
struct DisplayFieldView {
    data_field_name: String,
    show_field_name: bool,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    default: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<openapi::FileSupport>)]
    file_support: Option<&'static str>,
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
                is_visible: f.is_visible.unwrap_or(false),
                value: f.value.clone(),
                attribute: f.attribute.clone(),
                default: f.default.clone(),
                file_support: f.file_support.map(FileSupport::as_str),
            })
            .collect(),
        version: m.version.unwrap_or(version),
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
    let uri = state.credd.credential_type_uri(credential_type.id);
    let path = format!("/v1/environments/{env}/credentialTypes/{}", credential_type.id);
    let mut link_set = links.set([
        ("self", &path),
        ("environment", &links.environment(env)),
        ("credentialIssuerProfile", &format!("/v1/environments/{env}/credentialIssuerProfile")),
        ("version", &format!("{path}/versions/{}", credential_type.version_id)),
    ]);
    // Issuance rules belong to AUTOMATED types, as PingOne links them.
    if credential_type.mode == ManagementMode::Automated {
        link_set.insert("issuanceRules", links.link(&format!("{path}/issuanceRules")));
    }
    let options = &credential_type.options;
    TypeView {
        links: link_set,
        id: credential_type.id,
        created_at: credential_type.created_at,
        updated_at: credential_type.updated_at,
        environment: Ref { id: env },
        issuer: Issuer { id: state.credd.issuer_did(env) },
        management: Management { mode: credential_type.mode.as_str() },
        title: credential_type.title.clone(),
        card_type: credential_type.card_type.clone(),
        version: Version {
            id: credential_type.version_id,
            number: credential_type.version,
            uri: format!("{uri}/v{}", credential_type.version),
        },
        uri,
        on_delete: OnDelete { revoke_issued_credentials: credential_type.revoke_on_delete },
        system_provided: false,
        description: credential_type.description.clone(),
        issuer_name: credential_type.issuer_name.clone(),
        metadata: with_metadata.then(|| metadata_view(credential_type.version, &credential_type.metadata)),
        card_design_template: options.card_design_template.clone().filter(|_| with_metadata),
        expiration: options.expiration.as_ref().map(|e| ExpirationView {
            kind: e.kind.as_str(),
            after: e.after.map(|a| AfterView { duration: a.duration, time_unit: a.time_unit.as_str() }),
            timestamp: e.timestamp.as_ref().map(wire::format_timestamp),
            expression: e.expression.clone(),
            field_name: e.field_name.clone(),
        }),
        multiple: options.multiple.clone().map(|expression| MultipleView { expression }),
        openid4vci: options.openid4vci.as_ref().map(|o| OpenId4VciView { enabled: o.enabled, scope: o.scope.clone() }),
        visualization_template_data: options.visualization.as_ref().map(|v| VisualizationView {
            show_title: v.show_title,
            display_fields: v
                .display_fields
                .iter()
                .map(|d| DisplayFieldView {
                    data_field_name: d.data_field_name.clone(),
                    show_field_name: d.show_field_name,
                })
                .collect(),
        }),
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

/// A version of a credential type: the type as it was (`snapshot`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialTypeVersion)]
struct VersionView {
    #[serde(rename = "_links")]
    links: LinkSet,
    id: Uuid,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    created_at: Timestamp,
    environment: Ref,
    credential_type: Ref,
    /// The version's number.
    version: i64,
    snapshot: TypeView,
}

wire::collection!(CredentialTypeVersions, "versions", VersionView);

fn version_view(state: &AppState, version: &CredentialTypeVersion) -> VersionView {
    let env = version.environment_id;
    let type_path = format!("/v1/environments/{env}/credentialTypes/{}", version.credential_type_id);
    VersionView {
        links: state.links.set([
            ("self", &format!("{type_path}/versions/{}", version.id)),
            ("environment", &state.links.environment(env)),
            ("credentialType", &type_path),
        ]),
        id: version.id,
        created_at: version.created_at,
        environment: Ref { id: env },
        credential_type: Ref { id: version.credential_type_id },
        version: version.number,
        snapshot: type_view(state, &version.snapshot, true),
    }
}

/// List a credential type's versions, oldest first: one for its creation and one for
/// each update that changed it.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/credentialTypes/{type_id}/versions",
    operation_id = "listCredentialTypeVersions", params(ListQuery),
    responses((status = 200, description = "A page of versions.", body = CredentialTypeVersions)))]
async fn list_versions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, type_id)): Path<(Uuid, Uuid)>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<CredentialTypeVersions>> {
    let request = query.page(&uri)?;
    let page = state.credd.credential_type_versions(&caller, environment_id, type_id, request).await?;
    Ok(Json(CredentialTypeVersions::page(&state.links, &uri, page, request, |v| v.id, |v| version_view(&state, &v))))
}

/// Read one version of a credential type.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/credentialTypes/{type_id}/versions/{version_id}",
    operation_id = "readCredentialTypeVersion",
    responses((status = 200, description = "The version.", body = VersionView)))]
async fn read_version(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, type_id, version_id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<Json<VersionView>> {
    let version = state.credd.credential_type_version(&caller, environment_id, type_id, version_id).await?;
    Ok(Json(version_view(&state, &version)))
}
