//! Template contents (`/v1/environments/{envId}/templates/{templateName}/contents`)
//! and the sent messages (`/v1/environments/{envId}/notifications`), newest first,
//! so a test suite can read the pairing link or the code it just caused.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use domain::notification::{
    DeliveryMethod, Notification, TemplateContent, TemplateContentFields, TemplateName, normalize_locale,
    normalize_variant,
};
use domain::validation::{Collector, FieldError, bounded_text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Caller, Json, Path, Query};
use super::openapi;
use super::wire::{self, Links, ListQuery, Ref};
use crate::error::{Error, Result};
use crate::service::notifications::OpenedNotification;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contents, create_content))
        .routes(routes!(read_content, replace_content, delete_content))
        .routes(routes!(list_notifications))
        .routes(routes!(read_notification))
}

fn template(name: &str) -> Result<TemplateName> {
    TemplateName::parse(name).ok_or(Error::NotFound)
}

/// A template's text for one delivery method, locale and (optional) variant.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TemplateContentRequest)]
pub(super) struct ContentBody {
    /// `Voice` and `WhatsApp` only for `device_pairing`.
    #[schema(required = true, nullable = false, value_type = Option<openapi::DeliveryMethod>)]
    delivery_method: Option<String>,
    /// Compared case-insensitively.
    #[schema(required = true, nullable = false, value_type = Option<openapi::LanguageTag>)]
    locale: Option<String>,
    #[schema(value_type = Option<openapi::Text>)]
    variant: Option<String>,
    /// Email only.
    #[schema(value_type = Option<openapi::Text>)]
    subject: Option<String>,
    /// Email text.
    #[schema(value_type = Option<openapi::Text>)]
    body: Option<String>,
    /// SMS, voice and WhatsApp text.
    #[schema(value_type = Option<openapi::Text>)]
    content: Option<String>,
}

impl ContentBody {
    /// The content as the body describes it, for `template`.
    pub(super) fn parse(self, template: TemplateName) -> Result<TemplateContentFields, Vec<FieldError>> {
        let mut errors = Collector::default();
        let method = errors.take(
            self.delivery_method.as_deref().ok_or_else(|| FieldError::required("deliveryMethod")).and_then(|m| {
                DeliveryMethod::parse(m).filter(|m| template.delivery_methods().contains(m)).ok_or_else(|| {
                    FieldError::invalid(
                        "deliveryMethod",
                        "The configured delivery method does not apply to the selected template.",
                    )
                })
            }),
        );
        let locale = errors.take(
            self.locale
                .as_deref()
                .ok_or_else(|| FieldError::required("locale"))
                .and_then(|l| normalize_locale("locale", l)),
        );
        let variant = self.variant.as_deref().and_then(|v| errors.take(normalize_variant(v)));
        let subject = self.subject.as_deref().and_then(|s| errors.take(bounded_text("subject", s, 256)));
        let (field, text) = match method {
            Some(DeliveryMethod::Email) | None => ("body", self.body),
            Some(_) => ("content", self.content),
        };
        let text = errors.take(
            text.as_deref().ok_or_else(|| FieldError::required(field)).and_then(|t| bounded_text(field, t, 100_000)),
        );
        let fields = method.zip(locale).zip(text).map(|((delivery_method, locale), body)| TemplateContentFields {
            delivery_method,
            locale,
            variant,
            subject: subject.filter(|_| delivery_method == DeliveryMethod::Email),
            body,
        });
        errors.finish_with(fields)
    }
}

/// An administrator's content: Email has `subject` and `body`, the others `content`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TemplateContent)]
pub(super) struct TemplateContentView {
    #[serde(rename = "_links")]
    links: wire::LinkSet,
    id: Uuid,
    environment: Ref,
    template: TemplateRef,
    #[schema(value_type = openapi::DeliveryMethod)]
    delivery_method: &'static str,
    /// Lower case.
    locale: String,
    /// `false`: credd's built-in contents are not listed.
    default: bool,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    created_at: domain::time::Timestamp,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    updated_at: domain::time::Timestamp,
    /// Lower case.
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
}

/// A template, by its name.
#[derive(Serialize, ToSchema)]
struct TemplateRef {
    #[schema(value_type = openapi::TemplateName)]
    name: &'static str,
}

wire::collection!(TemplateContents, "contents", TemplateContentView);

pub(super) fn content_view(links: &Links, content: TemplateContent) -> TemplateContentView {
    let template = format!("/v1/environments/{}/templates/{}", content.environment_id, content.template.as_str());
    let path = format!("{template}/contents/{}", content.id);
    let email = content.delivery_method == DeliveryMethod::Email;
    let (body, text) = if email { (Some(content.body), None) } else { (None, Some(content.body)) };
    TemplateContentView {
        links: links.set([("self", &path), ("template", &template)]),
        id: content.id,
        environment: Ref { id: content.environment_id },
        template: TemplateRef { name: content.template.as_str() },
        delivery_method: content.delivery_method.as_str(),
        locale: content.locale,
        default: false,
        created_at: content.created_at,
        updated_at: content.updated_at,
        variant: content.variant,
        subject: content.subject.filter(|_| email),
        body,
        content: text,
    }
}

/// Add a content to a template.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/templates/{template_name}/contents",
    operation_id = "createTemplateContent", tag = "Notification templates", request_body = ContentBody,
    responses(
        (status = 201, description = "The new content.", body = TemplateContentView),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: the template has a content for this delivery \
            method, locale and variant.", body = ErrorBody),
    ))]
async fn create_content(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, name)): Path<(Uuid, String)>,
    Json(body): Json<ContentBody>,
) -> Result<(StatusCode, Json<TemplateContentView>)> {
    let template = template(&name)?;
    let fields = body.parse(template)?;
    let created = state.credd.create_template_content(&caller, environment_id, template, fields).await?;
    Ok((StatusCode::CREATED, Json(content_view(&state.links, created))))
}

/// List a template's contents (the administrator's; not the built-in ones).
#[utoipa::path(get, path = "/v1/environments/{environment_id}/templates/{template_name}/contents",
    operation_id = "listTemplateContents", tag = "Notification templates",
    params(("filter" = Option<String>, Query,
        description = "SCIM: `locale` eq or sw, `deliveryMethod` eq; joined by `and`, `or`, parentheses.")),
    responses((status = 200, description = "The contents.", body = TemplateContents)))]
async fn list_contents(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, name)): Path<(Uuid, String)>,
    Query(query): Query<ListQuery>,
) -> Result<Json<TemplateContents>> {
    let filter = query.unpaged::<TemplateContent>()?;
    let contents = state.credd.template_contents(&caller, environment_id, template(&name)?, filter.as_ref()).await?;
    let path = format!("/v1/environments/{environment_id}/templates/{name}/contents");
    let items = contents.into_iter().map(|c| content_view(&state.links, c)).collect();
    Ok(Json(TemplateContents::all(&state.links, &path, items)))
}

/// Read a template content.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/templates/{template_name}/contents/{content_id}",
    operation_id = "readTemplateContent", tag = "Notification templates",
    responses((status = 200, description = "The content.", body = TemplateContentView)))]
async fn read_content(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, name, id)): Path<(Uuid, String, Uuid)>,
) -> Result<Json<TemplateContentView>> {
    let content = state.credd.template_content(&caller, environment_id, template(&name)?, id).await?;
    Ok(Json(content_view(&state.links, content)))
}

/// Replace a template content.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/templates/{template_name}/contents/{content_id}",
    operation_id = "replaceTemplateContent", tag = "Notification templates", request_body = ContentBody,
    responses(
        (status = 200, description = "The content.", body = TemplateContentView),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: the template has a content for this delivery \
            method, locale and variant.", body = ErrorBody),
    ))]
async fn replace_content(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, name, id)): Path<(Uuid, String, Uuid)>,
    Json(body): Json<ContentBody>,
) -> Result<Json<TemplateContentView>> {
    let template = template(&name)?;
    let fields = body.parse(template)?;
    let content = state.credd.replace_template_content(&caller, environment_id, template, id, fields).await?;
    Ok(Json(content_view(&state.links, content)))
}

/// Delete a template content.
#[utoipa::path(delete, path = "/v1/environments/{environment_id}/templates/{template_name}/contents/{content_id}",
    operation_id = "deleteTemplateContent", tag = "Notification templates",
    responses((status = 204, description = "Deleted.")))]
async fn delete_content(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, name, id)): Path<(Uuid, String, Uuid)>,
) -> Result<StatusCode> {
    state.credd.delete_template_content(&caller, environment_id, template(&name)?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A message credd sent (or is sending), with its text, so a test suite can read the
/// link or code it carries.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Notification)]
struct NotificationView {
    #[serde(rename = "_links")]
    links: wire::LinkSet,
    id: Uuid,
    environment: Ref,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<Ref>,
    template: TemplateRef,
    #[schema(value_type = openapi::DeliveryMethod)]
    delivery_method: &'static str,
    recipient: String,
    locale: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<String>,
    #[schema(value_type = openapi::NotificationStatus)]
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    body: String,
    /// Why the last delivery attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    created_at: domain::time::Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<openapi::Timestamp>)]
    sent_at: Option<String>,
}

wire::collection!(Notifications, "notifications", NotificationView);

fn notification_view(links: &Links, opened: OpenedNotification) -> NotificationView {
    let OpenedNotification { notification: n, message } = opened;
    NotificationView {
        links: links.set([("self", &format!("/v1/environments/{}/notifications/{}", n.environment_id, n.id))]),
        id: n.id,
        environment: Ref { id: n.environment_id },
        user: n.user_id.map(|id| Ref { id }),
        template: TemplateRef { name: n.template.as_str() },
        delivery_method: n.delivery_method.as_str(),
        recipient: n.recipient,
        locale: n.locale,
        variant: n.variant,
        status: n.status.as_str(),
        subject: message.subject,
        body: message.body,
        error: n.error,
        created_at: n.created_at,
        sent_at: n.sent_at.as_ref().map(wire::format_timestamp),
    }
}

/// List the messages sent, newest first.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/notifications", operation_id = "listNotifications",
    params(ListQuery, ("filter" = Option<String>, Query,
        description = "SCIM: `user.id`, `template` and `recipient` eq, joined by `and`, `or`, parentheses: \
            `template eq \"device_pairing\"`.")),
    responses((status = 200, description = "A page of notifications.", body = Notifications)))]
async fn list_notifications(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<Notifications>> {
    let (request, filter) = query.filtered_page::<Notification>(&uri)?;
    let page = state.credd.notifications(&caller, environment_id, filter.as_ref(), request).await?;
    let links = &state.links;
    Ok(Json(Notifications::page(links, &uri, page, request, |n| n.notification.id, |n| notification_view(links, n))))
}

/// Read a message.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/notifications/{notification_id}",
    operation_id = "readNotification",
    responses((status = 200, description = "The notification.", body = NotificationView)))]
async fn read_notification(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<Json<NotificationView>> {
    let opened = state.credd.notification(&caller, environment_id, id).await?;
    Ok(Json(notification_view(&state.links, opened)))
}
