//! OAuth applications.

use uuid::Uuid;

use crate::application::{
    Application, ApplicationType, ClientSecret, MobileIdentifier, MobileIdentifiers, NativeApp, NativeSettings,
    TokenEndpointAuthMethod,
};
use crate::store::{StoreError, StoreResult};
use crate::time::Timestamp;

pub struct ApplicationRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub application_type: String,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub token_endpoint_auth_method: String,
    pub secret_hash: Option<Vec<u8>>,
    pub sealed_secret: Option<Vec<u8>>,
    pub bundle_id: Option<String>,
    pub package_name: Option<String>,
    pub huawei_app_id: Option<String>,
    pub huawei_package_name: Option<String>,
    pub native_settings: Option<String>,
    pub sealed_google_play_keys: Option<Vec<u8>>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<ApplicationRecord<Id>> for Application {
    type Error = StoreError;

    fn try_from(row: ApplicationRecord<Id>) -> StoreResult<Self> {
        let kind = StoreError::parse_stored("application type", &row.application_type, ApplicationType::parse)?;
        let native = match kind {
            ApplicationType::Worker => None,
            ApplicationType::NativeApp => Some(NativeApp {
                mobile: MobileIdentifiers {
                    bundle_id: row.bundle_id,
                    package_name: row.package_name,
                    huawei_app_id: row.huawei_app_id,
                    huawei_package_name: row.huawei_package_name,
                },
                settings: NativeSettings::new(row.native_settings.unwrap_or_else(|| "{}".into())),
                sealed_google_play_keys: row.sealed_google_play_keys,
            }),
        };
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
            secret: row.secret_hash.map(|hash| ClientSecret { hash, sealed: row.sealed_secret }),
            native,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The columns an application is written to, as text and bytes: one place that spells
/// them out for both stores.
pub struct ApplicationColumns<'a> {
    pub application_type: &'static str,
    pub token_endpoint_auth_method: &'static str,
    pub secret_hash: Option<&'a [u8]>,
    pub sealed_secret: Option<&'a [u8]>,
    pub bundle_id: Option<&'a str>,
    pub package_name: Option<&'a str>,
    pub huawei_app_id: Option<&'a str>,
    pub huawei_package_name: Option<&'a str>,
    pub native_settings: Option<&'a str>,
    pub sealed_google_play_keys: Option<&'a [u8]>,
}

impl<'a> ApplicationColumns<'a> {
    pub fn of(application: &'a Application) -> Self {
        let native = application.native.as_ref();
        let mobile = |identifier| native.and_then(|n| n.mobile.get(identifier));
        Self {
            application_type: application.kind().as_str(),
            token_endpoint_auth_method: application.token_endpoint_auth_method.as_str(),
            secret_hash: application.secret.as_ref().map(|s| s.hash.as_slice()),
            sealed_secret: application.secret.as_ref().and_then(|s| s.sealed.as_deref()),
            bundle_id: mobile(MobileIdentifier::BundleId),
            package_name: mobile(MobileIdentifier::PackageName),
            huawei_app_id: mobile(MobileIdentifier::HuaweiAppId),
            huawei_package_name: mobile(MobileIdentifier::HuaweiPackageName),
            native_settings: native.map(|n| n.settings.as_str()),
            sealed_google_play_keys: native.and_then(|n| n.sealed_google_play_keys.as_deref()),
        }
    }
}

/// Which mobile identifiers one other application of the environment shares with the
/// application being written.
pub struct MobileHolderRecord {
    pub bundle_id: bool,
    pub package_name: bool,
    pub huawei_app_id: bool,
    pub huawei_package_name: bool,
}

/// The identifiers some holder shares, in [`MobileIdentifier::ALL`]'s order.
pub fn identifiers_held(holders: &[MobileHolderRecord]) -> Vec<MobileIdentifier> {
    let held = |identifier| {
        holders.iter().any(|h| match identifier {
            MobileIdentifier::BundleId => h.bundle_id,
            MobileIdentifier::PackageName => h.package_name,
            MobileIdentifier::HuaweiAppId => h.huawei_app_id,
            MobileIdentifier::HuaweiPackageName => h.huawei_package_name,
        })
    };
    MobileIdentifier::ALL.iter().copied().filter(|&identifier| held(identifier)).collect()
}
