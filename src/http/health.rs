//! Probes for orchestrators and load balancers: `/healthz` answers while the process
//! runs; `/readyz` only while it can serve (database reachable, schema current).
//! Neither needs a token, and neither says more than up or not and why.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "UP" }))
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.credd.readiness().await {
        Ok(()) => Json(json!({ "status": "READY" })).into_response(),
        Err(reason) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "NOT_READY", "reason": reason }))).into_response()
        }
    }
}
