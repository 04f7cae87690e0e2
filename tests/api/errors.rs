//! Every class of bad request answers with PingOne's error body and the right 4xx
//! (the client in `helpers` checks the body shape and `x-request-id` on every call).

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    unknown_route_is_not_found,
    wrong_method_is_not_allowed,
    body_over_the_limit_is_too_large,
    wrong_content_type_is_unsupported,
    malformed_json_is_an_invalid_request,
    wrong_field_type_names_the_field,
    invalid_uuid_in_path_names_the_parameter,
    out_of_range_limit_and_foreign_cursor_are_refused,
    missing_required_fields_are_all_reported,
    unsupported_filters_are_invalid_data,
    unknown_environment_is_not_found,
);

async fn unknown_route_is_not_found(app: &TestApp) {
    app.get("/v1/nothing/here").send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

async fn wrong_method_is_not_allowed(app: &TestApp) {
    let response = app.patch("/v1/environments").send().await;
    response.expect_error(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
    assert!(response.headers.get("allow").unwrap().to_str().unwrap().contains("POST"));
}

async fn body_over_the_limit_is_too_large(app: &TestApp) {
    let token = app.admin_token().await;
    let name = "x".repeat(10_000);
    let response = app.post("/v1/environments").bearer(&token).json(json!({ "name": name })).send().await;
    response.expect_error(StatusCode::PAYLOAD_TOO_LARGE, "INVALID_REQUEST");
    // Nothing was created.
    let list = app.get("/v1/environments").bearer(&token).send().await;
    assert_eq!(list.body["size"], 1, "only the administrator environment");
}

async fn wrong_content_type_is_unsupported(app: &TestApp) {
    let token = app.admin_token().await;
    let response = app.post("/v1/environments").bearer(&token).raw("text/plain", r#"{"name":"x"}"#).send().await;
    let detail = response.expect_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "INVALID_REQUEST");
    assert_eq!(detail["target"], "Content-Type");
    let token_endpoint = app.post(&format!("/{}/as/token", app.admin.environment_id)).json(json!({})).send().await;
    token_endpoint.expect_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "INVALID_REQUEST");
}

async fn malformed_json_is_an_invalid_request(app: &TestApp) {
    let token = app.admin_token().await;
    for body in [r#"{"name":"#, "not json", "[1, 2]", ""] {
        let response = app.post("/v1/environments").bearer(&token).raw("application/json", body).send().await;
        response.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    }
}

async fn wrong_field_type_names_the_field(app: &TestApp) {
    let token = app.admin_token().await;
    let environment = app.create_environment(&token, "Types").await;
    let response = app
        .post(&format!("/v1/environments/{environment}/users"))
        .bearer(&token)
        .json(json!({ "username": 42 }))
        .send()
        .await;
    let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!((detail["code"].as_str(), detail["target"].as_str()), (Some("INVALID_VALUE"), Some("username")));
    let response = app
        .post(&format!("/v1/environments/{environment}/users"))
        .bearer(&token)
        .json(json!({ "username": "ada", "name": { "given": ["Ada"] } }))
        .send()
        .await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "name.given");
}

async fn invalid_uuid_in_path_names_the_parameter(app: &TestApp) {
    let token = app.admin_token().await;
    let response =
        app.get(&format!("/v1/environments/{}/users/not-a-uuid", app.admin.environment_id)).bearer(&token).send().await;
    let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert_eq!(detail["target"], "user_id");
    let response = app.get("/v1/environments/../../etc/passwd").bearer(&token).send().await;
    assert!(response.status.is_client_error());
}

async fn out_of_range_limit_and_foreign_cursor_are_refused(app: &TestApp) {
    let token = app.admin_token().await;
    for limit in ["0", "1001", "many"] {
        let response = app.get(&format!("/v1/environments?limit={limit}")).bearer(&token).send().await;
        let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
        assert_eq!((detail["code"].as_str(), detail["target"].as_str()), (Some("OUT_OF_RANGE"), Some("limit")));
    }
    let response = app.get("/v1/environments?cursor=%27%3B--").bearer(&token).send().await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST")["target"], "cursor");
}

async fn missing_required_fields_are_all_reported(app: &TestApp) {
    let token = app.admin_token().await;
    let response = app
        .post(&format!("/v1/environments/{}/applications", app.admin.environment_id))
        .bearer(&token)
        .json(json!({ "tokenEndpointAuthMethod": "NONE" }))
        .send()
        .await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    let mut targets: Vec<&str> =
        response.body["details"].as_array().unwrap().iter().map(|d| d["target"].as_str().unwrap()).collect();
    targets.sort_unstable();
    assert_eq!(targets, ["name", "tokenEndpointAuthMethod", "type"]);
}

async fn unsupported_filters_are_invalid_data(app: &TestApp) {
    let token = app.admin_token().await;
    let users = format!("/v1/environments/{}/users", app.admin.environment_id);
    for filter in ["password%20eq%20%22x%22", "username%20co%20%22a%22", "username%20eq%20%22a%22%20or%201%3D1", "%22"]
    {
        let response = app.get(&format!("{users}?filter={filter}")).bearer(&token).send().await;
        let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
        assert_eq!((&detail["code"], &detail["target"]), (&json!("INVALID_FILTER"), &json!("filter")), "{filter}");
    }
}

async fn unknown_environment_is_not_found(app: &TestApp) {
    let token = app.admin_token().await;
    let missing = uuid::Uuid::now_v7();
    for path in [format!("/v1/environments/{missing}"), format!("/v1/environments/{missing}/users")] {
        app.get(&path).bearer(&token).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    }
    let response = app
        .post(&format!("/v1/environments/{missing}/users"))
        .bearer(&token)
        .json(json!({ "username": "x" }))
        .send()
        .await;
    response.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}
