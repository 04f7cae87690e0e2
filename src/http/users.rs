//! `/v1/environments/{envId}/users`: create, list (with `filter`), read, PUT, PATCH and
//! delete, with `expand=population` (`user_state` has a user's `population` and `enabled`).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use domain::population::Population;
use domain::user::{Change, Email, Locale, PhoneAttribute, PreferredLanguage, User, UserPatch, Username, name_part};
use domain::validation::{Collector, FieldError};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Caller, Json, Path, Query};
use super::openapi;
use super::populations::{PopulationView, population_view};
use super::wire::{self, Links, ListQuery, Ref};
use crate::auth::Principal;
use crate::error::{Error, Result};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(read, replace, patch, delete))
}

/// Tells an absent attribute (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A user's attributes: all of them on create and PUT (`username` required; PUT clears
/// what it leaves out), those to change on PATCH, where `null` clears one. `enabled` is
/// read-only here (`PUT …/enabled` changes it).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UserRequest)]
struct UserBody {
    /// A population of the environment. Left out on create: the environment's default
    /// population; on PUT and PATCH: where the user is. Given: the user moves there.
    population: Option<Ref>,
    /// Unique in the environment, at most 128 characters; required on create.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<openapi::Text>)]
    username: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Email)]
    email: Option<Option<String>>,
    /// At most 32 characters, with at least one digit.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<openapi::Text>, examples("+1 512 555 1234"))]
    mobile_phone: Option<Option<String>>,
    /// At most 32 characters, with at least one digit.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<openapi::Text>, examples("+1 512 555 1234"))]
    primary_phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<openapi::LanguageTag>)]
    locale: Option<Option<String>>,
    /// Language tags with weights.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, examples("en-US, en;q=0.8"))]
    preferred_language: Option<Option<String>>,
    /// `null` clears every part.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<NameBody>)]
    name: Option<Option<NameBody>>,
}

#[derive(Deserialize, Default, ToSchema)]
#[schema(as = UserName)]
struct NameBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<openapi::Text>)]
    given: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<openapi::Text>)]
    family: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<openapi::Text>)]
    formatted: Option<Option<String>>,
}

/// What an update does with what its body leaves out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Absent {
    /// PATCH: it stays.
    Keeps,
    /// PUT: it is cleared.
    Clears,
}

/// Keep, clear or set one attribute, parsing a new value.
fn change<T>(
    errors: &mut Collector,
    absent: Absent,
    value: &Option<Option<String>>,
    parse: impl FnOnce(&str) -> Result<T, FieldError>,
) -> Change<T> {
    match value {
        None if absent == Absent::Clears => Change::Clear,
        None => Change::Keep,
        Some(None) => Change::Clear,
        Some(Some(text)) => errors.take(parse(text)).map_or(Change::Keep, Change::Set),
    }
}

impl UserBody {
    /// The attributes as a patch; `username` is parsed separately because creating
    /// requires it and patching may leave it out.
    fn patch(&self, errors: &mut Collector, absent: Absent) -> UserPatch {
        // `"name": null` clears every part of the name.
        let cleared = NameBody { given: Some(None), family: Some(None), formatted: Some(None) };
        let name = match &self.name {
            None if absent == Absent::Clears => &cleared,
            None => &NameBody::default(),
            Some(None) => &cleared,
            Some(Some(name)) => name,
        };
        UserPatch {
            username: None,
            population_id: self.population.map(|p| p.id),
            email: change(errors, absent, &self.email, |v| Email::parse("email", v)),
            mobile_phone: change(errors, absent, &self.mobile_phone, |v| PhoneAttribute::parse("mobilePhone", v)),
            primary_phone: change(errors, absent, &self.primary_phone, |v| PhoneAttribute::parse("primaryPhone", v)),
            locale: change(errors, absent, &self.locale, |v| Locale::parse("locale", v)),
            preferred_language: change(errors, absent, &self.preferred_language, PreferredLanguage::parse),
            name_given: change(errors, absent, &name.given, |v| name_part("name.given", v)),
            name_family: change(errors, absent, &name.family, |v| name_part("name.family", v)),
            name_formatted: change(errors, absent, &name.formatted, |v| name_part("name.formatted", v)),
        }
    }

    /// A whole user (create, PUT): `username` is required.
    fn whole(&self) -> Result<(Username, UserPatch), Vec<FieldError>> {
        let mut errors = Collector::default();
        let username = errors.take(self.username().unwrap_or_else(|| Err(FieldError::required("username"))));
        let rest = self.patch(&mut errors, Absent::Clears);
        errors.finish_with(username).map(|username| (username, rest))
    }

    fn username(&self) -> Option<Result<Username, FieldError>> {
        self.username
            .as_ref()
            .map(|u| u.as_deref().ok_or_else(|| FieldError::required("username")).and_then(Username::parse))
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = User)]
struct UserView {
    #[serde(rename = "_links")]
    links: wire::LinkSet,
    id: Uuid,
    environment: Ref,
    population: Ref,
    /// Read-only here; `PUT …/enabled` changes it. A disabled user gets no token.
    enabled: bool,
    username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mobile_phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_language: Option<String>,
    /// The parts that are set.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<NameView>,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    created_at: domain::time::Timestamp,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    updated_at: domain::time::Timestamp,
    /// With `expand=population`.
    #[serde(rename = "_embedded", skip_serializing_if = "Option::is_none")]
    embedded: Option<UserEmbedded>,
    /// Every group the user is in, however they are in it, with
    /// `include=memberOfGroupIDs` on a read of one user.
    #[serde(rename = "memberOfGroupIDs", skip_serializing_if = "Option::is_none")]
    member_of_group_ids: Option<Vec<Uuid>>,
    /// Their names, with `include=memberOfGroupNames`.
    #[serde(skip_serializing_if = "Option::is_none")]
    member_of_group_names: Option<Vec<String>>,
}

/// What `expand` puts in a user.
#[derive(Serialize, ToSchema)]
#[schema(as = UserEmbedded)]
struct UserEmbedded {
    population: PopulationView,
}

/// A user's name as answered: the parts that are set.
#[derive(Serialize, ToSchema)]
struct NameView {
    #[serde(skip_serializing_if = "Option::is_none")]
    given: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    formatted: Option<String>,
}

wire::collection!(Users, "users", UserView);

/// The user, with its population embedded when `populations` (read for an `expand`)
/// is given.
fn view(links: &Links, user: User, populations: Option<&HashMap<Uuid, Population>>) -> UserView {
    let environment = links.environment(user.environment_id);
    let path = format!("{environment}/users/{}", user.id);
    let population = format!("{environment}/populations/{}", user.population_id);
    let name = NameView { given: user.name_given, family: user.name_family, formatted: user.name_formatted };
    let named = name.given.is_some() || name.family.is_some() || name.formatted.is_some();
    let embedded = populations
        .and_then(|populations| populations.get(&user.population_id))
        .map(|population| UserEmbedded { population: population_view(links, population.clone()) });
    UserView {
        links: links.set([("self", &path), ("environment", &environment), ("population", &population)]),
        id: user.id,
        environment: Ref { id: user.environment_id },
        population: Ref { id: user.population_id },
        enabled: user.enabled,
        username: user.username,
        email: user.email,
        mobile_phone: user.mobile_phone,
        primary_phone: user.primary_phone,
        locale: user.locale,
        preferred_language: user.preferred_language,
        name: named.then_some(name),
        created_at: user.created_at,
        updated_at: user.updated_at,
        embedded,
        member_of_group_ids: None,
        member_of_group_names: None,
    }
}

/// `expand`: what a read embeds in each user; credd knows `population`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExpandQuery {
    /// `population` puts the user's population under `_embedded.population`.
    expand: Option<String>,
}

impl ExpandQuery {
    fn population(&self) -> Result<bool> {
        let Some(expand) = &self.expand else { return Ok(false) };
        match expand.split(',').map(str::trim).find(|part| *part != "population") {
            Some(other) => Err(Error::bad_request("expand", format!("expand takes population, not '{other}'."))),
            None => Ok(true),
        }
    }
}

/// `include` of a read of one user: the groups the user is in.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct IncludeQuery {
    /// `memberOfGroupIDs`, `memberOfGroupNames`, or both separated by a comma.
    include: Option<String>,
}

impl IncludeQuery {
    /// Whether the ids, and the names, are asked for.
    fn groups(&self) -> Result<(bool, bool)> {
        let parts: Vec<&str> = self.include.iter().flat_map(|i| i.split(',')).map(str::trim).collect();
        if let Some(other) = parts.iter().find(|p| !matches!(**p, "memberOfGroupIDs" | "memberOfGroupNames")) {
            let message = format!("include takes memberOfGroupIDs and memberOfGroupNames, not '{other}'.");
            return Err(Error::bad_request("include", message));
        }
        Ok((parts.contains(&"memberOfGroupIDs"), parts.contains(&"memberOfGroupNames")))
    }
}

/// A list's paging and filter, and `expand`.
#[derive(Deserialize)]
struct ListUsersQuery {
    #[serde(flatten)]
    expand: ExpandQuery,
    #[serde(flatten)]
    list: ListQuery,
}

/// The populations of `users` when the request expands them.
async fn expanded(
    state: &AppState,
    caller: &Principal,
    expand: &ExpandQuery,
    users: &[User],
) -> Result<Option<HashMap<Uuid, Population>>> {
    if expand.population()? { Ok(Some(state.credd.populations_of(caller, users).await?)) } else { Ok(None) }
}

/// Create a user.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/users", operation_id = "createUser",
    request_body = UserBody,
    responses(
        (status = 201, description = "The new user.", body = UserView),
        (status = 400, description = "`INVALID_DATA`: an attribute is invalid, or `population.id` names no \
            population of the environment.", body = ErrorBody),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: the username is taken.", body = ErrorBody),
    ))]
async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<UserBody>,
) -> Result<(StatusCode, Json<UserView>)> {
    let (username, rest) = body.whole()?;
    let user = state.credd.create_user(&caller, environment_id, username, rest).await?;
    Ok((StatusCode::CREATED, Json(view(&state.links, user, None))))
}

/// List the environment's users.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users", operation_id = "listUsers",
    params(ListQuery, ExpandQuery, ("filter" = Option<String>, Query,
        description = "SCIM: `id`, `population.id`, `enabled` eq; `username`, `email`, `name.given`, \
            `name.family` eq or sw; the groups a user is in, `memberOfGroups[id eq \"…\"]` (`id` eq, `name` eq \
            or sw); joined by `and`, `or`, parentheses: `population.id eq \"…\" and username sw \"ad\"`.")),
    responses((status = 200, description = "A page of users.", body = Users)))]
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    uri: Uri,
    Query(query): Query<ListUsersQuery>,
) -> Result<Json<Users>> {
    let (request, filter) = query.list.filtered_page::<User>(&uri)?;
    let page = state.credd.users(&caller, environment_id, filter.as_ref(), request).await?;
    let populations = expanded(&state, &caller, &query.expand, &page.page.items).await?;
    let render = |u| view(&state.links, u, populations.as_ref());
    Ok(Json(Users::page(&state.links, &uri, page, request, |u| u.id, render)))
}

/// Read a user (a user's own token with `p1:read:user` may too).
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users/{user_id}", operation_id = "readUser",
    params(ExpandQuery, IncludeQuery),
    responses((status = 200, description = "The user.", body = UserView)))]
async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
    Query(expand): Query<ExpandQuery>,
    Query(include): Query<IncludeQuery>,
) -> Result<Json<UserView>> {
    let (ids, names) = include.groups()?;
    let user = state.credd.user(&caller, environment_id, id).await?;
    let populations = expanded(&state, &caller, &expand, std::slice::from_ref(&user)).await?;
    let groups = if ids || names { state.credd.groups_of_user(&user).await? } else { Vec::new() };
    Ok(Json(UserView {
        member_of_group_ids: ids.then(|| groups.iter().map(|m| m.group.id).collect()),
        member_of_group_names: names.then(|| groups.iter().map(|m| m.group.name.clone()).collect()),
        ..view(&state.links, user, populations.as_ref())
    }))
}

/// Replace a user: `username` is required, and attributes left out are cleared (a
/// user's own token with `p1:update:user` may too).
#[utoipa::path(put, path = "/v1/environments/{environment_id}/users/{user_id}", operation_id = "replaceUser",
    request_body = UserBody,
    responses(
        (status = 200, description = "The user.", body = UserView),
        (status = 400, description = "`INVALID_DATA`: an attribute is invalid, or `population.id` names no \
            population of the environment.", body = ErrorBody),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: the username is taken.", body = ErrorBody),
    ))]
async fn replace(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<UserBody>,
) -> Result<Json<UserView>> {
    let (username, mut patch) = body.whole()?;
    patch.username = Some(username);
    let user = state.credd.update_user(&caller, environment_id, id, patch).await?;
    Ok(Json(view(&state.links, user, None)))
}

/// Update a user: attributes left out stay, `null` clears (a user's own token with
/// `p1:update:user` may too).
#[utoipa::path(patch, path = "/v1/environments/{environment_id}/users/{user_id}", operation_id = "updateUser",
    request_body = UserBody,
    responses(
        (status = 200, description = "The user.", body = UserView),
        (status = 400, description = "`INVALID_DATA`: an attribute is invalid, or `population.id` names no \
            population of the environment.", body = ErrorBody),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: the username is taken.", body = ErrorBody),
    ))]
async fn patch(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<UserBody>,
) -> Result<Json<UserView>> {
    let mut errors = Collector::default();
    let username = body.username().map(|u| errors.take(u));
    let mut patch = body.patch(&mut errors, Absent::Keeps);
    patch.username = errors.finish_with(Some(username))?.flatten();
    let user = state.credd.update_user(&caller, environment_id, id, patch).await?;
    Ok(Json(view(&state.links, user, None)))
}

/// Delete a user with their wallets, credentials and devices.
#[utoipa::path(delete, path = "/v1/environments/{environment_id}/users/{user_id}", operation_id = "deleteUser",
    responses((status = 204, description = "Deleted.")))]
async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode> {
    state.credd.delete_user(&caller, environment_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
