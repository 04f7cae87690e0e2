//! A restart keeps every environment, application and user, and the administrator's
//! saved credentials keep working.

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp};

#[tokio::test]
async fn sqlite_restart_keeps_environments_apps_and_users() {
    restart_scenario(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_restart_keeps_environments_apps_and_users() {
    restart_scenario(Backend::Postgres).await;
}

async fn restart_scenario(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Durable").await;
    let (id, secret) = app.create_worker(&admin, &env, json!({ "name": "w", "type": "WORKER" })).await;
    let user = app.create_user(&admin, &env, json!({ "username": "ada", "email": "ada@example.com" })).await;
    let credentials = app.admin.clone();

    let app = app.restart().await;
    assert_eq!(app.admin.client_secret, credentials.client_secret, "read back from the data folder");
    let admin = app.admin_token().await;
    assert_eq!(app.get(&format!("/v1/environments/{env}")).bearer(&admin).send().await.body["name"], "Durable");
    let read =
        app.get(&format!("/v1/environments/{env}/users/{}", user["id"].as_str().unwrap())).bearer(&admin).send().await;
    assert_eq!(read.body, user);
    let worker = app.worker_token(&env, &id, &secret).await;
    assert_eq!(app.get(&format!("/v1/environments/{env}/users")).bearer(&worker).send().await.status, StatusCode::OK);
    app.finish().await;
}
