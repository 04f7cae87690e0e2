//! credd's domain: the things credd manages, the rules they obey, and the `Store`
//! trait the storage backends implement.
//!
//! This crate knows neither HTTP nor SQL. Wire names (camelCase, `_links`) live in the
//! server's `http` module; SQL lives in the `store-*` crates. Values that reach this
//! crate's types have been parsed once (see [`validation`]) and cannot be invalid.

pub mod application;
pub mod environment;
pub mod job;
pub mod page;
pub mod signing_key;
pub mod store;
pub mod stored;
pub mod time;
pub mod user;
pub mod validation;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use store::{Store, StoreError};
