//! Populations, on Postgres.

use domain::StoreError;
use domain::page::{Page, PageRequest};
use domain::population::Population;
use domain::store::{PopulationStore, StoreResult};
use domain::stored::encode_alternative_identifiers;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::rows::PopulationRow;
use crate::{PgStore, after_key, backend, one_row};

/// Writes a new population, taking the default flag from the environment's current
/// default when it is marked default; in `conn`'s transaction.
pub(crate) async fn insert_population(conn: &mut PgConnection, population: &Population) -> StoreResult<()> {
    if population.default {
        clear_default(conn, population).await?;
    }
    sqlx::query!(
        "INSERT INTO populations (id, environment_id, name, description, is_default, password_policy_id, theme_id,
                                  preferred_language, alternative_identifiers, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        population.id,
        population.environment_id,
        population.name,
        population.description,
        population.default,
        population.password_policy_id,
        population.theme_id,
        population.preferred_language,
        encode_alternative_identifiers(population),
        population.created_at,
        population.updated_at,
    )
    .execute(&mut *conn)
    .await
    .map(drop)
    .map_err(backend)
}

/// Makes the environment's other populations not default, before `population` becomes
/// it (the unique index allows one default at any moment). Moves of the flag in one
/// environment take turns on its row (a lock that foreign key checks do not wait for):
/// two at once would each clear the default they saw and both set their own.
async fn clear_default(conn: &mut PgConnection, population: &Population) -> StoreResult<()> {
    sqlx::query_scalar!(
        "SELECT 1 AS found FROM environments WHERE id = $1 FOR NO KEY UPDATE",
        population.environment_id
    )
    .fetch_optional(&mut *conn)
    .await
    .map_err(backend)?
    .ok_or(StoreError::NotFound)?;
    sqlx::query!(
        "UPDATE populations SET is_default = FALSE WHERE environment_id = $1 AND is_default AND id <> $2",
        population.environment_id,
        population.id
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
    conn: &mut PgConnection,
    environment_id: Uuid,
    populations: &[Population],
) -> StoreResult<()> {
    sqlx::query!("DELETE FROM populations WHERE environment_id = $1 AND NOT is_default", environment_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    for population in populations.iter().filter(|p| p.default) {
        sqlx::query!(
            "UPDATE populations SET name = $2, description = $3, password_policy_id = $4, theme_id = $5,
                                    preferred_language = $6, alternative_identifiers = $7, updated_at = $8
             WHERE environment_id = $1 AND is_default",
            environment_id,
            population.name,
            population.description,
            population.password_policy_id,
            population.theme_id,
            population.preferred_language,
            encode_alternative_identifiers(population),
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

impl PopulationStore for PgStore {
    async fn create_population(&self, population: &Population) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        insert_population(&mut tx, population).await?;
        tx.commit().await.map_err(backend)
    }

    async fn population(&self, environment_id: Uuid, id: Uuid) -> StoreResult<Population> {
        sqlx::query_as!(
            PopulationRow,
            r#"SELECT p.id, p.environment_id, p.name, p.description, p.is_default, p.password_policy_id, p.theme_id,
                      p.preferred_language, p.alternative_identifiers, p.created_at, p.updated_at,
                      (SELECT COUNT(*) FROM users u WHERE u.population_id = p.id) AS "user_count!"
               FROM populations p WHERE p.environment_id = $1 AND p.id = $2"#,
            environment_id,
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn default_population(&self, environment_id: Uuid) -> StoreResult<Population> {
        sqlx::query_as!(
            PopulationRow,
            r#"SELECT p.id, p.environment_id, p.name, p.description, p.is_default, p.password_policy_id, p.theme_id,
                      p.preferred_language, p.alternative_identifiers, p.created_at, p.updated_at,
                      (SELECT COUNT(*) FROM users u WHERE u.population_id = p.id) AS "user_count!"
               FROM populations p WHERE p.environment_id = $1 AND p.is_default"#,
            environment_id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn populations(&self, environment_id: Uuid, page: PageRequest) -> StoreResult<Page<Population>> {
        let (after, limit) = (after_key(&page), page.fetch_limit());
        let rows = sqlx::query_as!(
            PopulationRow,
            r#"SELECT p.id, p.environment_id, p.name, p.description, p.is_default, p.password_policy_id, p.theme_id,
                      p.preferred_language, p.alternative_identifiers, p.created_at, p.updated_at,
                      (SELECT COUNT(*) FROM users u WHERE u.population_id = p.id) AS "user_count!"
               FROM populations p WHERE p.environment_id = $1 AND p.id > $2
               ORDER BY p.id LIMIT $3"#,
            environment_id,
            after,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn update_population(&self, population: &Population) -> StoreResult<()> {
        // A population not found rolls the cleared flag back with the transaction.
        let mut tx = self.pool.begin().await.map_err(backend)?;
        if population.default {
            clear_default(&mut tx, population).await?;
        }
        let result = sqlx::query!(
            "UPDATE populations SET name = $3, description = $4, is_default = (is_default OR $5), password_policy_id = $6,
                                    theme_id = $7, preferred_language = $8, alternative_identifiers = $9, updated_at = $10
             WHERE environment_id = $1 AND id = $2",
            population.environment_id,
            population.id,
            population.name,
            population.description,
            population.default,
            population.password_policy_id,
            population.theme_id,
            population.preferred_language,
            encode_alternative_identifiers(population),
            population.updated_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        one_row(result)?;
        tx.commit().await.map_err(backend)
    }

    async fn delete_population(&self, environment_id: Uuid, id: Uuid) -> StoreResult<()> {
        // One statement: a user added meanwhile fails the foreign key check at its end.
        let result = sqlx::query!(
            "DELETE FROM populations p WHERE p.environment_id = $1 AND p.id = $2 AND NOT p.is_default
               AND NOT EXISTS (SELECT 1 FROM users u WHERE u.population_id = p.id)",
            environment_id,
            id
        )
        .execute(&self.pool)
        .await;
        match result {
            Err(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => return Err(StoreError::Conflict),
            result => {
                if result.map_err(backend)?.rows_affected() == 1 {
                    return Ok(());
                }
            }
        }
        let exists = sqlx::query_scalar!(
            "SELECT 1 AS found FROM populations WHERE environment_id = $1 AND id = $2",
            environment_id,
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Err(if exists.is_some() { StoreError::Conflict } else { StoreError::NotFound })
    }
}
