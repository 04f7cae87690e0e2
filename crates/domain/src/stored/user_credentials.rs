//! User credentials and their provisioned copies.

use uuid::Uuid;

use crate::credential::{CredentialStatus, ProvisionStatus, ProvisionedCredential, UserCredential};
use crate::store::{StoreError, StoreResult};
use crate::time::Timestamp;

pub struct UserCredentialRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub user_id: Id,
    pub credential_type_id: Id,
    pub type_version: i64,
    pub type_version_id: Option<Id>,
    pub store_until_issued: bool,
    pub title: String,
    pub status: String,
    pub expires_at: Option<Timestamp>,
    pub notification: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<UserCredentialRecord<Id>> for UserCredential {
    type Error = StoreError;

    fn try_from(row: UserCredentialRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            user_id: row.user_id.into(),
            credential_type_id: row.credential_type_id.into(),
            type_version: row.type_version,
            type_version_id: row.type_version_id.map(Into::into),
            store_until_issued: row.store_until_issued,
            title: row.title,
            status: StoreError::parse_stored("credential status", &row.status, CredentialStatus::parse)?,
            expires_at: row.expires_at,
            notification: row.notification,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub struct ProvisionedCredentialRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub user_id: Id,
    pub credential_id: Id,
    pub wallet_id: Id,
    pub status: String,
    pub sealed_payload: Option<Vec<u8>>,
    pub delivered_at: Option<Timestamp>,
    pub delivery_error: Option<String>,
    pub delivery_job_id: Option<Id>,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<ProvisionedCredentialRecord<Id>> for ProvisionedCredential {
    type Error = StoreError;

    fn try_from(row: ProvisionedCredentialRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            user_id: row.user_id.into(),
            credential_id: row.credential_id.into(),
            wallet_id: row.wallet_id.into(),
            status: StoreError::parse_stored("provisioned status", &row.status, ProvisionStatus::parse)?,
            sealed_payload: row.sealed_payload,
            delivered_at: row.delivered_at,
            delivery_error: row.delivery_error,
            delivery_job_id: row.delivery_job_id.map(Into::into),
            expires_at: row.expires_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}
