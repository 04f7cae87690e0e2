//! The environment's groups, the users added to them, and the groups nested in them.

use std::future::Future;

use uuid::Uuid;

use super::StoreResult;
use crate::group::{Group, GroupGraph, GroupNode, GroupWrite, MemberAdded, Nested};
use crate::page::{Page, PageRequest};

pub trait GroupStore {
    /// Within the environment's limits ([`crate::group::MAX_GROUPS_PER_ENVIRONMENT`],
    /// [`crate::group::MAX_DYNAMIC_GROUPS_PER_ENVIRONMENT`]). `Conflict` when the name
    /// is taken, whatever the case of A to Z: by a group of the same population, by an
    /// environment group, or (for an environment group) by any group. `NotFound`
    /// without the environment or the population.
    fn create_group(&self, group: &Group) -> impl Future<Output = StoreResult<GroupWrite>> + Send;
    /// With its direct counts.
    fn group(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<Group>> + Send;
    /// In id order, each with its direct counts.
    fn groups(&self, environment_id: Uuid, page: PageRequest) -> impl Future<Output = StoreResult<Page<Group>>> + Send;
    /// Writes every field but the population (which never changes), within the dynamic
    /// groups' limit. `Conflict` when the name is taken, as on create.
    fn update_group(&self, group: &Group) -> impl Future<Output = StoreResult<GroupWrite>> + Send;
    /// With its memberships and nestings, both ways.
    fn delete_group(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<()>> + Send;

    /// Adds the user to the group directly: `OtherPopulation` when it is a population's
    /// group and the user is in another (checked against the user as the write finds
    /// them), `LimitReached` at [`crate::group::MAX_GROUPS_PER_USER`]. `NotFound`
    /// without the user or the group in the environment.
    fn add_group_member(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        group_id: Uuid,
    ) -> impl Future<Output = StoreResult<MemberAdded>> + Send;
    /// `NotFound` unless the user was added to the group.
    fn remove_group_member(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        group_id: Uuid,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The groups each of the users was added to, as `(user, group)` pairs.
    fn direct_groups(
        &self,
        environment_id: Uuid,
        user_ids: &[Uuid],
    ) -> impl Future<Output = StoreResult<Vec<(Uuid, Uuid)>>> + Send;
    /// The users added to any of the groups, each once, in id order.
    fn direct_members(
        &self,
        environment_id: Uuid,
        group_ids: &[Uuid],
    ) -> impl Future<Output = StoreResult<Vec<Uuid>>> + Send;
    /// The environment's groups with a `userFilter`.
    fn dynamic_groups(&self, environment_id: Uuid) -> impl Future<Output = StoreResult<Vec<GroupNode>>> + Send;

    /// Nests `group_id` in `outer_group_id` (the caller has checked that the two may
    /// be), within [`crate::group::MAX_OUTER_GROUPS_PER_GROUP`]. `NotFound` without
    /// either group in the environment.
    fn add_group_nesting(
        &self,
        environment_id: Uuid,
        group_id: Uuid,
        outer_group_id: Uuid,
    ) -> impl Future<Output = StoreResult<Nested>> + Send;
    /// `NotFound` unless `group_id` is nested in `outer_group_id` directly.
    fn remove_group_nesting(
        &self,
        environment_id: Uuid,
        group_id: Uuid,
        outer_group_id: Uuid,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The groups of the environment among `group_ids`, the groups they are nested in
    /// at any depth, and the nestings between all these.
    fn groups_above(
        &self,
        environment_id: Uuid,
        group_ids: &[Uuid],
    ) -> impl Future<Output = StoreResult<GroupGraph>> + Send;
    /// The group and the groups nested in it at any depth, each once.
    fn groups_below(
        &self,
        environment_id: Uuid,
        group_id: Uuid,
    ) -> impl Future<Output = StoreResult<Vec<GroupNode>>> + Send;
}
