//! Device policies, MFA settings and devices.

use uuid::Uuid;

use crate::mfa::{
    Device, DevicePolicy, DeviceStatus, DeviceType, KeptSettings, MethodPolicy, MfaSettings, Span, TimeUnit,
};
use crate::store::{StoreError, StoreResult};
use crate::time::Timestamp;

pub struct DevicePolicyRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub name: String,
    pub is_default: bool,
    pub kept_settings: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One method's rules of a policy, a row each.
pub struct MethodPolicyRecord<Id> {
    pub policy_id: Id,
    pub method: String,
    pub enabled: bool,
    pub pairing_disabled: bool,
    pub otp_lifetime: i64,
    pub otp_lifetime_unit: String,
    pub failure_count: i64,
    pub cool_down: i64,
    pub cool_down_unit: String,
    pub otp_length: i64,
}

/// The method rows a policy is stored as, in `DeviceType::ALL` order.
pub fn policy_methods(policy: &DevicePolicy) -> Vec<(DeviceType, &MethodPolicy)> {
    DeviceType::ALL.iter().map(|kind| (*kind, policy.method(*kind))).collect()
}

/// A policy from its record and its method rows (any order; all five needed).
pub fn assemble_policy<Id: Into<Uuid>>(
    record: DevicePolicyRecord<Id>,
    methods: Vec<MethodPolicyRecord<Id>>,
) -> StoreResult<DevicePolicy> {
    let mut parsed = Vec::new();
    for row in methods {
        let unit = |text: &str| StoreError::parse_stored("time unit", text, TimeUnit::parse);
        let method = MethodPolicy {
            enabled: row.enabled,
            pairing_disabled: row.pairing_disabled,
            otp_lifetime: Span { duration: row.otp_lifetime, unit: unit(&row.otp_lifetime_unit)? },
            failure_count: row.failure_count,
            cool_down: Span { duration: row.cool_down, unit: unit(&row.cool_down_unit)? },
            otp_length: row.otp_length,
        };
        parsed.push((StoreError::parse_stored("device type", &row.method, DeviceType::parse)?, method));
    }
    let method = |kind: DeviceType| {
        parsed
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, m)| *m)
            .ok_or_else(|| StoreError::corrupt(format!("policy without {} rules", kind.as_str())))
    };
    Ok(DevicePolicy {
        id: record.id.into(),
        environment_id: record.environment_id.into(),
        name: record.name,
        default: record.is_default,
        sms: method(DeviceType::Sms)?,
        voice: method(DeviceType::Voice)?,
        email: method(DeviceType::Email)?,
        whatsapp: method(DeviceType::WhatsApp)?,
        totp: method(DeviceType::Totp)?,
        kept: KeptSettings::new(record.kept_settings),
        created_at: record.created_at,
        updated_at: record.updated_at,
    })
}

pub struct DeviceRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub user_id: Id,
    pub kind: String,
    pub status: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub nickname: Option<String>,
    pub policy_id: Id,
    pub sealed_secret: Option<Vec<u8>>,
    pub otp_hash: Option<Vec<u8>>,
    pub otp_expires_at: Option<Timestamp>,
    pub failed_attempts: i64,
    pub locked_until: Option<Timestamp>,
    pub position: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<DeviceRecord<Id>> for Device {
    type Error = StoreError;

    fn try_from(row: DeviceRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            user_id: row.user_id.into(),
            kind: StoreError::parse_stored("device type", &row.kind, DeviceType::parse)?,
            status: StoreError::parse_stored("device status", &row.status, DeviceStatus::parse)?,
            phone: row.phone,
            email: row.email,
            nickname: row.nickname,
            policy_id: row.policy_id.into(),
            sealed_secret: row.sealed_secret,
            otp_hash: row.otp_hash,
            otp_expires_at: row.otp_expires_at,
            failed_attempts: row.failed_attempts,
            locked_until: row.locked_until,
            position: row.position,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub struct MfaSettingsRecord<Id> {
    pub environment_id: Id,
    pub max_allowed_devices: i64,
    pub kept_settings: String,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> From<MfaSettingsRecord<Id>> for MfaSettings {
    fn from(row: MfaSettingsRecord<Id>) -> Self {
        Self {
            environment_id: row.environment_id.into(),
            max_allowed_devices: row.max_allowed_devices,
            kept: KeptSettings::new(row.kept_settings),
            updated_at: row.updated_at,
        }
    }
}
