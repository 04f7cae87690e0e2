//! MFA: `/v1/environments/{envId}/users/{userId}/devices` (create, reorder and
//! activate chosen by Content-Type on the overloaded POSTs), device authentication
//! policies, and MFA settings.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use domain::mfa::{
    Device, DeviceFilter, DevicePolicy, DevicePolicyFields, DeviceStatus, DeviceType, MethodPolicy, MfaSettings,
    PhoneNumber, Span, TimeUnit, max_allowed_devices, nickname, policy_name,
};
use domain::user::Email;
use domain::validation::{Collector, FieldError};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Caller, Json, Path, Query, is_json, parse_json};
use super::filter;
use super::openapi;
use super::wallets::NotificationBody;
use super::wire::{self, Links, ListQuery, Ref};
use crate::error::{Error, Result};
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
        .routes(routes!(list_policies, create_policy))
        .routes(routes!(read_policy, replace_policy, delete_policy))
        .routes(routes!(read_settings, replace_settings))
}

/// Shapes this module renders with `json!`, for the OpenAPI document.
#[expect(dead_code, reason = "described to utoipa, never built: the views render json!")]
mod shapes {
    use utoipa::ToSchema;
    use uuid::Uuid;

    use crate::http::openapi;
    use crate::http::wire::Ref;

    /// An MFA device; `_links.activate` while it waits for activation. A TOTP device's
    /// `secret` and `keyUri` are in the response that created it, and never again.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct Device {
        #[serde(rename = "_links")]
        pub links: (),
        pub id: Uuid,
        pub environment: Ref,
        pub user: Ref,
        #[serde(rename = "type")]
        #[schema(value_type = openapi::DeviceType)]
        pub kind: String,
        #[schema(value_type = openapi::DeviceStatus)]
        pub status: String,
        #[schema(value_type = openapi::Timestamp)]
        pub created_at: String,
        #[schema(value_type = openapi::Timestamp)]
        pub updated_at: String,
        /// `+<country code>.<national number>`: `+1.5125551234`.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub phone: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub email: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub nickname: Option<String>,
        /// While too many wrong codes keep it locked.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub lock: Option<Lock>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub secret: Option<String>,
        /// `otpauth://totp/credd:<username>?…`.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub key_uri: Option<String>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    #[schema(as = DeviceLock)]
    pub struct Lock {
        /// `LOCKED`.
        pub status: String,
        #[schema(value_type = openapi::Timestamp)]
        pub expires_at: String,
    }

    /// The user's devices in their new order.
    #[derive(ToSchema)]
    pub struct DeviceOrder {
        pub order: Vec<Ref>,
    }

    /// How devices of an environment are paired and activated, per method.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct DeviceAuthenticationPolicy {
        #[serde(rename = "_links")]
        pub links: (),
        pub id: Uuid,
        pub environment: Ref,
        pub name: String,
        pub default: bool,
        pub sms: Method,
        pub voice: Method,
        pub email: Method,
        pub whats_app: Method,
        pub totp: Method,
        #[schema(value_type = openapi::Timestamp)]
        pub created_at: String,
        #[schema(value_type = openapi::Timestamp)]
        pub updated_at: String,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    #[schema(as = DevicePolicyMethod)]
    pub struct Method {
        pub enabled: bool,
        pub pairing_disabled: bool,
        pub otp: Otp,
    }

    /// TOTP has only `failure`.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    #[schema(as = DevicePolicyOtp)]
    pub struct Otp {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub life_time: Option<Span>,
        pub failure: Failure,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub otp_length: Option<i64>,
    }

    /// After `count` wrong codes the code is voided and the device locked for `coolDown`.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    #[schema(as = DevicePolicyFailure)]
    pub struct Failure {
        pub count: i64,
        pub cool_down: Span,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    #[schema(as = Duration)]
    pub struct Span {
        pub duration: i64,
        #[schema(value_type = openapi::TimeUnit)]
        pub time_unit: String,
    }

    #[derive(ToSchema)]
    pub struct MfaSettings {
        #[serde(rename = "_links")]
        pub links: (),
        pub environment: Ref,
        pub pairing: Pairing,
        #[serde(rename = "updatedAt")]
        #[schema(value_type = openapi::Timestamp)]
        pub updated_at: String,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    #[schema(as = MfaPairingSettings)]
    pub struct Pairing {
        pub max_allowed_devices: i64,
    }
}

wire::untyped_collection_schema!(Devices, "devices", shapes::Device);
wire::untyped_collection_schema!(DevicePolicies, "deviceAuthenticationPolicies", shapes::DeviceAuthenticationPolicy);

/// The media type of the body, lower-cased, without parameters.
fn media_type(headers: &HeaderMap) -> String {
    let value = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

fn device_path(device: &Device) -> String {
    format!("/v1/environments/{}/users/{}/devices/{}", device.environment_id, device.user_id, device.id)
}

/// The seed's device shape: `_links` (with `activate` while activation is required),
/// ids, type, status, times, the target, and the nickname and lock when set.
fn view(links: &Links, device: &Device, now: domain::time::Timestamp) -> Value {
    let path = device_path(device);
    let mut link_map = json!({
        "self": links.link(&path),
        "environment": links.link(&links.environment(device.environment_id)),
        "user": links.link(&format!("/v1/environments/{}/users/{}", device.environment_id, device.user_id)),
    });
    if device.status == DeviceStatus::ActivationRequired {
        link_map["activate"] = json!(links.link(&path));
    }
    let mut body = json!({
        "_links": link_map,
        "id": device.id,
        "environment": { "id": device.environment_id },
        "user": { "id": device.user_id },
        "type": device.kind.as_str(),
        "status": device.status.as_str(),
        "createdAt": wire::format_timestamp(&device.created_at),
        "updatedAt": wire::format_timestamp(&device.updated_at),
    });
    if let Some(phone) = &device.phone {
        body["phone"] = phone.as_str().into();
    }
    if let Some(email) = &device.email {
        body["email"] = email.as_str().into();
    }
    if let Some(nickname) = &device.nickname {
        body["nickname"] = nickname.as_str().into();
    }
    if let Some(until) = device.locked_until.filter(|_| device.locked(now)) {
        body["lock"] = json!({ "status": "LOCKED", "expiresAt": wire::format_timestamp(&until) });
    }
    body
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

fn created(state: &AppState, created: CreatedDevice) -> Response {
    let mut body = view(&state.links, &created.device, domain::time::now());
    if let Some(totp) = created.totp {
        body["secret"] = totp.secret.into();
        body["keyUri"] = totp.key_uri.into();
    }
    (StatusCode::CREATED, Json(body)).into_response()
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
        (status = 201, description = "The new device.", body = shapes::Device),
        (status = 200, description = "The new order.", body = shapes::DeviceOrder),
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
            let order: Vec<Uuid> = body
                .order
                .ok_or_else(|| Error::invalid(FieldError::required("order")))?
                .into_iter()
                .map(|r| r.id)
                .collect();
            state.credd.reorder_devices(&caller, environment_id, user_id, &order).await?;
            Ok(Json(json!({ "order": order.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>() })).into_response())
        }
        other if is_json(other) && !other.starts_with("application/vnd.") => {
            let new = parse_json::<CreateBody>(&body)?.parse()?;
            let device = state.credd.create_device(&caller, environment_id, user_id, new).await?;
            Ok(created(&state, device))
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
    responses((status = 200, description = "The device.", body = shapes::Device)))]
async fn action(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
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
    Ok(Json(view(&state.links, &device, domain::time::now())))
}

/// List the user's devices, in their order.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users/{user_id}/devices", operation_id = "listDevices",
    params(ListQuery, ("filter" = Option<String>, Query,
        description = "SCIM equality on `status` and `type`, joined by `and`: `type eq \"SMS\"`.")),
    responses((status = 200, description = "A page of devices; `_links[\"devices.reorder\"]` reorders them.",
        body = Devices)))]
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id)): Path<(Uuid, Uuid)>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<wire::Collection<Value>>> {
    let request = query.page(&uri)?;
    let mut device_filter = DeviceFilter::default();
    if let Some(text) = &query.filter {
        for clause in filter::parse(text, &["status", "type"])? {
            let invalid = || {
                Error::invalid(FieldError::invalid(
                    "filter",
                    format!("{} is not a device {}.", clause.value, clause.attribute),
                ))
            };
            if clause.attribute == "status" {
                device_filter.status = Some(DeviceStatus::parse(&clause.value).ok_or_else(invalid)?);
            } else {
                device_filter.kind = Some(DeviceType::parse(&clause.value).ok_or_else(invalid)?);
            }
        }
    }
    let page = state.credd.devices(&caller, environment_id, user_id, &device_filter, request).await?;
    let now = domain::time::now();
    let body = wire::untyped_collection(
        &state.links,
        &uri,
        "devices",
        page,
        request,
        |d| d.id,
        |d| view(&state.links, &d, now),
    );
    let reorder = state.links.link(&format!("/v1/environments/{environment_id}/users/{user_id}/devices"));
    Ok(Json(body.with_link("devices.reorder", reorder)))
}

/// Read a device.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users/{user_id}/devices/{device_id}",
    operation_id = "readDevice", responses((status = 200, description = "The device.", body = shapes::Device)))]
async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<Json<Value>> {
    let device = state.credd.device(&caller, environment_id, user_id, id).await?;
    Ok(Json(view(&state.links, &device, domain::time::now())))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = DeviceUpdate)]
struct ReplaceBody {
    /// Left out: the nickname is cleared.
    #[schema(value_type = Option<openapi::Text>)]
    nickname: Option<String>,
    /// Refused: a notification belongs to creation.
    #[schema(value_type = Option<Object>)]
    notification: Option<Value>,
}

/// Update a device: its nickname.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/users/{user_id}/devices/{device_id}",
    operation_id = "updateDevice", request_body = ReplaceBody,
    responses((status = 200, description = "The device.", body = shapes::Device)))]
async fn replace(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
    Json(body): Json<ReplaceBody>,
) -> Result<Json<Value>> {
    if body.notification.is_some() {
        return Err(Error::invalid(FieldError::invalid(
            "notification",
            "notification can be used only when creating a device.",
        )));
    }
    let nickname = body.nickname.as_deref().map(nickname).transpose()?;
    let device = state.credd.set_device_nickname(&caller, environment_id, user_id, id, nickname).await?;
    Ok(Json(view(&state.links, &device, domain::time::now())))
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
    responses((status = 200, description = "The device.", body = shapes::Device)))]
async fn set_nickname(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
    Json(body): Json<NicknameBody>,
) -> Result<Json<Value>> {
    let value = body.nickname.as_deref().ok_or_else(|| Error::invalid(FieldError::required("nickname")))?;
    let device = state.credd.set_device_nickname(&caller, environment_id, user_id, id, Some(nickname(value)?)).await?;
    Ok(Json(view(&state.links, &device, domain::time::now())))
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

// Policies ------------------------------------------------------------------------------

/// A policy; a method left out takes the defaults.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DeviceAuthenticationPolicyRequest)]
pub(super) struct PolicyBody {
    #[schema(required = true, nullable = false, value_type = Option<openapi::Text>)]
    name: Option<String>,
    /// Makes it the environment's default policy.
    default: Option<bool>,
    sms: Option<MethodBody>,
    voice: Option<MethodBody>,
    email: Option<MethodBody>,
    whats_app: Option<MethodBody>,
    totp: Option<MethodBody>,
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyMethodRequest)]
struct MethodBody {
    enabled: Option<bool>,
    pairing_disabled: Option<bool>,
    otp: Option<OtpBody>,
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyOtpRequest)]
struct OtpBody {
    /// 60 seconds to 30 minutes.
    life_time: Option<SpanBody>,
    failure: Option<FailureBody>,
    #[schema(minimum = 6, maximum = 10)]
    otp_length: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyFailureRequest)]
struct FailureBody {
    #[schema(minimum = 1, maximum = 7)]
    count: Option<i64>,
    /// Up to 30 minutes.
    cool_down: Option<SpanBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DurationRequest)]
struct SpanBody {
    duration: i64,
    #[schema(value_type = openapi::TimeUnit)]
    time_unit: String,
}

fn span(target: &str, body: Option<SpanBody>, default: Span, errors: &mut Collector) -> Span {
    match body {
        None => default,
        Some(SpanBody { duration, time_unit }) => match TimeUnit::parse(&time_unit) {
            Some(unit) => Span { duration, unit },
            None => {
                errors.push(FieldError::invalid(target, "timeUnit must be SECONDS or MINUTES."));
                default
            }
        },
    }
}

impl MethodBody {
    fn parse(self, prefix: &str, errors: &mut Collector) -> MethodPolicy {
        let defaults = MethodPolicy::default();
        let otp = self.otp.unwrap_or_default();
        let failure = otp.failure.unwrap_or(FailureBody { count: None, cool_down: None });
        let rules = MethodPolicy {
            enabled: self.enabled.unwrap_or(defaults.enabled),
            pairing_disabled: self.pairing_disabled.unwrap_or(defaults.pairing_disabled),
            otp_lifetime: span(
                &format!("{prefix}.otp.lifeTime.timeUnit"),
                otp.life_time,
                defaults.otp_lifetime,
                errors,
            ),
            failure_count: failure.count.unwrap_or(defaults.failure_count),
            cool_down: span(
                &format!("{prefix}.otp.failure.coolDown.timeUnit"),
                failure.cool_down,
                defaults.cool_down,
                errors,
            ),
            otp_length: otp.otp_length.unwrap_or(defaults.otp_length),
        };
        match rules.checked(prefix) {
            Ok(rules) => rules,
            Err(found) => {
                found.into_iter().for_each(|e| errors.push(e));
                rules
            }
        }
    }
}

impl PolicyBody {
    /// The policy as the body describes it; its id and times are the service's.
    pub(super) fn parse(self) -> Result<DevicePolicyFields, Vec<FieldError>> {
        let mut errors = Collector::default();
        let name = errors.take(self.name.as_deref().ok_or_else(|| FieldError::required("name")).and_then(policy_name));
        let mut method = |body: Option<MethodBody>, prefix: &str| body.unwrap_or_default().parse(prefix, &mut errors);
        let (sms, voice, email, whatsapp, totp) = (
            method(self.sms, "sms"),
            method(self.voice, "voice"),
            method(self.email, "email"),
            method(self.whats_app, "whatsApp"),
            method(self.totp, "totp"),
        );
        let default = self.default.unwrap_or(false);
        let built = name.map(|name| DevicePolicyFields { name, default, sms, voice, email, whatsapp, totp });
        errors.finish_with(built)
    }
}

fn method_view(rules: &MethodPolicy, with_otp_rules: bool) -> Value {
    let failure = json!({
        "count": rules.failure_count,
        "coolDown": { "duration": rules.cool_down.duration, "timeUnit": rules.cool_down.unit.as_str() },
    });
    let otp = if with_otp_rules {
        json!({
            "lifeTime": { "duration": rules.otp_lifetime.duration, "timeUnit": rules.otp_lifetime.unit.as_str() },
            "failure": failure,
            "otpLength": rules.otp_length,
        })
    } else {
        json!({ "failure": failure })
    };
    json!({ "enabled": rules.enabled, "pairingDisabled": rules.pairing_disabled, "otp": otp })
}

pub(super) fn policy_view(links: &Links, policy: &DevicePolicy) -> Value {
    let path = format!("/v1/environments/{}/deviceAuthenticationPolicies/{}", policy.environment_id, policy.id);
    json!({
        "_links": { "self": links.link(&path), "environment": links.link(&links.environment(policy.environment_id)) },
        "id": policy.id,
        "environment": { "id": policy.environment_id },
        "name": policy.name,
        "default": policy.default,
        "sms": method_view(&policy.sms, true),
        "voice": method_view(&policy.voice, true),
        "email": method_view(&policy.email, true),
        "whatsApp": method_view(&policy.whatsapp, true),
        "totp": method_view(&policy.totp, false),
        "createdAt": wire::format_timestamp(&policy.created_at),
        "updatedAt": wire::format_timestamp(&policy.updated_at),
    })
}

/// Create a device authentication policy.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/deviceAuthenticationPolicies",
    operation_id = "createDeviceAuthenticationPolicy", tag = "Device authentication policies",
    request_body = PolicyBody,
    responses((status = 201, description = "The new policy.", body = shapes::DeviceAuthenticationPolicy)))]
async fn create_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<PolicyBody>,
) -> Result<(StatusCode, Json<Value>)> {
    let policy = state.credd.create_device_policy(&caller, environment_id, body.parse()?).await?;
    Ok((StatusCode::CREATED, Json(policy_view(&state.links, &policy))))
}

/// List the device authentication policies.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/deviceAuthenticationPolicies",
    operation_id = "listDeviceAuthenticationPolicies", tag = "Device authentication policies",
    responses((status = 200, description = "The policies.", body = DevicePolicies)))]
async fn list_policies(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
) -> Result<Json<Value>> {
    let policies = state.credd.device_policies(&caller, environment_id).await?;
    let items: Vec<Value> = policies.iter().map(|p| policy_view(&state.links, p)).collect();
    let path = format!("/v1/environments/{environment_id}/deviceAuthenticationPolicies");
    Ok(Json(
        json!({ "_links": { "self": state.links.link(&path) }, "_embedded": { "deviceAuthenticationPolicies": items }, "size": items.len() }),
    ))
}

/// Read a device authentication policy.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/deviceAuthenticationPolicies/{policy_id}",
    operation_id = "readDeviceAuthenticationPolicy", tag = "Device authentication policies",
    responses((status = 200, description = "The policy.", body = shapes::DeviceAuthenticationPolicy)))]
async fn read_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<Json<Value>> {
    Ok(Json(policy_view(&state.links, &state.credd.device_policy(&caller, environment_id, id).await?)))
}

/// Replace a device authentication policy.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/deviceAuthenticationPolicies/{policy_id}",
    operation_id = "replaceDeviceAuthenticationPolicy", tag = "Device authentication policies",
    request_body = PolicyBody,
    responses((status = 200, description = "The policy.", body = shapes::DeviceAuthenticationPolicy)))]
async fn replace_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<PolicyBody>,
) -> Result<Json<Value>> {
    let policy = state.credd.replace_device_policy(&caller, environment_id, id, body.parse()?).await?;
    Ok(Json(policy_view(&state.links, &policy)))
}

/// Delete a policy that is neither the default nor used by a device.
#[utoipa::path(delete, path = "/v1/environments/{environment_id}/deviceAuthenticationPolicies/{policy_id}",
    operation_id = "deleteDeviceAuthenticationPolicy", tag = "Device authentication policies",
    responses((status = 204, description = "Deleted.")))]
async fn delete_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode> {
    state.credd.delete_device_policy(&caller, environment_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// MFA settings --------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[schema(as = MfaSettingsRequest)]
pub(super) struct SettingsBody {
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
    pub(super) fn parse(self) -> Result<i64, FieldError> {
        let requested = self.pairing.and_then(|p| p.max_allowed_devices);
        requested.ok_or_else(|| FieldError::required("pairing.maxAllowedDevices")).and_then(max_allowed_devices)
    }
}

pub(super) fn settings_view(links: &Links, settings: &MfaSettings) -> Value {
    json!({
        "_links": { "self": links.link(&format!("/v1/environments/{}/mfaSettings", settings.environment_id)) },
        "environment": { "id": settings.environment_id },
        "pairing": { "maxAllowedDevices": settings.max_allowed_devices },
        "updatedAt": wire::format_timestamp(&settings.updated_at),
    })
}

/// Read the environment's MFA settings.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/mfaSettings", operation_id = "readMfaSettings",
    tag = "MFA settings", responses((status = 200, description = "The settings.", body = shapes::MfaSettings)))]
async fn read_settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
) -> Result<Json<Value>> {
    Ok(Json(settings_view(&state.links, &state.credd.mfa_settings(&caller, environment_id).await?)))
}

/// Replace the environment's MFA settings.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/mfaSettings", operation_id = "replaceMfaSettings",
    tag = "MFA settings", request_body = SettingsBody,
    responses((status = 200, description = "The settings.", body = shapes::MfaSettings)))]
async fn replace_settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<SettingsBody>,
) -> Result<Json<Value>> {
    let settings = state.credd.put_mfa_settings(&caller, environment_id, body.parse()?).await?;
    Ok(Json(settings_view(&state.links, &settings)))
}
