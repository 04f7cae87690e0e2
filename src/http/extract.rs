//! Request extractors whose rejections are credd errors, so malformed JSON, a wrong
//! field type, a bad path id or query, a wrong Content-Type and a missing token all
//! answer in PingOne's shape.

use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use domain::validation::FieldError;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::AppState;
use crate::auth::Principal;
use crate::error::Error;

/// A JSON request body, or a JSON response.
pub struct Json<T>(pub T);

fn content_type(headers: &axum::http::HeaderMap) -> &str {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// `application/json`, or a vendor type such as `application/vnd.pingidentity.….+json`.
pub fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        if !is_json(content_type(request.headers())) {
            return Err(Error::UnsupportedMediaType("Content-Type must be application/json.".into()));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge
            } else {
                Error::BadRequest { target: None, message: "The request body could not be read.".into() }
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

/// Parses a JSON body, naming the field a type error is in.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    // Every credd body is an object; serde would otherwise read a JSON array into a
    // struct by position.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Error::BadRequest { target: None, message: "The request body must be a JSON object.".into() });
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_data() && path != "." {
            Error::invalid(FieldError::invalid(&path, without_position(&inner)))
        } else {
            Error::BadRequest { target: None, message: format!("The request body is not a valid JSON object: {inner}") }
        }
    })
}

/// serde_json's message without its "at line 1 column 9" suffix.
fn without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters; a malformed id is a 400 naming the parameter.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                use axum::extract::path::ErrorKind;
                let (target, value) = match e.kind() {
                    ErrorKind::ParseErrorAtKey { key, value, .. } | ErrorKind::DeserializeError { key, value, .. } => {
                        (Some(key.clone()), value.as_str())
                    }
                    ErrorKind::ParseErrorAtIndex { index, value, .. } => {
                        (parameter_name(parts, *index), value.as_str())
                    }
                    ErrorKind::ParseError { value, .. } => (parameter_name(parts, 0), value.as_str()),
                    _ => (None, ""),
                };
                Err(Error::BadRequest { target, message: format!("'{value}' in the path is not a valid identifier.") })
            }
            Err(other) => Err(Error::BadRequest { target: None, message: other.body_text() }),
        }
    }
}

/// The name of the route's `index`th path parameter (`{user_id}` → `user_id`).
fn parameter_name(parts: &Parts, index: usize) -> Option<String> {
    let route = parts.extensions.get::<axum::extract::MatchedPath>()?.as_str();
    route.split('/').filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}')).nth(index).map(str::to_owned)
}

/// Query parameters.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|e: QueryRejection| Error::BadRequest { target: Some("query".into()), message: e.body_text() })
    }
}

/// A form body (`application/x-www-form-urlencoded`), as the token endpoint takes.
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        axum::extract::Form::<T>::from_request(request, state)
            .await
            .map(|axum::extract::Form(value)| Form(value))
            .map_err(|e: FormRejection| match e {
                FormRejection::InvalidFormContentType(_) => {
                    Error::UnsupportedMediaType("Content-Type must be application/x-www-form-urlencoded.".into())
                }
                other if other.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge,
                other => Error::BadRequest { target: None, message: other.body_text() },
            })
    }
}

/// The caller, from a valid `Authorization: Bearer` access token.
pub struct Caller(pub Principal);

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?.trim();
    (!token.is_empty()).then_some(token)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Err(Error::Unauthorized("An access token is required."));
        }
        let token = bearer_token(&parts.headers)
            .ok_or(Error::Unauthorized("The Authorization header must be 'Bearer <access token>'."))?;
        state.credd.tokens.verify(token).await.map(Caller)
    }
}
