//! Environments and their signing keys.

use uuid::Uuid;

use crate::environment::{Environment, EnvironmentType, Region};
use crate::signing_key::SigningKey;
use crate::store::{StoreError, StoreResult};
use crate::time::Timestamp;

pub struct EnvironmentRecord<Id> {
    pub id: Id,
    pub name: String,
    pub description: Option<String>,
    pub kind: String,
    pub region: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<EnvironmentRecord<Id>> for Environment {
    type Error = StoreError;

    fn try_from(row: EnvironmentRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            name: row.name,
            description: row.description,
            kind: StoreError::parse_stored("environment type", &row.kind, EnvironmentType::parse)?,
            region: StoreError::parse_stored("region", &row.region, Region::parse)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub struct SigningKeyRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub public_key: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    pub created_at: Timestamp,
}

impl<Id: Into<Uuid>> From<SigningKeyRecord<Id>> for SigningKey {
    fn from(row: SigningKeyRecord<Id>) -> Self {
        Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            public_key: row.public_key,
            sealed_private_key: row.sealed_private_key,
            created_at: row.created_at,
        }
    }
}
