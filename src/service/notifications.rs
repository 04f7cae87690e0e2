//! Notifications: choosing and rendering a template content for a message, putting
//! it in a write's outbox, delivering it from the worker, and the administrator's
//! template contents.

use domain::filter::{Filter, Literal, page_matching_indexed};
use std::collections::BTreeMap;

use domain::job::NewJob;
use domain::notification::{
    DeliveryMethod, MAX_MESSAGE_BYTES, Notification, NotificationFilter, NotificationStatus, NotifyMethod,
    TemplateContent, TemplateContentFields, TemplateName, default_content, render, select_content,
};
use domain::page::{CountedPage, PageRequest};
use domain::store::{NotificationStore, Outbox};
use domain::time::{new_id, now};
use domain::user::User;
use domain::validation::{FieldError, FieldErrorKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Credd;
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::metrics::NotificationOutcome;
use crate::notify::Message;

/// The job kind that delivers one notification; its payload is the notification id.
pub const SEND_NOTIFICATION: &str = "send_notification";
const SEND_ATTEMPTS: i64 = 8;
/// The environment's language when neither the request nor the user names one.
pub const ENVIRONMENT_LANGUAGE: &str = "en";

/// `notification` on a request: how to notify the user, and with which content.
#[derive(Debug, Clone, Default)]
pub struct NotificationRequest {
    pub methods: Vec<NotifyMethod>,
    pub locale: Option<String>,
    pub variant: Option<String>,
    pub variables: BTreeMap<String, String>,
}

impl NotificationRequest {
    /// The same methods and template choice as an earlier notification, for a
    /// follow-up message (a credential revoked after being issued with one).
    pub fn repeat_of(report: &NotificationReport) -> Option<Self> {
        let methods: Vec<NotifyMethod> = report.methods.iter().filter_map(|m| NotifyMethod::parse(m)).collect();
        let template = report.template.as_ref();
        (!methods.is_empty()).then(|| Self {
            methods,
            locale: template.and_then(|t| t.locale.clone()),
            variant: template.and_then(|t| t.variant.clone()),
            variables: BTreeMap::new(),
        })
    }
}

/// What became of a request's notification (PingOne's `notification` block), kept
/// with the resource as JSON and answered on every read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationReport {
    pub methods: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<ReportTemplate>,
    pub results: Vec<NotificationResult>,
}

impl NotificationReport {
    /// The report a resource keeps, unless it is unreadable.
    pub fn from_kept(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportTemplate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// One method's result: sent, with its notification, or not, for want of an address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationResult {
    pub method: String,
    pub sent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification: Option<ReportRef>,
    #[serde(rename = "error", skip_serializing_if = "Option::is_none")]
    pub missing_address: Option<MissingAddress>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRef {
    pub id: Uuid,
}

/// The user had no address for the method (no email for `EMAIL`, no phone for
/// `SMS`), so it sent nothing. A report kept with PingOne's error body in its place
/// reads as this too: the body has the same `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissingAddress {
    /// Names this failure to the client, the same on every read.
    pub id: Uuid,
}

/// The sealed text of a notification.
#[derive(Serialize, Deserialize)]
pub struct SealedMessage {
    pub subject: Option<String>,
    pub body: String,
}

/// A notification with its text opened, for the API.
pub struct OpenedNotification {
    pub notification: Notification,
    pub message: SealedMessage,
}

/// The user's address for a method, if they have one.
fn address(user: &User, method: NotifyMethod) -> Option<&str> {
    match method {
        NotifyMethod::Email => user.email.as_deref(),
        NotifyMethod::Sms => user.mobile_phone.as_deref().or(user.primary_phone.as_deref()),
    }
}

/// Languages to try, in order: the request's, the user's preferences, the environment's.
fn languages<'a>(requested: Option<&'a str>, user: Option<&'a User>) -> Vec<&'a str> {
    let mut out: Vec<&str> = requested.into_iter().collect();
    if let Some(user) = user {
        if let Some(preferred) = &user.preferred_language {
            out.extend(
                preferred
                    .split(',')
                    .map(|range| range.split(';').next().unwrap_or_default().trim())
                    .filter(|t| *t != "*"),
            );
        }
        out.extend(user.locale.as_deref());
    }
    out.push(ENVIRONMENT_LANGUAGE);
    out
}

impl Credd {
    /// One message per requested method to the user's own addresses, added to
    /// `outbox`; a method the user has no address for is reported, not fatal.
    pub(super) async fn notify_user(
        &self,
        user: &User,
        template: TemplateName,
        request: &NotificationRequest,
        variables: BTreeMap<String, String>,
        outbox: &mut Outbox,
    ) -> Result<NotificationReport> {
        let mut results = Vec::new();
        for method in &request.methods {
            let result = match address(user, *method) {
                None => NotificationResult {
                    method: method.as_str().into(),
                    sent: false,
                    notification: None,
                    missing_address: Some(MissingAddress { id: Uuid::new_v4() }),
                },
                Some(recipient) => {
                    let id = self
                        .queue_message(
                            user.environment_id,
                            Some(user),
                            template,
                            method.delivery(),
                            recipient,
                            request,
                            &variables,
                            outbox,
                        )
                        .await?;
                    NotificationResult {
                        method: method.as_str().into(),
                        sent: true,
                        notification: Some(ReportRef { id }),
                        missing_address: None,
                    }
                }
            };
            results.push(result);
        }
        let template = (request.locale.is_some() || request.variant.is_some())
            .then(|| ReportTemplate { locale: request.locale.clone(), variant: request.variant.clone() });
        Ok(NotificationReport {
            methods: request.methods.iter().map(|m| m.as_str().into()).collect(),
            template,
            results,
        })
    }

    /// Renders the chosen content for one message, seals it, and adds it and its
    /// delivery job to `outbox`. Built-in variables (`user.*` and `variables`) win
    /// over the request's, so a client cannot forge a code or a link.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn queue_message(
        &self,
        environment_id: Uuid,
        user: Option<&User>,
        template: TemplateName,
        method: DeliveryMethod,
        recipient: &str,
        request: &NotificationRequest,
        variables: &BTreeMap<String, String>,
        outbox: &mut Outbox,
    ) -> Result<Uuid> {
        let contents: Vec<TemplateContent> = self
            .store
            .template_contents(environment_id, template)
            .await?
            .into_iter()
            .filter(|c| c.delivery_method == method)
            .collect();
        let chosen = select_content(&contents, request.variant.as_deref(), &languages(request.locale.as_deref(), user));
        let (subject, body, locale, variant) = match chosen {
            Some(c) => (c.subject.clone(), c.body.clone(), c.locale.clone(), c.variant.clone()),
            None => {
                let (subject, body) = default_content(template, method);
                (subject.map(Into::into), body.to_owned(), ENVIRONMENT_LANGUAGE.to_owned(), None)
            }
        };

        let mut all = request.variables.clone();
        if let Some(user) = user {
            all.insert("user.username".into(), user.username.clone());
            all.insert("user.name.given".into(), user.name_given.clone().unwrap_or_else(|| user.username.clone()));
            all.insert("user.name.family".into(), user.name_family.clone().unwrap_or_default());
        }
        all.insert("current-year".into(), chrono::Utc::now().format("%Y").to_string());
        all.extend(variables.iter().map(|(k, v)| (k.clone(), v.clone())));
        let too_large = |_| {
            let message = format!(
                "The {} message by {} would be over {MAX_MESSAGE_BYTES} bytes with its variables substituted.",
                template.as_str(),
                method.as_str()
            );
            Error::invalid(FieldError::new("notification.template", FieldErrorKind::TooLong, message))
        };
        let subject = subject.map(|s| render(&s, &all, MAX_MESSAGE_BYTES)).transpose().map_err(too_large)?;
        let room = MAX_MESSAGE_BYTES - subject.as_ref().map_or(0, String::len);
        let message = SealedMessage { body: render(&body, &all, room).map_err(too_large)?, subject };

        let id = new_id();
        let plaintext = serde_json::to_vec(&message).map_err(Error::internal)?;
        outbox.notifications.push(Notification {
            id,
            environment_id,
            user_id: user.map(|u| u.id),
            template,
            delivery_method: method,
            recipient: recipient.to_owned(),
            locale,
            variant,
            sealed_message: self.master_key.seal(&plaintext, id.as_bytes()),
            status: NotificationStatus::Queued,
            error: None,
            created_at: now(),
            sent_at: None,
        });
        outbox.jobs.push(NewJob {
            id: new_id(),
            kind: SEND_NOTIFICATION.into(),
            payload: id.as_bytes().to_vec(),
            run_at: now(),
            max_attempts: SEND_ATTEMPTS,
        });
        Ok(id)
    }

    fn open_message(&self, notification: &Notification) -> Result<SealedMessage> {
        let plaintext =
            self.master_key.open(&notification.sealed_message, notification.id.as_bytes()).map_err(Error::internal)?;
        serde_json::from_slice(&plaintext).map_err(Error::internal)
    }

    /// The worker's half: hands a queued notification to its sender. Idempotent: a
    /// notification already sent is not sent again.
    pub async fn deliver_notification(&self, id: Uuid, last_attempt: bool) -> Result<(), String> {
        let notification = match self.store.notification(id).await {
            Ok(n) => n,
            // Its environment was deleted: nothing left to send.
            Err(domain::StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        if notification.status != NotificationStatus::Queued {
            return Ok(());
        }
        let message = self.open_message(&notification).map_err(|e| e.to_string())?;
        let outgoing = Message {
            id,
            environment_id: notification.environment_id,
            template: notification.template.as_str(),
            delivery_method: notification.delivery_method.as_str(),
            recipient: notification.recipient.clone(),
            subject: message.subject,
            body: message.body,
        };
        let method = notification.delivery_method.as_str();
        match self.senders.send(notification.delivery_method, &outgoing).await {
            Ok(()) => {
                self.metrics.notification(method, NotificationOutcome::Sent);
                self.store
                    .settle_notification(id, NotificationStatus::Sent, None, now())
                    .await
                    .map_err(|e| e.to_string())
            }
            Err(error) => {
                if last_attempt {
                    self.metrics.notification(method, NotificationOutcome::Failed);
                    let _ = self.store.settle_notification(id, NotificationStatus::Failed, Some(&error), now()).await;
                } else {
                    self.metrics.notification(method, NotificationOutcome::Retried);
                }
                Err(error)
            }
        }
    }

    pub async fn notifications(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        filter: Option<&Filter>,
        page: PageRequest,
    ) -> Result<CountedPage<OpenedNotification>> {
        self.existing_environment(principal, environment_id).await?;
        // The store narrows by exact user and template; the filter decides the rest.
        let exact = |attribute| filter.and_then(|f| f.required_equal(attribute));
        let narrowed = NotificationFilter {
            user_id: match exact("user.id") {
                Some(Literal::Id(id)) => Some(*id),
                _ => None,
            },
            template: match exact("template") {
                Some(Literal::Text(name)) => TemplateName::parse(name),
                _ => None,
            },
        };
        let fetch = |page| self.store.notifications(environment_id, &narrowed, page);
        let count = || self.store.count_notifications(environment_id);
        let page = page_matching_indexed(filter, page, fetch, |n| n.id, count).await?;
        page.try_map(|notification| Ok(OpenedNotification { message: self.open_message(&notification)?, notification }))
    }

    pub async fn notification(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        id: Uuid,
    ) -> Result<OpenedNotification> {
        principal.require_manage(environment_id)?;
        let notification = self.store.notification(id).await?;
        if notification.environment_id != environment_id {
            return Err(Error::NotFound);
        }
        Ok(OpenedNotification { message: self.open_message(&notification)?, notification })
    }

    pub async fn create_template_content(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        template: TemplateName,
        fields: TemplateContentFields,
    ) -> Result<TemplateContent> {
        principal.require_manage(environment_id)?;
        let content = TemplateContent::new(new_id(), environment_id, template, fields, now());
        self.store.create_template_content(&content).await.map_err(Error::conflict_on("locale", CONTENT_TAKEN))?;
        Ok(content)
    }

    pub async fn template_contents(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        template: TemplateName,
        filter: Option<&Filter>,
    ) -> Result<Vec<TemplateContent>> {
        self.existing_environment(principal, environment_id).await?;
        let mut contents = self.store.template_contents(environment_id, template).await?;
        contents.retain(|c| filter.is_none_or(|f| f.matches(c)));
        Ok(contents)
    }

    pub async fn template_content(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        template: TemplateName,
        id: Uuid,
    ) -> Result<TemplateContent> {
        principal.require_manage(environment_id)?;
        Ok(self.store.template_content(environment_id, template, id).await?)
    }

    /// Full replace of the content's method, locale, variant and text.
    pub async fn replace_template_content(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        template: TemplateName,
        id: Uuid,
        fields: TemplateContentFields,
    ) -> Result<TemplateContent> {
        principal.require_manage(environment_id)?;
        let mut content = self.store.template_content(environment_id, template, id).await?;
        content.replace(fields, now());
        self.store.update_template_content(&content).await.map_err(Error::conflict_on("locale", CONTENT_TAKEN))?;
        Ok(content)
    }

    pub async fn delete_template_content(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        template: TemplateName,
        id: Uuid,
    ) -> Result<()> {
        principal.require_manage(environment_id)?;
        Ok(self.store.delete_template_content(environment_id, template, id).await?)
    }
}

const CONTENT_TAKEN: &str = "Customized content for the template, locale and variant combination already exists.";
