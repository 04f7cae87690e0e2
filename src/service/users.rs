use domain::filter::{Filter, Literal, page_matching_indexed};
use domain::page::{CountedPage, PageRequest};
use domain::store::UserStore;
use domain::time::{new_id, now};
use domain::user::{User, UserFilter, UserPatch, Username};
use uuid::Uuid;

use super::Credd;
use crate::auth::Principal;
use crate::error::{Error, Result};

const USERNAME_TAKEN: &str = "A user with this username already exists in the environment.";

impl Credd {
    pub async fn create_user(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        username: Username,
        rest: UserPatch,
    ) -> Result<User> {
        principal.require_manage(environment_id)?;
        let user = User::new(new_id(), environment_id, username, rest, now());
        self.store.create_user(&user).await.map_err(Error::conflict_on("username", USERNAME_TAKEN))?;
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
        // The store finds a username by its index; the filter decides the rest.
        let username = match filter.and_then(|f| f.required_equal("username")) {
            Some(Literal::Text(name)) => Some(name.clone()),
            _ => None,
        };
        let narrowed = UserFilter { username };
        let fetch = |page| self.store.users(environment_id, &narrowed, page);
        let count = || self.store.count_users(environment_id);
        Ok(page_matching_indexed(filter, page, fetch, |u| u.id, count).await?)
    }

    pub async fn user(&self, principal: &Principal, environment_id: Uuid, id: Uuid) -> Result<User> {
        principal.require_self_or_manage(environment_id, id, "p1:read:user")?;
        Ok(self.store.user(environment_id, id).await?)
    }

    pub async fn patch_user(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        id: Uuid,
        patch: UserPatch,
    ) -> Result<User> {
        principal.require_self_or_manage(environment_id, id, "p1:update:user")?;
        let mut user = self.store.user(environment_id, id).await?;
        user.apply(patch, now());
        self.store.update_user(&user).await.map_err(Error::conflict_on("username", USERNAME_TAKEN))?;
        Ok(user)
    }

    pub async fn delete_user(&self, principal: &Principal, environment_id: Uuid, id: Uuid) -> Result<()> {
        principal.require_manage(environment_id)?;
        self.store.delete_user(environment_id, id).await?;
        self.tokens.forget_verified_tokens();
        Ok(())
    }
}
