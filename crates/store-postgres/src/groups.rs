//! Groups, their direct members and their nestings, on Postgres.
//!
//! A write that checks before it writes (a name, a count, a population) first locks the
//! row the check is about, so a concurrent write of the same kind waits and then sees
//! this one.

use domain::StoreError;
use domain::configuration::GroupConfiguration;
use domain::group::{
    Group, GroupGraph, GroupNode, GroupWrite, MAX_DYNAMIC_GROUPS_PER_ENVIRONMENT, MAX_GROUPS_PER_ENVIRONMENT,
    MAX_GROUPS_PER_USER, MAX_OUTER_GROUPS_PER_GROUP, MemberAdded, Nested,
};
use domain::page::{Page, PageRequest};
use domain::store::{GroupStore, StoreResult};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::rows::{GroupNodeRow, GroupRow, NestingRow};
use crate::{PgStore, after_key, backend, one_row};

/// Holds the environment's row until `conn`'s transaction ends, which serializes the
/// environment's group writes (their names and counts) without holding up writes that
/// only point at the environment. `NotFound` when there is none.
async fn lock_groups_of(conn: &mut PgConnection, environment_id: Uuid) -> StoreResult<()> {
    sqlx::query_scalar!("SELECT 1 AS found FROM environments WHERE id = $1 FOR NO KEY UPDATE", environment_id)
        .fetch_optional(conn)
        .await
        .map_err(backend)?
        .map(drop)
        .ok_or(StoreError::NotFound)
}

/// `Conflict` when another group of the environment holds the group's name in a way
/// PingOne refuses: in the same population, or either of them an environment group.
async fn refuse_taken_name(conn: &mut PgConnection, group: &Group) -> StoreResult<()> {
    let taken = sqlx::query_scalar!(
        r#"SELECT 1 AS taken FROM groups
           WHERE environment_id = $1 AND lower(name COLLATE "C") = lower($2 COLLATE "C") AND id <> $3
             AND (population_id IS NULL OR $4::uuid IS NULL OR population_id = $4)
           LIMIT 1"#,
        group.environment_id,
        group.name,
        group.id,
        group.population_id,
    )
    .fetch_optional(conn)
    .await
    .map_err(backend)?;
    if taken.is_some() { Err(StoreError::Conflict) } else { Ok(()) }
}

/// The environment's groups with a `userFilter`, besides `except`.
async fn dynamic_group_count(conn: &mut PgConnection, environment_id: Uuid, except: Uuid) -> StoreResult<i64> {
    sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "count!" FROM groups WHERE environment_id = $1 AND user_filter IS NOT NULL AND id <> $2"#,
        environment_id,
        except
    )
    .fetch_one(conn)
    .await
    .map_err(backend)
}

/// Writes the group, in `conn`'s transaction.
async fn insert_group(conn: &mut PgConnection, group: &Group) -> StoreResult<()> {
    let custom_data = group.custom_data.as_ref().map(|c| c.as_str());
    sqlx::query!(
        "INSERT INTO groups (id, environment_id, population_id, name, description, user_filter, external_id,
                             custom_data, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        group.id,
        group.environment_id,
        group.population_id,
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
/// `conn`'s transaction, which holds the environment's row.
pub(crate) async fn replace_groups(
    conn: &mut PgConnection,
    environment_id: Uuid,
    groups: &GroupConfiguration,
) -> StoreResult<()> {
    sqlx::query!("DELETE FROM groups WHERE environment_id = $1", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    for group in &groups.groups {
        insert_group(conn, group).await?;
    }
    let (inner, outer): (Vec<Uuid>, Vec<Uuid>) = groups.nestings.iter().map(|n| (n.inner, n.outer)).unzip();
    sqlx::query!(
        "INSERT INTO group_nestings (group_id, outer_group_id) SELECT * FROM UNNEST($1::uuid[], $2::uuid[])",
        &inner,
        &outer
    )
    .execute(conn)
    .await
    .map(drop)
    .map_err(backend)
}

impl GroupStore for PgStore {
    async fn create_group(&self, group: &Group) -> StoreResult<GroupWrite> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        lock_groups_of(&mut tx, group.environment_id).await?;
        let held = sqlx::query_scalar!(
            r#"SELECT COUNT(*) AS "count!" FROM groups WHERE environment_id = $1"#,
            group.environment_id
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
        tx.commit().await.map_err(backend)?;
        Ok(GroupWrite::Written)
    }

    async fn group(&self, environment_id: Uuid, id: Uuid) -> StoreResult<Group> {
        sqlx::query_as!(
            GroupRow,
            r#"SELECT id, environment_id, population_id, name, description, user_filter, external_id, custom_data,
                      (SELECT COUNT(*) FROM group_memberships m WHERE m.group_id = g.id) AS "direct_users!",
                      (SELECT COUNT(*) FROM group_nestings n WHERE n.outer_group_id = g.id) AS "direct_groups!",
                      created_at, updated_at
               FROM groups g WHERE environment_id = $1 AND id = $2"#,
            environment_id,
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(Into::into)
        .ok_or(StoreError::NotFound)
    }

    async fn groups(&self, environment_id: Uuid, page: PageRequest) -> StoreResult<Page<Group>> {
        let (after, limit) = (after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            GroupRow,
            r#"SELECT id, environment_id, population_id, name, description, user_filter, external_id, custom_data,
                      (SELECT COUNT(*) FROM group_memberships m WHERE m.group_id = g.id) AS "direct_users!",
                      (SELECT COUNT(*) FROM group_nestings n WHERE n.outer_group_id = g.id) AS "direct_groups!",
                      created_at, updated_at
               FROM groups g WHERE environment_id = $1 AND id > $2 ORDER BY id LIMIT $3"#,
            environment_id,
            after,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(Page::from_overfetch(rows.into_iter().map(Into::into).collect(), page))
    }

    async fn update_group(&self, group: &Group) -> StoreResult<GroupWrite> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        lock_groups_of(&mut tx, group.environment_id).await?;
        if group.user_filter.is_some()
            && dynamic_group_count(&mut tx, group.environment_id, group.id).await? >= MAX_DYNAMIC_GROUPS_PER_ENVIRONMENT
        {
            return Ok(GroupWrite::TooManyDynamicGroups);
        }
        refuse_taken_name(&mut tx, group).await?;
        let custom_data = group.custom_data.as_ref().map(|c| c.as_str());
        let result = sqlx::query!(
            "UPDATE groups SET name = $3, description = $4, user_filter = $5, external_id = $6, custom_data = $7,
                               updated_at = $8
             WHERE environment_id = $1 AND id = $2",
            group.environment_id,
            group.id,
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
        tx.commit().await.map_err(backend)?;
        Ok(GroupWrite::Written)
    }

    async fn delete_group(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()> {
        let result = sqlx::query!("DELETE FROM groups WHERE environment_id = $1 AND id = $2", environment_id, id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        one_row(result)
    }

    async fn add_group_member(&self, environment_id: Uuid, user_id: Uuid, group_id: Uuid) -> StoreResult<MemberAdded> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // Holding the user's row serializes this user's additions (the count below stays
        // true) and holds off a change of population until the membership is written,
        // so the change then takes the membership away as it should.
        let user_population = sqlx::query_scalar!(
            "SELECT population_id FROM users WHERE environment_id = $1 AND id = $2 FOR NO KEY UPDATE",
            environment_id,
            user_id
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        let group_population = sqlx::query_scalar!(
            "SELECT population_id FROM groups WHERE environment_id = $1 AND id = $2",
            environment_id,
            group_id
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        if group_population.is_some_and(|p| p != user_population) {
            return Ok(MemberAdded::OtherPopulation);
        }
        let held = sqlx::query!(
            r#"SELECT COUNT(*) AS "count!", COALESCE(bool_or(group_id = $2), FALSE) AS "already!"
               FROM group_memberships WHERE user_id = $1"#,
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
        sqlx::query!("INSERT INTO group_memberships (user_id, group_id) VALUES ($1, $2)", user_id, group_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(MemberAdded::Added)
    }

    async fn remove_group_member(&self, environment_id: Uuid, user_id: Uuid, group_id: Uuid) -> StoreResult<()> {
        let result = sqlx::query!(
            "DELETE FROM group_memberships
             WHERE user_id = $2 AND group_id = $3 AND group_id IN (SELECT id FROM groups WHERE environment_id = $1)",
            environment_id,
            user_id,
            group_id
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn direct_groups(&self, environment_id: Uuid, user_ids: &[Uuid]) -> StoreResult<Vec<(Uuid, Uuid)>> {
        let rows = sqlx::query!(
            "SELECT m.user_id, m.group_id FROM group_memberships m JOIN groups g ON g.id = m.group_id
             WHERE g.environment_id = $1 AND m.user_id = ANY($2)
             ORDER BY m.user_id, m.group_id",
            environment_id,
            user_ids
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(|row| (row.user_id, row.group_id)).collect())
    }

    async fn direct_members(&self, environment_id: Uuid, group_ids: &[Uuid]) -> StoreResult<Vec<Uuid>> {
        sqlx::query_scalar!(
            "SELECT DISTINCT m.user_id FROM group_memberships m JOIN groups g ON g.id = m.group_id
             WHERE g.environment_id = $1 AND m.group_id = ANY($2)
             ORDER BY m.user_id",
            environment_id,
            group_ids
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)
    }

    async fn dynamic_groups(&self, environment_id: Uuid) -> StoreResult<Vec<GroupNode>> {
        let rows = sqlx::query_as!(
            GroupNodeRow,
            "SELECT id, name, population_id, user_filter FROM groups
             WHERE environment_id = $1 AND user_filter IS NOT NULL ORDER BY id",
            environment_id
        )
        .fetch_all(&self.pool)
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // Holding the inner group's row serializes its nestings: the count below stays true.
        sqlx::query_scalar!(
            "SELECT 1 AS found FROM groups WHERE environment_id = $1 AND id = $2 FOR NO KEY UPDATE",
            environment_id,
            group_id
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        sqlx::query_scalar!(
            "SELECT 1 AS found FROM groups WHERE environment_id = $1 AND id = $2",
            environment_id,
            outer_group_id
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        let held = sqlx::query!(
            r#"SELECT COUNT(*) AS "count!", COALESCE(bool_or(outer_group_id = $2), FALSE) AS "already!"
               FROM group_nestings WHERE group_id = $1"#,
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
        sqlx::query!("INSERT INTO group_nestings (group_id, outer_group_id) VALUES ($1, $2)", group_id, outer_group_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(Nested::Nested)
    }

    async fn remove_group_nesting(
        &self,
        environment_id: Uuid,
        group_id: Uuid,
        outer_group_id: Uuid,
    ) -> StoreResult<()> {
        let result = sqlx::query!(
            "DELETE FROM group_nestings
             WHERE group_id = $2 AND outer_group_id = $3 AND group_id IN (SELECT id FROM groups WHERE environment_id = $1)",
            environment_id,
            group_id,
            outer_group_id
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn groups_above(&self, environment_id: Uuid, group_ids: &[Uuid]) -> StoreResult<GroupGraph> {
        // One snapshot for both reads: the nestings are those between the groups read.
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        // UNION (not UNION ALL) keeps each group once, which ends the walk on a cycle.
        let groups = sqlx::query_as!(
            GroupNodeRow,
            r#"WITH RECURSIVE above (id) AS (
                   SELECT id FROM groups WHERE environment_id = $1 AND id = ANY($2)
                   UNION
                   SELECT n.outer_group_id FROM group_nestings n JOIN above a ON n.group_id = a.id
               )
               SELECT g.id AS "id!", g.name AS "name!", g.population_id, g.user_filter
               FROM groups g JOIN above a ON a.id = g.id ORDER BY g.id"#,
            environment_id,
            group_ids
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let nestings = sqlx::query_as!(
            NestingRow,
            r#"WITH RECURSIVE above (id) AS (
                   SELECT id FROM groups WHERE environment_id = $1 AND id = ANY($2)
                   UNION
                   SELECT n.outer_group_id FROM group_nestings n JOIN above a ON n.group_id = a.id
               )
               SELECT n.group_id AS "group_id!", n.outer_group_id AS "outer_group_id!"
               FROM group_nestings n JOIN above a ON a.id = n.group_id"#,
            environment_id,
            group_ids
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(GroupGraph {
            groups: groups.into_iter().map(Into::into).collect(),
            nestings: nestings.into_iter().map(Into::into).collect(),
        })
    }

    async fn groups_below(&self, environment_id: Uuid, group_id: Uuid) -> StoreResult<Vec<GroupNode>> {
        let rows = sqlx::query_as!(
            GroupNodeRow,
            r#"WITH RECURSIVE below (id) AS (
                   SELECT id FROM groups WHERE environment_id = $1 AND id = $2
                   UNION
                   SELECT n.group_id FROM group_nestings n JOIN below b ON n.outer_group_id = b.id
               )
               SELECT g.id AS "id!", g.name AS "name!", g.population_id, g.user_filter
               FROM groups g JOIN below b ON b.id = g.id ORDER BY g.id"#,
            environment_id,
            group_id
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
