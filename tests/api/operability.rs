//! What operators use: the health and readiness probes, and JSON logs that carry
//! each request's id.

use axum::http::StatusCode;
use serde_json::Value;

use crate::helpers::{Server, TestApp};
use crate::on_both_backends;

on_both_backends!(
    probes_answer_without_a_token,
    readiness_fails_while_a_migration_is_missing,
    json_logs_carry_each_requests_id
);

async fn probes_answer_without_a_token(app: &TestApp) {
    let health = app.get("/healthz").send().await;
    assert_eq!((health.status, health.body["status"].as_str()), (StatusCode::OK, Some("UP")));
    let ready = app.get("/readyz").send().await;
    assert_eq!((ready.status, ready.body["status"].as_str()), (StatusCode::OK, Some("READY")));
}

/// Deletes the newest migration from the history, as if this binary were newer than
/// its database; that migration's version.
async fn forget_newest_migration(url: &str) -> i64 {
    const FORGET: &str =
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations) RETURNING version";
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query_scalar(FORGET).fetch_one(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query_scalar(FORGET).fetch_one(&pool).await.unwrap()
    }
}

async fn readiness_fails_while_a_migration_is_missing(app: &TestApp) {
    let missing = forget_newest_migration(&app.args.database.database_url).await;
    let ready = app.get("/readyz").send_unchecked().await;
    assert_eq!((ready.status, ready.body["status"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("NOT_READY")));
    assert!(ready.body["reason"].as_str().unwrap().contains(&missing.to_string()), "{}", ready.body);
    // Alive all the same: a restart will not help, a migration will.
    assert_eq!(app.get("/healthz").send().await.status, StatusCode::OK);
}

async fn json_logs_carry_each_requests_id(app: &TestApp) {
    let server = Server::start(app, &[("CREDD_LOG_FORMAT", "json")]);
    let answered = app.over_http(&server.base).get("/v1/environments").header("x-request-id", "req-7f3a").send().await;
    assert_eq!(answered.status, StatusCode::UNAUTHORIZED);
    let output = server.stop();

    let lines: Vec<Value> = output
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(lines.iter().any(|l| l["fields"]["message"] == "credd stopped"), "{output}");
    let request = lines.iter().find(|l| l["span"]["request_id"] == "req-7f3a").unwrap_or_else(|| panic!("{output}"));
    assert_eq!((request["level"].as_str(), request["span"]["path"].as_str()), (Some("INFO"), Some("/v1/environments")));
    assert_eq!(request["fields"]["status"], 401, "{request}");
}
