//! The environment's users.

use std::future::Future;

use uuid::Uuid;

use super::StoreResult;
use crate::page::{Page, PageRequest};
use crate::user::{User, UserFilter};

pub trait UserStore {
    /// `Conflict` when the username is taken in the environment, in any case of A to Z.
    fn create_user(&self, user: &User) -> impl Future<Output = StoreResult<()>> + Send;
    fn user(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<User>> + Send;
    /// `filter.username` matches whatever the case of A to Z.
    fn users(
        &self,
        environment_id: Uuid,
        filter: &UserFilter,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<User>>> + Send;
    /// `Conflict` when the new username is taken in the environment.
    fn update_user(&self, user: &User) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_user(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<()>> + Send;
    /// How many users the environment has: the `count` of an unfiltered list.
    fn count_users(&self, environment_id: Uuid) -> impl Future<Output = StoreResult<u64>> + Send;
}
