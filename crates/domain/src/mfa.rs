//! MFA: device authentication policies, MFA settings, and users' devices with their
//! activation by one-time passcode.

use chrono::TimeDelta;
use uuid::Uuid;

use crate::time::Timestamp;
use crate::validation::{FieldError, FieldErrorKind, bounded_text};

crate::text_enum! {
    pub enum DeviceType {
        Sms => "SMS",
        Voice => "VOICE",
        Email => "EMAIL",
        WhatsApp => "WHATSAPP",
        Totp => "TOTP",
    }
}

crate::text_enum! {
    pub enum DeviceStatus {
        Active => "ACTIVE",
        /// Waits for a valid one-time passcode (or TOTP code).
        ActivationRequired => "ACTIVATION_REQUIRED",
    }
}

crate::text_enum! {
    pub enum TimeUnit {
        Seconds => "SECONDS",
        Minutes => "MINUTES",
    }
}

/// A phone number as PingOne takes it: `+`, the country code, the number, in any
/// of the usual spellings (`+1.5125551234`, `+1 (512) 555-1234`, …). Kept in one
/// canonical form, `+<country code>.<national number>`, so spellings of one number
/// compare equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(target: &str, value: &str) -> Result<Self, FieldError> {
        let value = value.trim();
        if !value.starts_with('+') {
            return Err(FieldError::invalid(
                target,
                format!("{target} must start with + and the country code, e.g. +15125551234."),
            ));
        }
        // The dots PingOne's examples use are not separators the library knows.
        let spelled = value.replace('.', " ");
        let number = phonenumber::parse(None, &spelled)
            .map_err(|_| FieldError::invalid(target, format!("{target} is not a phone number.")))?;
        if !phonenumber::is_valid(&number) {
            return Err(FieldError::invalid(target, format!("{target} is not a valid number for its country.")));
        }
        Ok(Self(format!("+{}.{}", number.code().value(), number.national().value())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A duration as policies spell it: `{duration, timeUnit}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub duration: i64,
    pub unit: TimeUnit,
}

impl Span {
    pub fn seconds(self) -> i64 {
        match self.unit {
            TimeUnit::Seconds => self.duration,
            // Saturating: an absurd duration from a client is out of range, not an overflow.
            TimeUnit::Minutes => self.duration.saturating_mul(60),
        }
    }

    pub fn delta(self) -> TimeDelta {
        TimeDelta::seconds(self.seconds())
    }

    /// Within `min ..= max` seconds, said in the unit the client used.
    fn checked(self, target: &str, min_seconds: i64, max_seconds: i64) -> Result<Self, FieldError> {
        if (min_seconds..=max_seconds).contains(&self.seconds()) {
            Ok(self)
        } else {
            let (low, high) = match self.unit {
                TimeUnit::Seconds => (min_seconds, max_seconds),
                TimeUnit::Minutes => ((min_seconds + 59) / 60, max_seconds / 60),
            };
            Err(FieldError::new(
                target,
                FieldErrorKind::OutOfRange,
                format!("{target} must be from {low} to {high} {}.", self.unit.as_str()),
            ))
        }
    }
}

/// One method's rules in a policy. For TOTP only `enabled`, `pairing_disabled` and the
/// failure rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodPolicy {
    pub enabled: bool,
    pub pairing_disabled: bool,
    pub otp_lifetime: Span,
    pub failure_count: i64,
    pub cool_down: Span,
    pub otp_length: i64,
}

impl Default for MethodPolicy {
    /// PingOne's defaults: 30-minute codes of 6 digits, 3 failures, no cool-down.
    fn default() -> Self {
        Self {
            enabled: true,
            pairing_disabled: false,
            otp_lifetime: Span { duration: 30, unit: TimeUnit::Minutes },
            failure_count: 3,
            cool_down: Span { duration: 0, unit: TimeUnit::Minutes },
            otp_length: 6,
        }
    }
}

impl MethodPolicy {
    /// Checks the ranges; `prefix` is the method's field (`sms`, `whatsApp`, …).
    pub fn checked(self, prefix: &str) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        if let Err(e) = self.otp_lifetime.checked(&format!("{prefix}.otp.lifeTime.duration"), 60, 1800) {
            errors.push(e);
        }
        if let Err(e) = self.cool_down.checked(&format!("{prefix}.otp.failure.coolDown.duration"), 0, 1800) {
            errors.push(e);
        }
        if !(1..=7).contains(&self.failure_count) {
            errors.push(FieldError::new(
                format!("{prefix}.otp.failure.count"),
                FieldErrorKind::OutOfRange,
                "failure.count must be from 1 to 7.",
            ));
        }
        if !(6..=10).contains(&self.otp_length) {
            errors.push(FieldError::new(
                format!("{prefix}.otp.otpLength"),
                FieldErrorKind::OutOfRange,
                "otpLength must be from 6 to 10.",
            ));
        }
        if errors.is_empty() { Ok(self) } else { Err(errors) }
    }
}

/// What a policy or the MFA settings say that credd keeps and answers but does not act
/// on (mobile apps, FIDO2, "remember me", lockout, …): a JSON object that the API layer
/// validated and wrote, stored and answered as it is. Empty (`{}`) means every default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptSettings(String);

impl KeptSettings {
    pub fn new(json: String) -> Self {
        Self(json)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for KeptSettings {
    fn default() -> Self {
        Self("{}".into())
    }
}

/// A policy as a client describes it: all of it but its id, environment and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePolicyFields {
    pub name: String,
    pub default: bool,
    pub sms: MethodPolicy,
    pub voice: MethodPolicy,
    pub email: MethodPolicy,
    pub whatsapp: MethodPolicy,
    pub totp: MethodPolicy,
    pub kept: KeptSettings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePolicy {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub name: String,
    /// The environment's default policy; exactly one is.
    pub default: bool,
    pub sms: MethodPolicy,
    pub voice: MethodPolicy,
    pub email: MethodPolicy,
    pub whatsapp: MethodPolicy,
    pub totp: MethodPolicy,
    pub kept: KeptSettings,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl DevicePolicy {
    pub fn method(&self, kind: DeviceType) -> &MethodPolicy {
        match kind {
            DeviceType::Sms => &self.sms,
            DeviceType::Voice => &self.voice,
            DeviceType::Email => &self.email,
            DeviceType::WhatsApp => &self.whatsapp,
            DeviceType::Totp => &self.totp,
        }
    }

    /// A policy created at `now`.
    pub fn new(id: Uuid, environment_id: Uuid, fields: DevicePolicyFields, now: Timestamp) -> Self {
        let DevicePolicyFields { name, default, sms, voice, email, whatsapp, totp, kept } = fields;
        Self {
            id,
            environment_id,
            name,
            default,
            sms,
            voice,
            email,
            whatsapp,
            totp,
            kept,
            created_at: now,
            updated_at: now,
        }
    }

    /// The default policy every environment starts with.
    pub fn initial(environment_id: Uuid, id: Uuid, now: Timestamp) -> Self {
        let rules = MethodPolicy::default();
        let fields = DevicePolicyFields {
            name: "Default MFA Policy".into(),
            default: true,
            sms: rules,
            voice: rules,
            email: rules,
            whatsapp: rules,
            totp: rules,
            kept: KeptSettings::default(),
        };
        Self::new(id, environment_id, fields, now)
    }
}

pub fn policy_name(value: &str) -> Result<String, FieldError> {
    bounded_text("name", value, 256)
}

/// `pairing.maxAllowedDevices`: 1 to 15, default 5.
pub const DEFAULT_MAX_DEVICES: i64 = 5;

pub fn max_allowed_devices(value: i64) -> Result<i64, FieldError> {
    if (1..=15).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(
            "pairing.maxAllowedDevices",
            FieldErrorKind::OutOfRange,
            "pairing.maxAllowedDevices must be from 1 to 15.",
        ))
    }
}

pub fn nickname(value: &str) -> Result<String, FieldError> {
    bounded_text("nickname", value, 100)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub user_id: Uuid,
    pub kind: DeviceType,
    pub status: DeviceStatus,
    /// SMS, voice and WhatsApp: the canonical phone number.
    pub phone: Option<String>,
    /// Email devices.
    pub email: Option<String>,
    pub nickname: Option<String>,
    pub policy_id: Uuid,
    /// TOTP: the shared secret, sealed with the master key.
    pub sealed_secret: Option<Vec<u8>>,
    /// The pending activation code, as a keyed hash.
    pub otp_hash: Option<Vec<u8>>,
    pub otp_expires_at: Option<Timestamp>,
    /// Guesses counted against the pending code (TOTP: since the last lock). Changed
    /// only by the store's conditional statements, never written back as read.
    pub failed_attempts: i64,
    pub locked_until: Option<Timestamp>,
    /// The device's place in the user's list; reordering rewrites it.
    pub position: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Device {
    /// Where the device's codes go (its phone number or address).
    pub fn target(&self) -> Option<&str> {
        self.phone.as_deref().or(self.email.as_deref())
    }

    pub fn locked(&self, now: Timestamp) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// A guess the store let through, counted: what to judge it against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpAttempt {
    /// The pending code's keyed hash (`None` for a TOTP device).
    pub otp_hash: Option<Vec<u8>>,
    /// TOTP: the sealed shared secret.
    pub sealed_secret: Option<Vec<u8>>,
    /// Guesses counted against the code, this one included.
    pub attempts: i64,
}

impl OtpAttempt {
    /// The guesses left after this one, if it is wrong.
    pub fn left(&self, rules: &MethodPolicy) -> i64 {
        (rules.failure_count - self.attempts).max(0)
    }
}

/// What the devices list may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceFilter {
    pub status: Option<DeviceStatus>,
    pub kind: Option<DeviceType>,
}

/// A numeric one-time passcode of `length` digits from random bytes.
pub fn numeric_otp(random: &[u8], length: usize) -> String {
    random.iter().take(length).map(|b| char::from(b'0' + b % 10)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_spellings_are_one_number() {
        for spelling in ["+1.5125551234", "+15125551234", "+1.512.555.1234", "+1 (512) 555-1234"] {
            assert_eq!(PhoneNumber::parse("phone", spelling).unwrap().as_str(), "+1.5125551234", "{spelling}");
        }
        assert_eq!(PhoneNumber::parse("phone", "+44 20 7946 0958").unwrap().as_str(), "+44.2079460958");
    }

    #[test]
    fn numbers_need_a_plus_and_must_be_valid() {
        assert!(PhoneNumber::parse("phone", "5125551234").unwrap_err().message.contains("+"));
        assert!(PhoneNumber::parse("phone", "+1 555").is_err());
        assert!(PhoneNumber::parse("phone", "+1 (000) 000-0000").is_err());
        assert!(PhoneNumber::parse("phone", "+not a number").is_err());
    }

    #[test]
    fn policy_ranges() {
        assert!(MethodPolicy::default().checked("sms").is_ok());
        let bad = MethodPolicy {
            otp_lifetime: Span { duration: 31, unit: TimeUnit::Minutes },
            failure_count: 8,
            otp_length: 5,
            ..MethodPolicy::default()
        };
        let huge = MethodPolicy {
            otp_lifetime: Span { duration: i64::MAX, unit: TimeUnit::Minutes },
            ..MethodPolicy::default()
        };
        assert_eq!(huge.checked("sms").unwrap_err()[0].target, "sms.otp.lifeTime.duration");
        let errors = bad.checked("whatsApp").unwrap_err();
        let targets: Vec<&str> = errors.iter().map(|e| e.target.as_str()).collect();
        assert_eq!(targets, ["whatsApp.otp.lifeTime.duration", "whatsApp.otp.failure.count", "whatsApp.otp.otpLength"]);
    }

    #[test]
    fn codes_are_digits_of_the_random_bytes() {
        assert_eq!(numeric_otp(&[0, 11, 255, 9, 3, 4, 99], 6), "015934");
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaSettings {
    pub environment_id: Uuid,
    pub max_allowed_devices: i64,
    /// Lockout, phone extensions, pairing key format, new users' MFA: kept, not enforced.
    pub kept: KeptSettings,
    pub updated_at: Timestamp,
}

/// MFA settings as a client describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaSettingsFields {
    pub max_allowed_devices: i64,
    pub kept: KeptSettings,
}

impl MfaSettings {
    pub fn new(environment_id: Uuid, fields: MfaSettingsFields, at: Timestamp) -> Self {
        let MfaSettingsFields { max_allowed_devices, kept } = fields;
        Self { environment_id, max_allowed_devices, kept, updated_at: at }
    }

    /// PingOne's defaults, which an environment has until they are changed and again
    /// after a reset.
    pub fn defaults(environment_id: Uuid, at: Timestamp) -> Self {
        let fields = MfaSettingsFields { max_allowed_devices: DEFAULT_MAX_DEVICES, kept: KeptSettings::default() };
        Self::new(environment_id, fields, at)
    }
}

/// How an attempt to add a device ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSlot {
    /// Added, at this place in the user's list.
    Created { position: i64 },
    /// The user already has the maximum number of devices.
    LimitReached,
}

/// The user's devices in their new order: `order` first, then the rest as they were.
/// `NotFound` when `order` names a device that is not in `current` (or names one twice).
pub fn reordered(current: &[Uuid], order: &[Uuid]) -> Result<Vec<Uuid>, crate::StoreError> {
    let mut seen = std::collections::HashSet::new();
    if order.iter().any(|id| !current.contains(id) || !seen.insert(*id)) {
        return Err(crate::StoreError::NotFound);
    }
    Ok(order.iter().copied().chain(current.iter().copied().filter(|id| !order.contains(id))).collect())
}
