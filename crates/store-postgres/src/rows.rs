//! The shared stored records with Postgres' id representation: `Uuid`.

use uuid::Uuid;

pub type EnvironmentRow = domain::stored::EnvironmentRecord<Uuid>;
pub type SigningKeyRow = domain::stored::SigningKeyRecord<Uuid>;
pub type ApplicationRow = domain::stored::ApplicationRecord<Uuid>;
pub type UserRow = domain::stored::UserRecord<Uuid>;
pub type PopulationRow = domain::stored::PopulationRecord<Uuid>;
pub type JobRow = domain::stored::JobRecord<Uuid>;
pub type WalletApplicationRow = domain::stored::WalletApplicationRecord<Uuid>;
pub type DigitalWalletRow = domain::stored::DigitalWalletRecord<Uuid>;
pub type PairingSessionRow = domain::stored::PairingSessionRecord<Uuid>;
pub type WalletAttemptRow = domain::stored::WalletAttemptRecord<Uuid>;
pub type TemplateContentRow = domain::stored::TemplateContentRecord<Uuid>;
pub type NotificationRow = domain::stored::NotificationRecord<Uuid>;
pub type DevicePolicyRow = domain::stored::DevicePolicyRecord<Uuid>;
pub type MethodPolicyRow = domain::stored::MethodPolicyRecord<Uuid>;
pub type DeviceRow = domain::stored::DeviceRecord<Uuid>;
pub type MfaSettingsRow = domain::stored::MfaSettingsRecord<Uuid>;
pub type IssuerProfileRow = domain::stored::IssuerProfileRecord<Uuid>;
pub type CredentialTypeRow = domain::stored::CredentialTypeRecord<Uuid>;
pub type CredentialFieldRow = domain::stored::CredentialFieldRecord<Uuid>;
pub type CredentialTypeVersionRow = domain::stored::CredentialTypeVersionRecord<Uuid>;
pub type UserCredentialRow = domain::stored::UserCredentialRecord<Uuid>;
pub type ProvisionedCredentialRow = domain::stored::ProvisionedCredentialRecord<Uuid>;
