//! The issuer profile, its DID document, and credential types.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(issuer_profile_and_did_document, managed_type_lifecycle, credential_type_rules);

async fn issuer_profile_and_did_document(app: &TestApp) {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Issuer Co").await;
    let path = format!("/v1/environments/{env}/credentialIssuerProfile");
    let profile = app.get(&path).bearer(&token).send().await.body;
    assert_eq!(profile["name"], "Issuer Co");
    let did = format!("did:web:credd.test:{env}");
    assert_eq!(profile["did"], json!({ "method": "WEB", "value": did }));
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
    let targets = |response: &crate::helpers::TestResponse| {
        response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
        response.body["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["target"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
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
