//! `TestApp`: the whole credd app on a fresh database of either backend, and a small
//! client so a test reads like the scenario it checks.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine;
use clap::Parser;
use credd::app_store::AppStore;
use credd::config::{Cli, Command, ServeArgs};
use credd::http::AppState;
use credd::server::App;
use credd::service::bootstrap::BootstrapCredentials;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

pub enum Backend {
    Sqlite,
    Postgres,
}

/// Stamps each listed scenario `async fn name(app: &TestApp)` into a `sqlite` and a
/// `postgres` test. The Postgres tests need `DATABASE_URL` (the README's test
/// command sets it).
/// `args = [...]` adds `credd serve` flags to every listed scenario's app.
#[macro_export]
macro_rules! on_both_backends {
    (args = $args:tt; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                let app = $crate::helpers::TestApp::start_with($crate::helpers::Backend::Sqlite, &$args).await;
                super::$name(&app).await;
                app.finish().await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                let app = $crate::helpers::TestApp::start_with($crate::helpers::Backend::Postgres, &$args).await;
                super::$name(&app).await;
                app.finish().await;
            })*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::on_both_backends!(args = []; $($name),*);
    };
}

pub struct TestApp {
    pub state: AppState,
    pub admin: BootstrapCredentials,
    pub args: ServeArgs,
    router: Router,
    /// The Postgres database made for this test, dropped by `finish`.
    postgres: Option<(String, String)>,
    data_dir: Arc<tempfile::TempDir>,
    extra: Vec<String>,
    /// Requests go to a running `credd serve` here instead of the in-process router.
    http: Option<(reqwest::Client, String)>,
}

/// `credd serve` flags for a test app; a flag in `extra` replaces the default one.
pub fn serve_args(database_url: &str, data_dir: &std::path::Path, extra: &[String]) -> ServeArgs {
    let defaults = [
        ("--database-url", database_url),
        ("--data-dir", data_dir.to_str().unwrap()),
        ("--public-url", "https://credd.test"),
        ("--body-limit-bytes", "4096"),
    ];
    let kept = defaults.into_iter().filter(|(flag, _)| !extra.iter().any(|e| e == flag)).flat_map(|(f, v)| [f, v]);
    let args = ["credd", "serve"].into_iter().chain(kept).map(str::to_owned).chain(extra.iter().cloned());
    let cli = Cli::try_parse_from(args).unwrap();
    match cli.command {
        Command::Serve(args) => *args,
        _ => unreachable!("parsed as serve"),
    }
}

impl TestApp {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, &[]).await
    }

    pub async fn start_with(backend: Backend, extra: &[&str]) -> Self {
        let data_dir = Arc::new(tempfile::tempdir().unwrap());
        let (url, postgres) = match backend {
            Backend::Sqlite => (format!("sqlite://{}/credd.db", data_dir.path().display()), None),
            Backend::Postgres => {
                let admin_url = std::env::var("DATABASE_URL").expect(
                    "DATABASE_URL must point at PostgreSQL for the postgres tests (see the README's test command)",
                );
                let name = format!("credd_test_{}", Uuid::new_v4().simple());
                let admin = sqlx::PgPool::connect(&admin_url).await.expect("connect to DATABASE_URL");
                // `name` is made here from a UUID, never from input.
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
                admin.close().await;
                let mut url = url::Url::parse(&admin_url).unwrap();
                url.set_path(&name);
                (url.to_string(), Some((admin_url, name)))
            }
        };
        Self::open(&url, data_dir, postgres, extra.iter().map(|s| s.to_string()).collect()).await
    }

    /// Opens credd on an existing database and data folder, as a restart would.
    pub async fn open(
        url: &str,
        data_dir: Arc<tempfile::TempDir>,
        postgres: Option<(String, String)>,
        extra: Vec<String>,
    ) -> Self {
        let args = serve_args(url, data_dir.path(), &extra);
        let store = AppStore::open(url, 4, true).await.unwrap();
        let (app, admin, _) = App::build(store, &args).await.unwrap();
        let App { state, .. } = app;
        let router = credd::http::router(state.clone(), args.body_limit_bytes);
        Self { state, admin, args, router, postgres, data_dir, extra, http: None }
    }

    /// This app with its requests sent over HTTP to a `credd serve` at `base` that runs
    /// on the same database and data folder (its public URL `https://credd.test`).
    pub fn over_http(&self, base: &str) -> TestApp {
        credd::crypto::install_tls_provider();
        TestApp {
            state: self.state.clone(),
            admin: self.admin.clone(),
            args: self.args.clone(),
            router: self.router.clone(),
            postgres: None,
            data_dir: Arc::clone(&self.data_dir),
            extra: self.extra.clone(),
            http: Some((reqwest::Client::new(), base.to_owned())),
        }
    }

    /// A second instance on the same database and data folder, as behind a load
    /// balancer; `finish` it before this one.
    pub async fn another_instance(&self) -> TestApp {
        Self::open(&self.args.database.database_url, Arc::clone(&self.data_dir), None, self.extra.clone()).await
    }

    /// Closes this instance and opens another on the same database and data folder.
    pub async fn restart(self) -> Self {
        self.state.credd.store.close().await;
        let url = self.args.database.database_url.clone();
        Self::open(&url, self.data_dir, self.postgres, self.extra).await
    }

    pub async fn finish(self) {
        self.state.credd.store.close().await;
        if let Some((admin_url, name)) = self.postgres {
            let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
        }
    }

    /// Runs every due background job to completion, as the worker would. Over HTTP the
    /// server's own worker runs them, and this does nothing.
    pub async fn run_jobs(&self) -> usize {
        if self.http.is_some() {
            return 0;
        }
        let services = &self.state.credd;
        let jobs = credd::jobs::Jobs { credd: services.clone() };
        let worker = credd::jobs::Worker::new(
            services.store.clone(),
            jobs,
            Arc::new(tokio::sync::Notify::new()),
            Arc::clone(&services.metrics),
        );
        worker.drain().await.unwrap()
    }

    /// Creates a native application with a bundle id of its own, as a digital wallet
    /// application needs; returns its id.
    pub async fn create_native_application(&self, token: &str, environment_id: &str) -> String {
        let body = json!({
            "name": "Customer Wallet", "type": "NATIVE_APP", "protocol": "OPENID_CONNECT",
            "grantTypes": ["AUTHORIZATION_CODE"], "responseTypes": ["CODE"],
            "redirectUris": ["com.customer.wallet:/callback"], "pkceEnforcement": "S256_REQUIRED",
            "tokenEndpointAuthMethod": "NONE",
            "mobile": { "bundleId": format!("com.customer.wallet.{}", Uuid::new_v4().simple()) },
        });
        let response =
            self.post(&format!("/v1/environments/{environment_id}/applications")).bearer(token).json(body).send().await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
        response.body["id"].as_str().unwrap().to_owned()
    }

    /// Creates a digital wallet application on a native application of its own;
    /// returns its id.
    pub async fn create_wallet_application(&self, token: &str, environment_id: &str) -> String {
        let native = self.create_native_application(token, environment_id).await;
        let body = json!({ "name": "Customer Wallet App", "application": { "id": native }, "appOpenUrl": "https://credentials.customer.com" });
        let response = self
            .post(&format!("/v1/environments/{environment_id}/digitalWalletApplications"))
            .bearer(token)
            .json(body)
            .send()
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
        response.body["id"].as_str().unwrap().to_owned()
    }

    /// Creates a digital wallet for the user; returns the response body.
    pub async fn create_wallet(&self, token: &str, environment_id: &str, user_id: &str, body: Value) -> Value {
        let path = format!("/v1/environments/{environment_id}/users/{user_id}/digitalWallets");
        let response = self.post(&path).bearer(token).json(body).send().await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
        response.body
    }

    pub fn request(&self, method: Method, path: &str) -> TestRequest<'_> {
        TestRequest { app: self, builder: Request::builder().method(method).uri(path), body: Body::empty() }
    }

    pub fn get(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::POST, path)
    }

    pub fn put(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::PUT, path)
    }

    pub fn patch(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::PATCH, path)
    }

    pub fn delete(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::DELETE, path)
    }

    /// A token of the administrator worker.
    pub async fn admin_token(&self) -> String {
        let response = self
            .post(&format!("/{}/as/token", self.admin.environment_id))
            .basic(&self.admin.client_id.to_string(), &self.admin.client_secret)
            .form("grant_type=client_credentials")
            .send()
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        response.body["access_token"].as_str().unwrap().to_owned()
    }

    /// Creates an environment as the administrator; returns its id.
    pub async fn create_environment(&self, admin_token: &str, name: &str) -> String {
        let response = self.post("/v1/environments").bearer(admin_token).json(json!({ "name": name })).send().await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
        response.body["id"].as_str().unwrap().to_owned()
    }

    /// Creates a worker application in the environment; returns (client id, secret).
    pub async fn create_worker(&self, token: &str, environment_id: &str, body: Value) -> (String, String) {
        let response =
            self.post(&format!("/v1/environments/{environment_id}/applications")).bearer(token).json(body).send().await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
        (response.body["id"].as_str().unwrap().to_owned(), response.body["secret"].as_str().unwrap().to_owned())
    }

    /// A client-credentials token for a worker with basic authentication.
    pub async fn worker_token(&self, environment_id: &str, client_id: &str, secret: &str) -> String {
        let response = self
            .post(&format!("/{environment_id}/as/token"))
            .basic(client_id, secret)
            .form("grant_type=client_credentials")
            .send()
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        response.body["access_token"].as_str().unwrap().to_owned()
    }

    /// The code in the newest `device_pairing` message to `recipient`, and the message.
    pub async fn sent_code(&self, token: &str, environment_id: &str, recipient: &str) -> (String, Value) {
        let filter = format!(r#"template eq "device_pairing" and recipient eq "{recipient}""#);
        let filter: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
        let path = format!("/v1/environments/{environment_id}/notifications?filter={filter}");
        let message = self.get(&path).bearer(token).send().await.body["_embedded"]["notifications"][0].clone();
        let body = message["body"].as_str().expect("a device_pairing message");
        let code =
            body.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() >= 6).expect("a code in the message").to_owned();
        (code, message)
    }

    /// Creates a user; returns the response body.
    pub async fn create_user(&self, token: &str, environment_id: &str, body: Value) -> Value {
        let response =
            self.post(&format!("/v1/environments/{environment_id}/users")).bearer(token).json(body).send().await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
        response.body
    }
}

/// The wallet simulator talks to the in-process app.
impl credd::wallet_client::Transport for TestApp {
    async fn get(&self, url: &str, bearer: Option<&str>) -> Result<(u16, Value), String> {
        let mut request = self.get(url.strip_prefix("https://credd.test").ok_or("a foreign URL")?);
        if let Some(token) = bearer {
            request = request.bearer(token);
        }
        let response = request.send().await;
        Ok((response.status.as_u16(), response.body))
    }

    async fn post(&self, url: &str, body: &Value) -> Result<(u16, Value), String> {
        let response =
            self.post(url.strip_prefix("https://credd.test").ok_or("a foreign URL")?).json(body.clone()).send().await;
        Ok((response.status.as_u16(), response.body))
    }

    async fn post_with_token(&self, url: &str, body: &Value, bearer: &str) -> Result<(u16, Value), String> {
        let path = url.strip_prefix("https://credd.test").ok_or("a foreign URL")?;
        let response = self.post(path).bearer(bearer).json(body.clone()).send().await;
        Ok((response.status.as_u16(), response.body))
    }
}

pub struct TestRequest<'a> {
    app: &'a TestApp,
    builder: axum::http::request::Builder,
    body: Body,
}

impl TestRequest<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    /// Sent from `peer` (`ip:port`), as the binary's connect info tells it (in process only).
    pub fn peer(mut self, peer: &str) -> Self {
        let peer: std::net::SocketAddr = peer.parse().unwrap();
        self.builder = self.builder.extension(axum::extract::ConnectInfo(peer));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn basic(self, user: &str, password: &str) -> Self {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("authorization", &format!("Basic {encoded}"))
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Body::from(body.to_string());
        self.header("content-type", "application/json")
    }

    /// A body sent exactly as given, with no Content-Type of its own.
    pub fn body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    /// A body sent exactly as given, with the given Content-Type.
    pub fn raw(self, content_type: &str, body: impl Into<Body>) -> Self {
        self.body(body).header("content-type", content_type)
    }

    pub fn form(self, body: &str) -> Self {
        self.raw("application/x-www-form-urlencoded", body.to_owned())
    }

    /// Sends the request and checks what every answer must be: no 5xx, an
    /// `x-request-id`, and PingOne's error body on a 4xx.
    pub async fn send(self) -> TestResponse {
        let response = self.send_unchecked().await;
        assert!(!response.status.is_server_error(), "a request got {}: {}", response.status, response.body);
        assert!(response.headers.contains_key("x-request-id"), "every response carries x-request-id");
        if response.status.is_client_error() {
            response.assert_pingone_error();
        }
        response
    }

    /// Sends the request and returns whatever came back (a readiness probe's 503).
    pub async fn send_unchecked(self) -> TestResponse {
        let request = self.builder.body(self.body).unwrap();
        let (status, headers, bytes) = match &self.app.http {
            None => {
                let response = self.app.router.clone().oneshot(request).await.unwrap();
                let (status, headers) = (response.status(), response.headers().clone());
                (status, headers, response.into_body().collect().await.unwrap().to_bytes())
            }
            Some((client, base)) => {
                let (parts, body) = request.into_parts();
                let body = body.collect().await.unwrap().to_bytes();
                let url = format!("{base}{}", parts.uri);
                let response =
                    client.request(parts.method, url).headers(parts.headers).body(body).send().await.unwrap();
                let (status, headers) = (response.status(), response.headers().clone());
                (status, headers, response.bytes().await.unwrap())
            }
        };
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        TestResponse { status, headers, body }
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// The PingOne error body: `id` (a UUID), `code`, `message`, and `details[]`
    /// entries with `code` and `message` when present.
    pub fn assert_pingone_error(&self) {
        assert_eq!(self.headers.get(header::CONTENT_TYPE).unwrap(), "application/json", "{}", self.body);
        let body = &self.body;
        assert!(body["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()).is_some(), "error id: {body}");
        assert!(body["code"].as_str().is_some_and(|c| !c.is_empty()), "error code: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "error message: {body}");
        if let Some(details) = body.get("details") {
            for detail in details.as_array().expect("details is an array") {
                assert!(detail["code"].is_string() && detail["message"].is_string(), "detail: {detail}");
            }
        }
    }

    /// Asserts status and top-level code, and returns the first detail.
    pub fn expect_error(&self, status: StatusCode, code: &str) -> &Value {
        assert_eq!((self.status, self.body["code"].as_str()), (status, Some(code)), "{}", self.body);
        self.body.get("details").and_then(|d| d.get(0)).unwrap_or(&Value::Null)
    }
}

/// Runs one statement on the app's database, behind credd's back (a test's own SQL,
/// made from ids it holds, never from input).
pub async fn tamper(app: &TestApp, sql: &str) {
    let url = &app.args.database.database_url;
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

/// `credd serve` as a process on the test app's database and data folder, with `env`
/// set, its output (stdout and stderr) going to a file.
pub struct Server {
    child: std::process::Child,
    pub base: String,
    log: tempfile::NamedTempFile,
}

impl Server {
    pub fn start(app: &TestApp, env: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_credd"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--public-url", "https://credd.test"])
            .arg("--database-url")
            .arg(&app.args.database.database_url)
            .arg("--data-dir")
            .arg(&app.args.data_dir)
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let mut server = Server { child, base: format!("http://127.0.0.1:{port}"), log };
        let mut tries = 0;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            tries += 1;
            let exited = server.child.try_wait().unwrap();
            assert!(exited.is_none() && tries < 600, "credd serve did not start ({exited:?}):\n{}", server.output());
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        server
    }

    fn output(&mut self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap()
    }

    /// Stops the server as an operator would (SIGTERM) and returns everything it wrote.
    pub fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        self.child.wait().unwrap();
        self.output()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Never leave a server behind a failed test; a stopped one has exited already.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `(method, route)` of every operation credd serves: the router and the OpenAPI
/// document are split from one route list, so the document names them all.
pub fn served_operations() -> Vec<(String, String)> {
    let document = credd::http::openapi::document();
    let mut served = Vec::new();
    for (route, item) in &document.paths.paths {
        let methods = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, operation) in methods {
            if operation.is_some() {
                served.push((method.to_owned(), route.clone()));
            }
        }
    }
    served
}
