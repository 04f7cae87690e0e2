//! The wallet-facing API (credd's own protocol; PingOne's wallet SDK protocol is not
//! public): read a pairing request, pair with a signed challenge, and read the
//! wallet with the access token pairing returned.

use axum::extract::State;
use axum::http::HeaderMap;
use domain::validation::{Collector, FieldError};
use domain::wallet::application_instance_id;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::extract::{Json, Path, bearer_token};
use super::openapi;
use super::wallets::ApplicationInstanceView;
use super::wire::{self, Ref};
use crate::error::{Error, Result};
use crate::service::wallets::PairingProof;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(describe, pair)).routes(routes!(wallet))
}

/// A pairing request: the challenge to sign, and whom the wallet pairs with.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PairingRequest)]
struct PairingRequestView {
    #[serde(rename = "_links")]
    links: wire::LinkSet,
    id: Uuid,
    /// `PAIRING`.
    #[serde(rename = "type")]
    kind: &'static str,
    #[schema(value_type = openapi::PairingStatus)]
    status: &'static str,
    challenge: String,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    expires_at: domain::time::Timestamp,
    environment: Ref,
    digital_wallet: Ref,
    digital_wallet_application: Option<NamedRef>,
}

#[derive(Serialize, ToSchema)]
struct NamedRef {
    id: Uuid,
    name: String,
}

/// The paired wallet and its access token (credd keeps only a keyed hash of it).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Paired)]
struct PairedView {
    #[serde(rename = "_links")]
    links: wire::LinkSet,
    digital_wallet: PairedWallet,
    access_token: String,
    /// `Bearer`.
    token_type: &'static str,
}

#[derive(Serialize, ToSchema)]
struct PairedWallet {
    id: Uuid,
    #[schema(value_type = openapi::WalletStatus)]
    status: &'static str,
}

/// The wallet, as its own token reads it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WalletOfToken)]
struct WalletOfTokenView {
    #[serde(rename = "_links")]
    links: wire::LinkSet,
    id: Uuid,
    #[schema(value_type = openapi::WalletStatus)]
    status: &'static str,
    environment: Ref,
    user: Ref,
    application_instance: Option<ApplicationInstanceView>,
}

/// Describe a pairing request: what the wallet app reads at the `qrUrl`.
#[utoipa::path(get, path = "/v1/distributedid/requests/{request_id}", operation_id = "readPairingRequest",
    security(()), responses((status = 200, description = "The pairing request.", body = PairingRequestView)))]
async fn describe(State(state): State<AppState>, Path(request_id): Path<Uuid>) -> Result<Json<PairingRequestView>> {
    let (session, application) = state.credd.pairing_request(request_id).await?;
    Ok(Json(PairingRequestView {
        links: state.links.set([("self", &format!("/v1/distributedid/requests/{request_id}"))]),
        id: request_id,
        kind: "PAIRING",
        status: session.status.as_str(),
        challenge: session.challenge,
        expires_at: session.expires_at,
        environment: Ref { id: session.environment_id },
        digital_wallet: Ref { id: session.wallet_id },
        digital_wallet_application: application.map(|a| NamedRef { id: a.id, name: a.name }),
    }))
}

/// Proof that the wallet app holds its key: the challenge signed by it.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PairingProof)]
struct PairBody {
    #[schema(required = true, nullable = false)]
    challenge: Option<String>,
    #[schema(required = true, nullable = false)]
    application_instance: Option<Instance>,
    /// The wallet's public key as a JWK (Ed25519 or P-256).
    #[schema(required = true, nullable = false, value_type = Option<Object>)]
    public_key: Option<Value>,
    /// A compact JWS (EdDSA or ES256) by that key over `{"challenge": "…"}`.
    #[schema(required = true, nullable = false)]
    signature: Option<String>,
    /// Anything the wallet app tells about its device.
    #[schema(value_type = Option<Object>)]
    device_data: Option<Value>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = PairingApplicationInstance)]
struct Instance {
    #[schema(required = true, nullable = false, value_type = Option<openapi::Text>)]
    id: Option<String>,
}

/// Pair the wallet: it becomes `ACTIVE` and gets its access token. A wrong proof is
/// recorded; after 5 the session locks.
#[utoipa::path(post, path = "/v1/distributedid/requests/{request_id}", operation_id = "pairWallet",
    security(()), request_body = PairBody,
    responses((status = 200, description = "The paired wallet and its token.", body = PairedView)))]
async fn pair(
    State(state): State<AppState>,
    Path(request_id): Path<Uuid>,
    Json(body): Json<PairBody>,
) -> Result<Json<PairedView>> {
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
    Ok(Json(PairedView {
        links: state.links.set([("wallet", &format!("/v1/distributedid/wallets/{}", wallet.id))]),
        digital_wallet: PairedWallet { id: wallet.id, status: wallet.status.as_str() },
        access_token: paired.access_token,
        token_type: "Bearer",
    }))
}

/// Read the wallet with its own access token.
#[utoipa::path(get, path = "/v1/distributedid/wallets/{wallet_id}", operation_id = "readWalletOfToken",
    security(("walletToken" = [])),
    responses((status = 200, description = "The wallet.", body = WalletOfTokenView)))]
async fn wallet(
    State(state): State<AppState>,
    Path(wallet_id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<Json<WalletOfTokenView>> {
    let token = bearer_token(&headers).ok_or(Error::Unauthorized("A wallet access token is required."))?;
    let wallet = state.credd.authenticate_wallet(wallet_id, token).await?;
    Ok(Json(WalletOfTokenView {
        links: state.links.set([("self", &format!("/v1/distributedid/wallets/{}", wallet.id))]),
        id: wallet.id,
        status: wallet.status.as_str(),
        environment: Ref { id: wallet.environment_id },
        user: Ref { id: wallet.user_id },
        application_instance: wallet.application_instance_id.map(ApplicationInstanceView::new),
    }))
}
