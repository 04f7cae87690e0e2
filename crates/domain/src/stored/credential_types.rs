//! Issuer profiles and credential types with their fields.

use uuid::Uuid;

use crate::credential::{
    CredentialField, CredentialMetadata, CredentialType, FieldType, IssuerProfile, ManagementMode,
};
use crate::store::{StoreError, StoreResult};
use crate::time::Timestamp;

pub struct IssuerProfileRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub name: String,
    pub site_url: Option<String>,
    pub public_key: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> From<IssuerProfileRecord<Id>> for IssuerProfile {
    fn from(row: IssuerProfileRecord<Id>) -> Self {
        Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            name: row.name,
            site_url: row.site_url,
            public_key: row.public_key,
            sealed_private_key: row.sealed_private_key,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
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
    pub revoke_on_delete: bool,
    pub version: i64,
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
    pub required: bool,
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
                required: f.required,
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
            fields,
        },
        revoke_on_delete: row.revoke_on_delete,
        version: row.version,
        deleted_at: row.deleted_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
