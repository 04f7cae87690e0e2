//! Users, on Postgres.

use domain::StoreError;
use domain::page::{Page, PageRequest};
use domain::store::{StoreResult, UserStore};
use domain::user::{User, UserFilter};
use uuid::Uuid;

use crate::rows::UserRow;
use crate::{PgStore, after_key, backend, one_row};

impl UserStore for PgStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let (id, environment_id) = (user.id, user.environment_id);
        sqlx::query!(
            "INSERT INTO users (id, environment_id, username, email, mobile_phone, primary_phone, locale,
                                preferred_language, name_given, name_family, name_formatted, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            id,
            environment_id,
            user.username,
            user.email,
            user.mobile_phone,
            user.primary_phone,
            user.locale,
            user.preferred_language,
            user.name_given,
            user.name_family,
            user.name_formatted,
            user.created_at,
            user.updated_at,
        )
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn user(&self, environment_id: Uuid, id: Uuid) -> StoreResult<User> {
        sqlx::query_as!(
            UserRow,
            "SELECT id, environment_id, username, email, mobile_phone, primary_phone, locale, preferred_language,
                    name_given, name_family, name_formatted, created_at, updated_at
             FROM users WHERE environment_id = $1 AND id = $2",
            environment_id,
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(Into::into)
        .ok_or(StoreError::NotFound)
    }

    async fn users(&self, environment_id: Uuid, filter: &UserFilter, page: PageRequest) -> StoreResult<Page<User>> {
        let (environment_id, after, limit) = (environment_id, after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            UserRow,
            r#"SELECT id, environment_id, username, email, mobile_phone, primary_phone, locale, preferred_language,
                      name_given, name_family, name_formatted, created_at, updated_at
               FROM users
               WHERE environment_id = $1 AND id > $2
                 AND ($3::text IS NULL OR lower(username COLLATE "C") = lower($3 COLLATE "C"))
               ORDER BY id LIMIT $4"#,
            environment_id,
            after,
            filter.username,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(Page::from_overfetch(rows.into_iter().map(Into::into).collect(), page))
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        let (id, environment_id) = (user.id, user.environment_id);
        let result = sqlx::query!(
            "UPDATE users SET username = $3, email = $4, mobile_phone = $5, primary_phone = $6, locale = $7,
                              preferred_language = $8, name_given = $9, name_family = $10, name_formatted = $11,
                              updated_at = $12
             WHERE environment_id = $1 AND id = $2",
            environment_id,
            id,
            user.username,
            user.email,
            user.mobile_phone,
            user.primary_phone,
            user.locale,
            user.preferred_language,
            user.name_given,
            user.name_family,
            user.name_formatted,
            user.updated_at,
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        one_row(result)
    }

    async fn delete_user(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()> {
        let result = sqlx::query!("DELETE FROM users WHERE environment_id = $1 AND id = $2", environment_id, id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        one_row(result)
    }

    async fn count_users(&self, environment_id: Uuid) -> StoreResult<u64> {
        let count =
            sqlx::query_scalar!(r#"SELECT COUNT(*) AS "count!" FROM users WHERE environment_id = $1"#, environment_id)
                .fetch_one(&self.pool)
                .await
                .map_err(backend)?;
        Ok(count.unsigned_abs())
    }
}
