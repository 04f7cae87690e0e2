//! `/v1/environments/{envId}/users`: create, list (with `filter` on `username` and
//! `email` equality), read, PATCH and delete.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use domain::user::{Change, Email, Locale, PhoneAttribute, PreferredLanguage, User, UserPatch, Username, name_part};
use domain::validation::{Collector, FieldError};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Caller, Json, Path, Query};
use super::openapi;
use super::wire::{self, Links, ListQuery, Ref};
use crate::error::Result;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(read, patch, delete))
}

/// Tells an absent attribute (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A user's attributes: all of them on create (`username` required), those to change
/// on PATCH, where `null` clears one.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UserRequest)]
struct UserBody {
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

/// Keep, clear or set one attribute, parsing a new value.
fn change<T>(
    errors: &mut Collector,
    value: &Option<Option<String>>,
    parse: impl FnOnce(&str) -> Result<T, FieldError>,
) -> Change<T> {
    match value {
        None => Change::Keep,
        Some(None) => Change::Clear,
        Some(Some(text)) => errors.take(parse(text)).map_or(Change::Keep, Change::Set),
    }
}

impl UserBody {
    /// The attributes as a patch; `username` is parsed separately because creating
    /// requires it and patching may leave it out.
    fn patch(&self, errors: &mut Collector) -> UserPatch {
        // `"name": null` clears every part of the name.
        let cleared = NameBody { given: Some(None), family: Some(None), formatted: Some(None) };
        let name = match &self.name {
            None => &NameBody::default(),
            Some(None) => &cleared,
            Some(Some(name)) => name,
        };
        UserPatch {
            username: None,
            population_id: None,
            email: change(errors, &self.email, |v| Email::parse("email", v)),
            mobile_phone: change(errors, &self.mobile_phone, |v| PhoneAttribute::parse("mobilePhone", v)),
            primary_phone: change(errors, &self.primary_phone, |v| PhoneAttribute::parse("primaryPhone", v)),
            locale: change(errors, &self.locale, |v| Locale::parse("locale", v)),
            preferred_language: change(errors, &self.preferred_language, PreferredLanguage::parse),
            name_given: change(errors, &name.given, |v| name_part("name.given", v)),
            name_family: change(errors, &name.family, |v| name_part("name.family", v)),
            name_formatted: change(errors, &name.formatted, |v| name_part("name.formatted", v)),
        }
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

fn view(links: &Links, user: User) -> UserView {
    let path = format!("/v1/environments/{}/users/{}", user.environment_id, user.id);
    let name = NameView { given: user.name_given, family: user.name_family, formatted: user.name_formatted };
    let named = name.given.is_some() || name.family.is_some() || name.formatted.is_some();
    UserView {
        links: links.set([("self", &path), ("environment", &links.environment(user.environment_id))]),
        id: user.id,
        environment: Ref { id: user.environment_id },
        username: user.username,
        email: user.email,
        mobile_phone: user.mobile_phone,
        primary_phone: user.primary_phone,
        locale: user.locale,
        preferred_language: user.preferred_language,
        name: named.then_some(name),
        created_at: user.created_at,
        updated_at: user.updated_at,
    }
}

/// Create a user.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/users", operation_id = "createUser",
    request_body = UserBody,
    responses(
        (status = 201, description = "The new user.", body = UserView),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: the username is taken.", body = ErrorBody),
    ))]
async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<UserBody>,
) -> Result<(StatusCode, Json<UserView>)> {
    let mut errors = Collector::default();
    let username = errors.take(body.username().unwrap_or_else(|| Err(FieldError::required("username"))));
    let rest = body.patch(&mut errors);
    let username = errors.finish_with(username)?;
    let user = state.credd.create_user(&caller, environment_id, username, rest).await?;
    Ok((StatusCode::CREATED, Json(view(&state.links, user))))
}

/// List the environment's users.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users", operation_id = "listUsers",
    params(ListQuery, ("filter" = Option<String>, Query,
        description = "SCIM: `id` eq; `username`, `email`, `name.given`, `name.family` eq or sw; \
            joined by `and`, `or`, parentheses: `username sw \"ad\" and email eq \"ada@example.com\"`.")),
    responses((status = 200, description = "A page of users.", body = Users)))]
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<Users>> {
    let (request, filter) = query.filtered_page::<User>(&uri)?;
    let page = state.credd.users(&caller, environment_id, filter.as_ref(), request).await?;
    Ok(Json(Users::page(&state.links, &uri, page, request, |u| u.id, |u| view(&state.links, u))))
}

/// Read a user (a user's own token with `p1:read:user` may too).
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users/{user_id}", operation_id = "readUser",
    responses((status = 200, description = "The user.", body = UserView)))]
async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<Json<UserView>> {
    let user = state.credd.user(&caller, environment_id, id).await?;
    Ok(Json(view(&state.links, user)))
}

/// Update a user: attributes left out stay, `null` clears (a user's own token with
/// `p1:update:user` may too).
#[utoipa::path(patch, path = "/v1/environments/{environment_id}/users/{user_id}", operation_id = "updateUser",
    request_body = UserBody,
    responses(
        (status = 200, description = "The user.", body = UserView),
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
    let mut patch = body.patch(&mut errors);
    patch.username = errors.finish_with(Some(username))?.flatten();
    let user = state.credd.update_user(&caller, environment_id, id, patch).await?;
    Ok(Json(view(&state.links, user)))
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
