//! What a device authentication policy says that credd keeps and answers but does not
//! act on: the mobile app, FIDO2, OATH token, PingID desktop and YubiKey methods,
//! "remember me", device selection, new-device notifications, and each method's
//! `promptForNicknameOnPairing`. The wire shapes PingOne documents, checked as PingOne
//! checks them (types and enums by serde, ranges and sizes here), and stored as the JSON
//! they serialise to ([`domain::mfa::KeptSettings`]).

use std::collections::BTreeMap;
use std::net::IpAddr;

use domain::mfa::KeptSettings;
use domain::validation::{Collector, FieldError, FieldErrorKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Mobile applications in one policy, and IP ranges in one application.
const MAX_ITEMS: usize = 100;
/// `totp.uriParameters` entries, and the characters of a key and of a value.
const MAX_URI_PARAMETERS: usize = 20;
const MAX_URI_KEY: usize = 64;
const MAX_URI_VALUE: usize = 256;

fn out_of_range(errors: &mut Collector, target: &str, message: String) {
    errors.push(FieldError::new(target, FieldErrorKind::OutOfRange, message));
}

fn check_range(errors: &mut Collector, target: &str, value: i64, min: i64, max: i64) {
    if !(min..=max).contains(&value) {
        out_of_range(errors, target, format!("{target} must be from {min} to {max}."));
    }
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "UPPERCASE")]
#[schema(as = KeptTimeUnit)]
pub(super) enum Unit {
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl Unit {
    fn seconds(self) -> i64 {
        match self {
            Self::Seconds => 1,
            Self::Minutes => 60,
            Self::Hours => 3600,
            Self::Days => 86_400,
        }
    }
}

/// `{duration, timeUnit}`; each field allows its own units and range.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = KeptDuration)]
pub(super) struct Span {
    duration: i64,
    time_unit: Unit,
}

impl Span {
    /// Within `min ..= max` seconds, in one of `units`.
    fn check(&self, errors: &mut Collector, target: &str, units: &[Unit], min: i64, max: i64) {
        if !units.contains(&self.time_unit) {
            let allowed: Vec<String> = units.iter().map(|u| format!("{u:?}").to_uppercase()).collect();
            let message = format!("{target}.timeUnit must be one of {}.", allowed.join(", "));
            errors.push(FieldError::invalid(&format!("{target}.timeUnit"), message));
        } else if !(min..=max).contains(&self.duration.saturating_mul(self.time_unit.seconds())) {
            let message = format!("{target} must be from {min} to {max} seconds.");
            out_of_range(errors, &format!("{target}.duration"), message);
        }
    }
}

const MINUTES_OR_SECONDS: &[Unit] = &[Unit::Seconds, Unit::Minutes];
const MINUTES_OR_HOURS: &[Unit] = &[Unit::Minutes, Unit::Hours];

/// After `count` failures the user waits `coolDown`.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = KeptFailure)]
pub(super) struct Failure {
    count: i64,
    cool_down: Span,
}

impl Failure {
    fn check(&self, errors: &mut Collector, target: &str, min_cool_down: i64) {
        check_range(errors, &format!("{target}.count"), self.count, 1, 7);
        self.cool_down.check(errors, &format!("{target}.coolDown"), MINUTES_OR_SECONDS, min_cool_down, 1800);
    }
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[schema(as = KeptEnabled)]
pub(super) struct Enabled {
    enabled: bool,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Default, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(super) enum NewDeviceNotification {
    None,
    #[default]
    EmailThenSms,
    SmsThenEmail,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Default, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(super) enum DeviceSelection {
    #[default]
    DefaultToFirst,
    PromptToSelect,
    AlwaysDisplayDevices,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Default, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyAuthentication)]
pub(super) struct Authentication {
    device_selection: DeviceSelection,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[schema(as = KeptIdRef)]
pub(super) struct IdRef {
    id: Uuid,
}

/// How strictly a check that gets no answer is taken.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "lowercase")]
pub(super) enum Strictness {
    Permissive,
    Restrictive,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
pub(super) enum MobileApplicationType {
    #[serde(rename = "pingIdAppConfig")]
    PingIdAppConfig,
}

/// The mobile app method. Kept, not enforced: credd pairs no mobile apps.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyMobile)]
pub(super) struct Mobile {
    enabled: bool,
    otp: MobileOtp,
    #[serde(skip_serializing_if = "Option::is_none")]
    applications: Option<Vec<MobileApplication>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_for_nickname_on_pairing: Option<bool>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyMobileOtp)]
struct MobileOtp {
    failure: Failure,
    #[serde(skip_serializing_if = "Option::is_none")]
    window: Option<Window>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyMobileOtpWindow)]
struct Window {
    step_size: Span,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyMobileApplication)]
struct MobileApplication {
    id: Uuid,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<MobileApplicationType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    push: Option<Push>,
    /// 40 to 150 seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    push_timeout: Option<Span>,
    /// 1 minute to 48 hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pairing_key_lifetime: Option<Span>,
    #[serde(skip_serializing_if = "Option::is_none")]
    push_limit: Option<PushLimit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    otp: Option<Enabled>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_authorization: Option<DeviceAuthorization>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auto_enrollment: Option<Enabled>,
    #[serde(skip_serializing_if = "Option::is_none")]
    biometrics_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pairing_disabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    integrity_detection: Option<Strictness>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_pairing_configuration: Option<IpPairing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_request_duration_configuration: Option<NewRequestDuration>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyMobilePush)]
struct Push {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    number_matching: Option<Enabled>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyMobilePushLimit)]
struct PushLimit {
    /// 1 to 50.
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<i64>,
    /// 1 to 120 minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    lock_duration: Option<Span>,
    /// 1 to 120 minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    time_period: Option<Span>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyMobileDeviceAuthorization)]
struct DeviceAuthorization {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    extra_verification: Option<Strictness>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyMobileIpPairing)]
struct IpPairing {
    /// PingOne's spelling.
    #[serde(rename = "anyIPAdress", skip_serializing_if = "Option::is_none")]
    any_ip_address: Option<bool>,
    /// IP addresses or CIDR ranges.
    #[serde(skip_serializing_if = "Option::is_none")]
    only_these_ip_addresses: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyMobileRequestDuration)]
struct NewRequestDuration {
    /// 15 to 75 seconds.
    device_timeout: Span,
    /// 30 to 90 seconds, at least 15 more than `deviceTimeout`.
    total_timeout: Span,
}

/// `192.168.0.1` or `192.168.0.0/24`.
fn ip_or_range(value: &str) -> bool {
    let (address, prefix) = value.split_once('/').map_or((value, None), |(a, p)| (a, Some(p)));
    match address.parse::<IpAddr>() {
        Ok(ip) => prefix.is_none_or(|p| {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            p.parse::<u8>().is_ok_and(|bits| bits <= max)
        }),
        Err(_) => false,
    }
}

impl Mobile {
    pub(super) fn has_applications(&self) -> bool {
        self.applications.as_ref().is_some_and(|a| !a.is_empty())
    }

    fn initial() -> Self {
        let cool_down = Span { duration: 2, time_unit: Unit::Minutes };
        let otp = MobileOtp { failure: Failure { count: 3, cool_down }, window: None };
        Self { enabled: true, otp, applications: None, prompt_for_nickname_on_pairing: None }
    }

    fn check(&self, errors: &mut Collector) {
        self.otp.failure.check(errors, "mobile.otp.failure", 0);
        if let Some(window) = &self.otp.window {
            window.step_size.check(errors, "mobile.otp.window.stepSize", MINUTES_OR_SECONDS, 1, 3600);
        }
        let applications = self.applications.as_deref().unwrap_or_default();
        if applications.len() > MAX_ITEMS {
            let message = format!("mobile.applications may hold at most {MAX_ITEMS} applications.");
            errors.push(FieldError::new("mobile.applications", FieldErrorKind::LimitExceeded, message));
        }
        for (i, application) in applications.iter().enumerate() {
            application.check(errors, &format!("mobile.applications[{i}]"));
        }
    }
}

impl MobileApplication {
    fn check(&self, errors: &mut Collector, at: &str) {
        if let Some(timeout) = &self.push_timeout {
            timeout.check(errors, &format!("{at}.pushTimeout"), &[Unit::Seconds], 40, 150);
        }
        if let Some(lifetime) = &self.pairing_key_lifetime {
            lifetime.check(errors, &format!("{at}.pairingKeyLifetime"), MINUTES_OR_HOURS, 60, 48 * 3600);
        }
        if let Some(limit) = &self.push_limit {
            if let Some(count) = limit.count {
                check_range(errors, &format!("{at}.pushLimit.count"), count, 1, 50);
            }
            for (name, span) in [("lockDuration", &limit.lock_duration), ("timePeriod", &limit.time_period)] {
                if let Some(span) = span {
                    span.check(errors, &format!("{at}.pushLimit.{name}"), MINUTES_OR_SECONDS, 60, 7200);
                }
            }
        }
        if let Some(ips) = self.ip_pairing_configuration.as_ref().and_then(|c| c.only_these_ip_addresses.as_ref()) {
            let target = format!("{at}.ipPairingConfiguration.onlyTheseIpAddresses");
            if ips.len() > MAX_ITEMS {
                let message = format!("{target} may hold at most {MAX_ITEMS} addresses.");
                errors.push(FieldError::new(&target, FieldErrorKind::LimitExceeded, message));
            }
            for (i, ip) in ips.iter().enumerate().filter(|(_, ip)| !ip_or_range(ip)) {
                let message = format!("{ip:?} is not an IP address or a CIDR range.");
                errors.push(FieldError::invalid(&format!("{target}[{i}]"), message));
            }
        }
        if let Some(durations) = &self.new_request_duration_configuration {
            let target = format!("{at}.newRequestDurationConfiguration");
            let (device, total) = (&durations.device_timeout, &durations.total_timeout);
            device.check(errors, &format!("{target}.deviceTimeout"), &[Unit::Seconds], 15, 75);
            total.check(errors, &format!("{target}.totalTimeout"), &[Unit::Seconds], 30, 90);
            if total.duration < device.duration.saturating_add(15) {
                let message = "totalTimeout must exceed deviceTimeout by at least 15 seconds.".to_owned();
                out_of_range(errors, &format!("{target}.totalTimeout.duration"), message);
            }
        }
    }
}

/// The FIDO2 method. Kept, not enforced: credd pairs no FIDO2 devices.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyFido2)]
pub(super) struct Fido2 {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pairing_disabled: Option<bool>,
    /// The FIDO policy; left out, the environment's default one.
    #[serde(skip_serializing_if = "Option::is_none")]
    fido2_policy_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_for_nickname_on_pairing: Option<bool>,
    /// `count` 1 to 7, `coolDown` 2 to 30 minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<Failure>,
}

impl Fido2 {
    fn initial() -> Self {
        Self {
            enabled: true,
            pairing_disabled: None,
            fido2_policy_id: None,
            prompt_for_nickname_on_pairing: None,
            failure: None,
        }
    }

    fn check(&self, errors: &mut Collector) {
        if let Some(failure) = &self.failure {
            failure.check(errors, "fido2.failure", 120);
        }
    }

    pub(super) fn policy_id(&self) -> Option<Uuid> {
        self.fido2_policy_id
    }
}

/// `oathToken`, and PingID's `desktop` and `yubikey`. Kept, not enforced.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyPingIdMethod)]
pub(super) struct PingIdMethod {
    enabled: bool,
    otp: PingIdOtp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pairing_disabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_for_nickname_on_pairing: Option<bool>,
    /// 1 minute to 48 hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pairing_key_lifetime: Option<Span>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[schema(as = DevicePolicyPingIdOtp)]
struct PingIdOtp {
    failure: Failure,
}

impl PingIdMethod {
    fn check(&self, errors: &mut Collector, at: &str) {
        self.otp.failure.check(errors, &format!("{at}.otp.failure"), 0);
        if let Some(lifetime) = &self.pairing_key_lifetime {
            lifetime.check(errors, &format!("{at}.pairingKeyLifetime"), MINUTES_OR_HOURS, 60, 48 * 3600);
        }
    }
}

/// Kept, not enforced: credd remembers no browsers.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[schema(as = DevicePolicyRememberMe)]
pub(super) struct RememberMe {
    web: RememberMeWeb,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = DevicePolicyRememberMeWeb)]
struct RememberMeWeb {
    enabled: bool,
    /// 1 hour to 90 days, in MINUTES, HOURS or DAYS.
    life_time: Span,
}

/// The policy-wide fields that credd keeps, as they appear in a policy.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(super) struct KeptFields {
    #[serde(default)]
    pub(super) new_device_notification: NewDeviceNotification,
    #[serde(default)]
    pub(super) authentication: Authentication,
    #[serde(default)]
    pub(super) ignore_user_lock: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) notifications_policy: Option<IdRef>,
    #[serde(default = "Mobile::initial")]
    pub(super) mobile: Mobile,
    #[serde(default = "Fido2::initial")]
    pub(super) fido2: Fido2,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) oath_token: Option<PingIdMethod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) desktop: Option<PingIdMethod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) yubikey: Option<PingIdMethod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) remember_me: Option<RememberMe>,
}

impl Default for KeptFields {
    /// PingOne's defaults, and credd's for the mobile and FIDO2 methods.
    fn default() -> Self {
        Self {
            new_device_notification: NewDeviceNotification::default(),
            authentication: Authentication::default(),
            ignore_user_lock: false,
            notifications_policy: None,
            mobile: Mobile::initial(),
            fido2: Fido2::initial(),
            oath_token: None,
            desktop: None,
            yubikey: None,
            remember_me: None,
        }
    }
}

impl KeptFields {
    pub(super) fn check(&self, errors: &mut Collector) {
        self.mobile.check(errors);
        self.fido2.check(errors);
        for (at, method) in [("oathToken", &self.oath_token), ("desktop", &self.desktop), ("yubikey", &self.yubikey)] {
            if let Some(method) = method {
                method.check(errors, at);
            }
        }
        if let Some(remember) = &self.remember_me {
            let units = [Unit::Minutes, Unit::Hours, Unit::Days];
            remember.web.life_time.check(errors, "rememberMe.web.lifeTime", &units, 3600, 90 * 86_400);
        }
    }
}

/// What a method of credd's own (SMS, voice, email, WhatsApp, TOTP) has beyond the rules
/// credd enforces.
#[derive(Serialize, Deserialize, Clone, Copy, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub(super) struct MethodExtras {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) prompt_for_nickname_on_pairing: Option<bool>,
}

/// TOTP's extras.
#[derive(Serialize, Deserialize, Clone, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub(super) struct TotpExtras {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) prompt_for_nickname_on_pairing: Option<bool>,
    /// 1 to 10 windows of 30 seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) passcode_grace_period: Option<i64>,
    /// `otpauth` URI parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) uri_parameters: Option<BTreeMap<String, String>>,
}

impl TotpExtras {
    pub(super) fn check(&self, errors: &mut Collector) {
        if let Some(windows) = self.passcode_grace_period {
            check_range(errors, "totp.passcodeGracePeriod", windows, 1, 10);
        }
        let parameters = self.uri_parameters.iter().flatten();
        if self.uri_parameters.as_ref().is_some_and(|p| p.len() > MAX_URI_PARAMETERS) {
            let message = format!("totp.uriParameters may hold at most {MAX_URI_PARAMETERS} parameters.");
            errors.push(FieldError::new("totp.uriParameters", FieldErrorKind::LimitExceeded, message));
        }
        for (key, value) in parameters {
            let target = format!("totp.uriParameters.{key}");
            if key.is_empty() || key.chars().count() > MAX_URI_KEY || value.chars().count() > MAX_URI_VALUE {
                let message = format!(
                    "A parameter's name must have 1 to {MAX_URI_KEY} characters and its value at most {MAX_URI_VALUE}."
                );
                errors.push(FieldError::new(&target, FieldErrorKind::TooLong, message));
            } else if key.chars().chain(value.chars()).any(char::is_control) {
                errors.push(FieldError::invalid(&target, "URI parameters must not contain control characters."));
            }
        }
    }
}

/// The extras of credd's own methods, in storage.
#[derive(Serialize, Deserialize, Clone, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub(super) struct MethodsExtras {
    #[serde(default)]
    pub(super) sms: MethodExtras,
    #[serde(default)]
    pub(super) voice: MethodExtras,
    #[serde(default)]
    pub(super) email: MethodExtras,
    #[serde(default)]
    pub(super) whats_app: MethodExtras,
    #[serde(default)]
    pub(super) totp: TotpExtras,
}

/// The stored document: the policy-wide fields as they appear in a policy, and the
/// extras of credd's own methods under `methods`.
#[derive(Serialize, Deserialize, Clone, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub(super) struct KeptPolicy {
    #[serde(flatten)]
    pub(super) fields: KeptFields,
    #[serde(default)]
    pub(super) methods: MethodsExtras,
}

impl KeptPolicy {
    pub(super) fn to_settings(&self) -> KeptSettings {
        // Serialising these plain structs cannot fail.
        KeptSettings::new(serde_json::to_string(self).unwrap_or_else(|_| "{}".into()))
    }

    /// The stored document; one credd did not write (it never should) is logged and read
    /// as the defaults.
    pub(super) fn from_settings(kept: &KeptSettings) -> Self {
        serde_json::from_str(kept.as_str()).unwrap_or_else(|error| {
            tracing::error!(%error, "unreadable kept policy settings; answering the defaults");
            Self::default()
        })
    }
}
