//! The HTTP layer: parse, call a service, render. No rules live here.

mod applications;
mod configuration;
mod console;
mod credential_types;
mod environments;
pub mod error;
pub mod extract;
mod groups;
mod health;
mod issuer;
mod metrics;
mod mfa;
mod notifications;
mod oauth;
pub mod openapi;
mod pairing;
mod populations;
mod user_credentials;
mod user_state;
mod users;
mod wallet_applications;
mod wallets;
pub mod wire;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, Request};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::service::Credd;
use utoipa_axum::router::OpenApiRouter;
use wire::Links;

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub credd: Credd,
    pub links: Links,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route with its documentation, each resource's operations under its tag. The
/// router and `/openapi.json` are both split from this one list, so a route cannot be
/// served without being documented.
pub fn api() -> OpenApiRouter<AppState> {
    let resources = [
        ("Reference", openapi::routes()),
        ("Environments", environments::routes()),
        ("Applications", applications::routes()),
        ("Token endpoint", oauth::routes()),
        ("Populations", populations::routes()),
        ("Users", users::routes()),
        ("Users", user_state::routes()),
        ("Groups", groups::routes()),
        ("Digital wallet applications", wallet_applications::routes()),
        ("Digital wallets", wallets::routes()),
        ("Wallet pairing", pairing::routes()),
        ("Notifications", notifications::routes()),
        ("MFA devices", mfa::devices::routes()),
        ("Device authentication policies", mfa::policies::routes()),
        ("MFA settings", mfa::settings::routes()),
        ("Credential issuer", issuer::routes()),
        ("Credential types", credential_types::routes()),
        ("User credentials", user_credentials::routes()),
        ("Operations", health::routes()),
        ("Operations", metrics::routes()),
        ("Staging console", console::routes()),
        ("Test-suite helpers", configuration::routes()),
    ];
    resources.into_iter().fold(openapi::base(), |api, (tag, routes)| api.merge(openapi::tagged(tag, routes)))
}

/// The whole HTTP API.
pub fn router(state: AppState, body_limit_bytes: usize) -> Router {
    let metrics = std::sync::Arc::clone(&state.credd.metrics);
    let (routes, _document) = api().split_for_parts();
    routes
        .fallback(error::not_found)
        .with_state(state)
        // Outermost first: the error guard sees every response, including those the
        // layers below produce themselves.
        .layer((
            // Outside the error guard, so it counts the status the client got.
            axum::middleware::from_fn_with_state(metrics, metrics::record),
            axum::middleware::map_response(error::uniform_errors),
            SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid),
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let request_id =
                        request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default();
                    // The path only (query strings may carry filter values), without secrets.
                    let path = loggable_path(request.uri().path());
                    tracing::info_span!("request", method = %request.method(), path = %path, request_id)
                })
                // One line per answered request at INFO (status, latency), in its span.
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
            PropagateRequestIdLayer::new(REQUEST_ID),
            CatchPanicLayer::new(),
            TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)),
            RequestBodyLimitLayer::new(body_limit_bytes),
        ))
}

/// The path as logs show it. A pairing request's URL is a capability (a GET on it
/// answers the challenge that pairs a wallet), so its id is left out.
fn loggable_path(path: &str) -> &str {
    const PAIRING_REQUESTS: &str = "/v1/distributedid/requests/";
    if path.starts_with(PAIRING_REQUESTS) { "/v1/distributedid/requests/{requestId}" } else { path }
}
