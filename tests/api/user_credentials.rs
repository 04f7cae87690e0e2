//! User credentials with ephemeral data, delivered to an already-paired wallet,
//! verified against the issuer's published key, accepted, revoked, and never at rest
//! in plaintext.

use axum::http::StatusCode;
use credd::wallet_client;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    credential_with_data_reaches_the_paired_wallet_and_never_rests_in_plaintext,
    credential_data_rules,
    credential_without_data_waits_for_a_paired_wallet,
    the_mailbox_is_read_a_page_at_a_time,
    a_credential_records_the_type_version_it_was_issued_from,
    automated_types_and_missing_directory_attributes_refuse_a_credential,
);

pub struct Setup {
    pub token: String,
    pub env: String,
    pub user_id: String,
    pub type_id: String,
}

/// An environment with a user (Ada) and a MANAGED type with a required field
/// (`Level`), a defaulted one (`Club`), a directory attribute and the issue time.
pub async fn setup(app: &TestApp) -> Setup {
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Issuer").await;
    let user = app
        .create_user(
            &token,
            &env,
            json!({ "username": "ada", "email": "ada@example.com", "name": { "formatted": "Ada Lovelace" } }),
        )
        .await;
    let body = json!({
        "title": "Membership",
        "management": { "mode": "MANAGED" },
        "metadata": { "fields": [
            { "id": "Alphanumeric Text -> Level", "type": "Alphanumeric Text", "title": "Level", "required": true },
            { "id": "Alphanumeric Text -> Club", "type": "Alphanumeric Text", "title": "Club", "value": "Chess" },
            { "id": "Directory Attribute -> Name", "type": "Directory Attribute", "title": "Name", "attribute": "name.formatted" },
            { "id": "Issued Timestamp -> Issued", "type": "Issued Timestamp", "title": "Issued" },
        ] },
    });
    let created = app.post(&format!("/v1/environments/{env}/credentialTypes")).bearer(&token).json(body).send().await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    Setup {
        type_id: created.body["id"].as_str().unwrap().to_owned(),
        user_id: user["id"].as_str().unwrap().to_owned(),
        env,
        token,
    }
}

pub fn credentials_path(s: &Setup) -> String {
    format!("/v1/environments/{}/users/{}/credentials", s.env, s.user_id)
}

/// Every stored byte of the database: the SQLite file and its WAL, or the rows of
/// every table of the Postgres database as text and every BYTEA value as it is (as
/// text it would show only as hex).
pub async fn database_contents(app: &TestApp) -> Vec<u8> {
    let url = &app.args.database.database_url;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        return bytes;
    }
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(tables.len() > 10, "the tables were found: {tables:?}");
    let mut bytes = Vec::new();
    for table in tables {
        // Table names come from the catalog, never from input.
        let sql = format!(r#"SELECT COALESCE(string_agg(t::text, ''), '') FROM "{table}" t"#);
        let text: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&pool).await.unwrap();
        bytes.extend(text.into_bytes());
    }
    let binary: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = 'public' AND data_type = 'bytea'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(!binary.is_empty(), "the BYTEA columns were found");
    for (table, column) in binary {
        // Names come from the catalog, never from input.
        let sql = format!(r#"SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL"#);
        let values: Vec<Vec<u8>> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await.unwrap();
        values.into_iter().for_each(|value| bytes.extend(value));
    }
    pool.close().await;
    bytes
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn credential_with_data_reaches_the_paired_wallet_and_never_rests_in_plaintext(app: &TestApp) {
    let s = setup(app).await;
    let marker = format!("Gold-{}", uuid::Uuid::new_v4().simple());
    let body = json!({ "credentialType": { "id": s.type_id }, "data": { "Level": marker } });

    // No paired wallet yet: refused, and nothing stored.
    let refused = app.post(&credentials_path(&s)).bearer(&s.token).json(body.clone()).send().await;
    assert_eq!(refused.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "data");
    assert_eq!(app.get(&credentials_path(&s)).bearer(&s.token).send().await.body["size"], 0);

    let wallet_app = app.create_wallet_application(&s.token, &s.env).await;
    let wallet = app
        .create_wallet(&s.token, &s.env, &s.user_id, json!({ "digitalWalletApplication": { "id": wallet_app } }))
        .await;
    let paired = wallet_client::pair(app, wallet["pairingSession"]["qrUrl"].as_str().unwrap(), "phone").await.unwrap();

    let created = app.post(&credentials_path(&s)).bearer(&s.token).json(body).send().await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(
        created.body.get("data").is_none() && !created.body.to_string().contains(&marker),
        "data is never answered"
    );
    assert_eq!(
        (created.body["status"].as_str(), created.body["title"].as_str()),
        (Some("PENDING"), Some("Membership"))
    );
    let credential_path = format!("{}/{}", credentials_path(&s), created.body["id"].as_str().unwrap());

    assert!(app.run_jobs().await >= 1);
    assert_eq!(app.get(&credential_path).bearer(&s.token).send().await.body["status"], "ISSUED");
    let offers = wallet_client::credentials(app, &paired).await.unwrap();
    assert_eq!(offers.len(), 1);
    let jwt = offers[0]["credentialJwt"].as_str().unwrap();

    // The signature verifies with the key the issuer publishes in its DID document.
    let document = app.get(&format!("/{}/did.json", s.env)).send().await.body;
    let key = jsonwebtoken::DecodingKey::from_ed_components(
        document["verificationMethod"][0]["publicKeyJwk"]["x"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation).unwrap().claims;
    assert_eq!(claims["iss"], document["id"]);
    assert_eq!(claims["cnf"]["jwk"], paired.public_key, "bound to the wallet's key");
    let subject = &claims["vc"]["credentialSubject"];
    assert_eq!(subject["Level"], marker.as_str());
    assert_eq!((subject["Club"].as_str(), subject["Name"].as_str()), (Some("Chess"), Some("Ada Lovelace")));
    assert!(subject["Issued"].as_str().unwrap().ends_with('Z'));

    let accepted = wallet_client::act(app, &paired, offers[0]["id"].as_str().unwrap(), "ACCEPT").await.unwrap();
    assert_eq!(accepted["status"], "ACCEPTED");
    assert!(wallet_client::credentials(app, &paired).await.unwrap().is_empty(), "the mailbox copy is gone");
    let provisioned = app.get(&format!("{credential_path}/provisionedCredentials")).bearer(&s.token).send().await.body;
    let copy = &provisioned["_embedded"]["provisionedCredentials"][0];
    assert_eq!(
        (copy["status"].as_str(), copy["digitalWallet"]["id"].as_str()),
        (Some("ACCEPTED"), Some(paired.wallet_id.as_str()))
    );
    assert_eq!(copy["walletActions"][0]["action"], "CREDENTIAL_ACCEPTED");

    // After delivery and acknowledgement the claim value is nowhere in the database.
    assert!(!contains(&database_contents(app).await, &marker), "the claim data rests nowhere in plaintext");

    let revoked = app
        .post(&credential_path)
        .bearer(&s.token)
        .raw("application/vnd.pingidentity.validations.revokeCredential+json", "")
        .send()
        .await;
    assert_eq!((revoked.status, revoked.body["status"].as_str()), (StatusCode::OK, Some("REVOKED")));
    let wallet_path = format!(
        "/v1/environments/{}/users/{}/digitalWallets/{}/provisionedCredentials",
        s.env, s.user_id, paired.wallet_id
    );
    let copy = &app.get(&wallet_path).bearer(&s.token).send().await.body["_embedded"]["provisionedCredentials"][0];
    assert_eq!(copy["status"], "REVOKED");
    let actions: Vec<&str> =
        copy["walletActions"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["CREDENTIAL_ACCEPTED", "CREDENTIAL_REVOKED"]);
}

async fn credential_data_rules(app: &TestApp) {
    let s = setup(app).await;
    let wallet_app = app.create_wallet_application(&s.token, &s.env).await;
    let wallet = app
        .create_wallet(&s.token, &s.env, &s.user_id, json!({ "digitalWalletApplication": { "id": wallet_app } }))
        .await;
    wallet_client::pair(app, wallet["pairingSession"]["qrUrl"].as_str().unwrap(), "phone").await.unwrap();
    let post = |body: Value| app.post(&credentials_path(&s)).bearer(&s.token).json(body).send();

    let response = post(json!({ "credentialType": { "id": s.type_id }, "data": { "Club": "Go" } })).await;
    let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!((detail["code"].as_str(), detail["target"].as_str()), (Some("REQUIRED_VALUE"), Some("data.Level")));
    let response =
        post(json!({ "credentialType": { "id": s.type_id }, "data": { "Level": "x", "Name": "y", "Shoe size": "9" } }))
            .await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    let targets: Vec<&str> =
        response.body["details"].as_array().unwrap().iter().map(|d| d["target"].as_str().unwrap()).collect();
    assert_eq!(targets, ["data.Name", "data.Shoe size"]);
    let response = post(json!({ "credentialType": { "id": uuid::Uuid::now_v7() }, "data": { "Level": "x" } })).await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "credentialType.id");
    assert_eq!(app.get(&credentials_path(&s)).bearer(&s.token).send().await.body["size"], 0, "nothing was stored");

    let wrong_type = app
        .post(&format!("{}/{}", credentials_path(&s), uuid::Uuid::now_v7()))
        .bearer(&s.token)
        .json(json!({}))
        .send()
        .await;
    wrong_type.expect_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "INVALID_REQUEST");
}

async fn credential_without_data_waits_for_a_paired_wallet(app: &TestApp) {
    let s = setup(app).await;
    let created = app
        .post(&credentials_path(&s))
        .bearer(&s.token)
        .json(json!({ "credentialType": { "id": s.type_id } }))
        .send()
        .await;
    assert_eq!(
        (created.status, created.body["status"].as_str()),
        (StatusCode::CREATED, Some("PENDING")),
        "{}",
        created.body
    );
    let path = format!("{}/{}", credentials_path(&s), created.body["id"].as_str().unwrap());
    app.run_jobs().await;
    assert_eq!(app.get(&path).bearer(&s.token).send().await.body["status"], "PENDING", "no wallet yet");

    let wallet_app = app.create_wallet_application(&s.token, &s.env).await;
    let wallet = app
        .create_wallet(&s.token, &s.env, &s.user_id, json!({ "digitalWalletApplication": { "id": wallet_app } }))
        .await;
    let paired = wallet_client::pair(app, wallet["pairingSession"]["qrUrl"].as_str().unwrap(), "phone").await.unwrap();
    app.run_jobs().await;
    assert_eq!(app.get(&path).bearer(&s.token).send().await.body["status"], "ISSUED");
    let offers = wallet_client::credentials(app, &paired).await.unwrap();
    assert_eq!(offers.len(), 1);
    let payload = offers[0]["credentialJwt"].as_str().unwrap().split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap(),
    )
    .unwrap();
    let subject = &claims["vc"]["credentialSubject"];
    assert_eq!(
        (subject["Club"].as_str(), subject["Level"].as_str()),
        (Some("Chess"), Some("")),
        "built from the type's defaults"
    );
}

async fn the_mailbox_is_read_a_page_at_a_time(app: &TestApp) {
    let s = setup(app).await;
    let wallet_app = app.create_wallet_application(&s.token, &s.env).await;
    let wallet = app
        .create_wallet(&s.token, &s.env, &s.user_id, json!({ "digitalWalletApplication": { "id": wallet_app } }))
        .await;
    let paired = wallet_client::pair(app, wallet["pairingSession"]["qrUrl"].as_str().unwrap(), "phone").await.unwrap();
    let mut issued = Vec::new();
    for level in ["One", "Two", "Three"] {
        let body = json!({ "credentialType": { "id": s.type_id }, "data": { "Level": level } });
        let created = app.post(&credentials_path(&s)).bearer(&s.token).json(body).send().await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        issued.push(created.body["id"].as_str().unwrap().to_owned());
    }
    app.run_jobs().await;

    let mailbox = format!("/v1/distributedid/wallets/{}/credentials", paired.wallet_id);
    let first = app.get(&format!("{mailbox}?limit=2")).bearer(&paired.access_token).send().await;
    assert_eq!((first.status, first.body["size"].as_u64()), (StatusCode::OK, Some(2)), "{}", first.body);
    let next = url::Url::parse(first.body["_links"]["next"]["href"].as_str().expect("a next page")).unwrap();
    let rest = app.get(&format!("{}?{}", next.path(), next.query().unwrap())).bearer(&paired.access_token).send().await;
    assert_eq!(rest.body["size"], 1);
    assert!(rest.body["_links"].get("next").is_none(), "the last page");
    let paged: Vec<&Value> =
        [&first.body, &rest.body].into_iter().flat_map(|b| b["_embedded"]["credentials"].as_array().unwrap()).collect();
    let credential_ids: Vec<&str> = paged.iter().map(|o| o["credential"]["id"].as_str().unwrap()).collect();
    assert_eq!(credential_ids, issued, "oldest first, each once");

    // The simulator follows the pages; a bad limit is the PingOne error.
    assert_eq!(wallet_client::credentials(app, &paired).await.unwrap().len(), 3);
    let refused = app.get(&format!("{mailbox}?limit=0")).bearer(&paired.access_token).send().await;
    assert_eq!(refused.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "limit");
}

async fn a_credential_records_the_type_version_it_was_issued_from(app: &TestApp) {
    let s = setup(app).await;
    let type_path = format!("/v1/environments/{}/credentialTypes/{}", s.env, s.type_id);
    let first_version = app.get(&type_path).bearer(&s.token).send().await.body["version"]["id"].clone();
    let body = json!({ "credentialType": { "id": s.type_id }, "demoDataStorage": { "storeUntilIssued": true } });
    let created = app.post(&credentials_path(&s)).bearer(&s.token).json(body).send().await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let uri = format!("https://credd.test/v1/distributedid/credentialTypes/{}", s.type_id);
    assert_eq!(
        created.body["credentialType"],
        json!({ "id": s.type_id, "version": { "number": 1, "uri": format!("{uri}/v1"), "id": first_version } })
    );
    let version_link = created.body["_links"]["credentialTypeVersion"]["href"].as_str().unwrap();
    assert_eq!(version_link, format!("https://credd.test{type_path}/versions/{}", first_version.as_str().unwrap()));
    assert_eq!(created.body["demoDataStorage"], json!({ "storeUntilIssued": true, "hasData": false }));
    let credential_path = format!("{}/{}", credentials_path(&s), created.body["id"].as_str().unwrap());
    assert_eq!(app.get(&credential_path).bearer(&s.token).send().await.body, created.body, "read as created");

    // The type changes: an update of the credential takes its new version.
    let mut changed = app.get(&type_path).bearer(&s.token).send().await.body;
    changed["description"] = "Gold members".into();
    let second_version = app.put(&type_path).bearer(&s.token).json(changed).send().await.body["version"]["id"].clone();
    let update = json!({ "credentialType": { "id": s.type_id }, "demoDataStorage": { "storeUntilIssued": true } });
    let updated = app.put(&credential_path).bearer(&s.token).json(update).send().await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(
        updated.body["credentialType"]["version"],
        json!({ "number": 2, "uri": format!("{uri}/v2"), "id": second_version })
    );
    let version = app.get(version_link.strip_prefix("https://credd.test").unwrap()).bearer(&s.token).send().await;
    assert_eq!((version.status, version.body["version"].as_i64()), (StatusCode::OK, Some(1)), "{}", version.body);

    let update = json!({ "credentialType": { "id": s.type_id }, "demoDataStorage": { "storeUntilIssued": false } });
    let response = app.put(&credential_path).bearer(&s.token).json(update).send().await;
    assert_eq!(
        response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"],
        "demoDataStorage.storeUntilIssued"
    );
}

async fn automated_types_and_missing_directory_attributes_refuse_a_credential(app: &TestApp) {
    let s = setup(app).await;
    let types = format!("/v1/environments/{}/credentialTypes", s.env);
    let automated = json!({ "title": "Automated", "management": { "mode": "AUTOMATED" }, "metadata": { "fields": [
        { "id": "Alphanumeric Text -> Level", "type": "Alphanumeric Text", "title": "Level", "value": "Gold" }] } });
    let automated = app.post(&types).bearer(&s.token).json(automated).send().await.body;
    let body = json!({ "credentialType": { "id": automated["id"] } });
    let response = app.post(&credentials_path(&s)).bearer(&s.token).json(body).send().await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "credentialType.id");

    // Ada has no mobile phone: a credential that requires it cannot be issued.
    let phone = |default: Option<&str>| {
        let mut field = json!({ "id": "Directory Attribute -> Phone", "type": "Directory Attribute", "title": "Phone",
                                "attribute": "mobilePhone", "required": true });
        if let Some(default) = default {
            field["default"] = default.into();
        }
        json!({ "title": format!("Phone {default:?}"), "management": { "mode": "MANAGED" },
                "metadata": { "fields": [field] } })
    };
    let without_default = app.post(&types).bearer(&s.token).json(phone(None)).send().await.body;
    let body = json!({ "credentialType": { "id": without_default["id"] } });
    let response = app.post(&credentials_path(&s)).bearer(&s.token).json(body).send().await;
    let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!(detail["target"], "mobilePhone");
    assert!(detail["message"].as_str().unwrap().contains("Phone"), "{detail}");
    assert_eq!(app.get(&credentials_path(&s)).bearer(&s.token).send().await.body["size"], 0, "nothing was stored");

    let with_default = app.post(&types).bearer(&s.token).json(phone(Some("unlisted"))).send().await.body;
    let body = json!({ "credentialType": { "id": with_default["id"] } });
    let created = app.post(&credentials_path(&s)).bearer(&s.token).json(body).send().await;
    assert_eq!(created.status, StatusCode::CREATED, "the field's default stands in: {}", created.body);
}
