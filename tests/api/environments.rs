//! `/v1/environments`: the administrator's view.

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    create_read_replace_and_list_environments,
    environment_fields_are_validated,
    deleting_an_environment_deletes_everything_in_it,
    administrator_environment_cannot_be_deleted,
    environments_paginate_with_next_links,
);

async fn create_read_replace_and_list_environments(app: &TestApp) {
    let admin = app.admin_token().await;
    let response = app
        .post("/v1/environments")
        .bearer(&admin)
        .json(json!({ "name": "Staging", "description": "for tests", "type": "SANDBOX", "region": "EU" }))
        .send()
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    let created = response.body;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["_links"]["self"]["href"], format!("https://credd.test/v1/environments/{id}"));
    assert_eq!((created["region"].as_str(), created["type"].as_str()), (Some("EU"), Some("SANDBOX")));
    let stamp = created["createdAt"].as_str().unwrap();
    assert!(stamp.len() == 24 && stamp.ends_with('Z') && stamp.as_bytes()[19] == b'.', "{stamp}");

    let read = app.get(&format!("/v1/environments/{id}")).bearer(&admin).send().await;
    assert_eq!(read.body, created);

    let replaced = app
        .put(&format!("/v1/environments/{id}"))
        .bearer(&admin)
        .json(json!({ "name": "Renamed", "region": "NA" }))
        .send()
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    assert_eq!(replaced.body["name"], "Renamed");
    assert_eq!(replaced.body["region"], "EU", "region is immutable");
    assert!(replaced.body.get("description").is_none(), "PUT replaces: an omitted description is cleared");

    let list = app.get("/v1/environments").bearer(&admin).send().await;
    let names: Vec<&str> = list.body["_embedded"]["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Administrators", "Renamed"]);
    assert_eq!(list.body["size"], 2);
    assert!(list.body["_links"].get("next").is_none());
}

async fn environment_fields_are_validated(app: &TestApp) {
    let admin = app.admin_token().await;
    let response = app
        .post("/v1/environments")
        .bearer(&admin)
        .json(json!({ "name": " ", "type": "DEV", "region": "MARS" }))
        .send()
        .await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    let targets: Vec<&str> =
        response.body["details"].as_array().unwrap().iter().map(|d| d["target"].as_str().unwrap()).collect();
    assert_eq!(targets, ["name", "type", "region"]);
}

async fn deleting_an_environment_deletes_everything_in_it(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Doomed").await;
    let (id, secret) = app.create_worker(&admin, &env, json!({ "name": "w", "type": "WORKER" })).await;
    let worker = app.worker_token(&env, &id, &secret).await;
    let user = app.create_user(&admin, &env, json!({ "username": "ada" })).await;

    let response = app.delete(&format!("/v1/environments/{env}")).bearer(&admin).send().await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    app.get(&format!("/v1/environments/{env}"))
        .bearer(&admin)
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let user_path = format!("/v1/environments/{env}/users/{}", user["id"].as_str().unwrap());
    app.get(&user_path).bearer(&admin).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    // Its workers' tokens and credentials are gone with it.
    app.get(&format!("/v1/environments/{env}/users"))
        .bearer(&worker)
        .send()
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "ACCESS_FAILED");
    let response =
        app.post(&format!("/{env}/as/token")).basic(&id, &secret).form("grant_type=client_credentials").send().await;
    assert_eq!(response.body["error"], "invalid_client");
    app.delete(&format!("/v1/environments/{env}"))
        .bearer(&admin)
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

async fn administrator_environment_cannot_be_deleted(app: &TestApp) {
    let admin = app.admin_token().await;
    let response = app.delete(&format!("/v1/environments/{}", app.admin.environment_id)).bearer(&admin).send().await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert_eq!(app.get("/v1/environments").bearer(&admin).send().await.status, StatusCode::OK);
}

async fn environments_paginate_with_next_links(app: &TestApp) {
    let admin = app.admin_token().await;
    for i in 0..4 {
        app.create_environment(&admin, &format!("env {i}")).await;
    }
    let mut names = Vec::new();
    let mut next = Some("/v1/environments?limit=2".to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        let page = app.get(&path).bearer(&admin).send().await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        pages += 1;
        for env in page.body["_embedded"]["environments"].as_array().unwrap() {
            names.push(env["name"].as_str().unwrap().to_owned());
        }
        next = page.body["_links"]["next"]["href"]
            .as_str()
            .map(|href| href.strip_prefix("https://credd.test").unwrap().to_owned());
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["Administrators", "env 0", "env 1", "env 2", "env 3"]);
}
