//! Credential issuance: the environment's issuer profile and its credential types.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::time::{Timestamp, new_id};
use crate::validation::{FieldError, FieldErrorKind, bounded_text};

/// The environment as an issuer: its name and the Ed25519 key its credentials are
/// signed with (the private half sealed with the master key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerProfile {
    pub id: Uuid,
    pub environment_id: Uuid,
    /// The issuer's instance in PingOne's messaging service: an id, given once.
    pub application_instance_id: Uuid,
    pub name: String,
    pub site_url: Option<String>,
    pub logo: Option<String>,
    /// `did.web.useCustomDomain`.
    pub use_custom_domain: bool,
    pub credential_signing: Option<CredentialSigning>,
    pub public_key: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

pub fn issuer_name(value: &str) -> Result<String, FieldError> {
    bounded_text("name", value, 256)
}

/// A customer's remote signing service (`credentialSigning`): kept and shown as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialSigning {
    pub url: String,
    pub headers: BTreeMap<String, String>,
}

/// At most this many `credentialSigning.headers`, PingOne's limit.
pub const MAX_SIGNING_HEADERS: usize = 10;

crate::text_enum! {
    pub enum DidMethod {
        /// `did:web`: the one credd serves (`/{envId}/did.json`).
        Web => "WEB",
        WebVh => "WEBVH",
    }
}

/// What a client sets on the issuer profile (create, or full replace on update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerProfileFields {
    pub name: String,
    pub site_url: Option<String>,
    pub logo: Option<String>,
    pub use_custom_domain: bool,
    pub credential_signing: Option<CredentialSigning>,
}

impl IssuerProfile {
    pub fn apply(&mut self, fields: IssuerProfileFields) {
        self.name = fields.name;
        self.site_url = fields.site_url;
        self.logo = fields.logo;
        self.use_custom_domain = fields.use_custom_domain;
        self.credential_signing = fields.credential_signing;
    }
}

crate::text_enum! {
    pub enum ManagementMode {
        /// Issued by rules over directory data.
        Automated => "AUTOMATED",
        /// Issued by API calls, which may carry ephemeral `data`.
        Managed => "MANAGED",
    }
}

crate::text_enum! {
    pub enum FieldType {
        AlphanumericText => "Alphanumeric Text",
        IssuedTimestamp => "Issued Timestamp",
        DirectoryAttribute => "Directory Attribute",
    }
}

crate::text_enum! {
    /// How a Directory Attribute field holds an image.
    pub enum FileSupport {
        Base64String => "BASE64_STRING",
        IncludeFile => "INCLUDE_FILE",
        ReferenceFile => "REFERENCE_FILE",
    }
}

/// At most this many fields of a type hold an image inside the credential (PingOne's limit).
pub const MAX_EMBEDDED_FILE_FIELDS: usize = 5;

/// One claim of a credential type (`metadata.fields[]`); `title` is the claim's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialField {
    pub id: String,
    pub kind: FieldType,
    pub title: String,
    /// Alphanumeric Text: the value (AUTOMATED) or the default that `data` overrides (MANAGED).
    pub value: Option<String>,
    /// Directory Attribute: the user attribute, e.g. `name.formatted`.
    pub attribute: Option<String>,
    /// Directory Attribute: the value when the user's attribute is empty.
    pub default: Option<String>,
    pub file_support: Option<FileSupport>,
    pub required: bool,
    /// Deprecated by PingOne, kept as sent.
    pub is_visible: Option<bool>,
}

/// How a credential type's card looks, and its fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialMetadata {
    pub name: Option<String>,
    pub description: Option<String>,
    pub background_image: Option<String>,
    pub logo_image: Option<String>,
    pub card_color: Option<String>,
    pub text_color: Option<String>,
    pub bg_opacity_percent: Option<i64>,
    pub columns: Option<i64>,
    /// As sent; when left out the type's version number is shown.
    pub version: Option<i64>,
    pub fields: Vec<CredentialField>,
}

fn color(target: &str, value: &str) -> Result<(), FieldError> {
    let ok = value.len() == 7 && value.starts_with('#') && value[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok { Ok(()) } else { Err(FieldError::invalid(target, format!("{target} must look like #1a2b3c."))) }
}

impl CredentialMetadata {
    /// PingOne's rules for a type's metadata under `mode`; every broken rule is reported.
    pub fn validate(&self, mode: ManagementMode) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (target, value) in [("metadata.cardColor", &self.card_color), ("metadata.textColor", &self.text_color)] {
            if let Some(Err(e)) = value.as_deref().map(|v| color(target, v)) {
                errors.push(e);
            }
        }
        if self.bg_opacity_percent.is_some_and(|p| !(0..=100).contains(&p)) {
            errors.push(FieldError::new(
                "metadata.bgOpacityPercent",
                FieldErrorKind::OutOfRange,
                "bgOpacityPercent must be from 0 to 100.",
            ));
        }
        if self.columns.is_some_and(|c| !(1..=3).contains(&c)) {
            errors.push(FieldError::new(
                "metadata.columns",
                FieldErrorKind::OutOfRange,
                "columns must be from 1 to 3.",
            ));
        }
        if self.fields.is_empty() {
            errors.push(FieldError::required("metadata.fields"));
        }
        let mut titles = HashSet::new();
        for (i, field) in self.fields.iter().enumerate() {
            let at = |name: &str| format!("metadata.fields[{i}].{name}");
            if field.id.trim().is_empty() {
                errors.push(FieldError::required(&at("id")));
            }
            if field.title.trim().is_empty() {
                errors.push(FieldError::required(&at("title")));
            } else if !titles.insert(field.title.as_str()) {
                errors.push(FieldError::new(
                    at("title"),
                    FieldErrorKind::NotUnique,
                    format!("Another field is titled {:?}.", field.title),
                ));
            }
            match field.kind {
                FieldType::AlphanumericText if mode == ManagementMode::Automated && field.value.is_none() => {
                    errors.push(FieldError::invalid(
                        &at("value"),
                        "An Alphanumeric Text field of an AUTOMATED type needs a value.",
                    ));
                }
                FieldType::IssuedTimestamp if field.value.is_some() => {
                    errors.push(FieldError::invalid(&at("value"), "An Issued Timestamp field takes no value."));
                }
                FieldType::DirectoryAttribute if field.attribute.is_none() => {
                    errors.push(FieldError::required(&at("attribute")));
                }
                FieldType::DirectoryAttribute if field.value.is_some() => {
                    errors.push(FieldError::invalid(
                        &at("value"),
                        "A Directory Attribute field takes an attribute, not a value.",
                    ));
                }
                _ => {}
            }
            if field.kind != FieldType::DirectoryAttribute {
                for (name, set) in [("default", field.default.is_some()), ("fileSupport", field.file_support.is_some())]
                {
                    if set {
                        errors.push(FieldError::invalid(
                            &at(name),
                            format!("Only a Directory Attribute field takes {name}."),
                        ));
                    }
                }
            }
        }
        let embedded = self
            .fields
            .iter()
            .filter(|f| matches!(f.file_support, Some(FileSupport::Base64String | FileSupport::IncludeFile)))
            .count();
        if embedded > MAX_EMBEDDED_FILE_FIELDS {
            errors.push(FieldError::new(
                "metadata.fields",
                FieldErrorKind::LimitExceeded,
                format!(
                    "At most {MAX_EMBEDDED_FILE_FIELDS} fields may have fileSupport BASE64_STRING or INCLUDE_FILE."
                ),
            ));
        }
        errors
    }
}

crate::text_enum! {
    pub enum ExpirationType {
        /// A field of the credential, named `fieldName`; no `expiresAt`.
        Soft => "SOFT",
        /// The credential's standard expiry, and the user credential's `expiresAt`.
        Hard => "HARD",
    }
}

crate::text_enum! {
    pub enum TimeUnit {
        Seconds => "SECONDS",
        Minutes => "MINUTES",
        Hours => "HOURS",
        Days => "DAYS",
    }
}

impl TimeUnit {
    fn seconds(self) -> i64 {
        match self {
            Self::Seconds => 1,
            Self::Minutes => 60,
            Self::Hours => 3600,
            Self::Days => 86_400,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpirationAfter {
    pub duration: i64,
    pub time_unit: TimeUnit,
}

/// When the credentials of an AUTOMATED type expire: exactly one of `after`,
/// `timestamp` and `expression`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiration {
    pub kind: ExpirationType,
    pub after: Option<ExpirationAfter>,
    pub timestamp: Option<Timestamp>,
    /// A PingOne Expression Language expression, kept as sent.
    pub expression: Option<String>,
    pub field_name: Option<String>,
}

/// `openid4VCI`: whether the type is offered over OpenID for Verifiable Credential Issuance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenId4Vci {
    pub enabled: bool,
    pub scope: String,
}

/// PingOne's scope for OpenID4VCI offers; a custom scope extends it after a colon.
pub const OPENID4VCI_SCOPE: &str = "p1:provision:credentials";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayField {
    /// A field's title.
    pub data_field_name: String,
    pub show_field_name: bool,
}

/// `visualizationTemplateData`: what the card shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visualization {
    pub show_title: Option<bool>,
    pub display_fields: Vec<DisplayField>,
}

/// A card shows one to three fields.
pub const MAX_DISPLAY_FIELDS: usize = 3;

/// A credential type's optional settings, each kept as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialTypeOptions {
    /// Deprecated SVG card design: it may be removed, never changed.
    pub card_design_template: Option<String>,
    pub expiration: Option<Expiration>,
    /// `multiple.expression`: a PingOne Expression Language expression, kept as sent.
    pub multiple: Option<String>,
    pub openid4vci: Option<OpenId4Vci>,
    pub visualization: Option<Visualization>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialType {
    pub id: Uuid,
    pub environment_id: Uuid,
    /// Immutable: wallets and verifiers find credentials by it.
    pub title: String,
    pub description: Option<String>,
    pub card_type: String,
    pub issuer_name: Option<String>,
    pub mode: ManagementMode,
    pub metadata: CredentialMetadata,
    pub options: CredentialTypeOptions,
    pub revoke_on_delete: bool,
    /// 1 at creation; each update that changes the type adds one.
    pub version: i64,
    /// The id of this version of the type, a new one with each version.
    pub version_id: Uuid,
    /// Soft delete: set when deleted, and the type is gone from lists.
    pub deleted_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What a client sets on a credential type (create, or full replace on update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialTypeFields {
    pub title: String,
    pub description: Option<String>,
    pub card_type: Option<String>,
    pub issuer_name: Option<String>,
    pub mode: ManagementMode,
    pub metadata: CredentialMetadata,
    pub options: CredentialTypeOptions,
    pub revoke_on_delete: bool,
}

impl CredentialTypeFields {
    /// PingOne's rules for a type; every broken rule is reported.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = self.metadata.validate(self.mode);
        let options = &self.options;
        if let Some(svg) = &options.card_design_template {
            let trimmed = svg.trim_end();
            if !(trimmed.starts_with("<svg") && trimmed.ends_with("</svg>")) {
                errors.push(FieldError::invalid("cardDesignTemplate", "cardDesignTemplate must be an SVG document."));
            }
        }
        if let Some(expiration) = &options.expiration {
            errors.extend(self.expiration_errors(expiration));
        }
        if let Some(openid4vci) = &options.openid4vci {
            let scope = openid4vci.scope.as_str();
            let custom = scope.strip_prefix(OPENID4VCI_SCOPE).and_then(|rest| rest.strip_prefix(':'));
            if scope != OPENID4VCI_SCOPE && custom.is_none_or(str::is_empty) {
                errors.push(FieldError::invalid(
                    "openid4VCI.scope",
                    format!("openid4VCI.scope must be {OPENID4VCI_SCOPE} or start with {OPENID4VCI_SCOPE}:."),
                ));
            }
        }
        if let Some(visualization) = &options.visualization {
            if !(1..=MAX_DISPLAY_FIELDS).contains(&visualization.display_fields.len()) {
                errors.push(FieldError::new(
                    "visualizationTemplateData.displayFields",
                    FieldErrorKind::OutOfRange,
                    format!("visualizationTemplateData.displayFields must have 1 to {MAX_DISPLAY_FIELDS} items."),
                ));
            }
            for (i, shown) in visualization.display_fields.iter().enumerate() {
                if !self.metadata.fields.iter().any(|f| f.title == shown.data_field_name) {
                    errors.push(FieldError::invalid(
                        &format!("visualizationTemplateData.displayFields[{i}].dataFieldName"),
                        format!("{:?} is not the title of a field of the type.", shown.data_field_name),
                    ));
                }
            }
        }
        errors
    }

    fn expiration_errors(&self, expiration: &Expiration) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.mode == ManagementMode::Managed {
            errors.push(FieldError::invalid(
                "expiration",
                "expiration is permitted only when management.mode is AUTOMATED.",
            ));
        }
        let given = [expiration.after.is_some(), expiration.timestamp.is_some(), expiration.expression.is_some()];
        if given.iter().filter(|&&g| g).count() != 1 {
            errors.push(FieldError::invalid(
                "expiration",
                "expiration takes exactly one of after, timestamp and expression.",
            ));
        }
        if let Some(after) = expiration.after
            && after.duration.saturating_mul(after.time_unit.seconds()) < 3600
        {
            errors.push(FieldError::new(
                "expiration.after.duration",
                FieldErrorKind::OutOfRange,
                "expiration.after must be at least one hour.",
            ));
        }
        match (&expiration.field_name, expiration.kind) {
            (None, ExpirationType::Soft) => errors.push(FieldError::required("expiration.fieldName")),
            (Some(name), _) if self.metadata.fields.iter().any(|f| &f.title == name) => {
                errors.push(FieldError::new(
                    "expiration.fieldName",
                    FieldErrorKind::NotUnique,
                    format!("A field of the type is titled {name:?} already."),
                ));
            }
            _ => {}
        }
        errors
    }
}

impl CredentialType {
    pub fn new(id: Uuid, environment_id: Uuid, fields: CredentialTypeFields, now: Timestamp) -> Self {
        Self {
            id,
            environment_id,
            card_type: fields.card_type.unwrap_or_else(|| fields.title.clone()),
            title: fields.title,
            description: fields.description,
            issuer_name: fields.issuer_name,
            mode: fields.mode,
            metadata: fields.metadata,
            options: fields.options,
            revoke_on_delete: fields.revoke_on_delete,
            version: 1,
            version_id: new_id(),
            deleted_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// A full replace. `title`, `openid4VCI.scope` and `cardDesignTemplate` (which may
    /// only be removed) are immutable; a change to anything else is a new version.
    pub fn replace(&mut self, fields: CredentialTypeFields, now: Timestamp) -> Result<(), FieldError> {
        if fields.title != self.title {
            return Err(FieldError::invalid("title", "title is immutable."));
        }
        let (old, new) = (&self.options, &fields.options);
        if new.card_design_template.is_some() && new.card_design_template != old.card_design_template {
            return Err(FieldError::invalid(
                "cardDesignTemplate",
                "cardDesignTemplate cannot be changed, only removed.",
            ));
        }
        let scope = |o: &CredentialTypeOptions| o.openid4vci.as_ref().map(|o| o.scope.clone());
        if let (Some(old_scope), Some(new_scope)) = (scope(old), scope(new))
            && old_scope != new_scope
        {
            return Err(FieldError::invalid("openid4VCI.scope", "openid4VCI.scope is immutable."));
        }
        let mut next = Self::new(self.id, self.environment_id, fields, self.created_at);
        (next.version, next.version_id, next.deleted_at, next.updated_at) =
            (self.version, self.version_id, self.deleted_at, self.updated_at);
        if next != *self {
            next.version += 1;
            next.version_id = new_id();
            next.updated_at = now;
        }
        *self = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: FieldType, title: &str, value: Option<&str>, attribute: Option<&str>) -> CredentialField {
        CredentialField {
            id: format!("{} -> {title}", kind.as_str()),
            kind,
            title: title.into(),
            value: value.map(Into::into),
            attribute: attribute.map(Into::into),
            default: None,
            file_support: None,
            required: false,
            is_visible: None,
        }
    }

    #[test]
    fn metadata_rules_per_field_type_and_mode() {
        let metadata = CredentialMetadata {
            card_color: Some("blue".into()),
            fields: vec![
                field(FieldType::AlphanumericText, "Name", None, None),
                field(FieldType::IssuedTimestamp, "Issued", Some("now"), None),
                field(FieldType::DirectoryAttribute, "Email", None, None),
                field(FieldType::AlphanumericText, "Name", Some("x"), None),
            ],
            ..Default::default()
        };
        let targets = |mode| metadata.validate(mode).into_iter().map(|e| e.target).collect::<Vec<_>>();
        assert_eq!(
            targets(ManagementMode::Automated),
            [
                "metadata.cardColor",
                "metadata.fields[0].value",
                "metadata.fields[1].value",
                "metadata.fields[2].attribute",
                "metadata.fields[3].title"
            ]
        );
        // MANAGED types may leave an Alphanumeric Text value to the request's data.
        assert_eq!(targets(ManagementMode::Managed).len(), 4);
        assert_eq!(CredentialMetadata::default().validate(ManagementMode::Managed)[0].target, "metadata.fields");
    }

    #[test]
    fn a_changing_replace_is_a_new_version_and_title_is_immutable() {
        let now = crate::time::now();
        let fields = CredentialTypeFields {
            title: "Membership".into(),
            description: None,
            card_type: None,
            issuer_name: None,
            mode: ManagementMode::Managed,
            metadata: CredentialMetadata {
                fields: vec![field(FieldType::AlphanumericText, "Level", None, None)],
                ..Default::default()
            },
            options: CredentialTypeOptions::default(),
            revoke_on_delete: true,
        };
        let mut kind = CredentialType::new(Uuid::nil(), Uuid::nil(), fields.clone(), now);
        assert_eq!((kind.version, kind.card_type.as_str()), (1, "Membership"));
        let first_version = kind.version_id;
        kind.replace(fields.clone(), now).unwrap();
        assert_eq!((kind.version, kind.version_id), (1, first_version), "nothing changed");
        kind.replace(CredentialTypeFields { description: Some("Gold".into()), ..fields.clone() }, now).unwrap();
        assert_eq!(kind.version, 2);
        assert_ne!(kind.version_id, first_version);
        assert_eq!(
            kind.replace(CredentialTypeFields { title: "Other".into(), ..fields }, now).unwrap_err().target,
            "title"
        );
    }
}

crate::text_enum! {
    pub enum CredentialStatus {
        /// Waiting for an active wallet.
        Pending => "PENDING",
        /// Provisioned to at least one active wallet.
        Issued => "ISSUED",
        Revoked => "REVOKED",
    }
}

crate::text_enum! {
    pub enum ProvisionStatus {
        Created => "CREATED",
        Accepted => "ACCEPTED",
        Rejected => "REJECTED",
        Revoked => "REVOKED",
        Deleted => "DELETED",
    }
}

crate::text_enum! {
    pub enum WalletAction {
        Accepted => "CREDENTIAL_ACCEPTED",
        Rejected => "CREDENTIAL_REJECTED",
        Revoked => "CREDENTIAL_REVOKED",
        Deleted => "CREDENTIAL_DELETED",
    }
}

impl WalletAction {
    /// The status a provisioned credential takes with this action.
    pub fn status(self) -> ProvisionStatus {
        match self {
            Self::Accepted => ProvisionStatus::Accepted,
            Self::Rejected => ProvisionStatus::Rejected,
            Self::Revoked => ProvisionStatus::Revoked,
            Self::Deleted => ProvisionStatus::Deleted,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCredential {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub user_id: Uuid,
    pub credential_type_id: Uuid,
    pub type_version: i64,
    /// The id of the type's version it was issued from; none for credentials made
    /// before credd kept versions.
    pub type_version_id: Option<Uuid>,
    /// `demoDataStorage.storeUntilIssued`, as sent at creation.
    pub store_until_issued: bool,
    /// The type's title.
    pub title: String,
    pub status: CredentialStatus,
    pub expires_at: Option<Timestamp>,
    /// The `notification` block answered at creation (JSON text).
    pub notification: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One credential in one wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedCredential {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub user_id: Uuid,
    pub credential_id: Uuid,
    pub wallet_id: Uuid,
    pub status: ProvisionStatus,
    /// The signed credential waiting in the wallet's mailbox, sealed; wiped when the
    /// wallet acts on it or its time to live passes.
    pub sealed_payload: Option<Vec<u8>>,
    pub delivered_at: Option<Timestamp>,
    /// Why the last delivery attempt failed, if it did.
    pub delivery_error: Option<String>,
    /// The delivery job this copy waits for: an older job (the copy was updated
    /// since) delivers nothing.
    pub delivery_job_id: Option<Uuid>,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletActionRecord {
    pub action: WalletAction,
    pub occurred_at: Timestamp,
}

/// A version of a credential type: the type as it was when that version was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialTypeVersion {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub credential_type_id: Uuid,
    pub number: i64,
    pub snapshot: CredentialType,
    pub created_at: Timestamp,
}

impl CredentialTypeVersion {
    /// The version the type is at now.
    pub fn of(credential_type: &CredentialType) -> Self {
        Self {
            id: credential_type.version_id,
            environment_id: credential_type.environment_id,
            credential_type_id: credential_type.id,
            number: credential_type.version,
            snapshot: credential_type.clone(),
            created_at: credential_type.updated_at,
        }
    }
}

/// The claims of a credential made without `data`: each Alphanumeric Text field's
/// default `value`, or empty.
pub fn default_claims(credential_type: &CredentialType) -> std::collections::BTreeMap<String, String> {
    credential_type
        .metadata
        .fields
        .iter()
        .filter(|f| f.kind == FieldType::AlphanumericText)
        .map(|f| (f.title.clone(), f.value.clone().unwrap_or_default()))
        .collect()
}

/// The claims of a credential from its type and the request's `data`: each
/// Alphanumeric Text field takes `data[title]`, else its default `value`. `data`
/// may only name Alphanumeric Text fields, and must give every required field that
/// has no default. Other field types are filled when the credential is built.
pub fn claims_from_data(
    credential_type: &CredentialType,
    data: &std::collections::BTreeMap<String, String>,
) -> Result<std::collections::BTreeMap<String, String>, Vec<FieldError>> {
    let mut errors = Vec::new();
    for key in data.keys() {
        match credential_type.metadata.fields.iter().find(|f| &f.title == key) {
            None => errors.push(FieldError::invalid(
                &format!("data.{key}"),
                format!("{key} is not a field of the credential type."),
            )),
            Some(f) if f.kind != FieldType::AlphanumericText => errors.push(FieldError::invalid(
                &format!("data.{key}"),
                format!("{key} is a {} field; data fills only Alphanumeric Text fields.", f.kind.as_str()),
            )),
            Some(_) => {}
        }
    }
    let mut claims = std::collections::BTreeMap::new();
    for field in credential_type.metadata.fields.iter().filter(|f| f.kind == FieldType::AlphanumericText) {
        match data.get(&field.title).or(field.value.as_ref()) {
            Some(value) => {
                claims.insert(field.title.clone(), value.clone());
            }
            None if field.required => errors.push(FieldError::required(&format!("data.{}", field.title))),
            None => {
                claims.insert(field.title.clone(), String::new());
            }
        }
    }
    if errors.is_empty() { Ok(claims) } else { Err(errors) }
}
