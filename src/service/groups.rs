//! Groups, the users added to them, the groups nested in them, and the groups a user
//! is in (directly, through a `userFilter`, or through a nested group).

use std::collections::{HashMap, HashSet};

use domain::StoreError;
use domain::configuration::{GROUPS, GroupConfiguration};
use domain::filter::{Filter, page_matching};
use domain::group::{
    Group, GroupFields, GroupWrite, MAX_DYNAMIC_GROUPS_PER_ENVIRONMENT, MAX_GROUPS_PER_ENVIRONMENT,
    MAX_GROUPS_PER_USER, MAX_OUTER_GROUPS_PER_GROUP, MemberAdded, Membership, MembershipType, Nested, Nesting,
    UserInGroups,
};
use domain::page::{CountedPage, MAX_LIMIT, Page, PageRequest};
use domain::population::Population;
use domain::store::{GroupStore, PopulationStore, UserStore};
use domain::time::{Timestamp, new_id, now};
use domain::user::{User, UserFilter};
use domain::validation::{FieldError, FieldErrorKind};
use uuid::Uuid;

use super::Credd;
use super::configuration::every_page;
use crate::auth::Principal;
use crate::error::{Error, Result};

const NAME_TAKEN: &str = "A group with this name already exists in the environment or in the group's population: \
    groups of one population, and environment groups with any group, may not share a name.";
const NO_SUCH_POPULATION: &str = "The population does not exist in this environment.";
const NO_SUCH_GROUP: &str = "The group does not exist in this environment.";
const ONLY_DIRECT: &str = "Only a direct membership can be removed: this one comes through a nested group \
    or the group's userFilter.";

/// The groups of a configuration import: each group with its id (left out: a new
/// one), and the nestings between them, by id.
#[derive(Debug, Default)]
pub struct GroupsImport {
    pub groups: Vec<(Option<Uuid>, GroupFields)>,
    pub nestings: Vec<Nesting>,
}

/// A refusal of the group named in a request body's `id`.
fn refused_id(kind: FieldErrorKind, message: impl Into<String>) -> Error {
    Error::invalid(FieldError::new("id", kind, message))
}

/// The group named in a request body, or a 400 naming `id` (as PingOne answers a
/// reference to nothing).
fn referenced(group: Result<Group, StoreError>) -> Result<Group> {
    group.map_err(|e| match e {
        StoreError::NotFound => refused_id(FieldErrorKind::Invalid, NO_SUCH_GROUP),
        other => other.into(),
    })
}

/// A store's answer to writing a group, as the client hears it.
fn written(write: Result<GroupWrite, StoreError>) -> Result<()> {
    let limit = |target: &str, message: String| {
        Err(Error::invalid(FieldError::new(target, FieldErrorKind::LimitExceeded, message)))
    };
    match write.map_err(Error::conflict_on("name", NAME_TAKEN))? {
        GroupWrite::Written => Ok(()),
        GroupWrite::TooManyGroups => {
            limit("name", format!("An environment may hold at most {MAX_GROUPS_PER_ENVIRONMENT} groups."))
        }
        GroupWrite::TooManyDynamicGroups => limit(
            "userFilter",
            format!("An environment may hold at most {MAX_DYNAMIC_GROUPS_PER_ENVIRONMENT} groups with a userFilter."),
        ),
    }
}

/// Memberships worked out whole, in group id order, served a page at a time as a
/// stored list is.
async fn page_of(
    memberships: &[Membership],
    filter: Option<&Filter>,
    request: PageRequest,
) -> Result<CountedPage<Membership>> {
    let fetch = |page: PageRequest| {
        let rows = memberships.iter().filter(|m| page.after.is_none_or(|after| m.group.id > after));
        let rows = rows.take(page.fetch_limit() as usize).cloned().collect();
        std::future::ready(Ok::<_, Error>(Page::from_overfetch(rows, page)))
    };
    page_matching(filter, request, fetch, |m| m.group.id).await
}

impl Credd {
    pub async fn create_group(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        fields: GroupFields,
    ) -> Result<Group> {
        self.existing_environment(principal, environment_id).await?;
        if let Some(population_id) = fields.population_id {
            self.store.population(environment_id, population_id).await.map_err(|e| match e {
                StoreError::NotFound => Error::invalid(FieldError::invalid("population.id", NO_SUCH_POPULATION)),
                other => other.into(),
            })?;
        }
        let group = Group::new(new_id(), environment_id, fields, now());
        written(self.store.create_group(&group).await)?;
        Ok(group)
    }

    pub async fn groups(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        filter: Option<&Filter>,
        page: PageRequest,
    ) -> Result<CountedPage<Group>> {
        self.existing_environment(principal, environment_id).await?;
        let fetch = |page| self.store.groups(environment_id, page);
        Ok(page_matching(filter, page, fetch, |g| g.id).await?)
    }

    pub async fn group(&self, principal: &Principal, environment_id: Uuid, id: Uuid) -> Result<Group> {
        principal.require_manage(environment_id)?;
        Ok(self.store.group(environment_id, id).await?)
    }

    /// How many users are in the group, however they are in it (PingOne's
    /// `totalMemberCounts.users`): its direct members and those of the groups nested in
    /// it, and every user a `userFilter` among them selects, each once.
    pub async fn group_total_users(&self, group: &Group) -> Result<usize> {
        let below = self.store.groups_below(group.environment_id, group.id).await?;
        let ids: Vec<Uuid> = below.iter().map(|g| g.id).collect();
        let mut members: HashSet<Uuid> =
            self.store.direct_members(group.environment_id, &ids).await?.into_iter().collect();
        let dynamic: Vec<_> = below.iter().filter_map(|g| g.dynamic()).collect();
        if !dynamic.is_empty() {
            let mut request = PageRequest::first(MAX_LIMIT);
            loop {
                let page = self.store.users(group.environment_id, &UserFilter::default(), request).await?;
                members.extend(page.items.iter().filter(|u| dynamic.iter().any(|g| g.selects(u))).map(|u| u.id));
                request.after = page.items.last().map(|u| u.id);
                if !page.has_more {
                    break;
                }
            }
        }
        Ok(members.len())
    }

    /// PUT: every field replaced; the population stays.
    pub async fn replace_group(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        id: Uuid,
        fields: GroupFields,
    ) -> Result<Group> {
        principal.require_manage(environment_id)?;
        let mut group = self.store.group(environment_id, id).await?;
        group.replace(fields, now())?;
        written(self.store.update_group(&group).await)?;
        Ok(group)
    }

    /// Deletes the group with its memberships and nestings.
    pub async fn delete_group(&self, principal: &Principal, environment_id: Uuid, id: Uuid) -> Result<()> {
        principal.require_manage(environment_id)?;
        Ok(self.store.delete_group(environment_id, id).await?)
    }

    /// Adds the user to the group directly. A dynamic group takes direct members too, as
    /// PingOne's do.
    pub async fn add_user_to_group(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        group_id: Uuid,
    ) -> Result<Membership> {
        principal.require_manage(environment_id)?;
        self.store.user(environment_id, user_id).await?;
        let group = referenced(self.store.group(environment_id, group_id).await)?;
        match self.store.add_group_member(environment_id, user_id, group_id).await? {
            MemberAdded::Added => Ok(Membership { group: group.node(), kind: MembershipType::Direct }),
            MemberAdded::AlreadyMember => Err(Error::Conflict(FieldError::new(
                "id",
                FieldErrorKind::NotUnique,
                "The user is already a member of this group.",
            ))),
            MemberAdded::OtherPopulation => Err(refused_id(
                FieldErrorKind::Invalid,
                "The group belongs to another population: a population's group holds only that population's users.",
            )),
            MemberAdded::LimitReached => Err(refused_id(
                FieldErrorKind::LimitExceeded,
                format!("A user may be added to at most {MAX_GROUPS_PER_USER} groups."),
            )),
        }
    }

    /// Removes the user's direct membership.
    pub async fn remove_user_from_group(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        group_id: Uuid,
    ) -> Result<()> {
        principal.require_manage(environment_id)?;
        match self.store.remove_group_member(environment_id, user_id, group_id).await {
            Err(StoreError::NotFound) => {
                self.user_membership(principal, environment_id, user_id, group_id).await?;
                Err(Error::bad_request("groupId", ONLY_DIRECT))
            }
            other => Ok(other?),
        }
    }

    /// A page of the groups the user is in, in id order (PingOne's `memberOfGroups`).
    pub async fn user_memberships(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        filter: Option<&Filter>,
        page: PageRequest,
    ) -> Result<CountedPage<Membership>> {
        let memberships = self.all_user_memberships(principal, environment_id, user_id).await?;
        page_of(&memberships, filter, page).await
    }

    /// One group the user is in, or not found.
    pub async fn user_membership(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        group_id: Uuid,
    ) -> Result<Membership> {
        let memberships = self.all_user_memberships(principal, environment_id, user_id).await?;
        memberships.into_iter().find(|m| m.group.id == group_id).ok_or(Error::NotFound)
    }

    async fn all_user_memberships(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
    ) -> Result<Vec<Membership>> {
        principal.require_manage(environment_id)?;
        let user = self.store.user(environment_id, user_id).await?;
        self.groups_of_user(&user).await
    }

    /// The groups `user` is in: those they were added to (`DIRECT`), those whose
    /// `userFilter` selects them, and every group those are nested in (`INDIRECT`).
    pub async fn groups_of_user(&self, user: &User) -> Result<Vec<Membership>> {
        Ok(self.groups_of_users(user.environment_id, std::slice::from_ref(user)).await?.remove(0))
    }

    /// [`Credd::groups_of_user`] for each of `users` (of one environment), in their
    /// order, with four reads whatever their number.
    pub async fn groups_of_users(&self, environment_id: Uuid, users: &[User]) -> Result<Vec<Vec<Membership>>> {
        let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
        let mut direct: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
        for (user, group) in self.store.direct_groups(environment_id, &ids).await? {
            direct.entry(user).or_default().insert(group);
        }
        let dynamic_groups = self.store.dynamic_groups(environment_id).await?;
        let dynamic_groups: Vec<_> = dynamic_groups.iter().filter_map(|g| g.dynamic()).collect();
        let selected: Vec<Vec<Uuid>> = users
            .iter()
            .map(|user| dynamic_groups.iter().filter(|g| g.selects(user)).map(|g| g.group.id).collect())
            .collect();
        let start: HashSet<Uuid> = direct.values().flatten().chain(selected.iter().flatten()).copied().collect();
        if start.is_empty() {
            return Ok(vec![Vec::new(); users.len()]);
        }
        let graph = self.store.groups_above(environment_id, &start.into_iter().collect::<Vec<_>>()).await?;
        let none = HashSet::new();
        Ok(users
            .iter()
            .zip(selected)
            .map(|(user, selected)| graph.memberships(direct.get(&user.id).unwrap_or(&none), selected))
            .collect())
    }

    /// A page of the environment's users (narrowed by the store as `narrowed` says) that
    /// `filter` selects when it reads their groups (`memberOfGroups[…]`): each chunk
    /// of users read is matched against their groups.
    pub(super) async fn users_in_groups(
        &self,
        environment_id: Uuid,
        narrowed: &UserFilter,
        filter: &Filter,
        page: PageRequest,
    ) -> Result<CountedPage<User>> {
        let fetch = |request| async move {
            let users = self.store.users(environment_id, narrowed, request).await?;
            let groups = self.groups_of_users(environment_id, &users.items).await?;
            let items = users.items.into_iter().zip(groups).map(|(user, groups)| UserInGroups { user, groups });
            Ok::<_, Error>(Page { items: items.collect(), has_more: users.has_more })
        };
        let counted = page_matching(Some(filter), page, fetch, |u| u.user.id).await?;
        counted.try_map(|u| Ok(u.user))
    }

    /// Nests the group in `outer_group_id`: the group's members become members of the
    /// outer group too. Cycles are allowed, as PingOne allows them.
    pub async fn nest_group(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        group_id: Uuid,
        outer_group_id: Uuid,
    ) -> Result<Membership> {
        principal.require_manage(environment_id)?;
        let group = self.store.group(environment_id, group_id).await?;
        let outer = referenced(self.store.group(environment_id, outer_group_id).await)?;
        if let Some(refusal) = group.nesting_refused(&outer) {
            return Err(refusal.into());
        }
        match self.store.add_group_nesting(environment_id, group_id, outer_group_id).await? {
            Nested::Nested => Ok(Membership { group: outer.node(), kind: MembershipType::Direct }),
            Nested::AlreadyNested => Err(Error::Conflict(FieldError::new(
                "id",
                FieldErrorKind::NotUnique,
                "The group is already nested in this group.",
            ))),
            Nested::LimitReached => Err(refused_id(
                FieldErrorKind::LimitExceeded,
                format!("A group may be nested in at most {MAX_OUTER_GROUPS_PER_GROUP} groups."),
            )),
        }
    }

    /// A page of the groups the group is in, in id order.
    pub async fn group_nestings(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        group_id: Uuid,
        filter: Option<&Filter>,
        page: PageRequest,
    ) -> Result<CountedPage<Membership>> {
        let nestings = self.all_group_nestings(principal, environment_id, group_id).await?;
        page_of(&nestings, filter, page).await
    }

    /// The groups the group is in: those it is nested in (`DIRECT`) and every group
    /// those are nested in (`INDIRECT`), in id order, never the group itself.
    async fn all_group_nestings(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        group_id: Uuid,
    ) -> Result<Vec<Membership>> {
        principal.require_manage(environment_id)?;
        self.store.group(environment_id, group_id).await?;
        let graph = self.store.groups_above(environment_id, &[group_id]).await?;
        let direct: HashSet<Uuid> = graph.nestings.iter().filter(|n| n.inner == group_id).map(|n| n.outer).collect();
        let mut memberships = graph.memberships(&direct, []);
        memberships.retain(|m| m.group.id != group_id);
        Ok(memberships)
    }

    pub async fn group_nesting(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        group_id: Uuid,
        outer_group_id: Uuid,
    ) -> Result<Membership> {
        let nestings = self.all_group_nestings(principal, environment_id, group_id).await?;
        nestings.into_iter().find(|m| m.group.id == outer_group_id).ok_or(Error::NotFound)
    }

    /// Undoes a direct nesting.
    pub async fn unnest_group(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        group_id: Uuid,
        outer_group_id: Uuid,
    ) -> Result<()> {
        principal.require_manage(environment_id)?;
        match self.store.remove_group_nesting(environment_id, group_id, outer_group_id).await {
            Err(StoreError::NotFound) => {
                self.group_nesting(principal, environment_id, group_id, outer_group_id).await?;
                Err(Error::bad_request("nestedGroupId", ONLY_DIRECT))
            }
            other => Ok(other?),
        }
    }

    /// The environment's groups, in id order, and every nesting between them.
    pub(super) async fn group_configuration(&self, environment_id: Uuid) -> Result<GroupConfiguration> {
        let groups = every_page(|page| self.store.groups(environment_id, page), |g| g.id).await?;
        let ids: Vec<Uuid> = groups.iter().map(|g| g.id).collect();
        let mut nestings =
            if ids.is_empty() { Vec::new() } else { self.store.groups_above(environment_id, &ids).await?.nestings };
        nestings.sort_by_key(|n| (n.inner, n.outer));
        Ok(GroupConfiguration { groups, nestings })
    }

    /// The groups an import leaves the environment with, made at `at`: the import's
    /// (`None`: the environment's stay as they are), of populations it will have (the
    /// import's, if it replaces them, whose default is the environment's default
    /// population), or an error in `errors` under the group's place in the document.
    /// Populations an import replaces take their groups with them, so without groups
    /// of its own it keeps those of the populations that stay.
    pub(super) async fn imported_groups(
        &self,
        environment_id: Uuid,
        import: Option<GroupsImport>,
        populations: Option<&[Population]>,
        at: Timestamp,
        errors: &mut Vec<FieldError>,
    ) -> Result<Option<GroupConfiguration>> {
        let default = self.store.default_population(environment_id).await?.id;
        let (kept, imported_default): (HashSet<Uuid>, Option<Uuid>) = match populations {
            Some(populations) => (
                populations.iter().filter(|p| !p.default).map(|p| p.id).chain([default]).collect(),
                populations.iter().find(|p| p.default).map(|p| p.id),
            ),
            None => {
                let all = every_page(|page| self.store.populations(environment_id, page), |p| p.id).await?;
                (all.into_iter().map(|p| p.id).collect(), None)
            }
        };
        let stays = |population_id: Option<Uuid>| population_id.is_none_or(|p| kept.contains(&p));
        let Some(import) = import else {
            if populations.is_none() {
                return Ok(None);
            }
            let mut current = self.group_configuration(environment_id).await?;
            current.groups.retain(|g| stays(g.population_id));
            let ids: HashSet<Uuid> = current.groups.iter().map(|g| g.id).collect();
            current.nestings.retain(|n| ids.contains(&n.inner) && ids.contains(&n.outer));
            return Ok(Some(current));
        };
        let groups = import
            .groups
            .into_iter()
            .enumerate()
            .map(|(i, (id, mut fields))| {
                // The import's default population is the environment's.
                if fields.population_id.is_some() && fields.population_id == imported_default {
                    fields.population_id = Some(default);
                }
                if !stays(fields.population_id) {
                    errors.push(FieldError::invalid(&format!("{GROUPS}[{i}].population.id"), NO_SUCH_POPULATION));
                }
                Group::new(id.unwrap_or_else(new_id), environment_id, fields, at)
            })
            .collect();
        Ok(Some(GroupConfiguration { groups, nestings: import.nestings }))
    }
}
