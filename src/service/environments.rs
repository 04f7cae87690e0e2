use domain::environment::{Environment, EnvironmentFields, Region};
use domain::filter::{Filter, page_matching};
use domain::mfa::DevicePolicy;
use domain::page::{CountedPage, PageRequest};
use domain::store::{EnvironmentStore, StoreResult};
use domain::time::{new_id, now};
use uuid::Uuid;

use super::Credd;
use crate::auth::Principal;
use crate::error::{Error, Result};

impl Credd {
    pub async fn create_environment(
        &self,
        principal: &Principal,
        fields: EnvironmentFields,
        region: Region,
    ) -> Result<Environment> {
        principal.require_administrator()?;
        Ok(self.insert_environment(new_id(), fields, region).await?)
    }

    /// Creates an environment; its token signing key comes when first needed.
    pub(super) async fn insert_environment(
        &self,
        id: Uuid,
        fields: EnvironmentFields,
        region: Region,
    ) -> StoreResult<Environment> {
        let environment = Environment::new(id, fields, region, now());
        let policy = DevicePolicy::initial(environment.id, new_id(), environment.created_at);
        self.store.create_environment(&environment, &policy).await?;
        Ok(environment)
    }

    pub async fn environments(
        &self,
        principal: &Principal,
        filter: Option<&Filter>,
        page: PageRequest,
    ) -> Result<CountedPage<Environment>> {
        principal.require_administrator()?;
        Ok(page_matching(filter, page, |page| self.store.environments(page), |e| e.id).await?)
    }

    pub async fn environment(&self, principal: &Principal, id: Uuid) -> Result<Environment> {
        principal.require_manage(id)?;
        Ok(self.store.environment(id).await?)
    }

    pub async fn replace_environment(
        &self,
        principal: &Principal,
        id: Uuid,
        fields: EnvironmentFields,
    ) -> Result<Environment> {
        principal.require_administrator()?;
        let mut environment = self.store.environment(id).await?;
        environment.replace(fields, now());
        self.store.update_environment(&environment).await?;
        Ok(environment)
    }

    /// Deletes the environment and everything in it. The administrator environment
    /// cannot be deleted: its workers are the only way in.
    pub async fn delete_environment(&self, principal: &Principal, id: Uuid) -> Result<()> {
        principal.require_administrator()?;
        if id == self.tokens.administrator_environment() {
            return Err(Error::bad_request("id", "The administrator environment cannot be deleted."));
        }
        self.store.delete_environment(id).await?;
        self.tokens.forget_environment(id);
        Ok(())
    }

    /// 404 unless the environment exists (lists would otherwise answer empty).
    pub(super) async fn existing_environment(&self, principal: &Principal, id: Uuid) -> Result<()> {
        principal.require_manage(id)?;
        self.store.environment(id).await.map(drop).map_err(Into::into)
    }
}
