//! OAuth applications.

use uuid::Uuid;

use crate::application::{Application, TokenEndpointAuthMethod};
use crate::store::{StoreError, StoreResult};
use crate::time::Timestamp;

pub struct ApplicationRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub token_endpoint_auth_method: String,
    pub secret_hash: Vec<u8>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<ApplicationRecord<Id>> for Application {
    type Error = StoreError;

    fn try_from(row: ApplicationRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            name: row.name,
            description: row.description,
            enabled: row.enabled,
            token_endpoint_auth_method: StoreError::parse_stored(
                "token endpoint auth method",
                &row.token_endpoint_auth_method,
                TokenEndpointAuthMethod::parse,
            )?,
            secret_hash: row.secret_hash,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}
