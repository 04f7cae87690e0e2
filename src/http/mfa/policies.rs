//! `/v1/environments/{envId}/deviceAuthenticationPolicies`: how devices are paired and
//! activated, per method.

use axum::extract::State;
use axum::http::StatusCode;
use std::collections::BTreeMap;

use domain::mfa::{DevicePolicy, DevicePolicyFields, MethodPolicy, Span, TimeUnit, policy_name};
use domain::time::Timestamp;
use domain::validation::{Collector, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Result;
use crate::http::AppState;
use crate::http::extract::{Caller, Json, Path, Query};
use crate::http::openapi;
use crate::http::wire::{self, LinkSet, Links, ListQuery, Ref};

use super::kept::{
    Authentication, Fido2, IdRef, KeptFields, KeptPolicy, MethodExtras, MethodsExtras, Mobile, NewDeviceNotification,
    PingIdMethod, RememberMe, TotpExtras,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(read, replace, delete))
}

/// A policy, as PingOne takes it: `name`, `default`, `sms`, `voice`, `email`, `totp`,
/// `mobile` and `fido2` are required; `whatsApp` left out takes PingOne's defaults.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DeviceAuthenticationPolicyRequest)]
pub(in crate::http) struct PolicyBody {
    #[schema(required = true, nullable = false, value_type = Option<openapi::Text>)]
    name: Option<String>,
    /// Makes it the environment's default policy.
    #[schema(required = true, nullable = false)]
    default: Option<bool>,
    #[schema(required = true, nullable = false)]
    sms: Option<MethodBody>,
    #[schema(required = true, nullable = false)]
    voice: Option<MethodBody>,
    #[schema(required = true, nullable = false)]
    email: Option<MethodBody>,
    whats_app: Option<MethodBody>,
    #[schema(required = true, nullable = false)]
    totp: Option<TotpBody>,
    #[schema(required = true, nullable = false)]
    mobile: Option<Mobile>,
    #[schema(required = true, nullable = false)]
    fido2: Option<Fido2>,
    new_device_notification: Option<NewDeviceNotification>,
    authentication: Option<Authentication>,
    ignore_user_lock: Option<bool>,
    notifications_policy: Option<IdRef>,
    oath_token: Option<PingIdMethod>,
    desktop: Option<PingIdMethod>,
    yubikey: Option<PingIdMethod>,
    remember_me: Option<RememberMe>,
}

/// SMS, voice, email or WhatsApp: `enabled` and `otp` (with `lifeTime` and `failure`)
/// are required.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyMethodRequest)]
struct MethodBody {
    #[schema(required = true, nullable = false)]
    enabled: Option<bool>,
    pairing_disabled: Option<bool>,
    #[schema(required = true, nullable = false)]
    otp: Option<OtpBody>,
    prompt_for_nickname_on_pairing: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyOtpRequest)]
struct OtpBody {
    /// 60 seconds to 30 minutes.
    #[schema(required = true, nullable = false)]
    life_time: Option<SpanBody>,
    #[schema(required = true, nullable = false)]
    failure: Option<FailureBody>,
    #[schema(minimum = 6, maximum = 10)]
    otp_length: Option<i64>,
}

/// TOTP: `enabled` and `otp.failure` are required.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyTotpRequest)]
struct TotpBody {
    #[schema(required = true, nullable = false)]
    enabled: Option<bool>,
    pairing_disabled: Option<bool>,
    #[schema(required = true, nullable = false)]
    otp: Option<TotpOtpBody>,
    prompt_for_nickname_on_pairing: Option<bool>,
    /// 1 to 10 windows of 30 seconds each way. Kept, not enforced.
    #[schema(minimum = 1, maximum = 10)]
    passcode_grace_period: Option<i64>,
    /// `otpauth` URI parameters. Kept, not enforced.
    uri_parameters: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = DevicePolicyTotpOtpRequest)]
struct TotpOtpBody {
    #[schema(required = true, nullable = false)]
    failure: Option<FailureBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyFailureRequest)]
struct FailureBody {
    #[schema(required = true, nullable = false, minimum = 1, maximum = 7)]
    count: Option<i64>,
    /// Up to 30 minutes.
    #[schema(required = true, nullable = false)]
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

/// The value, or a `REQUIRED_VALUE` error for `target`.
fn required<T>(value: Option<T>, target: &str, errors: &mut Collector) -> Option<T> {
    errors.take(value.ok_or_else(|| FieldError::required(target)))
}

fn span(target: &str, body: SpanBody, errors: &mut Collector) -> Option<Span> {
    let unit = TimeUnit::parse(&body.time_unit);
    let unit = errors.take(unit.ok_or_else(|| FieldError::invalid(target, "timeUnit must be SECONDS or MINUTES.")));
    unit.map(|unit| Span { duration: body.duration, unit })
}

/// A method's rules. `life_time` is `None` for TOTP, whose codes have no lifetime, and
/// `Some(None)` when another method's body left its required `lifeTime` out.
fn rules(
    prefix: &str,
    enabled: Option<bool>,
    pairing_disabled: Option<bool>,
    life_time: Option<Option<SpanBody>>,
    failure: Option<FailureBody>,
    otp_length: Option<i64>,
    errors: &mut Collector,
) -> MethodPolicy {
    let defaults = MethodPolicy::default();
    let enabled = required(enabled, &format!("{prefix}.enabled"), errors);
    let otp_lifetime = life_time.and_then(|body| {
        let body = required(body, &format!("{prefix}.otp.lifeTime"), errors)?;
        span(&format!("{prefix}.otp.lifeTime.timeUnit"), body, errors)
    });
    let failure = required(failure, &format!("{prefix}.otp.failure"), errors);
    let (count, cool_down) = failure.map_or((None, None), |f| {
        let count = required(f.count, &format!("{prefix}.otp.failure.count"), errors);
        let cool_down = required(f.cool_down, &format!("{prefix}.otp.failure.coolDown"), errors)
            .and_then(|body| span(&format!("{prefix}.otp.failure.coolDown.timeUnit"), body, errors));
        (count, cool_down)
    });
    let rules = MethodPolicy {
        enabled: enabled.unwrap_or(defaults.enabled),
        pairing_disabled: pairing_disabled.unwrap_or(defaults.pairing_disabled),
        otp_lifetime: otp_lifetime.unwrap_or(defaults.otp_lifetime),
        failure_count: count.unwrap_or(defaults.failure_count),
        cool_down: cool_down.unwrap_or(defaults.cool_down),
        otp_length: otp_length.unwrap_or(defaults.otp_length),
    };
    match rules.checked(prefix) {
        Ok(rules) => rules,
        Err(found) => {
            found.into_iter().for_each(|e| errors.push(e));
            rules
        }
    }
}

impl MethodBody {
    fn parse(self, prefix: &str, errors: &mut Collector) -> (MethodPolicy, MethodExtras) {
        let rules = match required(self.otp, &format!("{prefix}.otp"), errors) {
            Some(otp) => {
                let (enabled, pairing_disabled) = (self.enabled, self.pairing_disabled);
                rules(prefix, enabled, pairing_disabled, Some(otp.life_time), otp.failure, otp.otp_length, errors)
            }
            None => {
                required(self.enabled, &format!("{prefix}.enabled"), errors);
                MethodPolicy::default()
            }
        };
        (rules, MethodExtras { prompt_for_nickname_on_pairing: self.prompt_for_nickname_on_pairing })
    }
}

impl TotpBody {
    fn parse(self, errors: &mut Collector) -> (MethodPolicy, TotpExtras) {
        let rules = match required(self.otp, "totp.otp", errors) {
            Some(otp) => rules("totp", self.enabled, self.pairing_disabled, None, otp.failure, None, errors),
            None => {
                required(self.enabled, "totp.enabled", errors);
                MethodPolicy::default()
            }
        };
        let extras = TotpExtras {
            prompt_for_nickname_on_pairing: self.prompt_for_nickname_on_pairing,
            passcode_grace_period: self.passcode_grace_period,
            uri_parameters: self.uri_parameters,
        };
        extras.check(errors);
        (rules, extras)
    }
}

impl PolicyBody {
    /// The policy as the body describes it; its id and times are the service's.
    pub(in crate::http) fn parse(self) -> Result<DevicePolicyFields, Vec<FieldError>> {
        let mut errors = Collector::default();
        let name = errors.take(self.name.as_deref().ok_or_else(|| FieldError::required("name")).and_then(policy_name));
        let default = required(self.default, "default", &mut errors);
        let mut method = |body: Option<MethodBody>, prefix: &str| {
            required(body, prefix, &mut errors).map(|body| body.parse(prefix, &mut errors)).unwrap_or_default()
        };
        let ((sms, sms_extras), (voice, voice_extras), (email, email_extras)) =
            (method(self.sms, "sms"), method(self.voice, "voice"), method(self.email, "email"));
        let (whatsapp, whats_app_extras) =
            self.whats_app.map(|body| body.parse("whatsApp", &mut errors)).unwrap_or_default();
        let (totp, totp_extras) =
            required(self.totp, "totp", &mut errors).map(|body| body.parse(&mut errors)).unwrap_or_default();
        let mobile = required(self.mobile, "mobile", &mut errors);
        let fido2 = required(self.fido2, "fido2", &mut errors);
        let kept = mobile.zip(fido2).map(|(mobile, fido2)| {
            let fields = KeptFields {
                new_device_notification: self.new_device_notification.unwrap_or_default(),
                authentication: self.authentication.unwrap_or_default(),
                ignore_user_lock: self.ignore_user_lock.unwrap_or(false),
                notifications_policy: self.notifications_policy,
                mobile,
                fido2,
                oath_token: self.oath_token,
                desktop: self.desktop,
                yubikey: self.yubikey,
                remember_me: self.remember_me,
            };
            fields.check(&mut errors);
            let methods = MethodsExtras {
                sms: sms_extras,
                voice: voice_extras,
                email: email_extras,
                whats_app: whats_app_extras,
                totp: totp_extras,
            };
            KeptPolicy { fields, methods }.to_settings()
        });
        let built = name.zip(default).zip(kept).map(|((name, default), kept)| DevicePolicyFields {
            name,
            default,
            sms,
            voice,
            email,
            whatsapp,
            totp,
            kept,
        });
        errors.finish_with(built)
    }
}

/// How devices of an environment are paired and activated, per method, with what credd
/// keeps but does not act on (`mobile`, `fido2`, `rememberMe`, …). `_links.fido2` names
/// the FIDO policy when `fido2.fido2PolicyId` is set, `_links.applications` the
/// environment's applications when `mobile.applications` lists some.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DeviceAuthenticationPolicy)]
pub(in crate::http) struct DevicePolicyView {
    #[serde(rename = "_links")]
    links: LinkSet,
    id: Uuid,
    environment: Ref,
    name: String,
    default: bool,
    /// Deprecated and read-only: always `false`.
    for_sign_on_policy: bool,
    sms: MethodView,
    voice: MethodView,
    email: MethodView,
    whats_app: MethodView,
    totp: MethodView,
    new_device_notification: NewDeviceNotification,
    authentication: Authentication,
    ignore_user_lock: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    notifications_policy: Option<IdRef>,
    mobile: Mobile,
    fido2: Fido2,
    #[serde(skip_serializing_if = "Option::is_none")]
    oath_token: Option<PingIdMethod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    desktop: Option<PingIdMethod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    yubikey: Option<PingIdMethod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remember_me: Option<RememberMe>,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    created_at: Timestamp,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    updated_at: Timestamp,
}

/// A method of credd's own. TOTP has no `otp.lifeTime` or `otp.otpLength`, and alone
/// has `passcodeGracePeriod` and `uriParameters`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyMethod)]
struct MethodView {
    enabled: bool,
    pairing_disabled: bool,
    otp: OtpView,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_for_nickname_on_pairing: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    passcode_grace_period: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_parameters: Option<BTreeMap<String, String>>,
}

/// TOTP has only `failure`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyOtp)]
struct OtpView {
    #[serde(skip_serializing_if = "Option::is_none")]
    life_time: Option<SpanView>,
    failure: FailureView,
    #[serde(skip_serializing_if = "Option::is_none")]
    otp_length: Option<i64>,
}

/// After `count` wrong codes the code is voided and the device locked for `coolDown`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyFailure)]
struct FailureView {
    count: i64,
    cool_down: SpanView,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Duration)]
struct SpanView {
    duration: i64,
    #[schema(value_type = openapi::TimeUnit)]
    time_unit: &'static str,
}

impl SpanView {
    fn new(span: Span) -> Self {
        Self { duration: span.duration, time_unit: span.unit.as_str() }
    }
}

impl MethodView {
    /// An SMS, voice, email or WhatsApp method.
    fn new(rules: MethodPolicy, extras: MethodExtras) -> Self {
        let mut view = Self::totp(rules, TotpExtras::default());
        view.otp.life_time = Some(SpanView::new(rules.otp_lifetime));
        view.otp.otp_length = Some(rules.otp_length);
        view.prompt_for_nickname_on_pairing = extras.prompt_for_nickname_on_pairing;
        view
    }

    /// TOTP: the failure rules alone, and its extras.
    fn totp(rules: MethodPolicy, extras: TotpExtras) -> Self {
        let failure = FailureView { count: rules.failure_count, cool_down: SpanView::new(rules.cool_down) };
        Self {
            enabled: rules.enabled,
            pairing_disabled: rules.pairing_disabled,
            otp: OtpView { life_time: None, failure, otp_length: None },
            prompt_for_nickname_on_pairing: extras.prompt_for_nickname_on_pairing,
            passcode_grace_period: extras.passcode_grace_period,
            uri_parameters: extras.uri_parameters,
        }
    }
}

wire::collection!(DevicePolicies, "deviceAuthenticationPolicies", DevicePolicyView);

pub(in crate::http) fn view(links: &Links, policy: &DevicePolicy) -> DevicePolicyView {
    let environment = links.environment(policy.environment_id);
    let path = format!("{environment}/deviceAuthenticationPolicies/{}", policy.id);
    let KeptPolicy { fields, methods } = KeptPolicy::from_settings(&policy.kept);
    let mut link_set = links.set([("self", &path), ("environment", &environment)]);
    if let Some(fido2_policy) = fields.fido2.policy_id() {
        link_set.insert("fido2", links.link(&format!("{environment}/fido2Policies/{fido2_policy}")));
    }
    if fields.mobile.has_applications() {
        link_set.insert("applications", links.link(&format!("{environment}/applications")));
    }
    DevicePolicyView {
        links: link_set,
        id: policy.id,
        environment: Ref { id: policy.environment_id },
        name: policy.name.clone(),
        default: policy.default,
        for_sign_on_policy: false,
        sms: MethodView::new(policy.sms, methods.sms),
        voice: MethodView::new(policy.voice, methods.voice),
        email: MethodView::new(policy.email, methods.email),
        whats_app: MethodView::new(policy.whatsapp, methods.whats_app),
        totp: MethodView::totp(policy.totp, methods.totp),
        new_device_notification: fields.new_device_notification,
        authentication: fields.authentication,
        ignore_user_lock: fields.ignore_user_lock,
        notifications_policy: fields.notifications_policy,
        mobile: fields.mobile,
        fido2: fields.fido2,
        oath_token: fields.oath_token,
        desktop: fields.desktop,
        yubikey: fields.yubikey,
        remember_me: fields.remember_me,
        created_at: policy.created_at,
        updated_at: policy.updated_at,
    }
}

/// Create a device authentication policy.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/deviceAuthenticationPolicies",
    operation_id = "createDeviceAuthenticationPolicy", request_body = PolicyBody,
    responses((status = 201, description = "The new policy.", body = DevicePolicyView)))]
async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<PolicyBody>,
) -> Result<(StatusCode, Json<DevicePolicyView>)> {
    let policy = state.credd.create_device_policy(&caller, environment_id, body.parse()?).await?;
    Ok((StatusCode::CREATED, Json(view(&state.links, &policy))))
}

/// List the device authentication policies.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/deviceAuthenticationPolicies",
    operation_id = "listDeviceAuthenticationPolicies",
    params(("filter" = Option<String>, Query,
        description = "SCIM: `name` eq or sw, `default` eq; joined by `and`, `or`, parentheses: `default eq true`.")),
    responses((status = 200, description = "The policies.", body = DevicePolicies)))]
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Query(query): Query<ListQuery>,
) -> Result<Json<DevicePolicies>> {
    let filter = query.unpaged::<DevicePolicy>()?;
    let policies = state.credd.device_policies(&caller, environment_id, filter.as_ref()).await?;
    let path = format!("/v1/environments/{environment_id}/deviceAuthenticationPolicies");
    let items = policies.iter().map(|p| view(&state.links, p)).collect();
    Ok(Json(DevicePolicies::all(&state.links, &path, items)))
}

/// Read a device authentication policy.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/deviceAuthenticationPolicies/{policy_id}",
    operation_id = "readDeviceAuthenticationPolicy",
    responses((status = 200, description = "The policy.", body = DevicePolicyView)))]
async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<Json<DevicePolicyView>> {
    Ok(Json(view(&state.links, &state.credd.device_policy(&caller, environment_id, id).await?)))
}

/// Replace a device authentication policy.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/deviceAuthenticationPolicies/{policy_id}",
    operation_id = "replaceDeviceAuthenticationPolicy", request_body = PolicyBody,
    responses((status = 200, description = "The policy.", body = DevicePolicyView)))]
async fn replace(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<PolicyBody>,
) -> Result<Json<DevicePolicyView>> {
    let policy = state.credd.replace_device_policy(&caller, environment_id, id, body.parse()?).await?;
    Ok(Json(view(&state.links, &policy)))
}

/// Delete a policy that is neither the default nor used by a device.
#[utoipa::path(delete, path = "/v1/environments/{environment_id}/deviceAuthenticationPolicies/{policy_id}",
    operation_id = "deleteDeviceAuthenticationPolicy", responses((status = 204, description = "Deleted.")))]
async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode> {
    state.credd.delete_device_policy(&caller, environment_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
