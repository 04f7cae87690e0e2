//! Groups, and the group nodes and nestings memberships are worked out over.

use uuid::Uuid;

use crate::group::{CustomData, Group, GroupNode, Nesting};
use crate::time::Timestamp;

pub struct GroupRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub population_id: Option<Id>,
    pub name: String,
    pub description: Option<String>,
    pub user_filter: Option<String>,
    pub external_id: Option<String>,
    pub custom_data: Option<String>,
    pub direct_users: i64,
    pub direct_groups: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> From<GroupRecord<Id>> for Group {
    fn from(row: GroupRecord<Id>) -> Self {
        Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            population_id: row.population_id.map(Into::into),
            name: row.name,
            description: row.description,
            user_filter: row.user_filter,
            external_id: row.external_id,
            custom_data: row.custom_data.map(CustomData::stored),
            direct_users: row.direct_users,
            direct_groups: row.direct_groups,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub struct GroupNodeRecord<Id> {
    pub id: Id,
    pub name: String,
    pub population_id: Option<Id>,
    pub user_filter: Option<String>,
}

impl<Id: Into<Uuid>> From<GroupNodeRecord<Id>> for GroupNode {
    fn from(row: GroupNodeRecord<Id>) -> Self {
        Self {
            id: row.id.into(),
            name: row.name,
            population_id: row.population_id.map(Into::into),
            user_filter: row.user_filter,
        }
    }
}

pub struct NestingRecord<Id> {
    pub group_id: Id,
    pub outer_group_id: Id,
}

impl<Id: Into<Uuid>> From<NestingRecord<Id>> for Nesting {
    fn from(row: NestingRecord<Id>) -> Self {
        Self { inner: row.group_id.into(), outer: row.outer_group_id.into() }
    }
}
