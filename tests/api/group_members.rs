//! Who is in a group: users added to it, users its `userFilter` selects, members of the
//! groups nested in it, and a user's groups read back three ways.

use axum::http::StatusCode;
use serde_json::json;

use crate::groups::{Directory, encoded, id, memberships, pairs, refusal};
use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    users_are_members_when_added_and_when_selected,
    nested_groups_pass_their_members_up_even_in_a_cycle,
    population_groups_follow_their_population,
    a_users_groups_are_read_three_ways,
);

async fn users_are_members_when_added_and_when_selected(app: &TestApp) {
    let d = Directory::new(app, "Members").await;
    let ada = d.user(json!({ "username": "ada", "email": "ada@managers.example.com" })).await;
    let bob = d.user(json!({ "username": "bob", "email": "bob@example.com" })).await;
    let staff = d.group(json!({ "name": "Staff" })).await;
    let managers = d.group(json!({ "name": "Managers", "userFilter": "email sw \"ada@\"" })).await;

    let added = d.created(&format!("/users/{bob}/memberOfGroups"), json!({ "id": staff })).await;
    assert_eq!(
        (added["id"].as_str(), added["name"].as_str(), added["type"].as_str()),
        (Some(staff.as_str()), Some("Staff"), Some("DIRECT"))
    );
    let membership = d.path(&format!("/users/{bob}/memberOfGroups/{staff}"));
    assert_eq!(added["_links"]["self"]["href"], format!("https://credd.test{membership}"));
    // A dynamic group takes members added to it too.
    d.created(&format!("/users/{bob}/memberOfGroups"), json!({ "id": managers })).await;
    d.created(&format!("/users/{ada}/memberOfGroups"), json!({ "id": staff })).await;

    assert_eq!(d.groups_of(&bob).await, pairs(&[("Staff", "DIRECT"), ("Managers", "DIRECT")]));
    assert_eq!(d.groups_of(&ada).await, pairs(&[("Staff", "DIRECT"), ("Managers", "INDIRECT")]));
    let one = d.get(&format!("/users/{ada}/memberOfGroups/{managers}?expand=group")).await;
    assert_eq!(
        (one["type"].as_str(), one["_embedded"]["group"]["name"].as_str()),
        (Some("INDIRECT"), Some("Managers"))
    );
    let expanded =
        d.get(&format!("/users/{ada}/memberOfGroups?expand=group&filter={}", encoded(r#"type eq "DIRECT""#))).await;
    assert_eq!(memberships(&expanded), pairs(&[("Staff", "DIRECT")]));
    assert_eq!(expanded["_embedded"]["groupMemberships"][0]["_embedded"]["group"]["id"], staff.as_str());
    let paged = d.get(&format!("/users/{bob}/memberOfGroups?limit=1")).await;
    assert_eq!(memberships(&paged), pairs(&[("Staff", "DIRECT")]));
    assert!(paged["_links"]["next"]["href"].is_string());

    let counts = d.get(&format!("/groups/{managers}?include=totalMemberCounts")).await;
    assert_eq!(counts["directMemberCounts"], json!({ "users": 1, "groups": 0 }));
    assert_eq!(counts["totalMemberCounts"], json!({ "users": 2 }), "bob added, ada selected");

    // PingOne's refusals.
    let members = format!("/users/{ada}/memberOfGroups");
    assert_eq!(d.refused(&members, json!({ "id": staff })).await.0, StatusCode::CONFLICT);
    let unknown = json!({ "id": uuid::Uuid::new_v4() });
    assert_eq!(
        d.refused(&members, unknown.clone()).await,
        (StatusCode::BAD_REQUEST, "INVALID_VALUE".into(), "id".into())
    );
    assert_eq!(d.refused(&members, json!({})).await, (StatusCode::BAD_REQUEST, "REQUIRED_VALUE".into(), "id".into()));
    let response = app
        .post(&d.path(&format!("/users/{}/memberOfGroups", uuid::Uuid::new_v4())))
        .bearer(&d.token)
        .json(json!({ "id": staff }))
        .send()
        .await;
    response.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    // Only a direct membership is removed; one through the userFilter stays.
    let remove = |user: &str, group: &str| {
        app.delete(&d.path(&format!("/users/{user}/memberOfGroups/{group}"))).bearer(&d.token).send()
    };
    assert_eq!(remove(&bob, &managers).await.status, StatusCode::NO_CONTENT);
    assert_eq!(d.groups_of(&bob).await, pairs(&[("Staff", "DIRECT")]));
    assert_eq!(refusal(&remove(&ada, &managers).await).0, StatusCode::BAD_REQUEST);
    remove(&bob, &managers).await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.get(&d.path(&format!("/users/{bob}/memberOfGroups/{managers}")))
        .bearer(&d.token)
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

async fn nested_groups_pass_their_members_up_even_in_a_cycle(app: &TestApp) {
    let d = Directory::new(app, "Nesting").await;
    let ada = d.user(json!({ "username": "ada" })).await;
    let [engineering, staff, everyone] = [
        d.group(json!({ "name": "Engineering" })).await,
        d.group(json!({ "name": "Staff" })).await,
        d.group(json!({ "name": "Everyone" })).await,
    ];
    d.created(&format!("/users/{ada}/memberOfGroups"), json!({ "id": engineering })).await;
    let nested = d.created(&format!("/groups/{engineering}/memberOfGroups"), json!({ "id": staff })).await;
    assert_eq!(
        (nested["id"].as_str(), nested["name"].as_str(), nested["type"].as_str()),
        (Some(staff.as_str()), Some("Staff"), Some("DIRECT"))
    );
    d.created(&format!("/groups/{staff}/memberOfGroups"), json!({ "id": everyone })).await;
    assert_eq!(
        d.groups_of(&ada).await,
        pairs(&[("Engineering", "DIRECT"), ("Staff", "INDIRECT"), ("Everyone", "INDIRECT")])
    );
    let nestings = d.get(&format!("/groups/{engineering}/memberOfGroups")).await;
    assert_eq!(memberships(&nestings), pairs(&[("Staff", "DIRECT"), ("Everyone", "INDIRECT")]));
    let one = d.get(&format!("/groups/{engineering}/memberOfGroups/{everyone}")).await;
    assert_eq!(one["type"], "INDIRECT");
    assert_eq!(d.get(&format!("/groups/{everyone}?include=totalMemberCounts")).await["totalMemberCounts"]["users"], 1);
    assert_eq!(d.get(&format!("/groups/{staff}")).await["directMemberCounts"], json!({ "users": 0, "groups": 1 }));

    // A cycle, as PingOne allows: every group on it has all their members.
    d.created(&format!("/groups/{everyone}/memberOfGroups"), json!({ "id": engineering })).await;
    assert_eq!(
        d.groups_of(&ada).await,
        pairs(&[("Engineering", "DIRECT"), ("Staff", "INDIRECT"), ("Everyone", "INDIRECT")])
    );
    let nestings = d.get(&format!("/groups/{staff}/memberOfGroups")).await;
    assert_eq!(memberships(&nestings), pairs(&[("Engineering", "INDIRECT"), ("Everyone", "DIRECT")]));

    // Refusals: itself, twice, nothing, and an environment group inside a population's.
    let nest = |group: &str| format!("/groups/{group}/memberOfGroups");
    assert_eq!(
        d.refused(&nest(&staff), json!({ "id": staff })).await,
        (StatusCode::BAD_REQUEST, "INVALID_VALUE".into(), "id".into())
    );
    assert_eq!(d.refused(&nest(&staff), json!({ "id": everyone })).await.0, StatusCode::CONFLICT);
    let unknown = json!({ "id": uuid::Uuid::new_v4() });
    assert_eq!(d.refused(&nest(&staff), unknown).await, (StatusCode::BAD_REQUEST, "INVALID_VALUE".into(), "id".into()));
    let population = d.population("EMEA").await;
    let emea = d.group(json!({ "name": "EMEA", "population": { "id": population } })).await;
    assert_eq!(d.refused(&nest(&staff), json!({ "id": emea })).await.0, StatusCode::BAD_REQUEST);
    let emea_team = d.group(json!({ "name": "EMEA team", "population": { "id": population } })).await;
    d.created(&nest(&emea_team), json!({ "id": emea })).await;
    d.created(&nest(&emea_team), json!({ "id": everyone })).await;

    // Undoing: a direct nesting goes; an indirect one is refused.
    let undo = |group: &str, outer: &str| {
        app.delete(&d.path(&format!("/groups/{group}/memberOfGroups/{outer}"))).bearer(&d.token).send()
    };
    assert_eq!(refusal(&undo(&engineering, &everyone).await).0, StatusCode::BAD_REQUEST);
    assert_eq!(undo(&engineering, &staff).await.status, StatusCode::NO_CONTENT);
    undo(&engineering, &staff).await.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    assert_eq!(d.groups_of(&ada).await, pairs(&[("Engineering", "DIRECT")]));
}

async fn population_groups_follow_their_population(app: &TestApp) {
    let d = Directory::new(app, "Populations").await;
    let (emea, apac) = (d.population("EMEA").await, d.population("APAC").await);
    let ada = d.user(json!({ "username": "ada", "population": { "id": emea } })).await;
    let emea_staff = d.group(json!({ "name": "EMEA staff", "population": { "id": emea } })).await;
    let apac_staff = d.group(json!({ "name": "APAC staff", "population": { "id": apac } })).await;
    for (name, population) in [("APAC all", Some(apac.clone())), ("Everyone", None)] {
        let population = population.map(|id| json!({ "id": id }));
        d.group(json!({ "name": name, "population": population, "userFilter": "username sw \"a\"" })).await;
    }

    let members = format!("/users/{ada}/memberOfGroups");
    assert_eq!(
        d.refused(&members, json!({ "id": apac_staff })).await,
        (StatusCode::BAD_REQUEST, "INVALID_VALUE".into(), "id".into())
    );
    d.created(&members, json!({ "id": emea_staff })).await;
    assert_eq!(d.groups_of(&ada).await, pairs(&[("EMEA staff", "DIRECT"), ("Everyone", "INDIRECT")]));

    // Moved to APAC, she leaves EMEA's groups and APAC's dynamic group selects her.
    let moved =
        app.put(&d.path(&format!("/users/{ada}/population"))).bearer(&d.token).json(json!({ "id": apac })).send().await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(d.groups_of(&ada).await, pairs(&[("APAC all", "INDIRECT"), ("Everyone", "INDIRECT")]));

    // A population's groups go with it.
    let empty = d.population("Empty").await;
    let doomed = d.group(json!({ "name": "Doomed", "population": { "id": empty } })).await;
    let response = app.delete(&d.path(&format!("/populations/{empty}"))).bearer(&d.token).send().await;
    assert_eq!(response.status, StatusCode::NO_CONTENT, "{}", response.body);
    let response = app.get(&d.path(&format!("/groups/{doomed}"))).bearer(&d.token).send().await;
    response.expect_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

/// The groups a user is in: on the user (`include`), as the user's memberships, and
/// by filtering the users list on them (PingOne's `memberOfGroups[id eq "…"]`).
async fn a_users_groups_are_read_three_ways(app: &TestApp) {
    let d = Directory::new(app, "Three ways").await;
    let ada = d.user(json!({ "username": "ada", "name": { "family": "demo" } })).await;
    let bob = d.user(json!({ "username": "bob", "name": { "family": "demo" } })).await;
    let cy = d.user(json!({ "username": "cy" })).await;
    let dee = d.user(json!({ "username": "dee", "name": { "family": "demo" } })).await;
    let [staff, engineering, bees] = [
        d.group(json!({ "name": "Staff" })).await,
        d.group(json!({ "name": "Engineering" })).await,
        d.group(json!({ "name": "Bees", "userFilter": "username sw \"b\"" })).await,
    ];
    d.created(&format!("/groups/{engineering}/memberOfGroups"), json!({ "id": staff })).await;
    d.created(&format!("/groups/{bees}/memberOfGroups"), json!({ "id": staff })).await;
    d.created(&format!("/users/{ada}/memberOfGroups"), json!({ "id": staff })).await;
    d.created(&format!("/users/{cy}/memberOfGroups"), json!({ "id": engineering })).await;

    // 1. On the user, as PingOne's include answers: every group, however the user is in it.
    let user = d.get(&format!("/users/{bob}?include=memberOfGroupIDs,memberOfGroupNames")).await;
    assert_eq!(user["memberOfGroupIDs"], json!([staff, bees]));
    assert_eq!(user["memberOfGroupNames"], json!(["Staff", "Bees"]));
    let user = d.get(&format!("/users/{cy}?include=memberOfGroupNames")).await;
    assert_eq!(
        (user["memberOfGroupNames"].clone(), user.get("memberOfGroupIDs")),
        (json!(["Staff", "Engineering"]), None)
    );
    let plain = d.get(&format!("/users/{dee}")).await;
    assert!(plain.get("memberOfGroupIDs").is_none() && plain.get("memberOfGroupNames").is_none());
    assert_eq!(d.get(&format!("/users/{dee}?include=memberOfGroupIDs")).await["memberOfGroupIDs"], json!([]));
    let response = app.get(&d.path(&format!("/users/{dee}?include=everything"))).bearer(&d.token).send().await;
    assert_eq!(refusal(&response), (StatusCode::BAD_REQUEST, "INVALID_VALUE".into(), "include".into()));

    // 2. As the user's memberships.
    assert_eq!(d.groups_of(&cy).await, pairs(&[("Staff", "INDIRECT"), ("Engineering", "DIRECT")]));

    // 3. By the users list's filter, alone, with `and` as PingOne's example has it, and with `or`.
    let users = |filter: String| {
        let rest = format!("/users?filter={}", encoded(&filter));
        let d = &d;
        async move {
            let list = d.get(&rest).await;
            let ids: Vec<String> = list["_embedded"]["users"].as_array().unwrap().iter().map(id).collect();
            assert_eq!(list["count"], ids.len(), "{list}");
            ids
        }
    };
    assert_eq!(users(format!(r#"memberOfGroups[id eq "{staff}"]"#)).await, [ada.as_str(), &bob, &cy]);
    assert_eq!(
        users(format!(r#"memberOfGroups[id eq "{staff}"] and name.family eq "demo""#)).await,
        [ada.as_str(), &bob]
    );
    assert_eq!(users(format!(r#"memberOfGroups[id eq "{bees}"] or username eq "dee""#)).await, [bob.as_str(), &dee]);
    assert_eq!(users(r#"memberOfGroups[name sw "eng"]"#.into()).await, [cy.as_str()]);
    let both = format!(r#"memberOfGroups[id eq "{staff}"] and memberOfGroups[id eq "{engineering}"]"#);
    assert_eq!(users(both).await, [cy.as_str()]);
    // Paged, to the end through `_links.next`.
    let mut next =
        Some(d.path(&format!("/users?limit=1&filter={}", encoded(&format!(r#"memberOfGroups[id eq "{staff}"]"#)))));
    let mut seen = Vec::new();
    while let Some(path) = next {
        let page = app.get(&path).bearer(&d.token).send().await.body;
        assert_eq!(page["count"], 3);
        seen.extend(page["_embedded"]["users"].as_array().unwrap().iter().map(id));
        next =
            page["_links"]["next"]["href"].as_str().map(|h| h.strip_prefix("https://credd.test").unwrap().to_owned());
    }
    assert_eq!(seen, [ada, bob, cy]);
    let response = app
        .get(&d.path(&format!("/users?filter={}", encoded(r#"memberOfGroups eq "x""#))))
        .bearer(&d.token)
        .send()
        .await;
    assert_eq!(refusal(&response), (StatusCode::BAD_REQUEST, "INVALID_FILTER".into(), "filter".into()));
    let response = app.get(&d.path("/users?include=memberOfGroupIDs")).bearer(&d.token).send().await;
    assert_eq!(refusal(&response).0, StatusCode::BAD_REQUEST);
}
