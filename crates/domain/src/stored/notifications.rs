//! Notification template contents and notifications.

use uuid::Uuid;

use crate::notification::{DeliveryMethod, Notification, NotificationStatus, TemplateContent, TemplateName};
use crate::store::{StoreError, StoreResult};
use crate::time::Timestamp;

pub struct TemplateContentRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub template: String,
    pub delivery_method: String,
    pub locale: String,
    pub variant: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<TemplateContentRecord<Id>> for TemplateContent {
    type Error = StoreError;

    fn try_from(row: TemplateContentRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            template: StoreError::parse_stored("template", &row.template, TemplateName::parse)?,
            delivery_method: StoreError::parse_stored("delivery method", &row.delivery_method, DeliveryMethod::parse)?,
            locale: row.locale,
            variant: row.variant,
            subject: row.subject,
            body: row.body,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub struct NotificationRecord<Id> {
    pub id: Id,
    pub environment_id: Id,
    pub user_id: Option<Id>,
    pub template: String,
    pub delivery_method: String,
    pub recipient: String,
    pub locale: String,
    pub variant: Option<String>,
    pub sealed_message: Vec<u8>,
    pub status: String,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

impl<Id: Into<Uuid>> TryFrom<NotificationRecord<Id>> for Notification {
    type Error = StoreError;

    fn try_from(row: NotificationRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            environment_id: row.environment_id.into(),
            user_id: row.user_id.map(Into::into),
            template: StoreError::parse_stored("template", &row.template, TemplateName::parse)?,
            delivery_method: StoreError::parse_stored("delivery method", &row.delivery_method, DeliveryMethod::parse)?,
            recipient: row.recipient,
            locale: row.locale,
            variant: row.variant,
            sealed_message: row.sealed_message,
            status: StoreError::parse_stored("notification status", &row.status, NotificationStatus::parse)?,
            error: row.error,
            created_at: row.created_at,
            sent_at: row.sent_at,
        })
    }
}
