//! Template contents, the choice of content, the notifications API, and the SMTP
//! and webhook senders against real receivers started by the tests.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    template_contents_are_managed_per_template,
    variant_and_locale_fall_back,
    notifications_filter_and_stay_sealed
);

mod large_bodies {
    use super::*;
    // Room for a 50 KB variable.
    on_both_backends!(args = ["--body-limit-bytes", "1048576"]; oversized_variables_and_messages_are_refused);
}

/// A content that repeats a request's variable 2,000 times: a 50 KB variable in it once
/// rendered a 100 MB message. Variables and rendered messages are bounded, and a
/// request over a bound gets a 400 naming it, with nothing written.
async fn oversized_variables_and_messages_are_refused(app: &TestApp) {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Bounds").await;
    let contents = format!("/v1/environments/{env}/templates/digital_wallet_pairing/contents");
    for (variant, body) in [(None, "Hello ${x}".to_owned()), (Some("repeat"), "${x}".repeat(2_000))] {
        let content =
            json!({ "deliveryMethod": "Email", "locale": "en", "variant": variant, "subject": "s", "body": body });
        let created = app.post(&contents).bearer(&token).json(content).send().await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    }
    let user = app.create_user(&token, &env, json!({ "username": "ada", "email": "ada@example.com" })).await;
    let wallets = format!("/v1/environments/{env}/users/{}/digitalWallets", user["id"].as_str().unwrap());
    let app_id = app.create_wallet_application(&token, &env).await;
    let create = |template: Value| {
        let body = json!({ "digitalWalletApplication": { "id": app_id }, "notification": { "methods": ["EMAIL"], "template": template } });
        let (path, token) = (wallets.clone(), token.clone());
        async move { app.post(&path).bearer(&token).json(body).send().await }
    };

    let variables = |names: &mut dyn Iterator<Item = String>| names.map(|n| (n, json!("1"))).collect::<Map<_, _>>();
    let refused = [
        (json!({ "variant": "repeat", "variables": { "x": "a".repeat(50_000) } }), "notification.template.variables.x"),
        (json!({ "variant": "repeat", "variables": { "x": "a".repeat(4096) } }), "notification.template"),
        (json!({ "variables": variables(&mut ["n".repeat(101)].into_iter()) }), "notification.template.variables"),
        (json!({ "variables": variables(&mut (0..101).map(|i| format!("v{i}"))) }), "notification.template.variables"),
    ];
    for (template, target) in refused {
        let response = create(template).await;
        assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], target);
    }
    let notifications = format!("/v1/environments/{env}/notifications");
    assert_eq!(app.get(&wallets).bearer(&token).send().await.body["size"], 0, "no wallet was made");
    assert_eq!(app.get(&notifications).bearer(&token).send().await.body["size"], 0, "no message was made");

    // Variables within the bounds render as before.
    let created = create(json!({ "variables": { "x": "a".repeat(4096) } })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["notification"]["results"][0]["notification"]["id"].as_str().unwrap();
    let sent = app.get(&format!("{notifications}/{id}")).bearer(&token).send().await.body;
    assert_eq!(sent["body"], format!("Hello {}", "a".repeat(4096)));
}

async fn template_contents_are_managed_per_template(app: &TestApp) {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Templates").await;
    let contents = format!("/v1/environments/{env}/templates/digital_wallet_pairing/contents");
    let email = json!({ "deliveryMethod": "Email", "locale": "en", "variant": "Variant_B", "subject": "Pair", "body": "Open ${pairingUrl}" });
    let created = app.post(&contents).bearer(&token).json(email.clone()).send().await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        (created.body["variant"].as_str(), created.body["body"].as_str()),
        (Some("variant_b"), Some("Open ${pairingUrl}"))
    );
    let id = created.body["id"].as_str().unwrap();

    let duplicate = app.post(&contents).bearer(&token).json(email).send().await;
    let detail = duplicate.expect_error(StatusCode::CONFLICT, "UNIQUENESS_VIOLATION");
    assert_eq!(
        detail["message"],
        "Customized content for the template, locale and variant combination already exists."
    );
    let voice = app
        .post(&contents)
        .bearer(&token)
        .json(json!({ "deliveryMethod": "Voice", "locale": "en", "content": "x" }))
        .send()
        .await;
    assert_eq!(voice.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "deliveryMethod");
    let sms =
        app.post(&contents).bearer(&token).json(json!({ "deliveryMethod": "SMS", "locale": "fr_CA" })).send().await;
    assert_eq!(sms.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "content");
    app.get(&format!("/v1/environments/{env}/templates/no_such_template/contents"))
        .bearer(&token)
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    let replaced = app
        .put(&format!("{contents}/{id}"))
        .bearer(&token)
        .json(json!({ "deliveryMethod": "SMS", "locale": "fr-CA", "content": "Associez: ${pairingUrl}" }))
        .send()
        .await;
    assert_eq!(
        (replaced.body["locale"].as_str(), replaced.body["content"].as_str()),
        (Some("fr-ca"), Some("Associez: ${pairingUrl}"))
    );
    let list = app.get(&contents).bearer(&token).send().await.body;
    assert_eq!(list["size"], 1);
    assert_eq!(app.delete(&format!("{contents}/{id}")).bearer(&token).send().await.status, StatusCode::NO_CONTENT);
    app.get(&format!("{contents}/{id}")).bearer(&token).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

/// The body of the pairing email a wallet creation sends.
async fn pairing_email(app: &TestApp, token: &str, env: &str, user: &Value, template: Value) -> (String, String) {
    let app_id = app.create_wallet_application(token, env).await;
    let body = json!({ "digitalWalletApplication": { "id": app_id }, "notification": { "methods": ["EMAIL"], "template": template } });
    let created = app.create_wallet(token, env, user["id"].as_str().unwrap(), body).await;
    let id = created["notification"]["results"][0]["notification"]["id"].as_str().unwrap();
    let sent = app.get(&format!("/v1/environments/{env}/notifications/{id}")).bearer(token).send().await.body;
    (sent["body"].as_str().unwrap().to_owned(), sent["locale"].as_str().unwrap().to_owned())
}

async fn variant_and_locale_fall_back(app: &TestApp) {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Fallback").await;
    let contents = format!("/v1/environments/{env}/templates/digital_wallet_pairing/contents");
    for (locale, variant, text) in
        [("en", None, "EN default"), ("en", Some("variant_B"), "EN variant B"), ("fr", None, "FR défaut")]
    {
        let mut content = json!({ "deliveryMethod": "Email", "locale": locale, "subject": "s", "body": format!("{text} ${{user.username}}") });
        if let Some(variant) = variant {
            content["variant"] = variant.into();
        }
        assert_eq!(app.post(&contents).bearer(&token).json(content).send().await.status, StatusCode::CREATED);
    }
    let french = app
        .create_user(
            &token,
            &env,
            json!({ "username": "amelie", "email": "a@example.com", "preferredLanguage": "fr-CA, en;q=0.5" }),
        )
        .await;
    let plain = app.create_user(&token, &env, json!({ "username": "bob", "email": "b@example.com" })).await;

    let cases = [
        (&plain, json!({ "locale": "en", "variant": "variant_B" }), "EN variant B bob", "en"),
        (&plain, json!({ "locale": "en", "variant": "missing" }), "EN default bob", "en"),
        (&plain, json!({ "locale": "de" }), "EN default bob", "en"),
        (&french, json!({ "variant": "variant_B" }), "FR défaut amelie", "fr"),
        (&french, json!({ "locale": "en", "variant": "VARIANT_b" }), "EN variant B amelie", "en"),
    ];
    for (user, template, expected, locale) in cases {
        assert_eq!(
            pairing_email(app, &token, &env, user, template.clone()).await,
            (expected.to_owned(), locale.to_owned()),
            "{template}"
        );
    }
    // No content of the administrator's for SMS: the built-in English one.
    let app_id = app.create_wallet_application(&token, &env).await;
    let phone = app.create_user(&token, &env, json!({ "username": "carol", "mobilePhone": "+15125551234" })).await;
    let created = app
        .create_wallet(
            &token,
            &env,
            phone["id"].as_str().unwrap(),
            json!({ "digitalWalletApplication": { "id": app_id }, "notification": { "methods": ["SMS"] } }),
        )
        .await;
    let id = created["notification"]["results"][0]["notification"]["id"].as_str().unwrap();
    let sms = app.get(&format!("/v1/environments/{env}/notifications/{id}")).bearer(&token).send().await.body;
    assert_eq!(sms["recipient"], "+15125551234");
    assert_eq!(
        sms["body"],
        format!("Pair your digital wallet: {}", created["_links"]["appOpen"]["href"].as_str().unwrap())
    );
}

async fn notifications_filter_and_stay_sealed(app: &TestApp) {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Outbox").await;
    let ada = app
        .create_user(
            &token,
            &env,
            json!({ "username": "ada", "email": "ada@example.com", "mobilePhone": "+15125550000" }),
        )
        .await;
    let bob = app.create_user(&token, &env, json!({ "username": "bob", "email": "bob@example.com" })).await;
    let app_id = app.create_wallet_application(&token, &env).await;
    let mut links = Vec::new();
    for (user, methods) in [(&ada, json!(["EMAIL", "SMS"])), (&bob, json!(["EMAIL"]))] {
        let body = json!({ "digitalWalletApplication": { "id": app_id }, "notification": { "methods": methods } });
        links.push(
            app.create_wallet(&token, &env, user["id"].as_str().unwrap(), body).await["_links"]["appOpen"]["href"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let list = |filter: &str| {
        let path = format!(
            "/v1/environments/{env}/notifications?filter={}",
            url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
        );
        let token = token.clone();
        async move {
            app.get(&path).bearer(&token).send().await.body["_embedded"]["notifications"].as_array().unwrap().clone()
        }
    };
    let ada_id = ada["id"].as_str().unwrap();
    let for_ada = list(&format!(r#"user.id eq "{ada_id}""#)).await;
    assert_eq!(
        for_ada.iter().map(|n| n["deliveryMethod"].as_str().unwrap()).collect::<Vec<_>>(),
        ["SMS", "Email"],
        "newest first"
    );
    assert_eq!(list(r#"recipient eq "bob@example.com""#).await.len(), 1);
    assert_eq!(list(r#"template eq "digital_wallet_pairing""#).await.len(), 3);
    assert_eq!(list(r#"template eq "credential_issued""#).await.len(), 0);
    assert!(for_ada.iter().all(|n| n["status"] == "QUEUED"), "queued until the worker runs");
    app.run_jobs().await;
    assert!(
        list(&format!(r#"user.id eq "{ada_id}""#))
            .await
            .iter()
            .all(|n| n["status"] == "SENT" && n["sentAt"].is_string())
    );

    // The message text is sealed at rest: the link appears in no stored notification row.
    let stored = app.state.credd.store.clone();
    let page = domain::store::NotificationStore::notifications(
        &stored,
        env.parse().unwrap(),
        &Default::default(),
        domain::page::PageRequest::first(10),
    )
    .await
    .unwrap();
    for notification in page.items {
        let raw = String::from_utf8_lossy(&notification.sealed_message);
        assert!(links.iter().all(|link| !raw.contains(link.as_str())));
    }
}

/// A free port on the loopback interface.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wallet_with_email(app: &TestApp) -> String {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Senders").await;
    let user = app
        .create_user(
            &token,
            &env,
            json!({ "username": "ada", "email": "ada@example.com", "mobilePhone": "+15125550000" }),
        )
        .await;
    let app_id = app.create_wallet_application(&token, &env).await;
    let body = json!({ "digitalWalletApplication": { "id": app_id }, "notification": { "methods": ["EMAIL", "SMS"] } });
    let created = app.create_wallet(&token, &env, user["id"].as_str().unwrap(), body).await;
    created["_links"]["appOpen"]["href"].as_str().unwrap().to_owned()
}

/// An SMTP server (Python's aiosmtpd, installed by scripts/test) prints what it receives.
async fn smtp_delivers_to_a_real_server(backend: Backend) {
    let port = free_port();
    let mut server = tokio::process::Command::new("python3")
        .args(["-u", "-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 with aiosmtpd (scripts/test installs it)");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let url = format!("smtp://127.0.0.1:{port}");
    let app = TestApp::start_with(
        backend,
        &["--email-delivery", "smtp", "--smtp-url", &url, "--smtp-from", "credd <noreply@credd.test>"],
    )
    .await;
    let link = wallet_with_email(&app).await;
    assert_eq!(app.run_jobs().await, 2, "the email, and the SMS (to the outbox)");
    server.kill().await.unwrap();
    let mut received = String::new();
    tokio::io::AsyncReadExt::read_to_string(server.stdout.as_mut().unwrap(), &mut received).await.unwrap();
    assert!(received.contains("ada@example.com"), "{received}");
    assert!(received.contains("Subject: Pair your digital wallet"), "{received}");
    // Long lines may be folded by the mail encoding; the link's id is in there whole.
    let request_id = link.rsplit("%2F").next().unwrap();
    assert!(received.contains(request_id), "{received}");
    app.finish().await;
}

#[tokio::test]
async fn sqlite_smtp_delivers_to_a_real_server() {
    smtp_delivers_to_a_real_server(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_smtp_delivers_to_a_real_server() {
    smtp_delivers_to_a_real_server(Backend::Postgres).await;
}

/// A local receiver that checks each delivery's signature the way a customer would.
async fn webhook_deliveries_are_signed(backend: Backend) {
    const SECRET: &str = "a-shared-webhook-secret";
    let received: Arc<Mutex<Vec<(bool, Value)>>> = Arc::default();
    let sink = Arc::clone(&received);
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let sink = Arc::clone(&sink);
            async move {
                use hmac::Mac;
                let timestamp = headers["x-credd-timestamp"].to_str().unwrap();
                let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
                mac.update(format!("{timestamp}.").as_bytes());
                mac.update(&body);
                let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
                let valid = headers["x-credd-signature"].to_str().unwrap() == format!("v1={expected}");
                sink.lock().unwrap().push((valid, serde_json::from_slice(&body).unwrap()));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });

    let app = TestApp::start_with(
        backend,
        &["--phone-delivery", "webhook", "--webhook-url", &url, "--webhook-secret", SECRET],
    )
    .await;
    let link = wallet_with_email(&app).await;
    app.run_jobs().await;
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "only the SMS goes to the webhook; email stays in the outbox");
    let (valid, message) = &received[0];
    assert!(valid, "the signature verifies with the shared secret");
    assert_eq!(
        (message["deliveryMethod"].as_str(), message["recipient"].as_str()),
        (Some("SMS"), Some("+15125550000"))
    );
    assert_eq!(message["body"], format!("Pair your digital wallet: {link}"));
    app.finish().await;
}

#[tokio::test]
async fn sqlite_webhook_deliveries_are_signed() {
    webhook_deliveries_are_signed(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_webhook_deliveries_are_signed() {
    webhook_deliveries_are_signed(Backend::Postgres).await;
}
