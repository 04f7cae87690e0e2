//! `/v1/environments/{envId}/mfaSettings`: how many devices a user may pair.

use axum::extract::State;
use domain::mfa::{MfaSettings, max_allowed_devices};
use domain::time::Timestamp;
use domain::validation::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Result;
use crate::http::AppState;
use crate::http::extract::{Caller, Json, Path};
use crate::http::openapi;
use crate::http::wire::{self, LinkSet, Links, Ref};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read, replace))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = MfaSettingsRequest)]
pub(in crate::http) struct SettingsBody {
    #[schema(required = true, nullable = false)]
    pairing: Option<PairingBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MfaPairingSettingsRequest)]
struct PairingBody {
    /// How many devices a user may have.
    #[schema(required = true, nullable = false, minimum = 1, maximum = 15)]
    max_allowed_devices: Option<i64>,
}

impl SettingsBody {
    /// `pairing.maxAllowedDevices`.
    pub(in crate::http) fn parse(self) -> Result<i64, FieldError> {
        let requested = self.pairing.and_then(|p| p.max_allowed_devices);
        requested.ok_or_else(|| FieldError::required("pairing.maxAllowedDevices")).and_then(max_allowed_devices)
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MfaSettings)]
pub(in crate::http) struct MfaSettingsView {
    #[serde(rename = "_links")]
    links: LinkSet,
    environment: Ref,
    pairing: PairingView,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    updated_at: Timestamp,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MfaPairingSettings)]
struct PairingView {
    max_allowed_devices: i64,
}

pub(in crate::http) fn view(links: &Links, settings: &MfaSettings) -> MfaSettingsView {
    let path = format!("/v1/environments/{}/mfaSettings", settings.environment_id);
    MfaSettingsView {
        links: links.set([("self", &path)]),
        environment: Ref { id: settings.environment_id },
        pairing: PairingView { max_allowed_devices: settings.max_allowed_devices },
        updated_at: settings.updated_at,
    }
}

/// Read the environment's MFA settings.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/mfaSettings", operation_id = "readMfaSettings",
    responses((status = 200, description = "The settings.", body = MfaSettingsView)))]
async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
) -> Result<Json<MfaSettingsView>> {
    Ok(Json(view(&state.links, &state.credd.mfa_settings(&caller, environment_id).await?)))
}

/// Replace the environment's MFA settings.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/mfaSettings", operation_id = "replaceMfaSettings",
    request_body = SettingsBody,
    responses((status = 200, description = "The settings.", body = MfaSettingsView)))]
async fn replace(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<SettingsBody>,
) -> Result<Json<MfaSettingsView>> {
    let settings = state.credd.put_mfa_settings(&caller, environment_id, body.parse()?).await?;
    Ok(Json(view(&state.links, &settings)))
}
