//! `/v1/environments/{envId}/users/{userId}/population` and `…/enabled`: where a user
//! is and whether they may get tokens, each read and set on its own as PingOne does.

use axum::extract::State;
use domain::user::User;
use domain::validation::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Caller, Json, Path};
use super::wire::{self, Links};
use crate::error::{Error, Result};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read_population, move_to_population)).routes(routes!(read_enabled, set_enabled))
}

/// `{id}`: the population a user is in, as `…/users/{userId}/population` answers it.
#[derive(Serialize, ToSchema)]
#[schema(as = UserPopulation)]
struct UserPopulationView {
    #[serde(rename = "_links")]
    links: wire::LinkSet,
    id: Uuid,
}

/// `{id}`: the population to move the user to.
#[derive(Deserialize, ToSchema)]
#[schema(as = UserPopulationRequest)]
struct UserPopulationBody {
    #[schema(required = true, nullable = false)]
    id: Option<Uuid>,
}

fn population_of(links: &Links, user: &User) -> UserPopulationView {
    let environment = links.environment(user.environment_id);
    let path = format!("{environment}/users/{}/population", user.id);
    let population = format!("{environment}/populations/{}", user.population_id);
    UserPopulationView { links: links.set([("self", &path), ("population", &population)]), id: user.population_id }
}

/// Read the population a user is in (a user's own token with `p1:read:user` may too).
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users/{user_id}/population",
    operation_id = "readUserPopulation",
    responses((status = 200, description = "The user's population.", body = UserPopulationView)))]
async fn read_population(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<Json<UserPopulationView>> {
    let user = state.credd.user(&caller, environment_id, id).await?;
    Ok(Json(population_of(&state.links, &user)))
}

/// Move a user to another population of the environment.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/users/{user_id}/population",
    operation_id = "updateUserPopulation",
    request_body = UserPopulationBody,
    responses(
        (status = 200, description = "The user's population.", body = UserPopulationView),
        (status = 400, description = "`INVALID_DATA`: `id` names no population of the environment.", body = ErrorBody),
    ))]
async fn move_to_population(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<UserPopulationBody>,
) -> Result<Json<UserPopulationView>> {
    let population_id = body.id.ok_or_else(|| Error::invalid(FieldError::required("id")))?;
    let user = state.credd.move_user(&caller, environment_id, id, population_id).await?;
    Ok(Json(population_of(&state.links, &user)))
}

/// `{enabled}`: whether the user may get tokens.
#[derive(Serialize, ToSchema)]
#[schema(as = UserEnabled)]
struct UserEnabledView {
    #[serde(rename = "_links")]
    links: wire::LinkSet,
    enabled: bool,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = UserEnabledRequest)]
struct UserEnabledBody {
    /// `false`: the user's tokens stop working and no new one is issued.
    #[schema(required = true, nullable = false)]
    enabled: Option<bool>,
}

fn enabled_of(links: &Links, user: &User) -> UserEnabledView {
    let user_path = format!("{}/users/{}", links.environment(user.environment_id), user.id);
    let path = format!("{user_path}/enabled");
    UserEnabledView { links: links.set([("self", &path), ("user", &user_path)]), enabled: user.enabled }
}

/// Read whether a user is enabled (a user's own token with `p1:read:user` may too).
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users/{user_id}/enabled",
    operation_id = "readUserEnabled",
    responses((status = 200, description = "Whether the user is enabled.", body = UserEnabledView)))]
async fn read_enabled(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<Json<UserEnabledView>> {
    let user = state.credd.user(&caller, environment_id, id).await?;
    Ok(Json(enabled_of(&state.links, &user)))
}

/// Enable or disable a user. A disabled user's tokens stop working at once and the
/// token exchange refuses them.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/users/{user_id}/enabled",
    operation_id = "updateUserEnabled",
    request_body = UserEnabledBody,
    responses((status = 200, description = "Whether the user is enabled.", body = UserEnabledView)))]
async fn set_enabled(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<UserEnabledBody>,
) -> Result<Json<UserEnabledView>> {
    let enabled = body.enabled.ok_or_else(|| Error::invalid(FieldError::required("enabled")))?;
    let user = state.credd.set_user_enabled(&caller, environment_id, id, enabled).await?;
    Ok(Json(enabled_of(&state.links, &user)))
}
