//! Notification template contents and notifications, on SQLite.

use domain::StoreError;
use domain::notification::{Notification, NotificationFilter, NotificationStatus, TemplateContent, TemplateName};
use domain::page::{Page, PageRequest};
use domain::store::{NotificationStore, StoreResult};
use domain::time::Timestamp;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::rows::{NotificationRow, TemplateContentRow};
use crate::{SqliteStore, backend, one_row};

pub(crate) async fn insert_template_content(conn: &mut SqliteConnection, content: &TemplateContent) -> StoreResult<()> {
    let (id, environment_id) = (content.id.hyphenated(), content.environment_id.hyphenated());
    let (template, method) = (content.template.as_str(), content.delivery_method.as_str());
    sqlx::query!(
        "INSERT INTO template_contents (id, environment_id, template, delivery_method, locale, variant, subject, body,
                                        created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        id,
        environment_id,
        template,
        method,
        content.locale,
        content.variant,
        content.subject,
        content.body,
        content.created_at,
        content.updated_at,
    )
    .execute(conn)
    .await
    .map(drop)
    .map_err(backend)
}

impl NotificationStore for SqliteStore {
    async fn create_template_content(&self, content: &TemplateContent) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        insert_template_content(&mut tx, content).await?;
        tx.commit().await
    }

    async fn template_content(
        &self,
        environment_id: Uuid,
        template: TemplateName,
        id: Uuid,
    ) -> StoreResult<TemplateContent> {
        let (environment_id, template, id) = (environment_id.hyphenated(), template.as_str(), id.hyphenated());
        sqlx::query_as!(
            TemplateContentRow,
            "SELECT id, environment_id, template, delivery_method, locale, variant, subject, body, created_at, updated_at
             FROM template_contents WHERE environment_id = ?1 AND template = ?2 AND id = ?3",
            environment_id,
            template,
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn template_contents(
        &self,
        environment_id: Uuid,
        template: TemplateName,
    ) -> StoreResult<Vec<TemplateContent>> {
        let (environment_id, template) = (environment_id.hyphenated(), template.as_str());
        let rows = sqlx::query_as!(
            TemplateContentRow,
            "SELECT id, environment_id, template, delivery_method, locale, variant, subject, body, created_at, updated_at
             FROM template_contents WHERE environment_id = ?1 AND template = ?2 ORDER BY id",
            environment_id,
            template
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn update_template_content(&self, content: &TemplateContent) -> StoreResult<()> {
        let (id, environment_id, template) =
            (content.id.hyphenated(), content.environment_id.hyphenated(), content.template.as_str());
        let method = content.delivery_method.as_str();
        let result = self
            .writer
            .execute(sqlx::query!(
                "UPDATE template_contents SET delivery_method = ?4, locale = ?5, variant = ?6, subject = ?7, body = ?8,
                                          updated_at = ?9
             WHERE environment_id = ?1 AND template = ?2 AND id = ?3",
                environment_id,
                template,
                id,
                method,
                content.locale,
                content.variant,
                content.subject,
                content.body,
                content.updated_at,
            ))
            .await?;
        one_row(result)
    }

    async fn delete_template_content(&self, environment_id: Uuid, template: TemplateName, id: Uuid) -> StoreResult<()> {
        let (environment_id, template, id) = (environment_id.hyphenated(), template.as_str(), id.hyphenated());
        let result = self
            .writer
            .execute(sqlx::query!(
                "DELETE FROM template_contents WHERE environment_id = ?1 AND template = ?2 AND id = ?3",
                environment_id,
                template,
                id
            ))
            .await?;
        one_row(result)
    }

    async fn notification(&self, id: Uuid) -> StoreResult<Notification> {
        let id = id.hyphenated();
        sqlx::query_as!(
            NotificationRow,
            "SELECT id, environment_id, user_id, template, delivery_method, recipient, locale, variant, sealed_message,
                    status, error, created_at, sent_at
             FROM notifications WHERE id = ?1",
            id
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn notifications(
        &self,
        environment_id: Uuid,
        filter: &NotificationFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Notification>> {
        let environment_id = environment_id.hyphenated();
        let before = page.after.map(|id| id.hyphenated());
        let user_id = filter.user_id.map(|id| id.hyphenated());
        let template = filter.template.map(TemplateName::as_str);
        let limit = page.fetch_limit();
        let rows = sqlx::query_as!(
            NotificationRow,
            "SELECT id, environment_id, user_id, template, delivery_method, recipient, locale, variant, sealed_message,
                    status, error, created_at, sent_at
             FROM notifications
             WHERE environment_id = ?1 AND (?2 IS NULL OR id < ?2)
               AND (?3 IS NULL OR user_id = ?3) AND (?4 IS NULL OR template = ?4)
             ORDER BY id DESC LIMIT ?5",
            environment_id,
            before,
            user_id,
            template,
            limit
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Page::from_overfetch(rows, page).try_map(TryInto::try_into)
    }

    async fn count_notifications(&self, environment_id: Uuid) -> StoreResult<u64> {
        let environment_id = environment_id.hyphenated();
        let count = sqlx::query_scalar!("SELECT COUNT(*) FROM notifications WHERE environment_id = ?1", environment_id)
            .fetch_one(&self.reader)
            .await
            .map_err(backend)?;
        Ok(count.unsigned_abs())
    }

    async fn settle_notification(
        &self,
        id: Uuid,
        status: NotificationStatus,
        error: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<()> {
        let (id, status) = (id.hyphenated(), status.as_str());
        let sent_at = (status == NotificationStatus::Sent.as_str()).then_some(at);
        let result = self
            .writer
            .execute(sqlx::query!(
                "UPDATE notifications SET status = ?2, error = ?3, sent_at = ?4 WHERE id = ?1",
                id,
                status,
                error,
                sent_at,
            ))
            .await?;
        one_row(result)
    }
}
