//! Template contents (`/v1/environments/{envId}/templates/{templateName}/contents`)
//! and the sent messages (`/v1/environments/{envId}/notifications`), newest first,
//! so a test suite can read the pairing link or the code it just caused.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use domain::notification::{
    DeliveryMethod, NotificationFilter, TemplateContent, TemplateName, normalize_locale, normalize_variant,
};
use domain::validation::{Collector, FieldError, bounded_text};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Caller, Json, Path, Query};
use super::filter;
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
    pub(super) fn parse(
        self,
        environment_id: Uuid,
        template: TemplateName,
        id: Uuid,
    ) -> Result<TemplateContent, Vec<FieldError>> {
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
        let at = domain::time::now();
        let built = method.zip(locale).zip(text).map(|((delivery_method, locale), body)| TemplateContent {
            id,
            environment_id,
            template,
            delivery_method,
            locale,
            variant,
            subject: subject.filter(|_| delivery_method == DeliveryMethod::Email),
            body,
            created_at: at,
            updated_at: at,
        });
        errors.finish_with(built)
    }
}

/// Shapes this module renders with `json!`, for the OpenAPI document.
#[expect(dead_code, reason = "described to utoipa, never built: the views render json!")]
mod shapes {
    use utoipa::ToSchema;
    use uuid::Uuid;

    use crate::http::openapi;
    use crate::http::wire::Ref;

    /// An administrator's content: Email has `subject` and `body`, the others `content`.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct TemplateContent {
        #[serde(rename = "_links")]
        pub links: (),
        pub id: Uuid,
        pub environment: Ref,
        pub template: TemplateRef,
        #[schema(value_type = openapi::DeliveryMethod)]
        pub delivery_method: String,
        /// Lower case.
        pub locale: String,
        /// `false`: credd's built-in contents are not listed.
        pub default: bool,
        #[schema(value_type = openapi::Timestamp)]
        pub created_at: String,
        #[schema(value_type = openapi::Timestamp)]
        pub updated_at: String,
        /// Lower case.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub variant: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub subject: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub body: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub content: Option<String>,
    }

    #[derive(ToSchema)]
    pub struct TemplateRef {
        #[schema(value_type = openapi::TemplateName)]
        pub name: String,
    }
}

wire::untyped_collection_schema!(TemplateContents, "contents", shapes::TemplateContent);

pub(super) fn content_view(links: &Links, content: TemplateContent) -> Value {
    let path = format!(
        "/v1/environments/{}/templates/{}/contents/{}",
        content.environment_id,
        content.template.as_str(),
        content.id
    );
    let mut view = json!({
        "_links": { "self": links.link(&path), "template": links.link(&format!("/v1/environments/{}/templates/{}", content.environment_id, content.template.as_str())) },
        "id": content.id,
        "environment": { "id": content.environment_id },
        "template": { "name": content.template.as_str() },
        "deliveryMethod": content.delivery_method.as_str(),
        "locale": content.locale,
        "default": false,
        "createdAt": wire::format_timestamp(&content.created_at),
        "updatedAt": wire::format_timestamp(&content.updated_at),
    });
    if let Some(variant) = content.variant {
        view["variant"] = variant.into();
    }
    if content.delivery_method == DeliveryMethod::Email {
        if let Some(subject) = content.subject {
            view["subject"] = subject.into();
        }
        view["body"] = content.body.into();
    } else {
        view["content"] = content.body.into();
    }
    view
}

/// Add a content to a template.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/templates/{template_name}/contents",
    operation_id = "createTemplateContent", tag = "Notification templates", request_body = ContentBody,
    responses(
        (status = 201, description = "The new content.", body = shapes::TemplateContent),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: the template has a content for this delivery \
            method, locale and variant.", body = ErrorBody),
    ))]
async fn create_content(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, name)): Path<(Uuid, String)>,
    Json(body): Json<ContentBody>,
) -> Result<(StatusCode, Json<Value>)> {
    let content = body.parse(environment_id, template(&name)?, Uuid::nil())?;
    let created = state.credd.create_template_content(&caller, content).await?;
    Ok((StatusCode::CREATED, Json(content_view(&state.links, created))))
}

/// List a template's contents (the administrator's; not the built-in ones).
#[utoipa::path(get, path = "/v1/environments/{environment_id}/templates/{template_name}/contents",
    operation_id = "listTemplateContents", tag = "Notification templates",
    responses((status = 200, description = "The contents.", body = TemplateContents)))]
async fn list_contents(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, name)): Path<(Uuid, String)>,
) -> Result<Json<Value>> {
    let contents = state.credd.template_contents(&caller, environment_id, template(&name)?).await?;
    let path = format!("/v1/environments/{environment_id}/templates/{name}/contents");
    let items: Vec<Value> = contents.into_iter().map(|c| content_view(&state.links, c)).collect();
    Ok(Json(
        json!({ "_links": { "self": state.links.link(&path) }, "_embedded": { "contents": items }, "size": items.len() }),
    ))
}

/// Read a template content.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/templates/{template_name}/contents/{content_id}",
    operation_id = "readTemplateContent", tag = "Notification templates",
    responses((status = 200, description = "The content.", body = shapes::TemplateContent)))]
async fn read_content(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, name, id)): Path<(Uuid, String, Uuid)>,
) -> Result<Json<Value>> {
    let content = state.credd.template_content(&caller, environment_id, template(&name)?, id).await?;
    Ok(Json(content_view(&state.links, content)))
}

/// Replace a template content.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/templates/{template_name}/contents/{content_id}",
    operation_id = "replaceTemplateContent", tag = "Notification templates", request_body = ContentBody,
    responses(
        (status = 200, description = "The content.", body = shapes::TemplateContent),
        (status = 409, description = "`UNIQUENESS_VIOLATION`: the template has a content for this delivery \
            method, locale and variant.", body = ErrorBody),
    ))]
async fn replace_content(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, name, id)): Path<(Uuid, String, Uuid)>,
    Json(body): Json<ContentBody>,
) -> Result<Json<Value>> {
    let content = body.parse(environment_id, template(&name)?, id)?;
    Ok(Json(content_view(&state.links, state.credd.replace_template_content(&caller, content).await?)))
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
    #[schema(value_type = shapes::TemplateRef)]
    template: Value,
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
        template: json!({ "name": n.template.as_str() }),
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
        description = "SCIM equality on `user.id`, `template` and `recipient`, joined by `and`: \
            `template eq \"device_pairing\"`.")),
    responses((status = 200, description = "A page of notifications.", body = Notifications)))]
async fn list_notifications(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<Notifications>> {
    let request = query.page(&uri)?;
    let mut notification_filter = NotificationFilter::default();
    if let Some(text) = &query.filter {
        for clause in filter::parse(text, &["user.id", "template", "recipient"])? {
            match clause.attribute.as_str() {
                "user.id" => {
                    let id = Uuid::parse_str(&clause.value)
                        .map_err(|_| Error::invalid(FieldError::invalid("filter", "user.id must be a UUID.")))?;
                    notification_filter.user_id = Some(id);
                }
                "template" => {
                    let name = TemplateName::parse(&clause.value)
                        .ok_or_else(|| Error::invalid(FieldError::invalid("filter", "Unknown template name.")))?;
                    notification_filter.template = Some(name);
                }
                _ => notification_filter.recipient = Some(clause.value),
            }
        }
    }
    let page = state.credd.notifications(&caller, environment_id, &notification_filter, request).await?;
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
