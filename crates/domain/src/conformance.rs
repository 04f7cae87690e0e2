//! The backend conformance suite: behaviour every `Store` must show, written once.
//!
//! Each check is a plain generic async function; [`conformance_tests!`] stamps one
//! `#[sqlx::test]` per check into a store crate, so both backends run the same list.

use std::collections::HashSet;

use chrono::TimeDelta;
use uuid::Uuid;

use crate::application::{Application, ApplicationFields, ApplicationName, TokenEndpointAuthMethod};
use crate::environment::{Environment, EnvironmentFields, EnvironmentName, EnvironmentType, Region};
use crate::job::{JobOutcome, JobStatus, NewJob};
use crate::page::PageRequest;
use crate::signing_key::SigningKey;
use crate::time::{new_id, now};
use crate::user::{Change, Email, User, UserFilter, UserPatch, Username};
use crate::{Store, StoreError};

#[macro_export]
macro_rules! conformance_tests {
    ($pool:ty, $ctor:expr, migrations = $m:literal) => {
        $crate::conformance_tests!(@each $pool, $ctor, $m;
            environment_round_trips_with_its_key,
            environment_id_is_unique,
            environments_page_in_creation_order,
            environment_update_and_delete_cascades,
            application_round_trips_and_updates,
            users_are_scoped_to_their_environment,
            username_is_unique_per_environment,
            records_of_a_missing_environment_are_not_found,
            users_filter_by_username_and_email,
            users_paginate_past_one_page,
            user_update_keeps_unique_usernames,
            job_runs_when_due_and_settles,
            job_retries_then_dies,
            expired_lease_is_claimed_again_and_stale_finish_is_ignored,
            concurrent_claims_never_share_a_job
        );
    };
    (@each $pool:ty, $ctor:expr, $m:literal; $($name:ident),* $(,)?) => {$(
        #[sqlx::test(migrations = $m)]
        async fn $name(pool: $pool) {
            $crate::conformance::$name(&($ctor)(pool)).await;
        }
    )*};
}

fn environment(name: &str) -> (Environment, SigningKey) {
    let at = now();
    let env = Environment::new(
        new_id(),
        EnvironmentFields {
            name: EnvironmentName::parse(name).unwrap(),
            description: None,
            kind: EnvironmentType::Sandbox,
        },
        Region::NorthAmerica,
        at,
    );
    let key = SigningKey {
        id: new_id(),
        environment_id: env.id,
        public_key: vec![1; 32],
        sealed_private_key: vec![2; 72],
        created_at: at,
    };
    (env, key)
}

async fn create_environment<S: Store>(store: &S, name: &str) -> Environment {
    let (env, key) = environment(name);
    store.create_environment(&env, &key).await.unwrap();
    env
}

fn user(environment_id: Uuid, username: &str, email: Option<&str>) -> User {
    let patch = UserPatch {
        email: email.map_or(Change::Keep, |e| Change::Set(Email::parse("email", e).unwrap())),
        ..Default::default()
    };
    User::new(new_id(), environment_id, Username::parse(username).unwrap(), patch, now())
}

fn application(environment_id: Uuid) -> Application {
    let fields = ApplicationFields {
        name: ApplicationName::parse("worker").unwrap(),
        description: Some("tests".into()),
        enabled: true,
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
    };
    Application::new(new_id(), environment_id, fields, vec![9; 32], now())
}

fn job(kind: &str, max_attempts: i64) -> NewJob {
    NewJob { id: new_id(), kind: kind.into(), payload: b"payload".to_vec(), run_at: now(), max_attempts }
}

pub async fn environment_round_trips_with_its_key<S: Store>(store: &S) {
    let (env, key) = environment("Staging");
    store.create_environment(&env, &key).await.unwrap();
    assert_eq!(store.environment(env.id).await.unwrap(), env);
    assert_eq!(store.signing_key(key.id).await.unwrap(), key);
    assert_eq!(store.signing_keys(env.id).await.unwrap(), vec![key]);
    assert!(matches!(store.environment(new_id()).await, Err(StoreError::NotFound)));
}

pub async fn environment_id_is_unique<S: Store>(store: &S) {
    let (env, key) = environment("One");
    store.create_environment(&env, &key).await.unwrap();
    let second_key = SigningKey { id: new_id(), ..key };
    assert!(matches!(store.create_environment(&env, &second_key).await, Err(StoreError::Conflict)));
    // The refused write left nothing behind.
    assert_eq!(store.signing_keys(env.id).await.unwrap().len(), 1);
}

pub async fn environments_page_in_creation_order<S: Store>(store: &S) {
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(create_environment(store, &format!("env {i}")).await.id);
    }
    let first = store.environments(PageRequest::first(3)).await.unwrap();
    assert!(first.has_more);
    let second = store.environments(PageRequest { limit: 3, after: Some(first.items[2].id) }).await.unwrap();
    assert!(!second.has_more);
    let seen: Vec<Uuid> = first.items.iter().chain(&second.items).map(|e| e.id).collect();
    assert_eq!(seen, ids);
}

pub async fn environment_update_and_delete_cascades<S: Store>(store: &S) {
    let mut env = create_environment(store, "Before").await;
    env.replace(
        EnvironmentFields {
            name: EnvironmentName::parse("After").unwrap(),
            description: Some("d".into()),
            kind: EnvironmentType::Production,
        },
        now(),
    );
    store.update_environment(&env).await.unwrap();
    assert_eq!(store.environment(env.id).await.unwrap(), env);

    let app = application(env.id);
    store.create_application(&app).await.unwrap();
    let ada = user(env.id, "ada", None);
    store.create_user(&ada).await.unwrap();

    store.delete_environment(env.id).await.unwrap();
    assert!(matches!(store.environment(env.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.application(env.id, app.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.user(env.id, ada.id).await, Err(StoreError::NotFound)));
    assert!(store.signing_keys(env.id).await.unwrap().is_empty());
    assert!(matches!(store.delete_environment(env.id).await, Err(StoreError::NotFound)));
}

pub async fn application_round_trips_and_updates<S: Store>(store: &S) {
    let env = create_environment(store, "Apps").await;
    let other = create_environment(store, "Other").await;
    let mut app = application(env.id);
    store.create_application(&app).await.unwrap();
    assert_eq!(store.application(env.id, app.id).await.unwrap(), app);
    assert!(matches!(store.application(other.id, app.id).await, Err(StoreError::NotFound)));

    app.replace(
        ApplicationFields {
            name: ApplicationName::parse("renamed").unwrap(),
            description: None,
            enabled: false,
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretPost,
        },
        now(),
    );
    app.secret_hash = vec![7; 32];
    store.update_application(&app).await.unwrap();
    assert_eq!(store.application(env.id, app.id).await.unwrap(), app);
    assert_eq!(store.applications(env.id, PageRequest::first(10)).await.unwrap().items, vec![app.clone()]);

    assert!(matches!(store.delete_application(other.id, app.id).await, Err(StoreError::NotFound)));
    store.delete_application(env.id, app.id).await.unwrap();
    assert!(matches!(store.application(env.id, app.id).await, Err(StoreError::NotFound)));
}

pub async fn users_are_scoped_to_their_environment<S: Store>(store: &S) {
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

pub async fn username_is_unique_per_environment<S: Store>(store: &S) {
    let a = create_environment(store, "A").await;
    let b = create_environment(store, "B").await;
    store.create_user(&user(a.id, "ada", None)).await.unwrap();
    assert!(matches!(store.create_user(&user(a.id, "ada", None)).await, Err(StoreError::Conflict)));
    store.create_user(&user(b.id, "ada", None)).await.unwrap();
}

pub async fn records_of_a_missing_environment_are_not_found<S: Store>(store: &S) {
    let missing = new_id();
    assert!(matches!(store.create_user(&user(missing, "ada", None)).await, Err(StoreError::NotFound)));
    assert!(matches!(store.create_application(&application(missing)).await, Err(StoreError::NotFound)));
}

pub async fn users_filter_by_username_and_email<S: Store>(store: &S) {
    let env = create_environment(store, "Filters").await;
    let ada = user(env.id, "ada", Some("shared@example.com"));
    let bob = user(env.id, "bob", Some("shared@example.com"));
    let eve = user(env.id, "eve", Some("eve@example.com"));
    for u in [&ada, &bob, &eve] {
        store.create_user(u).await.unwrap();
    }
    let page = PageRequest::first(10);
    let by = |username: Option<&str>, email: Option<&str>| UserFilter {
        username: username.map(Into::into),
        email: email.map(Into::into),
    };

    let found = store.users(env.id, &by(Some("bob"), None), page).await.unwrap().items;
    assert_eq!(found, vec![bob.clone()]);
    let found = store.users(env.id, &by(None, Some("shared@example.com")), page).await.unwrap().items;
    assert_eq!(found, vec![ada.clone(), bob.clone()]);
    let found = store.users(env.id, &by(Some("ada"), Some("shared@example.com")), page).await.unwrap().items;
    assert_eq!(found, vec![ada]);
    // Values are compared as data, never as SQL.
    let found = store.users(env.id, &by(Some("x' OR '1'='1"), None), page).await.unwrap().items;
    assert!(found.is_empty());
}

pub async fn users_paginate_past_one_page<S: Store>(store: &S) {
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
}

pub async fn user_update_keeps_unique_usernames<S: Store>(store: &S) {
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

pub async fn job_runs_when_due_and_settles<S: Store>(store: &S) {
    let later = NewJob { run_at: now() + TimeDelta::hours(1), ..job("later", 3) };
    store.enqueue_job(&later).await.unwrap();
    let due = job("due", 3);
    store.enqueue_job(&due).await.unwrap();

    let at = now();
    let claimed = store.claim_job(at, at + TimeDelta::seconds(30)).await.unwrap().expect("the due job");
    assert_eq!((claimed.id, claimed.kind.as_str(), claimed.attempt), (due.id, "due", 1));
    assert_eq!(claimed.payload, due.payload);
    assert_eq!(store.job(due.id).await.unwrap().status, JobStatus::Running);
    // Leased: nobody else gets it, and the other job is not due.
    assert_eq!(store.claim_job(at, at + TimeDelta::seconds(30)).await.unwrap(), None);

    store.finish_job(&claimed, &JobOutcome::Done, now()).await.unwrap();
    let done = store.job(due.id).await.unwrap();
    assert_eq!((done.status, done.attempts, done.locked_until), (JobStatus::Done, 1, None));
}

pub async fn job_retries_then_dies<S: Store>(store: &S) {
    let flaky = job("flaky", 2);
    store.enqueue_job(&flaky).await.unwrap();
    let at = now();
    let first = store.claim_job(at, at + TimeDelta::seconds(30)).await.unwrap().unwrap();
    let retry_at = at + TimeDelta::seconds(5);
    store.finish_job(&first, &JobOutcome::Retry { at: retry_at, error: "smtp down".into() }, at).await.unwrap();
    let queued = store.job(flaky.id).await.unwrap();
    assert_eq!(
        (queued.status, queued.run_at, queued.last_error.as_deref()),
        (JobStatus::Queued, retry_at, Some("smtp down"))
    );
    assert_eq!(store.claim_job(at, at + TimeDelta::seconds(30)).await.unwrap(), None, "not before its retry time");

    let second = store.claim_job(retry_at, retry_at + TimeDelta::seconds(30)).await.unwrap().unwrap();
    assert_eq!(second.attempt, 2);
    let outcome = second.failed("still down".into(), retry_at);
    store.finish_job(&second, &outcome, retry_at).await.unwrap();
    let dead = store.job(flaky.id).await.unwrap();
    assert_eq!((dead.status, dead.attempts, dead.last_error.as_deref()), (JobStatus::Dead, 2, Some("still down")));
    assert_eq!(store.claim_job(retry_at + TimeDelta::days(1), retry_at + TimeDelta::days(2)).await.unwrap(), None);
}

pub async fn expired_lease_is_claimed_again_and_stale_finish_is_ignored<S: Store>(store: &S) {
    let crashed = job("crashed", 5);
    store.enqueue_job(&crashed).await.unwrap();
    let at = now();
    let lease_end = at + TimeDelta::seconds(10);
    let first = store.claim_job(at, lease_end).await.unwrap().unwrap();

    let after_lease = lease_end + TimeDelta::milliseconds(1);
    let second =
        store.claim_job(after_lease, after_lease + TimeDelta::seconds(10)).await.unwrap().expect("lease ran out");
    assert_eq!((second.id, second.attempt), (first.id, 2));

    // The first worker wakes up late: its finish must not settle the new claim.
    store.finish_job(&first, &JobOutcome::Done, after_lease).await.unwrap();
    assert_eq!(store.job(crashed.id).await.unwrap().status, JobStatus::Running);
    store.finish_job(&second, &JobOutcome::Done, after_lease).await.unwrap();
    assert_eq!(store.job(crashed.id).await.unwrap().status, JobStatus::Done);
}

pub async fn concurrent_claims_never_share_a_job<S: Store>(store: &S) {
    const JOBS: usize = 30;
    const CLAIMERS: usize = 8;
    let mut enqueued = HashSet::new();
    for _ in 0..JOBS {
        let j = job("parallel", 3);
        enqueued.insert(j.id);
        store.enqueue_job(&j).await.unwrap();
    }
    let mut claimers = Vec::new();
    for _ in 0..CLAIMERS {
        let store = store.clone();
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let at = now();
                match store.claim_job(at, at + TimeDelta::minutes(5)).await.unwrap() {
                    Some(claimed) => {
                        store.finish_job(&claimed, &JobOutcome::Done, now()).await.unwrap();
                        mine.push(claimed.id);
                    }
                    None => return mine,
                }
            }
        }));
    }
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.unwrap());
    }
    let distinct: HashSet<Uuid> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), JOBS, "every job claimed exactly once");
    assert_eq!(distinct, enqueued);
}
