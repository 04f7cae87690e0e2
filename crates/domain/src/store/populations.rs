//! The environment's populations. Each environment has exactly one default population,
//! made with the environment (see `EnvironmentStore::create_environment`).

use std::future::Future;

use uuid::Uuid;

use super::StoreResult;
use crate::page::{Page, PageRequest};
use crate::population::Population;

pub trait PopulationStore {
    /// A population marked default takes the flag from the environment's current
    /// default, in the same transaction. `Conflict` when the name is taken in the
    /// environment, whatever the case of A to Z; `NotFound` without the environment.
    fn create_population(&self, population: &Population) -> impl Future<Output = StoreResult<()>> + Send;
    /// With its `user_count`.
    fn population(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<Population>> + Send;
    /// The environment's default population, with its `user_count`.
    fn default_population(&self, environment_id: Uuid) -> impl Future<Output = StoreResult<Population>> + Send;
    /// In id order, each with its `user_count`.
    fn populations(
        &self,
        environment_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<Population>>> + Send;
    /// Writes every setting. Marked default, it takes the flag from the current default;
    /// a default population is never made not default here (another one takes the flag).
    /// `Conflict` when the name is taken.
    fn update_population(&self, population: &Population) -> impl Future<Output = StoreResult<()>> + Send;
    /// `Conflict` while the population holds users or is the environment's default.
    fn delete_population(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<()>> + Send;
}
