//! Records as a store reads them: enum names still text, ids in whatever form the
//! database returns (`Uuid` on Postgres, hyphenated text on SQLite). Each store reads
//! into these with compile-time checked queries, and the conversions below, shared by
//! both stores, turn them into domain types.

use uuid::Uuid;

use crate::application::{Application, TokenEndpointAuthMethod};
use crate::environment::{Environment, EnvironmentType, Region};
use crate::job::{Job, JobStatus};
use crate::signing_key::SigningKey;
use crate::store::{StoreError, StoreResult};
use crate::time::Timestamp;
use crate::user::User;

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

pub struct UserRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub username: String,
    pub email: Option<String>,
    pub mobile_phone: Option<String>,
    pub primary_phone: Option<String>,
    pub locale: Option<String>,
    pub preferred_language: Option<String>,
    pub name_given: Option<String>,
    pub name_family: Option<String>,
    pub name_formatted: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> From<UserRecord<Id>> for User {
    fn from(row: UserRecord<Id>) -> Self {
        Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            username: row.username,
            email: row.email,
            mobile_phone: row.mobile_phone,
            primary_phone: row.primary_phone,
            locale: row.locale,
            preferred_language: row.preferred_language,
            name_given: row.name_given,
            name_family: row.name_family,
            name_formatted: row.name_formatted,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub struct JobRecord<Id> {
    pub id: Id,
    pub kind: String,
    pub payload: Vec<u8>,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: Timestamp,
    pub locked_until: Option<Timestamp>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<JobRecord<Id>> for Job {
    type Error = StoreError;

    fn try_from(row: JobRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            kind: row.kind,
            payload: row.payload,
            status: StoreError::parse_stored("job status", &row.status, JobStatus::parse)?,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            run_at: row.run_at,
            locked_until: row.locked_until,
            last_error: row.last_error,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}
