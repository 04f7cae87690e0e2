//! Users, on SQLite.

use domain::StoreError;
use domain::page::{Page, PageRequest};
use domain::store::{StoreResult, UserStore};
use domain::user::{User, UserFilter};
use uuid::Uuid;

use crate::rows::UserRow;
use crate::{SqliteStore, after_key, backend, one_row};

impl UserStore for SqliteStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let (id, environment_id, population_id) =
            (user.id.hyphenated(), user.environment_id.hyphenated(), user.population_id.hyphenated());
        // Only a population of the user's own environment takes them.
        let result = self
            .writer
            .execute(sqlx::query!(
                "INSERT INTO users (id, environment_id, population_id, enabled, username, email, mobile_phone,
                                    primary_phone, locale, preferred_language, name_given, name_family,
                                    name_formatted, created_at, updated_at)
                 SELECT ?1, ?2, p.id, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15
                 FROM populations p WHERE p.environment_id = ?2 AND p.id = ?3",
                id,
                environment_id,
                population_id,
                user.enabled,
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
            ))
            .await?;
        one_row(result)
    }

    async fn user(&self, environment_id: Uuid, id: Uuid) -> StoreResult<User> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        sqlx::query_as!(
            UserRow,
            r#"SELECT id, environment_id, population_id AS "population_id!", enabled, username, email, mobile_phone,
                      primary_phone, locale, preferred_language, name_given, name_family, name_formatted, created_at,
                      updated_at
               FROM users WHERE environment_id = ?1 AND id = ?2"#,
            environment_id,
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .map(Into::into)
        .ok_or(StoreError::NotFound)
    }

    async fn users(&self, environment_id: Uuid, filter: &UserFilter, page: PageRequest) -> StoreResult<Page<User>> {
        let (environment_id, after, limit) = (environment_id.hyphenated(), after_key(&page), page.fetch_limit());
        let population_id = filter.population_id.map(|id| id.hyphenated());
        let rows = sqlx::query_as!(
            UserRow,
            r#"SELECT id, environment_id, population_id AS "population_id!", enabled, username, email, mobile_phone,
                      primary_phone, locale, preferred_language, name_given, name_family, name_formatted, created_at,
                      updated_at
               FROM users
               WHERE environment_id = ?1 AND id > ?2
                 AND (?3 IS NULL OR lower(username) = lower(?3))
                 AND (?4 IS NULL OR population_id = ?4)
               ORDER BY id LIMIT ?5"#,
            environment_id,
            after,
            filter.username,
            population_id,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Ok(Page::from_overfetch(rows.into_iter().map(Into::into).collect(), page))
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        let (id, environment_id, population_id) =
            (user.id.hyphenated(), user.environment_id.hyphenated(), user.population_id.hyphenated());
        let result = self
            .writer
            .execute(sqlx::query!(
                "UPDATE users SET username = ?3, email = ?4, mobile_phone = ?5, primary_phone = ?6, locale = ?7,
                                  preferred_language = ?8, name_given = ?9, name_family = ?10, name_formatted = ?11,
                                  updated_at = ?12, population_id = ?13, enabled = ?14
                 WHERE environment_id = ?1 AND id = ?2
                   AND EXISTS (SELECT 1 FROM populations p WHERE p.environment_id = ?1 AND p.id = ?13)",
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
                population_id,
                user.enabled,
            ))
            .await?;
        one_row(result)
    }

    async fn delete_user(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        let result = self
            .writer
            .execute(sqlx::query!("DELETE FROM users WHERE environment_id = ?1 AND id = ?2", environment_id, id))
            .await?;
        one_row(result)
    }

    async fn count_users(&self, environment_id: Uuid) -> StoreResult<u64> {
        let environment_id = environment_id.hyphenated();
        let count = sqlx::query_scalar!("SELECT COUNT(*) FROM users WHERE environment_id = ?1", environment_id)
            .fetch_one(&self.reader)
            .await
            .map_err(backend)?;
        Ok(count.unsigned_abs())
    }
}
