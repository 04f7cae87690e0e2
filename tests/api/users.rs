//! `/v1/environments/{envId}/users`.

use axum::http::StatusCode;
use serde_json::json;
use sqlx::Connection;

use crate::helpers::{TestApp, tamper};
use crate::on_both_backends;

on_both_backends!(
    create_read_and_delete_a_user,
    patch_sets_keeps_and_clears_attributes,
    usernames_are_unique_per_environment,
    user_attributes_are_validated,
    users_filter_by_username_and_email,
    users_paginate_past_one_page_keeping_the_filter,
    usernames_are_one_whatever_their_case,
    case_duplicates_stop_the_usernames_migration_with_a_message,
    a_cursor_answers_only_on_its_own_list,
    put_replaces_the_whole_user,
    users_move_between_populations,
    a_disabled_user_gets_no_token,
    expand_population_embeds_it,
    users_filter_by_population_and_page_to_the_end,
);

async fn create_read_and_delete_a_user(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Users").await;
    let created = app
        .create_user(
            &admin,
            &env,
            json!({
                "username": "ada", "email": "ada@example.com", "mobilePhone": "+1 (512) 555-1234",
                "locale": "en-GB", "preferredLanguage": "en-GB, en;q=0.8",
                "name": { "given": "Ada", "family": "Lovelace", "formatted": "Ada Lovelace" }
            }),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/v1/environments/{env}/users/{id}");
    assert_eq!(created["_links"]["self"]["href"], format!("https://credd.test{path}"));
    assert_eq!(created["environment"]["id"], env);
    assert_eq!(created["name"], json!({ "given": "Ada", "family": "Lovelace", "formatted": "Ada Lovelace" }));
    assert_eq!(created["mobilePhone"], "+1 (512) 555-1234");

    assert_eq!(app.get(&path).bearer(&admin).send().await.body, created);
    assert_eq!(app.delete(&path).bearer(&admin).send().await.status, StatusCode::NO_CONTENT);
    app.get(&path).bearer(&admin).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.delete(&path).bearer(&admin).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

async fn patch_sets_keeps_and_clears_attributes(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Patch").await;
    let created = app
        .create_user(
            &admin,
            &env,
            json!({ "username": "ada", "email": "ada@example.com", "locale": "en", "name": { "given": "Ada" } }),
        )
        .await;
    let path = format!("/v1/environments/{env}/users/{}", created["id"].as_str().unwrap());

    let patched = app
        .patch(&path)
        .bearer(&admin)
        .json(json!({ "email": null, "primaryPhone": "+44 20 7946 0000", "name": { "family": "Lovelace" } }))
        .send()
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert!(patched.body.get("email").is_none());
    assert_eq!(patched.body["locale"], "en", "left out, so kept");
    assert_eq!(patched.body["name"], json!({ "given": "Ada", "family": "Lovelace" }));
    assert_eq!(patched.body["primaryPhone"], "+44 20 7946 0000");
    assert_eq!(patched.body["createdAt"], created["createdAt"]);

    let cleared = app.patch(&path).bearer(&admin).json(json!({ "name": null, "username": "ada.l" })).send().await;
    assert!(cleared.body.get("name").is_none());
    assert_eq!(cleared.body["username"], "ada.l");
    assert_eq!(app.get(&path).bearer(&admin).send().await.body, cleared.body);

    let response = app.patch(&path).bearer(&admin).json(json!({ "username": null })).send().await;
    let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!((detail["code"].as_str(), detail["target"].as_str()), (Some("REQUIRED_VALUE"), Some("username")));
}

async fn usernames_are_unique_per_environment(app: &TestApp) {
    let admin = app.admin_token().await;
    let a = app.create_environment(&admin, "A").await;
    let b = app.create_environment(&admin, "B").await;
    app.create_user(&admin, &a, json!({ "username": "ada" })).await;
    let bob = app.create_user(&admin, &a, json!({ "username": "bob" })).await;
    let response =
        app.post(&format!("/v1/environments/{a}/users")).bearer(&admin).json(json!({ "username": "ada" })).send().await;
    let detail = response.expect_error(StatusCode::CONFLICT, "UNIQUENESS_VIOLATION");
    assert_eq!(detail["target"], "username");
    let bob_path = format!("/v1/environments/{a}/users/{}", bob["id"].as_str().unwrap());
    let response = app.patch(&bob_path).bearer(&admin).json(json!({ "username": "ada" })).send().await;
    response.expect_error(StatusCode::CONFLICT, "UNIQUENESS_VIOLATION");
    assert_eq!(app.get(&bob_path).bearer(&admin).send().await.body["username"], "bob");
    app.create_user(&admin, &b, json!({ "username": "ada" })).await;
}

async fn user_attributes_are_validated(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Validation").await;
    let response = app
        .post(&format!("/v1/environments/{env}/users"))
        .bearer(&admin)
        .json(json!({
            "username": "x".repeat(129), "email": "not-an-address", "mobilePhone": "call me",
            "locale": "en_US!", "preferredLanguage": "en;q=7", "name": { "given": "" }
        }))
        .send()
        .await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    let details: Vec<(String, String)> = response.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["target"].as_str().unwrap().to_owned(), d["code"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [
        ("username", "SIZE_LIMIT_EXCEEDED"),
        ("email", "INVALID_VALUE"),
        ("mobilePhone", "INVALID_VALUE"),
        ("locale", "INVALID_VALUE"),
        ("preferredLanguage", "INVALID_VALUE"),
        ("name.given", "REQUIRED_VALUE"),
    ];
    assert_eq!(details, expected.map(|(t, c)| (t.to_owned(), c.to_owned())));
    let list = app.get(&format!("/v1/environments/{env}/users")).bearer(&admin).send().await;
    assert_eq!(list.body["size"], 0, "nothing was stored");
}

async fn users_filter_by_username_and_email(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Filter").await;
    for (username, email) in [("ada", "team@example.com"), ("bob", "team@example.com"), ("eve", "eve@example.com")] {
        app.create_user(&admin, &env, json!({ "username": username, "email": email })).await;
    }
    let usernames = |filter: &str| {
        let path = format!("/v1/environments/{env}/users?filter={}", url_encode(filter));
        let admin = admin.clone();
        async move {
            let response = app.get(&path).bearer(&admin).send().await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.body);
            response.body["_embedded"]["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(usernames(r#"username eq "bob""#).await, ["bob"]);
    assert_eq!(usernames(r#"email eq "team@example.com""#).await, ["ada", "bob"]);
    assert_eq!(usernames(r#"email eq "team@example.com" and username eq "ada""#).await, ["ada"]);
    assert!(usernames(r#"username eq "x' OR '1'='1""#).await.is_empty());
}

fn url_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn users_paginate_past_one_page_keeping_the_filter(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Pages").await;
    for i in 0..5 {
        app.create_user(&admin, &env, json!({ "username": format!("user{i}"), "email": "same@example.com" })).await;
    }
    app.create_user(&admin, &env, json!({ "username": "other", "email": "other@example.com" })).await;
    let filter = url_encode(r#"email eq "same@example.com""#);
    let mut next = Some(format!("/v1/environments/{env}/users?limit=2&filter={filter}"));
    let mut seen = Vec::new();
    while let Some(path) = next {
        let page = app.get(&path).bearer(&admin).send().await;
        let users = page.body["_embedded"]["users"].as_array().unwrap();
        assert!(users.len() <= 2 && page.body["size"] == users.len());
        seen.extend(users.iter().map(|u| u["username"].as_str().unwrap().to_owned()));
        next = page.body["_links"]["next"]["href"]
            .as_str()
            .map(|h| h.strip_prefix("https://credd.test").unwrap().to_owned());
    }
    assert_eq!(seen, ["user0", "user1", "user2", "user3", "user4"]);
}

/// PingOne treats `Ada` and `ada` as one username.
async fn usernames_are_one_whatever_their_case(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Case").await;
    let ada = app.create_user(&admin, &env, json!({ "username": "Ada" })).await;
    let users = format!("/v1/environments/{env}/users");
    for taken in ["ada", "ADA"] {
        let response = app.post(&users).bearer(&admin).json(json!({ "username": taken })).send().await;
        assert_eq!(response.expect_error(StatusCode::CONFLICT, "UNIQUENESS_VIOLATION")["target"], "username");
    }
    let bob = app.create_user(&admin, &env, json!({ "username": "bob" })).await;
    let bob_path = format!("{users}/{}", bob["id"].as_str().unwrap());
    let response = app.patch(&bob_path).bearer(&admin).json(json!({ "username": "aDA" })).send().await;
    response.expect_error(StatusCode::CONFLICT, "UNIQUENESS_VIOLATION");
    // Ada may change the case of her own name.
    let ada_path = format!("{users}/{}", ada["id"].as_str().unwrap());
    let renamed = app.patch(&ada_path).bearer(&admin).json(json!({ "username": "ADA" })).send().await;
    assert_eq!(renamed.body["username"], "ADA", "{}", renamed.body);

    for spelling in ["ada", "Ada", "ADA"] {
        let filter = url_encode(&format!(r#"username eq "{spelling}""#));
        let found = app.get(&format!("{users}?filter={filter}")).bearer(&admin).send().await.body;
        let ids: Vec<&str> =
            found["_embedded"]["users"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [ada["id"].as_str().unwrap()], "{spelling}");
    }
}

/// A database that already holds `Ada` and `ada` in one environment stops the migration
/// that makes usernames one whatever their case, saying what to do; once one is
/// renamed, the migration runs.
async fn case_duplicates_stop_the_usernames_migration_with_a_message(app: &TestApp) {
    // The database as it was before that migration.
    tamper(app, "DROP INDEX users_by_username_ignoring_case").await;
    if app.args.database.database_url.starts_with("postgres") {
        tamper(
            app,
            "ALTER TABLE users ADD CONSTRAINT users_environment_id_username_key UNIQUE (environment_id, username)",
        )
        .await;
    }
    tamper(app, "DELETE FROM _sqlx_migrations WHERE version = 20261207030000").await;
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Legacy").await;
    app.create_user(&admin, &env, json!({ "username": "Ada" })).await;
    let twin = app.create_user(&admin, &env, json!({ "username": "ada" })).await;

    let url = &app.args.database.database_url;
    let refused = migrate(url).await.unwrap_err().to_string();
    assert!(
        refused.contains("usernames that differ only in case") && refused.contains("all but one of each"),
        "{refused}"
    );
    let twin_path = format!("/v1/environments/{env}/users/{}", twin["id"].as_str().unwrap());
    app.patch(&twin_path).bearer(&admin).json(json!({ "username": "ada.lovelace" })).send().await;
    migrate(url).await.unwrap();
    let users = format!("/v1/environments/{env}/users");
    let taken = app.post(&users).bearer(&admin).json(json!({ "username": "ADA" })).send().await;
    taken.expect_error(StatusCode::CONFLICT, "UNIQUENESS_VIOLATION");
}

/// Runs the migrations as `sqlx migrate run` would, on a connection of their own: a
/// migration that fails leaves PostgreSQL's migration lock with its connection, which
/// must end.
async fn migrate(url: &str) -> Result<(), sqlx::migrate::MigrateError> {
    if url.starts_with("sqlite") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        let result = store_sqlite::MIGRATOR.run(&mut conn).await;
        conn.close().await.unwrap();
        result
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        let result = store_postgres::MIGRATOR.run(&mut conn).await;
        conn.close().await.unwrap();
        result
    }
}

/// A cursor belongs to the list it came from: followed on another environment's list,
/// another list, or the same list with another filter, it is refused, not answered
/// with an empty page.
async fn a_cursor_answers_only_on_its_own_list(app: &TestApp) {
    let admin = app.admin_token().await;
    let (a, b) = (app.create_environment(&admin, "A").await, app.create_environment(&admin, "B").await);
    let mut ada = None;
    for env in [&a, &b] {
        for name in ["ada", "bob", "eve"] {
            let user = app.create_user(&admin, env, json!({ "username": name, "email": "same@example.com" })).await;
            ada.get_or_insert(user["id"].as_str().unwrap().to_owned());
        }
    }
    let first = app.get(&format!("/v1/environments/{a}/users?limit=1")).bearer(&admin).send().await.body;
    let next = first["_links"]["next"]["href"].as_str().unwrap();
    let cursor = url::Url::parse(next).unwrap().query_pairs().find(|(k, _)| k == "cursor").unwrap().1.into_owned();
    let followed = app.get(next.strip_prefix("https://credd.test").unwrap()).bearer(&admin).send().await;
    assert_eq!(followed.body["_embedded"]["users"][0]["username"], "bob", "{}", followed.body);

    let ada = ada.unwrap();
    let filter = url_encode(r#"email eq "same@example.com""#);
    for elsewhere in [
        format!("/v1/environments/{b}/users"),
        format!("/v1/environments/{a}/users/{ada}/digitalWallets"),
        format!("/v1/environments/{a}/users?filter={filter}"),
    ] {
        let separator = if elsewhere.contains('?') { '&' } else { '?' };
        let response = app.get(&format!("{elsewhere}{separator}cursor={cursor}")).bearer(&admin).send().await;
        assert_eq!(
            response.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST")["target"],
            "cursor",
            "{elsewhere}"
        );
    }
}

async fn put_replaces_the_whole_user(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Put").await;
    let created = app
        .create_user(
            &admin,
            &env,
            json!({ "username": "ada", "email": "ada@example.com", "locale": "en", "name": { "given": "Ada", "family": "L" } }),
        )
        .await;
    let path = format!("/v1/environments/{env}/users/{}", created["id"].as_str().unwrap());

    let replaced = app
        .put(&path)
        .bearer(&admin)
        .json(json!({ "username": "ada.l", "name": { "family": "Lovelace" } }))
        .send()
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    assert_eq!(replaced.body["username"], "ada.l");
    assert!(replaced.body.get("email").is_none() && replaced.body.get("locale").is_none(), "{}", replaced.body);
    assert_eq!(replaced.body["name"], json!({ "family": "Lovelace" }), "name parts left out are cleared too");
    assert_eq!(replaced.body["population"], created["population"], "left out, the user stays where they are");
    assert_eq!((&replaced.body["createdAt"], &replaced.body["enabled"]), (&created["createdAt"], &json!(true)));
    assert_eq!(app.get(&path).bearer(&admin).send().await.body, replaced.body);

    let response = app.put(&path).bearer(&admin).json(json!({ "email": "ada@example.com" })).send().await;
    let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!((&detail["code"], &detail["target"]), (&json!("REQUIRED_VALUE"), &json!("username")));
    app.create_user(&admin, &env, json!({ "username": "bob" })).await;
    let response = app.put(&path).bearer(&admin).json(json!({ "username": "BOB" })).send().await;
    response.expect_error(StatusCode::CONFLICT, "UNIQUENESS_VIOLATION");
    let missing = format!("/v1/environments/{env}/users/{}", uuid::Uuid::new_v4());
    let response = app.put(&missing).bearer(&admin).json(json!({ "username": "x" })).send().await;
    response.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

/// Creates a population; its id.
async fn population(app: &TestApp, token: &str, env: &str, name: &str) -> String {
    let response = app
        .post(&format!("/v1/environments/{env}/populations"))
        .bearer(token)
        .json(json!({ "name": name }))
        .send()
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    response.body["id"].as_str().unwrap().to_owned()
}

async fn users_move_between_populations(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Moves").await;
    let other = app.create_environment(&admin, "Other").await;
    let staff = population(app, &admin, &env, "Staff").await;
    let partners = population(app, &admin, &env, "Partners").await;
    let foreign = population(app, &admin, &other, "Foreign").await;
    let ada = app.create_user(&admin, &env, json!({ "username": "ada" })).await;
    let path = format!("/v1/environments/{env}/users/{}", ada["id"].as_str().unwrap());
    let population_path = format!("{path}/population");

    let read = app.get(&population_path).bearer(&admin).send().await;
    assert_eq!(read.body["id"], ada["population"]["id"], "{}", read.body);
    assert_eq!(read.body["_links"]["self"]["href"], format!("https://credd.test{population_path}"));

    let moved = app.put(&population_path).bearer(&admin).json(json!({ "id": staff })).send().await;
    assert_eq!((moved.status, &moved.body["id"]), (StatusCode::OK, &json!(staff)), "{}", moved.body);
    assert_eq!(app.get(&path).bearer(&admin).send().await.body["population"]["id"], staff);
    let staff_path = format!("/v1/environments/{env}/populations/{staff}");
    assert_eq!(app.get(&staff_path).bearer(&admin).send().await.body["userCount"], 1);

    // PATCH moves too; another environment's population or none is refused, and the
    // user stays where they were.
    let patched = app.patch(&path).bearer(&admin).json(json!({ "population": { "id": partners } })).send().await;
    assert_eq!(patched.body["population"]["id"], partners, "{}", patched.body);
    for wrong in [foreign.clone(), uuid::Uuid::new_v4().to_string()] {
        let response = app.put(&population_path).bearer(&admin).json(json!({ "id": wrong })).send().await;
        let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
        assert_eq!(detail["target"], "population.id");
    }
    let response = app.put(&population_path).bearer(&admin).json(json!({})).send().await;
    let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!((&detail["code"], &detail["target"]), (&json!("REQUIRED_VALUE"), &json!("id")));
    assert_eq!(app.get(&population_path).bearer(&admin).send().await.body["id"], partners);
    let missing = format!("/v1/environments/{env}/users/{}/population", uuid::Uuid::new_v4());
    let response = app.put(&missing).bearer(&admin).json(json!({ "id": staff })).send().await;
    response.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

async fn a_disabled_user_gets_no_token(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Disabled").await;
    let (id, secret) = app.create_worker(&admin, &env, json!({ "name": "w", "type": "WORKER" })).await;
    let ada = app.create_user(&admin, &env, json!({ "username": "ada" })).await;
    let ada_id = ada["id"].as_str().unwrap();
    let (path, enabled_path) =
        (format!("/v1/environments/{env}/users/{ada_id}"), format!("/v1/environments/{env}/users/{ada_id}/enabled"));
    let token = crate::auth::exchange(app, &env, &id, &secret, ada_id, "p1:read:user").await;
    let token = token.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&enabled_path).bearer(&token).send().await.body["enabled"], true);

    let disabled = app.put(&enabled_path).bearer(&admin).json(json!({ "enabled": false })).send().await;
    assert_eq!((disabled.status, &disabled.body["enabled"]), (StatusCode::OK, &json!(false)), "{}", disabled.body);
    assert_eq!(app.get(&path).bearer(&admin).send().await.body["enabled"], false);
    app.get(&path).bearer(&token).send().await.expect_error(StatusCode::UNAUTHORIZED, "ACCESS_FAILED");
    let refused = crate::auth::exchange(app, &env, &id, &secret, ada_id, "p1:read:user").await;
    assert_eq!((refused.status, &refused.body["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")));
    // `enabled` in a user's body is read-only: it changes nothing.
    let patched = app.patch(&path).bearer(&admin).json(json!({ "enabled": true, "locale": "fr" })).send().await;
    assert_eq!(patched.body["enabled"], false, "{}", patched.body);

    app.put(&enabled_path).bearer(&admin).json(json!({ "enabled": true })).send().await;
    let again = crate::auth::exchange(app, &env, &id, &secret, ada_id, "p1:read:user").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let response = app.put(&enabled_path).bearer(&admin).json(json!({ "enabled": "no" })).send().await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
}

async fn expand_population_embeds_it(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Expand").await;
    let staff = population(app, &admin, &env, "Staff").await;
    let ada = app.create_user(&admin, &env, json!({ "username": "ada", "population": { "id": staff } })).await;
    app.create_user(&admin, &env, json!({ "username": "bob" })).await;
    let path = format!("/v1/environments/{env}/users/{}", ada["id"].as_str().unwrap());

    let plain = app.get(&path).bearer(&admin).send().await.body;
    assert!(plain.get("_embedded").is_none());
    let expanded = app.get(&format!("{path}?expand=population")).bearer(&admin).send().await.body;
    let embedded = &expanded["_embedded"]["population"];
    assert_eq!(
        (&embedded["id"], &embedded["name"], &embedded["userCount"]),
        (&json!(staff), &json!("Staff"), &json!(1))
    );

    let list = app.get(&format!("/v1/environments/{env}/users?expand=population")).bearer(&admin).send().await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let names: Vec<(&str, &str)> = list.body["_embedded"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["username"].as_str().unwrap(), u["_embedded"]["population"]["name"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("ada", "Staff"), ("bob", "Default")]);

    for bad in [format!("{path}?expand=groups"), format!("/v1/environments/{env}/users?expand=everything")] {
        let response = app.get(&bad).bearer(&admin).send().await;
        let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
        assert_eq!(detail["target"], "expand");
    }
    let response = app.get(&format!("/v1/environments/{env}/users?include=all")).bearer(&admin).send().await;
    assert_eq!(response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["code"], "INVALID_FILTER");
}

async fn users_filter_by_population_and_page_to_the_end(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Population pages").await;
    let staff = population(app, &admin, &env, "Staff").await;
    let mut expected = Vec::new();
    for i in 0..7 {
        let username = format!("user{i}");
        if i % 3 == 0 {
            app.create_user(&admin, &env, json!({ "username": username })).await;
        } else {
            app.create_user(&admin, &env, json!({ "username": username, "population": { "id": staff } })).await;
            expected.push(username);
        }
    }
    let filter = url_encode(&format!(r#"population.id eq "{staff}""#));
    let mut next = Some(format!("/v1/environments/{env}/users?limit=2&filter={filter}"));
    let mut seen = Vec::new();
    while let Some(path) = next {
        let page = app.get(&path).bearer(&admin).send().await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let users = page.body["_embedded"]["users"].as_array().unwrap();
        assert!(users.len() <= 2 && page.body["size"] == users.len());
        assert!(users.iter().all(|u| u["population"]["id"] == staff.as_str()));
        seen.extend(users.iter().map(|u| u["username"].as_str().unwrap().to_owned()));
        next = page.body["_links"]["next"]["href"]
            .as_str()
            .map(|h| h.strip_prefix("https://credd.test").unwrap().to_owned());
    }
    assert_eq!(seen, expected);

    let user3 = app
        .get(&format!("/v1/environments/{env}/users?filter={}", url_encode(r#"username eq "user3""#)))
        .bearer(&admin)
        .send()
        .await;
    let user3_id = user3.body["_embedded"]["users"][0]["id"].as_str().unwrap().to_owned();
    app.put(&format!("/v1/environments/{env}/users/{user3_id}/enabled"))
        .bearer(&admin)
        .json(json!({ "enabled": false }))
        .send()
        .await;
    let filter = url_encode(r#"enabled eq false"#);
    let disabled = app.get(&format!("/v1/environments/{env}/users?filter={filter}")).bearer(&admin).send().await;
    let usernames: Vec<&str> = disabled.body["_embedded"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(usernames, ["user3"]);
}
