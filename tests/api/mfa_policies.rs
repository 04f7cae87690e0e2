//! Device authentication policies and MFA settings as PingOne documents them: every field
//! kept and answered, required fields and unique names checked, settings reset.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    every_documented_policy_field_round_trips_on_create_read_list_and_put,
    required_policy_fields_are_named,
    kept_policy_fields_are_validated,
    policy_names_are_unique_in_an_environment,
    mfa_settings_round_trip_and_reset_to_the_defaults,
    configuration_export_and_import_carry_every_policy_field,
);

/// `into` with `overrides` laid over it, objects merged key by key.
fn merged(into: &mut Value, overrides: Value) {
    match (into, overrides) {
        (Value::Object(into), Value::Object(overrides)) => {
            for (key, value) in overrides {
                merged(into.entry(key).or_insert(Value::Null), value);
            }
        }
        (into, value) => *into = value,
    }
}

/// A policy with every field PingOne requires, at PingOne's defaults, with `overrides`
/// merged over it.
pub fn policy(name: &str, overrides: Value) -> Value {
    let otp = json!({
        "lifeTime": { "duration": 30, "timeUnit": "MINUTES" },
        "failure": { "count": 3, "coolDown": { "duration": 0, "timeUnit": "MINUTES" } }
    });
    let failure = json!({ "failure": { "count": 3, "coolDown": { "duration": 2, "timeUnit": "MINUTES" } } });
    let mut body = json!({
        "name": name,
        "default": false,
        "sms": { "enabled": true, "otp": otp },
        "voice": { "enabled": true, "otp": otp },
        "email": { "enabled": true, "otp": otp },
        "totp": { "enabled": true, "otp": failure },
        "mobile": { "enabled": true, "otp": failure },
        "fido2": { "enabled": true },
    });
    merged(&mut body, overrides);
    body
}

/// Every documented field, none at its default.
fn everything(name: &str, fido2_policy: &str, application: &str) -> Value {
    let otp = |minutes: i64, count: i64, length: i64| {
        json!({
            "lifeTime": { "duration": minutes, "timeUnit": "MINUTES" },
            "failure": { "count": count, "coolDown": { "duration": 90, "timeUnit": "SECONDS" } },
            "otpLength": length
        })
    };
    let method = |minutes: i64, count: i64, length: i64| json!({ "enabled": false, "pairingDisabled": true, "promptForNicknameOnPairing": true, "otp": otp(minutes, count, length) });
    let pingid = |count: i64| {
        json!({
            "enabled": true, "pairingDisabled": true, "promptForNicknameOnPairing": false,
            "otp": { "failure": { "count": count, "coolDown": { "duration": 5, "timeUnit": "MINUTES" } } },
            "pairingKeyLifetime": { "duration": 12, "timeUnit": "HOURS" }
        })
    };
    json!({
        "name": name,
        "default": false,
        "newDeviceNotification": "SMS_THEN_EMAIL",
        "authentication": { "deviceSelection": "ALWAYS_DISPLAY_DEVICES" },
        "ignoreUserLock": true,
        "notificationsPolicy": { "id": "2f1a9e4c-7b7c-4d0e-9a51-1d3c5e7f9a0b" },
        "sms": method(5, 4, 8),
        "voice": method(6, 5, 9),
        "email": method(7, 6, 10),
        "whatsApp": method(8, 7, 7),
        "totp": {
            "enabled": false, "pairingDisabled": true, "promptForNicknameOnPairing": true,
            "otp": { "failure": { "count": 5, "coolDown": { "duration": 4, "timeUnit": "MINUTES" } } },
            "passcodeGracePeriod": 3,
            "uriParameters": { "issuer": "Acme", "image": "https://acme.example.com/logo.png" }
        },
        "mobile": {
            "enabled": false,
            "promptForNicknameOnPairing": true,
            "otp": {
                "failure": { "count": 2, "coolDown": { "duration": 3, "timeUnit": "MINUTES" } },
                "window": { "stepSize": { "duration": 60, "timeUnit": "SECONDS" } }
            },
            "applications": [{
                "id": application,
                "type": "pingIdAppConfig",
                "push": { "enabled": false, "numberMatching": { "enabled": true } },
                "pushTimeout": { "duration": 100, "timeUnit": "SECONDS" },
                "pairingKeyLifetime": { "duration": 30, "timeUnit": "MINUTES" },
                "pushLimit": {
                    "count": 20,
                    "lockDuration": { "duration": 45, "timeUnit": "MINUTES" },
                    "timePeriod": { "duration": 15, "timeUnit": "MINUTES" }
                },
                "otp": { "enabled": false },
                "deviceAuthorization": { "enabled": true, "extraVerification": "restrictive" },
                "autoEnrollment": { "enabled": true },
                "biometricsEnabled": false,
                "pairingDisabled": true,
                "integrityDetection": "restrictive",
                "ipPairingConfiguration": { "anyIPAdress": false, "onlyTheseIpAddresses": ["192.168.0.1/24", "10.0.0.7", "2001:db8::/32"] },
                "newRequestDurationConfiguration": {
                    "deviceTimeout": { "duration": 20, "timeUnit": "SECONDS" },
                    "totalTimeout": { "duration": 60, "timeUnit": "SECONDS" }
                }
            }]
        },
        "fido2": {
            "enabled": false, "pairingDisabled": true, "promptForNicknameOnPairing": true, "fido2PolicyId": fido2_policy,
            "failure": { "count": 6, "coolDown": { "duration": 10, "timeUnit": "MINUTES" } }
        },
        "oathToken": pingid(4),
        "desktop": pingid(5),
        "yubikey": pingid(6),
        "rememberMe": { "web": { "enabled": true, "lifeTime": { "duration": 30, "timeUnit": "DAYS" } } }
    })
}

/// The policy without what credd adds to it.
fn as_sent(policy: &Value) -> Value {
    let mut policy = policy.clone();
    let object = policy.as_object_mut().unwrap();
    for made_by_credd in ["_links", "id", "environment", "createdAt", "updatedAt"] {
        object.remove(made_by_credd);
    }
    assert_eq!(object.remove("forSignOnPolicy"), Some(json!(false)), "read-only, deprecated, always false");
    policy
}

struct Env {
    token: String,
    policies: String,
}

async fn environment(app: &TestApp) -> Env {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Policies").await;
    Env { token, policies: format!("/v1/environments/{env}/deviceAuthenticationPolicies") }
}

async fn every_documented_policy_field_round_trips_on_create_read_list_and_put(app: &TestApp) {
    let e = environment(app).await;
    let (fido2_policy, application) = ("a3c1e0f2-5d4b-4c6a-8e9f-0b1c2d3e4f5a", "b4d2f1a3-6e5c-4d7b-9f0a-1c2d3e4f5a6b");
    let sent = everything("Everything", fido2_policy, application);
    let created = app.post(&e.policies).bearer(&e.token).json(sent.clone()).send().await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(as_sent(&created.body), sent);
    let links = &created.body["_links"];
    assert!(links["fido2"]["href"].as_str().unwrap().ends_with(&format!("/fido2Policies/{fido2_policy}")), "{links}");
    assert!(links["applications"]["href"].as_str().unwrap().ends_with("/applications"), "{links}");

    let path = format!("{}/{}", e.policies, created.body["id"].as_str().unwrap());
    assert_eq!(as_sent(&app.get(&path).bearer(&e.token).send().await.body), sent);
    let list = app.get(&e.policies).bearer(&e.token).send().await.body;
    let listed = list["_embedded"]["deviceAuthenticationPolicies"].as_array().unwrap();
    assert_eq!(as_sent(listed.iter().find(|p| p["id"] == created.body["id"]).unwrap()), sent);

    // A PUT replaces all of it with other values, and the read agrees.
    let mut changed = everything("Everything, changed", "c5e3a2b4-7f6d-4e8c-8a1b-2d3e4f5a6b7c", application);
    merged(
        &mut changed,
        json!({
            "newDeviceNotification": "NONE",
            "authentication": { "deviceSelection": "PROMPT_TO_SELECT" },
            "totp": { "passcodeGracePeriod": 10, "uriParameters": { "issuer": "Acme staging" } },
            "rememberMe": { "web": { "enabled": false, "lifeTime": { "duration": 2, "timeUnit": "HOURS" } } }
        }),
    );
    changed["mobile"]["applications"][0]["integrityDetection"] = json!("permissive");
    let replaced = app.put(&path).bearer(&e.token).json(changed.clone()).send().await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    assert_eq!(as_sent(&replaced.body), changed);
    assert_eq!(as_sent(&app.get(&path).bearer(&e.token).send().await.body), changed);

    // Left out of a PUT, an optional field takes its default again.
    let plain = app.put(&path).bearer(&e.token).json(policy("Plain", json!({}))).send().await.body;
    assert_eq!(plain["newDeviceNotification"], "EMAIL_THEN_SMS");
    assert_eq!(plain["authentication"], json!({ "deviceSelection": "DEFAULT_TO_FIRST" }));
    for gone in ["rememberMe", "oathToken", "notificationsPolicy"] {
        assert!(plain.get(gone).is_none(), "{gone}: {plain}");
    }
    assert!(plain["_links"].get("fido2").is_none() && plain["_links"].get("applications").is_none());
}

async fn required_policy_fields_are_named(app: &TestApp) {
    let e = environment(app).await;
    for field in ["name", "default", "sms", "voice", "email", "totp", "mobile", "fido2"] {
        let mut body = policy("Incomplete", json!({}));
        body.as_object_mut().unwrap().remove(field);
        let refused = app.post(&e.policies).bearer(&e.token).json(body).send().await;
        let detail = refused.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
        assert_eq!((detail["code"].as_str(), detail["target"].as_str()), (Some("REQUIRED_VALUE"), Some(field)));
    }
    let mut body = policy("Incomplete", json!({}));
    body["sms"]["otp"].as_object_mut().unwrap().remove("lifeTime");
    body["totp"].as_object_mut().unwrap().remove("enabled");
    let refused = app.post(&e.policies).bearer(&e.token).json(body).send().await;
    refused.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    let targets: Vec<&str> =
        refused.body["details"].as_array().unwrap().iter().map(|d| d["target"].as_str().unwrap()).collect();
    assert_eq!(targets, ["sms.otp.lifeTime", "totp.enabled"]);
    let without_whatsapp = app.post(&e.policies).bearer(&e.token).json(policy("No WhatsApp", json!({}))).send().await;
    assert_eq!(without_whatsapp.body["whatsApp"]["otp"]["lifeTime"], json!({ "duration": 30, "timeUnit": "MINUTES" }));
}

async fn kept_policy_fields_are_validated(app: &TestApp) {
    let e = environment(app).await;
    let cases = [
        (json!({ "newDeviceNotification": "PIGEON" }), "newDeviceNotification"),
        (json!({ "authentication": { "deviceSelection": "RANDOM" } }), "authentication.deviceSelection"),
        (json!({ "totp": { "passcodeGracePeriod": 11 } }), "totp.passcodeGracePeriod"),
        (json!({ "mobile": { "otp": { "failure": { "count": 8 } } } }), "mobile.otp.failure.count"),
        (
            json!({ "mobile": { "applications": [{ "id": "b4d2f1a3-6e5c-4d7b-9f0a-1c2d3e4f5a6b", "pushTimeout": { "duration": 30, "timeUnit": "SECONDS" } }] } }),
            "mobile.applications[0].pushTimeout.duration",
        ),
        (
            json!({ "mobile": { "applications": [{ "id": "b4d2f1a3-6e5c-4d7b-9f0a-1c2d3e4f5a6b", "ipPairingConfiguration": { "onlyTheseIpAddresses": ["10.0.0.1/40"] } }] } }),
            "mobile.applications[0].ipPairingConfiguration.onlyTheseIpAddresses[0]",
        ),
        (
            json!({ "fido2": { "failure": { "count": 3, "coolDown": { "duration": 1, "timeUnit": "MINUTES" } } } }),
            "fido2.failure.coolDown.duration",
        ),
        (json!({ "fido2": { "fido2PolicyId": "not an id" } }), "fido2.fido2PolicyId"),
        (
            json!({ "rememberMe": { "web": { "enabled": true, "lifeTime": { "duration": 30, "timeUnit": "MINUTES" } } } }),
            "rememberMe.web.lifeTime.duration",
        ),
        (
            json!({ "oathToken": { "enabled": true, "otp": { "failure": { "count": 3, "coolDown": { "duration": 1, "timeUnit": "DAYS" } } } } }),
            "oathToken.otp.failure.coolDown.timeUnit",
        ),
    ];
    for (overrides, target) in cases {
        let refused = app.post(&e.policies).bearer(&e.token).json(policy("Bad", overrides.clone())).send().await;
        let detail = refused.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
        assert_eq!(detail["target"].as_str(), Some(target), "{overrides}: {}", refused.body);
    }
}

async fn policy_names_are_unique_in_an_environment(app: &TestApp) {
    let e = environment(app).await;
    let first = app.post(&e.policies).bearer(&e.token).json(policy("Strict", json!({}))).send().await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let twin = app.post(&e.policies).bearer(&e.token).json(policy("Strict", json!({}))).send().await;
    let detail = twin.expect_error(StatusCode::CONFLICT, "UNIQUENESS_VIOLATION");
    assert_eq!((detail["code"].as_str(), detail["target"].as_str()), (Some("UNIQUENESS_VIOLATION"), Some("name")));

    let other = app.post(&e.policies).bearer(&e.token).json(policy("Lenient", json!({}))).send().await.body;
    let other_path = format!("{}/{}", e.policies, other["id"].as_str().unwrap());
    let renamed = app.put(&other_path).bearer(&e.token).json(policy("Strict", json!({}))).send().await;
    assert_eq!(renamed.expect_error(StatusCode::CONFLICT, "UNIQUENESS_VIOLATION")["target"], "name");
    let kept =
        app.put(&other_path).bearer(&e.token).json(policy("Lenient", json!({ "ignoreUserLock": true }))).send().await;
    assert_eq!(kept.status, StatusCode::OK, "a policy keeps its own name: {}", kept.body);

    let twins = json!({
        "deviceAuthenticationPolicies": [policy("Twin", json!({ "default": true })), policy("Twin", json!({}))]
    });
    let configuration = e.policies.replace("deviceAuthenticationPolicies", "configuration");
    let refused = app.put(&configuration).bearer(&e.token).json(twins).send().await;
    let detail = refused.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!(detail["target"], "deviceAuthenticationPolicies[1].name", "{}", refused.body);

    let elsewhere = environment(app).await;
    let same_name =
        app.post(&elsewhere.policies).bearer(&elsewhere.token).json(policy("Strict", json!({}))).send().await;
    assert_eq!(same_name.status, StatusCode::CREATED, "another environment: {}", same_name.body);
}

async fn mfa_settings_round_trip_and_reset_to_the_defaults(app: &TestApp) {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Settings").await;
    let path = format!("/v1/environments/{env}/mfaSettings");
    let defaults = json!({
        "pairing": { "maxAllowedDevices": 5, "pairingKeyFormat": "ALPHANUMERIC" },
        "lockout": { "failureCount": 5, "durationSeconds": 600 },
        "phoneExtensions": { "enabled": false },
        "users": { "mfaEnabled": false }
    });
    let without_credd_fields = |settings: &Value| {
        let mut settings = settings.clone();
        for made_by_credd in ["_links", "environment", "updatedAt"] {
            settings.as_object_mut().unwrap().remove(made_by_credd);
        }
        settings
    };
    assert_eq!(without_credd_fields(&app.get(&path).bearer(&token).send().await.body), defaults);

    let sent = json!({
        "pairing": { "maxAllowedDevices": 10, "pairingKeyFormat": "NUMERIC" },
        "lockout": { "failureCount": 6, "durationSeconds": 1200 },
        "phoneExtensions": { "enabled": true },
        "users": { "mfaEnabled": true },
        "authentication": { "deviceSelection": "PROMPT_TO_SELECT" }
    });
    let replaced = app.put(&path).bearer(&token).json(sent.clone()).send().await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    assert_eq!(without_credd_fields(&replaced.body), sent);
    assert_eq!(without_credd_fields(&app.get(&path).bearer(&token).send().await.body), sent);

    let bad = json!({ "lockout": { "failureCount": 0 }, "pairing": { "pairingKeyFormat": "EMOJI" } });
    let refused = app.put(&path).bearer(&token).json(bad).send().await;
    refused.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    let refused = app.put(&path).bearer(&token).json(json!({ "lockout": { "failureCount": 0 } })).send().await;
    assert_eq!(refused.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "lockout.failureCount");

    let reset = app.delete(&path).bearer(&token).send().await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{}", reset.body);
    assert_eq!(without_credd_fields(&app.get(&path).bearer(&token).send().await.body), defaults);
}

async fn configuration_export_and_import_carry_every_policy_field(app: &TestApp) {
    let e = environment(app).await;
    let env = e.policies.trim_end_matches("/deviceAuthenticationPolicies");
    let sent = everything("Everything", "a3c1e0f2-5d4b-4c6a-8e9f-0b1c2d3e4f5a", "b4d2f1a3-6e5c-4d7b-9f0a-1c2d3e4f5a6b");
    let created = app.post(&e.policies).bearer(&e.token).json(sent.clone()).send().await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let exported = app.get(&format!("{env}/configuration")).bearer(&e.token).send().await.body;
    let policies = exported["deviceAuthenticationPolicies"].as_array().unwrap();
    let everything_exported = policies.iter().find(|p| p["name"] == "Everything").unwrap().clone();
    assert_eq!(everything_exported["rememberMe"], sent["rememberMe"]);
    assert_eq!(everything_exported["mobile"], sent["mobile"]);

    // The exported policy, the default of another environment (one policy keeps the
    // document under the tests' body limit).
    let other = environment(app).await;
    let other_env = other.policies.trim_end_matches("/deviceAuthenticationPolicies");
    let mut item = everything_exported;
    item["default"] = json!(true);
    item.as_object_mut().unwrap().remove("id");
    let document = json!({ "deviceAuthenticationPolicies": [item] });
    let imported = app.put(&format!("{other_env}/configuration")).bearer(&other.token).json(document).send().await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.body);
    let list = app.get(&other.policies).bearer(&other.token).send().await.body;
    let copies = list["_embedded"]["deviceAuthenticationPolicies"].as_array().unwrap();
    assert_eq!(copies.len(), 1);
    let mut expected = sent;
    expected["default"] = json!(true);
    assert_eq!(as_sent(&copies[0]), expected);
}
