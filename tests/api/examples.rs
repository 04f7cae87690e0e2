//! PingOne's documented request/response examples (tests/fixtures/pingone-examples,
//! copied from its API pages) replayed against credd: each documented request gets the
//! documented status, and every key path of the documented response is in credd's.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use credd::wallet_client;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse};
use crate::on_both_backends;
use crate::user_credentials::{credentials_path, setup};

on_both_backends!(every_documented_example_replays_with_its_documented_keys);

/// One documented example.
struct Example {
    name: &'static str,
    document: Value,
}

fn examples() -> Vec<Example> {
    macro_rules! example {
        ($name:literal) => {
            Example {
                name: $name,
                document: serde_json::from_str(include_str!(concat!("../fixtures/pingone-examples/", $name, ".json")))
                    .unwrap(),
            }
        };
    }
    vec![
        example!("credentials__create_user_credential"),
        example!("credentials__read_all_user_credentials"),
        example!("credentials__read_one_digital_wallet_active"),
        example!("credentials__read_one_user_credential"),
        example!("credentials__revoke_user_credential"),
        example!("credentials__update_credential_issuer_profile"),
        example!("mfa__activate_mfa_user_device"),
        example!("platform__error_400_invalid_data_top_level"),
        example!("platform__worker_token_client_credentials"),
    ]
}

/// Every key path of a JSON value: `a.b`, arrays as `a[]` (any element).
fn key_paths(value: &Value) -> BTreeSet<String> {
    fn walk(value: &Value, prefix: &str, paths: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                    paths.insert(path.clone());
                    walk(child, &path, paths);
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(item, &format!("{prefix}[]"), paths);
                }
            }
            _ => {}
        }
    }
    let mut paths = BTreeSet::new();
    walk(value, "", &mut paths);
    paths
}

fn assert_documented_keys(example: &Example, response: &TestResponse) {
    let expected_status = example.document["status"].as_u64().unwrap() as u16;
    assert_eq!(response.status.as_u16(), expected_status, "{}: {}", example.name, response.body);
    let missing: Vec<String> =
        key_paths(&example.document["response"]).difference(&key_paths(&response.body)).cloned().collect();
    assert!(missing.is_empty(), "{}: credd's response lacks {missing:?}:\n{:#}", example.name, response.body);
}

fn request_body(example: &Example) -> Value {
    example.document["request"].clone()
}

async fn every_documented_example_replays_with_its_documented_keys(app: &TestApp) {
    let s = setup(app).await;
    let (token, env) = (&s.token, &s.env);
    let credentials = credentials_path(&s);
    // A wallet that is paired, so that credentials reach it.
    let wallet_app = app.create_wallet_application(token, env).await;
    let wallet = app
        .create_wallet(
            token,
            env,
            &s.user_id,
            json!({
                "digitalWalletApplication": { "id": wallet_app },
                "notification": { "methods": ["EMAIL"], "template": { "locale": "en", "variant": "variant_B" } },
            }),
        )
        .await;
    let paired = wallet_client::pair(app, wallet["pairingSession"]["qrUrl"].as_str().unwrap(), "phone").await.unwrap();

    let mut credential_path = String::new();
    for example in examples() {
        let response = match example.name {
            "credentials__create_user_credential" => {
                let mut body = request_body(&example);
                body["credentialType"]["id"] = json!(s.type_id);
                body["data"] = json!({ "Level": "Gold" });
                let response = app.post(&credentials).bearer(token).json(body).send().await;
                credential_path = format!("{credentials}/{}", response.body["id"].as_str().unwrap_or_default());
                response
            }
            "credentials__read_all_user_credentials" => {
                // The documented list holds a revoked credential.
                let revoked = app
                    .post(&credentials)
                    .bearer(token)
                    .json(json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "Silver" } }))
                    .send()
                    .await;
                let revoke = format!("{credentials}/{}", revoked.body["id"].as_str().unwrap());
                app.post(&revoke)
                    .bearer(token)
                    .raw("application/vnd.pingidentity.validations.revokeCredential+json", "")
                    .send()
                    .await;
                app.get(&credentials).bearer(token).send().await
            }
            "credentials__read_one_digital_wallet_active" => {
                app.get(&format!("/v1/environments/{env}/users/{}/digitalWallets/{}", s.user_id, paired.wallet_id))
                    .bearer(token)
                    .send()
                    .await
            }
            "credentials__read_one_user_credential" => app.get(&credential_path).bearer(token).send().await,
            "credentials__revoke_user_credential" => {
                let content_type = example.document["content_type"].as_str().unwrap();
                app.post(&credential_path).bearer(token).raw(content_type, "").send().await
            }
            "credentials__update_credential_issuer_profile" => {
                let profile = format!("/v1/environments/{env}/credentialIssuerProfile");
                app.put(&profile).bearer(token).json(request_body(&example)).send().await
            }
            "mfa__activate_mfa_user_device" => {
                let policies =
                    format!("/v1/environments/{env}/deviceAuthenticationPolicies?filter=default%20eq%20true");
                let policies = app.get(&policies).bearer(token).send().await.body;
                let policy = &policies["_embedded"]["deviceAuthenticationPolicies"][0]["id"];
                let devices = format!("/v1/environments/{env}/users/{}/devices", s.user_id);
                let device = app
                    .post(&devices)
                    .bearer(token)
                    .json(json!({
                        "type": "EMAIL", "email": "ada@example.com", "status": "ACTIVATION_REQUIRED", "policy": { "id": policy },
                    }))
                    .send()
                    .await;
                assert_eq!(device.status, StatusCode::CREATED, "{}", device.body);
                let (otp, _) = app.sent_code(token, env, "ada@example.com").await;
                let content_type = example.document["content_type"].as_str().unwrap();
                let activate = format!("{devices}/{}", device.body["id"].as_str().unwrap());
                app.post(&activate).bearer(token).raw(content_type, json!({ "otp": otp }).to_string()).send().await
            }
            "platform__error_400_invalid_data_top_level" => {
                app.post(&credentials)
                    .bearer(token)
                    .json(json!({ "credentialType": { "id": "not an id" } }))
                    .send()
                    .await
            }
            "platform__worker_token_client_credentials" => {
                let (client_id, secret) = app
                    .create_worker(
                        token,
                        env,
                        json!({ "name": "Replay", "type": "WORKER", "tokenEndpointAuthMethod": "CLIENT_SECRET_POST" }),
                    )
                    .await;
                let form = format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}");
                app.post(&format!("/{env}/as/token")).form(&form).send().await
            }
            other => panic!("no replay for the example {other}"),
        };
        assert_documented_keys(&example, &response);
    }
}
