//! Populations. `alternativeIdentifiers`, read and written only whole, is stored as a
//! JSON array.

use uuid::Uuid;

use super::credential_types::{decode_json, encode_json};
use crate::population::Population;
use crate::store::StoreResult;
use crate::time::Timestamp;

pub struct PopulationRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub name: String,
    pub description: Option<String>,
    pub is_default: bool,
    pub password_policy_id: Option<Id>,
    pub theme_id: Option<Id>,
    pub preferred_language: Option<String>,
    pub alternative_identifiers: String,
    pub user_count: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The population's `alternativeIdentifiers` as stored.
pub fn encode_alternative_identifiers(population: &Population) -> String {
    encode_json(&population.alternative_identifiers)
}

impl<Id: Into<Uuid>> TryFrom<PopulationRecord<Id>> for Population {
    type Error = crate::StoreError;

    fn try_from(row: PopulationRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            name: row.name,
            description: row.description,
            default: row.is_default,
            password_policy_id: row.password_policy_id.map(Into::into),
            theme_id: row.theme_id.map(Into::into),
            preferred_language: row.preferred_language,
            alternative_identifiers: decode_json("population alternative identifiers", &row.alternative_identifiers)?,
            user_count: row.user_count,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}
