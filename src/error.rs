//! The one error type of credd's services and handlers.
//!
//! Which to use where:
//! - services return `Result<T, Error>` and pick the variant that says what went
//!   wrong for the client (`Invalid`, `NotFound`, `Forbidden`, …);
//! - storage failures arrive through `From<StoreError>`: `NotFound` stays not found,
//!   `Unavailable` (the database cannot serve now) becomes a 503 the client may retry;
//!   anything else becomes `Internal`, which is logged with its cause and shown to
//!   the client only as "Unexpected server error" with the error's id;
//! - `http::error` renders every variant as PingOne's body `{id, code, message,
//!   details[]}` with its status. Nothing else writes error responses.

use domain::StoreError;
use domain::validation::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400 `INVALID_DATA`: one or more fields were rejected.
    #[error("invalid data")]
    Invalid(Vec<FieldError>),
    /// 400 `INVALID_REQUEST`: the request itself is malformed (bad JSON, a bad query
    /// parameter or path segment). `target` names the part when known.
    #[error("invalid request: {message}")]
    BadRequest { target: Option<String>, message: String },
    /// 401 `ACCESS_FAILED`: no valid access token.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// 403 `ACCESS_FAILED`: the token is valid but may not do this.
    #[error("forbidden")]
    Forbidden,
    /// 404 `NOT_FOUND`.
    #[error("not found")]
    NotFound,
    /// 409 `UNIQUENESS_VIOLATION`: another record holds the value.
    #[error("conflict: {0}")]
    Conflict(FieldError),
    /// An OAuth 2.0 token endpoint error (RFC 6749 §5.2), rendered with both the
    /// PingOne body and OAuth's `error` / `error_description`.
    #[error("oauth {error}: {description}")]
    OAuth { status: u16, error: &'static str, description: String },
    /// 429 `REQUEST_LIMITED`: the client failed to authenticate too often; it may try
    /// again after `retry_after_seconds` (the `Retry-After` header). Token endpoint
    /// only, so it carries OAuth's `error: slow_down` too.
    #[error("throttled for {retry_after_seconds} s")]
    Throttled { retry_after_seconds: u64 },
    /// 405.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 413: the body is over the configured limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415: the Content-Type is not one this operation accepts.
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    /// 408: the request took too long.
    #[error("request timeout")]
    Timeout,
    /// 503 `SERVICE_UNAVAILABLE` with `Retry-After`: the database cannot serve now.
    #[error("unavailable: {0}")]
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
    /// 500: a failure that is credd's, not the client's.
    #[error("internal error: {0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    pub fn invalid(error: FieldError) -> Self {
        Self::Invalid(vec![error])
    }

    pub fn bad_request(target: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadRequest { target: Some(target.into()), message: message.into() }
    }

    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(error))
    }

    /// A store result where `Conflict` means this field's value is taken.
    pub fn conflict_on(target: &str, message: impl Into<String>) -> impl FnOnce(StoreError) -> Self {
        let error = FieldError::new(target, domain::validation::FieldErrorKind::NotUnique, message);
        move |e| match e {
            StoreError::Conflict => Self::Conflict(error),
            other => other.into(),
        }
    }
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict => Self::Internal("unexpected uniqueness conflict".into()),
            StoreError::Unavailable(cause) => Self::Unavailable(cause),
            StoreError::Backend(cause) => Self::Internal(cause),
        }
    }
}

impl From<Vec<FieldError>> for Error {
    fn from(errors: Vec<FieldError>) -> Self {
        Self::Invalid(errors)
    }
}

impl From<FieldError> for Error {
    fn from(error: FieldError) -> Self {
        Self::Invalid(vec![error])
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
