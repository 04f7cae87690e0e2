//! The staging console at `/console`, in a real browser: Debian's headless Chromium,
//! driven through chromedriver (packages `chromium` and `chromium-driver`, which
//! scripts/test installs), signs in through the page's form with a worker's credentials
//! and is checked for what a person would see. Its screenshot is kept under `target/`
//! for people to look at, and the pairing QR code is decoded out of it.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::http::{StatusCode, header};
use credd::wallet_client;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::helpers::{Server, TestApp};
use crate::isolation;
use crate::on_both_backends;

on_both_backends!(
    a_person_signs_in_and_sees_the_environment,
    the_console_is_static_and_loads_only_from_credd,
    bidirectional_controls_in_a_name_cannot_reorder_the_console,
);

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A worker's client credentials, as a person types them into the sign-in form.
struct SignIn {
    environment_id: String,
    client_id: String,
    client_secret: String,
}

/// What the page must show, read from the API before the browser starts.
struct Expected {
    worker: SignIn,
    administrator: SignIn,
    username: String,
    population: String,
    /// The groups the user is in, each with how (`DIRECT`, `INDIRECT`).
    groups: Vec<(String, &'static str, &'static str)>,
    paired_wallet: String,
    pending_wallet: String,
    qr_url: String,
    pairing_link: String,
    credential: String,
    device: String,
    device_code: String,
}

async fn a_person_signs_in_and_sees_the_environment(app: &TestApp) {
    let tenant = isolation::tenant(app).await;
    // A worker for the sign-in that uses client_secret_post: the page tries
    // client_secret_basic first, is refused, and sends the form instead.
    let worker = json!({ "name": "console", "type": "WORKER", "tokenEndpointAuthMethod": "CLIENT_SECRET_POST" });
    let (client_id, client_secret) = app.create_worker(&tenant.token, &tenant.env, worker).await;
    // The owner's wallet accepts the credential delivered to it: its copy has an action.
    let offers = wallet_client::credentials(app, &tenant.wallet).await.unwrap();
    wallet_client::act(app, &tenant.wallet, offers[0]["id"].as_str().unwrap(), "ACCEPT").await.unwrap();
    let user = format!("/v1/environments/{}/users/{}", tenant.env, tenant.ids["user_id"]);
    let pending_path = format!("{user}/digitalWallets/{}", tenant.ids["pending_wallet_id"]);
    let pending = app.get(&pending_path).bearer(&tenant.token).send().await.body;
    let (device_code, _) = app.sent_code(&tenant.token, &tenant.env, "ada@example.com").await;
    let administrator = SignIn {
        environment_id: app.admin.environment_id.to_string(),
        client_id: app.admin.client_id.to_string(),
        client_secret: app.admin.client_secret.clone(),
    };
    let expected = Expected {
        worker: SignIn { environment_id: tenant.env.clone(), client_id, client_secret },
        administrator,
        username: "ada".into(),
        population: "Default".into(),
        groups: vec![
            (tenant.ids["group_id"].clone(), "Staff", "DIRECT"),
            (tenant.ids["nested_group_id"].clone(), "Everyone", "INDIRECT"),
        ],
        paired_wallet: tenant.wallet.wallet_id.clone(),
        pending_wallet: tenant.ids["pending_wallet_id"].clone(),
        qr_url: pending["pairingSession"]["qrUrl"].as_str().unwrap().into(),
        pairing_link: pending["_links"]["appOpen"]["href"].as_str().unwrap().into(),
        credential: tenant.ids["credential_id"].clone(),
        device: tenant.ids["device_id"].clone(),
        device_code,
    };

    let server = Server::start(app, &[]);
    let chromedriver = Chromedriver::start();
    let browser = chromedriver.session().await;
    // The checks run in their own task so that the browser is closed whatever they find.
    let checks = tokio::spawn(look_at_the_console(browser.clone(), format!("{}/console", server.base), expected));
    let outcome = checks.await;
    browser.close().await.expect("the browser closes");
    drop(chromedriver);
    let screenshot = outcome.unwrap_or_else(|failed| std::panic::resume_unwind(failed.into_panic()));

    let backend = app.args.database.database_url.split(':').next().unwrap().to_owned();
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join(format!("console-{backend}.png"));
    std::fs::write(&target, &screenshot.png).unwrap();
    assert_eq!(
        qr_codes_in(&screenshot.png),
        [screenshot.qr_url],
        "the screenshot ({}) shows one QR code, of the waiting wallet's qrUrl",
        target.display()
    );
}

/// A username with a right-to-left override (U+202E), which would show
/// `evil\u{202E}gpj.exe` as "evilexe.jpg": the console shows the control as a marker
/// and every character in the order it is spelled.
async fn bidirectional_controls_in_a_name_cannot_reorder_the_console(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Bidi").await;
    let user = app.create_user(&admin, &env, json!({ "username": "evil\u{202E}gpj.exe" })).await;
    let (client_id, client_secret) =
        app.create_worker(&admin, &env, json!({ "name": "console", "type": "WORKER" })).await;
    let worker = SignIn { environment_id: env, client_id, client_secret };
    let username = format!("[data-user-id='{}'] .username", user["id"].as_str().unwrap());

    let server = Server::start(app, &[]);
    let chromedriver = Chromedriver::start();
    let browser = chromedriver.session().await;
    let url = format!("{}/console", server.base);
    let checks = tokio::spawn({
        let browser = browser.clone();
        async move {
            browser.goto(&url).await.expect("the console opens");
            sign_in(&browser, &worker).await;
            let shown = text(&browser, &username).await;
            let lefts = browser.execute(CHARACTER_LEFTS, vec![json!(username)]).await.unwrap();
            (shown, lefts)
        }
    });
    let outcome = checks.await;
    browser.close().await.expect("the browser closes");
    drop(chromedriver);
    let (shown, lefts) = outcome.unwrap_or_else(|failed| std::panic::resume_unwind(failed.into_panic()));

    assert_eq!(shown, "evil⟨U+202E⟩gpj.exe");
    let lefts: Vec<f64> = lefts.as_array().unwrap().iter().filter_map(|x| x.as_f64()).collect();
    assert_eq!(lefts.len(), shown.chars().count(), "every character is drawn");
    assert!(lefts.windows(2).all(|pair| pair[0] < pair[1]), "drawn left to right as spelled: {lefts:?}");
}

/// The left edge on screen of each character of the element `arguments[0]` names, in
/// the order they are spelled (null for one drawn with no width, as a control is).
const CHARACTER_LEFTS: &str = r#"
    const root = document.querySelector(arguments[0]);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const lefts = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.length; i++) {
            const range = document.createRange();
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const box = range.getBoundingClientRect();
            lefts.push(box.width > 0 ? box.left : null);
        }
    }
    return lefts;
"#;

struct Screenshot {
    png: Vec<u8>,
    qr_url: String,
}

async fn look_at_the_console(browser: Client, url: String, expected: Expected) -> Screenshot {
    browser.goto(&url).await.expect("the console opens");
    sign_in(&browser, &expected.worker).await;
    // A worker of one environment sees that one.
    assert_eq!(options(&browser).await, std::slice::from_ref(&expected.worker.environment_id));

    assert_eq!(text(&browser, "article.user .username").await, expected.username);
    assert_eq!(text(&browser, "article.user .population").await, expected.population);
    for (group, name, how) in &expected.groups {
        let shown = text(&browser, &format!("[data-group-id='{group}']")).await;
        assert!(shown.contains(name) && shown.contains(how), "the user's groups show {name} ({how}): {shown}");
    }
    let wallet = |id: &str| format!("[data-wallet-id='{id}']");
    assert_eq!(text(&browser, &format!("{} .badge", wallet(&expected.paired_wallet))).await, "ACTIVE");
    let pending = wallet(&expected.pending_wallet);
    assert_eq!(text(&browser, &format!("{pending} .badge")).await, "PAIRING_REQUIRED");
    assert_eq!(href(&browser, &format!("{pending} a.pairing-link")).await, expected.pairing_link);
    assert!(text(&browser, &pending).await.contains(&expected.qr_url), "the wallet shows its qrUrl");

    let credential = format!("[data-credential-id='{}']", expected.credential);
    assert_eq!(text(&browser, &format!("{credential} > .line .badge")).await, "ISSUED");
    let copy = format!("{credential} tr[data-status=ACCEPTED]");
    assert!(text(&browser, &copy).await.contains("CREDENTIAL_ACCEPTED"), "the copy shows the wallet's action");

    let device = text(&browser, &format!("[data-device-id='{}']", expected.device)).await;
    for shown in ["ACTIVATION_REQUIRED", "EMAIL", "ada@example.com"] {
        assert!(device.contains(shown), "the device shows {shown}: {device}");
    }

    // The pairing email with its link clickable, and the activation code marked.
    let links = browser.find_all(Locator::Css("#notifications a.message-link")).await.unwrap();
    let mut hrefs = Vec::new();
    for link in links {
        hrefs.push(link.attr("href").await.unwrap().unwrap_or_default());
    }
    assert!(hrefs.contains(&expected.pairing_link), "the pairing email's link: {hrefs:?}");
    let codes = browser.find_all(Locator::Css("#notifications mark.code")).await.unwrap();
    let mut marked = Vec::new();
    for code in codes {
        marked.push(code.text().await.unwrap());
    }
    assert!(marked.contains(&expected.device_code), "the activation code {}: {marked:?}", expected.device_code);

    let png = browser.screenshot().await.unwrap();

    // The administrator sees every environment, the newest picked first.
    browser.find(Locator::Id("sign-out")).await.unwrap().click().await.unwrap();
    sign_in(&browser, &expected.administrator).await;
    let every = [&expected.administrator.environment_id, &expected.worker.environment_id];
    assert_eq!(options(&browser).await, every.map(String::clone));
    let picker = browser.find(Locator::Id("environment-picker")).await.unwrap();
    assert_eq!(picker.prop("value").await.unwrap(), Some(expected.worker.environment_id));
    assert_eq!(text(&browser, "article.user .username").await, expected.username);

    Screenshot { png, qr_url: expected.qr_url }
}

/// Fills in and sends the sign-in form, and waits until the page has shown everything
/// (its QR images decoded) or said why not.
async fn sign_in(browser: &Client, credentials: &SignIn) {
    for (field, value) in [
        ("environment-id", &credentials.environment_id),
        ("client-id", &credentials.client_id),
        ("client-secret", &credentials.client_secret),
    ] {
        let input = browser.find(Locator::Id(field)).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }
    browser.find(Locator::Id("sign-in-button")).await.unwrap().click().await.unwrap();
    let settled = "body[data-state=loaded], body[data-state=error], #sign-in-error:not([hidden])";
    browser.wait().at_most(Duration::from_secs(120)).for_element(Locator::Css(settled)).await.unwrap();
    let state = browser.find(Locator::Css("body")).await.unwrap().attr("data-state").await.unwrap();
    let errors = text(browser, "#sign-in-error").await + &text(browser, "#console-error").await;
    assert_eq!(state.as_deref(), Some("loaded"), "the console loaded: {errors}");
}

/// The environments the picker offers, by id.
async fn options(browser: &Client) -> Vec<String> {
    let mut ids = Vec::new();
    for option in browser.find_all(Locator::Css("#environment-picker option")).await.unwrap() {
        ids.push(option.attr("value").await.unwrap().unwrap_or_default());
    }
    ids
}

async fn text(browser: &Client, css: &str) -> String {
    let element = browser.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("the page shows {css}: {e}"));
    element.text().await.unwrap()
}

async fn href(browser: &Client, css: &str) -> String {
    let element = browser.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("the page shows {css}: {e}"));
    element.attr("href").await.unwrap().unwrap_or_default()
}

/// The contents of every QR code found in a PNG.
fn qr_codes_in(png: &[u8]) -> Vec<String> {
    let image = image::load_from_memory_with_format(png, image::ImageFormat::Png).unwrap().to_luma8();
    let (width, height) = image.dimensions();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(width as usize, height as usize, |x, y| {
        image.get_pixel(x as u32, y as u32).0[0]
    });
    prepared.detect_grids().into_iter().map(|grid| grid.decode().expect("a readable QR code").1).collect()
}

/// chromedriver on a free port of this machine, stopped when dropped.
struct Chromedriver {
    process: Child,
    url: String,
}

impl Chromedriver {
    fn start() -> Self {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(program).exists(),
                "{program} is missing: the console test needs Debian's headless Chromium; install it with \
                 `apt-get install -y chromium chromium-driver` (scripts/test does)"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut driver = Chromedriver { process, url: format!("http://127.0.0.1:{port}") };
        let mut tries = 0;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            tries += 1;
            let exited = driver.process.try_wait().unwrap();
            assert!(exited.is_none() && tries < 600, "chromedriver did not start ({exited:?})");
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    /// A headless Chromium with a tall window, so the whole console fits one screenshot.
    async fn session(&self) -> Client {
        let options = json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,2000", "--force-device-scale-factor=1"],
        });
        let capabilities = serde_json::Map::from_iter([("goog:chromeOptions".to_owned(), options)]);
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("chromedriver opens a Chromium session")
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

async fn the_console_is_static_and_loads_only_from_credd(app: &TestApp) {
    for (path, media) in
        [("/console", "text/html"), ("/console/console.js", "text/javascript"), ("/console/console.css", "text/css")]
    {
        let response = app.get(path).send().await;
        assert_eq!(response.status, StatusCode::OK, "{path} needs no token");
        let content_type = response.headers[header::CONTENT_TYPE].to_str().unwrap();
        assert!(content_type.starts_with(media), "{path}: {content_type}");
        let policy = response.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        for directive in ["default-src 'none'", "script-src 'self';", "connect-src 'self';", "frame-ancestors 'none'"] {
            assert!(policy.contains(directive), "{path}: {policy}");
        }
        assert!(!policy.contains("unsafe"), "{path}: {policy}");
        assert_eq!(response.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let body = response.body.as_str().unwrap();
        for elsewhere in ["http://", "https://", "//cdn", "@import"] {
            assert!(!body.contains(elsewhere), "{path} refers to {elsewhere}");
        }
    }
    let page = app.get("/console").send().await.body;
    let page = page.as_str().unwrap();
    assert!(page.contains(r#"<script src="console/console.js" defer></script>"#), "the script is the page's own");
    assert_eq!(page.matches("<script").count(), 1, "no inline script");
    assert!(!page.contains("<style"), "no inline style");
}
