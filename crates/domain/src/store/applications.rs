//! The environment's OAuth applications.

use std::future::Future;

use uuid::Uuid;

use super::StoreResult;
use crate::application::Application;
use crate::page::{Page, PageRequest};
use crate::time::Timestamp;

pub trait ApplicationStore {
    /// `Conflict` when the id exists.
    fn create_application(&self, application: &Application) -> impl Future<Output = StoreResult<()>> + Send;
    fn application(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<Application>> + Send;
    fn applications(
        &self,
        environment_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<Application>>> + Send;
    /// Writes the application's fields; its secret changes only through
    /// [`ApplicationStore::replace_application_secret`], so a replace racing a rotation cannot
    /// write the old secret back.
    fn update_application(&self, application: &Application) -> impl Future<Output = StoreResult<()>> + Send;
    fn replace_application_secret(
        &self,
        environment_id: Uuid,
        id: Uuid,
        secret_hash: &[u8],
        updated_at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_application(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<()>> + Send;
}
