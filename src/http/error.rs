//! Renders [`Error`] as PingOne's error body, and makes every other error response
//! (unknown route, wrong method, body over the limit, a panic) take the same shape.

use axum::body::{Body, HttpBody};
use axum::http::{HeaderValue, Response, StatusCode, header};
use axum::response::IntoResponse;
use bytes::Bytes;
use domain::validation::{FieldError, FieldErrorKind, InnerError};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, OAuthError};

/// PingOne's error body, which every error response carries.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Error)]
pub(super) struct ErrorBody {
    /// This error's id, also in credd's log when the cause is credd's.
    id: Uuid,
    /// `INVALID_DATA`, `INVALID_REQUEST`, `ACCESS_FAILED`, `NOT_FOUND`, `UNIQUENESS_VIOLATION`,
    /// `REQUEST_LIMITED`, `METHOD_NOT_ALLOWED`, `REQUEST_FAILED`, `SERVICE_UNAVAILABLE` or
    /// `UNEXPECTED_ERROR`.
    code: &'static str,
    message: String,
    /// What was wrong, one entry per problem; left out when there is nothing to add.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    details: Vec<Detail>,
    /// OAuth 2.0 fields, on token endpoint errors only.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    /// OAuth's own spelling (RFC 6749 §5.2), not camelCase.
    #[serde(rename = "error_description", skip_serializing_if = "Option::is_none")]
    error_description: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ErrorDetail)]
struct Detail {
    /// `INVALID_VALUE`, `REQUIRED_VALUE`, `SIZE_LIMIT_EXCEEDED`, `OUT_OF_RANGE`, `UNIQUENESS_VIOLATION`,
    /// `LIMIT_EXCEEDED`, `INVALID_OTP`, `INVALID_FILTER`, `INVALID_TOKEN` or `INSUFFICIENT_PERMISSIONS`.
    code: &'static str,
    /// The field, parameter or header the problem is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    message: String,
    /// What would be accepted, where credd can say.
    #[serde(rename = "innerError", skip_serializing_if = "Option::is_none")]
    inner_error: Option<InnerErrorView>,
}

/// PingOne's `innerError`: the allowed range of a number, or what a list's filter supports.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ErrorInnerError)]
struct InnerErrorView {
    #[serde(skip_serializing_if = "Option::is_none")]
    range_minimum_value: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    range_maximum_value: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    supported_attributes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    supported_operators: Vec<String>,
}

impl From<InnerError> for InnerErrorView {
    fn from(inner: InnerError) -> Self {
        let InnerError { range_minimum_value, range_maximum_value, supported_attributes, supported_operators } = inner;
        Self { range_minimum_value, range_maximum_value, supported_attributes, supported_operators }
    }
}

impl Detail {
    fn new(code: &'static str, target: Option<String>, message: impl Into<String>) -> Self {
        Self { code, target, message: message.into(), inner_error: None }
    }
}

impl From<FieldError> for Detail {
    fn from(error: FieldError) -> Self {
        let code = match error.kind {
            FieldErrorKind::Required => "REQUIRED_VALUE",
            FieldErrorKind::Invalid => "INVALID_VALUE",
            FieldErrorKind::TooLong => "SIZE_LIMIT_EXCEEDED",
            FieldErrorKind::OutOfRange => "OUT_OF_RANGE",
            FieldErrorKind::NotUnique => "UNIQUENESS_VIOLATION",
            FieldErrorKind::LimitExceeded => "LIMIT_EXCEEDED",
            FieldErrorKind::InvalidOtp => "INVALID_OTP",
            FieldErrorKind::InvalidFilter => "INVALID_FILTER",
        };
        Self {
            inner_error: error.inner.map(|inner| (*inner).into()),
            ..Self::new(code, Some(error.target), error.message)
        }
    }
}

const INVALID_DATA: &str = "The request could not be completed. One or more validation errors were in the request.";
/// What a 503 tells the client to wait: long enough for a pool to reconnect.
const UNAVAILABLE_RETRY_AFTER_SECONDS: u64 = 1;
const NOT_FOUND: &str = "The request could not be completed. The requested resource was not found.";

impl IntoResponse for Error {
    fn into_response(self) -> axum::response::Response {
        let id = Uuid::new_v4();
        let mut oauth = None;
        let (status, code, message, details) = match self {
            Error::Invalid(errors) => (
                StatusCode::BAD_REQUEST,
                "INVALID_DATA",
                INVALID_DATA.to_owned(),
                errors.into_iter().map(Detail::from).collect(),
            ),
            Error::BadRequest { target, message } => (
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "The request could not be completed. The request was malformed or invalid.".to_owned(),
                vec![Detail::new("INVALID_VALUE", target, message)],
            ),
            Error::Unauthorized(why) => {
                let detail = Detail::new("INVALID_TOKEN", None, why);
                let mut response = render(
                    StatusCode::UNAUTHORIZED,
                    ErrorBody::new(id, "ACCESS_FAILED", "You do not have access to this resource.", vec![detail]),
                );
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
            Error::Forbidden => (
                StatusCode::FORBIDDEN,
                "ACCESS_FAILED",
                "The actor attempting to perform the request is not authorized.".to_owned(),
                vec![Detail::new("INSUFFICIENT_PERMISSIONS", None, "The access token does not grant this operation.")],
            ),
            Error::NotFound => (StatusCode::NOT_FOUND, "NOT_FOUND", NOT_FOUND.to_owned(), vec![]),
            Error::Conflict(error) => (
                StatusCode::CONFLICT,
                "UNIQUENESS_VIOLATION",
                "The request could not be completed. A resource with the specified value already exists.".to_owned(),
                vec![Detail::from(error)],
            ),
            Error::OAuth { error, description } => {
                let message = format!("The request could not be completed. {description}");
                oauth = Some((error.as_str(), description));
                // RFC 6749 §5.2: 400, except a failed client authentication.
                let (status, code) = match error {
                    OAuthError::InvalidClient => (StatusCode::UNAUTHORIZED, "ACCESS_FAILED"),
                    _ => (StatusCode::BAD_REQUEST, "INVALID_REQUEST"),
                };
                (status, code, message, vec![])
            }
            Error::Throttled { retry_after_seconds } => {
                let description =
                    format!("Too many failed client authentications; retry after {retry_after_seconds} s.");
                let detail = Detail::new("LIMIT_EXCEEDED", None, description.clone());
                let mut body = ErrorBody::new(
                    id,
                    "REQUEST_LIMITED",
                    "The request could not be completed. Too many requests were made.",
                    vec![detail],
                );
                (body.error, body.error_description) = (Some("slow_down"), Some(description));
                let mut response = render(StatusCode::TOO_MANY_REQUESTS, body);
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
                return response;
            }
            Error::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "The request could not be completed. The method is not allowed for this resource.".to_owned(),
                vec![],
            ),
            Error::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "INVALID_REQUEST",
                "The request could not be completed. The request body is too large.".to_owned(),
                vec![Detail::new("SIZE_LIMIT_EXCEEDED", None, "The request body is larger than the service accepts.")],
            ),
            Error::UnsupportedMediaType(why) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "INVALID_REQUEST",
                "The request could not be completed. The Content-Type is not supported.".to_owned(),
                vec![Detail::new("INVALID_VALUE", Some("Content-Type".into()), why)],
            ),
            Error::Timeout => (
                StatusCode::REQUEST_TIMEOUT,
                "REQUEST_FAILED",
                "The request could not be completed in time.".to_owned(),
                vec![],
            ),
            Error::Unavailable(cause) => {
                tracing::warn!(error.id = %id, error.cause = %cause, "storage unavailable");
                let mut response = render(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorBody::new(
                        id,
                        "SERVICE_UNAVAILABLE",
                        "The service is temporarily unavailable. Try again later.",
                        vec![],
                    ),
                );
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECONDS));
                return response;
            }
            Error::Internal(cause) => {
                tracing::error!(error.id = %id, error.cause = %cause, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "UNEXPECTED_ERROR", "Unexpected server error.".to_owned(), vec![])
            }
        };
        let mut body = ErrorBody::new(id, code, &message, details);
        if let Some((error, description)) = oauth {
            body.error = Some(error);
            body.error_description = Some(description);
        }
        render(status, body)
    }
}

impl ErrorBody {
    fn new(id: Uuid, code: &'static str, message: &str, details: Vec<Detail>) -> Self {
        Self { id, code, message: message.to_owned(), details, error: None, error_description: None }
    }

    /// `INVALID_DATA` with one `INVALID_VALUE` detail that names no field: PingOne's
    /// error for a part of a request it could not carry out, inside a success response.
    pub(super) fn invalid_value(id: Uuid, message: String) -> Self {
        Self::new(id, "INVALID_DATA", INVALID_DATA, vec![Detail::new("INVALID_VALUE", None, message)])
    }
}

fn render(status: StatusCode, body: ErrorBody) -> axum::response::Response {
    (status, axum::Json(body)).into_response()
}

/// The error an empty or plain-text error response stands for.
fn error_for_status(status: StatusCode) -> Error {
    match status {
        StatusCode::NOT_FOUND => Error::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => Error::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::UnsupportedMediaType("Unsupported Content-Type.".into()),
        StatusCode::REQUEST_TIMEOUT => Error::Timeout,
        s if s.is_server_error() => Error::Internal(format!("{s} produced outside a handler").into()),
        _ => Error::BadRequest { target: None, message: "The request could not be processed.".into() },
    }
}

/// The outermost layer: an error response that is not already JSON (axum's empty
/// 405, tower-http's plain-text 413 and 408, a caught panic) is replaced by the
/// PingOne body for its status, keeping its headers (`Allow`, `x-request-id`).
pub async fn uniform_errors<B>(response: Response<B>) -> Response<Body>
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response.map(Body::new);
    }
    let (mut parts, _) = response.into_parts();
    let replacement = error_for_status(status).into_response();
    let (replacement_parts, body) = replacement.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.extend(replacement_parts.headers);
    Response::from_parts(parts, body)
}

/// Routes nobody serves.
pub async fn not_found() -> Error {
    Error::NotFound
}
