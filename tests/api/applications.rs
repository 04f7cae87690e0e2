//! `/v1/environments/{envId}/applications`: worker applications.

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(worker_application_lifecycle, disabled_worker_gets_no_token);

async fn worker_application_lifecycle(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Apps").await;
    let response = app
        .post(&format!("/v1/environments/{env}/applications"))
        .bearer(&admin)
        .json(json!({ "name": "ci", "type": "WORKER", "protocol": "OPENID_CONNECT", "grantTypes": ["CLIENT_CREDENTIALS"] }))
        .send()
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    let created = response.body;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["tokenEndpointAuthMethod"], "CLIENT_SECRET_BASIC");
    assert_eq!(created["enabled"], true);
    assert!(created["secret"].as_str().is_some_and(|s| s.len() >= 43));

    let path = format!("/v1/environments/{env}/applications/{id}");
    let read = app.get(&path).bearer(&admin).send().await.body;
    assert_eq!(read["name"], "ci");
    assert!(read.get("secret").is_none());

    let replaced = app
        .put(&path)
        .bearer(&admin)
        .json(json!({ "name": "ci-renamed", "type": "WORKER", "tokenEndpointAuthMethod": "CLIENT_SECRET_POST" }))
        .send()
        .await;
    assert_eq!(
        (replaced.body["name"].as_str(), replaced.body["tokenEndpointAuthMethod"].as_str()),
        (Some("ci-renamed"), Some("CLIENT_SECRET_POST"))
    );

    let list = app.get(&format!("/v1/environments/{env}/applications")).bearer(&admin).send().await;
    assert_eq!(list.body["_embedded"]["applications"][0]["id"], id);
    assert_eq!(app.delete(&path).bearer(&admin).send().await.status, StatusCode::NO_CONTENT);
    app.get(&path).bearer(&admin).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    let response = app
        .post(&format!("/v1/environments/{env}/applications"))
        .bearer(&admin)
        .json(json!({ "name": "spa", "type": "SINGLE_PAGE_APP", "grantTypes": ["IMPLICIT"] }))
        .send()
        .await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
}

async fn disabled_worker_gets_no_token(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Disabled").await;
    let (id, secret) =
        app.create_worker(&admin, &env, json!({ "name": "w", "type": "WORKER", "enabled": false })).await;
    let response =
        app.post(&format!("/{env}/as/token")).basic(&id, &secret).form("grant_type=client_credentials").send().await;
    assert_eq!((response.status, response.body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
}
