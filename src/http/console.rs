//! The staging console at `GET /console`: a static page, its script and its stylesheet,
//! embedded in the binary. The page signs in with a worker application's client
//! credentials at the token endpoint and shows an environment through the public API
//! with that token. These routes need no token because they serve no data; they must
//! never render anything from the database themselves.

use axum::http::header;
use axum::response::IntoResponse;

use super::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(page)).routes(routes!(script)).routes(routes!(stylesheet))
}

/// Scripts, styles, images and API calls from credd only (the QR codes are shown through
/// `blob:` URLs the script makes from authenticated responses); no inline script, no
/// framing, no form posted anywhere.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // A pairing link opened from the console does not learn where it was opened.
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
}

/// The staging console: sign in with a worker's credentials, then browse an environment.
#[utoipa::path(get, path = "/console", operation_id = "readConsole", security(()),
    responses((status = 200, description = "An HTML page.", content_type = "text/html", body = String)))]
async fn page() -> impl IntoResponse {
    asset("text/html; charset=utf-8", include_str!("console.html"))
}

/// The console's script.
#[utoipa::path(get, path = "/console/console.js", operation_id = "readConsoleScript", security(()),
    responses((status = 200, description = "JavaScript.", content_type = "text/javascript", body = String)))]
async fn script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", include_str!("console.js"))
}

/// The console's stylesheet.
#[utoipa::path(get, path = "/console/console.css", operation_id = "readConsoleStylesheet", security(()),
    responses((status = 200, description = "CSS.", content_type = "text/css", body = String)))]
async fn stylesheet() -> impl IntoResponse {
    asset("text/css; charset=utf-8", include_str!("console.css"))
}
