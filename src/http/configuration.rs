//! Test-suite helpers, credd's own: `POST /v1/environments/{envId}/reset`, and
//! `GET` / `PUT /v1/environments/{envId}/configuration` to export and import the
//! environment's configuration as one JSON document.
//!
//! The document's items are what the API's own reads answer, less what credd makes
//! itself (links, the environment, timestamps, versions, the DID), and an import reads
//! each item with the parser of the route that creates it: the export is readable, and
//! an import accepts exactly what those routes accept.

use axum::extract::State;
use axum::http::StatusCode;
use domain::configuration::{CREDENTIAL_TYPES, Configuration, DEVICE_POLICIES, TEMPLATE_CONTENTS, WALLET_APPLICATIONS};
use domain::notification::TemplateName;
use domain::validation::FieldError;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::credential_types::{ProfileBody, TypeBody, profile_view, type_view};
use super::devices::{PolicyBody, SettingsBody, policy_view, settings_view};
use super::error::ErrorBody;
use super::extract::{Caller, Json, Path};
use super::notifications::{ContentBody, content_view};
use super::wallet_applications::{self, WalletApplicationBody};
use crate::error::{Error, Result};
use crate::service::configuration::ConfigurationImport;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(reset)).routes(routes!(export, import))
}

const PROFILE: &str = "credentialIssuerProfile";
const MFA_SETTINGS: &str = "mfaSettings";

/// An environment's configuration. Each item is what the route that creates it takes
/// (`POST …/credentialTypes`, `POST …/digitalWalletApplications`, `POST
/// …/templates/{templateName}/contents` with `template.name`, `POST
/// …/deviceAuthenticationPolicies`, `PUT …/mfaSettings`, `PUT
/// …/credentialIssuerProfile`), with its `id`. An export also has the fields those
/// routes read back; an import ignores them.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = EnvironmentConfiguration)]
#[expect(dead_code, reason = "described to utoipa, never built: the document renders json!")]
struct Document {
    /// `name`, `siteUrl`. Left out of an import: named after the environment.
    #[schema(value_type = Option<Object>)]
    credential_issuer_profile: (),
    #[schema(value_type = Option<Vec<Object>>)]
    credential_types: (),
    #[schema(value_type = Option<Vec<Object>>)]
    digital_wallet_applications: (),
    /// Each with `template.name`.
    #[schema(value_type = Option<Vec<Object>>)]
    template_contents: (),
    /// Exactly one `default`. Left out of an import: the default policy of a new
    /// environment.
    #[schema(value_type = Option<Vec<Object>>)]
    device_authentication_policies: (),
    /// `pairing.maxAllowedDevices`. Left out of an import: the default.
    #[schema(value_type = Option<Object>)]
    mfa_settings: (),
}

/// The document as an import reads it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DocumentBody {
    credential_issuer_profile: Option<ProfileBody>,
    #[serde(default)]
    credential_types: Vec<Item<TypeBody>>,
    #[serde(default)]
    digital_wallet_applications: Vec<Item<WalletApplicationBody>>,
    #[serde(default)]
    template_contents: Vec<ContentItem>,
    #[serde(default)]
    device_authentication_policies: Vec<Item<PolicyBody>>,
    mfa_settings: Option<SettingsBody>,
}

/// An item and its id; without one (nil) it gets a new id.
#[derive(Deserialize)]
struct Item<Body> {
    #[serde(default)]
    id: Uuid,
    #[serde(flatten)]
    body: Body,
}

#[derive(Deserialize)]
struct ContentItem {
    #[serde(default)]
    id: Uuid,
    template: Option<TemplateBody>,
    #[serde(flatten)]
    body: ContentBody,
}

#[derive(Deserialize)]
struct TemplateBody {
    name: Option<String>,
}

/// Collects every item's errors, each under its place in the document.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn take<T>(&mut self, place: &str, parsed: Result<T, Vec<FieldError>>) -> Option<T> {
        parsed.map_err(|errors| self.0.extend(errors.into_iter().map(|e| e.within(place)))).ok()
    }
}

impl DocumentBody {
    fn parse(self, environment_id: Uuid) -> Result<ConfigurationImport> {
        let mut errors = Errors::default();
        let issuer_profile = self.credential_issuer_profile.and_then(|p| errors.take(PROFILE, p.parse()));
        let credential_types = enumerated(self.credential_types, CREDENTIAL_TYPES)
            .filter_map(|(place, item)| errors.take(&place, item.body.parse()).map(|fields| (item.id, fields)))
            .collect();
        let wallet_applications = enumerated(self.digital_wallet_applications, WALLET_APPLICATIONS)
            .filter_map(|(place, item)| errors.take(&place, item.body.parse()).map(|fields| (item.id, fields)))
            .collect();
        let template_contents = enumerated(self.template_contents, TEMPLATE_CONTENTS)
            .filter_map(|(place, item)| {
                let name = item.template.and_then(|t| t.name);
                let template = name.as_deref().and_then(TemplateName::parse).ok_or_else(|| {
                    vec![FieldError::invalid("template.name", "template.name must be one of credd's templates.")]
                });
                let content =
                    template.and_then(|template| item.body.parse(template).map(|fields| (item.id, template, fields)));
                errors.take(&place, content)
            })
            .collect();
        let device_policies = enumerated(self.device_authentication_policies, DEVICE_POLICIES)
            .filter_map(|(place, item)| errors.take(&place, item.body.parse(environment_id, item.id)))
            .collect();
        let max_allowed_devices =
            self.mfa_settings.and_then(|s| errors.take(MFA_SETTINGS, s.parse().map_err(|e| vec![e])));
        if !errors.0.is_empty() {
            return Err(Error::Invalid(errors.0));
        }
        Ok(ConfigurationImport {
            issuer_profile,
            credential_types,
            wallet_applications,
            template_contents,
            device_policies,
            max_allowed_devices,
        })
    }
}

/// Each item with its place: `credentialTypes[2]`.
fn enumerated<T>(items: Vec<T>, section: &str) -> impl Iterator<Item = (String, T)> {
    items.into_iter().enumerate().map(move |(i, item)| (format!("{section}[{i}]"), item))
}

/// What credd makes itself, left out of every exported item.
const MADE_BY_CREDD: [&str; 4] = ["_links", "environment", "createdAt", "updatedAt"];

/// `view` without `MADE_BY_CREDD` and the `also` fields.
fn exported(mut view: Value, also: &[&str]) -> Value {
    if let Some(fields) = view.as_object_mut() {
        for field in MADE_BY_CREDD.iter().chain(also) {
            fields.remove(*field);
        }
    }
    view
}

fn document(state: &AppState, configuration: Configuration) -> Value {
    let links = &state.links;
    let did = state.credd.issuer_did(configuration.environment_id);
    let credential_types: Vec<Value> = configuration
        .credential_types
        .iter()
        .map(|t| {
            // The issuer, the URIs and the versions follow from the environment and the id.
            let mut item = exported(type_view(state, t, true), &["issuer", "uri", "version"]);
            if let Some(metadata) = item["metadata"].as_object_mut() {
                metadata.remove("version");
            }
            item
        })
        .collect();
    let wallet_applications: Vec<Value> = configuration
        .wallet_applications
        .into_iter()
        .map(|a| exported(json!(wallet_applications::view(links, a)), &[]))
        .collect();
    let template_contents: Vec<Value> =
        configuration.template_contents.into_iter().map(|c| exported(json!(content_view(links, c)), &[])).collect();
    let device_policies: Vec<Value> =
        configuration.device_policies.iter().map(|p| exported(policy_view(links, p), &[])).collect();
    let mut document = json!({
        PROFILE: exported(profile_view(links, did, &configuration.issuer_profile), &["id", "did"]),
        CREDENTIAL_TYPES: credential_types,
        WALLET_APPLICATIONS: wallet_applications,
        TEMPLATE_CONTENTS: template_contents,
        DEVICE_POLICIES: device_policies,
    });
    if let Some(settings) = &configuration.mfa_settings {
        document[MFA_SETTINGS] = exported(settings_view(links, settings), &[]);
    }
    document
}

/// Empty the environment back to how it was created (credd's own, for test suites).
///
/// In one transaction: its users and everything of theirs (wallets, pairing sessions,
/// credentials and their copies in wallets, devices) and its notifications are
/// deleted, and its configuration goes back to a new environment's (no credential
/// types, wallet applications or template contents, the default device policy alone,
/// default MFA settings, the issuer profile named after the environment). Its id,
/// worker applications, token signing keys and issuer key (its DID) stay.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/reset", operation_id = "resetEnvironment",
    tag = "Test-suite helpers", responses((status = 204, description = "Reset.")))]
async fn reset(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
) -> Result<StatusCode> {
    state.credd.reset_environment(&caller, environment_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Export the environment's configuration (credd's own, for test suites).
#[utoipa::path(get, path = "/v1/environments/{environment_id}/configuration", operation_id = "exportConfiguration",
    tag = "Test-suite helpers",
    responses((status = 200, description = "The configuration.", body = Document)))]
async fn export(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
) -> Result<Json<Value>> {
    let configuration = state.credd.configuration(&caller, environment_id).await?;
    Ok(Json(document(&state, configuration)))
}

/// Replace the environment's configuration (credd's own, for test suites).
///
/// Every part is checked before anything is written, and the replacement is one
/// transaction. Items keep their `id`s (left out: a new one). The environment must have
/// no users: reset it first.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/configuration", operation_id = "importConfiguration",
    tag = "Test-suite helpers", request_body = Document,
    responses(
        (status = 200, description = "The configuration now.", body = Document),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: an `id` belongs to a record of another environment.",
            body = ErrorBody),
    ))]
async fn import(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<DocumentBody>,
) -> Result<Json<Value>> {
    let import = body.parse(environment_id)?;
    let configuration = state.credd.import_configuration(&caller, environment_id, import).await?;
    Ok(Json(document(&state, configuration)))
}
