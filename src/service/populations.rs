//! Populations: create, read, replace and delete, with the environment's one default.

use std::collections::HashMap;

use domain::StoreError;
use domain::filter::{Filter, page_matching};
use domain::page::{CountedPage, PageRequest};
use domain::population::{Population, PopulationFields};
use domain::store::PopulationStore;
use domain::time::{new_id, now};
use domain::user::User;
use domain::validation::FieldError;
use uuid::Uuid;

use super::Credd;
use crate::auth::Principal;
use crate::error::{Error, Result};

fn name_taken() -> impl FnOnce(StoreError) -> Error {
    Error::conflict_on("name", "Another population of the environment has this name.")
}

impl Credd {
    /// A population marked default becomes the environment's default instead of the
    /// current one.
    pub async fn create_population(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        fields: PopulationFields,
    ) -> Result<Population> {
        principal.require_manage(environment_id)?;
        let population = Population::new(new_id(), environment_id, fields, now());
        self.store.create_population(&population).await.map_err(name_taken())?;
        Ok(population)
    }

    pub async fn populations(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        filter: Option<&Filter>,
        page: PageRequest,
    ) -> Result<CountedPage<Population>> {
        self.existing_environment(principal, environment_id).await?;
        let fetch = |page| self.store.populations(environment_id, page);
        Ok(page_matching(filter, page, fetch, |p| p.id).await?)
    }

    pub async fn population(&self, principal: &Principal, environment_id: Uuid, id: Uuid) -> Result<Population> {
        principal.require_manage(environment_id)?;
        Ok(self.store.population(environment_id, id).await?)
    }

    /// The populations `users` are in, by id, for whoever may read those users.
    pub async fn populations_of(&self, principal: &Principal, users: &[User]) -> Result<HashMap<Uuid, Population>> {
        let mut populations = HashMap::new();
        for user in users {
            principal.require_self_or_manage(user.environment_id, user.id, "p1:read:user")?;
            if !populations.contains_key(&user.population_id) {
                let population = self.store.population(user.environment_id, user.population_id).await?;
                populations.insert(population.id, population);
            }
        }
        Ok(populations)
    }

    /// Full replace. The default population stays default until another one is made
    /// default: `default: false` on it is refused, and left out keeps it.
    pub async fn replace_population(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        id: Uuid,
        fields: PopulationFields,
    ) -> Result<Population> {
        principal.require_manage(environment_id)?;
        let mut population = self.store.population(environment_id, id).await?;
        if population.default && fields.default == Some(false) {
            return Err(Error::invalid(FieldError::invalid(
                "default",
                "The environment needs a default population: make another population the default instead.",
            )));
        }
        population.replace(fields, now());
        self.store.update_population(&population).await.map_err(name_taken())?;
        Ok(population)
    }

    /// Deletes an empty population that is not the default, as PingOne does.
    pub async fn delete_population(&self, principal: &Principal, environment_id: Uuid, id: Uuid) -> Result<()> {
        principal.require_manage(environment_id)?;
        let population = self.store.population(environment_id, id).await?;
        let refused = |message: &str| Error::invalid(FieldError::invalid("id", message));
        if population.default {
            return Err(refused(
                "The default population cannot be deleted; make another population the default first.",
            ));
        }
        match self.store.delete_population(environment_id, id).await {
            // It is not the default (read above), so users are what keeps it.
            Err(StoreError::Conflict) => {
                Err(refused("The population has users; delete them or move them to another population first."))
            }
            other => Ok(other?),
        }
    }
}
