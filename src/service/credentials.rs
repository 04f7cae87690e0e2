//! The environment as a credential issuer: its profile and `did:web`, and its
//! credential types.

use domain::credential::{
    CredentialType, CredentialTypeFields, CredentialTypeVersion, IssuerProfile, IssuerProfileFields,
};
use domain::environment::Environment;
use domain::filter::{Filter, page_matching};
use domain::page::{CountedPage, PageRequest, scan};
use domain::store::{CredentialTypeStore, EnvironmentStore};
use domain::time::{new_id, now};
use domain::validation::{FieldError, FieldErrorKind};
use uuid::Uuid;

use super::Credd;
use crate::auth::Principal;
use crate::crypto::new_ed25519_key;
use crate::error::{Error, Result};

impl Credd {
    /// The environment's issuer profile, made with its key on first use (PingOne makes
    /// one when the Credentials service is added to an environment).
    pub(super) async fn ensure_issuer_profile(&self, environment_id: Uuid) -> Result<IssuerProfile> {
        match self.store.issuer_profile(environment_id).await {
            Err(domain::StoreError::NotFound) => {}
            found => return Ok(found?),
        }
        let environment = self.store.environment(environment_id).await?;
        Ok(self.store.ensure_issuer_profile(&self.new_issuer_profile(&environment)).await?)
    }

    /// A profile named after the environment, with a new key: what PingOne makes.
    pub(super) fn new_issuer_profile(&self, environment: &Environment) -> IssuerProfile {
        let id = new_id();
        let (public_key, sealed_private_key) = new_ed25519_key(&self.master_key, id.as_bytes());
        let at = now();
        IssuerProfile {
            id,
            environment_id: environment.id,
            application_instance_id: new_id(),
            name: environment.name.clone(),
            site_url: None,
            logo: None,
            use_custom_domain: true,
            credential_signing: None,
            public_key,
            sealed_private_key,
            created_at: at,
            updated_at: at,
        }
    }

    pub async fn issuer_profile(&self, principal: &Principal, environment_id: Uuid) -> Result<IssuerProfile> {
        principal.require_manage(environment_id)?;
        self.ensure_issuer_profile(environment_id).await
    }

    /// Creates the environment's profile from `fields`; an environment has one only,
    /// so once it has one (credd makes it on first use too) this is a conflict.
    pub async fn create_issuer_profile(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        fields: IssuerProfileFields,
    ) -> Result<IssuerProfile> {
        principal.require_manage(environment_id)?;
        let environment = self.store.environment(environment_id).await?;
        let mut profile = self.new_issuer_profile(&environment);
        profile.apply(fields);
        let kept = self.store.ensure_issuer_profile(&profile).await?;
        if kept.id != profile.id {
            return Err(Error::Conflict(FieldError::new(
                "name",
                FieldErrorKind::NotUnique,
                "The environment has a credential issuer profile already: update it instead.",
            )));
        }
        Ok(kept)
    }

    pub async fn update_issuer_profile(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        fields: IssuerProfileFields,
    ) -> Result<IssuerProfile> {
        principal.require_manage(environment_id)?;
        let mut profile = self.ensure_issuer_profile(environment_id).await?;
        profile.apply(fields);
        profile.updated_at = now();
        self.store.update_issuer_profile(&profile).await?;
        Ok(profile)
    }

    /// The environment's DID: `did:web:<host>[%3A<port>][:<path>…]:<envId>`, which
    /// resolves to `{publicUrl}/{envId}/did.json`.
    pub fn issuer_did(&self, environment_id: Uuid) -> String {
        let base = url::Url::parse(&self.settings.public_base).ok();
        let host = base.as_ref().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| "localhost".into());
        let port = base.as_ref().and_then(url::Url::port).map(|p| format!("%3A{p}")).unwrap_or_default();
        let path: String = base
            .as_ref()
            .map(|u| {
                u.path_segments().into_iter().flatten().filter(|s| !s.is_empty()).map(|s| format!(":{s}")).collect()
            })
            .unwrap_or_default();
        format!("did:web:{host}{port}{path}:{environment_id}")
    }

    /// `{publicUrl}/v1/distributedid/credentialTypes/{id}`: the credential type's URI,
    /// which its credentials name as their schema.
    pub fn credential_type_uri(&self, type_id: Uuid) -> String {
        format!("{}/v1/distributedid/credentialTypes/{type_id}", self.settings.public_base)
    }

    /// The issuer profile's public key, for the DID document (no caller: it is public).
    pub async fn issuer_public_key(&self, environment_id: Uuid) -> Result<Vec<u8>> {
        Ok(self.ensure_issuer_profile(environment_id).await?.public_key)
    }

    pub async fn create_credential_type(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        fields: CredentialTypeFields,
    ) -> Result<CredentialType> {
        principal.require_manage(environment_id)?;
        let errors = fields.validate();
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        self.ensure_issuer_profile(environment_id).await?;
        let credential_type = CredentialType::new(new_id(), environment_id, fields, now());
        self.store.create_credential_type(&credential_type).await?;
        Ok(credential_type)
    }

    pub async fn credential_types(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        filter: Option<&Filter>,
        page: PageRequest,
    ) -> Result<CountedPage<CredentialType>> {
        self.existing_environment(principal, environment_id).await?;
        Ok(page_matching(filter, page, |page| self.store.credential_types(environment_id, page), |t| t.id).await?)
    }

    pub async fn credential_type(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        id: Uuid,
    ) -> Result<CredentialType> {
        principal.require_manage(environment_id)?;
        Ok(self.store.credential_type(environment_id, id).await?)
    }

    /// Full replace; a change is a new version. A deleted type cannot change.
    pub async fn replace_credential_type(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        id: Uuid,
        fields: CredentialTypeFields,
    ) -> Result<CredentialType> {
        principal.require_manage(environment_id)?;
        let errors = fields.validate();
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let mut credential_type = self.live_credential_type(environment_id, id).await?;
        credential_type.replace(fields, now())?;
        self.store.update_credential_type(&credential_type).await?;
        Ok(credential_type)
    }

    /// The type's versions, oldest first; a deleted type's too.
    pub async fn credential_type_versions(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        type_id: Uuid,
        page: PageRequest,
    ) -> Result<CountedPage<CredentialTypeVersion>> {
        principal.require_manage(environment_id)?;
        self.store.credential_type(environment_id, type_id).await?;
        let fetch = |page| self.store.credential_type_versions(environment_id, type_id, page);
        Ok(scan(page, fetch, |v| v.id, |_| true).await?)
    }

    pub async fn credential_type_version(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        type_id: Uuid,
        id: Uuid,
    ) -> Result<CredentialTypeVersion> {
        principal.require_manage(environment_id)?;
        Ok(self.store.credential_type_version(environment_id, type_id, id).await?)
    }

    /// Soft delete: the type keeps its id and definition, with `deletedAt`. Its
    /// `PENDING` credentials are deleted, the others revoked when the type says
    /// `onDelete.revokeIssuedCredentials`.
    pub async fn delete_credential_type(&self, principal: &Principal, environment_id: Uuid, id: Uuid) -> Result<()> {
        principal.require_manage(environment_id)?;
        let credential_type = self.live_credential_type(environment_id, id).await?;
        Ok(self.store.delete_credential_type(environment_id, id, now(), credential_type.revoke_on_delete).await?)
    }

    /// A type that exists and is not deleted.
    async fn live_credential_type(&self, environment_id: Uuid, id: Uuid) -> Result<CredentialType> {
        let credential_type = self.store.credential_type(environment_id, id).await?;
        if credential_type.deleted_at.is_some() { Err(Error::NotFound) } else { Ok(credential_type) }
    }
}
