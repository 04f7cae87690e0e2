//! Populations: one default per environment, unique names, user counts, and deletes
//! refused while users remain.

use super::{create_environment, issuer_profile, user};
use crate::configuration::Configuration;
use crate::mfa::DevicePolicy;
use crate::page::PageRequest;
use crate::population::{Population, PopulationFields};
use crate::time::{new_id, now};
use crate::user::{User, UserFilter, UserPatch};
use crate::{Store, StoreError};

fn population(environment_id: uuid::Uuid, name: &str, default: bool) -> Population {
    let fields = PopulationFields {
        name: name.into(),
        description: Some(format!("{name} users")),
        default: Some(default),
        password_policy_id: Some(new_id()),
        theme_id: None,
        preferred_language: Some("fr".into()),
        alternative_identifiers: vec!["emea".into(), "europe".into()],
    };
    Population::new(new_id(), environment_id, fields, now())
}

/// `user` in `population` instead of the environment's default.
fn member(population: &Population, username: &str) -> User {
    User { population_id: population.id, ..user(population.environment_id, username, None) }
}

pub(super) async fn populations_round_trip_and_count_their_users<S: Store>(store: &S) {
    let env = create_environment(store, "Populations").await;
    let mut emea = population(env.id, "EMEA", false);
    store.create_population(&emea).await.unwrap();
    assert_eq!(store.population(env.id, emea.id).await.unwrap(), emea);
    for name in ["ada", "bob"] {
        store.create_user(&member(&emea, name)).await.unwrap();
    }
    store.create_user(&user(env.id, "cy", None)).await.unwrap();
    assert_eq!(store.population(env.id, emea.id).await.unwrap().user_count, 2);
    assert_eq!(store.default_population(env.id).await.unwrap().user_count, 1);

    emea.name = "Europe".into();
    emea.description = None;
    emea.alternative_identifiers.clear();
    emea.password_policy_id = None;
    emea.updated_at = now();
    store.update_population(&emea).await.unwrap();
    assert_eq!(store.population(env.id, emea.id).await.unwrap(), Population { user_count: 2, ..emea.clone() });

    let page = store.populations(env.id, PageRequest::first(10)).await.unwrap();
    assert_eq!(page.items.iter().map(|p| p.id).collect::<Vec<_>>(), {
        let mut ids = vec![env.id, emea.id];
        ids.sort();
        ids
    });
    let first = store.populations(env.id, PageRequest::first(1)).await.unwrap();
    assert!(first.has_more);
}

pub(super) async fn population_names_are_unique_per_environment_whatever_their_case<S: Store>(store: &S) {
    let a = create_environment(store, "A").await;
    let b = create_environment(store, "B").await;
    store.create_population(&population(a.id, "Staff", false)).await.unwrap();
    assert!(matches!(store.create_population(&population(a.id, "STAFF", false)).await, Err(StoreError::Conflict)));
    assert!(matches!(store.create_population(&population(a.id, "Default", false)).await, Err(StoreError::Conflict)));
    store.create_population(&population(b.id, "staff", false)).await.unwrap();
    let mut other = population(a.id, "Other", false);
    store.create_population(&other).await.unwrap();
    other.name = "staff".into();
    assert!(matches!(store.update_population(&other).await, Err(StoreError::Conflict)));
    assert!(matches!(store.create_population(&population(new_id(), "Lost", false)).await, Err(StoreError::NotFound)));
}

pub(super) async fn one_population_is_the_default_and_the_flag_moves<S: Store>(store: &S) {
    let env = create_environment(store, "Default").await;
    let mut staff = population(env.id, "Staff", true);
    store.create_population(&staff).await.unwrap();
    assert_eq!(store.default_population(env.id).await.unwrap().id, staff.id);
    assert!(!store.population(env.id, env.id).await.unwrap().default);

    let mut first = store.population(env.id, env.id).await.unwrap();
    first.default = true;
    store.update_population(&first).await.unwrap();
    assert_eq!(store.default_population(env.id).await.unwrap().id, first.id);
    // Writing the default as not default leaves it default: another takes the flag.
    first.default = false;
    store.update_population(&first).await.unwrap();
    assert_eq!(store.default_population(env.id).await.unwrap().id, first.id);

    // An update that finds no population moves nothing.
    staff.default = true;
    let elsewhere = create_environment(store, "Elsewhere").await;
    assert!(matches!(
        store.update_population(&Population { environment_id: elsewhere.id, ..staff.clone() }).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.default_population(elsewhere.id).await.unwrap().id, elsewhere.id);
    let defaults = store.populations(env.id, PageRequest::first(10)).await.unwrap().items;
    assert_eq!(defaults.iter().filter(|p| p.default).count(), 1);
}

pub(super) async fn populations_with_users_and_the_default_stay<S: Store>(store: &S) {
    let env = create_environment(store, "Deletes").await;
    let staff = population(env.id, "Staff", false);
    store.create_population(&staff).await.unwrap();
    let ada = member(&staff, "ada");
    store.create_user(&ada).await.unwrap();
    assert!(matches!(store.delete_population(env.id, staff.id).await, Err(StoreError::Conflict)));
    assert!(matches!(store.delete_population(env.id, env.id).await, Err(StoreError::Conflict)));
    assert!(matches!(store.delete_population(env.id, new_id()).await, Err(StoreError::NotFound)));
    let other = create_environment(store, "Other").await;
    assert!(matches!(store.delete_population(other.id, staff.id).await, Err(StoreError::NotFound)));

    store.delete_user(env.id, ada.id).await.unwrap();
    store.delete_population(env.id, staff.id).await.unwrap();
    assert!(matches!(store.population(env.id, staff.id).await, Err(StoreError::NotFound)));
}

pub(super) async fn users_live_in_a_population_of_their_environment<S: Store>(store: &S) {
    let env = create_environment(store, "Members").await;
    let other = create_environment(store, "Other").await;
    let foreign = population(other.id, "Foreign", false);
    store.create_population(&foreign).await.unwrap();
    let staff = population(env.id, "Staff", false);
    store.create_population(&staff).await.unwrap();

    // Another environment's population, or none, takes no user.
    let stray = User { population_id: foreign.id, ..user(env.id, "stray", None) };
    assert!(matches!(store.create_user(&stray).await, Err(StoreError::NotFound)));
    let lost = User { population_id: new_id(), ..user(env.id, "lost", None) };
    assert!(matches!(store.create_user(&lost).await, Err(StoreError::NotFound)));

    let mut ada = user(env.id, "ada", None);
    store.create_user(&ada).await.unwrap();
    ada.apply(UserPatch { population_id: Some(staff.id), ..UserPatch::default() }, now());
    ada.enabled = false;
    store.update_user(&ada).await.unwrap();
    assert_eq!(store.user(env.id, ada.id).await.unwrap(), ada);
    let moved_away = User { population_id: foreign.id, ..ada.clone() };
    assert!(matches!(store.update_user(&moved_away).await, Err(StoreError::NotFound)));
    assert_eq!(store.user(env.id, ada.id).await.unwrap(), ada);

    let bob = user(env.id, "bob", None);
    store.create_user(&bob).await.unwrap();
    let of = |population_id| UserFilter { population_id: Some(population_id), ..UserFilter::default() };
    let page = PageRequest::first(10);
    assert_eq!(store.users(env.id, &of(staff.id), page).await.unwrap().items, vec![ada]);
    assert_eq!(store.users(env.id, &of(env.id), page).await.unwrap().items, vec![bob]);
    assert!(store.users(env.id, &of(foreign.id), page).await.unwrap().items.is_empty());
}

pub(super) async fn configuration_replaces_populations_and_reset_keeps_them<S: Store>(store: &S) {
    let env = create_environment(store, "Configured").await;
    let before = store.default_population(env.id).await.unwrap();
    let staff = population(env.id, "Staff", false);
    store.create_population(&staff).await.unwrap();
    // The default's settings come from the one marked default; its id stays.
    let renamed = Population { id: new_id(), ..population(env.id, "Everyone", true) };
    let partners = population(env.id, "Partners", false);
    let configuration = Configuration {
        populations: Some(vec![renamed.clone(), partners.clone()]),
        ..Configuration::initial(
            issuer_profile(env.id, "Configured", 7),
            DevicePolicy::initial(env.id, new_id(), now()),
        )
    };
    assert!(store.replace_configuration(&configuration).await.unwrap());
    let default = Population { id: before.id, created_at: before.created_at, ..renamed };
    let mut expected = vec![default, partners];
    expected.sort_by_key(|p| p.id);
    assert_eq!(store.populations(env.id, PageRequest::first(10)).await.unwrap().items, expected);

    // A reset deletes the users and leaves the populations.
    store.create_user(&member(&expected[0], "ada")).await.unwrap();
    let reset = Configuration { populations: None, ..configuration };
    store.reset_environment(&reset).await.unwrap();
    assert_eq!(store.populations(env.id, PageRequest::first(10)).await.unwrap().items, expected);
    assert!(store.users(env.id, &UserFilter::default(), PageRequest::first(10)).await.unwrap().items.is_empty());
}
