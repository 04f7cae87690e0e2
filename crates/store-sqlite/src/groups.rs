//! Groups, their direct members and their nestings, on SQLite.
//!
//! The one writer runs one transaction at a time, so what a write checks first (a name,
//! a count, a population) is what it writes against.

use domain::StoreError;
use domain::configuration::GroupConfiguration;
use domain::group::{
    Group, GroupGraph, GroupNode, GroupWrite, MAX_DYNAMIC_GROUPS_PER_ENVIRONMENT, MAX_GROUPS_PER_ENVIRONMENT,
    MAX_GROUPS_PER_USER, MAX_OUTER_GROUPS_PER_GROUP, MemberAdded, Nested,
};
use domain::page::{Page, PageRequest};
use domain::store::{GroupStore, StoreResult};
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::rows::{GroupNodeRow, GroupRow, NestingRow};
use crate::{SqliteStore, after_key, backend, one_row};

/// Ids as a JSON array, which `json_each` turns into rows: any number of ids in one
/// statement.
fn json_ids(ids: &[Uuid]) -> String {
    let quoted: Vec<String> = ids.iter().map(|id| format!("\"{}\"", id.hyphenated())).collect();
    format!("[{}]", quoted.join(","))
}

/// `Conflict` when another group of the environment holds the group's name in a way
/// PingOne refuses: in the same population, or either of them an environment group.
async fn refuse_taken_name(conn: &mut SqliteConnection, group: &Group) -> StoreResult<()> {
    let (environment_id, id) = (group.environment_id.hyphenated(), group.id.hyphenated());
    let population_id = group.population_id.map(|p| p.hyphenated());
    let taken = sqlx::query_scalar!(
        "SELECT 1 AS taken FROM groups
         WHERE environment_id = ?1 AND lower(name) = lower(?2) AND id <> ?3
           AND (population_id IS NULL OR ?4 IS NULL OR population_id = ?4)
         LIMIT 1",
        environment_id,
        group.name,
        id,
        population_id,
    )
    .fetch_optional(conn)
    .await
    .map_err(backend)?;
    if taken.is_some() { Err(StoreError::Conflict) } else { Ok(()) }
}

/// The environment's groups with a `userFilter`, besides `except`.
async fn dynamic_group_count(conn: &mut SqliteConnection, environment_id: Uuid, except: Uuid) -> StoreResult<i64> {
    let (environment_id, except) = (environment_id.hyphenated(), except.hyphenated());
    sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "count!: i64" FROM groups
           WHERE environment_id = ?1 AND user_filter IS NOT NULL AND id <> ?2"#,
        environment_id,
        except
    )
    .fetch_one(conn)
    .await
    .map_err(backend)
}

/// Writes the group, in `conn`'s transaction.
async fn insert_group(conn: &mut SqliteConnection, group: &Group) -> StoreResult<()> {
    let (id, environment_id) = (group.id.hyphenated(), group.environment_id.hyphenated());
    let population_id = group.population_id.map(|p| p.hyphenated());
    let custom_data = group.custom_data.as_ref().map(|c| c.as_str());
    sqlx::query!(
        "INSERT INTO groups (id, environment_id, population_id, name, description, user_filter, external_id,
                             custom_data, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        id,
        environment_id,
        population_id,
        group.name,
        group.description,
        group.user_filter,
        group.external_id,
        custom_data,
        group.created_at,
        group.updated_at,
    )
    .execute(conn)
    .await
    .map(drop)
    .map_err(backend)
}

/// Replaces the environment's groups and their nestings (a configuration import), in
/// `conn`'s transaction.
pub(crate) async fn replace_groups(
    conn: &mut SqliteConnection,
    environment_id: Uuid,
    groups: &GroupConfiguration,
) -> StoreResult<()> {
    let environment = environment_id.hyphenated();
    sqlx::query!("DELETE FROM groups WHERE environment_id = ?1", environment)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    for group in &groups.groups {
        insert_group(conn, group).await?;
    }
    for nesting in &groups.nestings {
        let (inner, outer) = (nesting.inner.hyphenated(), nesting.outer.hyphenated());
        sqlx::query!("INSERT INTO group_nestings (group_id, outer_group_id) VALUES (?1, ?2)", inner, outer)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

impl GroupStore for SqliteStore {
    async fn create_group(&self, group: &Group) -> StoreResult<GroupWrite> {
        let mut tx = self.writer.begin().await?;
        let environment_id = group.environment_id.hyphenated();
        let held = sqlx::query_scalar!(
            r#"SELECT COUNT(*) AS "count!: i64" FROM groups WHERE environment_id = ?1"#,
            environment_id
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        if held >= MAX_GROUPS_PER_ENVIRONMENT {
            return Ok(GroupWrite::TooManyGroups);
        }
        if group.user_filter.is_some()
            && dynamic_group_count(&mut tx, group.environment_id, group.id).await? >= MAX_DYNAMIC_GROUPS_PER_ENVIRONMENT
        {
            return Ok(GroupWrite::TooManyDynamicGroups);
        }
        refuse_taken_name(&mut tx, group).await?;
        insert_group(&mut tx, group).await?;
        tx.commit().await?;
        Ok(GroupWrite::Written)
    }

    async fn group(&self, environment_id: Uuid, id: Uuid) -> StoreResult<Group> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        sqlx::query_as!(
            GroupRow,
            r#"SELECT id, environment_id, population_id, name, description, user_filter, external_id, custom_data,
                      (SELECT COUNT(*) FROM group_memberships m WHERE m.group_id = g.id) AS "direct_users!: i64",
                      (SELECT COUNT(*) FROM group_nestings n WHERE n.outer_group_id = g.id) AS "direct_groups!: i64",
                      created_at, updated_at
               FROM groups g WHERE environment_id = ?1 AND id = ?2"#,
            environment_id,
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .map(Into::into)
        .ok_or(StoreError::NotFound)
    }

    async fn groups(&self, environment_id: Uuid, page: PageRequest) -> StoreResult<Page<Group>> {
        let (environment_id, after, limit) = (environment_id.hyphenated(), after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            GroupRow,
            r#"SELECT id, environment_id, population_id, name, description, user_filter, external_id, custom_data,
                      (SELECT COUNT(*) FROM group_memberships m WHERE m.group_id = g.id) AS "direct_users!: i64",
                      (SELECT COUNT(*) FROM group_nestings n WHERE n.outer_group_id = g.id) AS "direct_groups!: i64",
                      created_at, updated_at
               FROM groups g WHERE environment_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"#,
            environment_id,
            after,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Ok(Page::from_overfetch(rows.into_iter().map(Into::into).collect(), page))
    }

    async fn update_group(&self, group: &Group) -> StoreResult<GroupWrite> {
        let mut tx = self.writer.begin().await?;
        if group.user_filter.is_some()
            && dynamic_group_count(&mut tx, group.environment_id, group.id).await? >= MAX_DYNAMIC_GROUPS_PER_ENVIRONMENT
        {
            return Ok(GroupWrite::TooManyDynamicGroups);
        }
        refuse_taken_name(&mut tx, group).await?;
        let (environment_id, id) = (group.environment_id.hyphenated(), group.id.hyphenated());
        let custom_data = group.custom_data.as_ref().map(|c| c.as_str());
        let result = sqlx::query!(
            "UPDATE groups SET name = ?3, description = ?4, user_filter = ?5, external_id = ?6, custom_data = ?7,
                               updated_at = ?8
             WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            id,
            group.name,
            group.description,
            group.user_filter,
            group.external_id,
            custom_data,
            group.updated_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        tx.commit().await?;
        Ok(GroupWrite::Written)
    }

    async fn delete_group(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        let result = self
            .writer
            .execute(sqlx::query!("DELETE FROM groups WHERE environment_id = ?1 AND id = ?2", environment_id, id))
            .await?;
        one_row(result)
    }

    async fn add_group_member(&self, environment_id: Uuid, user_id: Uuid, group_id: Uuid) -> StoreResult<MemberAdded> {
        let (environment_id, user_id, group_id) =
            (environment_id.hyphenated(), user_id.hyphenated(), group_id.hyphenated());
        let mut tx = self.writer.begin().await?;
        let user_population = sqlx::query_scalar!(
            "SELECT population_id FROM users WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            user_id
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        let group_population = sqlx::query_scalar!(
            "SELECT population_id FROM groups WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            group_id
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        if group_population.is_some_and(|p| Some(p) != user_population) {
            return Ok(MemberAdded::OtherPopulation);
        }
        let held = sqlx::query!(
            r#"SELECT COUNT(*) AS "count!: i64", COALESCE(SUM(group_id = ?2), 0) AS "already!: bool"
               FROM group_memberships WHERE user_id = ?1"#,
            user_id,
            group_id
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        if held.already {
            return Ok(MemberAdded::AlreadyMember);
        }
        if held.count >= MAX_GROUPS_PER_USER {
            return Ok(MemberAdded::LimitReached);
        }
        sqlx::query!("INSERT INTO group_memberships (user_id, group_id) VALUES (?1, ?2)", user_id, group_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await?;
        Ok(MemberAdded::Added)
    }

    async fn remove_group_member(&self, environment_id: Uuid, user_id: Uuid, group_id: Uuid) -> StoreResult<()> {
        let (environment_id, user_id, group_id) =
            (environment_id.hyphenated(), user_id.hyphenated(), group_id.hyphenated());
        let result = self
            .writer
            .execute(sqlx::query!(
                "DELETE FROM group_memberships
                 WHERE user_id = ?2 AND group_id = ?3 AND group_id IN (SELECT id FROM groups WHERE environment_id = ?1)",
                environment_id,
                user_id,
                group_id
            ))
            .await?;
        one_row(result)
    }

    async fn direct_groups(&self, environment_id: Uuid, user_ids: &[Uuid]) -> StoreResult<Vec<(Uuid, Uuid)>> {
        let (environment_id, user_ids) = (environment_id.hyphenated(), json_ids(user_ids));
        let rows = sqlx::query!(
            "SELECT m.user_id, m.group_id FROM group_memberships m JOIN groups g ON g.id = m.group_id
             WHERE g.environment_id = ?1 AND m.user_id IN (SELECT value FROM json_each(?2))
             ORDER BY m.user_id, m.group_id",
            environment_id,
            user_ids
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(|row| (row.user_id.into(), row.group_id.into())).collect())
    }

    async fn direct_members(&self, environment_id: Uuid, group_ids: &[Uuid]) -> StoreResult<Vec<Uuid>> {
        let (environment_id, group_ids) = (environment_id.hyphenated(), json_ids(group_ids));
        let rows = sqlx::query_scalar!(
            "SELECT DISTINCT m.user_id FROM group_memberships m JOIN groups g ON g.id = m.group_id
             WHERE g.environment_id = ?1 AND m.group_id IN (SELECT value FROM json_each(?2))
             ORDER BY m.user_id",
            environment_id,
            group_ids
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn dynamic_groups(&self, environment_id: Uuid) -> StoreResult<Vec<GroupNode>> {
        let environment_id = environment_id.hyphenated();
        let rows = sqlx::query_as!(
            GroupNodeRow,
            "SELECT id, name, population_id, user_filter FROM groups
             WHERE environment_id = ?1 AND user_filter IS NOT NULL ORDER BY id",
            environment_id
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn add_group_nesting(
        &self,
        environment_id: Uuid,
        group_id: Uuid,
        outer_group_id: Uuid,
    ) -> StoreResult<Nested> {
        let (environment_id, group_id, outer_group_id) =
            (environment_id.hyphenated(), group_id.hyphenated(), outer_group_id.hyphenated());
        let mut tx = self.writer.begin().await?;
        let found = sqlx::query_scalar!(
            r#"SELECT COUNT(*) AS "count!: i64" FROM groups WHERE environment_id = ?1 AND id IN (?2, ?3)"#,
            environment_id,
            group_id,
            outer_group_id
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        if found < 2 {
            return Err(StoreError::NotFound);
        }
        let held = sqlx::query!(
            r#"SELECT COUNT(*) AS "count!: i64", COALESCE(SUM(outer_group_id = ?2), 0) AS "already!: bool"
               FROM group_nestings WHERE group_id = ?1"#,
            group_id,
            outer_group_id
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        if held.already {
            return Ok(Nested::AlreadyNested);
        }
        if held.count >= MAX_OUTER_GROUPS_PER_GROUP {
            return Ok(Nested::LimitReached);
        }
        sqlx::query!("INSERT INTO group_nestings (group_id, outer_group_id) VALUES (?1, ?2)", group_id, outer_group_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await?;
        Ok(Nested::Nested)
    }

    async fn remove_group_nesting(
        &self,
        environment_id: Uuid,
        group_id: Uuid,
        outer_group_id: Uuid,
    ) -> StoreResult<()> {
        let (environment_id, group_id, outer_group_id) =
            (environment_id.hyphenated(), group_id.hyphenated(), outer_group_id.hyphenated());
        let result = self
            .writer
            .execute(sqlx::query!(
                "DELETE FROM group_nestings
                 WHERE group_id = ?2 AND outer_group_id = ?3
                   AND group_id IN (SELECT id FROM groups WHERE environment_id = ?1)",
                environment_id,
                group_id,
                outer_group_id
            ))
            .await?;
        one_row(result)
    }

    async fn groups_above(&self, environment_id: Uuid, group_ids: &[Uuid]) -> StoreResult<GroupGraph> {
        let (environment_id, group_ids) = (environment_id.hyphenated(), json_ids(group_ids));
        // One read transaction: the nestings are those between the groups read.
        let mut tx = self.reader.begin().await.map_err(backend)?;
        // UNION (not UNION ALL) keeps each group once, which ends the walk on a cycle.
        let groups = sqlx::query_as!(
            GroupNodeRow,
            "WITH RECURSIVE above (id) AS (
                 SELECT id FROM groups WHERE environment_id = ?1 AND id IN (SELECT value FROM json_each(?2))
                 UNION
                 SELECT n.outer_group_id FROM group_nestings n JOIN above a ON n.group_id = a.id
             )
             SELECT g.id, g.name, g.population_id, g.user_filter FROM groups g JOIN above a ON a.id = g.id
             ORDER BY g.id",
            environment_id,
            group_ids
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let nestings = sqlx::query_as!(
            NestingRow,
            "WITH RECURSIVE above (id) AS (
                 SELECT id FROM groups WHERE environment_id = ?1 AND id IN (SELECT value FROM json_each(?2))
                 UNION
                 SELECT n.outer_group_id FROM group_nestings n JOIN above a ON n.group_id = a.id
             )
             SELECT n.group_id, n.outer_group_id FROM group_nestings n JOIN above a ON a.id = n.group_id",
            environment_id,
            group_ids
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        Ok(GroupGraph {
            groups: groups.into_iter().map(Into::into).collect(),
            nestings: nestings.into_iter().map(Into::into).collect(),
        })
    }

    async fn groups_below(&self, environment_id: Uuid, group_id: Uuid) -> StoreResult<Vec<GroupNode>> {
        let (environment_id, group_id) = (environment_id.hyphenated(), group_id.hyphenated());
        let rows = sqlx::query_as!(
            GroupNodeRow,
            "WITH RECURSIVE below (id) AS (
                 SELECT id FROM groups WHERE environment_id = ?1 AND id = ?2
                 UNION
                 SELECT n.group_id FROM group_nestings n JOIN below b ON n.outer_group_id = b.id
             )
             SELECT g.id, g.name, g.population_id, g.user_filter FROM groups g JOIN below b ON b.id = g.id
             ORDER BY g.id",
            environment_id,
            group_id
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
