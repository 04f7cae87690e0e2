//! The authorization server of each environment: `POST /{envId}/as/token` and
//! `GET /{envId}/as/jwks`, as PingOne serves them on its auth host.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use domain::application::TokenEndpointAuthMethod;
use domain::signing_key::SigningKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Form, Json, Path};
use crate::error::{Error, OAuthError, Result};
use crate::service::oauth::{ClientCredentials, TokenRequest};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(token)).routes(routes!(jwks))
}

/// A token request (`application/x-www-form-urlencoded`).
#[derive(Deserialize, ToSchema)]
struct TokenForm {
    /// `client_credentials`, or `urn:ietf:params:oauth:grant-type:token-exchange` for a user's
    /// self-service token.
    #[schema(required = true, nullable = false, value_type = Option<String>,
        examples("client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"))]
    grant_type: Option<String>,
    /// client_secret_post: the worker application's id (its client id)…
    client_id: Option<String>,
    /// …and its secret.
    client_secret: Option<String>,
    /// Token exchange: the self-management scopes, space-separated (`p1:read:user p1:create:device`).
    scope: Option<String>,
    /// Token exchange: the user's id.
    subject_token: Option<String>,
    /// Token exchange: `urn:credd:params:oauth:token-type:user-id`.
    subject_token_type: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct TokenResponse {
    access_token: String,
    /// `Bearer`.
    token_type: &'static str,
    /// Seconds.
    expires_in: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_token_type: Option<&'static str>,
}

/// The client's credentials from HTTP Basic or from the form, never both.
fn client_credentials(headers: &HeaderMap, form: &TokenForm) -> Result<Option<ClientCredentials>> {
    let basic = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic "));
    match (basic, &form.client_secret) {
        (Some(_), Some(_)) => Err(Error::OAuth {
            error: OAuthError::InvalidRequest,
            description: "Use one client authentication method, not two.".into(),
        }),
        (Some(encoded), None) => {
            let decoded = STANDARD.decode(encoded.trim()).ok().and_then(|bytes| String::from_utf8(bytes).ok());
            Ok(decoded.and_then(|pair| {
                let (id, secret) = pair.split_once(':')?;
                Some(ClientCredentials {
                    client_id: form_decoded(id)?,
                    client_secret: form_decoded(secret)?,
                    method: TokenEndpointAuthMethod::ClientSecretBasic,
                })
            }))
        }
        (None, Some(secret)) => Ok(form.client_id.as_ref().map(|id| ClientCredentials {
            client_id: id.clone(),
            client_secret: secret.clone(),
            method: TokenEndpointAuthMethod::ClientSecretPost,
        })),
        (None, None) => Ok(None),
    }
}

/// RFC 6749 §2.3.1: Basic's id and secret are form-urlencoded before base64, as
/// clients such as oauth4webapi send them (`-` as `%2D`); unencoded ones, which hold
/// neither `%` nor `+`, read the same. `None` unless the result is UTF-8.
fn form_decoded(value: &str) -> Option<String> {
    let spaced = value.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8().ok().map(Into::into)
}

/// Get an access token: a worker's by client credentials, or by token exchange a
/// self-service token for one of the environment's users.
#[utoipa::path(post, path = "/{environment_id}/as/token", operation_id = "createToken",
    security(("clientSecretBasic" = []), ()),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token.", body = TokenResponse,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 429, description = "`REQUEST_LIMITED`: too many failed client authentications; retry after \
            `Retry-After` seconds (OAuth `error` `slow_down`).", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ))]
async fn token(
    State(state): State<AppState>,
    Path(environment_id): Path<Uuid>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<impl IntoResponse> {
    let client = client_credentials(&headers, &form)?;
    let request = TokenRequest {
        grant_type: form.grant_type,
        scope: form.scope,
        subject_token: form.subject_token,
        subject_token_type: form.subject_token_type,
    };
    // Served without connect info (the in-process router in tests), every caller is
    // one unknown source.
    let peer = peer.map(|Extension(ConnectInfo(address))| address.ip());
    let granted = state.credd.grant_token(environment_id, client, request, peer).await?;
    let body = TokenResponse {
        access_token: granted.token.access_token,
        token_type: "Bearer",
        expires_in: granted.token.expires_in,
        scope: granted.token.scope,
        issued_token_type: granted.issued_token_type,
    };
    Ok(([(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], Json(body)))
}

/// The environment's token signing keys, to verify its access tokens.
#[utoipa::path(get, path = "/{environment_id}/as/jwks", operation_id = "readJwks", security(()),
    responses((status = 200, description = "A JSON Web Key Set.", body = JwkSet)))]
async fn jwks(State(state): State<AppState>, Path(environment_id): Path<Uuid>) -> Result<Json<JwkSet>> {
    let keys = state.credd.tokens.signing_keys(environment_id).await?;
    Ok(Json(JwkSet { keys: keys.iter().map(Jwk::ed25519).collect() }))
}

/// RFC 7517's key set.
#[derive(Serialize, ToSchema)]
#[schema(as = Jwks)]
struct JwkSet {
    keys: Vec<Jwk>,
}

/// An Ed25519 public key (RFC 8037).
#[derive(Serialize, ToSchema)]
struct Jwk {
    /// `OKP`.
    kty: &'static str,
    /// `Ed25519`.
    crv: &'static str,
    /// `sig`.
    #[serde(rename = "use")]
    r#use: &'static str,
    /// `EdDSA`.
    alg: &'static str,
    kid: Uuid,
    /// The public key, base64url without padding.
    x: String,
}

impl Jwk {
    fn ed25519(key: &SigningKey) -> Self {
        Self {
            kty: "OKP",
            crv: "Ed25519",
            r#use: "sig",
            alg: "EdDSA",
            kid: key.id,
            x: URL_SAFE_NO_PAD.encode(&key.public_key),
        }
    }
}
