use domain::application::{Application, ApplicationFields};
use domain::filter::{Filter, page_matching};
use domain::page::{CountedPage, PageRequest};
use domain::store::ApplicationStore;
use domain::time::{new_id, now};
use uuid::Uuid;

use super::{CLIENT_SECRET, Credd};
use crate::auth::Principal;
use crate::crypto::random_secret;
use crate::error::Result;

/// An application with its client secret, which is shown this once.
pub struct CreatedApplication {
    pub application: Application,
    pub secret: String,
}

impl Credd {
    pub async fn create_application(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        fields: ApplicationFields,
    ) -> Result<CreatedApplication> {
        principal.require_manage(environment_id)?;
        let secret = random_secret();
        let application = Application::new(
            new_id(),
            environment_id,
            fields,
            self.master_key.hash_secret(CLIENT_SECRET, &secret),
            now(),
        );
        self.store.create_application(&application).await?;
        Ok(CreatedApplication { application, secret })
    }

    pub async fn applications(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        filter: Option<&Filter>,
        page: PageRequest,
    ) -> Result<CountedPage<Application>> {
        self.existing_environment(principal, environment_id).await?;
        Ok(page_matching(filter, page, |page| self.store.applications(environment_id, page), |a| a.id).await?)
    }

    pub async fn application(&self, principal: &Principal, environment_id: Uuid, id: Uuid) -> Result<Application> {
        principal.require_manage(environment_id)?;
        Ok(self.store.application(environment_id, id).await?)
    }

    pub async fn replace_application(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        id: Uuid,
        fields: ApplicationFields,
    ) -> Result<Application> {
        principal.require_manage(environment_id)?;
        let mut application = self.store.application(environment_id, id).await?;
        application.replace(fields, now());
        self.store.update_application(&application).await?;
        // Disabled, its tokens stop here at once (the others see it on their next check).
        self.tokens.forget_verified_tokens();
        Ok(application)
    }

    /// Replaces the client secret; the old one, and the tokens it obtained, stop
    /// working at once.
    pub async fn rotate_application_secret(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        id: Uuid,
    ) -> Result<String> {
        principal.require_manage(environment_id)?;
        let secret = random_secret();
        let secret_hash = self.master_key.hash_secret(CLIENT_SECRET, &secret);
        self.store.replace_application_secret(environment_id, id, &secret_hash, now()).await?;
        self.tokens.forget_verified_tokens();
        Ok(secret)
    }

    pub async fn delete_application(&self, principal: &Principal, environment_id: Uuid, id: Uuid) -> Result<()> {
        principal.require_manage(environment_id)?;
        self.store.delete_application(environment_id, id).await?;
        self.tokens.forget_verified_tokens();
        Ok(())
    }
}
