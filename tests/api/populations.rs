//! `/v1/environments/{envId}/populations`, and the users in them.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    an_environment_starts_with_its_default_population,
    populations_are_created_read_listed_replaced_and_deleted,
    population_names_are_unique_in_the_environment,
    the_default_moves_and_is_never_lost,
    a_population_with_users_or_the_default_is_not_deleted,
    users_land_in_the_default_or_the_population_they_name,
    population_bodies_are_validated,
    populations_are_configuration_that_a_reset_keeps,
);

fn populations_of(env: &str) -> String {
    format!("/v1/environments/{env}/populations")
}

async fn create_population(app: &TestApp, token: &str, env: &str, body: Value) -> Value {
    let response = app.post(&populations_of(env)).bearer(token).json(body).send().await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    response.body
}

/// The environment's populations, by name.
async fn names(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let response = app.get(path).bearer(token).send().await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let populations = response.body["_embedded"]["populations"].as_array().unwrap();
    populations.iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect()
}

async fn default_population(app: &TestApp, token: &str, env: &str) -> Value {
    let response = app.get(&populations_of(env)).bearer(token).send().await;
    let populations = response.body["_embedded"]["populations"].as_array().unwrap();
    let defaults: Vec<&Value> = populations.iter().filter(|p| p["default"] == true).collect();
    assert_eq!(defaults.len(), 1, "one default: {}", response.body);
    defaults[0].clone()
}

fn url_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn an_environment_starts_with_its_default_population(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Fresh").await;
    let default = default_population(app, &admin, &env).await;
    assert_eq!(default["name"], "Default");
    assert_eq!(default["userCount"], 0);
    assert_eq!(default["environment"]["id"], env);
    assert_eq!(names(app, &admin, &populations_of(&env)).await, ["Default"]);
}

async fn populations_are_created_read_listed_replaced_and_deleted(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Directory").await;
    let (policy, theme) = ("8f0a3a43-5b0c-4a5e-9c2f-0d6f2d9a1b11", "0c6d3ad5-4e08-4bb8-9a1a-0f3f7d2a3c22");
    let staff = create_population(
        app,
        &admin,
        &env,
        json!({
            "name": "Staff", "description": "Employees", "passwordPolicy": { "id": policy },
            "theme": { "id": theme }, "preferredLanguage": "fr-CA", "alternativeIdentifiers": ["emea", "staff.example.com"]
        }),
    )
    .await;
    let id = staff["id"].as_str().unwrap();
    let path = format!("{}/{id}", populations_of(&env));
    assert_eq!(staff["_links"]["self"]["href"], format!("https://credd.test{path}"));
    assert_eq!(
        (&staff["description"], &staff["passwordPolicy"]["id"], &staff["theme"]["id"]),
        (&json!("Employees"), &json!(policy), &json!(theme))
    );
    assert_eq!(staff["preferredLanguage"], "fr-CA");
    assert_eq!(staff["alternativeIdentifiers"], json!(["emea", "staff.example.com"]));
    assert_eq!((&staff["default"], &staff["userCount"]), (&json!(false), &json!(0)));
    assert_eq!(app.get(&path).bearer(&admin).send().await.body, staff);

    create_population(app, &admin, &env, json!({ "name": "Contractors" })).await;
    let filtered = |filter: &str| format!("{}?filter={}", populations_of(&env), url_encode(filter));
    assert_eq!(names(app, &admin, &filtered(r#"name eq "staff""#)).await, ["Staff"]);
    assert_eq!(names(app, &admin, &filtered(&format!(r#"id eq "{id}""#))).await, ["Staff"]);
    let mut starting_with_c = names(app, &admin, &filtered(r#"name sw "C""#)).await;
    starting_with_c.sort();
    assert_eq!(starting_with_c, ["Contractors"]);
    let response = app.get(&filtered(r#"description eq "Employees""#)).bearer(&admin).send().await;
    let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!(detail["code"], "INVALID_FILTER");

    // PUT replaces the whole population: what it leaves out is cleared.
    let replaced = app.put(&path).bearer(&admin).json(json!({ "name": "Employees" })).send().await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    for cleared in ["description", "passwordPolicy", "theme", "preferredLanguage", "alternativeIdentifiers"] {
        assert!(replaced.body.get(cleared).is_none(), "{cleared}: {}", replaced.body);
    }
    assert_eq!((&replaced.body["name"], &replaced.body["createdAt"]), (&json!("Employees"), &staff["createdAt"]));
    assert_eq!(app.get(&path).bearer(&admin).send().await.body, replaced.body);

    assert_eq!(app.delete(&path).bearer(&admin).send().await.status, StatusCode::NO_CONTENT);
    app.get(&path).bearer(&admin).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.put(&path)
        .bearer(&admin)
        .json(json!({ "name": "Back" }))
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.delete(&path).bearer(&admin).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

async fn population_names_are_unique_in_the_environment(app: &TestApp) {
    let admin = app.admin_token().await;
    let a = app.create_environment(&admin, "A").await;
    let b = app.create_environment(&admin, "B").await;
    create_population(app, &admin, &a, json!({ "name": "Staff" })).await;
    for taken in ["Staff", "STAFF", "default"] {
        let response = app.post(&populations_of(&a)).bearer(&admin).json(json!({ "name": taken })).send().await;
        let detail = response.expect_error(StatusCode::CONFLICT, "UNIQUENESS_VIOLATION");
        assert_eq!((&detail["code"], &detail["target"]), (&json!("UNIQUENESS_VIOLATION"), &json!("name")));
    }
    let other = create_population(app, &admin, &a, json!({ "name": "Other" })).await;
    let path = format!("{}/{}", populations_of(&a), other["id"].as_str().unwrap());
    let response = app.put(&path).bearer(&admin).json(json!({ "name": "staff" })).send().await;
    response.expect_error(StatusCode::CONFLICT, "UNIQUENESS_VIOLATION");
    create_population(app, &admin, &b, json!({ "name": "Staff" })).await;
}

async fn the_default_moves_and_is_never_lost(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Defaults").await;
    let first = default_population(app, &admin, &env).await;
    let first_path = format!("{}/{}", populations_of(&env), first["id"].as_str().unwrap());

    let staff = create_population(app, &admin, &env, json!({ "name": "Staff", "default": true })).await;
    assert_eq!(staff["default"], true);
    assert_eq!(default_population(app, &admin, &env).await["id"], staff["id"]);
    assert_eq!(app.get(&first_path).bearer(&admin).send().await.body["default"], false);

    let staff_path = format!("{}/{}", populations_of(&env), staff["id"].as_str().unwrap());
    // Left out, `default` stays as it is; `false` on the default is refused.
    let kept = app.put(&staff_path).bearer(&admin).json(json!({ "name": "Staff" })).send().await;
    assert_eq!(kept.body["default"], true, "{}", kept.body);
    let response = app.put(&staff_path).bearer(&admin).json(json!({ "name": "Staff", "default": false })).send().await;
    let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!(detail["target"], "default");

    let moved = app.put(&first_path).bearer(&admin).json(json!({ "name": "Default", "default": true })).send().await;
    assert_eq!(moved.body["default"], true, "{}", moved.body);
    assert_eq!(default_population(app, &admin, &env).await["id"], first["id"]);
    let ada = app.create_user(&admin, &env, json!({ "username": "ada" })).await;
    assert_eq!(ada["population"]["id"], first["id"], "new users land in the default");
}

async fn a_population_with_users_or_the_default_is_not_deleted(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Deletes").await;
    let staff = create_population(app, &admin, &env, json!({ "name": "Staff" })).await;
    let staff_id = staff["id"].as_str().unwrap();
    let staff_path = format!("{}/{staff_id}", populations_of(&env));
    let ada = app.create_user(&admin, &env, json!({ "username": "ada", "population": { "id": staff_id } })).await;

    let response = app.delete(&staff_path).bearer(&admin).send().await;
    let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!(detail["target"], "id");
    assert!(detail["message"].as_str().unwrap().contains("users"), "{detail}");
    assert_eq!(app.get(&staff_path).bearer(&admin).send().await.body["userCount"], 1);

    let default = default_population(app, &admin, &env).await;
    let default_path = format!("{}/{}", populations_of(&env), default["id"].as_str().unwrap());
    let response = app.delete(&default_path).bearer(&admin).send().await;
    let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert!(detail["message"].as_str().unwrap().contains("default"), "{detail}");

    let ada_path = format!("/v1/environments/{env}/users/{}", ada["id"].as_str().unwrap());
    assert_eq!(app.delete(&ada_path).bearer(&admin).send().await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&staff_path).bearer(&admin).send().await.status, StatusCode::NO_CONTENT);
    assert_eq!(names(app, &admin, &populations_of(&env)).await, ["Default"]);
}

async fn users_land_in_the_default_or_the_population_they_name(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Members").await;
    let other = app.create_environment(&admin, "Other").await;
    let default = default_population(app, &admin, &env).await;
    let staff = create_population(app, &admin, &env, json!({ "name": "Staff" })).await;
    let foreign = create_population(app, &admin, &other, json!({ "name": "Foreign" })).await;

    let ada = app.create_user(&admin, &env, json!({ "username": "ada" })).await;
    assert_eq!(ada["population"]["id"], default["id"]);
    assert_eq!(
        ada["_links"]["population"]["href"],
        format!("https://credd.test{}/{}", populations_of(&env), default["id"].as_str().unwrap())
    );
    let bob = app.create_user(&admin, &env, json!({ "username": "bob", "population": { "id": staff["id"] } })).await;
    assert_eq!(bob["population"]["id"], staff["id"]);
    assert_eq!(bob["enabled"], true);

    for (username, population) in
        [("eve", foreign["id"].clone()), ("mal", json!("6f1c2b0e-5b8e-4d35-8f7e-3a1b2c3d4e5f"))]
    {
        let response = app
            .post(&format!("/v1/environments/{env}/users"))
            .bearer(&admin)
            .json(json!({ "username": username, "population": { "id": population } }))
            .send()
            .await;
        let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
        assert_eq!(detail["target"], "population.id");
    }
    let counts = app.get(&populations_of(&env)).bearer(&admin).send().await.body;
    for population in counts["_embedded"]["populations"].as_array().unwrap() {
        assert_eq!(population["userCount"], 1, "{population}");
    }
    let foreign_path = format!("{}/{}", populations_of(&other), foreign["id"].as_str().unwrap());
    assert_eq!(app.get(&foreign_path).bearer(&admin).send().await.body["userCount"], 0);
}

async fn population_bodies_are_validated(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Validation").await;
    let response = app
        .post(&populations_of(&env))
        .bearer(&admin)
        .json(json!({
            "description": "", "preferredLanguage": "not a tag",
            "alternativeIdentifiers": vec!["id"; 51]
        }))
        .send()
        .await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    let mut targets: Vec<&str> =
        response.body["details"].as_array().unwrap().iter().map(|d| d["target"].as_str().unwrap()).collect();
    targets.sort();
    assert_eq!(targets, ["alternativeIdentifiers", "description", "name", "preferredLanguage"]);
    let response = app.post(&populations_of(&env)).bearer(&admin).json(json!({ "name": "x".repeat(257) })).send().await;
    let detail = response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    assert_eq!((&detail["code"], &detail["target"]), (&json!("SIZE_LIMIT_EXCEEDED"), &json!("name")));
    assert_eq!(names(app, &admin, &populations_of(&env)).await, ["Default"], "nothing was stored");
}

async fn populations_are_configuration_that_a_reset_keeps(app: &TestApp) {
    let admin = app.admin_token().await;
    let env = app.create_environment(&admin, "Configured").await;
    let default = default_population(app, &admin, &env).await;
    let staff = create_population(app, &admin, &env, json!({ "name": "Staff", "alternativeIdentifiers": ["s"] })).await;
    app.create_user(&admin, &env, json!({ "username": "ada", "population": { "id": staff["id"] } })).await;
    let configuration = format!("/v1/environments/{env}/configuration");

    let exported = app.get(&configuration).bearer(&admin).send().await.body;
    let populations = exported["populations"].as_array().unwrap();
    let named: Vec<(&Value, &Value)> = populations.iter().map(|p| (&p["name"], &p["default"])).collect();
    assert_eq!(named, [(&json!("Default"), &json!(true)), (&json!("Staff"), &json!(false))], "{exported}");
    assert!(populations.iter().all(|p| p.get("userCount").is_none() && p.get("_links").is_none()));

    // A reset deletes the users and keeps the populations.
    let reset = app.post(&format!("/v1/environments/{env}/reset")).bearer(&admin).send().await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{}", reset.body);
    let kept = app.get(&populations_of(&env)).bearer(&admin).send().await.body;
    let counts: Vec<&Value> =
        kept["_embedded"]["populations"].as_array().unwrap().iter().map(|p| &p["userCount"]).collect();
    assert_eq!(counts, [&json!(0), &json!(0)]);

    // Imported into another environment without its ids: the default takes the
    // settings and keeps its own id, the others are copied.
    let other = app.create_environment(&admin, "Copy").await;
    let other_default = default_population(app, &admin, &other).await;
    let mut copy = json!({ "populations": exported["populations"].clone() });
    for population in copy["populations"].as_array_mut().unwrap() {
        population.as_object_mut().unwrap().remove("id");
    }
    copy["populations"][0]["name"] = json!("Everyone");
    let imported = app.put(&format!("/v1/environments/{other}/configuration")).bearer(&admin).json(copy).send().await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.body);
    let everyone = default_population(app, &admin, &other).await;
    assert_eq!((&everyone["id"], &everyone["name"]), (&other_default["id"], &json!("Everyone")));
    let copied = names(app, &admin, &populations_of(&other)).await;
    assert_eq!(copied.len(), 2, "{copied:?}");
    assert!(copied.contains(&"Staff".to_owned()));

    // Left out of an import, the populations stay; two defaults are refused.
    let kept = app.put(&format!("/v1/environments/{other}/configuration")).bearer(&admin).json(json!({})).send().await;
    assert_eq!(kept.body["populations"], imported.body["populations"], "{}", kept.body);
    let two = json!({ "populations": [{ "name": "A", "default": true }, { "name": "B", "default": true }] });
    let refused = app.put(&format!("/v1/environments/{other}/configuration")).bearer(&admin).json(two).send().await;
    assert_eq!(refused.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA")["target"], "populations");
    assert_eq!(default["name"], "Default");
}
