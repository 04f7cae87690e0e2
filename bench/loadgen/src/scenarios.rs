//! The scenarios: how request number `i` of each one is built. Requests that create
//! things differ per request (usernames, phone numbers, claim values).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::http::{Req, bearer};
use crate::load::{Rng, Scenario};

/// What `loadgen setup` made through credd's API, saved for the runs (mode 0600: it
/// holds a worker secret and a token).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Context {
    pub environment_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub token: String,
    pub wallet_application_id: String,
    pub credential_type_id: String,
    pub policy_id: String,
    /// One paired wallet: the credential scenario's user.
    pub holder: Holder,
    /// Another user with one paired wallet: the delivery check's.
    pub delivery_holder: Holder,
    /// Whose wallets are created by the create scenario.
    pub creator_user_id: String,
    /// Whose wallets are seeded in bulk.
    pub bulk_user_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holder {
    pub user_id: String,
    pub wallet_id: String,
    /// The simulator's file (`credd wallet pair --file`): the wallet's token.
    pub wallet_file: String,
}

/// The field the bench's credential type requires (`data` key).
pub const CREDENTIAL_FIELD: &str = "Level";

/// The scenarios, by the name `loadgen run --scenario` takes.
pub const NAMES: &[&str] = &[
    "json",
    "insert",
    "read",
    "token",
    "wallet-read",
    "wallet-list",
    "wallet-create",
    "credential-create",
    "user-create",
    "device-create",
];

/// Everything a scenario may need besides the context.
pub struct Inputs {
    pub context: Option<Context>,
    /// The user the wallet and credential scenarios act on (defaults per scenario).
    pub user: Option<String>,
    /// Ids to pick from: rows (`read`), wallets (`wallet-read`), users (`device-create`).
    pub ids: Vec<String>,
    /// Makes usernames unique across runs on one database.
    pub tag: String,
}

struct Json;
impl Scenario for Json {
    fn request(&self, _: u64, _: &mut Rng) -> Req {
        Req::get("/json".into(), None)
    }
}

struct Insert;
impl Scenario for Insert {
    fn request(&self, i: u64, _: &mut Rng) -> Req {
        // About 200 bytes of JSON, like a small API resource.
        let body = json!({
            "username": format!("bench-row-{i:012}"),
            "email": format!("bench-row-{i:012}@bench.example"),
            "name": { "given": "Bench", "family": "Row", "formatted": "Bench Row" },
            "locale": "en-US",
            "status": "ACTIVE",
            "attributes": { "tier": "gold", "region": "NA" },
        });
        Req::post_json("/insert".into(), None, &body)
    }
}

/// Picks one of `ids` at random per request.
struct PickGet {
    prefix: String,
    ids: Vec<String>,
    auth: Option<Arc<str>>,
}
impl Scenario for PickGet {
    fn request(&self, _: u64, rng: &mut Rng) -> Req {
        let id = &self.ids[rng.below(self.ids.len())];
        Req::get(format!("{}{id}", self.prefix), self.auth.clone())
    }
}

struct Token {
    path: String,
    client_id: String,
    client_secret: String,
}
impl Scenario for Token {
    fn request(&self, _: u64, _: &mut Rng) -> Req {
        Req::post_form(
            self.path.clone(),
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &self.client_id),
                ("client_secret", &self.client_secret),
            ],
        )
    }
}

struct FixedGet(Req);
impl Scenario for FixedGet {
    fn request(&self, _: u64, _: &mut Rng) -> Req {
        self.0.clone()
    }
}

struct WalletCreate {
    path: String,
    auth: Arc<str>,
    application_id: String,
}
impl Scenario for WalletCreate {
    fn request(&self, _: u64, _: &mut Rng) -> Req {
        let body = json!({
            "digitalWalletApplication": { "id": self.application_id },
            "notification": { "methods": ["EMAIL"] },
        });
        Req::post_json(self.path.clone(), Some(self.auth.clone()), &body)
    }
}

struct CredentialCreate {
    path: String,
    auth: Arc<str>,
    type_id: String,
}
impl Scenario for CredentialCreate {
    fn request(&self, i: u64, _: &mut Rng) -> Req {
        let body =
            json!({ "credentialType": { "id": self.type_id }, "data": { CREDENTIAL_FIELD: format!("gold-{i}") } });
        Req::post_json(self.path.clone(), Some(self.auth.clone()), &body)
    }
}

struct UserCreate {
    path: String,
    auth: Arc<str>,
    tag: String,
}
impl Scenario for UserCreate {
    fn request(&self, i: u64, _: &mut Rng) -> Req {
        let username = format!("bench-{}-{i}", self.tag);
        let body =
            json!({ "username": username, "email": format!("{username}@bench.example"), "name": { "given": "Bench" } });
        Req::post_json(self.path.clone(), Some(self.auth.clone()), &body)
    }
}

struct DeviceCreate {
    environment_id: String,
    auth: Arc<str>,
    policy_id: String,
    users: Vec<String>,
}
impl Scenario for DeviceCreate {
    fn request(&self, i: u64, _: &mut Rng) -> Req {
        // Request i goes to user i mod n: with n users a run stays under 15 devices per
        // user (the most mfaSettings allows) while it makes fewer than 15 n requests.
        let user = &self.users[(i % self.users.len() as u64) as usize];
        // +1 512 NXX XXXX: a valid US number, unique per request.
        let phone = format!("+1.512{:03}{:04}", 200 + (i / 10_000) % 700, i % 10_000);
        let body = json!({ "type": "WHATSAPP", "phone": phone, "policy": { "id": self.policy_id } });
        let path = format!("/v1/environments/{}/users/{user}/devices", self.environment_id);
        Req::post_json(path, Some(self.auth.clone()), &body)
    }
}

/// The scenario called `name`.
pub fn build(name: &str, inputs: Inputs) -> Result<Arc<dyn Scenario>, String> {
    let needs_ids = |what: &str| -> Result<Vec<String>, String> {
        if inputs.ids.is_empty() {
            Err(format!("{name} needs --ids (a JSON array of {what})"))
        } else {
            Ok(inputs.ids.clone())
        }
    };
    match name {
        "json" => return Ok(Arc::new(Json)),
        "insert" => return Ok(Arc::new(Insert)),
        "read" => return Ok(Arc::new(PickGet { prefix: "/read/".into(), ids: needs_ids("row ids")?, auth: None })),
        _ => {}
    }
    let c = inputs.context.as_ref().ok_or_else(|| format!("{name} needs --context"))?;
    let env = &c.environment_id;
    let auth = bearer(&c.token);
    // `--user` takes an id or one of the context's roles.
    let user = |default: &str| match inputs.user.as_deref() {
        None => default.to_owned(),
        Some("holder") => c.holder.user_id.clone(),
        Some("delivery") => c.delivery_holder.user_id.clone(),
        Some("creator") => c.creator_user_id.clone(),
        Some("bulk") => c.bulk_user_id.clone(),
        Some(id) => id.to_owned(),
    };
    Ok(match name {
        "token" => Arc::new(Token {
            path: format!("/{env}/as/token"),
            client_id: c.client_id.clone(),
            client_secret: c.client_secret.clone(),
        }),
        "wallet-read" => {
            let user = user(&c.holder.user_id);
            let ids = if inputs.ids.is_empty() { vec![c.holder.wallet_id.clone()] } else { inputs.ids.clone() };
            Arc::new(PickGet {
                prefix: format!("/v1/environments/{env}/users/{user}/digitalWallets/"),
                ids,
                auth: Some(auth),
            })
        }
        "wallet-list" => {
            let user = user(&c.holder.user_id);
            Arc::new(FixedGet(Req::get(format!("/v1/environments/{env}/users/{user}/digitalWallets"), Some(auth))))
        }
        "wallet-create" => Arc::new(WalletCreate {
            path: format!("/v1/environments/{env}/users/{}/digitalWallets", user(&c.creator_user_id)),
            auth,
            application_id: c.wallet_application_id.clone(),
        }),
        "credential-create" => Arc::new(CredentialCreate {
            path: format!("/v1/environments/{env}/users/{}/credentials", user(&c.holder.user_id)),
            auth,
            type_id: c.credential_type_id.clone(),
        }),
        "user-create" => {
            Arc::new(UserCreate { path: format!("/v1/environments/{env}/users"), auth, tag: inputs.tag.clone() })
        }
        "device-create" => Arc::new(DeviceCreate {
            environment_id: env.clone(),
            auth,
            policy_id: c.policy_id.clone(),
            users: needs_ids("user ids")?,
        }),
        other => return Err(format!("unknown scenario {other}; one of {}", NAMES.join(", "))),
    })
}
