//! Users.

use uuid::Uuid;

use crate::time::Timestamp;
use crate::user::User;

pub struct UserRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub population_id: Id,
    pub enabled: bool,
    pub username: String,
    pub email: Option<String>,
    pub mobile_phone: Option<String>,
    pub primary_phone: Option<String>,
    pub locale: Option<String>,
    pub preferred_language: Option<String>,
    pub name_given: Option<String>,
    pub name_family: Option<String>,
    pub name_formatted: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> From<UserRecord<Id>> for User {
    fn from(row: UserRecord<Id>) -> Self {
        Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            population_id: row.population_id.into(),
            enabled: row.enabled,
            username: row.username,
            email: row.email,
            mobile_phone: row.mobile_phone,
            primary_phone: row.primary_phone,
            locale: row.locale,
            preferred_language: row.preferred_language,
            name_given: row.name_given,
            name_family: row.name_family,
            name_formatted: row.name_formatted,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
