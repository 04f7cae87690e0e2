//! Use cases. Each method checks who may do it, applies the domain's rules and
//! calls the store; handlers only parse and render around these.

mod applications;
pub mod attempts;
pub mod bootstrap;
pub mod configuration;
mod credentials;
mod environments;
mod groups;
mod health;
mod jwt_vc;
pub mod mfa;
pub mod notifications;
pub mod oauth;
mod populations;
pub mod throttle;
pub mod user_credentials;
mod users;
pub mod wallets;

use std::sync::Arc;

use chrono::TimeDelta;

use crate::app_store::AppStore;
use crate::auth::Tokens;
use crate::crypto::MasterKey;
use crate::metrics::Metrics;
use crate::notify::Senders;

pub use applications::CreatedApplication;

/// Purposes of the keyed secret hashes (see `MasterKey::hash_secret`).
pub const CLIENT_SECRET: &str = "client-secret";

/// credd's services over one store: what handlers and the worker share.
#[derive(Clone)]
pub struct Credd {
    pub store: AppStore,
    pub tokens: Arc<Tokens>,
    pub master_key: Arc<MasterKey>,
    pub senders: Arc<Senders>,
    pub settings: Arc<Settings>,
    /// Wakes this instance's worker when a write queued jobs.
    pub wake_worker: Arc<tokio::sync::Notify>,
    /// Failed client authentications at the token endpoint, per client.
    pub client_throttle: Arc<throttle::ClientThrottle>,
    /// Serializes guesses at one device's code or one pairing session.
    pub attempt_locks: Arc<attempts::AttemptLocks>,
    pub metrics: Arc<Metrics>,
}

/// Service settings that come from configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base of the URLs credd hands out (pairing links), without a trailing slash.
    pub public_base: String,
    pub pairing_lifetime: TimeDelta,
    /// How long a delivered credential waits in a wallet's mailbox.
    pub mailbox_ttl: TimeDelta,
}
