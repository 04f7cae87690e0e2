use domain::StoreError;
use domain::filter::{Filter, Literal, page_matching_indexed};
use domain::group::MEMBER_OF_GROUPS;
use domain::page::{CountedPage, PageRequest};
use domain::store::{EnvironmentStore, PopulationStore, UserStore};
use domain::time::{new_id, now};
use domain::user::{User, UserFilter, UserPatch, Username};
use domain::validation::FieldError;
use uuid::Uuid;

use super::Credd;
use crate::auth::Principal;
use crate::error::{Error, Result};

const USERNAME_TAKEN: &str = "A user with this username already exists in the environment.";

impl Credd {
    /// Creates a user in `patch.population_id`, or in the environment's default
    /// population when it names none.
    pub async fn create_user(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        username: Username,
        mut rest: UserPatch,
    ) -> Result<User> {
        principal.require_manage(environment_id)?;
        let population_id = match rest.population_id.take() {
            Some(id) => id,
            None => self.store.default_population(environment_id).await?.id,
        };
        let user = User::new(new_id(), environment_id, population_id, username, rest, now());
        match self.store.create_user(&user).await {
            // No such population in the environment, or no environment.
            Err(StoreError::NotFound) => Err(population_unless(self.store.environment(environment_id).await)),
            other => other.map_err(Error::conflict_on("username", USERNAME_TAKEN)),
        }?;
        Ok(user)
    }

    pub async fn users(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        filter: Option<&Filter>,
        page: PageRequest,
    ) -> Result<CountedPage<User>> {
        self.existing_environment(principal, environment_id).await?;
        // The store finds a username or a population's users by index; the filter
        // decides the rest.
        let username = match filter.and_then(|f| f.required_equal("username")) {
            Some(Literal::Text(name)) => Some(name.clone()),
            _ => None,
        };
        let population_id = match filter.and_then(|f| f.required_equal("population.id")) {
            Some(Literal::Id(id)) => Some(*id),
            _ => None,
        };
        let narrowed = UserFilter { username, population_id };
        if let Some(filter) = filter.filter(|f| f.reads(MEMBER_OF_GROUPS)) {
            return self.users_in_groups(environment_id, &narrowed, filter, page).await;
        }
        let fetch = |page| self.store.users(environment_id, &narrowed, page);
        let count = || self.store.count_users(environment_id);
        Ok(page_matching_indexed(filter, page, fetch, |u| u.id, count).await?)
    }

    pub async fn user(&self, principal: &Principal, environment_id: Uuid, id: Uuid) -> Result<User> {
        principal.require_self_or_manage(environment_id, id, "p1:read:user")?;
        Ok(self.store.user(environment_id, id).await?)
    }

    /// PATCH, and PUT with a patch that clears what the body left out.
    pub async fn update_user(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        id: Uuid,
        patch: UserPatch,
    ) -> Result<User> {
        principal.require_self_or_manage(environment_id, id, "p1:update:user")?;
        self.write_user(environment_id, id, |user| user.apply(patch, now())).await
    }

    /// Moves the user to another population of the environment.
    pub async fn move_user(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        id: Uuid,
        population_id: Uuid,
    ) -> Result<User> {
        principal.require_manage(environment_id)?;
        let patch = UserPatch { population_id: Some(population_id), ..UserPatch::default() };
        self.write_user(environment_id, id, |user| user.apply(patch, now())).await
    }

    /// Enables or disables the user. A disabled user's tokens stop working at once,
    /// and no new one is issued for them.
    pub async fn set_user_enabled(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        id: Uuid,
        enabled: bool,
    ) -> Result<User> {
        principal.require_manage(environment_id)?;
        let user = self
            .write_user(environment_id, id, |user| {
                user.enabled = enabled;
                user.updated_at = now();
            })
            .await?;
        if !enabled {
            self.tokens.forget_verified_tokens();
        }
        Ok(user)
    }

    pub async fn delete_user(&self, principal: &Principal, environment_id: Uuid, id: Uuid) -> Result<()> {
        principal.require_manage(environment_id)?;
        self.store.delete_user(environment_id, id).await?;
        self.tokens.forget_verified_tokens();
        Ok(())
    }

    /// Reads the user, changes it and writes it back.
    async fn write_user(&self, environment_id: Uuid, id: Uuid, change: impl FnOnce(&mut User)) -> Result<User> {
        let mut user = self.store.user(environment_id, id).await?;
        change(&mut user);
        match self.store.update_user(&user).await {
            // No such population in the environment, or the user is gone meanwhile.
            Err(StoreError::NotFound) => Err(population_unless(self.store.user(environment_id, id).await)),
            other => other.map_err(Error::conflict_on("username", USERNAME_TAKEN)),
        }?;
        Ok(user)
    }
}

/// A write that named a population found nothing: when what it wrote to still exists
/// (`found`), the population is not one of the environment's, a 400 naming
/// `population.id` as PingOne answers; otherwise that record's 404.
fn population_unless<T>(found: Result<T, StoreError>) -> Error {
    match found {
        Ok(_) => Error::invalid(FieldError::invalid(
            "population.id",
            "population.id must be the id of a population of this environment.",
        )),
        Err(e) => e.into(),
    }
}
