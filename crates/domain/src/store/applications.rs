//! The environment's OAuth applications.

use std::future::Future;

use uuid::Uuid;

use super::StoreResult;
use crate::application::{Application, ClientSecret, MobileIdentifier};
use crate::page::{Page, PageRequest};
use crate::time::Timestamp;

pub trait ApplicationStore {
    /// `Conflict` when the id, or a mobile identifier in the environment, is taken.
    fn create_application(&self, application: &Application) -> impl Future<Output = StoreResult<()>> + Send;
    fn application(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<Application>> + Send;
    fn applications(
        &self,
        environment_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<Application>>> + Send;
    /// Writes the application's fields. Its secret changes only through
    /// [`ApplicationStore::replace_application_secret`], so a replace racing a rotation
    /// cannot write the old secret back, with two exceptions: a `NONE` application has its
    /// secret removed, and one that had none gets this one's. `Conflict` when a mobile
    /// identifier is taken in the environment.
    fn update_application(&self, application: &Application) -> impl Future<Output = StoreResult<()>> + Send;
    /// `NotFound` for an unknown application and for one without a secret (`NONE`).
    fn replace_application_secret(
        &self,
        environment_id: Uuid,
        id: Uuid,
        secret: &ClientSecret,
        updated_at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes the application and the digital wallet applications that name it, whose
    /// wallets are disabled as [`super::WalletStore::delete_wallet_application`] does.
    fn delete_application(
        &self,
        environment_id: Uuid,
        id: Uuid,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Which of the application's mobile identifiers another application of its
    /// environment holds (to name the field of a `Conflict`).
    fn taken_mobile_identifiers(
        &self,
        application: &Application,
    ) -> impl Future<Output = StoreResult<Vec<MobileIdentifier>>> + Send;
}
