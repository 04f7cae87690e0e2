//! `GET /metrics` for Prometheus, and the layer that counts and times every request.
//!
//! Unauthenticated, as Prometheus expects: the labels are route templates, methods,
//! statuses, job kinds and delivery methods, so the page shows how busy credd is and
//! nothing of what it holds.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::metrics::{CONTENT_TYPE, Metrics};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// The route label of a request no route matched: its raw path could hold anything.
const UNMATCHED: &str = "unmatched";

/// Prometheus metrics in the OpenMetrics text format: HTTP requests, background jobs,
/// the job queue, notifications and the database pools (docs/configuration.md, "Metrics").
#[utoipa::path(get, path = "/metrics", operation_id = "readMetrics", security(()),
    responses((status = 200, description = "The OpenMetrics exposition.",
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String)))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], state.credd.metrics_exposition().await)
}

/// Counts and times every answered request under its route template.
pub async fn record(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED, MatchedPath::as_str).to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.request(method, &route, response.status().as_u16(), started.elapsed());
    response
}

/// The method's name; any method HTTP does not define is `OTHER`, so a client cannot
/// mint label values.
fn method_label(method: &Method) -> &'static str {
    static KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN.iter().find(|known| *known == method).map_or("OTHER", |known| known.as_str())
}
