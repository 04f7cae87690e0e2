//! `/v1/environments/{envId}/deviceAuthenticationPolicies`: how devices are paired and
//! activated, per method.

use axum::extract::State;
use axum::http::StatusCode;
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
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(read, replace, delete))
}

/// A policy; a method left out takes the defaults.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DeviceAuthenticationPolicyRequest)]
pub(in crate::http) struct PolicyBody {
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
    pub(in crate::http) fn parse(self) -> Result<DevicePolicyFields, Vec<FieldError>> {
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

/// How devices of an environment are paired and activated, per method.
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
    sms: MethodView,
    voice: MethodView,
    email: MethodView,
    whats_app: MethodView,
    totp: MethodView,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    created_at: Timestamp,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    updated_at: Timestamp,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyMethod)]
struct MethodView {
    enabled: bool,
    pairing_disabled: bool,
    otp: OtpView,
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
    /// `with_otp_rules`: the code's lifetime and length, which a TOTP code has not.
    fn new(rules: MethodPolicy, with_otp_rules: bool) -> Self {
        let failure = FailureView { count: rules.failure_count, cool_down: SpanView::new(rules.cool_down) };
        let otp = OtpView {
            life_time: with_otp_rules.then(|| SpanView::new(rules.otp_lifetime)),
            failure,
            otp_length: with_otp_rules.then_some(rules.otp_length),
        };
        Self { enabled: rules.enabled, pairing_disabled: rules.pairing_disabled, otp }
    }
}

wire::collection!(DevicePolicies, "deviceAuthenticationPolicies", DevicePolicyView);

pub(in crate::http) fn view(links: &Links, policy: &DevicePolicy) -> DevicePolicyView {
    let path = format!("/v1/environments/{}/deviceAuthenticationPolicies/{}", policy.environment_id, policy.id);
    DevicePolicyView {
        links: links.set([("self", &path), ("environment", &links.environment(policy.environment_id))]),
        id: policy.id,
        environment: Ref { id: policy.environment_id },
        name: policy.name.clone(),
        default: policy.default,
        sms: MethodView::new(policy.sms, true),
        voice: MethodView::new(policy.voice, true),
        email: MethodView::new(policy.email, true),
        whats_app: MethodView::new(policy.whatsapp, true),
        totp: MethodView::new(policy.totp, false),
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
