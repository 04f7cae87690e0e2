//! Records as a store reads them: enum names still text, ids in whatever form the
//! database returns (`Uuid` on Postgres, hyphenated text on SQLite). Each store reads
//! into these with compile-time checked queries, and the conversions beside them,
//! shared by both stores, turn them into domain types.
//!
//! One file per aggregate, as in [`crate::store`]; all are re-exported here.

mod applications;
mod credential_types;
mod environments;
mod jobs;
mod mfa;
mod notifications;
mod populations;
mod user_credentials;
mod users;
mod wallets;

pub use applications::*;
pub use credential_types::*;
pub use environments::*;
pub use jobs::*;
pub use mfa::*;
pub use notifications::*;
pub use populations::*;
pub use user_credentials::*;
pub use users::*;
pub use wallets::*;
