//! Environments: the tenants of credd. Every other record belongs to one.

use uuid::Uuid;

use crate::time::Timestamp;
use crate::validation::{FieldError, bounded_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvironmentType {
    Sandbox,
    Production,
}

impl EnvironmentType {
    pub const ALL: [Self; 2] = [Self::Sandbox, Self::Production];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "SANDBOX",
            Self::Production => "PRODUCTION",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }
}

/// PingOne's regions. credd runs wherever it is deployed; the region is a label
/// clients may rely on seeing, so it is kept as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    NorthAmerica,
    Europe,
    Canada,
    AsiaPacific,
    Australia,
}

impl Region {
    pub const ALL: [Self; 5] = [Self::NorthAmerica, Self::Europe, Self::Canada, Self::AsiaPacific, Self::Australia];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NorthAmerica => "NA",
            Self::Europe => "EU",
            Self::Canada => "CA",
            Self::AsiaPacific => "AP",
            Self::Australia => "AU",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
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
