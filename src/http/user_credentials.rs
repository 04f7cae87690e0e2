//! `/v1/environments/{envId}/users/{userId}/credentials`, their provisioned copies,
//! and the wallet-facing mailbox at `/v1/distributedid/wallets/{walletId}/credentials`.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::routing::get;
use domain::credential::UserCredential;
use domain::validation::{Collector, FieldError};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::extract::{Caller, Json, Path, Query, bearer_token, parse_json};
use super::wallets::NotificationBody;
use super::wire::{self, ListQuery, Ref};
use crate::error::{Error, Result};
use crate::service::user_credentials::{CredentialRequest, ProvisionedOf, ProvisionedView, wallet_action};

const REVOKE: &str = "application/vnd.pingidentity.validations.revokeCredential+json";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/environments/{environment_id}/users/{user_id}/credentials", get(list).post(create))
        .route(
            "/v1/environments/{environment_id}/users/{user_id}/credentials/{credential_id}",
            get(read).put(update).post(revoke),
        )
        .route(
            "/v1/environments/{environment_id}/users/{user_id}/credentials/{credential_id}/provisionedCredentials",
            get(provisioned_of_credential),
        )
        .route(
            "/v1/environments/{environment_id}/users/{user_id}/digitalWallets/{wallet_id}/provisionedCredentials",
            get(provisioned_in_wallet),
        )
        .route("/v1/distributedid/wallets/{wallet_id}/credentials", get(mailbox))
        .route("/v1/distributedid/wallets/{wallet_id}/credentials/{provisioned_id}", axum::routing::post(act))
}

/// The body of a create or an update (PUT resends everything).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialBody {
    credential_type: Option<Ref>,
    data: Option<BTreeMap<String, String>>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    notification: Option<NotificationBody>,
}

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
            expires_at: self.expires_at.map(domain::time::truncate_to_millis),
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
    if let Some(notification) = credential.notification.as_deref().and_then(|n| serde_json::from_str::<Value>(n).ok()) {
        view["notification"] = notification;
    }
    view
}

/// `data` is used to build the credential and never answered.
async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<CredentialBody>,
) -> Result<(StatusCode, Json<Value>)> {
    let credential = state.credd.create_user_credential(&caller, environment_id, user_id, body.parse()?).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &credential))))
}

async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
    Json(body): Json<CredentialBody>,
) -> Result<Json<Value>> {
    let credential = state.credd.update_user_credential(&caller, environment_id, user_id, id, body.parse()?).await?;
    Ok(Json(view(&state, &credential)))
}

async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id)): Path<(Uuid, Uuid)>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>> {
    let request = query.page()?;
    let page = state.credd.user_credentials(&caller, environment_id, user_id, request).await?;
    Ok(Json(wire::collection(&state.links, &uri, "items", page, request, |c| c.id, |c| view(&state, &c))))
}

async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<Json<Value>> {
    Ok(Json(view(&state, &state.credd.user_credential(&caller, environment_id, user_id, id).await?)))
}

/// `POST …/credentials/{id}` with the revoke media type (the body is ignored).
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

async fn provisioned_of_credential(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<Json<Value>> {
    let items =
        state.credd.provisioned_credentials(&caller, environment_id, user_id, ProvisionedOf::Credential(id)).await?;
    Ok(Json(provisioned_collection(&state, items)))
}

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

/// The wallet's mailbox: offered credentials with their signed JWT VC.
async fn mailbox(
    State(state): State<AppState>,
    Path(wallet_id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let entries = state.credd.mailbox(wallet_id, wallet_token(&headers)?).await?;
    let items: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            json!({
                "_links": { "action": state.links.link(&format!("/v1/distributedid/wallets/{wallet_id}/credentials/{}", e.provisioned.id)) },
                "id": e.provisioned.id,
                "credential": { "id": e.provisioned.credential_id },
                "status": e.provisioned.status.as_str(),
                "credentialJwt": e.credential_jwt,
            })
        })
        .collect();
    Ok(Json(json!({ "_embedded": { "credentials": items }, "size": items.len() })))
}

#[derive(Deserialize)]
struct ActionBody {
    action: Option<String>,
}

/// `{"action": "ACCEPT" | "REJECT" | "DELETE"}`.
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
