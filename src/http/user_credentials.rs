//! `/v1/environments/{envId}/users/{userId}/credentials`, their provisioned copies,
//! and the wallet-facing mailbox at `/v1/distributedid/wallets/{walletId}/credentials`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use domain::credential::UserCredential;
use domain::validation::{Collector, FieldError};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::extract::{Caller, Json, Path, Query, bearer_token, parse_json};
use super::openapi;
use super::wallets::{NotificationBody, NotificationReportView};
use super::wire::{self, ListQuery, Ref};
use crate::error::{Error, Result};
use crate::service::user_credentials::{CredentialRequest, ProvisionedOf, ProvisionedView, wallet_action};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const REVOKE: &str = "application/vnd.pingidentity.validations.revokeCredential+json";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, revoke))
        .routes(routes!(provisioned_of_credential))
        .routes(routes!(provisioned_in_wallet))
        .routes(routes!(mailbox))
        .routes(routes!(act))
}

/// The body of a create or an update (PUT resends everything).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UserCredentialRequest)]
struct CredentialBody {
    /// Cannot change on update.
    #[schema(required = true, nullable = false)]
    credential_type: Option<Ref>,
    /// Claim values by field title. Builds the credential and is then gone: never
    /// answered, logged or stored in plaintext. Needs an `ACTIVE` wallet of the user.
    data: Option<BTreeMap<String, String>>,
    /// In the past: the credential is `REVOKED` at once. Years 0001 to 9999.
    #[schema(value_type = Option<openapi::Timestamp>)]
    #[serde(default, deserialize_with = "wire::optional_timestamp")]
    expires_at: Option<domain::time::Timestamp>,
    /// Sends `credential_issued` (or `credential_updated`).
    notification: Option<NotificationBody>,
}

/// Shapes this module renders with `json!`, for the OpenAPI document.
#[expect(dead_code, reason = "described to utoipa, never built: the views render json!")]
mod shapes {
    use utoipa::ToSchema;
    use uuid::Uuid;

    use crate::http::openapi;
    use crate::http::wallets::NotificationReportView as NotificationReport;
    use crate::http::wire::Ref;

    /// A user credential (never its `data`).
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct UserCredential {
        #[serde(rename = "_links")]
        pub links: (),
        pub id: Uuid,
        #[schema(value_type = openapi::Timestamp)]
        pub created_at: String,
        #[schema(value_type = openapi::Timestamp)]
        pub updated_at: String,
        pub environment: Ref,
        pub user: Ref,
        pub credential_type: CredentialTypeVersion,
        pub title: String,
        #[schema(value_type = openapi::CredentialStatus)]
        pub status: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<openapi::Timestamp>)]
        pub expires_at: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub notification: Option<NotificationReport>,
    }

    /// The credential type and the version the credential was built from.
    #[derive(ToSchema)]
    pub struct CredentialTypeVersion {
        pub id: Uuid,
        pub version: VersionNumber,
    }

    #[derive(ToSchema)]
    pub struct VersionNumber {
        pub number: i64,
    }

    /// The credential's copy in one wallet, with what the wallet did with it.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct ProvisionedCredential {
        pub id: Uuid,
        #[schema(value_type = openapi::Timestamp)]
        pub created_at: String,
        pub environment: Ref,
        pub user: Ref,
        pub credential: Ref,
        pub digital_wallet: Ref,
        #[schema(value_type = openapi::ProvisionStatus)]
        pub status: String,
        #[schema(value_type = Option<openapi::Timestamp>)]
        pub expires_at: Option<String>,
        pub claim_reference: ClaimReference,
        pub wallet_actions: Vec<WalletActionRecord>,
        /// Why the last delivery failed; cleared by a later success.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub delivery_error: Option<String>,
    }

    #[derive(ToSchema)]
    pub struct ClaimReference {
        pub id: Uuid,
        /// The environment's `did:web`.
        pub issuer: String,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    #[schema(as = WalletActionRecord)]
    pub struct WalletActionRecord {
        #[schema(value_type = openapi::WalletAction)]
        pub action: String,
        #[schema(value_type = openapi::Timestamp)]
        pub occurred_at: String,
    }

    /// Every copy of one credential, or every copy in one wallet.
    #[derive(ToSchema)]
    pub struct ProvisionedCredentials {
        #[serde(rename = "_embedded")]
        pub embedded: EmbeddedProvisionedCredentials,
        pub size: usize,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct EmbeddedProvisionedCredentials {
        pub provisioned_credentials: Vec<ProvisionedCredential>,
    }

    /// The credentials offered to the wallet, signed; `_links.next` when more wait.
    #[derive(ToSchema)]
    pub struct Mailbox {
        #[serde(rename = "_links")]
        pub links: (),
        #[serde(rename = "_embedded")]
        pub embedded: EmbeddedMailbox,
        pub size: usize,
    }

    #[derive(ToSchema)]
    pub struct EmbeddedMailbox {
        pub credentials: Vec<MailboxEntry>,
    }

    /// An offered credential: a JWT VC (EdDSA) whose issuer is the environment's `did:web`;
    /// `_links.action` is where the wallet answers.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct MailboxEntry {
        #[serde(rename = "_links")]
        pub links: (),
        pub id: Uuid,
        pub credential: Ref,
        #[schema(value_type = openapi::ProvisionStatus)]
        pub status: String,
        pub credential_jwt: String,
    }

    /// The copy after the wallet's action.
    #[derive(ToSchema)]
    pub struct ActedOn {
        pub id: Uuid,
        #[schema(value_type = openapi::ProvisionStatus)]
        pub status: String,
    }
}

wire::untyped_collection_schema!(UserCredentials, "items", shapes::UserCredential);

impl CredentialBody {
    fn parse(self) -> Result<CredentialRequest> {
        let mut errors = Collector::default();
        let credential_type =
            errors.take(self.credential_type.ok_or_else(|| FieldError::required("credentialType.id")));
        let notification = self.notification.map(|n| n.parse(&mut errors));
        let credential_type = errors.finish_with(credential_type)?;
        Ok(CredentialRequest {
            credential_type_id: credential_type.id,
            data: self.data,
            expires_at: self.expires_at,
            notification,
        })
    }
}

fn view(state: &AppState, credential: &UserCredential) -> Value {
    let (env, user) = (credential.environment_id, credential.user_id);
    let path = format!("/v1/environments/{env}/users/{user}/credentials/{}", credential.id);
    let type_path = format!("/v1/environments/{env}/credentialTypes/{}", credential.credential_type_id);
    let mut view = json!({
        "_links": {
            "self": state.links.link(&path),
            "environment": state.links.link(&state.links.environment(env)),
            "user": state.links.link(&format!("/v1/environments/{env}/users/{user}")),
            "credentialType": state.links.link(&type_path),
        },
        "id": credential.id,
        "createdAt": wire::format_timestamp(&credential.created_at),
        "updatedAt": wire::format_timestamp(&credential.updated_at),
        "environment": { "id": env },
        "user": { "id": user },
        "credentialType": { "id": credential.credential_type_id, "version": { "number": credential.type_version } },
        "title": credential.title,
        "status": credential.status.as_str(),
    });
    if let Some(expires_at) = &credential.expires_at {
        view["expiresAt"] = wire::format_timestamp(expires_at).into();
    }
    if let Some(notification) = NotificationReportView::of_kept(credential.notification.as_deref(), user) {
        view["notification"] = json!(notification);
    }
    view
}

/// Create a credential for the user; with `data` it is delivered to each of the user's
/// `ACTIVE` wallets, without it waits `PENDING` for one. `data` is never answered.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/users/{user_id}/credentials",
    operation_id = "createUserCredential", request_body = CredentialBody,
    responses((status = 201, description = "The new credential.", body = shapes::UserCredential)))]
async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<CredentialBody>,
) -> Result<(StatusCode, Json<Value>)> {
    let credential = state.credd.create_user_credential(&caller, environment_id, user_id, body.parse()?).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &credential))))
}

/// Update a credential: everything is sent again, and every active wallet gets the new one.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/users/{user_id}/credentials/{credential_id}",
    operation_id = "updateUserCredential", request_body = CredentialBody,
    responses((status = 200, description = "The credential.", body = shapes::UserCredential)))]
async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
    Json(body): Json<CredentialBody>,
) -> Result<Json<Value>> {
    let credential = state.credd.update_user_credential(&caller, environment_id, user_id, id, body.parse()?).await?;
    Ok(Json(view(&state, &credential)))
}

/// List the user's credentials.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users/{user_id}/credentials",
    operation_id = "listUserCredentials", params(ListQuery),
    responses((status = 200, description = "A page of credentials.", body = UserCredentials)))]
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id)): Path<(Uuid, Uuid)>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<wire::Collection<Value>>> {
    let request = query.page(&uri)?;
    let page = state.credd.user_credentials(&caller, environment_id, user_id, request).await?;
    Ok(Json(wire::untyped_collection(&state.links, &uri, "items", page, request, |c| c.id, |c| view(&state, &c))))
}

/// Read a credential.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users/{user_id}/credentials/{credential_id}",
    operation_id = "readUserCredential",
    responses((status = 200, description = "The credential.", body = shapes::UserCredential)))]
async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<Json<Value>> {
    Ok(Json(view(&state, &state.credd.user_credential(&caller, environment_id, user_id, id).await?)))
}

/// Revoke a credential: `POST` with the revoke media type (the body is ignored).
#[utoipa::path(post, path = "/v1/environments/{environment_id}/users/{user_id}/credentials/{credential_id}",
    operation_id = "revokeUserCredential",
    request_body(content = Object, content_type = "application/vnd.pingidentity.validations.revokeCredential+json",
        description = "Any JSON object; credd reads only the media type."),
    responses((status = 200, description = "The revoked credential.", body = shapes::UserCredential)))]
async fn revoke(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !media.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case(REVOKE) {
        return Err(Error::UnsupportedMediaType(format!("Content-Type must be {REVOKE}.")));
    }
    Ok(Json(view(&state, &state.credd.revoke_user_credential(&caller, environment_id, user_id, id).await?)))
}

fn provisioned_view(state: &AppState, item: ProvisionedView) -> Value {
    let p = item.provisioned;
    let mut view = json!({
        "id": p.id,
        "createdAt": wire::format_timestamp(&p.created_at),
        "environment": { "id": p.environment_id },
        "user": { "id": p.user_id },
        "credential": { "id": p.credential_id },
        "digitalWallet": { "id": p.wallet_id },
        "status": p.status.as_str(),
        "expiresAt": p.expires_at.as_ref().map(wire::format_timestamp),
        "claimReference": { "id": p.id, "issuer": state.credd.issuer_did(p.environment_id) },
        "walletActions": item.actions.iter().map(|a| json!({ "action": a.action.as_str(), "occurredAt": wire::format_timestamp(&a.occurred_at) })).collect::<Vec<_>>(),
    });
    if let Some(error) = p.delivery_error {
        view["deliveryError"] = error.into();
    }
    view
}

fn provisioned_collection(state: &AppState, items: Vec<ProvisionedView>) -> Value {
    let items: Vec<Value> = items.into_iter().map(|i| provisioned_view(state, i)).collect();
    json!({ "_embedded": { "provisionedCredentials": items }, "size": items.len() })
}

/// List the copies of a credential, one per wallet, with their wallet actions.
#[utoipa::path(get,
    path = "/v1/environments/{environment_id}/users/{user_id}/credentials/{credential_id}/provisionedCredentials",
    operation_id = "listProvisionedCredentialsOfCredential",
    responses((status = 200, description = "The copies.", body = shapes::ProvisionedCredentials)))]
async fn provisioned_of_credential(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<Json<Value>> {
    let items =
        state.credd.provisioned_credentials(&caller, environment_id, user_id, ProvisionedOf::Credential(id)).await?;
    Ok(Json(provisioned_collection(&state, items)))
}

/// List the credential copies in a wallet.
#[utoipa::path(get,
    path = "/v1/environments/{environment_id}/users/{user_id}/digitalWallets/{wallet_id}/provisionedCredentials",
    operation_id = "listProvisionedCredentialsInWallet",
    responses((status = 200, description = "The copies.", body = shapes::ProvisionedCredentials)))]
async fn provisioned_in_wallet(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<Json<Value>> {
    let items =
        state.credd.provisioned_credentials(&caller, environment_id, user_id, ProvisionedOf::Wallet(id)).await?;
    Ok(Json(provisioned_collection(&state, items)))
}

fn wallet_token(headers: &HeaderMap) -> Result<&str> {
    bearer_token(headers).ok_or(Error::Unauthorized("A wallet access token is required."))
}

/// The wallet's mailbox: offered credentials with their signed JWT VC, oldest first,
/// a page at a time.
#[utoipa::path(get, path = "/v1/distributedid/wallets/{wallet_id}/credentials", operation_id = "readWalletMailbox",
    tag = "Wallet mailbox", security(("walletToken" = [])), params(ListQuery),
    responses((status = 200, description = "The offered credentials.", body = shapes::Mailbox)))]
async fn mailbox(
    State(state): State<AppState>,
    Path(wallet_id): Path<Uuid>,
    Query(query): Query<ListQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Json<wire::Collection<Value>>> {
    let request = query.page(&uri)?;
    let entries = state.credd.mailbox(wallet_id, wallet_token(&headers)?, request).await?;
    Ok(Json(wire::untyped_collection(
        &state.links,
        &uri,
        "credentials",
        entries,
        request,
        |e| e.provisioned.id,
        |e| {
            json!({
                "_links": { "action": state.links.link(&format!("/v1/distributedid/wallets/{wallet_id}/credentials/{}", e.provisioned.id)) },
                "id": e.provisioned.id,
                "credential": { "id": e.provisioned.credential_id },
                "status": e.provisioned.status.as_str(),
                "credentialJwt": e.credential_jwt,
            })
        },
    )))
}

/// The wallet's answer to an offered credential.
#[derive(Deserialize, ToSchema)]
#[schema(as = WalletActionRequest)]
struct ActionBody {
    /// `ACCEPT`, `REJECT` or `DELETE`.
    #[schema(required = true, nullable = false, value_type = Option<String>, examples("ACCEPT", "REJECT", "DELETE"))]
    action: Option<String>,
}

/// Accept, reject or delete an offered credential; the mailbox copy is wiped.
#[utoipa::path(post, path = "/v1/distributedid/wallets/{wallet_id}/credentials/{provisioned_id}",
    operation_id = "actOnWalletCredential", tag = "Wallet mailbox", security(("walletToken" = [])),
    request_body = ActionBody,
    responses((status = 200, description = "The copy's new status.", body = shapes::ActedOn)))]
async fn act(
    State(state): State<AppState>,
    Path((wallet_id, provisioned_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let token = wallet_token(&headers)?;
    let body: ActionBody = parse_json(&body)?;
    let action = body.action.as_deref().ok_or_else(|| Error::invalid(FieldError::required("action")))?;
    let action = wallet_action(action)
        .ok_or_else(|| Error::invalid(FieldError::invalid("action", "action must be ACCEPT, REJECT or DELETE.")))?;
    let copy = state.credd.act_on_credential(wallet_id, token, provisioned_id, action).await?;
    Ok(Json(json!({ "id": copy.id, "status": copy.status.as_str() })))
}
