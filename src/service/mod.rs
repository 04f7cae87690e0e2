//! Use cases. Each method checks who may do it, applies the domain's rules and
//! calls the store; handlers only parse and render around these.

mod applications;
pub mod bootstrap;
mod environments;
pub mod oauth;
mod users;

use std::sync::Arc;

use crate::app_store::AppStore;
use crate::auth::Tokens;
use crate::crypto::MasterKey;

pub use applications::CreatedApplication;

/// Purposes of the keyed secret hashes (see `MasterKey::hash_secret`).
pub const CLIENT_SECRET: &str = "client-secret";

/// credd's services over one store: what handlers and the worker share.
#[derive(Clone)]
pub struct Credd {
    pub store: AppStore,
    pub tokens: Arc<Tokens>,
    pub master_key: Arc<MasterKey>,
}
