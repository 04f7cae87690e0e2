//! `loadgen setup`: seeds a running credd through its API, as a client would, and
//! saves what the scenarios need (the context). Pairing goes through credd's own wallet
//! simulator (`credd wallet pair`) with the link the worker put in the outbox.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::http::{Conn, Req, Target, bearer, form_encode};
use crate::scenarios::{CREDENTIAL_FIELD, Context, Holder};

pub struct SetupArgs {
    pub target: Target,
    pub credd_bin: PathBuf,
    pub work_dir: PathBuf,
    pub admin_environment_id: String,
    pub admin_client_id: String,
    pub admin_client_secret: String,
}

struct Api {
    conn: Conn,
}

impl Api {
    /// Sends `req` and wants `status`; the error names the request and the answer.
    async fn expect(&mut self, req: Req, status: u16) -> Result<Value, String> {
        let answer = self.conn.send(&req).await?;
        if answer.status != status {
            return Err(format!(
                "{} {} answered {} (wanted {status}): {}",
                req.method,
                req.path,
                answer.status,
                answer.text()
            ));
        }
        Ok(answer.json())
    }
}

fn id_of(value: &Value) -> Result<String, String> {
    value["id"].as_str().map(str::to_owned).ok_or_else(|| format!("no id in {value}"))
}

/// Creates a wallet for `user_id` with an email, waits for the worker to send it, and
/// pairs it with `credd wallet pair` from the emailed link.
async fn pair_wallet(
    api: &mut Api,
    args: &SetupArgs,
    auth: &Arc<str>,
    environment_id: &str,
    application_id: &str,
    user_id: &str,
    file: &Path,
) -> Result<Holder, String> {
    let env = format!("/v1/environments/{environment_id}");
    let body =
        json!({ "digitalWalletApplication": { "id": application_id }, "notification": { "methods": ["EMAIL"] } });
    let wallet = api
        .expect(Req::post_json(format!("{env}/users/{user_id}/digitalWallets"), Some(auth.clone()), &body), 201)
        .await?;
    let wallet_id = id_of(&wallet)?;
    let filter = form_encode(&format!("user.id eq \"{user_id}\""));
    let mut link = None;
    for _ in 0..200 {
        let sent =
            api.expect(Req::get(format!("{env}/notifications?filter={filter}"), Some(auth.clone())), 200).await?;
        let first = &sent["_embedded"]["notifications"][0];
        if first["status"] == "SENT" {
            let body = first["body"].as_str().unwrap_or_default();
            link =
                body.split_whitespace().find(|w| w.starts_with("https://wallet.bench.example?u=")).map(str::to_owned);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let link = link.ok_or("the worker did not send the pairing email with its link")?;
    let output = tokio::process::Command::new(&args.credd_bin)
        .args(["wallet", "pair", &link, "--file"])
        .arg(file)
        .output()
        .await
        .map_err(|e| format!("cannot run {}: {e}", args.credd_bin.display()))?;
    if !output.status.success() {
        return Err(format!("credd wallet pair failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let paired = api
        .expect(Req::get(format!("{env}/users/{user_id}/digitalWallets/{wallet_id}"), Some(auth.clone())), 200)
        .await?;
    if paired["status"] != "ACTIVE" {
        return Err(format!("the paired wallet is {}, not ACTIVE", paired["status"]));
    }
    Ok(Holder { user_id: user_id.to_owned(), wallet_id, wallet_file: file.display().to_string() })
}

pub async fn setup(args: &SetupArgs) -> Result<Context, String> {
    let mut api = Api { conn: Conn::new(args.target.clone()) };
    let basic = STANDARD.encode(format!("{}:{}", args.admin_client_id, args.admin_client_secret));
    let token_path = format!("/{}/as/token", args.admin_environment_id);
    let admin = api
        .expect(
            Req::post_form(token_path, Some(format!("Basic {basic}").into()), &[("grant_type", "client_credentials")]),
            200,
        )
        .await?;
    let admin = bearer(admin["access_token"].as_str().ok_or("no access_token")?);

    let environment = api
        .expect(Req::post_json("/v1/environments".into(), Some(admin.clone()), &json!({ "name": "Bench" })), 201)
        .await?;
    let environment_id = id_of(&environment)?;
    let env = format!("/v1/environments/{environment_id}");

    // The environment's own worker: every scenario acts as it.
    let worker = api
        .expect(
            Req::post_json(
                format!("{env}/applications"),
                Some(admin),
                &json!({ "name": "bench", "type": "WORKER", "tokenEndpointAuthMethod": "CLIENT_SECRET_POST" }),
            ),
            201,
        )
        .await?;
    let client_id = id_of(&worker)?;
    let client_secret = worker["secret"].as_str().ok_or("the worker's answer has no secret")?.to_owned();
    let token = api
        .expect(
            Req::post_form(
                format!("/{environment_id}/as/token"),
                None,
                &[("grant_type", "client_credentials"), ("client_id", &client_id), ("client_secret", &client_secret)],
            ),
            200,
        )
        .await?;
    let token = token["access_token"].as_str().ok_or("no access_token")?.to_owned();
    let auth = bearer(&token);

    let mut users = Vec::new();
    for name in ["holder", "delivery", "creator", "bulk"] {
        let body = json!({ "username": name, "email": format!("{name}@bench.example"), "name": { "given": name } });
        users.push(id_of(&api.expect(Req::post_json(format!("{env}/users"), Some(auth.clone()), &body), 201).await?)?);
    }

    // A wallet app names a native application with a bundle id or a package name.
    let native = api
        .expect(
            Req::post_json(
                format!("{env}/applications"),
                Some(auth.clone()),
                &json!({
                    "name": "Bench Wallet", "type": "NATIVE_APP", "protocol": "OPENID_CONNECT",
                    "grantTypes": ["AUTHORIZATION_CODE"], "responseTypes": ["CODE"],
                    "redirectUris": ["com.bench.wallet:/callback"], "tokenEndpointAuthMethod": "NONE",
                    "mobile": { "bundleId": "com.bench.wallet" },
                }),
            ),
            201,
        )
        .await?;
    let application = api
        .expect(
            Req::post_json(
                format!("{env}/digitalWalletApplications"),
                Some(auth.clone()),
                &json!({
                    "name": "Bench Wallet",
                    "application": { "id": id_of(&native)? },
                    "appOpenUrl": "https://wallet.bench.example",
                }),
            ),
            201,
        )
        .await?;
    let wallet_application_id = id_of(&application)?;
    let holder = pair_wallet(
        &mut api,
        args,
        &auth,
        &environment_id,
        &wallet_application_id,
        &users[0],
        &args.work_dir.join("holder-wallet.json"),
    )
    .await?;
    let delivery_holder = pair_wallet(
        &mut api,
        args,
        &auth,
        &environment_id,
        &wallet_application_id,
        &users[1],
        &args.work_dir.join("delivery-wallet.json"),
    )
    .await?;

    let credential_type = api
        .expect(
            Req::post_json(
                format!("{env}/credentialTypes"),
                Some(auth.clone()),
                &json!({
                    "title": "Bench Membership",
                    "management": { "mode": "MANAGED" },
                    "metadata": { "fields": [{
                        "id": format!("Alphanumeric Text -> {CREDENTIAL_FIELD}"),
                        "type": "Alphanumeric Text",
                        "title": CREDENTIAL_FIELD,
                        "required": true,
                    }] },
                }),
            ),
            201,
        )
        .await?;

    let policies = api.expect(Req::get(format!("{env}/deviceAuthenticationPolicies"), Some(auth.clone())), 200).await?;
    let policy_id = policies["_embedded"]["deviceAuthenticationPolicies"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["default"] == true))
        .map(id_of)
        .ok_or("the environment has no default device authentication policy")??;
    // The most devices a user may have, so the device scenario needs fewer users.
    api.expect(
        Req::put_json(
            format!("{env}/mfaSettings"),
            Some(auth.clone()),
            &json!({ "pairing": { "maxAllowedDevices": 15 } }),
        ),
        200,
    )
    .await?;

    Ok(Context {
        environment_id,
        client_id,
        client_secret,
        token,
        wallet_application_id,
        credential_type_id: id_of(&credential_type)?,
        policy_id,
        holder,
        delivery_holder,
        creator_user_id: users[2].clone(),
        bulk_user_id: users[3].clone(),
    })
}

/// The wallet id in the simulator's file.
pub fn wallet_id(wallet_file: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(wallet_file).map_err(|e| format!("{}: {e}", wallet_file.display()))?;
    let wallet: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", wallet_file.display()))?;
    wallet["walletId"].as_str().map(str::to_owned).ok_or_else(|| format!("{}: no walletId", wallet_file.display()))
}

/// The number of credentials in the wallet's mailbox (wallet-facing API, with the
/// token the simulator saved).
pub async fn mailbox_size(target: &Target, wallet_file: &Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(wallet_file).map_err(|e| format!("{}: {e}", wallet_file.display()))?;
    let wallet: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", wallet_file.display()))?;
    let (id, token) =
        (wallet["walletId"].as_str().unwrap_or_default(), wallet["accessToken"].as_str().unwrap_or_default());
    let mut conn = Conn::new(target.clone());
    // The mailbox comes a page at a time: follow `_links.next`, the largest pages.
    let (mut size, mut next) = (0, Some(format!("/v1/distributedid/wallets/{id}/credentials?limit=1000")));
    while let Some(path) = next {
        let answer = conn.send(&Req::get(path, Some(bearer(token)))).await?;
        if !answer.is_success() {
            return Err(format!("the mailbox answered {}: {}", answer.status, answer.text()));
        }
        let page: Value = serde_json::from_slice(&answer.body).map_err(|e| format!("the mailbox answer: {e}"))?;
        size += page["size"].as_u64().ok_or("the mailbox answer has no size")?;
        next = match page["_links"]["next"]["href"].as_str() {
            Some(href) => Some(href.find("/v1/").map(|at| href[at..].to_owned()).ok_or("a next link with no path")?),
            None => None,
        };
    }
    Ok(size)
}
