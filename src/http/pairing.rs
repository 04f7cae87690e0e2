//! The wallet-facing API (credd's own protocol; PingOne's wallet SDK protocol is not
//! public): read a pairing request, pair with a signed challenge, and read the
//! wallet with the access token pairing returned.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use domain::validation::{Collector, FieldError};
use domain::wallet::application_instance_id;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::extract::{Json, Path, bearer_token};
use super::wire;
use crate::error::{Error, Result};
use crate::service::wallets::PairingProof;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/distributedid/requests/{request_id}", get(describe).post(pair))
        .route("/v1/distributedid/wallets/{wallet_id}", get(wallet))
}

async fn describe(State(state): State<AppState>, Path(request_id): Path<Uuid>) -> Result<Json<Value>> {
    let (session, application) = state.credd.pairing_request(request_id).await?;
    Ok(Json(json!({
        "_links": { "self": state.links.link(&format!("/v1/distributedid/requests/{request_id}")) },
        "id": request_id,
        "type": "PAIRING",
        "status": session.status.as_str(),
        "challenge": session.challenge,
        "expiresAt": wire::format_timestamp(&session.expires_at),
        "environment": { "id": session.environment_id },
        "digitalWallet": { "id": session.wallet_id },
        "digitalWalletApplication": application.map(|a| json!({ "id": a.id, "name": a.name })),
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PairBody {
    challenge: Option<String>,
    application_instance: Option<Instance>,
    public_key: Option<Value>,
    signature: Option<String>,
    device_data: Option<Value>,
}

#[derive(Deserialize)]
struct Instance {
    id: Option<String>,
}

async fn pair(
    State(state): State<AppState>,
    Path(request_id): Path<Uuid>,
    Json(body): Json<PairBody>,
) -> Result<Json<Value>> {
    let mut errors = Collector::default();
    let challenge = errors.take(body.challenge.ok_or_else(|| FieldError::required("challenge")));
    let instance = errors.take(
        body.application_instance
            .and_then(|i| i.id)
            .ok_or_else(|| FieldError::required("applicationInstance.id"))
            .and_then(|id| application_instance_id("applicationInstance.id", &id)),
    );
    let public_key =
        errors.take(body.public_key.filter(Value::is_object).ok_or_else(|| FieldError::required("publicKey")));
    let signature = errors.take(body.signature.ok_or_else(|| FieldError::required("signature")));
    if body.device_data.as_ref().is_some_and(|d| !d.is_object()) {
        errors.push(FieldError::invalid("deviceData", "deviceData must be an object."));
    }
    let proof = challenge.zip(instance).zip(public_key).zip(signature).map(
        |(((challenge, instance), public_key), signature)| PairingProof {
            challenge,
            application_instance_id: instance,
            public_key,
            signature,
            device_data: body.device_data,
        },
    );
    let paired = state.credd.pair(request_id, errors.finish_with(proof)?).await?;
    let wallet = paired.wallet;
    Ok(Json(json!({
        "_links": { "wallet": state.links.link(&format!("/v1/distributedid/wallets/{}", wallet.id)) },
        "digitalWallet": { "id": wallet.id, "status": wallet.status.as_str() },
        "accessToken": paired.access_token,
        "tokenType": "Bearer",
    })))
}

async fn wallet(State(state): State<AppState>, Path(wallet_id): Path<Uuid>, headers: HeaderMap) -> Result<Json<Value>> {
    let token = bearer_token(&headers).ok_or(Error::Unauthorized("A wallet access token is required."))?;
    let wallet = state.credd.authenticate_wallet(wallet_id, token).await?;
    Ok(Json(json!({
        "_links": { "self": state.links.link(&format!("/v1/distributedid/wallets/{}", wallet.id)) },
        "id": wallet.id,
        "status": wallet.status.as_str(),
        "environment": { "id": wallet.environment_id },
        "user": { "id": wallet.user_id },
        "applicationInstance": wallet.application_instance_id.map(|id| json!({ "id": id })),
    })))
}
