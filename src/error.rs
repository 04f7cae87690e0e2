//! The one error type of credd's services and handlers.
//!
//! Which to use where:
//! - services return `Result<T, Error>` and pick the variant that says what went
//!   wrong for the client (`Invalid`, `NotFound`, `Forbidden`, …);
//! - storage failures arrive through `From<StoreError>`: `NotFound` stays not found,
//!   `Unavailable` (the database cannot serve now) says the client may retry;
//!   anything else becomes `Internal`, which is logged with its cause and shown to
//!   the client only as "Unexpected server error" with the error's id;
//! - the variants say what happened, never how it is sent: `http::error` alone picks
//!   each one's status and renders PingOne's body `{id, code, message, details[]}`.
//!   Nothing else writes error responses.

use domain::StoreError;
use domain::validation::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more fields were rejected.
    #[error("invalid data")]
    Invalid(Vec<FieldError>),
    /// The request itself is malformed (bad JSON, a bad query parameter or path
    /// segment). `target` names the part when known.
    #[error("invalid request: {message}")]
    BadRequest { target: Option<String>, message: String },
    /// No valid access token.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// The token is valid but may not do this.
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// Another record holds the value.
    #[error("conflict: {0}")]
    Conflict(FieldError),
    /// A token endpoint error (RFC 6749 §5.2), rendered with both the PingOne body
    /// and OAuth's `error` / `error_description`.
    #[error("oauth {}: {description}", error.as_str())]
    OAuth { error: OAuthError, description: String },
    /// The client failed to authenticate too often; it may try again after
    /// `retry_after_seconds`. Token endpoint only.
    #[error("throttled for {retry_after_seconds} s")]
    Throttled { retry_after_seconds: u64 },
    /// The resource does not take this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body is over the configured limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// The Content-Type is not one this operation accepts.
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    /// The request took too long.
    #[error("request timeout")]
    Timeout,
    /// The database cannot serve now; trying again shortly may work.
    #[error("unavailable: {0}")]
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
    /// A failure that is credd's, not the client's.
    #[error("internal error: {0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

/// The token endpoint's error codes (RFC 6749 §5.2) that credd answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthError {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
}

impl OAuthError {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
        }
    }
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
