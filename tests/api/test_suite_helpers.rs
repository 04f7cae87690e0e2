//! Test-suite helpers: resetting an environment to how it was created, and exporting
//! and importing its configuration.

use axum::http::StatusCode;
use credd::wallet_client;
use domain::store::JobStore;
use domain::time::now;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::isolation::tenant;
use crate::mfa_policies::policy;
use crate::on_both_backends;

// A configuration document is larger than the other tests' bodies.
on_both_backends!(args = ["--body-limit-bytes", "65536"];
    reset_export_and_import_bring_an_environment_to_a_known_state,
    import_checks_everything_before_writing_anything,
);

fn configuration_path(env: &str) -> String {
    format!("/v1/environments/{env}/configuration")
}

async fn export(app: &TestApp, token: &str, env: &str) -> Value {
    let response = app.get(&configuration_path(env)).bearer(token).send().await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.body
}

/// The document as a copy into another environment: its items without ids, but for its
/// native applications and groups, which get new ones that their wallet applications and
/// nestings name.
fn copy_of(mut document: Value) -> Value {
    for section in [
        "credentialTypes",
        "digitalWalletApplications",
        "templateContents",
        "deviceAuthenticationPolicies",
        "populations",
    ] {
        for item in document[section].as_array_mut().unwrap() {
            item.as_object_mut().unwrap().remove("id");
        }
    }
    let natives = new_ids(&mut document["applications"]);
    for wallet_app in document["digitalWalletApplications"].as_array_mut().unwrap() {
        renamed(&natives, &mut wallet_app["application"]["id"]);
    }
    let groups = new_ids(&mut document["groups"]);
    for nesting in document["groupNestings"].as_array_mut().unwrap() {
        renamed(&groups, &mut nesting["group"]["id"]);
        renamed(&groups, &mut nesting["memberOfGroup"]["id"]);
    }
    document
}

/// Gives each item a new id, in the items' order (an export lists them by id); returns
/// the (old, new) pairs.
fn new_ids(items: &mut Value) -> Vec<(Value, Value)> {
    let items = items.as_array_mut().unwrap();
    let mut fresh: Vec<uuid::Uuid> = items.iter().map(|_| uuid::Uuid::new_v4()).collect();
    fresh.sort();
    items
        .iter_mut()
        .zip(fresh)
        .map(|(item, new)| (std::mem::replace(&mut item["id"], json!(new)), json!(new)))
        .collect()
}

fn renamed(pairs: &[(Value, Value)], id: &mut Value) {
    if let Some((_, new)) = pairs.iter().find(|(old, _)| old == id) {
        *id = new.clone();
    }
}

/// The document without any id, to compare a copy with its original (nestings by the
/// names of their groups).
fn without_ids(document: Value) -> Value {
    let mut document = copy_of(document);
    for native in document["applications"].as_array_mut().unwrap() {
        native.as_object_mut().unwrap().remove("id");
    }
    for wallet_app in document["digitalWalletApplications"].as_array_mut().unwrap() {
        wallet_app.as_object_mut().unwrap().remove("application");
    }
    let names: Vec<(Value, Value)> =
        document["groups"].as_array().unwrap().iter().map(|g| (g["id"].clone(), g["name"].clone())).collect();
    for nesting in document["groupNestings"].as_array_mut().unwrap() {
        renamed(&names, &mut nesting["group"]["id"]);
        renamed(&names, &mut nesting["memberOfGroup"]["id"]);
    }
    for group in document["groups"].as_array_mut().unwrap() {
        group.as_object_mut().unwrap().remove("id");
    }
    document
}

async fn list(app: &TestApp, token: &str, path: &str, embedded: &str) -> Vec<Value> {
    let response = app.get(path).bearer(token).send().await;
    assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.body);
    response.body["_embedded"][embedded].as_array().unwrap().clone()
}

async fn reset_export_and_import_bring_an_environment_to_a_known_state(app: &TestApp) {
    // A: configured, with users, a paired wallet holding a credential, a device; B too.
    let (a, b) = (tenant(app).await, tenant(app).await);
    let (env, token) = (a.env.as_str(), a.token.as_str());
    let base = format!("/v1/environments/{env}");
    let profile = json!({ "name": "Acme Issuer", "siteUrl": "https://acme.example.com" });
    app.put(&format!("{base}/credentialIssuerProfile")).bearer(token).json(profile).send().await;
    let did_document = app.get(&format!("/{env}/did.json")).send().await.body;
    // A code sent and not yet delivered: its job is due when the reset comes.
    let device = format!("{base}/users/{}/devices/{}", a.ids["user_id"], a.ids["device_id"]);
    let resent = app
        .post(&device)
        .bearer(token)
        .raw("application/vnd.pingidentity.device.sendActivationCode+json", "")
        .send()
        .await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);
    let b_before = export(app, &b.token, &b.env).await;

    let exported = export(app, token, env).await;
    assert_eq!(
        exported["credentialIssuerProfile"],
        json!({ "name": "Acme Issuer", "siteUrl": "https://acme.example.com", "did": { "web": { "useCustomDomain": true } } })
    );
    let types = exported["credentialTypes"].as_array().unwrap();
    assert_eq!((types.len(), types[0]["id"].as_str()), (1, Some(a.ids["type_id"].as_str())));
    assert_eq!(types[0]["metadata"]["fields"][0]["title"], "Level");
    for made_by_credd in ["_links", "environment", "createdAt", "updatedAt", "version", "issuer"] {
        assert!(types[0].get(made_by_credd).is_none(), "{made_by_credd}: {}", types[0]);
    }
    assert_eq!(exported["digitalWalletApplications"][0]["id"].as_str(), Some(a.ids["wallet_application_id"].as_str()));
    assert_eq!(exported["templateContents"][0]["template"]["name"], "device_pairing");
    assert_eq!(exported["templateContents"][0]["content"], "Code ${otp}");
    let policies: Vec<&str> = exported["deviceAuthenticationPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(policies, ["Default MFA Policy", "Strict"]);
    assert_eq!(exported["mfaSettings"], default_mfa_settings());

    let reset = app.post(&format!("{base}/reset")).bearer(token).send().await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{}", reset.body);

    // The users and all of theirs are gone.
    assert!(list(app, token, &format!("{base}/users"), "users").await.is_empty());
    let user = app.get(&format!("{base}/users/{}", a.ids["user_id"])).bearer(token).send().await;
    assert_eq!(user.status, StatusCode::NOT_FOUND);
    assert!(list(app, token, &format!("{base}/notifications"), "notifications").await.is_empty());
    assert!(wallet_client::credentials(app, &a.wallet).await.is_err(), "the wallet's token opens nothing");
    // The configuration is a new environment's.
    assert!(list(app, token, &format!("{base}/credentialTypes"), "items").await.is_empty());
    assert!(
        list(app, token, &format!("{base}/digitalWalletApplications"), "digitalWalletApplications").await.is_empty()
    );
    let contents = list(app, token, &format!("{base}/templates/device_pairing/contents"), "contents").await;
    assert!(contents.is_empty(), "{contents:?}");
    let policies =
        list(app, token, &format!("{base}/deviceAuthenticationPolicies"), "deviceAuthenticationPolicies").await;
    assert_eq!(policies.len(), 1);
    assert_eq!(
        (policies[0]["name"].as_str(), policies[0]["default"].as_bool()),
        (Some("Default MFA Policy"), Some(true))
    );
    let fresh = export(app, token, env).await;
    assert_eq!(
        fresh["credentialIssuerProfile"],
        json!({ "name": "Issuer", "did": { "web": { "useCustomDomain": true } } }),
        "named after the environment"
    );
    assert_eq!(fresh["mfaSettings"], default_mfa_settings());
    // What the suite itself stands on stays: its worker (a new token too) and the DID.
    let (worker, secret) = app.create_worker(token, env, json!({ "name": "after", "type": "WORKER" })).await;
    app.worker_token(env, &worker, &secret).await;
    assert_eq!(app.get(&format!("/{env}/did.json")).send().await.body, did_document);
    // Jobs queued for what is gone end quietly.
    assert!(app.run_jobs().await >= 1);
    let queue = app.state.credd.store.job_queue(now()).await.unwrap();
    assert_eq!((queue.due, queue.running), (0, 0));
    let metrics = app.get("/metrics").send().await.body;
    let metrics = metrics.as_str().unwrap();
    assert!(!metrics.contains("outcome=\"dead\"") && !metrics.contains("outcome=\"retried\""), "{metrics}");
    // B is untouched.
    assert_eq!(export(app, &b.token, &b.env).await, b_before);
    let b_user =
        app.get(&format!("/v1/environments/{}/users/{}", b.env, b.ids["user_id"])).bearer(&b.token).send().await;
    assert_eq!(b_user.status, StatusCode::OK);

    // The export, imported, is the configuration again, ids and all.
    let imported = app.put(&configuration_path(env)).bearer(token).json(exported.clone()).send().await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.body);
    assert_eq!(imported.body, exported);
    assert_eq!(export(app, token, env).await, exported);
    let type_path = format!("{base}/credentialTypes/{}", a.ids["type_id"]);
    assert_eq!(app.get(&type_path).bearer(token).send().await.status, StatusCode::OK);
}

async fn import_checks_everything_before_writing_anything(app: &TestApp) {
    let a = tenant(app).await;
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Fresh").await;
    let path = configuration_path(&env);
    let before = export(app, &token, &env).await;

    let malformed = app.put(&path).bearer(&token).raw("application/json", "{\"credentialTypes\": [").send().await;
    malformed.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    let wrong_type = app.put(&path).bearer(&token).json(json!({ "credentialTypes": "Membership" })).send().await;
    assert_eq!(wrong_type.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "credentialTypes");

    // Every problem at once, each where it is, and nothing written.
    let invalid = json!({
        "credentialTypes": [
            { "title": "Fine", "metadata": { "fields": [{ "id": "a", "type": "Alphanumeric Text", "title": "A", "value": "x" }] } },
            { "metadata": { "fields": [] } },
        ],
        "templateContents": [{ "template": { "name": "no_such_template" }, "deliveryMethod": "SMS", "locale": "fr", "content": "x" }],
        "deviceAuthenticationPolicies": [policy("One", json!({ "default": true })), policy("Two", json!({ "default": true }))],
        "mfaSettings": { "pairing": { "maxAllowedDevices": 99 } },
    });
    let refused = app.put(&path).bearer(&token).json(invalid).send().await;
    refused.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    let mut targets: Vec<&str> =
        refused.body["details"].as_array().unwrap().iter().map(|d| d["target"].as_str().unwrap()).collect();
    targets.sort_unstable();
    assert_eq!(
        targets,
        ["credentialTypes[1].title", "mfaSettings.pairing.maxAllowedDevices", "templateContents[0].template.name"],
        "{}",
        refused.body
    );
    // Wallet applications name native applications of the document; workers are no part of it.
    let worker = uuid::Uuid::new_v4();
    let wrong_applications = json!({
        "applications": [{ "id": worker, "name": "w", "type": "WORKER" }],
        "digitalWalletApplications": [
            { "name": "On a worker", "application": { "id": worker }, "appOpenUrl": "https://w.example" },
            { "name": "On nothing", "application": { "id": uuid::Uuid::new_v4() }, "appOpenUrl": "https://w.example" },
        ],
    });
    let refused = app.put(&path).bearer(&token).json(wrong_applications).send().await;
    refused.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    let targets: Vec<&str> =
        refused.body["details"].as_array().unwrap().iter().map(|d| d["target"].as_str().unwrap()).collect();
    assert_eq!(
        targets,
        [
            "applications[0].type",
            "digitalWalletApplications[0].application.id",
            "digitalWalletApplications[1].application.id"
        ],
        "{}",
        refused.body
    );
    let two_defaults = json!({
        "deviceAuthenticationPolicies": [policy("One", json!({ "default": true })), policy("Two", json!({ "default": true }))]
    });
    let refused = app.put(&path).bearer(&token).json(two_defaults).send().await;
    assert_eq!(refused.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "deviceAuthenticationPolicies");
    assert_eq!(export(app, &token, &env).await, before);

    // Another environment's ids are taken: 409; without them, the same configuration.
    let original = export(app, &a.token, &a.env).await;
    let taken = app.put(&path).bearer(&token).json(original.clone()).send().await;
    assert_eq!(taken.expect_error(StatusCode::CONFLICT, "UNIQUENESS_VIOLATION")["target"], "id");
    assert_eq!(export(app, &token, &env).await, before);
    let copied = copy_of(original.clone());
    let cloned = app.put(&path).bearer(&token).json(copied.clone()).send().await;
    assert_eq!(cloned.status, StatusCode::OK, "{}", cloned.body);
    assert_eq!(without_ids(cloned.body), without_ids(original));

    // An environment with users is refused: its records point at the configuration.
    let refused = app.put(&configuration_path(&a.env)).bearer(&a.token).json(before).send().await;
    assert_eq!(refused.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST")["target"], "users");
    let unknown =
        app.put(&configuration_path(&uuid::Uuid::new_v4().to_string())).bearer(&token).json(json!({})).send().await;
    unknown.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

/// A new environment's MFA settings, as an export shows them.
fn default_mfa_settings() -> Value {
    json!({
        "pairing": { "maxAllowedDevices": 5, "pairingKeyFormat": "ALPHANUMERIC" },
        "lockout": { "failureCount": 5, "durationSeconds": 600 },
        "phoneExtensions": { "enabled": false },
        "users": { "mfaEnabled": false }
    })
}
