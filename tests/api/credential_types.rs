//! The issuer profile, its DID document, and credential types.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    issuer_profile_and_did_document,
    issuer_profile_post_creates_it_and_every_field_round_trips,
    managed_type_lifecycle,
    credential_type_rules,
    every_credential_type_field_round_trips_and_each_change_is_a_version,
    credential_type_option_rules,
);

/// Every member of `sent` is in `answered` with the same value (arrays item by item).
#[track_caller]
pub fn assert_answered_as_sent(answered: &Value, sent: &Value, at: &str) {
    match (answered, sent) {
        (Value::Object(answered), Value::Object(sent)) => {
            for (key, value) in sent {
                let got = answered.get(key).unwrap_or_else(|| panic!("{at}.{key} is missing"));
                assert_answered_as_sent(got, value, &format!("{at}.{key}"));
            }
        }
        (Value::Array(answered), Value::Array(sent)) => {
            assert_eq!(answered.len(), sent.len(), "{at} has another length");
            for (i, (got, value)) in answered.iter().zip(sent).enumerate() {
                assert_answered_as_sent(got, value, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(answered, sent, "{at}"),
    }
}

/// The `target` of each detail of a 400 `INVALID_DATA`.
fn targets(response: &crate::helpers::TestResponse) -> Vec<String> {
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    response.body["details"].as_array().unwrap().iter().map(|d| d["target"].as_str().unwrap().to_owned()).collect()
}

async fn issuer_profile_and_did_document(app: &TestApp) {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Issuer Co").await;
    let path = format!("/v1/environments/{env}/credentialIssuerProfile");
    let profile = app.get(&path).bearer(&token).send().await.body;
    assert_eq!(profile["name"], "Issuer Co");
    let did = format!("did:web:credd.test:{env}");
    assert_eq!(
        profile["did"],
        json!({ "method": "WEB", "value": did, "web": { "host": "PING", "useCustomDomain": true } })
    );
    assert_eq!(app.get(&path).bearer(&token).send().await.body["id"], profile["id"], "made once");

    let updated = app
        .put(&path)
        .bearer(&token)
        .json(json!({ "name": "New Issuer Name 53", "siteUrl": "https://pingidentity2.com" }))
        .send()
        .await;
    assert_eq!(
        (updated.body["name"].as_str(), updated.body["siteUrl"].as_str()),
        (Some("New Issuer Name 53"), Some("https://pingidentity2.com"))
    );
    let response = app.put(&path).bearer(&token).json(json!({ "siteUrl": "nope" })).send().await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "name");

    let document = app.get(&format!("/{env}/did.json")).send().await.body;
    assert_eq!(document["id"], did);
    let method = &document["verificationMethod"][0];
    assert_eq!(
        (method["controller"].as_str(), method["publicKeyJwk"]["crv"].as_str()),
        (Some(did.as_str()), Some("Ed25519"))
    );
    assert_eq!(document["assertionMethod"][0], method["id"]);
}

fn membership(mode: &str) -> Value {
    json!({
        "title": "Membership",
        "description": "Club members",
        "management": { "mode": mode },
        "metadata": {
            "name": "Membership card", "cardColor": "#9997bf", "textColor": "#253746", "bgOpacityPercent": 20,
            "fields": [
                { "id": "Alphanumeric Text -> Level", "type": "Alphanumeric Text", "title": "Level", "required": true },
                { "id": "Alphanumeric Text -> Club", "type": "Alphanumeric Text", "title": "Club", "value": "Chess" },
                { "id": "Directory Attribute -> Name", "type": "Directory Attribute", "title": "Name", "attribute": "name.formatted" },
            ],
        },
    })
}

async fn managed_type_lifecycle(app: &TestApp) {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Types").await;
    let types = format!("/v1/environments/{env}/credentialTypes");
    let created = app.post(&types).bearer(&token).json(membership("MANAGED")).send().await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(
        (created.body["cardType"].as_str(), created.body["management"]["mode"].as_str()),
        (Some("Membership"), Some("MANAGED"))
    );
    assert_eq!(created.body["uri"], format!("https://credd.test/v1/distributedid/credentialTypes/{id}"));
    assert_eq!(created.body["version"]["number"], 1);
    assert_eq!(created.body["onDelete"]["revokeIssuedCredentials"], true);
    let fields = created.body["metadata"]["fields"].as_array().unwrap();
    assert_eq!(fields.iter().map(|f| f["title"].as_str().unwrap()).collect::<Vec<_>>(), ["Level", "Club", "Name"]);
    assert_eq!((fields[1]["value"].as_str(), fields[2]["attribute"].as_str()), (Some("Chess"), Some("name.formatted")));

    let listed = app.get(&types).bearer(&token).send().await.body;
    assert_eq!(listed["_embedded"]["items"][0]["id"], id);
    assert!(listed["_embedded"]["items"][0].get("metadata").is_none(), "lists leave metadata out");

    let path = format!("{types}/{id}");
    let mut changed = membership("MANAGED");
    changed["description"] = "Gold members".into();
    let replaced = app.put(&path).bearer(&token).json(changed.clone()).send().await;
    assert_eq!(
        (replaced.body["version"]["number"].as_u64(), replaced.body["description"].as_str()),
        (Some(2), Some("Gold members"))
    );
    assert_eq!(
        app.put(&path).bearer(&token).json(changed.clone()).send().await.body["version"]["number"],
        2,
        "no change, no new version"
    );
    changed["title"] = "Renamed".into();
    let response = app.put(&path).bearer(&token).json(changed).send().await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "title");

    assert_eq!(app.delete(&path).bearer(&token).send().await.status, StatusCode::NO_CONTENT);
    let deleted = app.get(&path).bearer(&token).send().await.body;
    assert!(deleted["deletedAt"].is_string(), "{deleted}");
    assert_eq!(app.get(&types).bearer(&token).send().await.body["size"], 0);
    app.put(&path)
        .bearer(&token)
        .json(membership("MANAGED"))
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.delete(&path).bearer(&token).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

async fn credential_type_rules(app: &TestApp) {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Rules").await;
    let types = format!("/v1/environments/{env}/credentialTypes");
    let response = app.post(&types).bearer(&token).json(json!({ "management": { "mode": "SOMETIMES" } })).send().await;
    assert_eq!(targets(&response), ["title", "management.mode", "metadata"]);

    // AUTOMATED: an Alphanumeric Text field needs its value.
    let response = app.post(&types).bearer(&token).json(membership("AUTOMATED")).send().await;
    assert_eq!(targets(&response), ["metadata.fields[0].value"]);

    let mut bad = membership("MANAGED");
    bad["metadata"]["cardColor"] = "purple".into();
    bad["metadata"]["fields"][1]["title"] = "Level".into();
    bad["metadata"]["fields"][2] = json!({ "id": "x", "type": "Issued Timestamp", "title": "When", "value": "now" });
    let response = app.post(&types).bearer(&token).json(bad.clone()).send().await;
    assert_eq!(targets(&response), ["metadata.cardColor", "metadata.fields[1].title", "metadata.fields[2].value"]);
    bad["metadata"]["fields"].as_array_mut().unwrap().push(json!({ "id": "y", "type": "Picture", "title": "Photo" }));
    let response = app.post(&types).bearer(&token).json(bad).send().await;
    assert_eq!(targets(&response), ["metadata.fields[3].type"], "a malformed field is reported before the rules run");

    let mut empty = membership("MANAGED");
    empty["metadata"]["fields"] = json!([]);
    assert_eq!(targets(&app.post(&types).bearer(&token).json(empty).send().await), ["metadata.fields"]);
    assert_eq!(app.get(&types).bearer(&token).send().await.body["size"], 0, "nothing was stored");

    let other = app.create_environment(&token, "Other").await;
    let (id, secret) = app.create_worker(&token, &other, json!({ "name": "w", "type": "WORKER" })).await;
    let foreign = app.worker_token(&other, &id, &secret).await;
    app.get(&types).bearer(&foreign).send().await.expect_error(StatusCode::FORBIDDEN, "ACCESS_FAILED");
    app.get(&format!("/v1/environments/{env}/credentialIssuerProfile"))
        .bearer(&foreign)
        .send()
        .await
        .expect_error(StatusCode::FORBIDDEN, "ACCESS_FAILED");
}

async fn issuer_profile_post_creates_it_and_every_field_round_trips(app: &TestApp) {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Issuer").await;
    let path = format!("/v1/environments/{env}/credentialIssuerProfile");
    let sent = json!({
        "name": "Credential Signing Issuer",
        "siteUrl": "https://pingidentity.com",
        "logo": "https://pingidentity.com/logo.png",
        "did": { "method": "WEB", "web": { "useCustomDomain": false } },
        "credentialSigning": { "url": "https://signer.example.com/sign", "headers": { "Authorization": "Bearer k1" } },
    });
    let created = app.post(&path).bearer(&token).json(sent.clone()).send().await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_answered_as_sent(&created.body, &sent, "profile");
    assert!(created.body["applicationInstance"]["id"].as_str().unwrap().parse::<uuid::Uuid>().is_ok());
    assert_eq!(created.body["did"]["web"]["host"], "PING");
    assert_eq!(app.get(&path).bearer(&token).send().await.body, created.body, "read as created");
    let again = app.post(&path).bearer(&token).json(sent).send().await;
    again.expect_error(StatusCode::CONFLICT, "UNIQUENESS_VIOLATION");

    let changed = json!({
        "name": "Renamed Issuer",
        "siteUrl": "https://example.com",
        "logo": "data:image/png;base64,iVBORw0KGgo=",
        "did": { "web": { "useCustomDomain": true } },
        "credentialSigning": { "url": "https://signer2.example.com/sign", "headers": { "X-Api-Key": "k2", "X-Tenant": "t" } },
    });
    let updated = app.put(&path).bearer(&token).json(changed.clone()).send().await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_answered_as_sent(&updated.body, &changed, "profile");
    assert_eq!(updated.body["applicationInstance"], created.body["applicationInstance"], "read-only");
    let read = app.get(&path).bearer(&token).send().await.body;
    assert_answered_as_sent(&read, &changed, "profile");
    let without_signing = app.put(&path).bearer(&token).json(json!({ "name": "Plain" })).send().await.body;
    assert!(without_signing.get("credentialSigning").is_none(), "a full replace: {without_signing}");

    let bad = json!({
        "name": "Bad",
        "logo": "ftp://example.com/logo.png",
        "did": { "method": "WEBVH" },
        "credentialSigning": { "url": "http://signer.example.com" },
    });
    let response = app.put(&path).bearer(&token).json(bad).send().await;
    assert_eq!(targets(&response), ["logo", "did.method", "credentialSigning.url"]);
    assert_eq!(app.get(&path).bearer(&token).send().await.body["name"], "Plain", "nothing was stored");

    let other = app.create_environment(&token, "Other").await;
    let response = app
        .post(&format!("/v1/environments/{other}/credentialIssuerProfile"))
        .bearer(&token)
        .json(json!({ "name": "New", "did": { "method": "WEBVH" } }))
        .send()
        .await;
    assert_eq!(targets(&response), ["did.method"]);
}

/// An AUTOMATED type with every documented field, none at its default.
fn every_field() -> Value {
    json!({
        "title": "Account",
        "description": "Bank account",
        "cardType": "Proof of account",
        "issuerName": "Bank",
        "management": { "mode": "AUTOMATED" },
        "cardDesignTemplate": "<svg xmlns=\"http://www.w3.org/2000/svg\"><text>${cardTitle}</text></svg>",
        "expiration": { "type": "SOFT", "after": { "duration": 2, "timeUnit": "DAYS" }, "fieldName": "Valid until" },
        "multiple": { "expression": "${user.accounts}" },
        "openid4VCI": { "enabled": true, "scope": "p1:provision:credentials:bank" },
        "visualizationTemplateData": { "showTitle": true, "displayFields": [{ "dataFieldName": "Number", "showFieldName": true }] },
        "onDelete": { "revokeIssuedCredentials": false },
        "metadata": {
            "name": "Account card", "description": "Your account", "backgroundImage": "https://bank.example/bg.png",
            "logoImage": "https://bank.example/logo.png", "cardColor": "#9997bf", "textColor": "#253746",
            "bgOpacityPercent": 20, "columns": 2, "version": 4,
            "fields": [
                { "id": "Alphanumeric Text -> Number", "type": "Alphanumeric Text", "title": "Number", "value": "42",
                  "required": true, "isVisible": true },
                { "id": "Directory Attribute -> Photo", "type": "Directory Attribute", "title": "Photo",
                  "attribute": "photo.href", "default": "none", "fileSupport": "REFERENCE_FILE", "required": true,
                  "isVisible": false },
            ],
        },
    })
}

async fn every_credential_type_field_round_trips_and_each_change_is_a_version(app: &TestApp) {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Fidelity").await;
    let types = format!("/v1/environments/{env}/credentialTypes");
    let sent = every_field();
    let created = app.post(&types).bearer(&token).json(sent.clone()).send().await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_answered_as_sent(&created.body, &sent, "type");
    let id = created.body["id"].as_str().unwrap();
    let path = format!("{types}/{id}");
    let first_version = created.body["version"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["systemProvided"], false);
    assert_eq!(created.body["_links"]["version"]["href"], format!("https://credd.test{path}/versions/{first_version}"));
    assert_eq!(created.body["_links"]["issuanceRules"]["href"], format!("https://credd.test{path}/issuanceRules"));
    assert_eq!(app.get(&path).bearer(&token).send().await.body, created.body, "read as created");
    let listed = &app.get(&types).bearer(&token).send().await.body["_embedded"]["items"][0];
    assert!(listed.get("cardDesignTemplate").is_none() && listed.get("metadata").is_none(), "{listed}");
    assert_answered_as_sent(
        listed,
        &json!({ "openid4VCI": sent["openid4VCI"], "expiration": sent["expiration"] }),
        "item",
    );

    let mut changed = every_field();
    changed.as_object_mut().unwrap().remove("cardDesignTemplate");
    changed["description"] = "Savings account".into();
    changed["expiration"] = json!({ "type": "HARD", "timestamp": "2031-01-02T03:04:05.678Z" });
    changed["multiple"] = json!({ "expression": "${user.savings}" });
    changed["openid4VCI"]["enabled"] = false.into();
    changed["visualizationTemplateData"] = json!({ "showTitle": false, "displayFields": [
        { "dataFieldName": "Number", "showFieldName": false }, { "dataFieldName": "Photo", "showFieldName": true },
    ] });
    changed["onDelete"]["revokeIssuedCredentials"] = true.into();
    changed["metadata"]["version"] = 5.into();
    changed["metadata"]["columns"] = 3.into();
    changed["metadata"]["fields"][0]["isVisible"] = false.into();
    changed["metadata"]["fields"][1]["fileSupport"] = "BASE64_STRING".into();
    changed["metadata"]["fields"][1]["default"] = "unknown".into();
    let replaced = app.put(&path).bearer(&token).json(changed.clone()).send().await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    assert_answered_as_sent(&replaced.body, &changed, "type");
    assert!(replaced.body.get("cardDesignTemplate").is_none(), "removed");
    assert_eq!(app.get(&path).bearer(&token).send().await.body, replaced.body, "read as replaced");
    let second_version = replaced.body["version"]["id"].as_str().unwrap().to_owned();
    assert_ne!(second_version, first_version);

    let versions = app.get(&format!("{path}/versions")).bearer(&token).send().await.body;
    let versions = versions["_embedded"]["versions"].as_array().unwrap().clone();
    assert_eq!(
        versions.iter().map(|v| (v["id"].as_str().unwrap(), v["version"].as_i64().unwrap())).collect::<Vec<_>>(),
        [(first_version.as_str(), 1), (second_version.as_str(), 2)]
    );
    assert_eq!(versions[0]["credentialType"]["id"], id);
    assert_answered_as_sent(&versions[0]["snapshot"], &sent, "the first version");
    assert_answered_as_sent(&versions[1]["snapshot"], &changed, "the second version");
    let one = app.get(&format!("{path}/versions/{first_version}")).bearer(&token).send().await.body;
    assert_eq!(one, versions[0]);
    app.get(&format!("{path}/versions/{id}"))
        .bearer(&token)
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    let mut managed = every_field();
    managed["title"] = "Managed".into();
    managed["management"]["mode"] = "MANAGED".into();
    managed.as_object_mut().unwrap().remove("expiration");
    let managed = app.post(&types).bearer(&token).json(managed).send().await.body;
    assert!(managed["_links"].get("issuanceRules").is_none(), "MANAGED types have no issuance rules: {managed}");
}

async fn credential_type_option_rules(app: &TestApp) {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Option rules").await;
    let types = format!("/v1/environments/{env}/credentialTypes");
    let mut bad = every_field();
    bad["management"]["mode"] = "MANAGED".into();
    bad["cardDesignTemplate"] = "<div></div>".into();
    bad["openid4VCI"]["scope"] = "p1:other".into();
    bad["visualizationTemplateData"]["displayFields"][0]["dataFieldName"] = "Missing".into();
    bad["metadata"]["fields"][0]["fileSupport"] = "INCLUDE_FILE".into();
    let response = app.post(&types).bearer(&token).json(bad.clone()).send().await;
    assert_eq!(
        targets(&response),
        [
            "metadata.fields[0].fileSupport",
            "cardDesignTemplate",
            "expiration",
            "openid4VCI.scope",
            "visualizationTemplateData.displayFields[0].dataFieldName",
        ]
    );
    bad["metadata"]["fields"][1]["values"] = json!(["a"]);
    let response = app.post(&types).bearer(&token).json(bad).send().await;
    assert_eq!(targets(&response), ["metadata.fields[1].values"], "what credd cannot honour is refused, not ignored");
    let mut bad = every_field();
    bad["expiration"] = json!({ "type": "SOFT", "after": { "duration": 30, "timeUnit": "MINUTES" },
                                "timestamp": "2031-01-01T00:00:00Z", "fieldName": "Number" });
    bad["visualizationTemplateData"]["displayFields"] = json!([]);
    let response = app.post(&types).bearer(&token).json(bad).send().await;
    assert_eq!(
        targets(&response),
        ["expiration", "expiration.after.duration", "expiration.fieldName", "visualizationTemplateData.displayFields"]
    );
    assert_eq!(app.get(&types).bearer(&token).send().await.body["size"], 0, "nothing was stored");

    let created = app.post(&types).bearer(&token).json(every_field()).send().await;
    let path = format!("{types}/{}", created.body["id"].as_str().unwrap());
    let mut changed = every_field();
    changed["cardDesignTemplate"] = "<svg></svg>".into();
    assert_eq!(targets(&app.put(&path).bearer(&token).json(changed).send().await), ["cardDesignTemplate"]);
    let mut changed = every_field();
    changed["openid4VCI"]["scope"] = "p1:provision:credentials".into();
    assert_eq!(targets(&app.put(&path).bearer(&token).json(changed).send().await), ["openid4VCI.scope"]);
    assert_eq!(app.get(&path).bearer(&token).send().await.body["version"]["number"], 1, "nothing changed");
}
