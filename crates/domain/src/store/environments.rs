//! Environments, their signing keys, and their configuration as a whole.

use std::future::Future;

use uuid::Uuid;

use super::StoreResult;
use crate::configuration::Configuration;
use crate::environment::Environment;
use crate::mfa::DevicePolicy;
use crate::page::{Page, PageRequest};
use crate::population::Population;
use crate::signing_key::SigningKey;

pub trait EnvironmentStore {
    // Environments -------------------------------------------------------------

    /// Creates the environment with its default device policy and its default
    /// population, in one transaction. `Conflict` when the id exists.
    fn create_environment(
        &self,
        environment: &Environment,
        policy: &DevicePolicy,
        population: &Population,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn environment(&self, id: Uuid) -> impl Future<Output = StoreResult<Environment>> + Send;
    fn environments(&self, page: PageRequest) -> impl Future<Output = StoreResult<Page<Environment>>> + Send;
    fn update_environment(&self, environment: &Environment) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes the environment and everything in it.
    fn delete_environment(&self, id: Uuid) -> impl Future<Output = StoreResult<()>> + Send;
    /// Empties the environment back to `configuration`, in one transaction: deletes
    /// its users with everything that hangs on them (wallets, pairing sessions,
    /// credentials and their copies, devices) and its notifications, then replaces
    /// the configuration as [`EnvironmentStore::replace_configuration`] does. The environment,
    /// its applications and signing keys, and its issuer key stay. Jobs are not
    /// scoped to an environment and stay too; each finds its record gone and ends.
    fn reset_environment(&self, configuration: &Configuration) -> impl Future<Output = StoreResult<()>> + Send;
    /// Replaces the environment's credential types, wallet applications, template
    /// contents, device policies and MFA settings with the configuration's, and
    /// gives its issuer profile the configuration's name and site URL (made with the
    /// configuration's key when it has none), in one transaction. Writes nothing and
    /// answers false when the environment has users, whose records point at the
    /// configuration. `Conflict` when an id belongs to another environment's record.
    fn replace_configuration(&self, configuration: &Configuration) -> impl Future<Output = StoreResult<bool>> + Send;

    // Signing keys -------------------------------------------------------------

    fn signing_key(&self, id: Uuid) -> impl Future<Output = StoreResult<SigningKey>> + Send;
    /// The environment's keys, newest first.
    fn signing_keys(&self, environment_id: Uuid) -> impl Future<Output = StoreResult<Vec<SigningKey>>> + Send;
    /// Adds `key` to its environment if the environment's newest key is still the one
    /// named `newest` (`None`: it has no key yet), and answers the environment's newest
    /// key afterwards: `key`, or the one another caller added first. Adds for one
    /// environment exclude each other, across instances too, so two callers that both
    /// saw no key never make two. `NotFound` when the environment does not exist;
    /// `Conflict` when `newest` names a key and the environment has none.
    fn add_signing_key(
        &self,
        key: &SigningKey,
        newest: Option<Uuid>,
    ) -> impl Future<Output = StoreResult<SigningKey>> + Send;
}
