//! `/v1/environments/{envId}/mfaSettings`: how many devices a user may pair, and the
//! settings credd keeps without acting on them (lockout, phone extensions, pairing key
//! format, new users' MFA).

use axum::extract::State;
use axum::http::StatusCode;
use domain::mfa::{DEFAULT_MAX_DEVICES, KeptSettings, MfaSettings, MfaSettingsFields, max_allowed_devices};
use domain::time::Timestamp;
use domain::validation::{Collector, FieldError, FieldErrorKind};
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
    OpenApiRouter::new().routes(routes!(read, replace, reset))
}

/// The settings; each one left out takes its default. Only `pairing.maxAllowedDevices`
/// is enforced; the rest is kept and answered.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MfaSettingsRequest)]
pub(in crate::http) struct SettingsBody {
    pairing: Option<PairingBody>,
    lockout: Option<Lockout>,
    phone_extensions: Option<PhoneExtensions>,
    users: Option<NewUsers>,
    /// Deprecated by PingOne in favour of the policies' `authentication.deviceSelection`.
    authentication: Option<SettingsAuthentication>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MfaPairingSettingsRequest)]
struct PairingBody {
    /// How many devices a user may have; 5 when left out.
    #[schema(minimum = 1, maximum = 15)]
    max_allowed_devices: Option<i64>,
    pairing_key_format: Option<PairingKeyFormat>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Default)]
#[serde(rename_all = "UPPERCASE")]
enum PairingKeyFormat {
    /// 12 digits.
    Numeric,
    /// 16 letters and digits.
    #[default]
    Alphanumeric,
}

/// After `failureCount` failed MFA attempts the account is locked for `durationSeconds`.
/// Kept, not enforced: credd locks devices by their policy instead.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "camelCase")]
#[schema(as = MfaLockout)]
struct Lockout {
    /// 1 to 100.
    failure_count: i64,
    /// 1 second to 24 hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_seconds: Option<i64>,
}

impl Default for Lockout {
    fn default() -> Self {
        Self { failure_count: 5, duration_seconds: Some(600) }
    }
}

/// Voice codes to numbers with extensions. Kept, not enforced.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Default)]
#[schema(as = MfaPhoneExtensions)]
struct PhoneExtensions {
    #[serde(default)]
    enabled: bool,
}

/// New users' MFA. Kept, not enforced.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Default)]
#[serde(rename_all = "camelCase")]
#[schema(as = MfaNewUsers)]
struct NewUsers {
    #[serde(default)]
    mfa_enabled: bool,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum SettingsDeviceSelection {
    DefaultToFirst,
    PromptToSelect,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "camelCase")]
#[schema(as = MfaSettingsAuthentication)]
struct SettingsAuthentication {
    device_selection: SettingsDeviceSelection,
}

/// What credd keeps of the settings, stored as JSON; `{}` is every default.
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct KeptMfaSettings {
    #[serde(default)]
    pairing_key_format: PairingKeyFormat,
    #[serde(default)]
    lockout: Lockout,
    #[serde(default)]
    phone_extensions: PhoneExtensions,
    #[serde(default)]
    users: NewUsers,
    #[serde(skip_serializing_if = "Option::is_none")]
    authentication: Option<SettingsAuthentication>,
}

impl KeptMfaSettings {
    /// The stored document; one credd did not write (it never should) is logged and read
    /// as the defaults.
    fn from_settings(kept: &KeptSettings) -> Self {
        serde_json::from_str(kept.as_str()).unwrap_or_else(|error| {
            tracing::error!(%error, "unreadable kept MFA settings; answering the defaults");
            Self::default()
        })
    }
}

impl SettingsBody {
    pub(in crate::http) fn parse(self) -> Result<MfaSettingsFields, Vec<FieldError>> {
        let mut errors = Collector::default();
        let pairing = self.pairing.unwrap_or(PairingBody { max_allowed_devices: None, pairing_key_format: None });
        let max_allowed_devices =
            errors.take(pairing.max_allowed_devices.map_or(Ok(DEFAULT_MAX_DEVICES), max_allowed_devices));
        let lockout = self.lockout.unwrap_or_default();
        if !(1..=100).contains(&lockout.failure_count) {
            let message = "lockout.failureCount must be from 1 to 100.";
            errors.push(FieldError::new("lockout.failureCount", FieldErrorKind::OutOfRange, message));
        }
        if lockout.duration_seconds.is_some_and(|seconds| !(1..=86_400).contains(&seconds)) {
            let message = "lockout.durationSeconds must be from 1 to 86400.";
            errors.push(FieldError::new("lockout.durationSeconds", FieldErrorKind::OutOfRange, message));
        }
        let kept = KeptMfaSettings {
            pairing_key_format: pairing.pairing_key_format.unwrap_or_default(),
            lockout,
            phone_extensions: self.phone_extensions.unwrap_or_default(),
            users: self.users.unwrap_or_default(),
            authentication: self.authentication,
        };
        // Serialising these plain structs cannot fail.
        let kept = KeptSettings::new(serde_json::to_string(&kept).unwrap_or_else(|_| "{}".into()));
        errors
            .finish_with(max_allowed_devices.map(|max_allowed_devices| MfaSettingsFields { max_allowed_devices, kept }))
    }
}

/// An environment's MFA settings. Only `pairing.maxAllowedDevices` is enforced.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MfaSettings)]
pub(in crate::http) struct MfaSettingsView {
    #[serde(rename = "_links")]
    links: LinkSet,
    environment: Ref,
    pairing: PairingView,
    lockout: Lockout,
    phone_extensions: PhoneExtensions,
    users: NewUsers,
    #[serde(skip_serializing_if = "Option::is_none")]
    authentication: Option<SettingsAuthentication>,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    updated_at: Timestamp,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MfaPairingSettings)]
struct PairingView {
    max_allowed_devices: i64,
    pairing_key_format: PairingKeyFormat,
}

pub(in crate::http) fn view(links: &Links, settings: &MfaSettings) -> MfaSettingsView {
    let path = format!("/v1/environments/{}/mfaSettings", settings.environment_id);
    let kept = KeptMfaSettings::from_settings(&settings.kept);
    MfaSettingsView {
        links: links.set([("self", &path)]),
        environment: Ref { id: settings.environment_id },
        pairing: PairingView {
            max_allowed_devices: settings.max_allowed_devices,
            pairing_key_format: kept.pairing_key_format,
        },
        lockout: kept.lockout,
        phone_extensions: kept.phone_extensions,
        users: kept.users,
        authentication: kept.authentication,
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

/// Reset the environment's MFA settings to PingOne's defaults.
#[utoipa::path(delete, path = "/v1/environments/{environment_id}/mfaSettings", operation_id = "resetMfaSettings",
    responses((status = 204, description = "Reset.")))]
async fn reset(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
) -> Result<StatusCode> {
    state.credd.reset_mfa_settings(&caller, environment_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
