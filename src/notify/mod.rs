//! Delivering notifications from the outbox: kept in the outbox only (the default;
//! test suites read messages through the notifications API), sent by SMTP, or
//! posted to an HMAC-signed webhook. Message text is never logged.

use std::time::Duration;

use domain::notification::DeliveryMethod;
use hmac::{Hmac, Mac};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Serialize;
use sha2::Sha256;
use uuid::Uuid;

/// One message, opened, ready to deliver.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub template: &'static str,
    pub delivery_method: &'static str,
    pub recipient: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub body: String,
}

/// Where one kind of message goes.
pub enum Channel {
    /// Stays in the outbox, readable through the API; nothing leaves credd.
    OutboxOnly,
    Smtp(Smtp),
    Webhook(Webhook),
}

/// The channel for email and the one for phone messages (SMS, voice, WhatsApp).
pub struct Senders {
    pub email: Channel,
    pub phone: Channel,
}

impl Senders {
    pub fn outbox_only() -> Self {
        Self { email: Channel::OutboxOnly, phone: Channel::OutboxOnly }
    }

    pub async fn send(&self, method: DeliveryMethod, message: &Message) -> Result<(), String> {
        let channel = if method == DeliveryMethod::Email { &self.email } else { &self.phone };
        match channel {
            Channel::OutboxOnly => Ok(()),
            Channel::Smtp(smtp) => smtp.send(message).await,
            Channel::Webhook(webhook) => webhook.send(message).await,
        }
    }
}

pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Smtp {
    /// `url`: `smtp://host:port` (STARTTLS when offered), `smtps://…` (TLS), with
    /// optional `user:password@`; `from`: the sender address.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("invalid SMTP URL: {e}"))?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        let from = from.parse().map_err(|e| format!("invalid sender address {from:?}: {e}"))?;
        Ok(Self { transport, from })
    }

    async fn send(&self, message: &Message) -> Result<(), String> {
        let to: Mailbox = message.recipient.parse().map_err(|e| format!("invalid recipient address: {e}"))?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone().unwrap_or_default())
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| format!("cannot build the email: {e}"))?;
        self.transport.send(email).await.map(drop).map_err(|e| format!("SMTP delivery failed: {e}"))
    }
}

/// Posts each message as JSON. `X-Credd-Signature: v1=<hex HMAC-SHA256>` signs
/// `<X-Credd-Timestamp>.<body>` with the shared secret, so the receiver can check
/// that credd sent it and that it is fresh.
pub struct Webhook {
    client: reqwest::Client,
    url: url::Url,
    secret: Vec<u8>,
}

impl Webhook {
    pub fn new(url: url::Url, secret: &str) -> Result<Self, String> {
        if secret.len() < 16 {
            return Err("the webhook secret must be at least 16 characters".into());
        }
        crate::crypto::install_tls_provider();
        let client = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().map_err(|e| e.to_string())?;
        Ok(Self { client, url, secret: secret.as_bytes().to_vec() })
    }

    async fn send(&self, message: &Message) -> Result<(), String> {
        let body = serde_json::to_vec(message).map_err(|e| e.to_string())?;
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let response = self
            .client
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header("x-credd-timestamp", &timestamp)
            .header("x-credd-signature", format!("v1={}", signature(&self.secret, &timestamp, &body)))
            .body(body)
            .send()
            .await
            .map_err(|e| format!("webhook delivery failed: {}", e.without_url()))?;
        if response.status().is_success() { Ok(()) } else { Err(format!("webhook answered {}", response.status())) }
    }
}

/// Hex HMAC-SHA256 of `timestamp.body`.
pub fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}
