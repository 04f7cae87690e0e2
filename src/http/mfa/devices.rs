//! A user's MFA devices: `/v1/environments/{envId}/users/{userId}/devices`. Create and
//! reorder share one POST, activate and resend the code another, each chosen by
//! Content-Type.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use domain::mfa::{Device, DeviceStatus, DeviceType, PhoneNumber, nickname};
use domain::time::Timestamp;
use domain::user::Email;
use domain::validation::{Collector, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::http::AppState;
use crate::http::error::ErrorBody;
use crate::http::extract::{Caller, Json, Path, Query, is_json, parse_json};
use crate::http::openapi;
use crate::http::wallets::NotificationBody;
use crate::http::wire::{self, LinkSet, Links, ListQuery, Ref};
use crate::service::mfa::{CreatedDevice, NewDevice};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const REORDER: &str = "application/vnd.pingidentity.devices.reorder+json";
const ACTIVATE: &str = "application/vnd.pingidentity.device.activate+json";
const SEND_ACTIVATION_CODE: &str = "application/vnd.pingidentity.device.sendActivationCode+json";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create_or_reorder))
        .routes(routes!(read, action, replace, delete))
        .routes(routes!(set_nickname))
}

/// An MFA device; `_links.activate` while it waits for activation. A TOTP device's
/// `secret` and `keyUri` are in the response that created it, and never again.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Device)]
struct DeviceView {
    #[serde(rename = "_links")]
    links: LinkSet,
    id: Uuid,
    environment: Ref,
    user: Ref,
    #[serde(rename = "type")]
    #[schema(value_type = openapi::DeviceType)]
    kind: &'static str,
    #[schema(value_type = openapi::DeviceStatus)]
    status: &'static str,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    created_at: Timestamp,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    updated_at: Timestamp,
    /// `+<country code>.<national number>`: `+1.5125551234`.
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nickname: Option<String>,
    /// While too many wrong codes keep it locked.
    #[serde(skip_serializing_if = "Option::is_none")]
    lock: Option<LockView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    /// `otpauth://totp/credd:<username>?…`.
    #[serde(skip_serializing_if = "Option::is_none")]
    key_uri: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DeviceLock)]
struct LockView {
    /// `LOCKED`.
    status: &'static str,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    expires_at: Timestamp,
}

/// The user's devices in their new order.
#[derive(Serialize, ToSchema)]
#[schema(as = DeviceOrder)]
struct DeviceOrderView {
    order: Vec<Ref>,
}

wire::collection!(Devices, "devices", DeviceView);

/// The media type of the body, lower-cased, without parameters.
fn media_type(headers: &HeaderMap) -> String {
    let value = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// The seed's device shape: `_links` (with `activate` while activation is required),
/// ids, type, status, times, the target, and the nickname and lock when set; `now`
/// tells whether the lock still holds.
fn view(links: &Links, device: Device, now: Timestamp) -> DeviceView {
    let path = format!("/v1/environments/{}/users/{}/devices/{}", device.environment_id, device.user_id, device.id);
    let user = format!("/v1/environments/{}/users/{}", device.environment_id, device.user_id);
    let mut link_set =
        links.set([("self", &path), ("environment", &links.environment(device.environment_id)), ("user", &user)]);
    if device.status == DeviceStatus::ActivationRequired {
        link_set.insert("activate", links.link(&path));
    }
    let lock = device.locked_until.filter(|_| device.locked(now));
    DeviceView {
        links: link_set,
        id: device.id,
        environment: Ref { id: device.environment_id },
        user: Ref { id: device.user_id },
        kind: device.kind.as_str(),
        status: device.status.as_str(),
        created_at: device.created_at,
        updated_at: device.updated_at,
        phone: device.phone,
        email: device.email,
        nickname: device.nickname,
        lock: lock.map(|until| LockView { status: "LOCKED", expires_at: until }),
        secret: None,
        key_uri: None,
    }
}

/// A new device: `phone` for SMS, VOICE and WHATSAPP, `email` for EMAIL, nothing for TOTP.
#[derive(Deserialize, ToSchema)]
#[schema(as = DeviceRequest)]
struct CreateBody {
    #[serde(rename = "type")]
    #[schema(required = true, nullable = false, value_type = Option<openapi::DeviceType>)]
    kind: Option<String>,
    /// `+` and the country code: `+1.5125551234`, `+1 (512) 555-1234`.
    #[schema(examples("+1.5125551234"))]
    phone: Option<String>,
    #[schema(format = Email)]
    email: Option<String>,
    #[schema(required = true, nullable = false)]
    policy: Option<Ref>,
    /// A worker's request: `ACTIVE` unless it asks for `ACTIVATION_REQUIRED`; a user's own
    /// request always gets `ACTIVATION_REQUIRED`.
    #[schema(value_type = Option<openapi::DeviceStatus>)]
    status: Option<String>,
    #[schema(value_type = Option<openapi::Text>)]
    nickname: Option<String>,
    /// Sends the activation code (`device_pairing`).
    notification: Option<NotificationBody>,
}

impl CreateBody {
    fn parse(self) -> Result<NewDevice, Vec<FieldError>> {
        let mut errors = Collector::default();
        let kind = errors.take(self.kind.as_deref().ok_or_else(|| FieldError::required("type")).and_then(|k| {
            DeviceType::parse(k)
                .ok_or_else(|| FieldError::invalid("type", "type must be SMS, VOICE, EMAIL, WHATSAPP or TOTP."))
        }));
        let target = match kind {
            Some(DeviceType::Sms | DeviceType::Voice | DeviceType::WhatsApp) => errors
                .take(
                    self.phone
                        .as_deref()
                        .ok_or_else(|| FieldError::required("phone"))
                        .and_then(|p| PhoneNumber::parse("phone", p)),
                )
                .map(|p| p.as_str().to_owned()),
            Some(DeviceType::Email) => errors
                .take(
                    self.email
                        .as_deref()
                        .ok_or_else(|| FieldError::required("email"))
                        .and_then(|e| Email::parse("email", e)),
                )
                .map(|_| self.email.clone().unwrap_or_default()),
            _ => None,
        };
        let policy = errors.take(self.policy.ok_or_else(|| FieldError::required("policy.id")));
        let status = self.status.as_deref().and_then(|s| {
            errors.take(
                DeviceStatus::parse(s)
                    .ok_or_else(|| FieldError::invalid("status", "status must be ACTIVE or ACTIVATION_REQUIRED.")),
            )
        });
        let nickname = self.nickname.as_deref().and_then(|n| errors.take(nickname(n)));
        let notification = self.notification.map(|n| n.parse(&mut errors));
        let needs_target = kind.is_some_and(|k| k != DeviceType::Totp);
        let built = kind.zip(policy).filter(|_| !needs_target || target.is_some()).map(|(kind, policy)| NewDevice {
            kind,
            target,
            policy_id: policy.id,
            status,
            nickname,
            notification,
        });
        errors.finish_with(built)
    }
}

fn created(state: &AppState, created: CreatedDevice) -> (StatusCode, Json<DeviceView>) {
    let mut device = view(&state.links, created.device, domain::time::now());
    if let Some(totp) = created.totp {
        (device.secret, device.key_uri) = (Some(totp.secret), Some(totp.key_uri));
    }
    (StatusCode::CREATED, Json(device))
}

/// Every device of the user, in the order wanted.
#[derive(Deserialize, ToSchema)]
#[schema(as = DeviceOrderRequest)]
struct ReorderBody {
    #[schema(required = true, nullable = false)]
    order: Option<Vec<Ref>>,
}

/// Create a device (`application/json`), or reorder the user's devices (the reorder
/// media type).
#[utoipa::path(post, path = "/v1/environments/{environment_id}/users/{user_id}/devices",
    operation_id = "createOrReorderDevices",
    request_body(content(
        (CreateBody = "application/json"),
        (ReorderBody = "application/vnd.pingidentity.devices.reorder+json"),
    )),
    responses(
        (status = 201, description = "The new device.", body = DeviceView),
        (status = 200, description = "The new order.", body = DeviceOrderView),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: the user has a device of this type and target.",
            body = ErrorBody),
    ))]
async fn create_or_reorder(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    match media_type(&headers).as_str() {
        REORDER => {
            let body: ReorderBody = parse_json(&body)?;
            let order = body.order.ok_or_else(|| Error::invalid(FieldError::required("order")))?;
            let ids: Vec<Uuid> = order.iter().map(|r| r.id).collect();
            state.credd.reorder_devices(&caller, environment_id, user_id, &ids).await?;
            Ok(Json(DeviceOrderView { order }).into_response())
        }
        other if is_json(other) && !other.starts_with("application/vnd.") => {
            let new = parse_json::<CreateBody>(&body)?.parse()?;
            let device = state.credd.create_device(&caller, environment_id, user_id, new).await?;
            Ok(created(&state, device).into_response())
        }
        _ => {
            Err(Error::UnsupportedMediaType(format!("Content-Type must be application/json, or {REORDER} to reorder.")))
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[schema(as = DeviceActivation)]
struct ActivateBody {
    /// The code sent to the device, or the TOTP app's current code.
    #[schema(required = true, nullable = false)]
    otp: Option<String>,
}

/// Activate a device with its code (the activate media type), or send it a new code
/// (the sendActivationCode media type, any body).
#[utoipa::path(post, path = "/v1/environments/{environment_id}/users/{user_id}/devices/{device_id}",
    operation_id = "activateDevice",
    request_body(content(
        (ActivateBody = "application/vnd.pingidentity.device.activate+json"),
        (Object = "application/vnd.pingidentity.device.sendActivationCode+json"),
    )),
    responses((status = 200, description = "The device.", body = DeviceView)))]
async fn action(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<DeviceView>> {
    // `media_type` is lower-cased, and PingOne spells `sendActivationCode` in camel case.
    let device = match media_type(&headers) {
        media if media.eq_ignore_ascii_case(ACTIVATE) => {
            let body: ActivateBody = parse_json(&body)?;
            let otp = body.otp.filter(|o| !o.is_empty()).ok_or_else(|| Error::invalid(FieldError::required("otp")))?;
            state.credd.activate_device(&caller, environment_id, user_id, id, &otp).await?
        }
        media if media.eq_ignore_ascii_case(SEND_ACTIVATION_CODE) => {
            state.credd.resend_activation_code(&caller, environment_id, user_id, id).await?
        }
        _ => {
            return Err(Error::UnsupportedMediaType(format!(
                "Content-Type must be {ACTIVATE} or {SEND_ACTIVATION_CODE}."
            )));
        }
    };
    Ok(Json(view(&state.links, device, domain::time::now())))
}

/// List the user's devices, in their order.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users/{user_id}/devices", operation_id = "listDevices",
    params(ListQuery, ("filter" = Option<String>, Query,
        description = "SCIM: `status` and `type` eq, joined by `and`, `or`, parentheses: `type eq \"SMS\"`.")),
    responses((status = 200, description = "A page of devices; `_links[\"devices.reorder\"]` reorders them.",
        body = Devices)))]
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id)): Path<(Uuid, Uuid)>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<Devices>> {
    let (request, filter) = query.filtered_page::<Device>(&uri)?;
    let page = state.credd.devices(&caller, environment_id, user_id, filter.as_ref(), request).await?;
    let now = domain::time::now();
    let devices = Devices::page(&state.links, &uri, page, request, |d| d.id, |d| view(&state.links, d, now));
    let reorder = state.links.link(&format!("/v1/environments/{environment_id}/users/{user_id}/devices"));
    Ok(Json(devices.with_link("devices.reorder", reorder)))
}

/// Read a device.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users/{user_id}/devices/{device_id}",
    operation_id = "readDevice", responses((status = 200, description = "The device.", body = DeviceView)))]
async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<Json<DeviceView>> {
    let device = state.credd.device(&caller, environment_id, user_id, id).await?;
    Ok(Json(view(&state.links, device, domain::time::now())))
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[schema(as = DeviceUpdate)]
struct ReplaceBody {
    /// Left out: kept; `null`: cleared.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<openapi::Text>)]
    nickname: Option<Option<String>>,
    /// Refused: a notification belongs to creation.
    #[schema(value_type = Option<Object>)]
    notification: Option<Value>,
    /// Refused: credd does not block devices.
    #[schema(value_type = Option<Object>)]
    block: Option<Value>,
    /// Refused: a device is locked by wrong codes alone, and its lock is read-only.
    #[schema(value_type = Option<Object>)]
    lock: Option<Value>,
}

/// Update a device: its nickname, which is kept when left out.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/users/{user_id}/devices/{device_id}",
    operation_id = "updateDevice", request_body = ReplaceBody,
    responses((status = 200, description = "The device.", body = DeviceView)))]
async fn replace(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
    Json(body): Json<ReplaceBody>,
) -> Result<Json<DeviceView>> {
    let refused = [
        ("notification", body.notification.is_some(), "notification can be used only when creating a device."),
        ("block", body.block.is_some(), "credd does not block devices."),
        ("lock", body.lock.is_some(), "A device is locked by wrong codes alone; its lock cannot be set."),
    ];
    let errors: Vec<FieldError> = refused
        .into_iter()
        .filter(|(_, sent, _)| *sent)
        .map(|(target, _, message)| FieldError::invalid(target, message))
        .collect();
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let nickname = body.nickname.map(|value| value.as_deref().map(nickname).transpose()).transpose()?;
    let device = state.credd.update_device(&caller, environment_id, user_id, id, nickname).await?;
    Ok(Json(view(&state.links, device, domain::time::now())))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = DeviceNickname)]
struct NicknameBody {
    #[schema(required = true, nullable = false, value_type = Option<openapi::Text>)]
    nickname: Option<String>,
}

/// Set a device's nickname.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/users/{user_id}/devices/{device_id}/nickname",
    operation_id = "setDeviceNickname", request_body = NicknameBody,
    responses((status = 200, description = "The device.", body = DeviceView)))]
async fn set_nickname(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
    Json(body): Json<NicknameBody>,
) -> Result<Json<DeviceView>> {
    let value = body.nickname.as_deref().ok_or_else(|| Error::invalid(FieldError::required("nickname")))?;
    let device = state.credd.set_device_nickname(&caller, environment_id, user_id, id, Some(nickname(value)?)).await?;
    Ok(Json(view(&state.links, device, domain::time::now())))
}

/// Delete a device.
#[utoipa::path(delete, path = "/v1/environments/{environment_id}/users/{user_id}/devices/{device_id}",
    operation_id = "deleteDevice", responses((status = 204, description = "Deleted.")))]
async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<StatusCode> {
    state.credd.delete_device(&caller, environment_id, user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
