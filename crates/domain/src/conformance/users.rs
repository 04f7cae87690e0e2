//! Users, their unique usernames, filters and pages.

use super::{application, create_environment, user};
use crate::page::PageRequest;
use crate::time::{new_id, now};
use crate::user::{Change, Email, User, UserFilter, UserPatch, Username};
use crate::{Store, StoreError};

pub(super) async fn users_are_scoped_to_their_environment<S: Store>(store: &S) {
    let a = create_environment(store, "A").await;
    let b = create_environment(store, "B").await;
    let ada = user(a.id, "ada", Some("ada@example.com"));
    store.create_user(&ada).await.unwrap();
    assert_eq!(store.user(a.id, ada.id).await.unwrap(), ada);
    assert!(matches!(store.user(b.id, ada.id).await, Err(StoreError::NotFound)));
    assert!(store.users(b.id, &UserFilter::default(), PageRequest::first(10)).await.unwrap().items.is_empty());
    assert!(matches!(store.delete_user(b.id, ada.id).await, Err(StoreError::NotFound)));
    assert!(matches!(
        store.update_user(&User { environment_id: b.id, ..ada.clone() }).await,
        Err(StoreError::NotFound)
    ));
    store.delete_user(a.id, ada.id).await.unwrap();
    assert!(matches!(store.user(a.id, ada.id).await, Err(StoreError::NotFound)));
}

pub(super) async fn username_is_unique_per_environment<S: Store>(store: &S) {
    let a = create_environment(store, "A").await;
    let b = create_environment(store, "B").await;
    store.create_user(&user(a.id, "ada", None)).await.unwrap();
    assert!(matches!(store.create_user(&user(a.id, "ada", None)).await, Err(StoreError::Conflict)));
    store.create_user(&user(b.id, "ada", None)).await.unwrap();
}

pub(super) async fn usernames_are_unique_and_found_whatever_their_case<S: Store>(store: &S) {
    let env = create_environment(store, "Case").await;
    let ada = user(env.id, "Ada", None);
    store.create_user(&ada).await.unwrap();
    assert!(matches!(store.create_user(&user(env.id, "ada", None)).await, Err(StoreError::Conflict)));
    assert!(matches!(store.create_user(&user(env.id, "ADA", None)).await, Err(StoreError::Conflict)));
    let mut bob = user(env.id, "bob", None);
    store.create_user(&bob).await.unwrap();
    bob.apply(UserPatch { username: Some(Username::parse("aDa").unwrap()), ..Default::default() }, now());
    assert!(matches!(store.update_user(&bob).await, Err(StoreError::Conflict)));

    let named = |username: &str| UserFilter { username: Some(username.into()) };
    for spelling in ["ada", "ADA", "Ada"] {
        let found = store.users(env.id, &named(spelling), PageRequest::first(10)).await.unwrap().items;
        assert_eq!(found, vec![ada.clone()], "{spelling}");
    }
    // Only A to Z fold, the same on both backends: other letters are compared as written.
    store.create_user(&user(env.id, "Émile", None)).await.unwrap();
    store.create_user(&user(env.id, "émile", None)).await.unwrap();
    assert_eq!(store.users(env.id, &named("ÉMILE"), PageRequest::first(10)).await.unwrap().items.len(), 1);
}

pub(super) async fn records_of_a_missing_environment_are_not_found<S: Store>(store: &S) {
    let missing = new_id();
    assert!(matches!(store.create_user(&user(missing, "ada", None)).await, Err(StoreError::NotFound)));
    assert!(matches!(store.create_application(&application(missing)).await, Err(StoreError::NotFound)));
}

pub(super) async fn users_narrow_by_username<S: Store>(store: &S) {
    let env = create_environment(store, "Filters").await;
    let ada = user(env.id, "ada", Some("shared@example.com"));
    let bob = user(env.id, "bob", Some("shared@example.com"));
    for u in [&ada, &bob] {
        store.create_user(u).await.unwrap();
    }
    let page = PageRequest::first(10);
    let by = |username: Option<&str>| UserFilter { username: username.map(Into::into) };

    let found = store.users(env.id, &by(Some("bob")), page).await.unwrap().items;
    assert_eq!(found, vec![bob.clone()]);
    let found = store.users(env.id, &by(None), page).await.unwrap().items;
    assert_eq!(found, vec![ada, bob]);
    // Values are compared as data, never as SQL.
    let found = store.users(env.id, &by(Some("x' OR '1'='1")), page).await.unwrap().items;
    assert!(found.is_empty());
}

pub(super) async fn users_paginate_past_one_page<S: Store>(store: &S) {
    let env = create_environment(store, "Many").await;
    let mut expected = Vec::new();
    for i in 0..7 {
        let u = user(env.id, &format!("user{i}"), None);
        store.create_user(&u).await.unwrap();
        expected.push(u.id);
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.users(env.id, &UserFilter::default(), PageRequest { limit: 3, after }).await.unwrap();
        seen.extend(page.items.iter().map(|u| u.id));
        if !page.has_more {
            break;
        }
        after = page.items.last().map(|u| u.id);
    }
    assert_eq!(seen, expected);
    assert_eq!(store.count_users(env.id).await.unwrap(), 7);
}

pub(super) async fn user_update_keeps_unique_usernames<S: Store>(store: &S) {
    let env = create_environment(store, "Updates").await;
    let mut ada = user(env.id, "ada", None);
    let bob = user(env.id, "bob", None);
    store.create_user(&ada).await.unwrap();
    store.create_user(&bob).await.unwrap();

    ada.apply(UserPatch { username: Some(Username::parse("bob").unwrap()), ..Default::default() }, now());
    assert!(matches!(store.update_user(&ada).await, Err(StoreError::Conflict)));

    ada.apply(
        UserPatch {
            username: Some(Username::parse("ada.lovelace").unwrap()),
            email: Change::Set(Email::parse("email", "ada@example.com").unwrap()),
            name_given: Change::Set("Ada".into()),
            ..Default::default()
        },
        now(),
    );
    store.update_user(&ada).await.unwrap();
    assert_eq!(store.user(env.id, ada.id).await.unwrap(), ada);
}
