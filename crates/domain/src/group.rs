//! Groups of an environment's users. A user is in a group three ways: added to it (a
//! direct member), selected by its `userFilter` (a dynamic member), or as a member of a
//! group nested in it, at any depth. A population's group holds only that population's
//! users. Nestings may form cycles, as PingOne allows: every group on a cycle then has
//! the members of all of them.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use crate::filter::Filter;
use crate::time::Timestamp;
use crate::user::User;
use crate::validation::{FieldError, FieldErrorKind, bounded_text};

/// Groups one environment may hold (PingOne allows 100,000; a staging directory needs
/// fewer, and a user's groups are worked out over them).
pub const MAX_GROUPS_PER_ENVIRONMENT: i64 = 10_000;
/// Groups with a `userFilter` in one environment: each user's groups are worked out by
/// evaluating every one of them.
pub const MAX_DYNAMIC_GROUPS_PER_ENVIRONMENT: i64 = 100;
/// Groups one user may be added to.
pub const MAX_GROUPS_PER_USER: i64 = 1_000;
/// Groups one group may be nested in directly.
pub const MAX_OUTER_GROUPS_PER_GROUP: i64 = 100;
/// The longest `customData`, as JSON.
pub const MAX_CUSTOM_DATA_BYTES: usize = 16 * 1024;

/// The users-list attribute a value path reads a user's groups through.
pub const MEMBER_OF_GROUPS: &str = "memberOfGroups";

/// Unique whatever the case of A to Z among the environment's groups and among each
/// population's, and a population's group may not take an environment group's name;
/// non-blank, at most 256 characters.
pub fn group_name(value: &str) -> Result<String, FieldError> {
    bounded_text("name", value, 256)
}

pub fn group_description(value: &str) -> Result<String, FieldError> {
    bounded_text("description", value, 1024)
}

/// A client's own identifier for the group, kept as sent.
pub fn external_id(value: &str) -> Result<String, FieldError> {
    bounded_text("externalId", value, 1024)
}

/// `customData`: a JSON object of the client's, kept as sent (as its JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomData(String);

impl CustomData {
    pub fn parse(value: &serde_json::Value) -> Result<Self, FieldError> {
        const TARGET: &str = "customData";
        if !value.is_object() {
            return Err(FieldError::invalid(TARGET, "customData must be a JSON object."));
        }
        let text = value.to_string();
        if text.len() > MAX_CUSTOM_DATA_BYTES {
            return Err(FieldError::new(
                TARGET,
                FieldErrorKind::TooLong,
                format!("customData must be at most {MAX_CUSTOM_DATA_BYTES} bytes of JSON."),
            ));
        }
        Ok(Self(text))
    }

    /// As a store keeps it.
    pub fn stored(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A dynamic group's `userFilter`: a filter the users list takes, kept as the client
/// wrote it. It may not select by group membership (`memberOfGroups`), so no group's
/// members depend on another's dynamic ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFilterText(String);

impl UserFilterText {
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        const TARGET: &str = "userFilter";
        let filter = Filter::parse::<User>(value).map_err(|error| FieldError { target: TARGET.into(), ..error })?;
        if filter.reads(MEMBER_OF_GROUPS) {
            return Err(FieldError::invalid(TARGET, "A userFilter cannot select users by their groups."));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a client sets on a group: all of it on create, and on PUT (a full replace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupFields {
    pub name: String,
    pub description: Option<String>,
    /// A population of the group's environment; set on create only.
    pub population_id: Option<Uuid>,
    pub user_filter: Option<UserFilterText>,
    pub external_id: Option<String>,
    pub custom_data: Option<CustomData>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub population_id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    pub user_filter: Option<String>,
    pub external_id: Option<String>,
    pub custom_data: Option<CustomData>,
    /// Users added to the group and groups nested in it directly, counted when read;
    /// writes ignore them.
    pub direct_users: i64,
    pub direct_groups: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Group {
    pub fn new(id: Uuid, environment_id: Uuid, fields: GroupFields, now: Timestamp) -> Self {
        let mut group = Self {
            id,
            environment_id,
            population_id: fields.population_id,
            name: String::new(),
            description: None,
            user_filter: None,
            external_id: None,
            custom_data: None,
            direct_users: 0,
            direct_groups: 0,
            created_at: now,
            updated_at: now,
        };
        group.set(fields, now);
        group
    }

    /// PUT: every field is the new one, and a field left out is cleared. The population
    /// stays: a group never moves between populations or to or from the environment,
    /// so naming another is refused; leaving it out keeps it.
    pub fn replace(&mut self, fields: GroupFields, now: Timestamp) -> Result<(), FieldError> {
        if fields.population_id.is_some_and(|p| Some(p) != self.population_id) {
            return Err(FieldError::invalid(
                "population.id",
                "A group cannot move to another population, or between a population and the environment.",
            ));
        }
        self.set(fields, now);
        Ok(())
    }

    fn set(&mut self, fields: GroupFields, now: Timestamp) {
        let GroupFields { name, description, population_id: _, user_filter, external_id, custom_data } = fields;
        self.name = name;
        self.description = description;
        self.user_filter = user_filter.map(|f| f.0);
        self.external_id = external_id;
        self.custom_data = custom_data;
        self.updated_at = now;
    }

    /// How membership answers name the group.
    pub fn node(&self) -> GroupNode {
        GroupNode {
            id: self.id,
            name: self.name.clone(),
            population_id: self.population_id,
            user_filter: self.user_filter.clone(),
        }
    }

    /// Why `self` cannot be nested in `outer`, if it cannot: a group is not nested in
    /// itself, and a population's group takes only groups of its own population (an
    /// environment group takes any).
    pub fn nesting_refused(&self, outer: &Group) -> Option<FieldError> {
        let message = if self.id == outer.id {
            "A group cannot be nested in itself."
        } else if outer.population_id.is_some() && self.population_id.is_none() {
            "An environment group cannot be nested in a population's group."
        } else if outer.population_id.is_some() && self.population_id != outer.population_id {
            "A population's group can be nested only in a group of the same population or in an environment group."
        } else {
            return None;
        };
        Some(FieldError::invalid("id", message))
    }
}

crate::text_enum! {
    /// How a user or group is in a group: added to it, or through its `userFilter` or a
    /// nested group.
    pub enum MembershipType {
        Direct => "DIRECT",
        Indirect => "INDIRECT",
    }
}

/// A group as a user's or a group's memberships name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupNode {
    pub id: Uuid,
    pub name: String,
    pub population_id: Option<Uuid>,
    pub user_filter: Option<String>,
}

impl GroupNode {
    /// The group's `userFilter`, read once to be tried on many users; `None` for a
    /// group without one, or with one this version can no longer read (it selects
    /// nobody).
    pub fn dynamic(&self) -> Option<DynamicGroup<'_>> {
        let filter = Filter::parse::<User>(self.user_filter.as_deref()?).ok()?;
        Some(DynamicGroup { group: self, filter })
    }
}

/// A group with a `userFilter`, ready to select users.
#[derive(Debug, Clone)]
pub struct DynamicGroup<'a> {
    pub group: &'a GroupNode,
    filter: Filter,
}

impl DynamicGroup<'_> {
    /// Whether the filter selects `user`, who must be in the group's population for a
    /// population's group.
    pub fn selects(&self, user: &User) -> bool {
        self.group.population_id.is_none_or(|p| p == user.population_id) && self.filter.matches(user)
    }
}

/// `inner` is nested in `outer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nesting {
    pub inner: Uuid,
    pub outer: Uuid,
}

/// Some groups and the groups they are nested in, at any depth, with the nestings
/// between them: what a store reads to work out memberships.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupGraph {
    pub groups: Vec<GroupNode>,
    pub nestings: Vec<Nesting>,
}

impl GroupGraph {
    /// Every group of the graph that `start` leads to (`start` included), each once.
    fn reach(&self, start: impl IntoIterator<Item = Uuid>) -> HashSet<Uuid> {
        let mut outer: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for nesting in &self.nestings {
            outer.entry(nesting.inner).or_default().push(nesting.outer);
        }
        let mut seen = HashSet::new();
        let mut queue: Vec<Uuid> = start.into_iter().collect();
        while let Some(id) = queue.pop() {
            if seen.insert(id) {
                queue.extend(outer.get(&id).into_iter().flatten().copied());
            }
        }
        seen
    }

    /// The groups a member of the `direct` groups is in, in id order: `direct` ones
    /// [`MembershipType::Direct`], the groups they are nested in `Indirect`.
    pub fn memberships(&self, direct: &HashSet<Uuid>, others: impl IntoIterator<Item = Uuid>) -> Vec<Membership> {
        let reached = self.reach(direct.iter().copied().chain(others));
        let mut memberships: Vec<Membership> = self
            .groups
            .iter()
            .filter(|g| reached.contains(&g.id))
            .map(|g| Membership {
                group: g.clone(),
                kind: if direct.contains(&g.id) { MembershipType::Direct } else { MembershipType::Indirect },
            })
            .collect();
        memberships.sort_by_key(|m| m.group.id);
        memberships
    }
}

/// A group a user or group is in, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub group: GroupNode,
    pub kind: MembershipType,
}

/// A user and the groups they are in, as the users list filters them
/// (`memberOfGroups[id eq "…"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInGroups {
    pub user: User,
    pub groups: Vec<Membership>,
}

/// What adding a user to a group came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberAdded {
    Added,
    /// The user had been added to it before.
    AlreadyMember,
    /// It is a population's group, and the user is in another population.
    OtherPopulation,
    /// The user was added to [`MAX_GROUPS_PER_USER`] groups.
    LimitReached,
}

/// What nesting a group in another came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nested {
    Nested,
    AlreadyNested,
    /// The group is nested in [`MAX_OUTER_GROUPS_PER_GROUP`] groups.
    LimitReached,
}

/// What writing a group came to, besides its name being taken (`Conflict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupWrite {
    Written,
    /// The environment holds [`MAX_GROUPS_PER_ENVIRONMENT`] groups.
    TooManyGroups,
    /// The environment holds [`MAX_DYNAMIC_GROUPS_PER_ENVIRONMENT`] groups with a
    /// `userFilter`.
    TooManyDynamicGroups,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{new_id, now};
    use crate::user::{Change, Email, UserPatch, Username};

    fn fields(name: &str) -> GroupFields {
        GroupFields {
            name: name.into(),
            description: None,
            population_id: None,
            user_filter: None,
            external_id: None,
            custom_data: None,
        }
    }

    fn node(n: u128, population_id: Option<Uuid>, user_filter: Option<&str>) -> GroupNode {
        GroupNode {
            id: Uuid::from_u128(n),
            name: format!("g{n}"),
            population_id,
            user_filter: user_filter.map(Into::into),
        }
    }

    #[test]
    fn a_user_filter_is_a_users_filter_without_groups() {
        assert!(UserFilterText::parse(r#"email sw "ada""#).is_ok());
        let error = UserFilterText::parse(r#"title eq "Manager""#).unwrap_err();
        assert_eq!((error.target.as_str(), error.kind), ("userFilter", FieldErrorKind::InvalidFilter));
        assert!(UserFilterText::parse("").is_err());
    }

    #[test]
    fn custom_data_is_a_bounded_object() {
        assert_eq!(
            CustomData::parse(&serde_json::json!({"a": [1, {"b": null}]})).unwrap().as_str(),
            r#"{"a":[1,{"b":null}]}"#
        );
        assert!(CustomData::parse(&serde_json::json!([1])).is_err());
        assert!(CustomData::parse(&serde_json::json!("text")).is_err());
        let big = serde_json::json!({ "a": "x".repeat(MAX_CUSTOM_DATA_BYTES) });
        assert_eq!(CustomData::parse(&big).unwrap_err().kind, FieldErrorKind::TooLong);
    }

    #[test]
    fn a_group_keeps_its_population_and_replaces_the_rest() {
        let population = new_id();
        let mut group =
            Group::new(new_id(), new_id(), GroupFields { population_id: Some(population), ..fields("a") }, now());
        group.description = Some("kept?".into());
        group.replace(fields("b"), now()).unwrap();
        assert_eq!(
            (group.name.as_str(), group.description.as_ref(), group.population_id),
            ("b", None, Some(population))
        );
        let moved = GroupFields { population_id: Some(new_id()), ..fields("b") };
        assert_eq!(group.replace(moved, now()).unwrap_err().target, "population.id");
    }

    #[test]
    fn nestings_keep_population_groups_to_their_population() {
        let (p, q) = (Some(new_id()), Some(new_id()));
        let group = |population_id| Group::new(new_id(), new_id(), GroupFields { population_id, ..fields("g") }, now());
        let (environment, in_p, also_in_p, in_q) = (group(None), group(p), group(p), group(q));
        assert!(in_p.nesting_refused(&environment).is_none());
        assert!(in_p.nesting_refused(&also_in_p).is_none());
        assert!(environment.nesting_refused(&group(None)).is_none());
        assert!(environment.nesting_refused(&in_p).is_some());
        assert!(in_q.nesting_refused(&in_p).is_some());
        assert!(in_p.nesting_refused(&in_p).is_some());
    }

    #[test]
    fn dynamic_groups_select_users_of_their_population() {
        let selects = |node: GroupNode, user: &User| node.dynamic().is_some_and(|d| d.selects(user));
        let population = new_id();
        let email = Change::Set(Email::parse("email", "ada@example.com").unwrap());
        let ada = User::new(
            new_id(),
            new_id(),
            population,
            Username::parse("ada").unwrap(),
            UserPatch { email, ..Default::default() },
            now(),
        );
        assert!(selects(node(1, None, Some(r#"email sw "ada@""#)), &ada));
        assert!(selects(node(1, Some(population), Some(r#"username eq "ADA""#)), &ada));
        assert!(!selects(node(1, Some(new_id()), Some(r#"username eq "ada""#)), &ada));
        assert!(!selects(node(1, None, Some(r#"username eq "bob""#)), &ada));
        assert!(!selects(node(1, None, None), &ada));
        assert!(!selects(node(1, None, Some("no longer a filter")), &ada));
    }

    #[test]
    fn memberships_reach_outer_groups_through_cycles() {
        // 1 is in 2, 2 in 3, 3 in 2 (a cycle), 4 in 5; 6 stands alone.
        let graph = GroupGraph {
            groups: (1..=6).rev().map(|n| node(n, None, None)).collect(),
            nestings: [(1, 2), (2, 3), (3, 2), (4, 5)]
                .map(|(inner, outer)| Nesting { inner: Uuid::from_u128(inner), outer: Uuid::from_u128(outer) })
                .into(),
        };
        let kinds = |direct: &[u128], others: &[u128]| {
            let direct = direct.iter().map(|n| Uuid::from_u128(*n)).collect();
            graph
                .memberships(&direct, others.iter().map(|n| Uuid::from_u128(*n)))
                .into_iter()
                .map(|m| (m.group.id.as_u128(), m.kind))
                .collect::<Vec<_>>()
        };
        use MembershipType::{Direct, Indirect};
        assert_eq!(kinds(&[1], &[]), [(1, Direct), (2, Indirect), (3, Indirect)]);
        assert_eq!(kinds(&[3], &[4]), [(2, Indirect), (3, Direct), (4, Indirect), (5, Indirect)]);
        assert_eq!(kinds(&[2, 3], &[]), [(2, Direct), (3, Direct)]);
        assert_eq!(kinds(&[], &[]), []);
    }
}
