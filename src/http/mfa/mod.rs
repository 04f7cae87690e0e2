//! MFA: users' devices, the device authentication policies that say how devices are
//! paired and activated, and the environment's MFA settings. Each has its own routes.

pub(super) mod devices;
mod kept;
pub(super) mod policies;
pub(super) mod settings;

pub(super) use policies::{DevicePolicyView, PolicyBody, view as policy_view};
pub(super) use settings::{MfaSettingsView, SettingsBody, view as settings_view};
