//! credd: a self-hostable credentials service that speaks the PingOne Platform API.
//!
//! `http` renders, `service` decides, `domain` (its own crate) names things and
//! holds the rules, the `store-*` crates speak SQL. Data flows one way.

pub mod app_store;
pub mod auth;
pub mod config;
pub mod crypto;
pub mod error;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod notify;
pub mod server;
pub mod service;
pub mod wallet_client;
