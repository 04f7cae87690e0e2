//! What clients do to connections, against the real binary: requests abandoned half-way
//! in bursts, and headers that never finish arriving.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Server, TestApp};
use crate::on_both_backends;

on_both_backends!(clients_that_disconnect_mid_request_never_stop_writes);

/// How many bursts of abandoned requests, and how many requests in each.
const BURSTS: usize = 20;
const BURST_SIZE: usize = 30;

/// Sends a whole create-user request and closes the connection after `wait`, most
/// often while credd is still handling it.
async fn abandon_create_user(address: &str, path: &str, token: &str, username: &str, wait: Duration) {
    let body = json!({ "username": username }).to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: credd.test\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
}

async fn clients_that_disconnect_mid_request_never_stop_writes(app: &TestApp) {
    let token = app.admin_token().await;
    let environment_id = app.create_environment(&token, "Disconnects").await;
    let server = Server::start(app, &[]);
    let served = app.over_http(&server.base);
    let address = server.base.trim_start_matches("http://").to_owned();
    let path = format!("/v1/environments/{environment_id}/users");

    for burst in 0..BURSTS {
        let abandoned = (0..BURST_SIZE).map(|i| {
            let (address, path, token) = (address.clone(), path.clone(), token.clone());
            // From closing at once to closing a few milliseconds in: every stage of a write.
            let wait = Duration::from_micros(((burst * BURST_SIZE + i) % 7) as u64 * 700);
            tokio::spawn(async move {
                abandon_create_user(&address, &path, &token, &format!("gone-{burst}-{i}"), wait).await;
            })
        });
        for request in abandoned.collect::<Vec<_>>() {
            request.await.unwrap();
        }
        let kept = served.post(&path).bearer(&token).json(json!({ "username": format!("kept-{burst}") })).send().await;
        assert_eq!(kept.status, StatusCode::CREATED, "after burst {burst}: {}", kept.body);
    }
    let ready = served.get("/readyz").send().await;
    assert_eq!(ready.body["status"], "READY");
    let stopped = server.stop();
    assert!(!stopped.contains("within a transaction"), "{stopped}");
}

/// Headers that never finish: the connection is closed once the header read timeout
/// passes, where before it stayed open as long as the client liked.
#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = TestApp::start(crate::helpers::Backend::Sqlite).await;
    let server = Server::start(&app, &[("CREDD_HEADER_READ_TIMEOUT_SECONDS", "1")]);
    let mut stream = TcpStream::connect(server.base.trim_start_matches("http://")).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: credd.test\r\n").await.unwrap();
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer)).await;
    assert!(closed.is_ok(), "the connection was still open after 30 s");
    // A client that sends its headers in time is served as before.
    let served = app.over_http(&server.base).get("/healthz").send().await;
    assert_eq!(served.status, StatusCode::OK);
    drop(server);
    app.finish().await;
}
