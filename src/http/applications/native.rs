//! What a native app says beyond the fields every application has: its OpenID Connect
//! settings and its `mobile` object, in the wire shapes PingOne documents, checked as
//! PingOne checks them (types and enums by serde, ranges, sizes and the rules between
//! fields here), and stored as the JSON they serialise to
//! ([`domain::application::NativeSettings`]). The mobile identifiers are not in that
//! JSON: they are columns of their own (unique in the environment), put back on read.
//! Google Play Integrity keys are write-only: they never serialise.

use domain::application::{MobileIdentifier, MobileIdentifiers, NativeSettings};
use domain::validation::{Collector, FieldError, FieldErrorKind, bounded_text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Redirect URIs, post-logout redirect URIs.
const MAX_URIS: usize = 100;
/// A URL or URI prefix.
const MAX_URL: usize = 2048;
/// A mobile identifier.
const MAX_IDENTIFIER: usize = 256;
/// One Google Play key (a service account's JSON credentials run to a few KiB).
const MAX_KEY: usize = 16 * 1024;
/// PingOne's limit on CORS origins.
const MAX_ORIGINS: usize = 20;

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = ApplicationGrantType)]
pub(super) enum GrantType {
    AuthorizationCode,
    Implicit,
    RefreshToken,
    ClientCredentials,
    DeviceCode,
    TokenExchange,
    Ciba,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = ApplicationResponseType)]
pub(super) enum ResponseType {
    Token,
    IdToken,
    Code,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = ApplicationPkceEnforcement)]
pub(super) enum PkceEnforcement {
    Optional,
    Required,
    S256Required,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = ApplicationParRequirement)]
pub(super) enum ParRequirement {
    Required,
    Optional,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = ApplicationRefreshTokenType)]
pub(super) enum RefreshTokenType {
    JsonWebToken,
    OpaqueToken,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = ApplicationCorsBehavior)]
pub(super) enum CorsBehavior {
    AllowNoOrigins,
    AllowSpecificOrigins,
}

/// Which origins may send CORS requests to the authorization endpoints about the app.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = ApplicationCorsSettings)]
pub(super) struct CorsSettings {
    behavior: CorsBehavior,
    /// `http` or `https` URLs without a path; at most 20, and only with
    /// `ALLOW_SPECIFIC_ORIGINS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    origins: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = ApplicationPasscodeTimeUnit)]
pub(super) enum PasscodeTimeUnit {
    Seconds,
}

/// How long a passcode shows before the next: 30 to 60 seconds.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = ApplicationPasscodeRefreshDuration)]
pub(super) struct PasscodeRefreshDuration {
    duration: i64,
    time_unit: PasscodeTimeUnit,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = ApplicationIntegrityMode)]
pub(super) enum EnabledStatus {
    Enabled,
    Disabled,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = ApplicationIntegrityPlatform)]
pub(super) enum Platform {
    Google,
    Ios,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = ApplicationDurationUnit)]
pub(super) enum MinutesOrHours {
    Minutes,
    Hours,
}

/// How long a successful integrity check is trusted: 1 minute to 48 hours.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = ApplicationIntegrityCacheDuration)]
pub(super) struct CacheDuration {
    amount: i64,
    units: MinutesOrHours,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = ApplicationGooglePlayVerificationType)]
pub(super) enum VerificationType {
    Google,
    Internal,
}

/// Google Play Integrity: `verificationType` `GOOGLE` needs `serviceAccountCredentials`,
/// `INTERNAL` needs `decryptionKey` and `verificationKey`. The keys are write-only:
/// kept sealed, never answered.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = ApplicationGooglePlay)]
pub(super) struct GooglePlay {
    #[serde(skip_serializing_if = "Option::is_none")]
    verification_type: Option<VerificationType>,
    #[serde(skip_serializing)]
    #[schema(write_only, format = Password)]
    decryption_key: Option<String>,
    #[serde(skip_serializing)]
    #[schema(write_only, format = Password)]
    verification_key: Option<String>,
    #[serde(skip_serializing)]
    #[schema(write_only, format = Password)]
    service_account_credentials: Option<String>,
}

/// Device integrity checks. Kept, not enforced: credd pairs no devices with apps.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = ApplicationIntegrityDetection)]
pub(super) struct IntegrityDetection {
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<EnabledStatus>,
    /// At most one.
    #[serde(skip_serializing_if = "Option::is_none")]
    excluded_platforms: Option<Vec<Platform>>,
    /// Required when `mode` is `ENABLED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_duration: Option<CacheDuration>,
    /// Required when `mode` is `ENABLED` and `GOOGLE` is not excluded.
    #[serde(skip_serializing_if = "Option::is_none")]
    google_play: Option<GooglePlay>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = ApplicationNumberMatchingType)]
pub(super) enum NumberMatchingType {
    SelectNumber,
    EnterManually,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = ApplicationNumberMatching)]
pub(super) struct NumberMatching {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<NumberMatchingType>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = ApplicationPush)]
pub(super) struct Push {
    #[serde(skip_serializing_if = "Option::is_none")]
    number_matching: Option<NumberMatching>,
}

/// The mobile app: how stores and devices know it (`bundleId`, `packageName`,
/// `huaweiAppId`, `huaweiPackageName`: each unique in the environment, and fixed once
/// set), and settings credd keeps without acting on them.
#[derive(Serialize, Deserialize, ToSchema, Clone, Default, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = ApplicationMobile)]
pub(super) struct Mobile {
    /// Apple's bundle id.
    #[serde(skip_serializing_if = "Option::is_none")]
    bundle_id: Option<String>,
    /// Google's package name.
    #[serde(skip_serializing_if = "Option::is_none")]
    package_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    huawei_app_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    huawei_package_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    passcode_refresh_duration: Option<PasscodeRefreshDuration>,
    /// 1 to 10 windows.
    #[serde(skip_serializing_if = "Option::is_none")]
    passcode_grace_period: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    integrity_detection: Option<IntegrityDetection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    push: Option<Push>,
    /// A universal link (`https://…`) or an app scheme that opens the app from a QR code.
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_prefix: Option<String>,
}

/// The OpenID Connect settings of a native app, kept and answered as sent (none is
/// enforced: credd has no authorization endpoint), and its `mobile` object.
#[derive(Serialize, Deserialize, ToSchema, Clone, Default, Debug)]
#[serde(rename_all = "camelCase")]
#[schema(as = NativeApplicationSettings)]
pub(super) struct NativeKept {
    /// Required for a native app; `AUTHORIZATION_CODE` needs `responseTypes` `CODE`,
    /// `IMPLICIT` needs `TOKEN` or `ID_TOKEN`; both need `redirectUris`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) grant_types: Option<Vec<GrantType>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) response_types: Option<Vec<ResponseType>>,
    /// At most 100 absolute URIs (app schemes too), without fragments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) redirect_uris: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) allow_wildcard_in_redirect_uris: Option<bool>,
    /// At most 100 `http` or `https` URLs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) pkce_enforcement: Option<PkceEnforcement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) home_page_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) login_page_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) initiate_login_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) target_link_uri: Option<String>,
    /// 60 to 2147483647 seconds, at most `refreshTokenRollingDuration`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) refresh_token_duration: Option<i64>,
    /// 60 to 2147483647 seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) refresh_token_rolling_duration: Option<i64>,
    /// 0 to 86400 seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) refresh_token_rolling_grace_period_duration: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) additional_refresh_token_replay_protection_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) refresh_token_type: Option<RefreshTokenType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) par_requirement: Option<ParRequirement>,
    /// 1 to 600 seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) par_timeout: Option<i64>,
    /// Not with `supportUnsignedRequestObject`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) require_signed_request_object: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) support_unsigned_request_object: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) include_x5t: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) idp_signoff: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) op_session_check_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) request_scopes_for_multiple_resources_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) hidden_from_app_portal: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) cors_settings: Option<CorsSettings>,
    /// 1 to 3600 seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) device_timeout: Option<i64>,
    /// 1 to 60 seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) device_polling_interval: Option<i64>,
    /// 1 to 50 of `a-zA-Z0-9_-`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) device_path_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) device_custom_verification_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) mobile: Option<Mobile>,
}

fn out_of_range(errors: &mut Collector, target: &str, value: Option<i64>, min: i64, max: i64) {
    if value.is_some_and(|v| !(min..=max).contains(&v)) {
        errors.push(FieldError::out_of_range(target, min, max));
    }
}

fn too_many(errors: &mut Collector, target: &str, count: usize, max: usize) {
    if count > max {
        errors.push(FieldError::new(
            target,
            FieldErrorKind::TooLong,
            format!("{target} may hold at most {max} items."),
        ));
    }
}

/// An absolute URI (any scheme: native apps redirect to their own), at most
/// [`MAX_URL`] characters, without a fragment (RFC 6749 §3.1.2).
fn check_uri(errors: &mut Collector, target: &str, value: &str, wildcards: bool) {
    if errors.take(bounded_text(target, value, MAX_URL)).is_none() {
        return;
    }
    // A wildcard stands for characters of a host or path: check the URI without it.
    let literal = if wildcards { value.replace('*', "x") } else { value.to_owned() };
    let valid = url::Url::parse(&literal).is_ok_and(|url| url.fragment().is_none()) && !literal.contains('*');
    if !valid {
        let why = if value.contains('*') && !wildcards {
            format!("{target} holds a wildcard, which needs allowWildcardInRedirectUris.")
        } else {
            format!("{target} must be an absolute URI without a fragment.")
        };
        errors.push(FieldError::invalid(target, why));
    }
}

/// An `http` or `https` URL, at most [`MAX_URL`] characters.
fn check_web_url(errors: &mut Collector, target: &str, value: &str) {
    if errors.take(bounded_text(target, value, MAX_URL)).is_none() {
        return;
    }
    if !url::Url::parse(value).is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.has_host()) {
        errors.push(FieldError::invalid(target, format!("{target} must be an http or https URL.")));
    }
}

fn repeats<T: PartialEq>(items: &[T]) -> bool {
    items.iter().enumerate().any(|(i, item)| items[..i].contains(item))
}

fn check_each(
    errors: &mut Collector,
    target: &str,
    values: Option<&Vec<String>>,
    check: impl Fn(&mut Collector, &str, &str),
) {
    let Some(values) = values else { return };
    too_many(errors, target, values.len(), MAX_URIS);
    for (i, value) in values.iter().take(MAX_URIS).enumerate() {
        check(errors, &format!("{target}[{i}]"), value);
    }
}

impl NativeKept {
    /// Checks the settings as PingOne does; `public` when the app has no secret.
    pub(super) fn check(&self, errors: &mut Collector, public: bool) {
        let grants = self.grant_types.as_deref().unwrap_or_default();
        let responses = self.response_types.as_deref().unwrap_or_default();
        match &self.grant_types {
            None => errors.push(FieldError::required("grantTypes")),
            Some(g) if g.is_empty() => errors.push(FieldError::invalid("grantTypes", "grantTypes must not be empty.")),
            Some(_) => {}
        }
        for (target, repeated) in [("grantTypes", repeats(grants)), ("responseTypes", repeats(responses))] {
            if repeated {
                errors.push(FieldError::invalid(target, format!("{target} names a value twice.")));
            }
        }
        let has = |g: GrantType| grants.contains(&g);
        let responds = |r: ResponseType| responses.contains(&r);
        if has(GrantType::AuthorizationCode) && !responds(ResponseType::Code) {
            errors.push(FieldError::invalid("responseTypes", "The AUTHORIZATION_CODE grant needs responseTypes CODE."));
        }
        if has(GrantType::Implicit) && !(responds(ResponseType::Token) || responds(ResponseType::IdToken)) {
            errors.push(FieldError::invalid(
                "responseTypes",
                "The IMPLICIT grant needs responseTypes TOKEN or ID_TOKEN.",
            ));
        }
        if responds(ResponseType::Code) && !has(GrantType::AuthorizationCode) {
            errors.push(FieldError::invalid("responseTypes", "responseTypes CODE needs the AUTHORIZATION_CODE grant."));
        }
        if (responds(ResponseType::Token) || responds(ResponseType::IdToken)) && !has(GrantType::Implicit) {
            errors.push(FieldError::invalid(
                "responseTypes",
                "responseTypes TOKEN and ID_TOKEN need the IMPLICIT grant.",
            ));
        }
        let redirects = has(GrantType::AuthorizationCode) || has(GrantType::Implicit);
        if redirects && self.redirect_uris.as_ref().is_none_or(Vec::is_empty) {
            errors.push(FieldError::required("redirectUris"));
        }
        if grants == [GrantType::RefreshToken] {
            errors.push(FieldError::invalid("grantTypes", "REFRESH_TOKEN needs a grant that issues refresh tokens."));
        }
        if public && has(GrantType::ClientCredentials) {
            errors.push(FieldError::invalid(
                "grantTypes",
                "CLIENT_CREDENTIALS needs a client secret: tokenEndpointAuthMethod must not be NONE.",
            ));
        }

        let wildcards = self.allow_wildcard_in_redirect_uris == Some(true);
        check_each(errors, "redirectUris", self.redirect_uris.as_ref(), |e, t, v| check_uri(e, t, v, wildcards));
        check_each(errors, "postLogoutRedirectUris", self.post_logout_redirect_uris.as_ref(), check_web_url);
        for (target, value) in [
            ("homePageUrl", &self.home_page_url),
            ("loginPageUrl", &self.login_page_url),
            ("initiateLoginUri", &self.initiate_login_uri),
            ("targetLinkUri", &self.target_link_uri),
            ("deviceCustomVerificationUri", &self.device_custom_verification_uri),
        ] {
            if let Some(value) = value {
                check_web_url(errors, target, value);
            }
        }

        const MAX_SECONDS: i64 = 2_147_483_647;
        out_of_range(errors, "refreshTokenDuration", self.refresh_token_duration, 60, MAX_SECONDS);
        out_of_range(errors, "refreshTokenRollingDuration", self.refresh_token_rolling_duration, 60, MAX_SECONDS);
        if let (Some(duration), Some(rolling)) = (self.refresh_token_duration, self.refresh_token_rolling_duration)
            && duration > rolling
        {
            errors.push(FieldError::invalid(
                "refreshTokenDuration",
                "refreshTokenDuration must be at most refreshTokenRollingDuration.",
            ));
        }
        let grace = self.refresh_token_rolling_grace_period_duration;
        out_of_range(errors, "refreshTokenRollingGracePeriodDuration", grace, 0, 86_400);
        out_of_range(errors, "parTimeout", self.par_timeout, 1, 600);
        out_of_range(errors, "deviceTimeout", self.device_timeout, 1, 3600);
        out_of_range(errors, "devicePollingInterval", self.device_polling_interval, 1, 60);
        let path_id_ok = |id: &String| {
            (1..=50).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if self.device_path_id.as_ref().is_some_and(|id| !path_id_ok(id)) {
            errors.push(FieldError::invalid("devicePathId", "devicePathId must be 1 to 50 of a-z, A-Z, 0-9, _ and -."));
        }
        if self.require_signed_request_object == Some(true) && self.support_unsigned_request_object == Some(true) {
            errors.push(FieldError::invalid(
                "supportUnsignedRequestObject",
                "requireSignedRequestObject and supportUnsignedRequestObject cannot both be true.",
            ));
        }
        if let Some(cors) = &self.cors_settings {
            cors.check(errors);
        }
        if let Some(mobile) = &self.mobile {
            mobile.check(errors);
        }
    }

    /// The stored document: everything but the mobile identifiers and the Play keys.
    pub(super) fn to_settings(&self) -> NativeSettings {
        let mut stored = self.clone();
        if let Some(mobile) = &mut stored.mobile {
            (mobile.bundle_id, mobile.package_name, mobile.huawei_app_id, mobile.huawei_package_name) =
                (None, None, None, None);
        }
        // Plain structs of strings, numbers and lists: they always encode.
        NativeSettings::new(serde_json::to_string(&stored).unwrap_or_else(|_| "{}".into()))
    }

    /// The stored document with the app's identifiers put back; one credd did not
    /// write (it never should) is logged and read as empty.
    pub(super) fn from_settings(settings: &NativeSettings, identifiers: &MobileIdentifiers) -> Self {
        let mut kept: Self = serde_json::from_str(settings.as_str()).unwrap_or_else(|error| {
            tracing::error!(%error, "unreadable native application settings; answering none");
            Self::default()
        });
        if *identifiers != MobileIdentifiers::default() {
            let mobile = kept.mobile.get_or_insert_with(Mobile::default);
            mobile.bundle_id.clone_from(&identifiers.bundle_id);
            mobile.package_name.clone_from(&identifiers.package_name);
            mobile.huawei_app_id.clone_from(&identifiers.huawei_app_id);
            mobile.huawei_package_name.clone_from(&identifiers.huawei_package_name);
        }
        kept
    }

    /// The mobile identifiers, checked.
    pub(super) fn identifiers(&self, errors: &mut Collector) -> MobileIdentifiers {
        let Some(mobile) = &self.mobile else { return MobileIdentifiers::default() };
        let mut identifier = |id: MobileIdentifier, value: &Option<String>| {
            let target = format!("mobile.{}", id.as_str());
            value.as_deref().and_then(|v| errors.take(bounded_text(&target, v, MAX_IDENTIFIER)))
        };
        MobileIdentifiers {
            bundle_id: identifier(MobileIdentifier::BundleId, &mobile.bundle_id),
            package_name: identifier(MobileIdentifier::PackageName, &mobile.package_name),
            huawei_app_id: identifier(MobileIdentifier::HuaweiAppId, &mobile.huawei_app_id),
            huawei_package_name: identifier(MobileIdentifier::HuaweiPackageName, &mobile.huawei_package_name),
        }
    }

    /// The Google Play keys as one JSON object, to be sealed; `None` when none came.
    pub(super) fn google_play_keys(&self) -> Option<String> {
        let play = self.mobile.as_ref()?.integrity_detection.as_ref()?.google_play.as_ref()?;
        let keys = [
            ("decryptionKey", &play.decryption_key),
            ("verificationKey", &play.verification_key),
            ("serviceAccountCredentials", &play.service_account_credentials),
        ];
        let present: serde_json::Map<String, serde_json::Value> = keys
            .into_iter()
            .filter_map(|(name, key)| key.as_ref().map(|k| (name.to_owned(), serde_json::Value::from(k.as_str()))))
            .collect();
        (!present.is_empty()).then(|| serde_json::Value::Object(present).to_string())
    }
}

impl CorsSettings {
    fn check(&self, errors: &mut Collector) {
        let origins = self.origins.as_deref().unwrap_or_default();
        match self.behavior {
            CorsBehavior::AllowSpecificOrigins if origins.is_empty() => errors.push(FieldError::invalid(
                "corsSettings.origins",
                "corsSettings.origins must name an origin when behavior is ALLOW_SPECIFIC_ORIGINS.",
            )),
            CorsBehavior::AllowNoOrigins if !origins.is_empty() => errors.push(FieldError::invalid(
                "corsSettings.origins",
                "corsSettings.origins must be empty when behavior is ALLOW_NO_ORIGINS.",
            )),
            _ => {}
        }
        too_many(errors, "corsSettings.origins", origins.len(), MAX_ORIGINS);
        for (i, origin) in origins.iter().take(MAX_ORIGINS).enumerate() {
            let target = format!("corsSettings.origins[{i}]");
            // A wildcard may stand for subdomains.
            let literal = origin.replace("*.", "x.");
            let ok = url::Url::parse(&literal).is_ok_and(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.has_host()
                    && url.path() == "/"
                    && !literal.ends_with('/')
            });
            if origin.chars().count() > MAX_URL || !ok {
                errors.push(FieldError::invalid(
                    &target,
                    format!("{target} must be an http or https URL without a path."),
                ));
            }
        }
    }
}

impl Mobile {
    /// PingOne's older top-level `bundleId` and `packageName`, where `mobile` has none.
    pub(super) fn fill_in(&mut self, bundle_id: Option<String>, package_name: Option<String>) {
        self.bundle_id = self.bundle_id.take().or(bundle_id);
        self.package_name = self.package_name.take().or(package_name);
    }

    fn check(&self, errors: &mut Collector) {
        if let Some(refresh) = &self.passcode_refresh_duration {
            out_of_range(errors, "mobile.passcodeRefreshDuration.duration", Some(refresh.duration), 30, 60);
        }
        out_of_range(errors, "mobile.passcodeGracePeriod", self.passcode_grace_period, 1, 10);
        if let Some(prefix) = &self.uri_prefix {
            errors.take(bounded_text("mobile.uriPrefix", prefix, MAX_URL));
        }
        if let Some(integrity) = &self.integrity_detection {
            integrity.check(errors);
        }
    }
}

impl IntegrityDetection {
    fn check(&self, errors: &mut Collector) {
        const TARGET: &str = "mobile.integrityDetection";
        let excluded = self.excluded_platforms.as_deref().unwrap_or_default();
        too_many(errors, &format!("{TARGET}.excludedPlatforms"), excluded.len(), 1);
        if let Some(cache) = &self.cache_duration {
            let minutes = match cache.units {
                MinutesOrHours::Minutes => cache.amount,
                MinutesOrHours::Hours => cache.amount.saturating_mul(60),
            };
            if !(1..=48 * 60).contains(&minutes) {
                errors.push(FieldError::invalid(
                    &format!("{TARGET}.cacheDuration.amount"),
                    format!("{TARGET}.cacheDuration must be from 1 minute to 48 hours."),
                ));
            }
        }
        let enabled = self.mode == Some(EnabledStatus::Enabled);
        if enabled && self.cache_duration.is_none() {
            errors.push(FieldError::required(&format!("{TARGET}.cacheDuration")));
        }
        if enabled && !excluded.contains(&Platform::Google) && self.google_play.is_none() {
            errors.push(FieldError::required(&format!("{TARGET}.googlePlay")));
        }
        if let Some(play) = &self.google_play {
            play.check(errors, &format!("{TARGET}.googlePlay"));
        }
    }
}

impl GooglePlay {
    fn check(&self, errors: &mut Collector, target: &str) {
        // A key is kept as it came (a service account's JSON has line breaks).
        let mut key = |name: &str, value: &Option<String>, needed: bool| {
            let target = format!("{target}.{name}");
            match value {
                Some(value) if value.trim().is_empty() => errors.push(FieldError::required(&target)),
                Some(value) if value.len() > MAX_KEY => errors.push(FieldError::new(
                    &target,
                    FieldErrorKind::TooLong,
                    format!("{target} must be at most {MAX_KEY} bytes."),
                )),
                None if needed => errors.push(FieldError::required(&target)),
                _ => {}
            }
        };
        let kind = self.verification_type;
        key("serviceAccountCredentials", &self.service_account_credentials, kind == Some(VerificationType::Google));
        key("decryptionKey", &self.decryption_key, kind == Some(VerificationType::Internal));
        key("verificationKey", &self.verification_key, kind == Some(VerificationType::Internal));
    }
}
