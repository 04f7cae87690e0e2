//! The wallet-facing API (credd's own protocol; PingOne's wallet SDK protocol is not
//! public): read a pairing request, pair with a signed challenge, and read the
//! wallet with the access token pairing returned.

use axum::extract::State;
use axum::http::HeaderMap;
use domain::validation::{Collector, FieldError};
use domain::wallet::application_instance_id;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::extract::{Json, Path, bearer_token};
use super::wallets::shapes::ApplicationInstance;
use super::{openapi, wire};
use crate::error::{Error, Result};
use crate::service::wallets::PairingProof;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(describe, pair)).routes(routes!(wallet))
}

/// What a wallet app reads at a `qrUrl`, and what pairing answers.
#[expect(dead_code, reason = "described to utoipa, never built: the handlers render json!")]
mod shapes {
    use utoipa::ToSchema;
    use uuid::Uuid;

    use super::ApplicationInstance;
    use crate::http::openapi;
    use crate::http::wire::Ref;

    /// A pairing request: the challenge to sign, and whom the wallet pairs with.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct PairingRequest {
        #[serde(rename = "_links")]
        pub links: (),
        pub id: Uuid,
        /// `PAIRING`.
        #[serde(rename = "type")]
        pub kind: String,
        #[schema(value_type = openapi::PairingStatus)]
        pub status: String,
        pub challenge: String,
        #[schema(value_type = openapi::Timestamp)]
        pub expires_at: String,
        pub environment: Ref,
        pub digital_wallet: Ref,
        pub digital_wallet_application: Option<NamedRef>,
    }

    #[derive(ToSchema)]
    pub struct NamedRef {
        pub id: Uuid,
        pub name: String,
    }

    /// The paired wallet and its access token (credd keeps only a keyed hash of it).
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct Paired {
        #[serde(rename = "_links")]
        pub links: (),
        pub digital_wallet: PairedWallet,
        pub access_token: String,
        /// `Bearer`.
        pub token_type: String,
    }

    #[derive(ToSchema)]
    pub struct PairedWallet {
        pub id: Uuid,
        #[schema(value_type = openapi::WalletStatus)]
        pub status: String,
    }

    /// The wallet, as its own token reads it.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct WalletOfToken {
        #[serde(rename = "_links")]
        pub links: (),
        pub id: Uuid,
        #[schema(value_type = openapi::WalletStatus)]
        pub status: String,
        pub environment: Ref,
        pub user: Ref,
        pub application_instance: Option<ApplicationInstance>,
    }
}

/// Describe a pairing request: what the wallet app reads at the `qrUrl`.
#[utoipa::path(get, path = "/v1/distributedid/requests/{request_id}", operation_id = "readPairingRequest",
    security(()), responses((status = 200, description = "The pairing request.", body = shapes::PairingRequest)))]
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
    responses((status = 200, description = "The paired wallet and its token.", body = shapes::Paired)))]
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

/// Read the wallet with its own access token.
#[utoipa::path(get, path = "/v1/distributedid/wallets/{wallet_id}", operation_id = "readWalletOfToken",
    security(("walletToken" = [])),
    responses((status = 200, description = "The wallet.", body = shapes::WalletOfToken)))]
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
