//! MFA: device authentication policies, MFA settings, and users' devices, which are
//! active at once or wait for a one-time passcode sent through `device_pairing`.

use domain::filter::{Filter, Literal, page_matching};
use std::collections::BTreeMap;

use domain::mfa::{
    Device, DeviceFilter, DevicePolicy, DevicePolicyFields, DeviceSlot, DeviceStatus, DeviceType, MfaSettings,
    MfaSettingsFields, numeric_otp,
};
use domain::notification::{DeliveryMethod, TemplateName};
use domain::page::{CountedPage, PageRequest};
use domain::store::{MfaStore, Outbox, UserStore};
use domain::time::{Timestamp, new_id, now};
use domain::user::User;
use domain::validation::{FieldError, FieldErrorKind};
use totp_rs::{Algorithm, Builder, Totp};
use uuid::Uuid;

use super::Credd;
use super::notifications::NotificationRequest;
use crate::auth::Principal;
use crate::crypto::random_bytes;
use crate::error::{Error, Result};

/// Purpose of the keyed hash of activation codes.
pub const OTP: &str = "otp";

/// A device as a request asks for it, its fields already parsed.
pub struct NewDevice {
    pub kind: DeviceType,
    /// The canonical phone number (SMS, voice, WhatsApp) or the address (email).
    pub target: Option<String>,
    pub policy_id: Uuid,
    pub status: Option<DeviceStatus>,
    pub nickname: Option<String>,
    pub notification: Option<NotificationRequest>,
}

/// A created device and, for TOTP, what the authenticator app needs (shown once).
pub struct CreatedDevice {
    pub device: Device,
    pub totp: Option<TotpEnrollment>,
}

pub struct TotpEnrollment {
    pub secret: String,
    pub key_uri: String,
}

/// A policy name another policy of the environment has: PingOne's uniqueness violation.
fn name_taken() -> impl FnOnce(domain::StoreError) -> Error {
    Error::conflict_on("name", "Another device authentication policy of the environment has this name.")
}

fn otp_error(message: impl Into<String>) -> Error {
    Error::invalid(FieldError::new("otp", FieldErrorKind::InvalidOtp, message))
}

/// Why the store judged no guess for `device`, as it was read at `at`.
fn refused_guess(device: &Device, at: Timestamp) -> Error {
    if device.status == DeviceStatus::Active {
        return Error::bad_request("status", "The device is already active.");
    }
    if let Some(until) = device.locked_until.filter(|_| device.locked(at)) {
        return Error::bad_request(
            "otp",
            format!("Too many wrong codes: the device is locked until {}.", until.to_rfc3339()),
        );
    }
    match device.otp_expires_at {
        Some(expires_at) if device.otp_hash.is_some() && expires_at <= at => {
            otp_error("The one-time passcode has expired; request a new one.")
        }
        _ => otp_error("No activation code is pending; request a new one."),
    }
}

/// The TOTP of a secret: SHA-1, 6 digits, 30-second steps, one step of skew.
fn totp(secret: Vec<u8>, user: &User) -> Result<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_issuer(Some("credd"))
        .with_account_name(user.username.replace(':', "_"))
        .build()
        .map_err(|e| Error::Internal(e.to_string().into()))
}

impl Credd {
    // Policies and settings ------------------------------------------------------------

    pub async fn create_device_policy(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        fields: DevicePolicyFields,
    ) -> Result<DevicePolicy> {
        principal.require_manage(environment_id)?;
        let policy = DevicePolicy::new(new_id(), environment_id, fields, now());
        self.store.create_device_policy(&policy).await.map_err(name_taken())?;
        Ok(policy)
    }

    pub async fn device_policies(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        filter: Option<&Filter>,
    ) -> Result<Vec<DevicePolicy>> {
        self.existing_environment(principal, environment_id).await?;
        let mut policies = self.store.device_policies(environment_id).await?;
        policies.retain(|p| filter.is_none_or(|f| f.matches(p)));
        Ok(policies)
    }

    pub async fn device_policy(&self, principal: &Principal, environment_id: Uuid, id: Uuid) -> Result<DevicePolicy> {
        principal.require_manage(environment_id)?;
        Ok(self.store.device_policy(environment_id, id).await?)
    }

    /// Full replace. The default policy stays default until another one is made default.
    pub async fn replace_device_policy(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        id: Uuid,
        fields: DevicePolicyFields,
    ) -> Result<DevicePolicy> {
        principal.require_manage(environment_id)?;
        let existing = self.store.device_policy(environment_id, id).await?;
        if existing.default && !fields.default {
            return Err(Error::invalid(FieldError::invalid("default", "Make another policy the default instead.")));
        }
        let policy =
            DevicePolicy { created_at: existing.created_at, ..DevicePolicy::new(id, environment_id, fields, now()) };
        self.store.update_device_policy(&policy).await.map_err(name_taken())?;
        Ok(policy)
    }

    pub async fn delete_device_policy(&self, principal: &Principal, environment_id: Uuid, id: Uuid) -> Result<()> {
        principal.require_manage(environment_id)?;
        if self.store.device_policy(environment_id, id).await?.default {
            return Err(Error::bad_request("id", "The default policy cannot be deleted."));
        }
        match self.store.delete_device_policy(environment_id, id).await {
            Err(domain::StoreError::Conflict) => {
                Err(Error::bad_request("id", "Devices use this policy; delete them or move them first."))
            }
            other => Ok(other?),
        }
    }

    /// The environment's settings, PingOne's defaults until changed.
    pub async fn mfa_settings(&self, principal: &Principal, environment_id: Uuid) -> Result<MfaSettings> {
        self.existing_environment(principal, environment_id).await?;
        self.current_mfa_settings(environment_id).await
    }

    pub(super) async fn current_mfa_settings(&self, environment_id: Uuid) -> Result<MfaSettings> {
        Ok(self.store.mfa_settings(environment_id).await?.unwrap_or(MfaSettings::defaults(environment_id, now())))
    }

    pub async fn put_mfa_settings(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        fields: MfaSettingsFields,
    ) -> Result<MfaSettings> {
        self.existing_environment(principal, environment_id).await?;
        let settings = MfaSettings::new(environment_id, fields, now());
        self.store.put_mfa_settings(&settings).await?;
        Ok(settings)
    }

    /// PingOne's "Reset MFA Settings": every setting back to its default.
    pub async fn reset_mfa_settings(&self, principal: &Principal, environment_id: Uuid) -> Result<()> {
        self.existing_environment(principal, environment_id).await?;
        Ok(self.store.put_mfa_settings(&MfaSettings::defaults(environment_id, now())).await?)
    }

    // Devices -----------------------------------------------------------------------------

    pub async fn create_device(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        new: NewDevice,
    ) -> Result<CreatedDevice> {
        let self_service = principal.is_user(environment_id, user_id);
        principal.require_self_or_manage(environment_id, user_id, "p1:create:device")?;
        let status = match (self_service, new.status) {
            (true, Some(DeviceStatus::Active)) => {
                return Err(Error::invalid(FieldError::invalid(
                    "status",
                    "A user adding their own device gets ACTIVATION_REQUIRED.",
                )));
            }
            (true, _) => DeviceStatus::ActivationRequired,
            (false, requested) => requested.unwrap_or(DeviceStatus::Active),
        };
        let user = self.store.user(environment_id, user_id).await?;
        let policy = match self.store.device_policy(environment_id, new.policy_id).await {
            Ok(policy) => policy,
            Err(domain::StoreError::NotFound) => {
                return Err(Error::invalid(FieldError::invalid(
                    "policy.id",
                    "No device authentication policy with this id exists in the environment.",
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let method = policy.method(new.kind);
        if !method.enabled || method.pairing_disabled {
            let message = format!("The policy does not allow pairing {} devices.", new.kind.as_str());
            return Err(Error::invalid(FieldError::invalid("type", message)));
        }

        let at = now();
        let mut device = Device {
            id: new_id(),
            environment_id,
            user_id,
            kind: new.kind,
            status,
            phone: new.target.clone().filter(|_| !matches!(new.kind, DeviceType::Email | DeviceType::Totp)),
            email: new.target.clone().filter(|_| new.kind == DeviceType::Email),
            nickname: new.nickname,
            policy_id: policy.id,
            sealed_secret: None,
            otp_hash: None,
            otp_expires_at: None,
            failed_attempts: 0,
            locked_until: None,
            position: 0,
            created_at: at,
            updated_at: at,
        };
        let mut outbox = Outbox::default();
        let enrollment = if new.kind == DeviceType::Totp {
            let secret = random_bytes::<20>().to_vec();
            device.sealed_secret = Some(self.master_key.seal(&secret, device.id.as_bytes()));
            let totp = totp(secret, &user)?;
            let key_uri = totp.to_url().map_err(|e| Error::Internal(e.to_string().into()))?;
            Some(TotpEnrollment { secret: totp.secret().to_base32(), key_uri })
        } else {
            if status == DeviceStatus::ActivationRequired {
                self.issue_activation_code(
                    &user,
                    &mut device,
                    &policy,
                    new.notification.unwrap_or_default(),
                    &mut outbox,
                )
                .await?;
            }
            None
        };
        let max = self.current_mfa_settings(environment_id).await?.max_allowed_devices;
        match self.store.create_device(&device, max, &outbox).await {
            Ok(DeviceSlot::Created { position }) => device.position = position,
            Ok(DeviceSlot::LimitReached) => {
                let message = format!("The user already has the maximum of {max} devices (pairing.maxAllowedDevices).");
                return Err(Error::invalid(FieldError::new("type", FieldErrorKind::LimitExceeded, message)));
            }
            Err(domain::StoreError::Conflict) => {
                let target = if new.kind == DeviceType::Email { "email" } else { "phone" };
                let message = format!("The user already has a {} device for this {target}.", new.kind.as_str());
                return Err(Error::Conflict(FieldError::new(target, FieldErrorKind::NotUnique, message)));
            }
            Err(e) => return Err(e.into()),
        }
        self.wake_worker.notify_one();
        Ok(CreatedDevice { device, totp: enrollment })
    }

    /// A fresh code for the device, kept as a keyed hash, sent through `device_pairing`
    /// to the device's own target.
    async fn issue_activation_code(
        &self,
        user: &User,
        device: &mut Device,
        policy: &DevicePolicy,
        request: NotificationRequest,
        outbox: &mut Outbox,
    ) -> Result<()> {
        let rules = policy.method(device.kind);
        let code = numeric_otp(&random_bytes::<16>(), rules.otp_length as usize);
        device.otp_hash = Some(self.master_key.hash_secret(OTP, &code));
        device.otp_expires_at = Some(now() + rules.otp_lifetime.delta());
        device.failed_attempts = 0;
        let method = match device.kind {
            DeviceType::Sms => DeliveryMethod::Sms,
            DeviceType::Voice => DeliveryMethod::Voice,
            DeviceType::WhatsApp => DeliveryMethod::WhatsApp,
            DeviceType::Email | DeviceType::Totp => DeliveryMethod::Email,
        };
        let target = device.target().ok_or_else(|| Error::Internal("a device without a target".into()))?.to_owned();
        let variables = BTreeMap::from([("otp".to_owned(), code)]);
        self.queue_message(
            device.environment_id,
            Some(user),
            TemplateName::DevicePairing,
            method,
            &target,
            &request,
            &variables,
            outbox,
        )
        .await?;
        Ok(())
    }

    /// Activates the device with a valid code: the pending one-time passcode, or a
    /// current TOTP code. The store counts each guess before it is judged, so guesses
    /// sent at once, to any instance, get no more than the policy's count judged.
    pub async fn activate_device(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        code: &str,
    ) -> Result<Device> {
        principal.require_self_with_any_or_manage(
            environment_id,
            user_id,
            &["p1:create:device", "p1:update:device"],
        )?;
        let device = self.store.device(environment_id, user_id, id).await?;
        let policy = self.store.device_policy(environment_id, device.policy_id).await?;
        let rules = policy.method(device.kind);
        let at = now();
        let Some(attempt) = self.store.claim_otp_attempt(environment_id, user_id, id, rules, at).await? else {
            // Why no guess may be judged, from the device as it now is.
            let device = self.store.device(environment_id, user_id, id).await?;
            return Err(refused_guess(&device, at));
        };
        let valid = match &attempt.sealed_secret {
            Some(sealed) => {
                let secret = self.master_key.open(sealed, id.as_bytes()).map_err(Error::internal)?;
                let user = self.store.user(environment_id, user_id).await?;
                totp(secret, &user)?.check_current(code).is_some()
            }
            None => attempt.otp_hash.as_ref().is_some_and(|hash| self.master_key.verify_secret(OTP, code, hash)),
        };
        if !valid {
            let left = attempt.left(rules);
            return Err(otp_error(format!("The one-time passcode is not valid. {left} attempt(s) left.")));
        }
        self.store
            .activate_device(environment_id, user_id, id, attempt.otp_hash.as_deref(), at)
            .await?
            .ok_or_else(|| otp_error("The one-time passcode was replaced by a new one; use the new code."))
    }

    /// Sends a new activation code (after an expired or voided one).
    pub async fn resend_activation_code(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
    ) -> Result<Device> {
        principal.require_self_with_any_or_manage(
            environment_id,
            user_id,
            &["p1:create:device", "p1:update:device"],
        )?;
        let mut device = self.store.device(environment_id, user_id, id).await?;
        if device.status == DeviceStatus::Active || device.kind == DeviceType::Totp {
            return Err(Error::bad_request("status", "Only a device waiting for activation gets a code."));
        }
        let locked = || Error::bad_request("otp", "The device is locked; wait for the cool-down to pass.");
        if device.locked(now()) {
            return Err(locked());
        }
        let (user, policy) = (
            self.store.user(environment_id, user_id).await?,
            self.store.device_policy(environment_id, device.policy_id).await?,
        );
        let mut outbox = Outbox::default();
        self.issue_activation_code(&user, &mut device, &policy, NotificationRequest::default(), &mut outbox).await?;
        device.updated_at = now();
        // The store checks again, in the same statement that stores the code.
        if !self.store.issue_device_code(&device, &outbox).await? {
            return Err(locked());
        }
        self.wake_worker.notify_one();
        Ok(device)
    }

    pub async fn devices(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        filter: Option<&Filter>,
        page: PageRequest,
    ) -> Result<CountedPage<Device>> {
        principal.require_self_or_manage(environment_id, user_id, "p1:read:device")?;
        self.store.user(environment_id, user_id).await?;
        // The store narrows by exact status and type; the filter decides the rest.
        let exact = |attribute| match filter.and_then(|f| f.required_equal(attribute)) {
            Some(Literal::Text(value)) => Some(value.as_str()),
            _ => None,
        };
        let narrowed = DeviceFilter {
            status: exact("status").and_then(DeviceStatus::parse),
            kind: exact("type").and_then(DeviceType::parse),
        };
        let fetch = |page| self.store.devices(environment_id, user_id, &narrowed, page);
        Ok(page_matching(filter, page, fetch, |d| d.id).await?)
    }

    pub async fn device(&self, principal: &Principal, environment_id: Uuid, user_id: Uuid, id: Uuid) -> Result<Device> {
        principal.require_self_or_manage(environment_id, user_id, "p1:read:device")?;
        Ok(self.store.device(environment_id, user_id, id).await?)
    }

    /// `PUT …/devices/{id}` and `PUT …/nickname`: the nickname (`None` clears it).
    pub async fn set_device_nickname(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        nickname: Option<String>,
    ) -> Result<Device> {
        principal.require_self_or_manage(environment_id, user_id, "p1:update:device")?;
        Ok(self.store.set_device_nickname(environment_id, user_id, id, nickname.as_deref(), now()).await?)
    }

    /// A device's PUT: `nickname` `None` keeps the nickname, `Some(None)` clears it.
    pub async fn update_device(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        nickname: Option<Option<String>>,
    ) -> Result<Device> {
        principal.require_self_or_manage(environment_id, user_id, "p1:update:device")?;
        Ok(match nickname {
            None => self.store.device(environment_id, user_id, id).await?,
            Some(nickname) => {
                self.store.set_device_nickname(environment_id, user_id, id, nickname.as_deref(), now()).await?
            }
        })
    }

    pub async fn delete_device(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
    ) -> Result<()> {
        principal.require_self_or_manage(environment_id, user_id, "p1:delete:device")?;
        Ok(self.store.delete_device(environment_id, user_id, id).await?)
    }

    pub async fn reorder_devices(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        user_id: Uuid,
        order: &[Uuid],
    ) -> Result<()> {
        principal.require_self_or_manage(environment_id, user_id, "p1:update:device")?;
        self.store.user(environment_id, user_id).await?;
        match self.store.reorder_devices(environment_id, user_id, order).await {
            Err(domain::StoreError::NotFound) => {
                Err(Error::invalid(FieldError::invalid("order", "order must list distinct devices of this user.")))
            }
            other => Ok(other?),
        }
    }
}
