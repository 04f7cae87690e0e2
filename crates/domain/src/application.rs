//! Applications. credd knows worker applications: machine clients that obtain
//! access tokens with the client-credentials grant and manage their environment.

use uuid::Uuid;

use crate::time::Timestamp;
use crate::validation::{FieldError, bounded_text};

crate::text_enum! {
    /// How a worker presents its secret at the token endpoint.
    pub enum TokenEndpointAuthMethod {
        /// HTTP Basic: `Authorization: Basic base64(client_id:client_secret)`.
        ClientSecretBasic => "CLIENT_SECRET_BASIC",
        /// Form fields `client_id` and `client_secret`.
        ClientSecretPost => "CLIENT_SECRET_POST",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationName(String);

impl ApplicationName {
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        bounded_text("name", value, 256).map(Self)
    }
}

/// A worker application. Its id is its OAuth `client_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// Keyed hash of the client secret; the secret itself is shown once and never stored.
    pub secret_hash: Vec<u8>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What a client may set on an application (create, or full replace on update).
#[derive(Debug, Clone)]
pub struct ApplicationFields {
    pub name: ApplicationName,
    pub description: Option<String>,
    pub enabled: bool,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
}

impl Application {
    pub fn new(
        id: Uuid,
        environment_id: Uuid,
        fields: ApplicationFields,
        secret_hash: Vec<u8>,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            environment_id,
            name: fields.name.0,
            description: fields.description,
            enabled: fields.enabled,
            token_endpoint_auth_method: fields.token_endpoint_auth_method,
            secret_hash,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn replace(&mut self, fields: ApplicationFields, now: Timestamp) {
        self.name = fields.name.0;
        self.description = fields.description;
        self.enabled = fields.enabled;
        self.token_endpoint_auth_method = fields.token_endpoint_auth_method;
        self.updated_at = now;
    }
}
