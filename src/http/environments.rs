//! `/v1/environments`: administrators create, list, rename and delete environments.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::routing::get;
use domain::environment::{Environment, EnvironmentFields, EnvironmentName, EnvironmentType, Region};
use domain::validation::{Collector, FieldError, bounded_text};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::AppState;
use super::extract::{Caller, Json, Path, Query};
use super::wire::{self, Links, ListQuery};
use crate::error::Result;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/environments", get(list).post(create))
        .route("/v1/environments/{environment_id}", get(read).put(replace).delete(delete))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvironmentBody {
    name: Option<String>,
    description: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvironmentView {
    #[serde(rename = "_links")]
    links: Value,
    id: Uuid,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    region: &'static str,
    #[serde(serialize_with = "wire::timestamp")]
    created_at: domain::time::Timestamp,
    #[serde(serialize_with = "wire::timestamp")]
    updated_at: domain::time::Timestamp,
}

fn view(links: &Links, environment: Environment) -> EnvironmentView {
    let path = links.environment(environment.id);
    EnvironmentView {
        links: serde_json::json!({ "self": links.link(&path), "users": links.link(&format!("{path}/users")) }),
        id: environment.id,
        name: environment.name,
        description: environment.description,
        kind: environment.kind.as_str(),
        region: environment.region.as_str(),
        created_at: environment.created_at,
        updated_at: environment.updated_at,
    }
}

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

async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>> {
    let request = query.page()?;
    let page = state.credd.environments(&caller, request).await?;
    Ok(Json(wire::collection(&state.links, &uri, "environments", page, request, |e| e.id, |e| view(&state.links, e))))
}

async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<EnvironmentView>> {
    let environment = state.credd.environment(&caller, id).await?;
    Ok(Json(view(&state.links, environment)))
}

/// Full replace of `name`, `description` and `type`; `region` cannot change.
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

async fn delete(State(state): State<AppState>, Caller(caller): Caller, Path(id): Path<Uuid>) -> Result<StatusCode> {
    state.credd.delete_environment(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
