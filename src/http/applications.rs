//! `/v1/environments/{envId}/applications`: worker applications, native (mobile)
//! applications, and their secrets. A secret is shown when the application is created,
//! when it is rotated (`POST …/secret`) and by `GET …/secret`; a native app with
//! `tokenEndpointAuthMethod` `NONE` has none.

mod native;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use domain::application::{
    Application, ApplicationFields, ApplicationName, ApplicationType, NativeFields, TokenEndpointAuthMethod,
};
use domain::validation::{Collector, FieldError, bounded_text};
use native::{
    CorsSettings, GrantType, Mobile, NativeKept, ParRequirement, PkceEnforcement, RefreshTokenType, ResponseType,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::extract::{Caller, Json, Path, Query};
use super::openapi;
use super::wire::{self, Links, ListQuery, Ref};
use crate::error::Result;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, replace, delete))
        .routes(routes!(read_secret, rotate_secret))
}

const OPENID_CONNECT: &str = "OPENID_CONNECT";

/// An application as PingOne takes it. A `WORKER` takes `name`, `description`,
/// `enabled`, `tokenEndpointAuthMethod` and `grantTypes` (`CLIENT_CREDENTIALS`); a
/// `NATIVE_APP` also its OpenID Connect settings and `mobile`, kept and answered as sent.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ApplicationRequest)]
pub(super) struct ApplicationBody {
    #[schema(required = true, nullable = false, value_type = Option<openapi::Text>)]
    name: Option<String>,
    #[schema(value_type = Option<openapi::Text>)]
    description: Option<String>,
    /// `WORKER` or `NATIVE_APP`; cannot change.
    #[serde(rename = "type")]
    #[schema(required = true, nullable = false, value_type = Option<openapi::ApplicationType>)]
    kind: Option<String>,
    /// The only protocol.
    #[schema(pattern = "^OPENID_CONNECT$")]
    protocol: Option<String>,
    /// `true` when left out.
    enabled: Option<bool>,
    /// Left out: `CLIENT_SECRET_BASIC` for a worker, `NONE` for a native app (PingOne's
    /// defaults). Only a native app may be `NONE`, and then has no secret.
    #[schema(value_type = Option<openapi::TokenEndpointAuthMethod>)]
    token_endpoint_auth_method: Option<String>,
    /// A worker: `["CLIENT_CREDENTIALS"]`. A native app: required.
    grant_types: Option<Vec<GrantType>>,
    response_types: Option<Vec<ResponseType>>,
    redirect_uris: Option<Vec<String>>,
    allow_wildcard_in_redirect_uris: Option<bool>,
    post_logout_redirect_uris: Option<Vec<String>>,
    pkce_enforcement: Option<PkceEnforcement>,
    home_page_url: Option<String>,
    login_page_url: Option<String>,
    initiate_login_uri: Option<String>,
    target_link_uri: Option<String>,
    refresh_token_duration: Option<i64>,
    refresh_token_rolling_duration: Option<i64>,
    refresh_token_rolling_grace_period_duration: Option<i64>,
    additional_refresh_token_replay_protection_enabled: Option<bool>,
    refresh_token_type: Option<RefreshTokenType>,
    par_requirement: Option<ParRequirement>,
    par_timeout: Option<i64>,
    require_signed_request_object: Option<bool>,
    support_unsigned_request_object: Option<bool>,
    #[serde(rename = "includeX5t")]
    include_x5t: Option<bool>,
    idp_signoff: Option<bool>,
    op_session_check_enabled: Option<bool>,
    request_scopes_for_multiple_resources_enabled: Option<bool>,
    hidden_from_app_portal: Option<bool>,
    cors_settings: Option<CorsSettings>,
    device_timeout: Option<i64>,
    device_polling_interval: Option<i64>,
    device_path_id: Option<String>,
    device_custom_verification_uri: Option<String>,
    mobile: Option<Mobile>,
    /// PingOne's older spelling of `mobile.bundleId` (which wins when both are given).
    #[schema(value_type = Option<openapi::Text>)]
    bundle_id: Option<String>,
    /// PingOne's older spelling of `mobile.packageName` (which wins when both are given).
    #[schema(value_type = Option<openapi::Text>)]
    package_name: Option<String>,
    /// What PingOne documents and credd does not keep: refused, never ignored.
    #[serde(flatten)]
    #[schema(ignore)]
    others: serde_json::Map<String, Value>,
}

/// Fields PingOne documents for applications that credd does not support (keys, roles,
/// icons, templates, imported credentials): a 400 naming each.
const UNSUPPORTED: &[&str] = &[
    "accessControl",
    "clientId",
    "clientSecret",
    "icon",
    "jwks",
    "jwksUrl",
    "kerberos",
    "signing",
    "tags",
    "template",
];

impl ApplicationBody {
    pub(super) fn parse(self) -> Result<ApplicationFields, Vec<FieldError>> {
        let mut errors = Collector::default();
        let name = errors
            .take(self.name.as_deref().ok_or_else(|| FieldError::required("name")).and_then(ApplicationName::parse));
        let description = self.description.as_deref().and_then(|d| errors.take(bounded_text("description", d, 1024)));
        let kind = match self.kind.as_deref() {
            None => {
                errors.push(FieldError::required("type"));
                None
            }
            Some(kind) => errors.take(ApplicationType::parse(kind).ok_or_else(|| {
                FieldError::invalid("type", "credd supports applications of type WORKER and NATIVE_APP.")
            })),
        };
        if self.protocol.as_deref().is_some_and(|p| p != OPENID_CONNECT) {
            errors.push(FieldError::invalid("protocol", "protocol must be OPENID_CONNECT."));
        }
        for field in UNSUPPORTED.iter().filter(|f| self.others.get(**f).is_some_and(|v| !v.is_null())) {
            errors.push(FieldError::invalid(field, format!("credd does not support {field}.")));
        }
        let method = self.method(kind, &mut errors);
        let enabled = self.enabled.unwrap_or(true);
        let native = self.into_native(kind, method, &mut errors);
        let fields = name.zip(method).zip(kind).map(|((name, token_endpoint_auth_method), _)| ApplicationFields {
            name,
            description,
            enabled,
            token_endpoint_auth_method,
            native,
        });
        errors.finish_with(fields)
    }

    /// `tokenEndpointAuthMethod`, or PingOne's default for the type.
    fn method(&self, kind: Option<ApplicationType>, errors: &mut Collector) -> Option<TokenEndpointAuthMethod> {
        let native = kind == Some(ApplicationType::NativeApp);
        let Some(method) = self.token_endpoint_auth_method.as_deref() else {
            return Some(if native {
                TokenEndpointAuthMethod::None
            } else {
                TokenEndpointAuthMethod::ClientSecretBasic
            });
        };
        let parsed = TokenEndpointAuthMethod::parse(method).filter(|m| *m != TokenEndpointAuthMethod::None || native);
        errors.take(parsed.ok_or_else(|| {
            let allowed = if native {
                "NONE, CLIENT_SECRET_BASIC or CLIENT_SECRET_POST"
            } else {
                "CLIENT_SECRET_BASIC or CLIENT_SECRET_POST (NONE is for NATIVE_APP applications)"
            };
            FieldError::invalid("tokenEndpointAuthMethod", format!("tokenEndpointAuthMethod must be {allowed}."))
        }))
    }

    /// A native app's settings, checked; on a worker, each one sent is refused rather
    /// than dropped (a worker's `grantTypes` are `[CLIENT_CREDENTIALS]`).
    fn into_native(
        self,
        kind: Option<ApplicationType>,
        method: Option<TokenEndpointAuthMethod>,
        errors: &mut Collector,
    ) -> Option<NativeFields> {
        let top_level = [("bundleId", self.bundle_id.clone()), ("packageName", self.package_name.clone())];
        let mut kept = self.into_kept();
        match kind? {
            ApplicationType::Worker => {
                if kept.grant_types.take().is_some_and(|g| g != [GrantType::ClientCredentials]) {
                    let message = "A worker application's grantTypes are [CLIENT_CREDENTIALS].";
                    errors.push(FieldError::invalid("grantTypes", message));
                }
                let sent = serde_json::to_value(&kept).unwrap_or_default();
                let top_level = top_level.iter().filter(|(_, value)| value.is_some()).map(|(field, _)| *field);
                for field in sent.as_object().into_iter().flat_map(|o| o.keys().map(String::as_str)).chain(top_level) {
                    errors
                        .push(FieldError::invalid(field, format!("credd keeps {field} for NATIVE_APP applications.")));
                }
                None
            }
            ApplicationType::NativeApp => {
                let [(_, bundle_id), (_, package_name)] = top_level;
                if bundle_id.is_some() || package_name.is_some() {
                    kept.mobile.get_or_insert_default().fill_in(bundle_id, package_name);
                }
                kept.check(errors, method == Some(TokenEndpointAuthMethod::None));
                let mobile = kept.identifiers(errors);
                Some(NativeFields { mobile, settings: kept.to_settings(), google_play_keys: kept.google_play_keys() })
            }
        }
    }

    /// The native settings the body holds.
    fn into_kept(self) -> NativeKept {
        NativeKept {
            grant_types: self.grant_types,
            response_types: self.response_types,
            redirect_uris: self.redirect_uris,
            allow_wildcard_in_redirect_uris: self.allow_wildcard_in_redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            pkce_enforcement: self.pkce_enforcement,
            home_page_url: self.home_page_url,
            login_page_url: self.login_page_url,
            initiate_login_uri: self.initiate_login_uri,
            target_link_uri: self.target_link_uri,
            refresh_token_duration: self.refresh_token_duration,
            refresh_token_rolling_duration: self.refresh_token_rolling_duration,
            refresh_token_rolling_grace_period_duration: self.refresh_token_rolling_grace_period_duration,
            additional_refresh_token_replay_protection_enabled: self.additional_refresh_token_replay_protection_enabled,
            refresh_token_type: self.refresh_token_type,
            par_requirement: self.par_requirement,
            par_timeout: self.par_timeout,
            require_signed_request_object: self.require_signed_request_object,
            support_unsigned_request_object: self.support_unsigned_request_object,
            include_x5t: self.include_x5t,
            idp_signoff: self.idp_signoff,
            op_session_check_enabled: self.op_session_check_enabled,
            request_scopes_for_multiple_resources_enabled: self.request_scopes_for_multiple_resources_enabled,
            hidden_from_app_portal: self.hidden_from_app_portal,
            cors_settings: self.cors_settings,
            device_timeout: self.device_timeout,
            device_polling_interval: self.device_polling_interval,
            device_path_id: self.device_path_id,
            device_custom_verification_uri: self.device_custom_verification_uri,
            mobile: self.mobile,
        }
    }
}

/// An application. A native app also has the OpenID Connect settings and `mobile` it
/// was given (Google Play keys are never answered).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Application)]
pub(super) struct ApplicationView {
    #[serde(rename = "_links")]
    links: wire::LinkSet,
    id: Uuid,
    environment: Ref,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = openapi::ApplicationType)]
    kind: &'static str,
    protocol: &'static str,
    enabled: bool,
    #[schema(value_type = openapi::TokenEndpointAuthMethod)]
    token_endpoint_auth_method: &'static str,
    /// `grantTypes` (a worker's: `["CLIENT_CREDENTIALS"]`), and a native app's other settings.
    #[serde(flatten)]
    settings: NativeKept,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    created_at: domain::time::Timestamp,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    updated_at: domain::time::Timestamp,
    /// Only in the response that created the application (none for `NONE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

wire::collection!(Applications, "applications", ApplicationView);

/// The client secret (`GET` and `POST …/secret`).
#[derive(Serialize, ToSchema)]
#[schema(as = ApplicationSecret)]
struct SecretView {
    #[serde(rename = "_links")]
    links: wire::LinkSet,
    environment: Ref,
    secret: String,
}

fn path(environment_id: Uuid, id: Uuid) -> String {
    format!("/v1/environments/{environment_id}/applications/{id}")
}

pub(super) fn view(links: &Links, application: Application, secret: Option<String>) -> ApplicationView {
    let path = path(application.environment_id, application.id);
    let mut link_set = links.set([("self", &path), ("environment", &links.environment(application.environment_id))]);
    if application.secret.is_some() {
        link_set.insert("secret", links.link(&format!("{path}/secret")));
    }
    let settings = match &application.native {
        Some(native) => NativeKept::from_settings(&native.settings, &native.mobile),
        None => NativeKept { grant_types: Some(vec![GrantType::ClientCredentials]), ..NativeKept::default() },
    };
    ApplicationView {
        links: link_set,
        id: application.id,
        environment: Ref { id: application.environment_id },
        kind: application.kind().as_str(),
        name: application.name,
        description: application.description,
        protocol: OPENID_CONNECT,
        enabled: application.enabled,
        token_endpoint_auth_method: application.token_endpoint_auth_method.as_str(),
        settings,
        created_at: application.created_at,
        updated_at: application.updated_at,
        secret,
    }
}

/// Create a worker or native application; the response holds its client secret (a
/// `NONE` native app has none).
#[utoipa::path(post, path = "/v1/environments/{environment_id}/applications", operation_id = "createApplication",
    request_body = ApplicationBody,
    responses((status = 201, description = "The new application, with `secret`.", body = ApplicationView),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: a mobile identifier another application of the \
            environment has.", body = super::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<ApplicationBody>,
) -> Result<(StatusCode, Json<ApplicationView>)> {
    let created = state.credd.create_application(&caller, environment_id, body.parse()?).await?;
    Ok((StatusCode::CREATED, Json(view(&state.links, created.application, created.secret))))
}

/// List the environment's applications.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/applications", operation_id = "listApplications",
    params(ListQuery, ("filter" = Option<String>, Query,
        description = "SCIM (credd's addition): `id` eq, `name` eq or sw, `type` eq; joined by `and`, `or`, \
            parentheses.")),
    responses((status = 200, description = "A page of applications.", body = Applications)))]
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<Applications>> {
    let (request, filter) = query.filtered_page::<Application>(&uri)?;
    let page = state.credd.applications(&caller, environment_id, filter.as_ref(), request).await?;
    Ok(Json(Applications::page(&state.links, &uri, page, request, |a| a.id, |a| view(&state.links, a, None))))
}

/// Read an application (without its secret).
#[utoipa::path(get, path = "/v1/environments/{environment_id}/applications/{application_id}",
    operation_id = "readApplication",
    responses((status = 200, description = "The application.", body = ApplicationView)))]
async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<Json<ApplicationView>> {
    let application = state.credd.application(&caller, environment_id, id).await?;
    Ok(Json(view(&state.links, application, None)))
}

/// Replace an application's settings. `type` and a mobile identifier once set cannot
/// change; a native app that leaves `NONE` gets a secret (read it with `GET …/secret`).
#[utoipa::path(put, path = "/v1/environments/{environment_id}/applications/{application_id}",
    operation_id = "replaceApplication", request_body = ApplicationBody,
    responses((status = 200, description = "The application.", body = ApplicationView),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: a mobile identifier another application of the \
            environment has.", body = super::error::ErrorBody)))]
async fn replace(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<ApplicationBody>,
) -> Result<Json<ApplicationView>> {
    let application = state.credd.replace_application(&caller, environment_id, id, body.parse()?).await?;
    Ok(Json(view(&state.links, application, None)))
}

/// Delete an application; its tokens stop working at once. Deleting a native app
/// deletes the digital wallet applications that name it (their wallets become
/// `DISABLED`), as PingOne does.
#[utoipa::path(delete, path = "/v1/environments/{environment_id}/applications/{application_id}",
    operation_id = "deleteApplication", responses((status = 204, description = "Deleted.")))]
async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode> {
    state.credd.delete_application(&caller, environment_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn secret_view(links: &Links, environment_id: Uuid, id: Uuid, secret: String) -> SecretView {
    SecretView {
        links: links.set([("application", &path(environment_id, id))]),
        environment: Ref { id: environment_id },
        secret,
    }
}

/// Read the client secret. A `NONE` application has none (400), and so does one whose
/// secret predates credd's keeping secrets readable until it is rotated (400).
#[utoipa::path(get, path = "/v1/environments/{environment_id}/applications/{application_id}/secret",
    operation_id = "readApplicationSecret",
    responses((status = 200, description = "The secret.", body = SecretView)))]
async fn read_secret(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<Json<SecretView>> {
    let secret = state.credd.application_secret(&caller, environment_id, id).await?;
    Ok(Json(secret_view(&state.links, environment_id, id, secret)))
}

/// Replace the client secret; the old one stops working at once.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/applications/{application_id}/secret",
    operation_id = "rotateApplicationSecret",
    responses((status = 200, description = "The new secret.", body = SecretView)))]
async fn rotate_secret(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<Json<SecretView>> {
    let secret = state.credd.rotate_application_secret(&caller, environment_id, id).await?;
    Ok(Json(secret_view(&state.links, environment_id, id, secret)))
}
