//! Groups: their names, limits, direct members, nestings and the walks over them.

use std::collections::HashSet;

use uuid::Uuid;

use super::{create_environment, issuer_profile, user};
use crate::configuration::{Configuration, GroupConfiguration};
use crate::group::{
    Group, GroupFields, GroupNode, GroupWrite, MAX_DYNAMIC_GROUPS_PER_ENVIRONMENT, MAX_OUTER_GROUPS_PER_GROUP,
    MemberAdded, Nested, Nesting, UserFilterText,
};
use crate::mfa::DevicePolicy;
use crate::page::PageRequest;
use crate::population::{Population, PopulationFields};
use crate::time::{new_id, now};
use crate::{Store, StoreError};

/// A group of the environment, or of `population`, written to the store.
async fn group<S: Store>(store: &S, environment_id: Uuid, name: &str, population_id: Option<Uuid>) -> Group {
    let fields = GroupFields {
        name: name.into(),
        description: Some("tests".into()),
        population_id,
        user_filter: None,
        external_id: None,
        custom_data: None,
    };
    let group = Group::new(new_id(), environment_id, fields, now());
    assert_eq!(store.create_group(&group).await.unwrap(), GroupWrite::Written);
    group
}

async fn population<S: Store>(store: &S, environment_id: Uuid, name: &str) -> Uuid {
    let fields = PopulationFields { name: name.into(), default: None, ..PopulationFields::initial_default() };
    let population = Population::new(new_id(), environment_id, fields, now());
    store.create_population(&population).await.unwrap();
    population.id
}

fn ids<'a>(groups: impl IntoIterator<Item = &'a GroupNode>) -> HashSet<Uuid> {
    groups.into_iter().map(|g| g.id).collect()
}

pub(super) async fn groups_round_trip_and_names_are_unique_as_pingone_says<S: Store>(store: &S) {
    let env = create_environment(store, "Groups").await;
    let other = create_environment(store, "Other").await;
    let (emea, apac) = (population(store, env.id, "EMEA").await, population(store, env.id, "APAC").await);
    let sales = group(store, env.id, "Sales", None).await;
    assert_eq!(store.group(env.id, sales.id).await.unwrap(), sales);
    assert!(matches!(store.group(other.id, sales.id).await, Err(StoreError::NotFound)));

    let named = |name: &str, population_id| {
        let fields = GroupFields {
            name: name.into(),
            description: None,
            population_id,
            user_filter: None,
            external_id: None,
            custom_data: None,
        };
        Group::new(new_id(), env.id, fields, now())
    };
    // An environment group's name is taken for every group of the environment.
    assert!(matches!(store.create_group(&named("SALES", None)).await, Err(StoreError::Conflict)));
    assert!(matches!(store.create_group(&named("sales", Some(emea))).await, Err(StoreError::Conflict)));
    // Populations' groups may share a name, but not with an environment group.
    group(store, env.id, "Support", Some(emea)).await;
    group(store, env.id, "support", Some(apac)).await;
    assert!(matches!(store.create_group(&named("SUPPORT", Some(emea))).await, Err(StoreError::Conflict)));
    assert!(matches!(store.create_group(&named("Support", None)).await, Err(StoreError::Conflict)));
    group(store, other.id, "Sales", None).await;

    let mut renamed = sales.clone();
    renamed.name = "support".into();
    assert!(matches!(store.update_group(&renamed).await, Err(StoreError::Conflict)));
    renamed.name = "Sales and marketing".into();
    renamed.user_filter = Some(r#"email sw "ada@""#.into());
    assert_eq!(store.update_group(&renamed).await.unwrap(), GroupWrite::Written);
    assert_eq!(store.group(env.id, sales.id).await.unwrap(), renamed);
    assert_eq!(ids(&store.dynamic_groups(env.id).await.unwrap()), HashSet::from([sales.id]));
    assert!(matches!(
        store.update_group(&Group { environment_id: other.id, ..renamed.clone() }).await,
        Err(StoreError::NotFound)
    ));

    let first = store.groups(env.id, PageRequest::first(2)).await.unwrap();
    assert!(first.has_more);
    let rest = store.groups(env.id, PageRequest { limit: 2, after: first.items.last().map(|g| g.id) }).await.unwrap();
    assert_eq!((first.items.len() + rest.items.len(), rest.has_more), (3, false));

    assert!(matches!(store.delete_group(other.id, sales.id).await, Err(StoreError::NotFound)));
    store.delete_group(env.id, sales.id).await.unwrap();
    assert!(matches!(store.group(env.id, sales.id).await, Err(StoreError::NotFound)));
    // A population's groups go with it.
    let empty = population(store, env.id, "Empty").await;
    let doomed = group(store, env.id, "Doomed", Some(empty)).await;
    store.delete_population(env.id, empty).await.unwrap();
    assert!(matches!(store.group(env.id, doomed.id).await, Err(StoreError::NotFound)));
}

pub(super) async fn an_environment_holds_a_bounded_number_of_dynamic_groups<S: Store>(store: &S) {
    let env = create_environment(store, "Dynamic").await;
    let dynamic = |name: String| {
        let fields = GroupFields {
            name,
            description: None,
            population_id: None,
            user_filter: Some(UserFilterText::parse(r#"username sw "a""#).unwrap()),
            external_id: None,
            custom_data: None,
        };
        Group::new(new_id(), env.id, fields, now())
    };
    for i in 0..MAX_DYNAMIC_GROUPS_PER_ENVIRONMENT {
        assert_eq!(store.create_group(&dynamic(format!("g{i}"))).await.unwrap(), GroupWrite::Written);
    }
    assert_eq!(store.create_group(&dynamic("one more".into())).await.unwrap(), GroupWrite::TooManyDynamicGroups);
    let mut plain = group(store, env.id, "plain", None).await;
    plain.user_filter = Some(r#"username sw "b""#.into());
    assert_eq!(store.update_group(&plain).await.unwrap(), GroupWrite::TooManyDynamicGroups);
    // A dynamic group may still be changed.
    let first = store.dynamic_groups(env.id).await.unwrap()[0].id;
    let mut first = store.group(env.id, first).await.unwrap();
    first.name = "renamed".into();
    assert_eq!(store.update_group(&first).await.unwrap(), GroupWrite::Written);
}

pub(super) async fn users_are_added_once_and_only_to_their_populations_groups<S: Store>(store: &S) {
    let env = create_environment(store, "Members").await;
    let other = create_environment(store, "Other").await;
    let emea = population(store, env.id, "EMEA").await;
    let ada = user(env.id, "ada", None);
    let bob = user(env.id, "bob", None);
    for u in [&ada, &bob] {
        store.create_user(u).await.unwrap();
    }
    let everyone = group(store, env.id, "Everyone", None).await;
    let default_only = group(store, env.id, "Default people", Some(env.id)).await;
    let emea_only = group(store, env.id, "EMEA people", Some(emea)).await;

    assert_eq!(store.add_group_member(env.id, ada.id, everyone.id).await.unwrap(), MemberAdded::Added);
    assert_eq!(store.add_group_member(env.id, ada.id, everyone.id).await.unwrap(), MemberAdded::AlreadyMember);
    assert_eq!(store.add_group_member(env.id, ada.id, default_only.id).await.unwrap(), MemberAdded::Added);
    assert_eq!(store.add_group_member(env.id, ada.id, emea_only.id).await.unwrap(), MemberAdded::OtherPopulation);
    assert_eq!(store.add_group_member(env.id, bob.id, everyone.id).await.unwrap(), MemberAdded::Added);
    assert!(matches!(store.add_group_member(other.id, ada.id, everyone.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.add_group_member(env.id, ada.id, new_id()).await, Err(StoreError::NotFound)));
    assert!(matches!(store.add_group_member(env.id, new_id(), everyone.id).await, Err(StoreError::NotFound)));

    let direct = store.direct_groups(env.id, &[ada.id, bob.id]).await.unwrap();
    let expected = HashSet::from([(ada.id, everyone.id), (ada.id, default_only.id), (bob.id, everyone.id)]);
    assert_eq!(direct.into_iter().collect::<HashSet<_>>(), expected);
    assert!(store.direct_groups(other.id, &[ada.id]).await.unwrap().is_empty());
    let mut both = vec![ada.id, bob.id];
    both.sort();
    assert_eq!(store.direct_members(env.id, &[everyone.id, default_only.id]).await.unwrap(), both);
    assert_eq!(store.group(env.id, everyone.id).await.unwrap().direct_users, 2);

    // Moving to another population leaves the groups of the one left, and only those.
    let mut moved = ada.clone();
    moved.population_id = emea;
    store.update_user(&moved).await.unwrap();
    let left: HashSet<_> = store.direct_groups(env.id, &[ada.id]).await.unwrap().into_iter().collect();
    assert_eq!(left, HashSet::from([(ada.id, everyone.id)]));
    assert_eq!(store.add_group_member(env.id, ada.id, emea_only.id).await.unwrap(), MemberAdded::Added);

    assert!(matches!(store.remove_group_member(other.id, bob.id, everyone.id).await, Err(StoreError::NotFound)));
    store.remove_group_member(env.id, bob.id, everyone.id).await.unwrap();
    assert!(matches!(store.remove_group_member(env.id, bob.id, everyone.id).await, Err(StoreError::NotFound)));
    store.delete_user(env.id, ada.id).await.unwrap();
    assert!(store.direct_members(env.id, &[everyone.id, emea_only.id]).await.unwrap().is_empty());
}

pub(super) async fn nestings_are_walked_up_and_down_through_cycles<S: Store>(store: &S) {
    let env = create_environment(store, "Nestings").await;
    let other = create_environment(store, "Other").await;
    let [a, b, c, d] = [
        group(store, env.id, "A", None).await,
        group(store, env.id, "B", None).await,
        group(store, env.id, "C", None).await,
        group(store, env.id, "D", None).await,
    ];
    let foreign = group(store, other.id, "A", None).await;
    // A is in B, B in C and C in B: a cycle, which PingOne allows.
    for (inner, outer) in [(&a, &b), (&b, &c), (&c, &b)] {
        assert_eq!(store.add_group_nesting(env.id, inner.id, outer.id).await.unwrap(), Nested::Nested);
    }
    assert_eq!(store.add_group_nesting(env.id, a.id, b.id).await.unwrap(), Nested::AlreadyNested);
    assert!(matches!(store.add_group_nesting(env.id, a.id, foreign.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.add_group_nesting(other.id, a.id, b.id).await, Err(StoreError::NotFound)));

    let above = store.groups_above(env.id, &[a.id]).await.unwrap();
    assert_eq!(ids(&above.groups), HashSet::from([a.id, b.id, c.id]));
    let nestings: HashSet<Nesting> = above.nestings.into_iter().collect();
    let nesting = |inner: &Group, outer: &Group| Nesting { inner: inner.id, outer: outer.id };
    assert_eq!(nestings, HashSet::from([nesting(&a, &b), nesting(&b, &c), nesting(&c, &b)]));
    assert_eq!(ids(&store.groups_above(env.id, &[d.id]).await.unwrap().groups), HashSet::from([d.id]));
    assert!(store.groups_above(other.id, &[a.id]).await.unwrap().groups.is_empty());
    assert_eq!(ids(&store.groups_below(env.id, c.id).await.unwrap()), HashSet::from([a.id, b.id, c.id]));
    assert_eq!(ids(&store.groups_below(env.id, a.id).await.unwrap()), HashSet::from([a.id]));
    assert!(store.groups_below(other.id, c.id).await.unwrap().is_empty());
    assert_eq!(store.group(env.id, b.id).await.unwrap().direct_groups, 2);

    assert!(matches!(store.remove_group_nesting(other.id, a.id, b.id).await, Err(StoreError::NotFound)));
    store.remove_group_nesting(env.id, c.id, b.id).await.unwrap();
    assert!(matches!(store.remove_group_nesting(env.id, c.id, b.id).await, Err(StoreError::NotFound)));
    // Deleting B undoes its nestings both ways.
    store.delete_group(env.id, b.id).await.unwrap();
    assert_eq!(ids(&store.groups_above(env.id, &[a.id]).await.unwrap().groups), HashSet::from([a.id]));
    assert_eq!(ids(&store.groups_below(env.id, c.id).await.unwrap()), HashSet::from([c.id]));
}

pub(super) async fn a_group_is_nested_in_a_bounded_number_of_groups<S: Store>(store: &S) {
    let env = create_environment(store, "Outer").await;
    let inner = group(store, env.id, "inner", None).await;
    for i in 0..MAX_OUTER_GROUPS_PER_GROUP {
        let outer = group(store, env.id, &format!("outer {i}"), None).await;
        assert_eq!(store.add_group_nesting(env.id, inner.id, outer.id).await.unwrap(), Nested::Nested);
    }
    let last = group(store, env.id, "one more", None).await;
    assert_eq!(store.add_group_nesting(env.id, inner.id, last.id).await.unwrap(), Nested::LimitReached);
}

pub(super) async fn groups_are_replaced_by_an_import_and_kept_by_a_reset<S: Store>(store: &S) {
    let env = create_environment(store, "Configured").await;
    let emea = population(store, env.id, "EMEA").await;
    let staff = group(store, env.id, "Staff", None).await;
    let everyone = group(store, env.id, "Everyone", Some(env.id)).await;
    store.add_group_nesting(env.id, staff.id, everyone.id).await.unwrap();
    let ada = user(env.id, "ada", None);
    store.create_user(&ada).await.unwrap();
    store.add_group_member(env.id, ada.id, staff.id).await.unwrap();
    let initial = |environment_id| {
        Configuration::initial(
            issuer_profile(environment_id, "Configured", 3),
            DevicePolicy::initial(environment_id, new_id(), now()),
        )
    };

    // A reset keeps the groups and their nestings; the members go with the users.
    store.reset_environment(&initial(env.id)).await.unwrap();
    let kept = store.group(env.id, staff.id).await.unwrap();
    assert_eq!((kept.direct_users, store.group(env.id, everyone.id).await.unwrap().direct_groups), (0, 1));

    // An import replaces them, nestings and all.
    let fields = |name: &str, population_id, user_filter: Option<&str>| GroupFields {
        name: name.into(),
        description: None,
        population_id,
        user_filter: user_filter.map(|f| UserFilterText::parse(f).unwrap()),
        external_id: Some("ext".into()),
        custom_data: None,
    };
    let outer = Group::new(new_id(), env.id, fields("Outer", None, None), now());
    let inner = Group::new(new_id(), env.id, fields("Inner", Some(emea), Some(r#"username sw "a""#)), now());
    let groups = GroupConfiguration {
        groups: vec![outer.clone(), inner.clone()],
        nestings: vec![Nesting { inner: inner.id, outer: outer.id }],
    };
    let imported = Configuration { groups: Some(groups.clone()), ..initial(env.id) };
    assert!(store.replace_configuration(&imported).await.unwrap());
    let listed = store.groups(env.id, PageRequest::first(10)).await.unwrap().items;
    assert_eq!(listed, vec![Group { direct_groups: 1, ..outer.clone() }, inner.clone()]);
    assert!(matches!(store.group(env.id, staff.id).await, Err(StoreError::NotFound)));
    // Without groups, an import leaves them.
    assert!(store.replace_configuration(&initial(env.id)).await.unwrap());
    assert_eq!(store.groups(env.id, PageRequest::first(10)).await.unwrap().items.len(), 2);

    // Ids another environment holds: a conflict, and nothing written.
    let other = create_environment(store, "Other").await;
    let theirs = group(store, other.id, "Theirs", None).await;
    let moved = groups.groups.iter().map(|g| Group { environment_id: other.id, ..g.clone() }).collect();
    let taken = GroupConfiguration { groups: moved, nestings: groups.nestings };
    let taken = Configuration { groups: Some(taken), ..initial(other.id) };
    assert!(matches!(store.replace_configuration(&taken).await, Err(StoreError::Conflict)));
    assert_eq!(store.groups(other.id, PageRequest::first(10)).await.unwrap().items, vec![theirs]);
}
