//! The token endpoint's grants: `client_credentials` for worker applications (native
//! apps get none), and
//! RFC 8693 token exchange by which a worker obtains a self-service token for one
//! of its environment's users (how staging suites act as an end user).
//! Repeated failed client authentications from one source lock that source out of
//! the client for a while (`throttle`).

use std::net::IpAddr;
use std::time::Instant;

use domain::application::TokenEndpointAuthMethod;
use domain::store::{ApplicationStore, UserStore};
use uuid::Uuid;

use super::throttle::Source;
use super::{CLIENT_SECRET, Credd};
use crate::auth::{IssuedToken, SELF_MANAGEMENT_SCOPES};
use crate::error::{Error, OAuthError, Result};

pub const CLIENT_CREDENTIALS: &str = "client_credentials";
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The `subject_token_type` of a token exchange whose subject token is a user id.
pub const USER_ID_TOKEN_TYPE: &str = "urn:credd:params:oauth:token-type:user-id";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The client's credentials, as presented.
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
    pub method: TokenEndpointAuthMethod,
}

pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub scope: Option<String>,
    pub subject_token: Option<String>,
    pub subject_token_type: Option<String>,
}

pub struct GrantedToken {
    pub token: IssuedToken,
    /// Set for token exchange (RFC 8693 §2.2.1).
    pub issued_token_type: Option<&'static str>,
}

fn oauth(error: OAuthError, description: impl Into<String>) -> Error {
    Error::OAuth { error, description: description.into() }
}

fn invalid_client() -> Error {
    oauth(OAuthError::InvalidClient, "Client authentication failed.")
}

impl Credd {
    pub async fn grant_token(
        &self,
        environment_id: Uuid,
        client: Option<ClientCredentials>,
        request: TokenRequest,
        peer: Option<IpAddr>,
    ) -> Result<GrantedToken> {
        let client = client.ok_or_else(invalid_client)?;
        let client_id = Uuid::parse_str(&client.client_id).map_err(|_| invalid_client())?;
        // A locked source is refused before its secret is looked at, so guessing on
        // gains nothing, even with the right secret; other sources go on as before.
        let throttled = (Source::of(peer), environment_id, client_id);
        self.client_throttle.check(throttled, Instant::now()).map_err(|wait| Error::Throttled {
            retry_after_seconds: wait.as_millis().div_ceil(1000).max(1).try_into().unwrap_or(u64::MAX),
        })?;
        let application = match self.store.application(environment_id, client_id).await {
            Ok(application) => application,
            // Unknown clients are not counted: no secret can be guessed for them, and
            // so only applications that exist take room in the throttle.
            Err(domain::StoreError::NotFound) => return Err(invalid_client()),
            Err(e) => return Err(e.into()),
        };
        // Checked before anything else about the app, so a wrong secret and an unknown
        // or disabled client look the same. A client without a secret (NONE) cannot
        // authenticate.
        let secret_ok = application
            .secret
            .as_ref()
            .is_some_and(|kept| self.master_key.verify_secret(CLIENT_SECRET, &client.client_secret, &kept.hash));
        if !secret_ok || !application.enabled || application.token_endpoint_auth_method != client.method {
            self.client_throttle.failed(throttled, Instant::now());
            return Err(invalid_client());
        }
        self.client_throttle.succeeded(throttled);
        // credd's tokens manage an environment or act as a user on a worker's behalf;
        // a native app gets neither (RFC 6749 §5.2).
        if !application.is_worker() {
            return Err(oauth(
                OAuthError::UnauthorizedClient,
                "Only worker applications obtain tokens from this token endpoint.",
            ));
        }

        match request.grant_type.as_deref() {
            Some(CLIENT_CREDENTIALS) => {
                let token = self.tokens.issue(&application, application.id, None).await?;
                Ok(GrantedToken { token, issued_token_type: None })
            }
            Some(TOKEN_EXCHANGE) => {
                if request.subject_token_type.as_deref() != Some(USER_ID_TOKEN_TYPE) {
                    return Err(oauth(
                        OAuthError::InvalidRequest,
                        format!("subject_token_type must be {USER_ID_TOKEN_TYPE}."),
                    ));
                }
                let user_id = request.subject_token.as_deref().and_then(|t| Uuid::parse_str(t).ok());
                let user_id =
                    user_id.ok_or_else(|| oauth(OAuthError::InvalidRequest, "subject_token must be a user id."))?;
                let scope = self_management_scope(request.scope.as_deref())?;
                match self.store.user(environment_id, user_id).await {
                    Ok(user) if user.enabled => {}
                    Ok(_) => return Err(oauth(OAuthError::InvalidGrant, "The user is disabled.")),
                    Err(domain::StoreError::NotFound) => {
                        return Err(oauth(OAuthError::InvalidGrant, "No such user in this environment."));
                    }
                    Err(e) => return Err(e.into()),
                }
                let token = self.tokens.issue(&application, user_id, Some(scope)).await?;
                Ok(GrantedToken { token, issued_token_type: Some(ACCESS_TOKEN_TYPE) })
            }
            Some(_) => Err(oauth(
                OAuthError::UnsupportedGrantType,
                "Supported grant types: client_credentials, token exchange.",
            )),
            None => Err(oauth(OAuthError::InvalidRequest, "grant_type is required.")),
        }
    }
}

/// The requested scopes, each of which must be a self-management scope.
fn self_management_scope(requested: Option<&str>) -> Result<String> {
    let scopes: Vec<&str> = requested.unwrap_or_default().split_whitespace().collect();
    if scopes.is_empty() {
        return Err(oauth(
            OAuthError::InvalidScope,
            "scope must name one or more self-management scopes such as p1:create:device.",
        ));
    }
    if let Some(unknown) = scopes.iter().find(|s| !SELF_MANAGEMENT_SCOPES.contains(s)) {
        return Err(oauth(OAuthError::InvalidScope, format!("{unknown} is not a self-management scope.")));
    }
    Ok(scopes.join(" "))
}
