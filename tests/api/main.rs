//! HTTP-level tests: the whole app, on SQLite and on PostgreSQL.

mod applications;
mod auth;
mod connections;
mod console;
mod credential_lifecycle;
mod credential_types;
mod devices;
mod environments;
mod errors;
mod examples;
mod filters;
mod helpers;
mod hostile_input;
mod isolation;
mod mfa_policies;
mod notifications;
mod openapi;
mod operability;
mod pairing_security;
mod restart;
mod secrets;
mod test_suite_helpers;
mod user_credentials;
mod users;
mod wallets;
mod worker;
