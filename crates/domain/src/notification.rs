//! Notifications: templates with built-in and administrator contents, the rules
//! that choose one content for a message, variable substitution, and the outbox
//! record of every message sent.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::time::Timestamp;
use crate::validation::{FieldError, FieldErrorKind, bounded_text};

crate::text_enum! {
    /// The templates credd sends with.
    pub enum TemplateName {
        DigitalWalletPairing => "digital_wallet_pairing",
        CredentialIssued => "credential_issued",
        CredentialUpdated => "credential_updated",
        CredentialRevoked => "credential_revoked",
        DevicePairing => "device_pairing",
    }
}

crate::text_enum! {
    /// How a template content is delivered (PingOne's `deliveryMethod`).
    pub enum DeliveryMethod {
        Email => "Email",
        Sms => "SMS",
        Voice => "Voice",
        WhatsApp => "WhatsApp",
    }
}

crate::text_enum! {
    /// A method a request asks to notify the user by (`notification.methods`).
    pub enum NotifyMethod {
        Email => "EMAIL",
        Sms => "SMS",
    }
}

impl NotifyMethod {
    pub fn delivery(self) -> DeliveryMethod {
        match self {
            Self::Email => DeliveryMethod::Email,
            Self::Sms => DeliveryMethod::Sms,
        }
    }
}

impl TemplateName {
    /// The delivery methods a template has contents for.
    pub fn delivery_methods(self) -> &'static [DeliveryMethod] {
        match self {
            Self::DevicePairing => DeliveryMethod::ALL,
            _ => &[DeliveryMethod::Email, DeliveryMethod::Sms],
        }
    }
}

crate::text_enum! {
    pub enum NotificationStatus {
        /// In the outbox, waiting for the worker.
        Queued => "QUEUED",
        /// Handed to its sender (or kept in the outbox only, when that is the sender).
        Sent => "SENT",
        /// The sender kept refusing it; `error` says why.
        Failed => "FAILED",
    }
}

/// The text of one template for one delivery method, locale and (optional) variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateContent {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub template: TemplateName,
    pub delivery_method: DeliveryMethod,
    /// Lower-case language tag, e.g. `en`, `fr-ca`.
    pub locale: String,
    /// Lower-case; `None` for the locale's default content.
    pub variant: Option<String>,
    /// Email only.
    pub subject: Option<String>,
    /// The email body, or the SMS / voice / WhatsApp text.
    pub body: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What an administrator says of a template content; its template comes from where it
/// is kept, its id and times are credd's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateContentFields {
    pub delivery_method: DeliveryMethod,
    pub locale: String,
    pub variant: Option<String>,
    pub subject: Option<String>,
    pub body: String,
}

impl TemplateContent {
    pub fn new(
        id: Uuid,
        environment_id: Uuid,
        template: TemplateName,
        fields: TemplateContentFields,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            environment_id,
            template,
            delivery_method: fields.delivery_method,
            locale: fields.locale,
            variant: fields.variant,
            subject: fields.subject,
            body: fields.body,
            created_at: now,
            updated_at: now,
        }
    }

    /// A full replace of what the administrator says; its place, id and creation stay.
    pub fn replace(&mut self, fields: TemplateContentFields, now: Timestamp) {
        *self =
            Self { created_at: self.created_at, ..Self::new(self.id, self.environment_id, self.template, fields, now) };
    }
}

/// Locales and variants compare case-insensitively; they are kept lower-case.
pub fn normalize_locale(target: &str, value: &str) -> Result<String, FieldError> {
    crate::user::Locale::parse(target, &value.replace('_', "-")).map(|_| value.replace('_', "-").to_ascii_lowercase())
}

pub fn normalize_variant(value: &str) -> Result<String, FieldError> {
    bounded_text("variant", value, 100).map(|v| v.to_ascii_lowercase())
}

/// The content a message uses. Variant: the requested one, else the default. Locale:
/// the requested one, else the user's preferred language, else the environment's;
/// each tried as given and then as its primary language (`en-GB` → `en`). Without
/// an administrator's content, the built-in English one.
pub fn select_content<'a>(
    contents: &'a [TemplateContent],
    variant: Option<&str>,
    locales: &[&str],
) -> Option<&'a TemplateContent> {
    let mut candidates: Vec<String> = Vec::new();
    for locale in locales {
        let locale = locale.to_ascii_lowercase().replace('_', "-");
        let primary = locale.split('-').next().unwrap_or_default().to_owned();
        for candidate in [locale, primary] {
            if !candidate.is_empty() && !candidates.contains(&candidate) {
                candidates.push(candidate);
            }
        }
    }
    let variant = variant.map(str::to_ascii_lowercase);
    for locale in &candidates {
        let in_locale = || contents.iter().filter(move |c| &c.locale == locale);
        if let Some(found) = variant.as_deref().and_then(|v| in_locale().find(|c| c.variant.as_deref() == Some(v))) {
            return Some(found);
        }
        if let Some(found) = in_locale().find(|c| c.variant.is_none()) {
            return Some(found);
        }
    }
    None
}

/// Built-in English contents: `(subject, body)`.
pub fn default_content(template: TemplateName, method: DeliveryMethod) -> (Option<&'static str>, &'static str) {
    use DeliveryMethod::*;
    use TemplateName::*;
    match (template, method) {
        (DigitalWalletPairing, Email) => (
            Some("Pair your digital wallet"),
            "Hello ${user.name.given},\n\nOpen this link on your phone to pair your digital wallet:\n${pairingUrl}\n\nIf you did not expect this message, ignore it.",
        ),
        (DigitalWalletPairing, _) => (None, "Pair your digital wallet: ${pairingUrl}"),
        (CredentialIssued, Email) => (
            Some("Your ${credential.name} is ready"),
            "Hello ${user.name.given},\n\nYour ${credential.name} has been issued to your digital wallet.",
        ),
        (CredentialIssued, _) => (None, "Your ${credential.name} has been issued to your digital wallet."),
        (CredentialUpdated, Email) => (
            Some("Your ${credential.name} was updated"),
            "Hello ${user.name.given},\n\nYour ${credential.name} has been updated in your digital wallet.",
        ),
        (CredentialUpdated, _) => (None, "Your ${credential.name} has been updated in your digital wallet."),
        (CredentialRevoked, Email) => (
            Some("Your ${credential.name} was revoked"),
            "Hello ${user.name.given},\n\nYour ${credential.name} has been revoked.",
        ),
        (CredentialRevoked, _) => (None, "Your ${credential.name} has been revoked."),
        (DevicePairing, Email) => {
            (Some("Your verification code"), "Hello ${user.name.given},\n\nYour verification code is ${otp}.")
        }
        (DevicePairing, _) => (None, "Your verification code is ${otp}."),
    }
}

/// How many variables a request may add to a message, and how long each name and
/// value may be: far more than a template needs, little enough to bound a request.
pub const MAX_VARIABLES: usize = 100;
pub const MAX_VARIABLE_NAME_CHARS: usize = 100;
pub const MAX_VARIABLE_VALUE_CHARS: usize = 4096;
/// The largest message (subject and body, UTF-8) rendered from a template content. A
/// content holds up to 100,000 characters, and each `${name}` in it may repeat a
/// value, so rendering stops here rather than build what a request could ask for.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// The variables a request adds to its messages (`variables`), within the bounds above.
/// Targets are relative to the request's template block.
pub fn template_variables(variables: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, FieldError> {
    if variables.len() > MAX_VARIABLES {
        return Err(FieldError::new(
            "variables",
            FieldErrorKind::LimitExceeded,
            format!("variables may hold at most {MAX_VARIABLES} entries."),
        ));
    }
    for (name, value) in &variables {
        if name.chars().count() > MAX_VARIABLE_NAME_CHARS {
            // The name itself is too long to echo back as a target.
            return Err(FieldError::new(
                "variables",
                FieldErrorKind::TooLong,
                format!("Variable names must be at most {MAX_VARIABLE_NAME_CHARS} characters."),
            ));
        }
        if value.chars().count() > MAX_VARIABLE_VALUE_CHARS {
            let target = format!("variables.{name}");
            let message = format!("{target} must be at most {MAX_VARIABLE_VALUE_CHARS} characters.");
            return Err(FieldError::new(target, FieldErrorKind::TooLong, message));
        }
    }
    Ok(variables)
}

/// A message would pass its size limit once its variables are substituted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageTooLarge;

/// Replaces each `${name}` with its value; unknown variables become empty. Stops as
/// soon as the text would pass `max_bytes`, so an oversized message is never built.
pub fn render(text: &str, variables: &BTreeMap<String, String>, max_bytes: usize) -> Result<String, MessageTooLarge> {
    let mut out = String::with_capacity(text.len().min(max_bytes));
    let mut push = |piece: &str| {
        if out.len() + piece.len() > max_bytes {
            return Err(MessageTooLarge);
        }
        out.push_str(piece);
        Ok(())
    };
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        push(&rest[..start])?;
        match rest[start + 2..].find('}') {
            Some(end) => {
                let name = &rest[start + 2..start + 2 + end];
                push(variables.get(name).map(String::as_str).unwrap_or_default())?;
                rest = &rest[start + 2 + end + 1..];
            }
            None => {
                push(&rest[start..])?;
                rest = "";
            }
        }
    }
    push(rest)?;
    Ok(out)
}

/// One message in the outbox. Its text is sealed at rest (it carries pairing links
/// and one-time codes); the service opens it for the notifications API and senders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub user_id: Option<Uuid>,
    pub template: TemplateName,
    pub delivery_method: DeliveryMethod,
    pub recipient: String,
    pub locale: String,
    pub variant: Option<String>,
    /// `{subject, body}` sealed with the master key, bound to the notification id.
    pub sealed_message: Vec<u8>,
    pub status: NotificationStatus,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

/// What a store narrows a notifications list to by its index, before a filter decides the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationFilter {
    pub user_id: Option<Uuid>,
    pub template: Option<TemplateName>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(locale: &str, variant: Option<&str>) -> TemplateContent {
        let at = crate::time::now();
        TemplateContent {
            id: crate::time::new_id(),
            environment_id: Uuid::nil(),
            template: TemplateName::DigitalWalletPairing,
            delivery_method: DeliveryMethod::Email,
            locale: locale.into(),
            variant: variant.map(Into::into),
            subject: None,
            body: format!("{locale}/{variant:?}"),
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn variant_then_default_then_next_locale() {
        let contents = [content("fr", None), content("fr", Some("variant_b")), content("en", None)];
        let pick = |variant, locales: &[&str]| select_content(&contents, variant, locales).map(|c| c.body.clone());
        assert_eq!(pick(Some("VARIANT_B"), &["fr"]).unwrap(), "fr/Some(\"variant_b\")");
        assert_eq!(pick(Some("missing"), &["fr"]).unwrap(), "fr/None");
        assert_eq!(pick(None, &["de", "fr-CA"]).unwrap(), "fr/None", "fr-CA falls back to fr");
        assert_eq!(pick(None, &["de", "es"]), None, "no content: the built-in one is used");
    }

    #[test]
    fn a_replaced_content_keeps_its_place_and_creation() {
        let mut replaced = content("en", None);
        let before = replaced.clone();
        let later = before.updated_at + chrono::TimeDelta::seconds(1);
        let fields = TemplateContentFields {
            delivery_method: DeliveryMethod::Sms,
            locale: "fr".into(),
            variant: None,
            subject: None,
            body: "Bonjour".into(),
        };
        replaced.replace(fields, later);
        assert_eq!(
            (replaced.id, replaced.environment_id, replaced.template),
            (before.id, before.environment_id, before.template)
        );
        assert_eq!((replaced.created_at, replaced.updated_at), (before.created_at, later));
        assert_eq!((replaced.delivery_method, replaced.body.as_str()), (DeliveryMethod::Sms, "Bonjour"));
    }

    #[test]
    fn render_substitutes_known_variables() {
        let vars = BTreeMap::from([("otp".to_owned(), "123456".to_owned())]);
        assert_eq!(render("Code ${otp}, ${unknown}!", &vars, 100).unwrap(), "Code 123456, !");
        assert_eq!(render("broken ${otp", &vars, 100).unwrap(), "broken ${otp");
    }

    #[test]
    fn render_stops_at_the_limit() {
        let vars = BTreeMap::from([("x".to_owned(), "x".repeat(MAX_VARIABLE_VALUE_CHARS))]);
        let template = "${x}".repeat(25_000);
        assert_eq!(render(&template, &vars, MAX_MESSAGE_BYTES), Err(MessageTooLarge));
        assert_eq!(render("${x}", &vars, MAX_VARIABLE_VALUE_CHARS).unwrap().len(), MAX_VARIABLE_VALUE_CHARS);
        assert_eq!(render("a${x}", &vars, MAX_VARIABLE_VALUE_CHARS), Err(MessageTooLarge));
    }

    #[test]
    fn variables_are_bounded_in_number_and_length() {
        let one = |name: &str, value: &str| BTreeMap::from([(name.to_owned(), value.to_owned())]);
        assert!(template_variables(one("code", "42")).is_ok());
        let long_value = template_variables(one("code", &"9".repeat(MAX_VARIABLE_VALUE_CHARS + 1))).unwrap_err();
        assert_eq!((long_value.target.as_str(), long_value.kind), ("variables.code", FieldErrorKind::TooLong));
        let long_name = template_variables(one(&"n".repeat(MAX_VARIABLE_NAME_CHARS + 1), "1")).unwrap_err();
        assert_eq!(long_name.target, "variables");
        let many = (0..=MAX_VARIABLES).map(|i| (i.to_string(), String::new())).collect();
        assert_eq!(template_variables(many).unwrap_err().kind, FieldErrorKind::LimitExceeded);
    }
}
