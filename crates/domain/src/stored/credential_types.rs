//! Issuer profiles and credential types with their fields and versions.
//!
//! The parts read and written only whole (a type's optional settings, a version's
//! snapshot, the profile's `credentialSigning`) are stored as JSON text.

use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::credential::{
    CredentialField, CredentialMetadata, CredentialSigning, CredentialType, CredentialTypeOptions,
    CredentialTypeVersion, FieldType, FileSupport, IssuerProfile, ManagementMode,
};
use crate::store::{StoreError, StoreResult};
use crate::time::Timestamp;

/// The JSON text a store keeps for a value.
pub fn encode_json<T: Serialize>(value: &T) -> String {
    // Plain structs of strings, numbers and maps with string keys: they always encode.
    serde_json::to_string(value).expect("stored JSON encodes")
}

pub(super) fn decode_json<T: DeserializeOwned>(column: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(format!("unreadable {column} in the database: {e}")))
}

/// A type's optional settings as stored: none when it has none.
pub fn encode_options(options: &CredentialTypeOptions) -> Option<String> {
    (*options != CredentialTypeOptions::default()).then(|| encode_json(options))
}

pub struct IssuerProfileRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub application_instance_id: Id,
    pub name: String,
    pub site_url: Option<String>,
    pub logo: Option<String>,
    pub use_custom_domain: bool,
    pub credential_signing: Option<String>,
    pub public_key: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<IssuerProfileRecord<Id>> for IssuerProfile {
    type Error = StoreError;

    fn try_from(row: IssuerProfileRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            application_instance_id: row.application_instance_id.into(),
            name: row.name,
            site_url: row.site_url,
            logo: row.logo,
            use_custom_domain: row.use_custom_domain,
            credential_signing: row
                .credential_signing
                .map(|s| decode_json::<CredentialSigning>("credential signing", &s))
                .transpose()?,
            public_key: row.public_key,
            sealed_private_key: row.sealed_private_key,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
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
    pub metadata_version: Option<i64>,
    pub options: Option<String>,
    pub revoke_on_delete: bool,
    pub version: i64,
    pub version_id: Id,
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
    pub default_value: Option<String>,
    pub file_support: Option<String>,
    pub required: bool,
    pub is_visible: Option<bool>,
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
                default: f.default_value,
                file_support: f
                    .file_support
                    .map(|s| StoreError::parse_stored("file support", &s, FileSupport::parse))
                    .transpose()?,
                required: f.required,
                is_visible: f.is_visible,
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
            version: row.metadata_version,
            fields,
        },
        options: row.options.map(|o| decode_json("credential type options", &o)).transpose()?.unwrap_or_default(),
        revoke_on_delete: row.revoke_on_delete,
        version: row.version,
        version_id: row.version_id.into(),
        deleted_at: row.deleted_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub struct CredentialTypeVersionRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub type_id: Id,
    pub number: i64,
    pub snapshot: String,
    pub created_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<CredentialTypeVersionRecord<Id>> for CredentialTypeVersion {
    type Error = StoreError;

    fn try_from(row: CredentialTypeVersionRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            credential_type_id: row.type_id.into(),
            number: row.number,
            snapshot: decode_json("credential type version", &row.snapshot)?,
            created_at: row.created_at,
        })
    }
}
