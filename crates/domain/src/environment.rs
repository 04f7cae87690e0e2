//! Environments: the tenants of credd. Every other record belongs to one.

use uuid::Uuid;

use crate::time::Timestamp;
use crate::validation::{FieldError, bounded_text};

crate::text_enum! {
    pub enum EnvironmentType {
        Sandbox => "SANDBOX",
        Production => "PRODUCTION",
    }
}

crate::text_enum! {
    /// PingOne's regions. credd runs wherever it is deployed; the region is a label
    /// clients may rely on seeing, so it is kept as given.
    pub enum Region {
        NorthAmerica => "NA",
        Europe => "EU",
        Canada => "CA",
        AsiaPacific => "AP",
        Australia => "AU",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentName(String);

impl EnvironmentName {
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        bounded_text("name", value, 256).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub kind: EnvironmentType,
    pub region: Region,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What a client may set on an environment (create, or full replace on update).
#[derive(Debug, Clone)]
pub struct EnvironmentFields {
    pub name: EnvironmentName,
    pub description: Option<String>,
    pub kind: EnvironmentType,
}

impl Environment {
    pub fn new(id: Uuid, fields: EnvironmentFields, region: Region, now: Timestamp) -> Self {
        Self {
            id,
            name: fields.name.0,
            description: fields.description,
            kind: fields.kind,
            region,
            created_at: now,
            updated_at: now,
        }
    }

    /// Full replace of the mutable fields; `region` and `createdAt` are immutable.
    pub fn replace(&mut self, fields: EnvironmentFields, now: Timestamp) {
        self.name = fields.name.0;
        self.description = fields.description;
        self.kind = fields.kind;
        self.updated_at = now;
    }
}
