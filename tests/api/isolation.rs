//! Isolation: a worker of environment A reaches nothing of environment B by any route,
//! a user's self-service token reaches no other user, and a wallet's token opens no
//! other wallet's mailbox. Each attempt is refused, and B reads the same afterwards.
//!
//! [`OPERATIONS`] lists every operation of the management API; a test reads the
//! routers in `src/http` and fails when an operation is missing from it.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use credd::wallet_client::{self, PairedWallet};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse, served_operations};
use crate::mfa_policies::policy;
use crate::on_both_backends;
use crate::user_credentials;

on_both_backends!(
    another_environments_worker_reaches_nothing,
    a_user_token_reaches_no_other_user,
    a_wallet_token_opens_no_other_mailbox,
);

const JSON: &str = "application/json";
const REORDER: &str = "application/vnd.pingidentity.devices.reorder+json";
const ACTIVATE: &str = "application/vnd.pingidentity.device.activate+json";
const SEND_CODE: &str = "application/vnd.pingidentity.device.sendActivationCode+json";
const REVOKE: &str = "application/vnd.pingidentity.validations.revokeCredential+json";

/// One operation: a route as `src/http` spells it, and a body it would accept, whose
/// `{placeholders}` name the victim's resources too.
#[derive(Clone, Copy)]
struct Operation {
    method: &'static str,
    route: &'static str,
    media: &'static str,
    body: &'static str,
    /// A user may do this to themself with a self-service token.
    self_service: bool,
}

/// A device authentication policy with every field PingOne requires.
const POLICY: &str = r#"{"name":"intruder","default":false,
    "sms":{"enabled":true,"otp":{"lifeTime":{"duration":30,"timeUnit":"MINUTES"},"failure":{"count":3,"coolDown":{"duration":0,"timeUnit":"MINUTES"}}}},
    "voice":{"enabled":true,"otp":{"lifeTime":{"duration":30,"timeUnit":"MINUTES"},"failure":{"count":3,"coolDown":{"duration":0,"timeUnit":"MINUTES"}}}},
    "email":{"enabled":true,"otp":{"lifeTime":{"duration":30,"timeUnit":"MINUTES"},"failure":{"count":3,"coolDown":{"duration":0,"timeUnit":"MINUTES"}}}},
    "totp":{"enabled":true,"otp":{"failure":{"count":3,"coolDown":{"duration":0,"timeUnit":"MINUTES"}}}},
    "mobile":{"enabled":true,"otp":{"failure":{"count":3,"coolDown":{"duration":2,"timeUnit":"MINUTES"}}}},
    "fido2":{"enabled":true}}"#;

const fn op(method: &'static str, route: &'static str) -> Operation {
    Operation { method, route, media: JSON, body: "", self_service: false }
}

impl Operation {
    const fn body(self, body: &'static str) -> Self {
        Operation { body, ..self }
    }

    const fn media(self, media: &'static str) -> Self {
        Operation { media, ..self }
    }

    const fn self_service(self) -> Self {
        Operation { self_service: true, ..self }
    }
}

const GET: &str = "GET";
const POST: &str = "POST";
const PUT: &str = "PUT";
const PATCH: &str = "PATCH";
const DELETE: &str = "DELETE";
const ENV: &str = "/v1/environments/{environment_id}";
const TYPE_BODY: &str = r#"{"title":"Membership","management":{"mode":"MANAGED"},"metadata":{"fields":[{"id":"l","type":"Alphanumeric Text","title":"Level"}]}}"#;

/// Every operation under `/v1/environments/{environment_id}`; a new route is one line.
const OPERATIONS: &[Operation] = &[
    op(GET, ENV),
    op(PUT, ENV).body(r#"{"name":"Taken"}"#),
    op(DELETE, ENV),
    op(GET, "/v1/environments/{environment_id}/applications"),
    op(POST, "/v1/environments/{environment_id}/applications").body(r#"{"name":"intruder","type":"WORKER"}"#),
    op(GET, "/v1/environments/{environment_id}/applications/{application_id}"),
    op(PUT, "/v1/environments/{environment_id}/applications/{application_id}")
        .body(r#"{"name":"taken","type":"WORKER","enabled":false}"#),
    op(DELETE, "/v1/environments/{environment_id}/applications/{application_id}"),
    op(GET, "/v1/environments/{environment_id}/applications/{application_id}/secret"),
    op(POST, "/v1/environments/{environment_id}/applications/{application_id}/secret"),
    op(GET, "/v1/environments/{environment_id}/users"),
    op(POST, "/v1/environments/{environment_id}/users")
        .body(r#"{"username":"intruder","population":{"id":"{population_id}"}}"#),
    op(GET, "/v1/environments/{environment_id}/users/{user_id}").self_service(),
    op(PUT, "/v1/environments/{environment_id}/users/{user_id}").body(r#"{"username":"taken"}"#).self_service(),
    op(PATCH, "/v1/environments/{environment_id}/users/{user_id}")
        .body(r#"{"email":"taken@example.com"}"#)
        .self_service(),
    op(DELETE, "/v1/environments/{environment_id}/users/{user_id}"),
    op(GET, "/v1/environments/{environment_id}/users/{user_id}/population").self_service(),
    op(PUT, "/v1/environments/{environment_id}/users/{user_id}/population").body(r#"{"id":"{population_id}"}"#),
    op(GET, "/v1/environments/{environment_id}/users/{user_id}/enabled").self_service(),
    op(PUT, "/v1/environments/{environment_id}/users/{user_id}/enabled").body(r#"{"enabled":false}"#),
    op(GET, "/v1/environments/{environment_id}/populations"),
    op(POST, "/v1/environments/{environment_id}/populations").body(r#"{"name":"intruder","default":true}"#),
    op(GET, "/v1/environments/{environment_id}/populations/{population_id}"),
    op(PUT, "/v1/environments/{environment_id}/populations/{population_id}").body(r#"{"name":"taken","default":true}"#),
    op(DELETE, "/v1/environments/{environment_id}/populations/{population_id}"),
    op(GET, "/v1/environments/{environment_id}/groups"),
    op(POST, "/v1/environments/{environment_id}/groups").body(r#"{"name":"intruder"}"#),
    op(GET, "/v1/environments/{environment_id}/groups/{group_id}"),
    op(PUT, "/v1/environments/{environment_id}/groups/{group_id}").body(r#"{"name":"taken"}"#),
    op(DELETE, "/v1/environments/{environment_id}/groups/{group_id}"),
    op(GET, "/v1/environments/{environment_id}/groups/{group_id}/memberOfGroups"),
    op(POST, "/v1/environments/{environment_id}/groups/{group_id}/memberOfGroups").body(r#"{"id":"{nested_group_id}"}"#),
    op(GET, "/v1/environments/{environment_id}/groups/{group_id}/memberOfGroups/{nested_group_id}"),
    op(DELETE, "/v1/environments/{environment_id}/groups/{group_id}/memberOfGroups/{nested_group_id}"),
    op(GET, "/v1/environments/{environment_id}/users/{user_id}/memberOfGroups"),
    op(POST, "/v1/environments/{environment_id}/users/{user_id}/memberOfGroups").body(r#"{"id":"{group_id}"}"#),
    op(GET, "/v1/environments/{environment_id}/users/{user_id}/memberOfGroups/{group_id}"),
    op(DELETE, "/v1/environments/{environment_id}/users/{user_id}/memberOfGroups/{group_id}"),
    op(GET, "/v1/environments/{environment_id}/digitalWalletApplications"),
    op(POST, "/v1/environments/{environment_id}/digitalWalletApplications").body(
        r#"{"name":"intruder","application":{"id":"0190a3b4-0000-7000-8000-000000000000"},"appOpenUrl":"https://evil.example"}"#,
    ),
    op(GET, "/v1/environments/{environment_id}/digitalWalletApplications/{application_id}"),
    op(PUT, "/v1/environments/{environment_id}/digitalWalletApplications/{application_id}")
        .body(r#"{"name":"taken","application":{"id":"0190a3b4-0000-7000-8000-000000000000"},"appOpenUrl":"https://evil.example"}"#),
    op(DELETE, "/v1/environments/{environment_id}/digitalWalletApplications/{application_id}"),
    op(GET, "/v1/environments/{environment_id}/users/{user_id}/digitalWallets"),
    op(POST, "/v1/environments/{environment_id}/users/{user_id}/digitalWallets")
        .body(r#"{"digitalWalletApplication":{"id":"{wallet_application_id}"}}"#),
    op(GET, "/v1/environments/{environment_id}/users/{user_id}/digitalWallets/{wallet_id}"),
    op(PUT, "/v1/environments/{environment_id}/users/{user_id}/digitalWallets/{wallet_id}")
        .body(r#"{"status":"DISABLED"}"#),
    op(DELETE, "/v1/environments/{environment_id}/users/{user_id}/digitalWallets/{wallet_id}"),
    op(GET, "/v1/environments/{environment_id}/users/{user_id}/digitalWallets/{wallet_id}/pairingQr"),
    op(GET, "/v1/environments/{environment_id}/templates/{template_name}/contents"),
    op(POST, "/v1/environments/{environment_id}/templates/{template_name}/contents")
        .body(r#"{"deliveryMethod":"SMS","locale":"de","content":"taken ${otp}"}"#),
    op(GET, "/v1/environments/{environment_id}/templates/{template_name}/contents/{content_id}"),
    op(PUT, "/v1/environments/{environment_id}/templates/{template_name}/contents/{content_id}")
        .body(r#"{"deliveryMethod":"SMS","locale":"fr","content":"taken ${otp}"}"#),
    op(DELETE, "/v1/environments/{environment_id}/templates/{template_name}/contents/{content_id}"),
    op(GET, "/v1/environments/{environment_id}/notifications"),
    op(GET, "/v1/environments/{environment_id}/notifications/{notification_id}"),
    op(GET, "/v1/environments/{environment_id}/credentialIssuerProfile"),
    op(POST, "/v1/environments/{environment_id}/credentialIssuerProfile").body(r#"{"name":"Taken"}"#),
    op(PUT, "/v1/environments/{environment_id}/credentialIssuerProfile").body(r#"{"name":"Taken"}"#),
    op(GET, "/v1/environments/{environment_id}/credentialTypes"),
    op(POST, "/v1/environments/{environment_id}/credentialTypes").body(TYPE_BODY),
    op(GET, "/v1/environments/{environment_id}/credentialTypes/{type_id}"),
    op(PUT, "/v1/environments/{environment_id}/credentialTypes/{type_id}").body(TYPE_BODY),
    op(DELETE, "/v1/environments/{environment_id}/credentialTypes/{type_id}"),
    op(GET, "/v1/environments/{environment_id}/credentialTypes/{type_id}/versions"),
    op(GET, "/v1/environments/{environment_id}/credentialTypes/{type_id}/versions/{version_id}"),
    op(GET, "/v1/environments/{environment_id}/users/{user_id}/credentials"),
    op(POST, "/v1/environments/{environment_id}/users/{user_id}/credentials")
        .body(r#"{"credentialType":{"id":"{type_id}"}}"#),
    op(GET, "/v1/environments/{environment_id}/users/{user_id}/credentials/{credential_id}"),
    op(PUT, "/v1/environments/{environment_id}/users/{user_id}/credentials/{credential_id}")
        .body(r#"{"credentialType":{"id":"{type_id}"}}"#),
    op(POST, "/v1/environments/{environment_id}/users/{user_id}/credentials/{credential_id}").media(REVOKE),
    op(GET,
        "/v1/environments/{environment_id}/users/{user_id}/credentials/{credential_id}/provisionedCredentials",
    ),
    op(GET, "/v1/environments/{environment_id}/users/{user_id}/digitalWallets/{wallet_id}/provisionedCredentials"),
    op(GET, "/v1/environments/{environment_id}/users/{user_id}/devices").self_service(),
    op(POST, "/v1/environments/{environment_id}/users/{user_id}/devices")
        .body(r#"{"type":"EMAIL","email":"taken@example.com","policy":{"id":"{policy_id}"}}"#)
        .self_service(),
    op(POST, "/v1/environments/{environment_id}/users/{user_id}/devices")
        .media(REORDER)
        .body(r#"{"order":[{"id":"{device_id}"}]}"#)
        .self_service(),
    op(GET, "/v1/environments/{environment_id}/users/{user_id}/devices/{device_id}").self_service(),
    op(POST, "/v1/environments/{environment_id}/users/{user_id}/devices/{device_id}")
        .media(ACTIVATE)
        .body(r#"{"otp":"12345678"}"#)
        .self_service(),
    op(POST, "/v1/environments/{environment_id}/users/{user_id}/devices/{device_id}")
        .media(SEND_CODE)
        .self_service(),
    op(PUT, "/v1/environments/{environment_id}/users/{user_id}/devices/{device_id}")
        .body(r#"{"nickname":"taken"}"#)
        .self_service(),
    op(DELETE, "/v1/environments/{environment_id}/users/{user_id}/devices/{device_id}").self_service(),
    op(PUT, "/v1/environments/{environment_id}/users/{user_id}/devices/{device_id}/nickname")
        .body(r#"{"nickname":"taken"}"#)
        .self_service(),
    op(GET, "/v1/environments/{environment_id}/deviceAuthenticationPolicies"),
    op(POST, "/v1/environments/{environment_id}/deviceAuthenticationPolicies").body(POLICY),
    op(GET, "/v1/environments/{environment_id}/deviceAuthenticationPolicies/{policy_id}"),
    op(PUT, "/v1/environments/{environment_id}/deviceAuthenticationPolicies/{policy_id}").body(POLICY),
    op(DELETE, "/v1/environments/{environment_id}/deviceAuthenticationPolicies/{policy_id}"),
    op(GET, "/v1/environments/{environment_id}/mfaSettings"),
    op(PUT, "/v1/environments/{environment_id}/mfaSettings").body(r#"{"pairing":{"maxAllowedDevices":1}}"#),
    op(DELETE, "/v1/environments/{environment_id}/mfaSettings"),
    op(POST, "/v1/environments/{environment_id}/reset"),
    op(GET, "/v1/environments/{environment_id}/configuration"),
    op(PUT, "/v1/environments/{environment_id}/configuration").body(r#"{"mfaSettings":{"pairing":{"maxAllowedDevices":1}}}"#),
];

/// Routes with an environment id that need no token, and why that is safe.
const PUBLIC: &[(&str, &str)] = &[
    ("/{environment_id}/as/token", "client authentication; auth.rs shows another environment's secret fails"),
    ("/{environment_id}/as/jwks", "the environment's public token keys"),
    ("/{environment_id}/as/.well-known/openid-configuration", "public provider metadata: the issuer and endpoints"),
    ("/{environment_id}/did.json", "the issuer's public DID document"),
];

/// An environment with one of everything: a user (`owner`) with a paired wallet holding
/// a delivered credential, a second wallet waiting for pairing (its link sent by email),
/// an MFA device waiting for its code, and a second user.
pub struct Tenant {
    pub env: String,
    /// A token of the environment's own worker.
    pub token: String,
    /// The value of each route placeholder.
    pub ids: BTreeMap<&'static str, String>,
    pub wallet: PairedWallet,
    /// A user of the environment other than the owner.
    pub other_user: String,
}

pub async fn tenant(app: &TestApp) -> Tenant {
    let s = user_credentials::setup(app).await;
    let (env, admin) = (s.env.clone(), s.token.clone());
    let (worker, secret) = app.create_worker(&admin, &env, json!({ "name": "own", "type": "WORKER" })).await;
    let token = app.worker_token(&env, &worker, &secret).await;
    let created = |path: String, body: Value| {
        let token = token.clone();
        async move {
            let response = app.post(&path).bearer(&token).json(body).send().await;
            assert_eq!(response.status, StatusCode::CREATED, "{path}: {}", response.body);
            response.body["id"].as_str().unwrap().to_owned()
        }
    };
    let base = format!("/v1/environments/{env}");
    let owner = format!("{base}/users/{}", s.user_id);
    let application = app.create_worker(&token, &env, json!({ "name": "target", "type": "WORKER" })).await.0;
    let other_user =
        app.create_user(&token, &env, json!({ "username": "other" })).await["id"].as_str().unwrap().to_owned();
    let wallet_application = app.create_wallet_application(&token, &env).await;
    let wallet = app
        .create_wallet(&token, &env, &s.user_id, json!({ "digitalWalletApplication": { "id": wallet_application } }))
        .await;
    let wallet = wallet_client::pair(app, wallet["pairingSession"]["qrUrl"].as_str().unwrap(), "phone").await.unwrap();
    let pending_wallet = app
        .create_wallet(
            &token,
            &env,
            &s.user_id,
            json!({ "digitalWalletApplication": { "id": wallet_application }, "notification": { "methods": ["EMAIL"] } }),
        )
        .await;
    let credential = created(
        format!("{owner}/credentials"),
        json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "Gold" } }),
    )
    .await;
    let policy = created(format!("{base}/deviceAuthenticationPolicies"), policy("Strict", json!({}))).await;
    let population = created(format!("{base}/populations"), json!({ "name": "Staff" })).await;
    let device = created(
        format!("{owner}/devices"),
        json!({ "type": "EMAIL", "email": "ada@example.com", "policy": { "id": policy }, "status": "ACTIVATION_REQUIRED" }),
    )
    .await;
    let content = created(
        format!("{base}/templates/device_pairing/contents"),
        json!({ "deliveryMethod": "SMS", "locale": "fr", "content": "Code ${otp}" }),
    )
    .await;
    // Stored, so its updatedAt stays put (unset settings answer the time of reading).
    let settings = json!({ "pairing": { "maxAllowedDevices": 5 } });
    app.put(&format!("{base}/mfaSettings")).bearer(&token).json(settings).send().await;
    app.run_jobs().await;
    let notifications = app.get(&format!("{base}/notifications")).bearer(&token).send().await.body;
    let notification = notifications["_embedded"]["notifications"][0]["id"].as_str().unwrap().to_owned();
    // The owner is in a group nested in another.
    let group = created(format!("{base}/groups"), json!({ "name": "Staff" })).await;
    let nested_group = created(format!("{base}/groups"), json!({ "name": "Everyone" })).await;
    created(format!("{base}/groups/{group}/memberOfGroups"), json!({ "id": nested_group })).await;
    created(format!("{owner}/memberOfGroups"), json!({ "id": group })).await;
    let credential_type = app.get(&format!("{base}/credentialTypes/{}", s.type_id)).bearer(&token).send().await.body;
    let version = credential_type["version"]["id"].as_str().unwrap().to_owned();
    let ids = BTreeMap::from([
        ("environment_id", env.clone()),
        ("user_id", s.user_id),
        ("application_id", application),
        ("wallet_application_id", wallet_application),
        ("wallet_id", wallet.wallet_id.clone()),
        ("pending_wallet_id", pending_wallet["id"].as_str().unwrap().to_owned()),
        ("template_name", "device_pairing".to_owned()),
        ("content_id", content),
        ("notification_id", notification),
        ("type_id", s.type_id),
        ("version_id", version),
        ("credential_id", credential),
        ("device_id", device),
        ("policy_id", policy),
        ("population_id", population),
        ("group_id", group),
        ("nested_group_id", nested_group),
    ]);
    Tenant { env, token, ids, wallet, other_user }
}

/// The placeholder names of a route, in order; `{application_id}` under
/// `digitalWalletApplications` is a wallet application's, and the `{wallet_id}` of a
/// pairing QR code the wallet's that waits for pairing.
fn placeholders(route: &str) -> Vec<&'static str> {
    let wallet_applications = route.contains("digitalWalletApplications");
    let pairing_qr = route.ends_with("/pairingQr");
    route
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| match name {
            "application_id" if wallet_applications => "wallet_application_id",
            "wallet_id" if pairing_qr => "pending_wallet_id",
            other => KNOWN.iter().find(|k| **k == other).unwrap_or_else(|| panic!("unknown placeholder {other}")),
        })
        .collect()
}

const KNOWN: &[&str] = &[
    "environment_id",
    "user_id",
    "application_id",
    "wallet_application_id",
    "wallet_id",
    "pending_wallet_id",
    "template_name",
    "content_id",
    "notification_id",
    "type_id",
    "version_id",
    "credential_id",
    "device_id",
    "policy_id",
    "population_id",
    "group_id",
    "nested_group_id",
];

/// The route and body with each placeholder taken from `pick(name)`.
fn fill(operation: &Operation, pick: impl Fn(&str) -> String) -> (String, String) {
    let mut path = operation.route.to_owned();
    for (segment, name) in operation.route.split('/').filter(|s| s.starts_with('{')).zip(placeholders(operation.route))
    {
        path = path.replacen(segment, &pick(name), 1);
    }
    let mut body = operation.body.to_owned();
    for name in KNOWN {
        body = body.replace(&format!("{{{name}}}"), &pick(name));
    }
    (path, body)
}

/// The ids in a route besides the environment's (a template name is not one).
fn resource_ids(operation: &Operation) -> Vec<&'static str> {
    placeholders(operation.route).into_iter().filter(|n| !matches!(*n, "environment_id" | "template_name")).collect()
}

async fn call(app: &TestApp, operation: &Operation, token: &str, (path, body): (String, String)) -> TestResponse {
    app.request(Method::from_bytes(operation.method.as_bytes()).unwrap(), &path)
        .bearer(token)
        .raw(operation.media, body)
        .send()
        .await
}

/// Everything B's own worker can read through the table's GET operations.
async fn state_of(app: &TestApp, tenant: &Tenant) -> Vec<(String, StatusCode, Value)> {
    let mut state = Vec::new();
    for operation in OPERATIONS.iter().filter(|o| o.method == GET) {
        let (path, _) = fill(operation, |name| tenant.ids[name].clone());
        let response = app.get(&path).bearer(&tenant.token).send().await;
        state.push((path, response.status, response.body));
    }
    state
}

/// Collects what was answered unexpectedly, so one run shows every hole.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    fn expect(&mut self, what: &str, operation: &Operation, response: &TestResponse, status: StatusCode) {
        if response.status != status {
            let route = format!("{} {} ({})", operation.method, operation.route, operation.media);
            self.0.push(format!("{what}: {route}: expected {status}, got {}: {}", response.status, response.body));
        }
    }

    fn assert_none(self) {
        assert!(self.0.is_empty(), "{} unexpected answers:\n{}", self.0.len(), self.0.join("\n"));
    }
}

async fn another_environments_worker_reaches_nothing(app: &TestApp) {
    let (a, b) = (tenant(app).await, tenant(app).await);
    let before = state_of(app, &b).await;
    let mut findings = Findings::default();
    for operation in OPERATIONS {
        // B's resources under B's environment.
        let response = call(app, operation, &a.token, fill(operation, |n| b.ids[n].clone())).await;
        findings.expect("in B", operation, &response, StatusCode::FORBIDDEN);
        // B's resources under A's environment id.
        let ids = resource_ids(operation);
        if !ids.is_empty() {
            let under_a = |n: &str| if n == "environment_id" { a.env.clone() } else { b.ids[n].clone() };
            let response = call(app, operation, &a.token, fill(operation, under_a)).await;
            findings.expect("B's under A", operation, &response, StatusCode::NOT_FOUND);
        }
        // A's path down to a resource of B's.
        if let [.., last] = ids[..]
            && ids.len() > 1
        {
            let pick = |n: &str| if n == last { b.ids[n].clone() } else { a.ids[n].clone() };
            let response = call(app, operation, &a.token, fill(operation, pick)).await;
            findings.expect("one of B's in A's path", operation, &response, StatusCode::NOT_FOUND);
        }
        // A's own path, with a body that points at B's resources.
        if operation.body.contains("_id}") {
            let (path, _) = fill(operation, |n| a.ids[n].clone());
            let (_, body) = fill(operation, |n| b.ids[n].clone());
            let response = call(app, operation, &a.token, (path, body)).await;
            findings.expect("B's in A's body", operation, &response, StatusCode::BAD_REQUEST);
        }
    }
    findings.assert_none();
    assert_eq!(state_of(app, &b).await, before, "B reads the same");
}

async fn a_user_token_reaches_no_other_user(app: &TestApp) {
    let t = tenant(app).await;
    let worker = app.create_worker(&t.token, &t.env, json!({ "name": "exchange", "type": "WORKER" })).await;
    let scopes = credd::auth::SELF_MANAGEMENT_SCOPES.join(" ");
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange")
        .append_pair("subject_token", &t.other_user)
        .append_pair("subject_token_type", "urn:credd:params:oauth:token-type:user-id")
        .append_pair("scope", &scopes)
        .finish();
    let response = app.post(&format!("/{}/as/token", t.env)).basic(&worker.0, &worker.1).form(&form).send().await;
    let user_token = response.body["access_token"].as_str().expect("a self-service token").to_owned();

    let before = state_of(app, &t).await;
    let mut findings = Findings::default();
    for operation in OPERATIONS {
        // Anything of the owner's, or of the environment's.
        let response = call(app, operation, &user_token, fill(operation, |n| t.ids[n].clone())).await;
        findings.expect("the owner's", operation, &response, StatusCode::FORBIDDEN);
        // The owner's device, wallet or credential under the user's own path.
        if resource_ids(operation).len() > 1 {
            let own_path = |n: &str| if n == "user_id" { t.other_user.clone() } else { t.ids[n].clone() };
            let response = call(app, operation, &user_token, fill(operation, own_path)).await;
            let refused = if operation.self_service { StatusCode::NOT_FOUND } else { StatusCode::FORBIDDEN };
            findings.expect("the owner's under the user's path", operation, &response, refused);
        }
    }
    findings.assert_none();
    assert_eq!(state_of(app, &t).await, before, "the environment reads the same");
}

async fn a_wallet_token_opens_no_other_mailbox(app: &TestApp) {
    let (a, b) = (tenant(app).await, tenant(app).await);
    let offers = wallet_client::credentials(app, &b.wallet).await.unwrap();
    let (b_wallet, a_wallet) = (&b.wallet.wallet_id, &a.wallet.wallet_id);
    let b_offer = offers[0]["id"].as_str().unwrap();
    let before = state_of(app, &b).await;

    let attempts = [
        (Method::GET, format!("/v1/distributedid/wallets/{b_wallet}"), None),
        (Method::GET, format!("/v1/distributedid/wallets/{b_wallet}/credentials"), None),
        (Method::POST, format!("/v1/distributedid/wallets/{b_wallet}/credentials/{b_offer}"), Some("ACCEPT")),
        (Method::POST, format!("/v1/distributedid/wallets/{b_wallet}/credentials/{b_offer}"), Some("REJECT")),
        (Method::POST, format!("/v1/distributedid/wallets/{b_wallet}/credentials/{b_offer}"), Some("DELETE")),
        // B's offer through A's own wallet.
        (Method::POST, format!("/v1/distributedid/wallets/{a_wallet}/credentials/{b_offer}"), Some("DELETE")),
    ];
    let mut refused = Vec::new();
    for token in [&a.wallet.access_token, &b.token] {
        for (method, path, action) in &attempts {
            let mut request = app.request(method.clone(), path).bearer(token);
            if let Some(action) = action {
                request = request.json(json!({ "action": action }));
            }
            let response = request.send().await;
            refused.push((path.replace(b_wallet, "B").replace(a_wallet, "A"), response.status));
        }
    }
    let expected: Vec<StatusCode> = [401, 401, 401, 401, 401, 404, 401, 401, 401, 401, 401, 401]
        .into_iter()
        .map(|s| StatusCode::from_u16(s).unwrap())
        .collect();
    assert_eq!(refused.iter().map(|(_, s)| *s).collect::<Vec<_>>(), expected, "{refused:?}");
    assert_eq!(wallet_client::credentials(app, &b.wallet).await.unwrap(), offers, "B's mailbox is as it was");
    assert_eq!(state_of(app, &b).await, before, "B reads the same");
}

#[test]
fn every_environment_route_is_in_the_table() {
    let served = served_operations();
    assert!(served.len() > 50, "the routers were read: {served:?}");
    let missing: Vec<String> = served
        .iter()
        .filter(|(_, route)| route.contains("{environment_id}") && !PUBLIC.iter().any(|(p, _)| p == route))
        .filter(|(method, route)| !OPERATIONS.iter().any(|o| o.method == method && o.route == route))
        .map(|(method, route)| format!("{method} {route}"))
        .collect();
    assert!(missing.is_empty(), "add these to OPERATIONS: {missing:#?}");
    let stale: Vec<&str> = OPERATIONS
        .iter()
        .filter(|o| !served.iter().any(|(m, r)| m == o.method && r == o.route))
        .map(|o| o.route)
        .collect();
    assert!(stale.is_empty(), "not served: {stale:?}");
}
