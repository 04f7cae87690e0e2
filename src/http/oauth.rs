//! The authorization server of each environment: `POST /{envId}/as/token`,
//! `GET /{envId}/as/jwks` and `GET /{envId}/as/.well-known/openid-configuration`, as
//! PingOne serves them on its auth host.

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
use crate::auth::SELF_MANAGEMENT_SCOPES;
use crate::crypto::rsa_public_components;
use crate::error::{Error, OAuthError, Result};
use crate::service::oauth::{CLIENT_CREDENTIALS, ClientCredentials, TOKEN_EXCHANGE, TokenRequest};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(token)).routes(routes!(jwks)).routes(routes!(openid_configuration))
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
    Ok(Json(JwkSet { keys: keys.iter().map(Jwk::rs256).collect::<Result<_>>()? }))
}

/// RFC 7517's key set.
#[derive(Serialize, ToSchema)]
#[schema(as = Jwks)]
struct JwkSet {
    keys: Vec<Jwk>,
}

/// An RSA public key that verifies RS256 access tokens (RFC 7518 §6.3).
#[derive(Serialize, ToSchema)]
struct Jwk {
    /// `RSA`.
    kty: &'static str,
    /// `sig`.
    #[serde(rename = "use")]
    r#use: &'static str,
    /// `RS256`.
    alg: &'static str,
    /// The `kid` of the tokens this key signed.
    kid: Uuid,
    /// The modulus, base64url without padding.
    n: String,
    /// The public exponent, base64url without padding.
    e: String,
}

impl Jwk {
    fn rs256(key: &SigningKey) -> Result<Self> {
        let (n, e) = rsa_public_components(&key.public_key).map_err(Error::internal)?;
        Ok(Self {
            kty: "RSA",
            r#use: "sig",
            alg: "RS256",
            kid: key.id,
            n: URL_SAFE_NO_PAD.encode(n),
            e: URL_SAFE_NO_PAD.encode(e),
        })
    }
}

/// The environment's OpenID Provider metadata (OpenID Connect Discovery 1.0), listing
/// only what credd serves: no authorization, userinfo or introspection endpoints.
#[utoipa::path(get, path = "/{environment_id}/as/.well-known/openid-configuration",
    operation_id = "readOpenIdConfiguration", security(()),
    responses((status = 200, description = "The provider metadata.", body = OpenIdConfiguration)))]
async fn openid_configuration(
    State(state): State<AppState>,
    Path(environment_id): Path<Uuid>,
) -> Result<Json<OpenIdConfiguration>> {
    let issuer = state.credd.tokens.environment_issuer(environment_id).await?;
    Ok(Json(OpenIdConfiguration::of(issuer)))
}

#[derive(Serialize, ToSchema)]
struct OpenIdConfiguration {
    /// Exactly the `iss` of the environment's tokens.
    issuer: String,
    jwks_uri: String,
    token_endpoint: String,
    /// `client_secret_basic`, `client_secret_post`: each worker uses the one it is
    /// configured with.
    token_endpoint_auth_methods_supported: Vec<String>,
    grant_types_supported: Vec<&'static str>,
    /// Empty: credd has no authorization endpoint.
    response_types_supported: Vec<&'static str>,
    /// `public`.
    subject_types_supported: Vec<&'static str>,
    /// `RS256`, the algorithm of every token credd's authorization server signs.
    id_token_signing_alg_values_supported: Vec<&'static str>,
    /// The self-management scopes a token exchange grants.
    scopes_supported: Vec<&'static str>,
}

impl OpenIdConfiguration {
    fn of(issuer: String) -> Self {
        Self {
            jwks_uri: format!("{issuer}/jwks"),
            token_endpoint: format!("{issuer}/token"),
            issuer,
            // A client without a secret (`none`) obtains no token here.
            token_endpoint_auth_methods_supported: TokenEndpointAuthMethod::ALL
                .iter()
                .filter(|method| **method != TokenEndpointAuthMethod::None)
                .map(|method| method.as_str().to_ascii_lowercase())
                .collect(),
            grant_types_supported: vec![CLIENT_CREDENTIALS, TOKEN_EXCHANGE],
            response_types_supported: Vec::new(),
            subject_types_supported: vec!["public"],
            id_token_signing_alg_values_supported: vec!["RS256"],
            scopes_supported: SELF_MANAGEMENT_SCOPES.to_vec(),
        }
    }
}
