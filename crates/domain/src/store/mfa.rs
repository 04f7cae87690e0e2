//! MFA: device policies, the environment's MFA settings, and users' devices with
//! their one-time codes.

use std::future::Future;

use uuid::Uuid;

use super::{Outbox, StoreResult};
use crate::mfa::{Device, DeviceFilter, DevicePolicy, DeviceSlot, MethodPolicy, MfaSettings, OtpAttempt};
use crate::page::{Page, PageRequest};
use crate::time::Timestamp;

pub trait MfaStore {
    /// A policy marked default makes the environment's other policies not default.
    fn create_device_policy(&self, policy: &DevicePolicy) -> impl Future<Output = StoreResult<()>> + Send;
    fn device_policy(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<DevicePolicy>> + Send;
    /// Oldest first.
    fn device_policies(&self, environment_id: Uuid) -> impl Future<Output = StoreResult<Vec<DevicePolicy>>> + Send;
    /// A policy marked default makes the environment's other policies not default.
    fn update_device_policy(&self, policy: &DevicePolicy) -> impl Future<Output = StoreResult<()>> + Send;
    /// `Conflict` while devices use the policy.
    fn delete_device_policy(&self, environment_id: Uuid, id: Uuid) -> impl Future<Output = StoreResult<()>> + Send;
    fn mfa_settings(&self, environment_id: Uuid) -> impl Future<Output = StoreResult<Option<MfaSettings>>> + Send;
    fn put_mfa_settings(&self, settings: &MfaSettings) -> impl Future<Output = StoreResult<()>> + Send;

    /// Adds the device at the end of the user's list, unless the user already has
    /// `max_devices`; with the outbox. `Conflict` when the user has a device of this
    /// type and target.
    fn create_device(
        &self,
        device: &Device,
        max_devices: i64,
        outbox: &Outbox,
    ) -> impl Future<Output = StoreResult<DeviceSlot>> + Send;
    fn device(&self, environment_id: Uuid, user_id: Uuid, id: Uuid)
    -> impl Future<Output = StoreResult<Device>> + Send;
    /// In the user's order (`position`, then id).
    fn devices(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        filter: &DeviceFilter,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<Device>>> + Send;
    /// Sets the nickname (`None` clears it) and nothing else; the device as it now is.
    fn set_device_nickname(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        nickname: Option<&str>,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<Device>> + Send;
    /// Stores `device`'s new activation code (`otp_hash`, `otp_expires_at`) with the
    /// outbox that sends it, and starts its guess count over, if the device still waits
    /// for activation and is not locked at `device.updated_at`; `false` otherwise.
    fn issue_device_code(&self, device: &Device, outbox: &Outbox) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Counts one guess at the device's pending code (or TOTP) in one conditional
    /// statement and answers what to judge it against; `None` when no guess may be
    /// judged now: the device is active, locked, its code expired or voided, or the
    /// code already had `rules.failure_count` guesses. The guess that reaches that count
    /// locks the device for `rules.cool_down` (activation lifts the lock). A TOTP
    /// device's count starts over once its lock has passed.
    fn claim_otp_attempt(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        rules: &MethodPolicy,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<Option<OtpAttempt>>> + Send;
    /// Activates the device if it still waits with the code a guess was judged
    /// against (`otp_hash`, `None` for TOTP); the activated device, or `None`.
    fn activate_device(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        otp_hash: Option<&[u8]>,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<Option<Device>>> + Send;
    fn delete_device(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Puts the listed devices first, in that order, the others after them as they
    /// were. `NotFound` when a listed id is not one of the user's devices.
    fn reorder_devices(
        &self,
        environment_id: Uuid,
        user_id: Uuid,
        order: &[Uuid],
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
