//! The shared stored records with SQLite's id representation: hyphenated UUID text.

use uuid::fmt::Hyphenated;

pub type EnvironmentRow = domain::stored::EnvironmentRecord<Hyphenated>;
pub type SigningKeyRow = domain::stored::SigningKeyRecord<Hyphenated>;
pub type ApplicationRow = domain::stored::ApplicationRecord<Hyphenated>;
pub type UserRow = domain::stored::UserRecord<Hyphenated>;
pub type PopulationRow = domain::stored::PopulationRecord<Hyphenated>;
pub type JobRow = domain::stored::JobRecord<Hyphenated>;
pub type WalletApplicationRow = domain::stored::WalletApplicationRecord<Hyphenated>;
pub type DigitalWalletRow = domain::stored::DigitalWalletRecord<Hyphenated>;
pub type PairingSessionRow = domain::stored::PairingSessionRecord<Hyphenated>;
pub type WalletAttemptRow = domain::stored::WalletAttemptRecord<Hyphenated>;
pub type TemplateContentRow = domain::stored::TemplateContentRecord<Hyphenated>;
pub type NotificationRow = domain::stored::NotificationRecord<Hyphenated>;
pub type DevicePolicyRow = domain::stored::DevicePolicyRecord<Hyphenated>;
pub type MethodPolicyRow = domain::stored::MethodPolicyRecord<Hyphenated>;
pub type DeviceRow = domain::stored::DeviceRecord<Hyphenated>;
pub type MfaSettingsRow = domain::stored::MfaSettingsRecord<Hyphenated>;
pub type IssuerProfileRow = domain::stored::IssuerProfileRecord<Hyphenated>;
pub type CredentialTypeRow = domain::stored::CredentialTypeRecord<Hyphenated>;
pub type CredentialFieldRow = domain::stored::CredentialFieldRecord<Hyphenated>;
pub type CredentialTypeVersionRow = domain::stored::CredentialTypeVersionRecord<Hyphenated>;
pub type UserCredentialRow = domain::stored::UserCredentialRecord<Hyphenated>;
pub type ProvisionedCredentialRow = domain::stored::ProvisionedCredentialRecord<Hyphenated>;
