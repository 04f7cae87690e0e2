//! `/v1/environments/{envId}/applications`: worker applications and their secrets.
//! The client secret is shown when the application is created and when it is
//! rotated (`POST …/secret`), and never again: credd keeps only a keyed hash.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use domain::application::{Application, ApplicationFields, ApplicationName, TokenEndpointAuthMethod};
use domain::validation::{Collector, FieldError, bounded_text};
use serde::{Deserialize, Serialize};
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
        .routes(routes!(rotate_secret))
}

const WORKER: &str = "WORKER";
const OPENID_CONNECT: &str = "OPENID_CONNECT";
const CLIENT_CREDENTIALS: &str = "CLIENT_CREDENTIALS";

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ApplicationRequest)]
struct ApplicationBody {
    #[schema(required = true, nullable = false, value_type = Option<openapi::Text>)]
    name: Option<String>,
    #[schema(value_type = Option<openapi::Text>)]
    description: Option<String>,
    /// credd's applications are workers.
    #[serde(rename = "type")]
    #[schema(required = true, nullable = false, pattern = "^WORKER$")]
    kind: Option<String>,
    /// The only protocol.
    #[schema(pattern = "^OPENID_CONNECT$")]
    protocol: Option<String>,
    /// `true` when left out.
    enabled: Option<bool>,
    /// `CLIENT_SECRET_BASIC` when left out.
    #[schema(value_type = Option<openapi::TokenEndpointAuthMethod>)]
    token_endpoint_auth_method: Option<String>,
    /// `["CLIENT_CREDENTIALS"]`, the only grant.
    grant_types: Option<Vec<String>>,
}

impl ApplicationBody {
    fn fields(&self) -> Result<ApplicationFields, Vec<FieldError>> {
        let mut errors = Collector::default();
        let name = errors
            .take(self.name.as_deref().ok_or_else(|| FieldError::required("name")).and_then(ApplicationName::parse));
        let description = self.description.as_deref().and_then(|d| errors.take(bounded_text("description", d, 1024)));
        match self.kind.as_deref() {
            Some(WORKER) => {}
            None => errors.push(FieldError::required("type")),
            Some(_) => errors.push(FieldError::invalid("type", "credd supports applications of type WORKER.")),
        }
        if self.protocol.as_deref().is_some_and(|p| p != OPENID_CONNECT) {
            errors.push(FieldError::invalid("protocol", "protocol must be OPENID_CONNECT."));
        }
        if self.grant_types.as_ref().is_some_and(|g| g.iter().any(|t| t != CLIENT_CREDENTIALS)) {
            errors
                .push(FieldError::invalid("grantTypes", "A worker application's grantTypes are [CLIENT_CREDENTIALS]."));
        }
        let method = match self.token_endpoint_auth_method.as_deref() {
            None => Some(TokenEndpointAuthMethod::ClientSecretBasic),
            Some(m) => errors.take(TokenEndpointAuthMethod::parse(m).ok_or_else(|| {
                FieldError::invalid(
                    "tokenEndpointAuthMethod",
                    "tokenEndpointAuthMethod must be CLIENT_SECRET_BASIC or CLIENT_SECRET_POST.",
                )
            })),
        };
        let fields = name.zip(method).map(|(name, token_endpoint_auth_method)| ApplicationFields {
            name,
            description,
            enabled: self.enabled.unwrap_or(true),
            token_endpoint_auth_method,
        });
        errors.finish_with(fields)
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Application)]
struct ApplicationView {
    #[serde(rename = "_links")]
    links: wire::LinkSet,
    id: Uuid,
    environment: Ref,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    protocol: &'static str,
    enabled: bool,
    #[schema(value_type = openapi::TokenEndpointAuthMethod)]
    token_endpoint_auth_method: &'static str,
    #[schema(value_type = Vec<String>)]
    grant_types: [&'static str; 1],
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    created_at: domain::time::Timestamp,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    updated_at: domain::time::Timestamp,
    /// Only in the response that created the application.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

wire::collection!(Applications, "applications", ApplicationView);

/// A new client secret, in this response only.
#[derive(Serialize, ToSchema)]
#[schema(as = ApplicationSecret)]
struct SecretView {
    #[serde(rename = "_links")]
    links: wire::LinkSet,
    secret: String,
}

fn path(environment_id: Uuid, id: Uuid) -> String {
    format!("/v1/environments/{environment_id}/applications/{id}")
}

fn view(links: &Links, application: Application, secret: Option<String>) -> ApplicationView {
    let path = path(application.environment_id, application.id);
    ApplicationView {
        links: links.set([
            ("self", &path),
            ("environment", &links.environment(application.environment_id)),
            ("secret", &format!("{path}/secret")),
        ]),
        id: application.id,
        environment: Ref { id: application.environment_id },
        name: application.name,
        description: application.description,
        kind: WORKER,
        protocol: OPENID_CONNECT,
        enabled: application.enabled,
        token_endpoint_auth_method: application.token_endpoint_auth_method.as_str(),
        grant_types: [CLIENT_CREDENTIALS],
        created_at: application.created_at,
        updated_at: application.updated_at,
        secret,
    }
}

/// Create a worker application; the response holds its client secret, once.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/applications", operation_id = "createApplication",
    request_body = ApplicationBody,
    responses((status = 201, description = "The new application, with `secret`.", body = ApplicationView)))]
async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<ApplicationBody>,
) -> Result<(StatusCode, Json<ApplicationView>)> {
    let created = state.credd.create_application(&caller, environment_id, body.fields()?).await?;
    Ok((StatusCode::CREATED, Json(view(&state.links, created.application, Some(created.secret)))))
}

/// List the environment's applications.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/applications", operation_id = "listApplications",
    params(ListQuery, ("filter" = Option<String>, Query,
        description = "SCIM (credd's addition): `id` eq, `name` eq or sw; joined by `and`, `or`, parentheses.")),
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

/// Replace an application's settings.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/applications/{application_id}",
    operation_id = "replaceApplication", request_body = ApplicationBody,
    responses((status = 200, description = "The application.", body = ApplicationView)))]
async fn replace(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<ApplicationBody>,
) -> Result<Json<ApplicationView>> {
    let application = state.credd.replace_application(&caller, environment_id, id, body.fields()?).await?;
    Ok(Json(view(&state.links, application, None)))
}

/// Delete an application; its tokens stop working when they expire.
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
    Ok(Json(SecretView { links: state.links.set([("application", &path(environment_id, id))]), secret }))
}
