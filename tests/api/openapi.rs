//! The OpenAPI document at `/openapi.json` and the reference page at `/docs`: served
//! without a token, the document names every path parameter and error of each
//! operation, and the page needs nothing from the internet.

use axum::http::{StatusCode, header};
use serde_json::Value;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    the_document_is_openapi_3_1_served_without_a_token,
    every_path_parameter_is_a_required_parameter,
    every_operation_documents_an_error_in_pingones_shape,
    the_reference_page_is_html_that_loads_nothing_from_elsewhere,
);

async fn document(app: &TestApp) -> Value {
    let response = app.get("/openapi.json").send().await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.body
}

/// Follows a local `$ref` (`#/components/…`) in the document.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => document.pointer(reference.strip_prefix('#').unwrap()).expect("the $ref resolves"),
        None => value,
    }
}

/// `(METHOD, path)` of every operation in the document.
fn documented_operations(document: &Value) -> Vec<(String, String)> {
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(|m| (m.to_uppercase(), path.clone())))
        .collect()
}

async fn the_document_is_openapi_3_1_served_without_a_token(app: &TestApp) {
    let response = app.get("/openapi.json").send().await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.headers.get(header::CONTENT_TYPE).unwrap(), "application/json");
    let version = response.body["openapi"].as_str().expect("a JSON object with `openapi`");
    assert!(version.starts_with("3.1."), "{version}");
    let schemes = &response.body["components"]["securitySchemes"];
    assert_eq!(
        (schemes["bearer"]["scheme"].as_str(), schemes["bearer"]["bearerFormat"].as_str()),
        (Some("bearer"), Some("JWT"))
    );
    assert_eq!(schemes["clientSecretBasic"]["scheme"], "basic");
}

async fn every_path_parameter_is_a_required_parameter(app: &TestApp) {
    let document = document(app).await;
    let documented = documented_operations(&document);
    assert!(documented.len() > 60, "{documented:?}");
    // Each `{name}` in a path is a required path parameter of its operations.
    for (method, path) in &documented {
        let operation = &document["paths"][path][method.to_lowercase()];
        let names = path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'));
        for name in names {
            let declared = operation["parameters"].as_array().into_iter().flatten().map(|p| resolve(&document, p));
            let found = declared.filter(|p| p["in"] == "path" && p["name"] == name).count();
            assert_eq!(found, 1, "{method} {path}: the path parameter {name}");
        }
    }
}

async fn every_operation_documents_an_error_in_pingones_shape(app: &TestApp) {
    let document = document(app).await;
    let error_schema = "#/components/schemas/Error";
    for field in ["id", "code", "message"] {
        assert!(
            document.pointer("/components/schemas/Error/required").unwrap().as_array().unwrap().contains(&field.into())
        );
    }
    assert!(document.pointer("/components/schemas/Error/properties/details").is_some());
    for (method, path) in documented_operations(&document) {
        let responses = document["paths"][&path][method.to_lowercase()]["responses"].as_object().unwrap();
        let errors: Vec<&String> = responses
            .iter()
            .filter(|(status, response)| {
                status.starts_with('4')
                    && resolve(&document, response)["content"]["application/json"]["schema"]["$ref"] == error_schema
            })
            .map(|(status, _)| status)
            .collect();
        assert!(!errors.is_empty(), "{method} {path} documents no 4xx with the Error schema: {responses:?}");
    }
}

async fn the_reference_page_is_html_that_loads_nothing_from_elsewhere(app: &TestApp) {
    let response = app.get("/docs").send().await;
    assert_eq!(response.status, StatusCode::OK);
    let content_type = response.headers.get(header::CONTENT_TYPE).unwrap().to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.body.as_str().expect("an HTML page");
    assert!(page.contains("fetch(\"openapi.json\")"), "the page renders the document");
    for external in ["http://", "https://", "//cdn", "src=\"//"] {
        assert!(!page.contains(external), "the page refers to {external}");
    }
}
