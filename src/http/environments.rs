//! `/v1/environments`: administrators create, list, rename and delete environments.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use domain::environment::{Environment, EnvironmentFields, EnvironmentName, EnvironmentType, Region};
use domain::validation::{Collector, FieldError, bounded_text};
use serde::{Deserialize, Serialize};
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
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(read, replace, delete))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = EnvironmentRequest)]
struct EnvironmentBody {
    #[schema(required = true, nullable = false, value_type = Option<openapi::Text>)]
    name: Option<String>,
    #[schema(value_type = Option<openapi::Text>)]
    description: Option<String>,
    /// `SANDBOX` when left out.
    #[serde(rename = "type")]
    #[schema(value_type = Option<openapi::EnvironmentType>)]
    kind: Option<String>,
    /// `NA` when left out; a replace cannot change it.
    #[schema(value_type = Option<openapi::Region>)]
    region: Option<String>,
}

impl EnvironmentBody {
    fn fields(&self, errors: &mut Collector) -> Option<EnvironmentFields> {
        let name = errors
            .take(self.name.as_deref().ok_or_else(|| FieldError::required("name")).and_then(EnvironmentName::parse));
        let description = match &self.description {
            Some(d) => errors.take(bounded_text("description", d, 1024)),
            None => None,
        };
        let kind = match &self.kind {
            None => Some(EnvironmentType::Sandbox),
            Some(k) => errors.take(
                EnvironmentType::parse(k)
                    .ok_or_else(|| FieldError::invalid("type", "type must be SANDBOX or PRODUCTION.")),
            ),
        };
        Some(EnvironmentFields { name: name?, description, kind: kind? })
    }

    fn region(&self, errors: &mut Collector) -> Option<Region> {
        match &self.region {
            None => Some(Region::NorthAmerica),
            Some(r) => errors.take(
                Region::parse(r)
                    .ok_or_else(|| FieldError::invalid("region", "region must be one of NA, EU, CA, AP, AU.")),
            ),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Environment)]
struct EnvironmentView {
    #[serde(rename = "_links")]
    links: wire::LinkSet,
    id: Uuid,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = openapi::EnvironmentType)]
    kind: &'static str,
    #[schema(value_type = openapi::Region)]
    region: &'static str,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    created_at: domain::time::Timestamp,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    updated_at: domain::time::Timestamp,
}

wire::collection!(Environments, "environments", EnvironmentView);

fn view(links: &Links, environment: Environment) -> EnvironmentView {
    let path = links.environment(environment.id);
    EnvironmentView {
        links: links.set([("self", &path), ("users", &format!("{path}/users"))]),
        id: environment.id,
        name: environment.name,
        description: environment.description,
        kind: environment.kind.as_str(),
        region: environment.region.as_str(),
        created_at: environment.created_at,
        updated_at: environment.updated_at,
    }
}

/// Create an environment (the administrator environment's workers only).
#[utoipa::path(post, path = "/v1/environments", operation_id = "createEnvironment", request_body = EnvironmentBody,
    responses((status = 201, description = "The new environment.", body = EnvironmentView)))]
async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(body): Json<EnvironmentBody>,
) -> Result<(StatusCode, Json<EnvironmentView>)> {
    let mut errors = Collector::default();
    let (fields, region) = (body.fields(&mut errors), body.region(&mut errors));
    let (fields, region) = errors.finish_with(fields.zip(region))?;
    let environment = state.credd.create_environment(&caller, fields, region).await?;
    Ok((StatusCode::CREATED, Json(view(&state.links, environment))))
}

/// List the environments the token may manage.
#[utoipa::path(get, path = "/v1/environments", operation_id = "listEnvironments",
    params(ListQuery, ("filter" = Option<String>, Query,
        description = "SCIM: `id` eq, `name` sw; joined by `and`, `or`, parentheses: `name sw \"Stag\"`.")),
    responses((status = 200, description = "A page of environments.", body = Environments)))]
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<Environments>> {
    let (request, filter) = query.filtered_page::<Environment>(&uri)?;
    let page = state.credd.environments(&caller, filter.as_ref(), request).await?;
    Ok(Json(Environments::page(&state.links, &uri, page, request, |e| e.id, |e| view(&state.links, e))))
}

/// Read an environment.
#[utoipa::path(get, path = "/v1/environments/{environment_id}", operation_id = "readEnvironment",
    responses((status = 200, description = "The environment.", body = EnvironmentView)))]
async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<EnvironmentView>> {
    let environment = state.credd.environment(&caller, id).await?;
    Ok(Json(view(&state.links, environment)))
}

/// Replace an environment: `name`, `description` and `type`; `region` cannot change.
#[utoipa::path(put, path = "/v1/environments/{environment_id}", operation_id = "replaceEnvironment",
    request_body = EnvironmentBody,
    responses((status = 200, description = "The environment.", body = EnvironmentView)))]
async fn replace(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<Uuid>,
    Json(body): Json<EnvironmentBody>,
) -> Result<Json<EnvironmentView>> {
    let mut errors = Collector::default();
    let fields = body.fields(&mut errors);
    let fields = errors.finish_with(fields)?;
    let environment = state.credd.replace_environment(&caller, id, fields).await?;
    Ok(Json(view(&state.links, environment)))
}

/// Delete an environment and everything in it (not the administrator environment).
#[utoipa::path(delete, path = "/v1/environments/{environment_id}", operation_id = "deleteEnvironment",
    responses((status = 204, description = "Deleted.")))]
async fn delete(State(state): State<AppState>, Caller(caller): Caller, Path(id): Path<Uuid>) -> Result<StatusCode> {
    state.credd.delete_environment(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
