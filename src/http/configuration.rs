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
use domain::configuration::{
    APPLICATIONS, CREDENTIAL_TYPES, Configuration, DEVICE_POLICIES, GROUP_NESTINGS, GROUPS, POPULATIONS,
    TEMPLATE_CONTENTS, WALLET_APPLICATIONS,
};
use domain::group::Nesting;
use domain::notification::TemplateName;
use domain::validation::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::applications::{self, ApplicationBody, ApplicationView};
use super::credential_types::{TypeBody, TypeView, type_view};
use super::error::ErrorBody;
use super::extract::{Caller, Json, Path};
use super::groups::{self, GroupBody, GroupView};
use super::issuer::{ProfileBody, ProfileView, profile_view};
use super::mfa::{DevicePolicyView, MfaSettingsView, PolicyBody, SettingsBody, policy_view, settings_view};
use super::notifications::{ContentBody, TemplateContentView, content_view};
use super::populations::{PopulationBody, PopulationView, population_view};
use super::wallet_applications::{self, WalletApplicationBody, WalletApplicationView};
use super::wire::Ref;
use crate::error::{Error, Result};
use crate::service::configuration::{ConfigurationImport, GroupsImport};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(reset)).routes(routes!(export, import))
}

const PROFILE: &str = "credentialIssuerProfile";
const MFA_SETTINGS: &str = "mfaSettings";

/// An environment's configuration, as an export answers it: each item is what its read
/// answers, less what credd makes itself. Each item of an import is what the route that
/// creates it takes (`POST …/credentialTypes`, `POST …/digitalWalletApplications`, `POST
/// …/templates/{templateName}/contents` with `template.name`, `POST
/// …/deviceAuthenticationPolicies`, `PUT …/mfaSettings`, `PUT
/// …/credentialIssuerProfile`), with its `id`; an import ignores the fields only reads
/// have, so an export imports as it is.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = EnvironmentConfiguration)]
struct ConfigurationView {
    /// `name`, `siteUrl`. Left out of an import: named after the environment.
    credential_issuer_profile: ProfileExport,
    credential_types: Vec<CredentialTypeExport>,
    /// The native applications (`NATIVE_APP`), which the wallet applications name;
    /// never their secrets. Worker applications are not configuration: an import keeps
    /// them as they are.
    applications: Vec<ApplicationExport>,
    digital_wallet_applications: Vec<WalletApplicationExport>,
    /// Each with `template.name`.
    template_contents: Vec<TemplateContentExport>,
    /// Exactly one `default`. Left out of an import: the default policy of a new
    /// environment.
    device_authentication_policies: Vec<DevicePolicyExport>,
    /// `pairing.maxAllowedDevices`. Left out of an import: the default.
    #[serde(skip_serializing_if = "Option::is_none")]
    mfa_settings: Option<MfaSettingsExport>,
    /// Exactly one `default`: it gives the environment's default population its
    /// settings (that population keeps its own id); the others replace the
    /// environment's other populations. Left out of an import: the populations stay as
    /// they are.
    populations: Vec<PopulationExport>,
    /// Left out of an import: the environment's groups stay (with `groupNestings`).
    groups: Vec<GroupExport>,
    /// Which group is nested in which, by the groups' ids.
    group_nestings: Vec<NestingItem>,
}

/// `group` is nested in `memberOfGroup`.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GroupNestingItem)]
struct NestingItem {
    group: Ref,
    member_of_group: Ref,
}

/// The document as an import reads it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DocumentBody {
    credential_issuer_profile: Option<ProfileBody>,
    #[serde(default)]
    credential_types: Vec<Item<TypeBody>>,
    #[serde(default)]
    applications: Vec<Item<ApplicationBody>>,
    #[serde(default)]
    digital_wallet_applications: Vec<Item<WalletApplicationBody>>,
    #[serde(default)]
    template_contents: Vec<ContentItem>,
    #[serde(default)]
    device_authentication_policies: Vec<Item<PolicyBody>>,
    mfa_settings: Option<SettingsBody>,
    populations: Option<Vec<Item<PopulationBody>>>,
    groups: Option<Vec<Item<GroupBody>>>,
    group_nestings: Option<Vec<NestingItem>>,
}

/// An item and its id; without one it gets a new id.
#[derive(Deserialize)]
struct Item<Body> {
    id: Option<Uuid>,
    #[serde(flatten)]
    body: Body,
}

#[derive(Deserialize)]
struct ContentItem {
    id: Option<Uuid>,
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
    fn parse(self) -> Result<ConfigurationImport> {
        let mut errors = Errors::default();
        let issuer_profile = self.credential_issuer_profile.and_then(|p| errors.take(PROFILE, p.parse()));
        let credential_types = enumerated(self.credential_types, CREDENTIAL_TYPES)
            .filter_map(|(place, item)| errors.take(&place, item.body.parse()).map(|fields| (item.id, fields)))
            .collect();
        let applications = enumerated(self.applications, APPLICATIONS)
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
            .filter_map(|(place, item)| errors.take(&place, item.body.parse()).map(|fields| (item.id, fields)))
            .collect();
        let mfa_settings = self.mfa_settings.and_then(|s| errors.take(MFA_SETTINGS, s.parse()));
        let populations = self.populations.map(|items| {
            enumerated(items, POPULATIONS)
                .filter_map(|(place, item)| errors.take(&place, item.body.parse()).map(|fields| (item.id, fields)))
                .collect()
        });
        let nestings: Vec<Nesting> = self
            .group_nestings
            .into_iter()
            .flatten()
            .map(|n| Nesting { inner: n.group.id, outer: n.member_of_group.id })
            .collect();
        let groups = match self.groups {
            Some(groups) => Some(GroupsImport {
                groups: enumerated(groups, GROUPS)
                    .filter_map(|(place, item)| errors.take(&place, item.body.fields()).map(|fields| (item.id, fields)))
                    .collect(),
                nestings,
            }),
            None if nestings.is_empty() => None,
            None => {
                errors.0.push(FieldError::invalid(GROUP_NESTINGS, "groupNestings come with the groups they nest."));
                None
            }
        };
        if !errors.0.is_empty() {
            return Err(Error::Invalid(errors.0));
        }
        Ok(ConfigurationImport {
            issuer_profile,
            credential_types,
            applications,
            wallet_applications,
            template_contents,
            device_policies,
            mfa_settings,
            populations,
            groups,
        })
    }
}

/// Each item with its place: `credentialTypes[2]`.
fn enumerated<T>(items: Vec<T>, section: &str) -> impl Iterator<Item = (String, T)> {
    items.into_iter().enumerate().map(move |(i, item)| (format!("{section}[{i}]"), item))
}

/// Export items: `exported!(ProfileExport(ProfileView) without ["id"])` declares an item
/// that is serialised as the view a read answers, less [`MADE_BY_CREDD`] and the paths
/// named, and documented as exactly that, so the two cannot drift.
macro_rules! exported {
    ($($export:ident($view:ty) without [$($path:literal),*];)*) => {$(
        struct $export($view);

        impl $export {
            const LEFT_OUT: &[&str] = &[$($path),*];
        }

        impl Serialize for $export {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serialize_without(&self.0, Self::LEFT_OUT, serializer)
            }
        }

        impl PartialSchema for $export {
            fn schema() -> RefOr<Schema> {
                schema_without::<$view>(Self::LEFT_OUT)
            }
        }

        impl ToSchema for $export {
            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                <$view as ToSchema>::schemas(schemas);
            }
        }
    )*};
}

exported! {
    ProfileExport(ProfileView) without ["id", "applicationInstance", "did.method", "did.value", "did.web.host"];
    // The issuer, the URIs and the versions follow from the environment and the id;
    // `metadata.version` is the client's, and goes with the type.
    CredentialTypeExport(TypeView) without ["issuer", "uri", "version", "systemProvided"];
    // Never a secret: an imported application that needs one gets a new one.
    ApplicationExport(ApplicationView) without ["secret"];
    WalletApplicationExport(WalletApplicationView) without [];
    TemplateContentExport(TemplateContentView) without [];
    DevicePolicyExport(DevicePolicyView) without [];
    MfaSettingsExport(MfaSettingsView) without [];
    // Counted from the users, who are not configuration.
    PopulationExport(PopulationView) without ["userCount"];
    // The counts are who is in the group, which is not configuration.
    GroupExport(GroupView) without ["displayName", "directMemberCounts", "totalMemberCounts"];
}

/// What credd makes itself, left out of every exported item.
const MADE_BY_CREDD: [&str; 4] = ["_links", "environment", "createdAt", "updatedAt"];

/// Each path left out of an item: [`MADE_BY_CREDD`] and `also`, split at the dots.
fn left_out<'a>(also: &'a [&'a str]) -> impl Iterator<Item = Vec<&'a str>> {
    MADE_BY_CREDD.iter().chain(also).map(|path| path.split('.').collect())
}

fn serialize_without<V: Serialize, S: serde::Serializer>(
    view: &V,
    also: &[&str],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut value = serde_json::to_value(view).map_err(serde::ser::Error::custom)?;
    for path in left_out(also) {
        remove_path(&mut value, &path);
    }
    value.serialize(serializer)
}

fn remove_path(value: &mut Value, path: &[&str]) {
    match path {
        [] => {}
        [last] => {
            if let Some(fields) = value.as_object_mut() {
                fields.remove(*last);
            }
        }
        [first, rest @ ..] => {
            if let Some(inner) = value.get_mut(*first) {
                remove_path(inner, rest);
            }
        }
    }
}

/// `V`'s schema without the paths left out.
fn schema_without<V: ToSchema>(also: &[&str]) -> RefOr<Schema> {
    let mut named = Vec::new();
    V::schemas(&mut named);
    let mut schema = V::schema();
    for path in left_out(also) {
        remove_property(&mut schema, &path, &named);
    }
    schema
}

/// Takes `path` out of an object schema's properties and required list. On the way,
/// a property that refers to a named schema (or may be null or refer to one) gets that
/// schema inline, less the rest of the path.
fn remove_property(schema: &mut RefOr<Schema>, path: &[&str], named: &[(String, RefOr<Schema>)]) {
    if let RefOr::Ref(reference) = schema {
        let name = reference.ref_location.rsplit('/').next().unwrap_or_default();
        if let Some((_, referred)) = named.iter().find(|(n, _)| n == name) {
            *schema = referred.clone();
        }
    }
    match (schema, path) {
        (_, []) => {}
        (RefOr::T(Schema::OneOf(alternatives)), _) => {
            for alternative in &mut alternatives.items {
                remove_property(alternative, path, named);
            }
        }
        // A view with flattened parts: each part may hold the property.
        (RefOr::T(Schema::AllOf(parts)), _) => {
            for part in &mut parts.items {
                remove_property(part, path, named);
            }
        }
        (RefOr::T(Schema::Object(object)), [last]) => {
            object.properties.shift_remove(*last);
            object.required.retain(|r| r != last);
        }
        (RefOr::T(Schema::Object(object)), [first, rest @ ..]) => {
            if let Some(inner) = object.properties.get_mut(*first) {
                remove_property(inner, rest, named);
            }
        }
        _ => {}
    }
}

fn configuration_view(state: &AppState, configuration: Configuration) -> ConfigurationView {
    let links = &state.links;
    let did = state.credd.issuer_did(configuration.environment_id);
    let group_configuration = configuration.groups.unwrap_or_default();
    ConfigurationView {
        credential_issuer_profile: ProfileExport(profile_view(links, did, &configuration.issuer_profile)),
        credential_types: configuration
            .credential_types
            .iter()
            .map(|t| CredentialTypeExport(type_view(state, t, true)))
            .collect(),
        applications: configuration
            .applications
            .into_iter()
            .map(|a| ApplicationExport(applications::view(links, a, None)))
            .collect(),
        digital_wallet_applications: configuration
            .wallet_applications
            .into_iter()
            .map(|a| WalletApplicationExport(wallet_applications::view(links, a)))
            .collect(),
        template_contents: configuration
            .template_contents
            .into_iter()
            .map(|c| TemplateContentExport(content_view(links, c)))
            .collect(),
        device_authentication_policies: configuration
            .device_policies
            .iter()
            .map(|p| DevicePolicyExport(policy_view(links, p)))
            .collect(),
        mfa_settings: configuration.mfa_settings.as_ref().map(|m| MfaSettingsExport(settings_view(links, m))),
        populations: configuration
            .populations
            .unwrap_or_default()
            .into_iter()
            .map(|p| PopulationExport(population_view(links, p)))
            .collect(),
        groups: group_configuration.groups.into_iter().map(|g| GroupExport(groups::view(links, g))).collect(),
        group_nestings: group_configuration
            .nestings
            .into_iter()
            .map(|n| NestingItem { group: Ref { id: n.inner }, member_of_group: Ref { id: n.outer } })
            .collect(),
    }
}

/// Empty the environment back to how it was created (credd's own, for test suites).
///
/// In one transaction: its users and everything of theirs (wallets, pairing sessions,
/// credentials and their copies in wallets, devices) and its notifications are
/// deleted, and its configuration goes back to a new environment's (no credential
/// types, native or wallet applications or template contents, the default device
/// policy alone, default MFA settings, the issuer profile named after the environment).
/// Its id, worker applications, token signing keys, issuer key (its DID) and
/// populations stay.
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
    responses((status = 200, description = "The configuration.", body = ConfigurationView)))]
async fn export(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
) -> Result<Json<ConfigurationView>> {
    let configuration = state.credd.configuration(&caller, environment_id).await?;
    Ok(Json(configuration_view(&state, configuration)))
}

/// Replace the environment's configuration (credd's own, for test suites).
///
/// Every part is checked before anything is written, and the replacement is one
/// transaction. Items keep their `id`s (left out: a new one). The environment must have
/// no users: reset it first.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/configuration", operation_id = "importConfiguration",
    tag = "Test-suite helpers", request_body = ConfigurationView,
    responses(
        (status = 200, description = "The configuration now.", body = ConfigurationView),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: an `id` belongs to a record of another environment.",
            body = ErrorBody),
    ))]
async fn import(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<DocumentBody>,
) -> Result<Json<ConfigurationView>> {
    let import = body.parse()?;
    let configuration = state.credd.import_configuration(&caller, environment_id, import).await?;
    Ok(Json(configuration_view(&state, configuration)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The properties of `schema`, and of its `metadata` (inline, or the named schema
    /// it refers to, either of them possibly null).
    fn properties(schema: RefOr<Schema>, named: &[(String, RefOr<Schema>)]) -> (Vec<String>, Vec<String>) {
        let schema = serde_json::to_value(schema).unwrap();
        let keys = |v: &Value| v["properties"].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
        let metadata = &schema["properties"]["metadata"];
        let metadata =
            metadata["oneOf"].as_array().and_then(|o| o.iter().find(|s| s["type"] != "null")).unwrap_or(metadata);
        let metadata = match metadata["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
            Some(name) => serde_json::to_value(&named.iter().find(|(n, _)| n == name).unwrap().1).unwrap(),
            None => metadata.clone(),
        };
        (keys(&schema), keys(&metadata))
    }

    #[test]
    fn an_exported_application_is_documented_without_what_credd_makes() {
        // The view flattens the native settings in (an `allOf`): each part loses its share.
        let schema = serde_json::to_value(ApplicationExport::schema()).unwrap().to_string();
        for field in MADE_BY_CREDD.iter().chain(&["secret"]) {
            assert!(!schema.contains(&format!("\"{field}\"")), "the export leaves out {field}: {schema}");
        }
        let read = serde_json::to_value(ApplicationView::schema()).unwrap().to_string();
        assert!(read.contains("\"createdAt\"") && read.contains("\"tokenEndpointAuthMethod\""), "{read}");
        assert!(schema.contains("\"tokenEndpointAuthMethod\""), "{schema}");
    }

    #[test]
    fn an_exported_item_is_documented_without_what_credd_makes() {
        let mut named = Vec::new();
        TypeView::schemas(&mut named);
        let (view, view_metadata) = properties(TypeView::schema(), &named);
        let (export, export_metadata) = properties(CredentialTypeExport::schema(), &named);
        for field in ["_links", "environment", "createdAt", "updatedAt", "issuer", "uri", "version", "systemProvided"] {
            assert!(view.iter().any(|p| p == field), "the read documents {field}");
            assert!(!export.iter().any(|p| p == field), "the export leaves out {field}");
        }
        // `metadata.version` is the client's (behind a nullable `$ref`), so it goes with the type.
        for field in ["version", "fields"] {
            assert!(view_metadata.iter().any(|p| p == field), "the read documents metadata.{field}");
            assert!(export_metadata.iter().any(|p| p == field), "the export keeps metadata.{field}");
        }
    }
}
