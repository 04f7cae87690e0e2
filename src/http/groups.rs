//! `/v1/environments/{envId}/groups`: groups, and the groups each is nested in
//! (`…/groups/{groupId}/memberOfGroups`); and the groups a user is in
//! (`…/users/{userId}/memberOfGroups`), to which a user is added and from which removed.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use domain::group::{
    CustomData, Group, GroupFields, Membership, UserFilterText, external_id, group_description, group_name,
};
use domain::page::{CountedPage, Page};
use domain::validation::{Collector, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::extract::{Caller, Json, Path, Query};
use super::openapi;
use super::wire::{self, LinkSet, Links, ListQuery, Ref};
use crate::error::{Error, Result};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, replace, delete))
        .routes(routes!(list_nestings, nest))
        .routes(routes!(read_nesting, unnest))
        .routes(routes!(list_memberships, add_member))
        .routes(routes!(read_membership, remove_member))
}

/// A group as a client writes it: on create, and on PUT (a full replace: what is left
/// out is cleared, but the population stays).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GroupRequest)]
pub(super) struct GroupBody {
    /// Unique whatever the case of A to Z among the environment groups and among one
    /// population's groups; a population's group may not share an environment group's
    /// name. At most 256 characters.
    #[schema(required = true, nullable = false, value_type = Option<openapi::Text>)]
    name: Option<String>,
    /// At most 1024 characters.
    #[schema(value_type = Option<openapi::Text>)]
    description: Option<String>,
    /// Makes it the population's group, which holds only that population's users; set
    /// on create only.
    population: Option<Ref>,
    /// A users-list filter (`email sw "ada@"`); the users it selects are members.
    user_filter: Option<String>,
    /// At most 1024 characters.
    #[schema(value_type = Option<openapi::Text>)]
    external_id: Option<String>,
    /// A JSON object of the client's, at most 16 KiB as JSON.
    #[schema(value_type = Option<Object>)]
    custom_data: Option<serde_json::Value>,
}

impl GroupBody {
    pub(super) fn fields(self) -> Result<GroupFields, Vec<FieldError>> {
        let mut errors = Collector::default();
        let name = errors.take(self.name.as_deref().ok_or_else(|| FieldError::required("name")).and_then(group_name));
        let description = self.description.as_deref().and_then(|d| errors.take(group_description(d)));
        let user_filter = self.user_filter.as_deref().and_then(|f| errors.take(UserFilterText::parse(f)));
        let external_id = self.external_id.as_deref().and_then(|e| errors.take(external_id(e)));
        let custom_data = self.custom_data.as_ref().and_then(|c| errors.take(CustomData::parse(c)));
        let fields = name.map(|name| GroupFields {
            name,
            description,
            population_id: self.population.map(|p| p.id),
            user_filter,
            external_id,
            custom_data,
        });
        errors.finish_with(fields)
    }
}

/// `{"users": n, "groups": n}`: users added to the group and groups nested in it.
#[derive(Serialize, ToSchema)]
#[schema(as = GroupDirectMemberCounts)]
struct DirectCounts {
    users: i64,
    groups: i64,
}

/// `{"users": n}`: every user in the group, however they are in it.
#[derive(Serialize, ToSchema)]
#[schema(as = GroupTotalMemberCounts)]
struct TotalCounts {
    users: usize,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Group)]
pub(super) struct GroupView {
    #[serde(rename = "_links")]
    links: LinkSet,
    id: Uuid,
    environment: Ref,
    #[serde(skip_serializing_if = "Option::is_none")]
    population: Option<Ref>,
    name: String,
    /// The group's `name`, as PingOne answers for groups made in it.
    display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_filter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    custom_data: Option<serde_json::Value>,
    direct_member_counts: DirectCounts,
    /// On a read of one group with `include=totalMemberCounts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    total_member_counts: Option<TotalCounts>,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    created_at: domain::time::Timestamp,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    updated_at: domain::time::Timestamp,
}

wire::collection!(Groups, "groups", GroupView);

fn group_path(environment_id: Uuid, id: Uuid) -> String {
    format!("/v1/environments/{environment_id}/groups/{id}")
}

pub(super) fn view(links: &Links, group: Group) -> GroupView {
    let path = group_path(group.environment_id, group.id);
    GroupView {
        links: links.set([("self", &path), ("environment", &links.environment(group.environment_id))]),
        id: group.id,
        environment: Ref { id: group.environment_id },
        population: group.population_id.map(|id| Ref { id }),
        display_name: group.name.clone(),
        name: group.name,
        description: group.description,
        user_filter: group.user_filter,
        external_id: group.external_id,
        custom_data: group.custom_data.and_then(|c| serde_json::from_str(c.as_str()).ok()),
        direct_member_counts: DirectCounts { users: group.direct_users, groups: group.direct_groups },
        total_member_counts: None,
        created_at: group.created_at,
        updated_at: group.updated_at,
    }
}

/// A group a user or a group is in (PingOne's `GroupMembership` and `GroupNesting`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GroupMembership)]
struct MembershipView {
    #[serde(rename = "_links")]
    links: LinkSet,
    /// The group's id.
    id: Uuid,
    environment: Ref,
    /// The group's name.
    name: String,
    /// `DIRECT`: added (or nested) to it; `INDIRECT`: through its `userFilter` or a
    /// nested group.
    #[serde(rename = "type")]
    #[schema(value_type = openapi::GroupMembershipType)]
    kind: &'static str,
    /// With `expand=group`.
    #[serde(rename = "_embedded", skip_serializing_if = "Option::is_none")]
    embedded: Option<EmbeddedGroup>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = GroupMembershipEmbedded)]
struct EmbeddedGroup {
    group: GroupView,
}

wire::collection!(Memberships, "groupMemberships", MembershipView);

/// Where the membership lives: a user's `memberOfGroups`, or a group's.
fn membership_view(links: &Links, environment_id: Uuid, of: &str, membership: Membership) -> MembershipView {
    let group = membership.group.id;
    MembershipView {
        links: links.set([
            ("self", &format!("{of}/memberOfGroups/{group}")),
            ("group", &group_path(environment_id, group)),
            ("environment", &links.environment(environment_id)),
        ]),
        id: group,
        environment: Ref { id: environment_id },
        name: membership.group.name,
        kind: membership.kind.as_str(),
        embedded: None,
    }
}

/// `include` of a read of one group.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ReadQuery {
    /// `totalMemberCounts` adds every user in the group, however they are in it.
    #[param(pattern = "^totalMemberCounts$")]
    include: Option<String>,
}

/// `expand` of a user's memberships (the list's other parameters are [`ListQuery`]'s).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExpandQuery {
    /// `group` embeds each group (`_embedded.group`).
    #[param(pattern = "^group$")]
    expand: Option<String>,
}

impl ExpandQuery {
    fn group(&self) -> Result<bool> {
        match self.expand.as_deref() {
            None => Ok(false),
            Some("group") => Ok(true),
            Some(_) => Err(Error::bad_request("expand", "expand takes group.")),
        }
    }
}

/// A user's memberships: the list's paging and filter, and `expand`.
#[derive(Deserialize)]
struct MembershipsQuery {
    #[serde(flatten)]
    expand: ExpandQuery,
    #[serde(flatten)]
    list: ListQuery,
}

/// `{"id": "…"}`: the group to add the user to, or to nest the group in.
#[derive(Deserialize, ToSchema)]
#[schema(as = GroupReference)]
struct GroupRefBody {
    #[schema(required = true, nullable = false)]
    id: Option<Uuid>,
}

impl GroupRefBody {
    fn id(&self) -> Result<Uuid> {
        self.id.ok_or_else(|| FieldError::required("id").into())
    }
}

const FILTER: &str = "SCIM: `id` eq; `name` eq or sw; `externalId` eq or sw; `population.id` eq; joined by `and`, \
    `or`, parentheses: `name sw \"Sales\" and population.id eq \"…\"`.";
const MEMBERSHIP_FILTER: &str = "SCIM: `id` eq; `name` eq or sw; `type` eq (`DIRECT`, `INDIRECT`).";

/// Create a group.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/groups", operation_id = "createGroup",
    request_body = GroupBody,
    responses(
        (status = 201, description = "The new group.", body = GroupView),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: the name is taken.", body = super::error::ErrorBody),
    ))]
async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<GroupBody>,
) -> Result<(StatusCode, Json<GroupView>)> {
    let group = state.credd.create_group(&caller, environment_id, body.fields()?).await?;
    Ok((StatusCode::CREATED, Json(view(&state.links, group))))
}

/// List the environment's groups.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/groups", operation_id = "listGroups",
    params(ListQuery, ("filter" = Option<String>, Query, description = FILTER)),
    responses((status = 200, description = "A page of groups.", body = Groups)))]
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<Groups>> {
    let (request, filter) = query.filtered_page::<Group>(&uri)?;
    let page = state.credd.groups(&caller, environment_id, filter.as_ref(), request).await?;
    Ok(Json(Groups::page(&state.links, &uri, page, request, |g: &Group| g.id, |g| view(&state.links, g))))
}

/// Read a group.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/groups/{group_id}", operation_id = "readGroup",
    params(ReadQuery), responses((status = 200, description = "The group.", body = GroupView)))]
async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
    Query(query): Query<ReadQuery>,
) -> Result<Json<GroupView>> {
    let total = match query.include.as_deref() {
        None => false,
        Some("totalMemberCounts") => true,
        Some(_) => return Err(Error::bad_request("include", "include takes totalMemberCounts.")),
    };
    let group = state.credd.group(&caller, environment_id, id).await?;
    let total = if total { Some(TotalCounts { users: state.credd.group_total_users(&group).await? }) } else { None };
    Ok(Json(GroupView { total_member_counts: total, ..view(&state.links, group) }))
}

/// Replace a group's fields (what is left out is cleared; the population stays).
#[utoipa::path(put, path = "/v1/environments/{environment_id}/groups/{group_id}", operation_id = "updateGroup",
    request_body = GroupBody,
    responses(
        (status = 200, description = "The group.", body = GroupView),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: the name is taken.", body = super::error::ErrorBody),
    ))]
async fn replace(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<GroupBody>,
) -> Result<Json<GroupView>> {
    let group = state.credd.replace_group(&caller, environment_id, id, body.fields()?).await?;
    Ok(Json(view(&state.links, group)))
}

/// Delete a group with its memberships and nestings.
#[utoipa::path(delete, path = "/v1/environments/{environment_id}/groups/{group_id}", operation_id = "deleteGroup",
    responses((status = 204, description = "Deleted.")))]
async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode> {
    state.credd.delete_group(&caller, environment_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Nest the group in another: its members become members of the other group too.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/groups/{group_id}/memberOfGroups",
    operation_id = "createGroupNesting", request_body = GroupRefBody,
    responses(
        (status = 201, description = "The group it is now nested in.", body = MembershipView),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: already nested in it.", body = super::error::ErrorBody),
    ))]
async fn nest(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, group_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<GroupRefBody>,
) -> Result<(StatusCode, Json<MembershipView>)> {
    let nesting = state.credd.nest_group(&caller, environment_id, group_id, body.id()?).await?;
    let of = group_path(environment_id, group_id);
    Ok((StatusCode::CREATED, Json(membership_view(&state.links, environment_id, &of, nesting))))
}

/// List the groups the group is in: nested in directly, or through those.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/groups/{group_id}/memberOfGroups",
    operation_id = "listGroupNestings",
    params(ListQuery, ("filter" = Option<String>, Query, description = MEMBERSHIP_FILTER)),
    responses((status = 200, description = "A page of the groups it is in.", body = Memberships)))]
async fn list_nestings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, group_id)): Path<(Uuid, Uuid)>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<Memberships>> {
    let (request, filter) = query.filtered_page::<Membership>(&uri)?;
    let page = state.credd.group_nestings(&caller, environment_id, group_id, filter.as_ref(), request).await?;
    let of = group_path(environment_id, group_id);
    let render = |m| membership_view(&state.links, environment_id, &of, m);
    Ok(Json(Memberships::page(&state.links, &uri, page, request, |m| m.group.id, render)))
}

/// Read one group the group is in.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/groups/{group_id}/memberOfGroups/{nested_group_id}",
    operation_id = "readGroupNesting", responses((status = 200, description = "The group it is in.", body = MembershipView)))]
async fn read_nesting(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, group_id, outer_id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<Json<MembershipView>> {
    let nesting = state.credd.group_nesting(&caller, environment_id, group_id, outer_id).await?;
    let of = group_path(environment_id, group_id);
    Ok(Json(membership_view(&state.links, environment_id, &of, nesting)))
}

/// Undo a direct nesting.
#[utoipa::path(delete, path = "/v1/environments/{environment_id}/groups/{group_id}/memberOfGroups/{nested_group_id}",
    operation_id = "deleteGroupNesting", responses((status = 204, description = "No longer nested in it.")))]
async fn unnest(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, group_id, outer_id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<StatusCode> {
    state.credd.unnest_group(&caller, environment_id, group_id, outer_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn user_path(environment_id: Uuid, user_id: Uuid) -> String {
    format!("/v1/environments/{environment_id}/users/{user_id}")
}

/// The membership, with its group embedded when asked.
async fn user_membership_view(
    state: &AppState,
    caller: &crate::auth::Principal,
    (environment_id, user_id): (Uuid, Uuid),
    membership: Membership,
    expand: bool,
) -> Result<MembershipView> {
    let group_id = membership.group.id;
    let mut view = membership_view(&state.links, environment_id, &user_path(environment_id, user_id), membership);
    view.links.insert("user", state.links.link(&user_path(environment_id, user_id)));
    if expand {
        let group = state.credd.group(caller, environment_id, group_id).await?;
        view.embedded = Some(EmbeddedGroup { group: self::view(&state.links, group) });
    }
    Ok(view)
}

/// Add the user to a group.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/users/{user_id}/memberOfGroups",
    operation_id = "addUserToGroup", request_body = GroupRefBody,
    responses(
        (status = 201, description = "The user's membership.", body = MembershipView),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: already added to it.", body = super::error::ErrorBody),
    ))]
async fn add_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<GroupRefBody>,
) -> Result<(StatusCode, Json<MembershipView>)> {
    let membership = state.credd.add_user_to_group(&caller, environment_id, user_id, body.id()?).await?;
    let view = user_membership_view(&state, &caller, (environment_id, user_id), membership, false).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// List the groups the user is in: added to, selected by their `userFilter`, or through
/// a nested group.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users/{user_id}/memberOfGroups",
    operation_id = "listUserGroupMemberships",
    params(ListQuery, ExpandQuery, ("filter" = Option<String>, Query, description = MEMBERSHIP_FILTER)),
    responses((status = 200, description = "A page of the user's groups.", body = Memberships)))]
async fn list_memberships(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id)): Path<(Uuid, Uuid)>,
    uri: Uri,
    Query(query): Query<MembershipsQuery>,
) -> Result<Json<Memberships>> {
    let expand = query.expand.group()?;
    let (request, filter) = query.list.filtered_page::<Membership>(&uri)?;
    let CountedPage { page, count } =
        state.credd.user_memberships(&caller, environment_id, user_id, filter.as_ref(), request).await?;
    let mut views = Vec::with_capacity(page.items.len());
    for membership in page.items {
        views.push(user_membership_view(&state, &caller, (environment_id, user_id), membership, expand).await?);
    }
    let page = CountedPage { page: Page { items: views, has_more: page.has_more }, count };
    Ok(Json(Memberships::page(&state.links, &uri, page, request, |v: &MembershipView| v.id, |v| v)))
}

/// Read one group the user is in.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users/{user_id}/memberOfGroups/{group_id}",
    operation_id = "readUserGroupMembership", params(ExpandQuery),
    responses((status = 200, description = "The user's membership.", body = MembershipView)))]
async fn read_membership(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, group_id)): Path<(Uuid, Uuid, Uuid)>,
    Query(query): Query<ExpandQuery>,
) -> Result<Json<MembershipView>> {
    let expand = query.group()?;
    let membership = state.credd.user_membership(&caller, environment_id, user_id, group_id).await?;
    Ok(Json(user_membership_view(&state, &caller, (environment_id, user_id), membership, expand).await?))
}

/// Remove the user from a group they were added to.
#[utoipa::path(delete, path = "/v1/environments/{environment_id}/users/{user_id}/memberOfGroups/{group_id}",
    operation_id = "removeUserFromGroup", responses((status = 204, description = "Removed.")))]
async fn remove_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, group_id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<StatusCode> {
    state.credd.remove_user_from_group(&caller, environment_id, user_id, group_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
