//! The environment's issuer profile and the credential types it issues.

use std::future::Future;

use uuid::Uuid;

use super::StoreResult;
use crate::credential::{CredentialType, CredentialTypeVersion, IssuerProfile};
use crate::page::{Page, PageRequest};
use crate::time::Timestamp;

pub trait CredentialTypeStore {
    /// Stores the profile unless the environment has one already; either way, the
    /// environment's profile (compare ids to tell which).
    fn ensure_issuer_profile(&self, profile: &IssuerProfile)
    -> impl Future<Output = StoreResult<IssuerProfile>> + Send;
    fn issuer_profile(&self, environment_id: Uuid) -> impl Future<Output = StoreResult<IssuerProfile>> + Send;
    fn update_issuer_profile(&self, profile: &IssuerProfile) -> impl Future<Output = StoreResult<()>> + Send;
    /// Stores the type and its first version.
    fn create_credential_type(&self, credential_type: &CredentialType) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deleted types too (with `deleted_at`).
    fn credential_type(
        &self,
        environment_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = StoreResult<CredentialType>> + Send;
    /// Types not deleted.
    fn credential_types(
        &self,
        environment_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<CredentialType>>> + Send;
    /// Replaces the type's fields and definition, and stores its version if that is new.
    fn update_credential_type(&self, credential_type: &CredentialType) -> impl Future<Output = StoreResult<()>> + Send;
    /// The type's versions, oldest first.
    fn credential_type_versions(
        &self,
        environment_id: Uuid,
        type_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<CredentialTypeVersion>>> + Send;
    fn credential_type_version(
        &self,
        environment_id: Uuid,
        type_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = StoreResult<CredentialTypeVersion>> + Send;
    /// Marks the type deleted at `at`, deletes its `PENDING` credentials, and with
    /// `revoke_issued` revokes the others and their copies.
    fn delete_credential_type(
        &self,
        environment_id: Uuid,
        id: Uuid,
        at: Timestamp,
        revoke_issued: bool,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
