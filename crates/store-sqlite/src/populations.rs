//! Populations, on SQLite.

use domain::StoreError;
use domain::page::{Page, PageRequest};
use domain::population::Population;
use domain::store::{PopulationStore, StoreResult};
use domain::stored::encode_alternative_identifiers;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::rows::PopulationRow;
use crate::{SqliteStore, after_key, backend, one_row};

/// Writes a new population, taking the default flag from the environment's current
/// default when it is marked default; in `conn`'s transaction.
pub(crate) async fn insert_population(conn: &mut SqliteConnection, population: &Population) -> StoreResult<()> {
    let (id, environment_id) = (population.id.hyphenated(), population.environment_id.hyphenated());
    if population.default {
        clear_default(conn, population).await?;
    }
    let (password_policy_id, theme_id) =
        (population.password_policy_id.map(|id| id.hyphenated()), population.theme_id.map(|id| id.hyphenated()));
    let alternative_identifiers = encode_alternative_identifiers(population);
    sqlx::query!(
        "INSERT INTO populations (id, environment_id, name, description, is_default, password_policy_id, theme_id,
                                  preferred_language, alternative_identifiers, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        id,
        environment_id,
        population.name,
        population.description,
        population.default,
        password_policy_id,
        theme_id,
        population.preferred_language,
        alternative_identifiers,
        population.created_at,
        population.updated_at,
    )
    .execute(&mut *conn)
    .await
    .map(drop)
    .map_err(backend)
}

/// Makes the environment's other populations not default, before `population` becomes
/// it (the unique index allows one default at any moment).
async fn clear_default(conn: &mut SqliteConnection, population: &Population) -> StoreResult<()> {
    let (id, environment_id) = (population.id.hyphenated(), population.environment_id.hyphenated());
    sqlx::query!(
        "UPDATE populations SET is_default = FALSE WHERE environment_id = ?1 AND is_default AND id <> ?2",
        environment_id,
        id
    )
    .execute(conn)
    .await
    .map(drop)
    .map_err(backend)
}

/// Replaces the environment's populations with `populations` (exactly one of them the
/// default), in `conn`'s transaction: the environment's default population takes the
/// settings of the one marked default and keeps its id; the others are deleted and
/// the rest written. The environment has no users (see `replace_configuration`).
pub(crate) async fn replace_populations(
    conn: &mut SqliteConnection,
    environment_id: Uuid,
    populations: &[Population],
) -> StoreResult<()> {
    let environment_id = environment_id.hyphenated();
    sqlx::query!("DELETE FROM populations WHERE environment_id = ?1 AND NOT is_default", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    for population in populations.iter().filter(|p| p.default) {
        let (password_policy_id, theme_id) =
            (population.password_policy_id.map(|id| id.hyphenated()), population.theme_id.map(|id| id.hyphenated()));
        let alternative_identifiers = encode_alternative_identifiers(population);
        sqlx::query!(
            "UPDATE populations SET name = ?2, description = ?3, password_policy_id = ?4, theme_id = ?5,
                                    preferred_language = ?6, alternative_identifiers = ?7, updated_at = ?8
             WHERE environment_id = ?1 AND is_default",
            environment_id,
            population.name,
            population.description,
            password_policy_id,
            theme_id,
            population.preferred_language,
            alternative_identifiers,
            population.updated_at,
        )
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    for population in populations.iter().filter(|p| !p.default) {
        insert_population(conn, population).await?;
    }
    Ok(())
}

impl PopulationStore for SqliteStore {
    async fn create_population(&self, population: &Population) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        insert_population(&mut tx, population).await?;
        tx.commit().await
    }

    async fn population(&self, environment_id: Uuid, id: Uuid) -> StoreResult<Population> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        sqlx::query_as!(
            PopulationRow,
            r#"SELECT p.id, p.environment_id, p.name, p.description, p.is_default, p.password_policy_id, p.theme_id,
                      p.preferred_language, p.alternative_identifiers, p.created_at, p.updated_at,
                      (SELECT COUNT(*) FROM users u WHERE u.population_id = p.id) AS "user_count!: i64"
               FROM populations p WHERE p.environment_id = ?1 AND p.id = ?2"#,
            environment_id,
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn default_population(&self, environment_id: Uuid) -> StoreResult<Population> {
        let environment_id = environment_id.hyphenated();
        sqlx::query_as!(
            PopulationRow,
            r#"SELECT p.id, p.environment_id, p.name, p.description, p.is_default, p.password_policy_id, p.theme_id,
                      p.preferred_language, p.alternative_identifiers, p.created_at, p.updated_at,
                      (SELECT COUNT(*) FROM users u WHERE u.population_id = p.id) AS "user_count!: i64"
               FROM populations p WHERE p.environment_id = ?1 AND p.is_default"#,
            environment_id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn populations(&self, environment_id: Uuid, page: PageRequest) -> StoreResult<Page<Population>> {
        let (environment_id, after, limit) = (environment_id.hyphenated(), after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            PopulationRow,
            r#"SELECT p.id, p.environment_id, p.name, p.description, p.is_default, p.password_policy_id, p.theme_id,
                      p.preferred_language, p.alternative_identifiers, p.created_at, p.updated_at,
                      (SELECT COUNT(*) FROM users u WHERE u.population_id = p.id) AS "user_count!: i64"
               FROM populations p WHERE p.environment_id = ?1 AND p.id > ?2
               ORDER BY p.id LIMIT ?3"#,
            environment_id,
            after,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn update_population(&self, population: &Population) -> StoreResult<()> {
        let (id, environment_id) = (population.id.hyphenated(), population.environment_id.hyphenated());
        let (password_policy_id, theme_id) =
            (population.password_policy_id.map(|id| id.hyphenated()), population.theme_id.map(|id| id.hyphenated()));
        let alternative_identifiers = encode_alternative_identifiers(population);
        // A population not found rolls the cleared flag back with the transaction.
        let mut tx = self.writer.begin().await?;
        if population.default {
            clear_default(&mut tx, population).await?;
        }
        let result = sqlx::query!(
            "UPDATE populations SET name = ?3, description = ?4, is_default = (is_default OR ?5), password_policy_id = ?6,
                                    theme_id = ?7, preferred_language = ?8, alternative_identifiers = ?9, updated_at = ?10
             WHERE environment_id = ?1 AND id = ?2",
            environment_id,
            id,
            population.name,
            population.description,
            population.default,
            password_policy_id,
            theme_id,
            population.preferred_language,
            alternative_identifiers,
            population.updated_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        tx.commit().await
    }

    async fn delete_population(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()> {
        let (environment_id, id) = (environment_id.hyphenated(), id.hyphenated());
        // The one writer runs one transaction at a time: no user joins the population
        // between the check and the delete.
        let mut tx = self.writer.begin().await?;
        let found = sqlx::query!(
            r#"SELECT is_default AS "is_default: bool",
                      EXISTS (SELECT 1 FROM users WHERE population_id = ?2) AS "has_users: bool"
               FROM populations WHERE environment_id = ?1 AND id = ?2"#,
            environment_id,
            id
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        if found.is_default || found.has_users {
            return Err(StoreError::Conflict);
        }
        let result = sqlx::query!("DELETE FROM populations WHERE environment_id = ?1 AND id = ?2", environment_id, id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        one_row(result)?;
        tx.commit().await
    }
}
