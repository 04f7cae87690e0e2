//! Records as a store reads them: enum names still text, ids in whatever form the
//! database returns (`Uuid` on Postgres, hyphenated text on SQLite). Each store reads
//! into these with compile-time checked queries, and the conversions below, shared by
//! both stores, turn them into domain types.

use uuid::Uuid;

use crate::application::{Application, TokenEndpointAuthMethod};
use crate::credential::{
    CredentialField, CredentialMetadata, CredentialStatus, CredentialType, FieldType, IssuerProfile, ManagementMode,
    ProvisionStatus, ProvisionedCredential, UserCredential,
};
use crate::environment::{Environment, EnvironmentType, Region};
use crate::job::{Job, JobStatus};
use crate::mfa::{Device, DevicePolicy, DeviceStatus, DeviceType, MethodPolicy, MfaSettings, Span, TimeUnit};
use crate::notification::{DeliveryMethod, Notification, NotificationStatus, TemplateContent, TemplateName};
use crate::signing_key::SigningKey;
use crate::store::{StoreError, StoreResult};
use crate::time::Timestamp;
use crate::user::User;
use crate::wallet::{DigitalWallet, PairingAttempt, PairingSession, PairingStatus, WalletApplication, WalletStatus};

pub struct EnvironmentRecord<Id> {
    pub id: Id,
    pub name: String,
    pub description: Option<String>,
    pub kind: String,
    pub region: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<EnvironmentRecord<Id>> for Environment {
    type Error = StoreError;

    fn try_from(row: EnvironmentRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            name: row.name,
            description: row.description,
            kind: StoreError::parse_stored("environment type", &row.kind, EnvironmentType::parse)?,
            region: StoreError::parse_stored("region", &row.region, Region::parse)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub struct SigningKeyRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub public_key: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    pub created_at: Timestamp,
}

impl<Id: Into<Uuid>> From<SigningKeyRecord<Id>> for SigningKey {
    fn from(row: SigningKeyRecord<Id>) -> Self {
        Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            public_key: row.public_key,
            sealed_private_key: row.sealed_private_key,
            created_at: row.created_at,
        }
    }
}

pub struct ApplicationRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub token_endpoint_auth_method: String,
    pub secret_hash: Vec<u8>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<ApplicationRecord<Id>> for Application {
    type Error = StoreError;

    fn try_from(row: ApplicationRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            name: row.name,
            description: row.description,
            enabled: row.enabled,
            token_endpoint_auth_method: StoreError::parse_stored(
                "token endpoint auth method",
                &row.token_endpoint_auth_method,
                TokenEndpointAuthMethod::parse,
            )?,
            secret_hash: row.secret_hash,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub struct UserRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub username: String,
    pub email: Option<String>,
    pub mobile_phone: Option<String>,
    pub primary_phone: Option<String>,
    pub locale: Option<String>,
    pub preferred_language: Option<String>,
    pub name_given: Option<String>,
    pub name_family: Option<String>,
    pub name_formatted: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> From<UserRecord<Id>> for User {
    fn from(row: UserRecord<Id>) -> Self {
        Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            username: row.username,
            email: row.email,
            mobile_phone: row.mobile_phone,
            primary_phone: row.primary_phone,
            locale: row.locale,
            preferred_language: row.preferred_language,
            name_given: row.name_given,
            name_family: row.name_family,
            name_formatted: row.name_formatted,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub struct JobRecord<Id> {
    pub id: Id,
    pub kind: String,
    pub payload: Vec<u8>,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: Timestamp,
    pub locked_until: Option<Timestamp>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<JobRecord<Id>> for Job {
    type Error = StoreError;

    fn try_from(row: JobRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            kind: row.kind,
            payload: row.payload,
            status: StoreError::parse_stored("job status", &row.status, JobStatus::parse)?,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            run_at: row.run_at,
            locked_until: row.locked_until,
            last_error: row.last_error,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub struct WalletApplicationRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub application_id: Id,
    pub name: String,
    pub app_open_url: String,
    pub uses_pingone_wallet_sdk: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> From<WalletApplicationRecord<Id>> for WalletApplication {
    fn from(row: WalletApplicationRecord<Id>) -> Self {
        Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            application_id: row.application_id.into(),
            name: row.name,
            app_open_url: row.app_open_url,
            uses_pingone_wallet_sdk: row.uses_pingone_wallet_sdk,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub struct DigitalWalletRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub user_id: Id,
    pub wallet_application_id: Id,
    pub application_instance_id: Option<String>,
    pub status: String,
    pub public_key: Option<String>,
    pub device_data: Option<String>,
    pub token_hash: Option<Vec<u8>>,
    pub notification: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<DigitalWalletRecord<Id>> for DigitalWallet {
    type Error = StoreError;

    fn try_from(row: DigitalWalletRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            user_id: row.user_id.into(),
            wallet_application_id: row.wallet_application_id.into(),
            application_instance_id: row.application_instance_id,
            status: StoreError::parse_stored("wallet status", &row.status, WalletStatus::parse)?,
            public_key: row.public_key,
            device_data: row.device_data,
            token_hash: row.token_hash,
            notification: row.notification,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// One row of a wallet read with its pairing attempts in one query: the wallet joined
/// (LEFT JOIN) with one attempt, or with none when it has none.
pub struct WalletAttemptRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub user_id: Id,
    pub wallet_application_id: Id,
    pub application_instance_id: Option<String>,
    pub status: String,
    pub public_key: Option<String>,
    pub device_data: Option<String>,
    pub token_hash: Option<Vec<u8>>,
    pub notification: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub attempt_id: Option<Id>,
    pub attempt_session_id: Option<Id>,
    pub attempt_success: Option<bool>,
    pub attempted_at: Option<Timestamp>,
}

/// The wallet of the joined rows (all carry it) and its attempts in row order; no row:
/// no such wallet.
pub fn wallet_with_attempts<Id: Into<Uuid> + Copy>(
    rows: Vec<WalletAttemptRecord<Id>>,
) -> StoreResult<(DigitalWallet, Vec<PairingAttempt>)> {
    let attempts = rows
        .iter()
        .filter_map(|r| {
            Some(PairingAttempt {
                id: r.attempt_id?.into(),
                session_id: r.attempt_session_id?.into(),
                wallet_id: r.id.into(),
                success: r.attempt_success?,
                attempted_at: r.attempted_at?,
            })
        })
        .collect();
    let r = rows.into_iter().next().ok_or(StoreError::NotFound)?;
    let wallet = DigitalWalletRecord {
        id: r.id,
        environment_id: r.environment_id,
        user_id: r.user_id,
        wallet_application_id: r.wallet_application_id,
        application_instance_id: r.application_instance_id,
        status: r.status,
        public_key: r.public_key,
        device_data: r.device_data,
        token_hash: r.token_hash,
        notification: r.notification,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
    .try_into()?;
    Ok((wallet, attempts))
}

pub struct PairingSessionRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub user_id: Id,
    pub wallet_id: Id,
    pub link_hash: String,
    pub challenge: String,
    pub status: String,
    pub failed_attempts: i64,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<PairingSessionRecord<Id>> for PairingSession {
    type Error = StoreError;

    fn try_from(row: PairingSessionRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            user_id: row.user_id.into(),
            wallet_id: row.wallet_id.into(),
            link_hash: row.link_hash,
            challenge: row.challenge,
            status: StoreError::parse_stored("pairing status", &row.status, PairingStatus::parse)?,
            failed_attempts: row.failed_attempts,
            expires_at: row.expires_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub struct TemplateContentRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub template: String,
    pub delivery_method: String,
    pub locale: String,
    pub variant: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<TemplateContentRecord<Id>> for TemplateContent {
    type Error = StoreError;

    fn try_from(row: TemplateContentRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            template: StoreError::parse_stored("template", &row.template, TemplateName::parse)?,
            delivery_method: StoreError::parse_stored("delivery method", &row.delivery_method, DeliveryMethod::parse)?,
            locale: row.locale,
            variant: row.variant,
            subject: row.subject,
            body: row.body,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub struct NotificationRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub user_id: Option<Id>,
    pub template: String,
    pub delivery_method: String,
    pub recipient: String,
    pub locale: String,
    pub variant: Option<String>,
    pub sealed_message: Vec<u8>,
    pub status: String,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

impl<Id: Into<Uuid>> TryFrom<NotificationRecord<Id>> for Notification {
    type Error = StoreError;

    fn try_from(row: NotificationRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            user_id: row.user_id.map(Into::into),
            template: StoreError::parse_stored("template", &row.template, TemplateName::parse)?,
            delivery_method: StoreError::parse_stored("delivery method", &row.delivery_method, DeliveryMethod::parse)?,
            recipient: row.recipient,
            locale: row.locale,
            variant: row.variant,
            sealed_message: row.sealed_message,
            status: StoreError::parse_stored("notification status", &row.status, NotificationStatus::parse)?,
            error: row.error,
            created_at: row.created_at,
            sent_at: row.sent_at,
        })
    }
}

pub struct DevicePolicyRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub name: String,
    pub is_default: bool,
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
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> From<MfaSettingsRecord<Id>> for MfaSettings {
    fn from(row: MfaSettingsRecord<Id>) -> Self {
        Self {
            environment_id: row.environment_id.into(),
            max_allowed_devices: row.max_allowed_devices,
            updated_at: row.updated_at,
        }
    }
}

pub struct IssuerProfileRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub name: String,
    pub site_url: Option<String>,
    pub public_key: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> From<IssuerProfileRecord<Id>> for IssuerProfile {
    fn from(row: IssuerProfileRecord<Id>) -> Self {
        Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            name: row.name,
            site_url: row.site_url,
            public_key: row.public_key,
            sealed_private_key: row.sealed_private_key,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub struct CredentialTypeRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub title: String,
    pub description: Option<String>,
    pub card_type: String,
    pub issuer_name: Option<String>,
    pub management_mode: String,
    pub metadata_name: Option<String>,
    pub metadata_description: Option<String>,
    pub background_image: Option<String>,
    pub logo_image: Option<String>,
    pub card_color: Option<String>,
    pub text_color: Option<String>,
    pub bg_opacity_percent: Option<i64>,
    pub columns: Option<i64>,
    pub revoke_on_delete: bool,
    pub version: i64,
    pub deleted_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One field of a credential type, a row each, in `position` order.
pub struct CredentialFieldRecord<Id> {
    pub type_id: Id,
    pub position: i64,
    pub field_id: String,
    pub kind: String,
    pub title: String,
    pub value: Option<String>,
    pub attribute: Option<String>,
    pub required: bool,
}

/// A credential type from its record and its field rows (in position order).
pub fn assemble_credential_type<Id: Into<Uuid>>(
    row: CredentialTypeRecord<Id>,
    fields: Vec<CredentialFieldRecord<Id>>,
) -> StoreResult<CredentialType> {
    let fields = fields
        .into_iter()
        .map(|f| {
            Ok(CredentialField {
                id: f.field_id,
                kind: StoreError::parse_stored("field type", &f.kind, FieldType::parse)?,
                title: f.title,
                value: f.value,
                attribute: f.attribute,
                required: f.required,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(CredentialType {
        id: row.id.into(),
        environment_id: row.environment_id.into(),
        title: row.title,
        description: row.description,
        card_type: row.card_type,
        issuer_name: row.issuer_name,
        mode: StoreError::parse_stored("management mode", &row.management_mode, ManagementMode::parse)?,
        metadata: CredentialMetadata {
            name: row.metadata_name,
            description: row.metadata_description,
            background_image: row.background_image,
            logo_image: row.logo_image,
            card_color: row.card_color,
            text_color: row.text_color,
            bg_opacity_percent: row.bg_opacity_percent,
            columns: row.columns,
            fields,
        },
        revoke_on_delete: row.revoke_on_delete,
        version: row.version,
        deleted_at: row.deleted_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub struct UserCredentialRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub user_id: Id,
    pub credential_type_id: Id,
    pub type_version: i64,
    pub title: String,
    pub status: String,
    pub expires_at: Option<Timestamp>,
    pub notification: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<UserCredentialRecord<Id>> for UserCredential {
    type Error = StoreError;

    fn try_from(row: UserCredentialRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            user_id: row.user_id.into(),
            credential_type_id: row.credential_type_id.into(),
            type_version: row.type_version,
            title: row.title,
            status: StoreError::parse_stored("credential status", &row.status, CredentialStatus::parse)?,
            expires_at: row.expires_at,
            notification: row.notification,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub struct ProvisionedCredentialRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub user_id: Id,
    pub credential_id: Id,
    pub wallet_id: Id,
    pub status: String,
    pub sealed_payload: Option<Vec<u8>>,
    pub delivered_at: Option<Timestamp>,
    pub delivery_error: Option<String>,
    pub delivery_job_id: Option<Id>,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<ProvisionedCredentialRecord<Id>> for ProvisionedCredential {
    type Error = StoreError;

    fn try_from(row: ProvisionedCredentialRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            user_id: row.user_id.into(),
            credential_id: row.credential_id.into(),
            wallet_id: row.wallet_id.into(),
            status: StoreError::parse_stored("provisioned status", &row.status, ProvisionStatus::parse)?,
            sealed_payload: row.sealed_payload,
            delivered_at: row.delivered_at,
            delivery_error: row.delivery_error,
            delivery_job_id: row.delivery_job_id.map(Into::into),
            expires_at: row.expires_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}
