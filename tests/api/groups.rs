//! `/v1/environments/{envId}/groups`: the groups themselves, and the fixtures the group
//! tests share (`group_members.rs` has who is in them).

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    groups_are_created_read_replaced_listed_and_deleted,
    group_names_are_unique_as_pingone_says,
    group_fields_are_checked_and_refused_by_name,
    deleting_a_group_takes_its_memberships_and_nestings,
    groups_and_their_nestings_are_configuration,
);

/// An environment with a worker's token.
pub struct Directory<'a> {
    app: &'a TestApp,
    pub token: String,
    pub env: String,
}

impl<'a> Directory<'a> {
    pub async fn new(app: &'a TestApp, name: &str) -> Self {
        let token = app.admin_token().await;
        let env = app.create_environment(&token, name).await;
        Self { app, token, env }
    }

    pub fn path(&self, rest: &str) -> String {
        format!("/v1/environments/{}{rest}", self.env)
    }

    /// Creates a resource under the environment; returns its body.
    pub async fn created(&self, rest: &str, body: Value) -> Value {
        let response = self.app.post(&self.path(rest)).bearer(&self.token).json(body).send().await;
        assert_eq!(response.status, StatusCode::CREATED, "{rest}: {}", response.body);
        response.body
    }

    pub async fn group(&self, body: Value) -> String {
        id(&self.created("/groups", body).await)
    }

    pub async fn user(&self, body: Value) -> String {
        id(&self.app.create_user(&self.token, &self.env, body).await)
    }

    pub async fn population(&self, name: &str) -> String {
        id(&self.created("/populations", json!({ "name": name })).await)
    }

    pub async fn get(&self, rest: &str) -> Value {
        let response = self.app.get(&self.path(rest)).bearer(&self.token).send().await;
        assert_eq!(response.status, StatusCode::OK, "{rest}: {}", response.body);
        response.body
    }

    /// The error a POST gets: its status, and the first detail's code and target.
    pub async fn refused(&self, rest: &str, body: Value) -> (StatusCode, String, String) {
        let response = self.app.post(&self.path(rest)).bearer(&self.token).json(body).send().await;
        refusal(&response)
    }

    /// The user's groups as `(name, type)`, in the list's order.
    pub async fn groups_of(&self, user: &str) -> Vec<(String, String)> {
        let list = self.get(&format!("/users/{user}/memberOfGroups")).await;
        memberships(&list)
    }
}

pub fn id(body: &Value) -> String {
    body["id"].as_str().unwrap_or_else(|| panic!("no id in {body}")).to_owned()
}

pub fn refusal(response: &crate::helpers::TestResponse) -> (StatusCode, String, String) {
    assert!(response.status.is_client_error(), "{}: {}", response.status, response.body);
    let detail = &response.body["details"][0];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (response.status, text(&detail["code"]), text(&detail["target"]))
}

pub fn memberships(list: &Value) -> Vec<(String, String)> {
    let items = list["_embedded"]["groupMemberships"].as_array().unwrap_or_else(|| panic!("{list}"));
    items.iter().map(|m| (m["name"].as_str().unwrap().to_owned(), m["type"].as_str().unwrap().to_owned())).collect()
}

pub fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect()
}

pub fn encoded(filter: &str) -> String {
    url::form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

async fn groups_are_created_read_replaced_listed_and_deleted(app: &TestApp) {
    let d = Directory::new(app, "Groups").await;
    let created = d
        .created(
            "/groups",
            json!({
                "name": "Managers", "description": "People who manage",
                "userFilter": "email sw \"ada@\"", "externalId": "ext-1",
                "customData": { "groupOwner": "Tom Jones", "securityGroup": true, "nested": { "list": [1, 2] } }
            }),
        )
        .await;
    let group = id(&created);
    let path = d.path(&format!("/groups/{group}"));
    assert_eq!(created["_links"]["self"]["href"], format!("https://credd.test{path}"));
    assert_eq!(created["environment"]["id"], d.env.as_str());
    assert_eq!((&created["name"], &created["displayName"]), (&json!("Managers"), &json!("Managers")));
    assert_eq!(created["userFilter"], "email sw \"ada@\"");
    assert_eq!(created["externalId"], "ext-1");
    assert_eq!(
        created["customData"],
        json!({ "groupOwner": "Tom Jones", "securityGroup": true, "nested": { "list": [1, 2] } })
    );
    assert_eq!(created["directMemberCounts"], json!({ "users": 0, "groups": 0 }));
    assert!(created.get("population").is_none() && created.get("totalMemberCounts").is_none());
    assert_eq!(d.get(&format!("/groups/{group}")).await, created);

    let replaced = app.put(&path).bearer(&d.token).json(json!({ "name": "Leads", "externalId": "ext-2" })).send().await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    assert_eq!((&replaced.body["name"], &replaced.body["externalId"]), (&json!("Leads"), &json!("ext-2")));
    for cleared in ["description", "userFilter", "customData"] {
        assert!(replaced.body.get(cleared).is_none(), "PUT clears {cleared}: {}", replaced.body);
    }
    assert_eq!(replaced.body["createdAt"], created["createdAt"]);

    let population = d.population("EMEA").await;
    let emea = d.group(json!({ "name": "EMEA leads", "population": { "id": population }, "externalId": "w-7" })).await;
    let all = d.get("/groups").await;
    assert_eq!(all["size"], 2);
    let directory = &d;
    let listed = |filter: &str| {
        let rest = format!("/groups?filter={}", encoded(filter));
        async move {
            let list = directory.get(&rest).await;
            list["_embedded"]["groups"].as_array().unwrap().iter().map(id).collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(r#"name eq "leads""#).await, [group.as_str()]);
    assert_eq!(listed(r#"name sw "EMEA""#).await, [emea.as_str()]);
    assert_eq!(listed(r#"(name sw "e") and (externalId sw "W")"#).await, [emea.as_str()]);
    assert_eq!(listed(&format!(r#"population.id eq "{population}""#)).await, [emea.as_str()]);
    assert_eq!(listed(&format!(r#"id eq "{group}""#)).await, [group.as_str()]);
    let response =
        app.get(&d.path(&format!("/groups?filter={}", encoded(r#"description eq "x""#)))).bearer(&d.token).send().await;
    assert_eq!(refusal(&response), (StatusCode::BAD_REQUEST, "INVALID_FILTER".into(), "filter".into()));
    let response = app.get(&d.path("/groups?expand=population")).bearer(&d.token).send().await;
    assert_eq!(refusal(&response).0, StatusCode::BAD_REQUEST);

    assert_eq!(app.delete(&path).bearer(&d.token).send().await.status, StatusCode::NO_CONTENT);
    app.get(&path).bearer(&d.token).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.delete(&path).bearer(&d.token).send().await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let response = app.put(&path).bearer(&d.token).json(json!({ "name": "Ghost" })).send().await;
    response.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

async fn group_names_are_unique_as_pingone_says(app: &TestApp) {
    let d = Directory::new(app, "Names").await;
    let (emea, apac) = (d.population("EMEA").await, d.population("APAC").await);
    d.group(json!({ "name": "Sales" })).await;
    let conflict = (StatusCode::CONFLICT, "UNIQUENESS_VIOLATION".to_owned(), "name".to_owned());
    assert_eq!(d.refused("/groups", json!({ "name": "SALES" })).await, conflict);
    // An environment group's name is taken in every population too.
    assert_eq!(d.refused("/groups", json!({ "name": "sales", "population": { "id": emea } })).await, conflict);
    // Populations' groups may share a name, though not within one population.
    d.group(json!({ "name": "Support", "population": { "id": emea } })).await;
    d.group(json!({ "name": "Support", "population": { "id": apac } })).await;
    assert_eq!(d.refused("/groups", json!({ "name": "support", "population": { "id": apac } })).await, conflict);
    // Nor may an environment group take a population group's name.
    assert_eq!(d.refused("/groups", json!({ "name": "Support" })).await, conflict);
    let renamed = d.group(json!({ "name": "Marketing" })).await;
    let response =
        app.put(&d.path(&format!("/groups/{renamed}"))).bearer(&d.token).json(json!({ "name": "sales" })).send().await;
    assert_eq!(refusal(&response), conflict);
    // Another environment has names of its own.
    let other = Directory::new(app, "Other").await;
    other.group(json!({ "name": "Sales" })).await;
}

async fn group_fields_are_checked_and_refused_by_name(app: &TestApp) {
    let d = Directory::new(app, "Checks").await;
    let other = Directory::new(app, "Other").await;
    let foreign_population = other.population("Theirs").await;
    let invalid = |code: &str, target: &str| (StatusCode::BAD_REQUEST, code.to_owned(), target.to_owned());
    assert_eq!(d.refused("/groups", json!({ "description": "no name" })).await, invalid("REQUIRED_VALUE", "name"));
    assert_eq!(d.refused("/groups", json!({ "name": " " })).await, invalid("REQUIRED_VALUE", "name"));
    assert_eq!(d.refused("/groups", json!({ "name": "x".repeat(257) })).await, invalid("SIZE_LIMIT_EXCEEDED", "name"));
    for population in [uuid::Uuid::new_v4().to_string(), foreign_population] {
        let body = json!({ "name": "Lost", "population": { "id": population } });
        assert_eq!(d.refused("/groups", body).await, invalid("INVALID_VALUE", "population.id"));
    }
    let body = json!({ "name": "Lost", "population": { "id": "not-a-uuid" } });
    assert_eq!(d.refused("/groups", body).await, invalid("INVALID_VALUE", "population.id"));
    // A userFilter is one the users list takes, and never one over groups.
    for filter in [r#"title eq "Manager""#, "username eq", r#"memberOfGroups[id eq "x"]"#] {
        let (status, _, target) = d.refused("/groups", json!({ "name": "Dynamic", "userFilter": filter })).await;
        assert_eq!((status, target.as_str()), (StatusCode::BAD_REQUEST, "userFilter"), "{filter}");
    }
    assert_eq!(
        d.refused("/groups", json!({ "name": "Data", "customData": [1] })).await,
        invalid("INVALID_VALUE", "customData")
    );
    let big = json!({ "name": "Data", "customData": { "a": "x".repeat(16 * 1024) } });
    let response = app.post(&d.path("/groups")).bearer(&d.token).json(big).send().await;
    assert_ne!(response.status, StatusCode::CREATED, "customData is bounded");
    assert_eq!(d.get("/groups").await["size"], 0, "nothing was stored");

    // A group never moves between populations.
    let population = d.population("EMEA").await;
    let group = d.group(json!({ "name": "Fixed", "population": { "id": population } })).await;
    let path = d.path(&format!("/groups/{group}"));
    let moved = json!({ "name": "Fixed", "population": { "id": d.population("APAC").await } });
    let response = app.put(&path).bearer(&d.token).json(moved).send().await;
    assert_eq!(refusal(&response), invalid("INVALID_VALUE", "population.id"));
    let kept = app.put(&path).bearer(&d.token).json(json!({ "name": "Fixed" })).send().await;
    assert_eq!(kept.body["population"]["id"], population.as_str(), "{}", kept.body);
    let response = app.get(&format!("{path}?include=everything")).bearer(&d.token).send().await;
    assert_eq!(refusal(&response).0, StatusCode::BAD_REQUEST);
}

async fn deleting_a_group_takes_its_memberships_and_nestings(app: &TestApp) {
    let d = Directory::new(app, "Deletes").await;
    let ada = d.user(json!({ "username": "ada" })).await;
    let [inner, middle, outer] = [
        d.group(json!({ "name": "Inner" })).await,
        d.group(json!({ "name": "Middle" })).await,
        d.group(json!({ "name": "Outer" })).await,
    ];
    d.created(&format!("/users/{ada}/memberOfGroups"), json!({ "id": inner })).await;
    d.created(&format!("/users/{ada}/memberOfGroups"), json!({ "id": middle })).await;
    d.created(&format!("/groups/{inner}/memberOfGroups"), json!({ "id": middle })).await;
    d.created(&format!("/groups/{middle}/memberOfGroups"), json!({ "id": outer })).await;
    let response = app.delete(&d.path(&format!("/groups/{middle}"))).bearer(&d.token).send().await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert_eq!(d.groups_of(&ada).await, pairs(&[("Inner", "DIRECT")]));
    assert_eq!(d.get(&format!("/groups/{inner}/memberOfGroups")).await["size"], 0);
    assert_eq!(d.get(&format!("/groups/{outer}")).await["directMemberCounts"], json!({ "users": 0, "groups": 0 }));
    // Deleting the user takes their memberships.
    app.delete(&d.path(&format!("/users/{ada}"))).bearer(&d.token).send().await;
    assert_eq!(d.get(&format!("/groups/{inner}")).await["directMemberCounts"]["users"], 0);
}

async fn groups_and_their_nestings_are_configuration(app: &TestApp) {
    let d = Directory::new(app, "Configured").await;
    let ada = d.user(json!({ "username": "ada" })).await;
    let staff = d.group(json!({ "name": "Staff", "externalId": "s-1", "customData": { "floor": 3 } })).await;
    let everyone = d.group(json!({ "name": "Everyone", "userFilter": "username sw \"a\"" })).await;
    d.created(&format!("/groups/{staff}/memberOfGroups"), json!({ "id": everyone })).await;
    d.created(&format!("/users/{ada}/memberOfGroups"), json!({ "id": staff })).await;
    let configuration = d.path("/configuration");

    let exported = d.get("/configuration").await;
    assert_eq!(
        exported["groups"],
        json!([
            { "id": staff, "name": "Staff", "externalId": "s-1", "customData": { "floor": 3 } },
            { "id": everyone, "name": "Everyone", "userFilter": "username sw \"a\"" },
        ])
    );
    assert_eq!(exported["groupNestings"], json!([{ "group": { "id": staff }, "memberOfGroup": { "id": everyone } }]));

    // A reset keeps the groups and their nestings; their members went with the users.
    assert_eq!(app.post(&d.path("/reset")).bearer(&d.token).send().await.status, StatusCode::NO_CONTENT);
    assert_eq!(d.get("/configuration").await["groups"], exported["groups"]);
    assert_eq!(d.get(&format!("/groups/{staff}")).await["directMemberCounts"], json!({ "users": 0, "groups": 0 }));
    assert_eq!(d.get(&format!("/groups/{everyone}")).await["directMemberCounts"], json!({ "users": 0, "groups": 1 }));

    // An import checks every group and nesting before it writes anything.
    let unknown = uuid::Uuid::new_v4();
    let invalid = json!({
        "groups": [
            { "id": staff, "name": "Staff" },
            { "name": "STAFF" },
            { "name": "Lost", "population": { "id": unknown } },
        ],
        "groupNestings": [
            { "group": { "id": staff }, "memberOfGroup": { "id": unknown } },
            { "group": { "id": staff }, "memberOfGroup": { "id": staff } },
        ]
    });
    let response = app.put(&configuration).bearer(&d.token).json(invalid).send().await;
    response.expect_error(StatusCode::BAD_REQUEST, "INVALID_DATA");
    let mut targets: Vec<&str> =
        response.body["details"].as_array().unwrap().iter().map(|d| d["target"].as_str().unwrap()).collect();
    targets.sort();
    assert_eq!(
        targets,
        [
            "groupNestings[0].memberOfGroup.id",
            "groupNestings[1].memberOfGroup.id",
            "groups[1].name",
            "groups[2].population.id",
        ]
    );
    let unreadable = json!({ "groups": [{ "name": "Filtered", "userFilter": "title eq \"x\"" }] });
    let response = app.put(&configuration).bearer(&d.token).json(unreadable).send().await;
    assert_eq!(refusal(&response).2, "groups[0].userFilter");
    assert_eq!(d.get("/configuration").await["groups"], exported["groups"], "nothing was written");
    let orphans = json!({ "groupNestings": [{ "group": { "id": staff }, "memberOfGroup": { "id": everyone } }] });
    let response = app.put(&configuration).bearer(&d.token).json(orphans).send().await;
    assert_eq!(refusal(&response).2, "groupNestings");

    // Imported, the groups replace the environment's; an import without them keeps them.
    let replaced = json!({ "groups": [{ "id": everyone, "name": "All" }, { "name": "New" }], "groupNestings": [] });
    let response = app.put(&configuration).bearer(&d.token).json(replaced).send().await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let names: Vec<&str> =
        response.body["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["All", "New"]);
    app.get(&d.path(&format!("/groups/{staff}")))
        .bearer(&d.token)
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let response = app.put(&configuration).bearer(&d.token).json(json!({})).send().await;
    assert_eq!(response.body["groups"].as_array().unwrap().len(), 2, "{}", response.body);

    // Without their ids, the groups import into another environment.
    let other = Directory::new(app, "Copy").await;
    let mut groups = d.get("/configuration").await["groups"].clone();
    for group in groups.as_array_mut().unwrap() {
        group.as_object_mut().unwrap().remove("id");
    }
    let copy = json!({ "groups": groups });
    let response = app.put(&other.path("/configuration")).bearer(&other.token).json(copy).send().await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(other.get("/groups").await["size"], 2);
}
