//! Secrets at rest and in logs. One walk through every kind of secret credd handles
//! (client secrets, access tokens, OTPs, a TOTP secret, the pairing challenge and
//! request, a wallet token, claim data and the signed credential), then: the database
//! files hold none of them in plaintext, and the real server's log at TRACE level
//! shows none of them.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use credd::wallet_client;
use serde_json::json;

use crate::helpers::{Server, TestApp};
use crate::on_both_backends;
use crate::user_credentials::{self, contains, database_contents};

on_both_backends!(secrets_rest_only_as_keyed_hashes_or_sealed, secrets_appear_in_no_log_line);

struct Secret {
    what: &'static str,
    value: String,
    /// credd keeps it readable by design (the wallet app reads the pairing request).
    kept: bool,
}

/// What the walk left behind, to look for.
struct Walk {
    secrets: Vec<Secret>,
    env: String,
    user_id: String,
    wallet_id: String,
    /// A device whose code is still pending, and that code.
    pending_device: String,
    pending_code: String,
}

fn strip(url: &str) -> &str {
    url.strip_prefix("https://credd.test").unwrap()
}

/// Handles one of every kind of secret, through `app`'s client, so the same walk runs
/// in process and against a running server.
async fn walk(app: &TestApp) -> Walk {
    let s = user_credentials::setup(app).await;
    let mut secrets = Vec::new();
    let mut secret = |what, value: &str| secrets.push(Secret { what, value: value.to_owned(), kept: false });
    secret("the administrator's client secret", &app.admin.client_secret);
    secret("the administrator's access token", &s.token);

    // A worker that authenticates in the form body, with its secret replaced.
    let worker = json!({ "name": "w", "type": "WORKER", "tokenEndpointAuthMethod": "CLIENT_SECRET_POST" });
    let (worker_id, first) = app.create_worker(&s.token, &s.env, worker).await;
    let applications = format!("/v1/environments/{}/applications", s.env);
    let rotated = app.post(&format!("{applications}/{worker_id}/secret")).bearer(&s.token).send().await.body["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let token_url = format!("/{}/as/token", s.env);
    let form = |secret: &str, extra: &str| format!("client_id={worker_id}&client_secret={secret}&{extra}");
    let refused = app.post(&token_url).form(&form(&first, "grant_type=client_credentials")).send().await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let worker_token =
        app.post(&token_url).form(&form(&rotated, "grant_type=client_credentials")).send().await.body["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
    let exchange = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange\
        &subject_token_type=urn%3Acredd%3Aparams%3Aoauth%3Atoken-type%3Auser-id&scope=p1%3Acreate%3Adevice";
    let exchange = format!("{exchange}&subject_token={}", s.user_id);
    let user_token = app.post(&token_url).form(&form(&rotated, &exchange)).send().await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    secret("a client secret", &first);
    secret("a replaced client secret", &rotated);
    secret("a worker's access token", &worker_token);
    secret("a user's access token", &user_token);

    // Ten-digit codes, so no other digits in a log or a file match one by chance.
    let ten_digits = json!({ "otp": { "otpLength": 10 } });
    let policy = app
        .post(&format!("/v1/environments/{}/deviceAuthenticationPolicies", s.env))
        .bearer(&worker_token)
        .json(crate::mfa_policies::policy("Ten digits", json!({ "email": ten_digits, "sms": ten_digits })))
        .send()
        .await
        .body["id"]
        .clone();
    let devices = format!("/v1/environments/{}/users/{}/devices", s.env, s.user_id);
    let device = |token: &str, body: serde_json::Value| {
        let request = app.post(&devices).bearer(token).json(body);
        async move {
            let created = request.send().await;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
            created.body
        }
    };
    let email =
        device(&user_token, json!({ "type": "EMAIL", "email": "ada@example.com", "policy": { "id": policy } })).await;
    let (code, _) = app.sent_code(&worker_token, &s.env, "ada@example.com").await;
    let activate = |code: String| {
        let path = strip(email["_links"]["activate"]["href"].as_str().unwrap()).to_owned();
        let body = json!({ "otp": code }).to_string();
        app.post(&path).bearer(&user_token).raw("application/vnd.pingidentity.device.activate+json", body).send()
    };
    let wrong: String = code.chars().rev().collect();
    assert_eq!(activate(if wrong == code { "0".repeat(10) } else { wrong }).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(activate(code.clone()).await.body["status"], "ACTIVE");
    let sms = device(&user_token, json!({ "type": "SMS", "phone": "+15125550100", "policy": { "id": policy } })).await;
    let (pending_code, _) = app.sent_code(&worker_token, &s.env, "+1.5125550100").await;
    let totp = device(&worker_token, json!({ "type": "TOTP", "policy": { "id": policy } })).await;
    secret("a one-time passcode", &code);
    secret("a pending one-time passcode", &pending_code);
    secret("a TOTP secret", totp["secret"].as_str().unwrap());

    // A wallet, paired from its emailed link, and a credential with claim data in it.
    let wallet_app = app.create_wallet_application(&worker_token, &s.env).await;
    let wallet = app
        .create_wallet(
            &worker_token,
            &s.env,
            &s.user_id,
            json!({ "digitalWalletApplication": { "id": wallet_app }, "notification": { "methods": ["EMAIL"] } }),
        )
        .await;
    let qr_url = wallet["pairingSession"]["qrUrl"].as_str().unwrap();
    let paired = wallet_client::pair(app, qr_url, "phone").await.unwrap();
    let marker = format!("Gold-{}", uuid::Uuid::new_v4().simple());
    let created = app
        .post(&user_credentials::credentials_path(&s))
        .bearer(&worker_token)
        .json(json!({ "credentialType": { "id": s.type_id }, "data": { "Level": marker } }))
        .send()
        .await;
    let credential = format!("{}/{}", user_credentials::credentials_path(&s), created.body["id"].as_str().unwrap());
    // In process the jobs run here; a server's own worker runs them there.
    let mut checks = 0;
    while app.get(&credential).bearer(&worker_token).send().await.body["status"] != "ISSUED" {
        checks += 1;
        assert!(checks < 600, "the credential was never delivered");
        app.run_jobs().await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let offers = wallet_client::credentials(app, &paired).await.unwrap();
    wallet_client::act(app, &paired, offers[0]["id"].as_str().unwrap(), "ACCEPT").await.unwrap();
    secret("the wallet's access token", &paired.access_token);
    secret("claim data", &marker);
    secret("the signed credential", offers[0]["credentialJwt"].as_str().unwrap());
    // The link's id: credd derives it again when it is shown, and keeps only a keyed
    // hash of it.
    secret("the pairing request id", qr_url.rsplit('/').next().unwrap());
    // Its URL answers the challenge to anyone who has it.
    secrets.push(Secret {
        what: "the pairing challenge",
        value: wallet["pairingSession"]["challenge"].as_str().unwrap().to_owned(),
        kept: true,
    });

    Walk {
        secrets,
        env: s.env,
        user_id: s.user_id,
        wallet_id: paired.wallet_id,
        pending_device: sms["id"].as_str().unwrap().to_owned(),
        pending_code,
    }
}

async fn secrets_rest_only_as_keyed_hashes_or_sealed(app: &TestApp) {
    let walk = walk(app).await;
    let stored = database_contents(app).await;
    assert!(contains(&stored, &walk.wallet_id) && contains(&stored, "ada@example.com"), "the search sees plain data");
    // The environment's public signing key rests as raw bytes (a BYTEA column on
    // Postgres, which read as text would show only as hex): the search must see its
    // modulus.
    let jwks = app.get(&format!("/{}/as/jwks", walk.env)).send().await;
    let public_key = URL_SAFE_NO_PAD.decode(jwks.body["keys"][0]["n"].as_str().unwrap()).unwrap();
    assert!(stored.windows(public_key.len()).any(|w| w == public_key), "the search sees raw binary columns");
    for secret in walk.secrets.iter().filter(|s| !s.kept) {
        assert!(!contains(&stored, &secret.value), "{} rests in plaintext", secret.what);
    }
    // Kept as keyed hashes: what the store holds verifies the secret.
    use credd::service::{mfa::OTP, wallets::WALLET_TOKEN};
    use domain::store::{MfaStore, WalletStore};
    let (store, key) = (&app.state.credd.store, &app.state.credd.master_key);
    let (env, user) = (walk.env.parse().unwrap(), walk.user_id.parse().unwrap());
    let wallet = store.wallet_by_id(walk.wallet_id.parse().unwrap()).await.unwrap();
    let token = &walk.secrets.iter().find(|s| s.what == "the wallet's access token").unwrap().value;
    assert!(key.verify_secret(WALLET_TOKEN, token, wallet.token_hash.as_deref().unwrap()));
    let device = store.device(env, user, walk.pending_device.parse().unwrap()).await.unwrap();
    assert!(key.verify_secret(OTP, &walk.pending_code, device.otp_hash.as_deref().unwrap()));
}

async fn secrets_appear_in_no_log_line(app: &TestApp) {
    let server = Server::start(app, &[("CREDD_LOG", "trace")]);
    let walk = walk(&app.over_http(&server.base)).await;
    let output = server.stop();
    let master_key = std::fs::read_to_string(app.args.data_dir.join("master.key")).unwrap();

    // The capture holds the server's own lines at every level, so the search can fail.
    let users_path = format!("/v1/environments/{}/users", walk.env);
    for expected in ["TRACE", "DEBUG", " INFO ", users_path.as_str(), "deliver_credential", "credd stopped"] {
        assert!(output.contains(expected), "the log has {expected:?}:\n{output}");
    }
    let leaks: Vec<String> = walk
        .secrets
        .iter()
        .chain([&Secret { what: "the master key", value: master_key.trim().to_owned(), kept: false }])
        .filter_map(|secret| {
            let lines: Vec<&str> = output.lines().filter(|line| line.contains(&secret.value)).collect();
            (!lines.is_empty()).then(|| format!("{} in:\n{}", secret.what, lines.join("\n")))
        })
        .collect();
    assert!(leaks.is_empty(), "secrets in the log:\n{}", leaks.join("\n"));
}
