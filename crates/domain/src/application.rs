//! Applications: worker applications, machine clients that obtain access tokens with
//! the client-credentials grant and manage their environment, and native (mobile)
//! applications, which digital wallet applications name. credd issues tokens to
//! workers only.

use uuid::Uuid;

use crate::time::Timestamp;
use crate::validation::{FieldError, bounded_text};

crate::text_enum! {
    /// The kinds of application credd keeps.
    pub enum ApplicationType {
        Worker => "WORKER",
        NativeApp => "NATIVE_APP",
    }
}

crate::text_enum! {
    /// How a client presents its secret at the token endpoint; `NONE`: it has none.
    pub enum TokenEndpointAuthMethod {
        /// A public client (a native app without a secret).
        None => "NONE",
        /// HTTP Basic: `Authorization: Basic base64(client_id:client_secret)`.
        ClientSecretBasic => "CLIENT_SECRET_BASIC",
        /// Form fields `client_id` and `client_secret`.
        ClientSecretPost => "CLIENT_SECRET_POST",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationName(String);

impl ApplicationName {
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        bounded_text("name", value, 256).map(Self)
    }
}

/// A client secret as credd keeps it: a keyed hash that the token endpoint checks, and
/// the secret sealed under the master key, which `GET …/secret` opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSecret {
    pub hash: Vec<u8>,
    /// `None` for a secret made before credd kept secrets readable: it still works, and
    /// it can be read once it is rotated.
    pub sealed: Option<Vec<u8>>,
}

/// The identifiers by which stores and devices know a native app. Each is unique within
/// the environment and, once set, cannot change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MobileIdentifiers {
    pub bundle_id: Option<String>,
    pub package_name: Option<String>,
    pub huawei_app_id: Option<String>,
    pub huawei_package_name: Option<String>,
}

crate::text_enum! {
    /// One of [`MobileIdentifiers`], by its wire name under `mobile`.
    pub enum MobileIdentifier {
        BundleId => "bundleId",
        PackageName => "packageName",
        HuaweiAppId => "huaweiAppId",
        HuaweiPackageName => "huaweiPackageName",
    }
}

impl MobileIdentifiers {
    pub fn get(&self, identifier: MobileIdentifier) -> Option<&str> {
        match identifier {
            MobileIdentifier::BundleId => self.bundle_id.as_deref(),
            MobileIdentifier::PackageName => self.package_name.as_deref(),
            MobileIdentifier::HuaweiAppId => self.huawei_app_id.as_deref(),
            MobileIdentifier::HuaweiPackageName => self.huawei_package_name.as_deref(),
        }
    }

    /// An Apple bundle id or a Google package name: what a wallet app's application needs.
    pub fn has_app_store_identity(&self) -> bool {
        self.bundle_id.is_some() || self.package_name.is_some()
    }
}

/// What a native app says that credd keeps and answers but does not act on (grant and
/// response types, redirect URIs, PKCE, the mobile settings…): a JSON object that the
/// API layer validated and wrote, stored and answered as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeSettings(String);

impl NativeSettings {
    pub fn new(json: String) -> Self {
        Self(json)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A native app as a client describes it.
#[derive(Debug, Clone)]
pub struct NativeFields {
    pub mobile: MobileIdentifiers,
    pub settings: NativeSettings,
    /// The Google Play Integrity keys (a JSON object), write-only: the service seals
    /// them before they are kept.
    pub google_play_keys: Option<String>,
}

/// A native app as credd keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeApp {
    pub mobile: MobileIdentifiers,
    pub settings: NativeSettings,
    /// The Google Play Integrity keys, sealed under the master key; never answered.
    pub sealed_google_play_keys: Option<Vec<u8>>,
}

impl NativeFields {
    /// The app as kept, its Play keys sealed by `seal`.
    pub fn seal_keys(self, seal: impl FnOnce(&str) -> Vec<u8>) -> NativeApp {
        NativeApp {
            mobile: self.mobile,
            settings: self.settings,
            sealed_google_play_keys: self.google_play_keys.as_deref().map(seal),
        }
    }
}

/// An application. Its id is its OAuth `client_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// `None` exactly when `token_endpoint_auth_method` is `NONE`.
    pub secret: Option<ClientSecret>,
    /// `None`: a worker.
    pub native: Option<NativeApp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What a client may set on an application (create, or full replace on update). The
/// API layer allows `NONE` only for native apps.
#[derive(Debug, Clone)]
pub struct ApplicationFields {
    pub name: ApplicationName,
    pub description: Option<String>,
    pub enabled: bool,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// `None`: a worker.
    pub native: Option<NativeFields>,
}

impl ApplicationFields {
    pub fn kind(&self) -> ApplicationType {
        if self.native.is_some() { ApplicationType::NativeApp } else { ApplicationType::Worker }
    }
}

const TYPE_IMMUTABLE: &str = "type cannot change; create another application.";

impl Application {
    /// `secret` makes the client secret, called only when the method needs one;
    /// `seal` seals the Play keys.
    pub fn new(
        id: Uuid,
        environment_id: Uuid,
        fields: ApplicationFields,
        secret: impl FnOnce() -> ClientSecret,
        seal: impl FnOnce(&str) -> Vec<u8>,
        now: Timestamp,
    ) -> Self {
        let method = fields.token_endpoint_auth_method;
        Self {
            id,
            environment_id,
            name: fields.name.0,
            description: fields.description,
            enabled: fields.enabled,
            token_endpoint_auth_method: method,
            secret: (method != TokenEndpointAuthMethod::None).then(secret),
            native: fields.native.map(|native| native.seal_keys(seal)),
            created_at: now,
            updated_at: now,
        }
    }

    pub fn kind(&self) -> ApplicationType {
        if self.native.is_some() { ApplicationType::NativeApp } else { ApplicationType::Worker }
    }

    pub fn is_worker(&self) -> bool {
        self.native.is_none()
    }

    /// The native app's identifiers (none for a worker).
    pub fn mobile(&self) -> Option<&MobileIdentifiers> {
        self.native.as_ref().map(|native| &native.mobile)
    }

    /// Full replace. The type cannot change, nor a mobile identifier once set. A client
    /// that starts to need a secret gets one from `secret`; one set to `NONE` loses its
    /// secret.
    pub fn replace(
        &mut self,
        fields: ApplicationFields,
        secret: impl FnOnce() -> ClientSecret,
        seal: impl FnOnce(&str) -> Vec<u8>,
        now: Timestamp,
    ) -> Result<(), Vec<FieldError>> {
        if fields.kind() != self.kind() {
            return Err(vec![FieldError::invalid("type", TYPE_IMMUTABLE)]);
        }
        if let (Some(old), Some(new)) = (self.mobile(), fields.native.as_ref().map(|n| &n.mobile)) {
            let errors: Vec<FieldError> = MobileIdentifier::ALL
                .iter()
                .filter(|&&identifier| old.get(identifier).is_some_and(|set| new.get(identifier) != Some(set)))
                .map(|identifier| {
                    let target = format!("mobile.{}", identifier.as_str());
                    let message = format!("{target} cannot change once set.");
                    FieldError::invalid(&target, message)
                })
                .collect();
            if !errors.is_empty() {
                return Err(errors);
            }
        }
        let method = fields.token_endpoint_auth_method;
        self.secret = match (method, self.secret.take()) {
            (TokenEndpointAuthMethod::None, _) => None,
            (_, Some(kept)) => Some(kept),
            (_, None) => Some(secret()),
        };
        self.name = fields.name.0;
        self.description = fields.description;
        self.enabled = fields.enabled;
        self.token_endpoint_auth_method = method;
        self.native = fields.native.map(|native| native.seal_keys(seal));
        self.updated_at = now;
        Ok(())
    }

    /// Whether a digital wallet application may name this one: a native app with an
    /// Apple bundle id or a Google package name (as PingOne requires). The error names
    /// `application.id`.
    pub fn backs_wallet_applications(&self) -> Result<(), FieldError> {
        match self.mobile() {
            None => Err(FieldError::invalid(
                WALLET_APPLICATION_TARGET,
                "The application referenced in application.id is not the required native (NATIVE_APP) \
                 OIDC application type.",
            )),
            Some(mobile) if !mobile.has_app_store_identity() => Err(FieldError::invalid(
                WALLET_APPLICATION_TARGET,
                "The application referenced in application.id does not contain mobile application \
                 configuration: it needs mobile.bundleId or mobile.packageName.",
            )),
            Some(_) => Ok(()),
        }
    }
}

/// Where a digital wallet application names its application.
pub const WALLET_APPLICATION_TARGET: &str = "application.id";

/// The error for an `application.id` that names no application of the environment.
pub fn application_not_in_environment(id: Uuid) -> FieldError {
    FieldError::invalid(
        WALLET_APPLICATION_TARGET,
        format!("The application referenced in application.id ({id}) does not exist in this environment."),
    )
}
