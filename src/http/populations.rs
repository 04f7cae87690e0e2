//! `/v1/environments/{envId}/populations`: create, list (with `filter` on `id` and
//! `name`), read, replace and delete the sets an environment's users are sorted into.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use domain::population::{
    Population, PopulationFields, alternative_identifiers, population_description, population_language, population_name,
};
use domain::time::Timestamp;
use domain::validation::{Collector, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Caller, Json, Path, Query};
use super::openapi;
use super::wire::{self, LinkSet, Links, ListQuery, Ref};
use crate::error::Result;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(read, replace, delete))
}

/// A population as PingOne takes it on create and on PUT, which replaces it whole:
/// what is left out is cleared, except `default`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PopulationRequest)]
pub(in crate::http) struct PopulationBody {
    /// Unique in the environment whatever the case of A to Z, at most 256 characters.
    #[schema(required = true, nullable = false, value_type = Option<openapi::Text>)]
    name: Option<String>,
    /// At most 1,024 characters.
    #[schema(value_type = Option<openapi::Text>)]
    description: Option<String>,
    /// `true` makes it the environment's default population in place of the current
    /// one. Left out: a new population is not the default, an existing one stays as
    /// it is; `false` on the default is refused (make another one the default).
    default: Option<bool>,
    /// Kept as sent: credd has no password policies.
    password_policy: Option<Ref>,
    /// Kept as sent: credd has no themes.
    theme: Option<Ref>,
    /// The population's language.
    #[schema(value_type = Option<openapi::LanguageTag>)]
    preferred_language: Option<String>,
    /// Other names the population goes by: at most 50, each at most 256 characters.
    #[schema(value_type = Option<Vec<openapi::Text>>, max_items = 50)]
    alternative_identifiers: Option<Vec<String>>,
}

impl PopulationBody {
    pub(in crate::http) fn parse(self) -> Result<PopulationFields, Vec<FieldError>> {
        let mut errors = Collector::default();
        let name = errors.take(self.name.ok_or_else(|| FieldError::required("name")).and_then(|n| population_name(&n)));
        let description = self.description.and_then(|d| errors.take(population_description(&d)));
        let preferred_language = self.preferred_language.and_then(|l| errors.take(population_language(&l)));
        let identifiers = errors.take(alternative_identifiers(self.alternative_identifiers.unwrap_or_default()));
        let fields = name.zip(identifiers).map(|(name, alternative_identifiers)| PopulationFields {
            name,
            description,
            default: self.default,
            password_policy_id: self.password_policy.map(|r| r.id),
            theme_id: self.theme.map(|r| r.id),
            preferred_language,
            alternative_identifiers,
        });
        errors.finish_with(fields)
    }
}

/// A population, with how many users are in it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Population)]
pub(in crate::http) struct PopulationView {
    #[serde(rename = "_links")]
    links: LinkSet,
    id: Uuid,
    environment: Ref,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    /// The environment's default population, where users created without one land.
    default: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    password_policy: Option<Ref>,
    #[serde(skip_serializing_if = "Option::is_none")]
    theme: Option<Ref>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<openapi::LanguageTag>)]
    preferred_language: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    alternative_identifiers: Vec<String>,
    /// How many users are in the population.
    user_count: i64,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    created_at: Timestamp,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    updated_at: Timestamp,
}

wire::collection!(Populations, "populations", PopulationView);

pub(in crate::http) fn population_view(links: &Links, population: Population) -> PopulationView {
    let environment = links.environment(population.environment_id);
    let path = format!("{environment}/populations/{}", population.id);
    PopulationView {
        links: links.set([("self", &path), ("environment", &environment)]),
        id: population.id,
        environment: Ref { id: population.environment_id },
        name: population.name,
        description: population.description,
        default: population.default,
        password_policy: population.password_policy_id.map(|id| Ref { id }),
        theme: population.theme_id.map(|id| Ref { id }),
        preferred_language: population.preferred_language,
        alternative_identifiers: population.alternative_identifiers,
        user_count: population.user_count,
        created_at: population.created_at,
        updated_at: population.updated_at,
    }
}

/// Create a population; `default: true` makes it the environment's default.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/populations", operation_id = "createPopulation",
    request_body = PopulationBody,
    responses(
        (status = 201, description = "The new population.", body = PopulationView),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: the name is taken.", body = ErrorBody),
    ))]
async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<PopulationBody>,
) -> Result<(StatusCode, Json<PopulationView>)> {
    let fields = body.parse()?;
    let population = state.credd.create_population(&caller, environment_id, fields).await?;
    Ok((StatusCode::CREATED, Json(population_view(&state.links, population))))
}

/// List the environment's populations.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/populations", operation_id = "listPopulations",
    params(ListQuery, ("filter" = Option<String>, Query,
        description = "SCIM: `id` eq; `name` eq or sw: `name eq \"Staff\"`.")),
    responses((status = 200, description = "A page of populations.", body = Populations)))]
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<Populations>> {
    let (request, filter) = query.filtered_page::<Population>(&uri)?;
    let page = state.credd.populations(&caller, environment_id, filter.as_ref(), request).await?;
    let render = |p| population_view(&state.links, p);
    Ok(Json(Populations::page(&state.links, &uri, page, request, |p| p.id, render)))
}

/// Read a population.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/populations/{population_id}",
    operation_id = "readPopulation",
    responses((status = 200, description = "The population.", body = PopulationView)))]
async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<Json<PopulationView>> {
    let population = state.credd.population(&caller, environment_id, id).await?;
    Ok(Json(population_view(&state.links, population)))
}

/// Replace a population: what the body leaves out is cleared, except `default`.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/populations/{population_id}",
    operation_id = "updatePopulation",
    request_body = PopulationBody,
    responses(
        (status = 200, description = "The population.", body = PopulationView),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: the name is taken.", body = ErrorBody),
    ))]
async fn replace(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<PopulationBody>,
) -> Result<Json<PopulationView>> {
    let fields = body.parse()?;
    let population = state.credd.replace_population(&caller, environment_id, id, fields).await?;
    Ok(Json(population_view(&state.links, population)))
}

/// Delete a population: only one without users that is not the default.
#[utoipa::path(delete, path = "/v1/environments/{environment_id}/populations/{population_id}",
    operation_id = "deletePopulation",
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "`INVALID_DATA`: the population has users, or is the default.", body = ErrorBody),
    ))]
async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode> {
    state.credd.delete_population(&caller, environment_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
