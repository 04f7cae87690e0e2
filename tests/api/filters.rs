//! Every list takes the SCIM filters it documents, evaluated with paging intact, and
//! refuses any other filter or query parameter with `INVALID_FILTER` naming what it
//! supports, instead of answering everything.

use axum::http::StatusCode;
use credd::wallet_client;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::mfa_policies::policy;
use crate::on_both_backends;
use crate::user_credentials::{credentials_path, setup};

on_both_backends!(
    every_list_narrows_by_a_supported_filter_and_refuses_others,
    a_filtered_list_is_followed_to_its_end_by_next,
    parameters_a_list_does_not_take_are_refused,
);

fn with_filter(path: &str, filter: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    let joiner = if path.contains('?') { '&' } else { '?' };
    format!("{path}{joiner}filter={encoded}")
}

/// The ids a list answers for `filter`, in order.
async fn ids(app: &TestApp, token: &str, path: &str, embedded: &str, filter: &str) -> Vec<String> {
    let response = app.get(&with_filter(path, filter)).bearer(token).send().await;
    assert_eq!(response.status, StatusCode::OK, "{path} {filter}: {}", response.body);
    let items = response.body["_embedded"][embedded].as_array().unwrap_or_else(|| panic!("{}", response.body));
    items.iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect()
}

/// Asserts `filter` is refused with PingOne's `INVALID_FILTER` and what the list supports.
async fn assert_refused(app: &TestApp, token: &str, path: &str, filter: &str, supported: &[&str]) {
    let response = app.get(&with_filter(path, filter)).bearer(token).send().await;
    response.assert_pingone_error();
    let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!(
        (detail["code"].as_str(), detail["target"].as_str()),
        (Some("INVALID_FILTER"), Some("filter")),
        "{path}"
    );
    assert_eq!(detail["innerError"]["supportedAttributes"], json!(supported), "{path}: {detail}");
}

fn id(body: &Value) -> String {
    body["id"].as_str().unwrap().to_owned()
}

async fn created(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let response = app.post(path).bearer(token).json(body).send().await;
    assert_eq!(response.status, StatusCode::CREATED, "{path}: {}", response.body);
    response.body
}

async fn every_list_narrows_by_a_supported_filter_and_refuses_others(app: &TestApp) {
    // Ada, with a MANAGED type "Membership", in an environment named "Issuer".
    let s = setup(app).await;
    let (token, env) = (&s.token, &s.env);
    let base = format!("/v1/environments/{env}");

    // Environments: PingOne documents `id eq` and `name sw`, nothing else.
    let other = app.create_environment(token, "Staging").await;
    assert_eq!(ids(app, token, "/v1/environments", "environments", r#"name sw "Iss""#).await, [env.as_str()]);
    assert_eq!(ids(app, token, "/v1/environments", "environments", &format!(r#"id eq "{other}""#)).await, [other]);
    assert_refused(app, token, "/v1/environments", r#"name eq "Issuer""#, &["id", "name"]).await;

    // Users.
    let users = format!("{base}/users");
    let adele = id(&app.create_user(token, env, json!({ "username": "adele", "email": "adele@example.com" })).await);
    let bob = id(&app.create_user(token, env, json!({ "username": "bob", "name": { "family": "Dylan" } })).await);
    assert_eq!(ids(app, token, &users, "users", r#"username sw "AD""#).await, [s.user_id.as_str(), adele.as_str()]);
    assert_eq!(
        ids(app, token, &users, "users", r#"username sw "ad" and email eq "adele@example.com""#).await,
        [adele.as_str()]
    );
    assert_eq!(
        ids(app, token, &users, "users", r#"name.family eq "dylan" or (username eq "adele")"#).await,
        [adele.as_str(), bob.as_str()]
    );
    let user_attributes =
        ["id", "username", "email", "name.given", "name.family", "population.id", "enabled", "memberOfGroups"];
    assert_refused(app, token, &users, r#"mobilePhone eq "1""#, &user_attributes).await;
    assert_refused(app, token, &users, r#"username co "a""#, &user_attributes).await;

    // Applications.
    let applications = format!("{base}/applications");
    let (beta, _) = app.create_worker(token, env, json!({ "name": "Beta", "type": "WORKER" })).await;
    app.create_worker(token, env, json!({ "name": "Alpha", "type": "WORKER" })).await;
    assert_eq!(ids(app, token, &applications, "applications", r#"name eq "beta""#).await, [beta.as_str()]);
    assert_eq!(ids(app, token, &applications, "applications", r#"name eq "beta" and type eq "worker""#).await, [beta]);
    let native = app.create_native_application(token, env).await;
    assert!(ids(app, token, &applications, "applications", r#"type eq "NATIVE_APP""#).await.contains(&native));
    assert_refused(app, token, &applications, "enabled eq true", &["id", "name", "type"]).await;

    // Wallet applications and wallets.
    let wallet_apps = format!("{base}/digitalWalletApplications");
    let customer = app.create_wallet_application(token, env).await;
    let partner = id(&created(
        app,
        token,
        &wallet_apps,
        json!({ "name": "Partner Wallet", "application": { "id": native }, "appOpenUrl": "https://partner.example.com" }),
    )
    .await);
    assert_eq!(
        ids(app, token, &wallet_apps, "digitalWalletApplications", r#"name sw "partner""#).await,
        [partner.as_str()]
    );
    assert_refused(app, token, &wallet_apps, r#"appOpenUrl eq "x""#, &["name"]).await;
    let wallets = format!("{base}/users/{}/digitalWallets", s.user_id);
    let for_app = |app_id: &str| json!({ "digitalWalletApplication": { "id": app_id } });
    app.create_wallet(token, env, &s.user_id, for_app(&customer)).await;
    let partner_wallet = id(&app.create_wallet(token, env, &s.user_id, for_app(&partner)).await);
    let by_app = format!(r#"digitalWalletApplication.id eq "{partner}""#);
    assert_eq!(ids(app, token, &wallets, "digitalWallets", &by_app).await, [partner_wallet]);
    assert_refused(app, token, &wallets, r#"user.id eq "x""#, &["status", "digitalWalletApplication.id"]).await;
    // A paired wallet, so that credentials with data can be issued.
    let paired_wallet = app.create_wallet(token, env, &s.user_id, for_app(&customer)).await;
    let paired =
        wallet_client::pair(app, paired_wallet["pairingSession"]["qrUrl"].as_str().unwrap(), "phone").await.unwrap();

    // Credential types and user credentials.
    let types = format!("{base}/credentialTypes");
    let badge = id(&created(
        app,
        token,
        &types,
        json!({ "title": "Badge", "management": { "mode": "MANAGED" }, "metadata": { "fields": [
            { "id": "Issued Timestamp -> Issued", "type": "Issued Timestamp", "title": "Issued" },
        ] } }),
    )
    .await);
    assert_eq!(ids(app, token, &types, "items", r#"title eq "badge""#).await, [badge.as_str()]);
    assert_eq!(ids(app, token, &types, "items", r#"management.mode eq "MANAGED""#).await.len(), 2);
    assert_refused(app, token, &types, r#"description eq "x""#, &["title", "management.mode"]).await;
    let credentials = credentials_path(&s);
    created(app, token, &credentials, json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "Gold" } }))
        .await;
    let badge_credential = id(&created(app, token, &credentials, json!({ "credentialType": { "id": badge } })).await);
    let of_type = format!(r#"credentialType.id eq "{badge}""#);
    assert_eq!(ids(app, token, &credentials, "items", &of_type).await, [badge_credential.as_str()]);
    assert_refused(app, token, &credentials, r#"title eq "Badge""#, &["status", "credentialType.id"]).await;

    // Provisioned credentials: the paired wallet holds both.
    app.run_jobs().await;
    let of_credential = format!("{credentials}/{badge_credential}/provisionedCredentials");
    let in_wallet = format!("{wallets}/{}/provisionedCredentials", paired.wallet_id);
    for copies in [&of_credential, &in_wallet] {
        let listed = app.get(copies).bearer(token).send().await.body;
        let status = listed["_embedded"]["provisionedCredentials"][0]["status"].as_str().unwrap().to_owned();
        assert_ne!(status, "REVOKED");
        let all = ids(app, token, copies, "provisionedCredentials", &format!(r#"status eq "{status}""#)).await;
        assert_eq!(all.len(), listed["size"].as_u64().unwrap() as usize, "{copies}");
        assert!(ids(app, token, copies, "provisionedCredentials", r#"status eq "REVOKED""#).await.is_empty());
        assert_refused(app, token, copies, r#"wallet.id eq "x""#, &["status"]).await;
    }
    // The wallet's own mailbox takes no filter.
    let mailbox = app
        .get(&with_filter(
            &format!("/v1/distributedid/wallets/{}/credentials", paired.wallet_id),
            r#"status eq "PENDING""#,
        ))
        .bearer(&paired.access_token)
        .send()
        .await;
    assert_eq!(mailbox.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["code"], "INVALID_FILTER");

    // Devices, device policies, notifications and template contents.
    let policies = format!("{base}/deviceAuthenticationPolicies");
    let strict = id(&created(app, token, &policies, policy("Strict", json!({}))).await);
    assert_eq!(ids(app, token, &policies, "deviceAuthenticationPolicies", "default eq false").await, [strict.as_str()]);
    assert_eq!(ids(app, token, &policies, "deviceAuthenticationPolicies", r#"name sw "str""#).await, [strict]);
    assert_refused(app, token, &policies, "default eq \"true\"", &["name", "default"]).await;
    let default = ids(app, token, &policies, "deviceAuthenticationPolicies", "default eq true").await;
    let default_policy = json!({ "id": default[0] });
    let devices = format!("{base}/users/{bob}/devices");
    let sms =
        json!({ "type": "SMS", "phone": "+1.5125551234", "policy": default_policy, "status": "ACTIVATION_REQUIRED" });
    created(app, token, &devices, sms).await;
    let email = json!({ "type": "EMAIL", "email": "bob@example.com", "policy": default_policy });
    let email = id(&created(app, token, &devices, email).await);
    assert_eq!(ids(app, token, &devices, "devices", r#"type eq "email""#).await, [email]);
    assert_eq!(ids(app, token, &devices, "devices", r#"type eq "PIGEON""#).await, Vec::<String>::new());
    assert_refused(app, token, &devices, r#"nickname eq "x""#, &["status", "type"]).await;
    let notifications = format!("{base}/notifications");
    let sms = ids(app, token, &notifications, "notifications", r#"recipient eq "+1.5125551234""#).await;
    assert_eq!(sms.len(), 1);
    let pairing = r#"template eq "device_pairing" and (recipient eq "+1.5125551234" or recipient eq "x")"#;
    assert_eq!(ids(app, token, &notifications, "notifications", pairing).await, sms);
    assert_refused(app, token, &notifications, r#"status eq "SENT""#, &["user.id", "template", "recipient"]).await;
    let contents = format!("{base}/templates/device_pairing/contents");
    created(app, token, &contents, json!({ "deliveryMethod": "SMS", "locale": "fr", "content": "Code ${otp}" })).await;
    let email_content = id(&created(
        app,
        token,
        &contents,
        json!({ "deliveryMethod": "Email", "locale": "fr", "subject": "Code", "body": "Code ${otp}" }),
    )
    .await);
    assert_eq!(ids(app, token, &contents, "contents", r#"deliveryMethod eq "Email""#).await, [email_content]);
    assert_refused(app, token, &contents, r#"variant eq "x""#, &["locale", "deliveryMethod"]).await;
}

async fn a_filtered_list_is_followed_to_its_end_by_next(app: &TestApp) {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Paging").await;
    let mut expected = Vec::new();
    for i in 0..9 {
        let user =
            app.create_user(&token, &env, json!({ "username": format!("{}{i}", ["ada", "bob", "cy"][i % 3]) })).await;
        if i % 3 != 1 {
            expected.push(id(&user));
        }
    }
    let mut next =
        Some(with_filter(&format!("/v1/environments/{env}/users?limit=2"), r#"username sw "ada" or username sw "cy""#));
    let mut seen = Vec::new();
    while let Some(path) = next {
        let page = app.get(path.strip_prefix("https://credd.test").unwrap_or(&path)).bearer(&token).send().await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let items = page.body["_embedded"]["users"].as_array().unwrap();
        assert_eq!(page.body["size"].as_u64(), Some(items.len() as u64));
        assert_eq!(page.body["count"], 6, "every page counts all the matches, before its cursor too");
        assert!(items.len() == 2 || page.body["_links"]["next"].is_null(), "only the last page may be short");
        seen.extend(items.iter().map(id));
        next = page.body["_links"]["next"]["href"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, expected);

    // Unfiltered, the count is the whole list's, on a later page too.
    let first = app.get(&format!("/v1/environments/{env}/users?limit=4")).bearer(&token).send().await;
    let next = first.body["_links"]["next"]["href"].as_str().unwrap();
    let second = app.get(next.strip_prefix("https://credd.test").unwrap_or(next)).bearer(&token).send().await;
    for page in [&first.body, &second.body] {
        assert_eq!((&page["count"], &page["size"]), (&json!(9), &json!(4)));
    }
}

async fn parameters_a_list_does_not_take_are_refused(app: &TestApp) {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Parameters").await;
    let base = format!("/v1/environments/{env}");
    for (path, parameter) in [
        (format!("{base}/users?sortBy=username"), "sortBy"),
        (format!("{base}/credentialTypes?order=title"), "order"),
        (format!("{base}/deviceAuthenticationPolicies?limit=5"), "limit"),
        ("/v1/environments?Filter=x".to_owned(), "Filter"),
    ] {
        let response = app.get(&path).bearer(&token).send().await;
        let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
        assert_eq!((detail["code"].as_str(), detail["target"].as_str()), (Some("INVALID_FILTER"), Some(parameter)));
    }
    for limit in ["0", "1001", "ten"] {
        let response = app.get(&format!("{base}/users?limit={limit}")).bearer(&token).send().await;
        let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
        assert_eq!(
            (&detail["code"], &detail["target"], &detail["innerError"]),
            (&json!("OUT_OF_RANGE"), &json!("limit"), &json!({ "rangeMinimumValue": 1, "rangeMaximumValue": 1000 }))
        );
    }
}
