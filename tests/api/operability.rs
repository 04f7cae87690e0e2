//! What operators use: the health and readiness probes, Prometheus metrics, and JSON
//! logs that carry each request's id.

use std::collections::BTreeMap;

use axum::http::{StatusCode, header};
use chrono::TimeDelta;
use domain::job::NewJob;
use domain::store::JobStore;
use domain::time::{new_id, now};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Server, TestApp};
use crate::on_both_backends;

on_both_backends!(
    probes_answer_without_a_token,
    readiness_fails_while_a_migration_is_missing,
    a_database_that_takes_no_writes_is_not_ready_and_answers_503,
    json_logs_carry_each_requests_id,
    metrics_count_requests_jobs_and_notifications_by_template,
    metrics_show_the_table_rows_and_database_size_retention_bounds,
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

/// Makes the test's database refuse credd's writes, as a full disk or a read-only
/// server would: on SQLite another process holds the write lock (credd's writer waits
/// out its busy timeout, then gives up); on Postgres the database turns read-only and
/// its sessions are ended so that new ones see it.
enum WriteOutage {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgPool),
}

impl WriteOutage {
    async fn start(url: &str) -> Self {
        use sqlx::Connection;
        if url.starts_with("sqlite") {
            let mut holder = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query("BEGIN IMMEDIATE").execute(&mut holder).await.unwrap();
            Self::Sqlite(holder)
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            Self::set_read_only(&pool, true).await;
            Self::Postgres(pool)
        }
    }

    async fn end(self) {
        match self {
            Self::Sqlite(mut holder) => {
                sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
            }
            Self::Postgres(pool) => Self::set_read_only(&pool, false).await,
        }
    }

    async fn set_read_only(pool: &sqlx::PgPool, read_only: bool) {
        let database: String = sqlx::query_scalar("SELECT current_database()").fetch_one(pool).await.unwrap();
        let setting =
            if read_only { "SET default_transaction_read_only = on" } else { "RESET default_transaction_read_only" };
        // `database` is the test's own, made from a UUID.
        sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {database} {setting}"))).execute(pool).await.unwrap();
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            .execute(pool)
            .await
            .unwrap();
    }
}

async fn a_database_that_takes_no_writes_is_not_ready_and_answers_503(app: &TestApp) {
    let token = app.admin_token().await;
    let environment_id = app.create_environment(&token, "Outage").await;
    let users = format!("/v1/environments/{environment_id}/users");

    let outage = WriteOutage::start(&app.args.database.database_url).await;
    let ready = app.get("/readyz").send_unchecked().await;
    assert_eq!((ready.status, ready.body["status"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("NOT_READY")));
    let refused = app.post(&users).bearer(&token).json(json!({ "username": "ada" })).send_unchecked().await;
    refused.expect_error(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE");
    refused.assert_pingone_error();
    assert_eq!(refused.headers[header::RETRY_AFTER], "1");

    outage.end().await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while app.get("/readyz").send_unchecked().await.status != StatusCode::OK {
        assert!(tokio::time::Instant::now() < deadline, "never ready again");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let created = app.post(&users).bearer(&token).json(json!({ "username": "ada" })).send_unchecked().await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
}

/// When the server ends every session (a restart, a failover), the pool's idle
/// connections are all dead however recently they were used: one request may find
/// out, with a 503, and the rest get fresh connections.
#[tokio::test]
async fn postgres_sessions_ended_by_the_server_fail_at_most_one_request() {
    let app = TestApp::start(crate::helpers::Backend::Postgres).await;
    let token = app.admin_token().await;
    let environment_id = app.create_environment(&token, "Restarted").await;
    let path = format!("/v1/environments/{environment_id}");
    let read = || app.get(&path).bearer(&token).send_unchecked();
    // Every pooled connection (the tests' pools hold four) used a moment ago.
    let warm = tokio::join!(read(), read(), read(), read());
    assert_eq!([warm.0.status, warm.1.status, warm.2.status, warm.3.status], [StatusCode::OK; 4]);

    let admin = sqlx::PgPool::connect(&app.args.database.database_url).await.unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        .execute(&admin)
        .await
        .unwrap();
    let mut failed = Vec::new();
    for _ in 0..8 {
        let answer = read().await;
        if answer.status != StatusCode::OK {
            failed.push(answer.status);
        }
    }
    assert!(failed.len() <= 1 && failed.iter().all(|s| *s == StatusCode::SERVICE_UNAVAILABLE), "{failed:?}");
    admin.close().await;
    app.finish().await;
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

/// One sample of an OpenMetrics exposition: `name{label="value",…} value`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the samples of an exposition; label values may hold `{`, `}`, `,` and `\"`.
fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("a sample: {line}"));
        let (name, mut rest) = line.split_at(name_end);
        let mut labels = BTreeMap::new();
        if let Some(inner) = rest.strip_prefix('{') {
            let mut chars = inner.char_indices();
            let (mut key, mut value, mut in_value, mut escaped) = (String::new(), String::new(), false, false);
            loop {
                let (at, c) = chars.next().unwrap_or_else(|| panic!("an unclosed label set: {line}"));
                match (in_value, c) {
                    (true, _) if escaped => {
                        value.push(c);
                        escaped = false;
                    }
                    (true, '\\') => escaped = true,
                    (true, '"') => {
                        labels.insert(std::mem::take(&mut key), std::mem::take(&mut value));
                        in_value = false;
                    }
                    (true, _) => value.push(c),
                    (false, '"') => in_value = true,
                    (false, '}') => {
                        rest = &inner[at + 1..];
                        break;
                    }
                    (false, '=' | ',') => {}
                    (false, _) => key.push(c),
                }
            }
        }
        let value = rest.trim().parse().unwrap_or_else(|e| panic!("{e}: {line}"));
        samples.push(Sample { name: name.to_owned(), labels, value });
    }
    samples
}

/// The value of the sample with exactly these labels.
fn value_of(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let wanted: BTreeMap<String, String> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    samples.iter().find(|s| s.name == name && s.labels == wanted).map(|s| s.value)
}

async fn scrape(app: &TestApp) -> (String, Vec<Sample>) {
    let response = app.get("/metrics").send().await;
    assert_eq!(response.status, StatusCode::OK);
    let content_type = response.headers.get(header::CONTENT_TYPE).unwrap().to_str().unwrap();
    assert_eq!(content_type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    let text = response.body.as_str().expect("text").to_owned();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let samples = parse_exposition(&text);
    (text, samples)
}

async fn metrics_count_requests_jobs_and_notifications_by_template(app: &TestApp) {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Metrics").await;
    let user = app.create_user(&token, &env, json!({ "username": "ada", "email": "ada@example.com" })).await;
    let user_id = user["id"].as_str().unwrap();
    let user_path = format!("/v1/environments/{env}/users/{user_id}");
    for _ in 0..2 {
        assert_eq!(app.get(&user_path).bearer(&token).send().await.status, StatusCode::OK);
    }
    let missing = Uuid::new_v4();
    let missing_path = format!("/v1/environments/{env}/users/{missing}");
    assert_eq!(app.get(&missing_path).bearer(&token).send().await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/nowhere/{missing}")).send().await.status, StatusCode::NOT_FOUND);
    // A wallet whose pairing email waits in the queue, and its session's expiry tomorrow.
    let wallet_application = app.create_wallet_application(&token, &env).await;
    let wallet = app
        .create_wallet(
            &token,
            &env,
            user_id,
            json!({ "digitalWalletApplication": { "id": wallet_application }, "notification": { "methods": ["EMAIL"] } }),
        )
        .await;
    // A job of a kind this version does not know, due an hour ago: it ends dead.
    let stranded = NewJob {
        id: new_id(),
        kind: "retired_kind".into(),
        payload: Vec::new(),
        run_at: now() - TimeDelta::hours(1),
        max_attempts: 1,
    };
    app.state.credd.store.enqueue_job(&stranded).await.unwrap();

    let (text, samples) = scrape(app).await;
    let route = "/v1/environments/{environment_id}/users/{user_id}";
    let requests = "credd_http_requests_total";
    assert_eq!(value_of(&samples, requests, &[("method", "GET"), ("route", route), ("status", "200")]), Some(2.0));
    assert_eq!(value_of(&samples, requests, &[("method", "GET"), ("route", route), ("status", "404")]), Some(1.0));
    assert_eq!(
        value_of(&samples, requests, &[("method", "GET"), ("route", "unmatched"), ("status", "404")]),
        Some(1.0)
    );
    let latency = "credd_http_request_duration_seconds_count";
    assert_eq!(value_of(&samples, latency, &[("method", "GET"), ("route", route)]), Some(3.0));
    let queue = "credd_job_queue_depth";
    assert_eq!(value_of(&samples, queue, &[("state", "due")]), Some(2.0), "the email and the stranded job");
    assert_eq!(value_of(&samples, queue, &[("state", "scheduled")]), Some(1.0), "the pairing session's expiry");
    assert_eq!(value_of(&samples, queue, &[("state", "running")]), Some(0.0));
    let age = value_of(&samples, "credd_job_queue_oldest_due_age_seconds", &[]).unwrap();
    assert!(age >= 3600.0, "the stranded job has waited an hour: {age}");

    // No id of any kind is a label value: only templates, methods, kinds, outcomes.
    let ids = [env.as_str(), user_id, wallet["id"].as_str().unwrap(), &missing.to_string()];
    for sample in &samples {
        for value in sample.labels.values() {
            assert!(!ids.iter().any(|id| value.contains(id)), "an id in a label: {sample:?}");
            assert!(value.split('/').all(|segment| Uuid::parse_str(segment).is_err()), "{sample:?}");
        }
    }
    assert!(!text.contains("ada@example.com"));

    // Pools: each one within its bounds.
    let pools: Vec<&Sample> = samples.iter().filter(|s| s.name == "credd_db_pool_max_connections").collect();
    let mut pool_names: Vec<&str> = pools.iter().filter_map(|p| p.labels.get("pool").map(String::as_str)).collect();
    pool_names.sort_unstable();
    let expected = if app.args.database.database_url.starts_with("sqlite") {
        ["reader", "writer"]
    } else {
        ["bookkeeping", "main"]
    };
    assert_eq!(pool_names, expected, "{pools:?}");
    for pool in pools {
        let labels: Vec<(&str, &str)> = pool.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let size = value_of(&samples, "credd_db_pool_connections", &labels).unwrap();
        let idle = value_of(&samples, "credd_db_pool_idle_connections", &labels).unwrap();
        assert!(pool.value >= 1.0 && size <= pool.value && idle <= size, "{labels:?}: {size} {idle} {}", pool.value);
    }

    assert_eq!(app.run_jobs().await, 2);
    let (_, samples) = scrape(app).await;
    let jobs = "credd_jobs_total";
    assert_eq!(value_of(&samples, jobs, &[("kind", "send_notification"), ("outcome", "succeeded")]), Some(1.0));
    assert_eq!(value_of(&samples, jobs, &[("kind", "retired_kind"), ("outcome", "dead")]), Some(1.0));
    assert_eq!(value_of(&samples, "credd_job_duration_seconds_count", &[("kind", "send_notification")]), Some(1.0));
    let notifications = "credd_notifications_total";
    assert_eq!(value_of(&samples, notifications, &[("method", "Email"), ("outcome", "sent")]), Some(1.0));
    assert_eq!(value_of(&samples, queue, &[("state", "due")]), Some(0.0));
    assert_eq!(value_of(&samples, queue, &[("state", "scheduled")]), Some(1.0));
    assert_eq!(value_of(&samples, "credd_job_queue_oldest_due_age_seconds", &[]), Some(0.0));
}

async fn metrics_show_the_table_rows_and_database_size_retention_bounds(app: &TestApp) {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Sizes").await;
    let user = app.create_user(&token, &env, json!({ "username": "ada", "email": "ada@example.com" })).await;
    let wallet_application = app.create_wallet_application(&token, &env).await;
    let body =
        json!({ "digitalWalletApplication": { "id": wallet_application }, "notification": { "methods": ["EMAIL"] } });
    app.create_wallet(&token, &env, user["id"].as_str().unwrap(), body).await;

    let (_, samples) = scrape(app).await;
    let rows = |table| value_of(&samples, "credd_table_rows", &[("table", table)]);
    assert!(value_of(&samples, "credd_database_size_bytes", &[]).is_some_and(|bytes| bytes > 0.0));
    let free = value_of(&samples, "credd_database_free_bytes", &[]);
    if app.args.database.database_url.starts_with("sqlite") {
        // Counted: the pairing email and its send job, the session and its expiry job.
        assert_eq!((rows("jobs"), rows("notifications"), rows("pairing_sessions")), (Some(2.0), Some(1.0), Some(1.0)));
        assert!(free.is_some_and(|bytes| bytes >= 0.0));
    } else {
        // Postgres' running estimates, which may lag behind the writes.
        for table in ["jobs", "notifications", "pairing_sessions"] {
            assert!(rows(table).is_some_and(|count| count >= 0.0), "{table}");
        }
        assert_eq!(free, None, "Postgres keeps no free-page count");
    }
}
