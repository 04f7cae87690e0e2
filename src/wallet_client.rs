//! A simulated wallet app: pairs with a pairing link the way a real wallet would,
//! and reads its wallet with the token pairing returned. `credd wallet` runs it over
//! HTTP; the tests run the same code against the in-process app.

use std::future::Future;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::crypto::random_bytes;

/// How the simulator talks to credd.
pub trait Transport {
    /// GET `url` (absolute), with a bearer token if given: the status and JSON body.
    fn get(&self, url: &str, bearer: Option<&str>) -> impl Future<Output = Result<(u16, Value), String>>;
    /// POST a JSON body to `url` (absolute).
    fn post(&self, url: &str, body: &Value) -> impl Future<Output = Result<(u16, Value), String>>;
    /// POST a JSON body with a bearer token.
    fn post_with_token(
        &self,
        url: &str,
        body: &Value,
        bearer: &str,
    ) -> impl Future<Output = Result<(u16, Value), String>>;
}

/// What a paired wallet keeps: its key, its token, where it lives.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairedWallet {
    pub wallet_id: String,
    pub wallet_url: String,
    pub access_token: String,
    pub application_instance_id: String,
    /// The Ed25519 private key, PKCS#8 DER in base64.
    pub private_key: String,
    pub public_key: Value,
}

/// The pairing request URL in a pairing link: the `u` parameter of an `appOpen`
/// link, or the link itself when it is the `qrUrl`.
pub fn request_url(link: &str) -> Result<String, String> {
    let parsed = url::Url::parse(link).map_err(|e| format!("not a URL: {e}"))?;
    match parsed.query_pairs().find(|(k, _)| k == "u") {
        Some((_, inner)) => Ok(inner.into_owned()),
        None => Ok(link.to_owned()),
    }
}

fn expect_ok(what: &str, (status, body): (u16, Value)) -> Result<Value, String> {
    if (200..300).contains(&status) { Ok(body) } else { Err(format!("{what} answered {status}: {body}")) }
}

/// Pairs a new wallet key with the pairing link.
pub async fn pair<T: Transport>(
    transport: &T,
    link: &str,
    application_instance_id: &str,
) -> Result<PairedWallet, String> {
    let url = request_url(link)?;
    let request = expect_ok("the pairing request", transport.get(&url, None).await?)?;
    let challenge = request["challenge"].as_str().ok_or("the pairing request has no challenge")?;

    let key = ed25519_dalek::SigningKey::from_bytes(&random_bytes());
    let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
    let public_key =
        json!({ "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()) });
    let signature = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &json!({ "challenge": challenge }),
        &EncodingKey::from_ed_der(der.as_bytes()),
    )
    .map_err(|e| e.to_string())?;
    let body = json!({
        "challenge": challenge,
        "applicationInstance": { "id": application_instance_id },
        "publicKey": public_key,
        "signature": signature,
        "deviceData": {
            "appPackage": "credd.wallet.simulator", "sdkVersion": env!("CARGO_PKG_VERSION"), "osType": "ANDROID",
            "osVersion": "14", "manufacturer": "credd", "model": "simulator", "pushToken": "simulator-push-token",
        },
    });
    let paired = expect_ok("pairing", transport.post(&url, &body).await?)?;
    Ok(PairedWallet {
        wallet_id: paired["digitalWallet"]["id"].as_str().ok_or("no wallet id in the answer")?.to_owned(),
        wallet_url: paired["_links"]["wallet"]["href"].as_str().ok_or("no wallet link in the answer")?.to_owned(),
        access_token: paired["accessToken"].as_str().ok_or("no access token in the answer")?.to_owned(),
        application_instance_id: application_instance_id.to_owned(),
        private_key: STANDARD.encode(der.as_bytes()),
        public_key,
    })
}

/// The wallet as credd sees it.
pub async fn status<T: Transport>(transport: &T, wallet: &PairedWallet) -> Result<Value, String> {
    expect_ok("the wallet", transport.get(&wallet.wallet_url, Some(&wallet.access_token)).await?)
}

/// The credentials waiting in the wallet's mailbox, every page of them.
pub async fn credentials<T: Transport>(transport: &T, wallet: &PairedWallet) -> Result<Vec<Value>, String> {
    let mut offers = Vec::new();
    let mut next = Some(format!("{}/credentials", wallet.wallet_url));
    while let Some(url) = next {
        let mut page = expect_ok("the mailbox", transport.get(&url, Some(&wallet.access_token)).await?)?;
        if let Some(items) = page["_embedded"]["credentials"].as_array_mut() {
            offers.append(items);
        }
        next = page["_links"]["next"]["href"].as_str().map(str::to_owned);
    }
    Ok(offers)
}

/// Answers an offered credential: `ACCEPT`, `REJECT` or `DELETE`.
pub async fn act<T: Transport>(
    transport: &T,
    wallet: &PairedWallet,
    offer_id: &str,
    action: &str,
) -> Result<Value, String> {
    let url = format!("{}/credentials/{offer_id}", wallet.wallet_url);
    expect_ok("the action", transport.post_with_token(&url, &json!({ "action": action }), &wallet.access_token).await?)
}

/// The simulator's transport: plain HTTP(S).
pub struct Http(pub reqwest::Client);

async fn read(response: reqwest::Response) -> Result<(u16, Value), String> {
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|e| e.to_string())?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
}

impl Transport for Http {
    async fn get(&self, url: &str, bearer: Option<&str>) -> Result<(u16, Value), String> {
        let mut request = self.0.get(url);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        read(request.send().await.map_err(|e| e.to_string())?).await
    }

    async fn post(&self, url: &str, body: &Value) -> Result<(u16, Value), String> {
        read(self.0.post(url).json(body).send().await.map_err(|e| e.to_string())?).await
    }

    async fn post_with_token(&self, url: &str, body: &Value, bearer: &str) -> Result<(u16, Value), String> {
        read(self.0.post(url).bearer_auth(bearer).json(body).send().await.map_err(|e| e.to_string())?).await
    }
}
