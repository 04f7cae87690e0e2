//! Notification template contents, and the notifications sent with them.

use std::future::Future;

use uuid::Uuid;

use super::StoreResult;
use crate::notification::{Notification, NotificationFilter, NotificationStatus, TemplateContent, TemplateName};
use crate::page::{Page, PageRequest};
use crate::time::Timestamp;

pub trait NotificationStore {
    // Notification template contents --------------------------------------------

    /// `Conflict` when the template, method, locale and variant already have one.
    fn create_template_content(&self, content: &TemplateContent) -> impl Future<Output = StoreResult<()>> + Send;
    fn template_content(
        &self,
        environment_id: Uuid,
        template: TemplateName,
        id: Uuid,
    ) -> impl Future<Output = StoreResult<TemplateContent>> + Send;
    /// Oldest first.
    fn template_contents(
        &self,
        environment_id: Uuid,
        template: TemplateName,
    ) -> impl Future<Output = StoreResult<Vec<TemplateContent>>> + Send;
    fn update_template_content(&self, content: &TemplateContent) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_template_content(
        &self,
        environment_id: Uuid,
        template: TemplateName,
        id: Uuid,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    // Notifications ----------------------------------------------------------------

    fn notification(&self, id: Uuid) -> impl Future<Output = StoreResult<Notification>> + Send;
    /// Newest first.
    fn notifications(
        &self,
        environment_id: Uuid,
        filter: &NotificationFilter,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<Notification>>> + Send;
    /// How many notifications the environment keeps: the `count` of an unfiltered list.
    fn count_notifications(&self, environment_id: Uuid) -> impl Future<Output = StoreResult<u64>> + Send;
    fn settle_notification(
        &self,
        id: Uuid,
        status: NotificationStatus,
        error: Option<&str>,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
