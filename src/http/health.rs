//! Probes for orchestrators and load balancers: `/healthz` answers while the process
//! runs; `/readyz` only while it can serve (database reachable and taking writes,
//! schema current).
//! Neither needs a token, and neither says more than up or not and why.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

/// A probe's answer.
#[derive(Serialize, ToSchema)]
struct Probe {
    status: ProbeStatus,
    /// Why credd is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum ProbeStatus {
    Up,
    Ready,
    NotReady,
}

impl Probe {
    fn new(status: ProbeStatus) -> Json<Self> {
        Json(Self { status, reason: None })
    }
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", operation_id = "readHealth", security(()),
    responses((status = 200, description = "`UP`.", body = Probe)))]
async fn healthz() -> Json<Probe> {
    Probe::new(ProbeStatus::Up)
}

/// Readiness: the database is reachable, takes a write, and its schema is current.
#[utoipa::path(get, path = "/readyz", operation_id = "readReadiness", security(()),
    responses(
        (status = 200, description = "`READY`.", body = Probe),
        (status = 503, description = "`NOT_READY`, with the `reason`.", body = Probe),
    ))]
async fn readyz(State(state): State<AppState>) -> Response {
    match state.credd.readiness().await {
        Ok(()) => Probe::new(ProbeStatus::Ready).into_response(),
        Err(reason) => {
            let probe = Probe { status: ProbeStatus::NotReady, reason: Some(reason) };
            (StatusCode::SERVICE_UNAVAILABLE, Json(probe)).into_response()
        }
    }
}
