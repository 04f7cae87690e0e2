//! The backend conformance suite: behaviour every `Store` must show, written once.
//!
//! Each check is a plain generic async function; [`conformance_tests!`] stamps one
//! `#[sqlx::test]` per check into a store crate, so both backends run the same list.

use std::collections::HashSet;

use chrono::TimeDelta;
use uuid::Uuid;

use crate::application::{Application, ApplicationFields, ApplicationName, TokenEndpointAuthMethod};
use crate::configuration::Configuration;
use crate::credential::{
    CredentialField, CredentialMetadata, CredentialStatus, CredentialType, CredentialTypeFields, FieldType,
    IssuerProfile, ManagementMode, ProvisionStatus, ProvisionedCredential, UserCredential, WalletAction,
};
use crate::environment::{Environment, EnvironmentFields, EnvironmentName, EnvironmentType, Region};
use crate::job::{ClaimedJob, JobOutcome, JobQueue, JobStatus, NewJob, PruneBefore, Pruned, SettledJob};
use crate::mfa::{Device, DeviceFilter, DevicePolicy, DeviceSlot, DeviceStatus, DeviceType, MfaSettings};
use crate::notification::{
    DeliveryMethod, Notification, NotificationFilter, NotificationStatus, TemplateContent, TemplateName,
};
use crate::page::{Page, PageRequest};
use crate::signing_key::SigningKey;
use crate::store::Outbox;
use crate::time::{Timestamp, new_id, now};
use crate::user::{Change, Email, User, UserFilter, UserPatch, Username};
use crate::wallet::{DigitalWallet, PairingAttempt, PairingSession, PairingStatus, WalletApplication, WalletStatus};
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
            usernames_are_unique_and_found_whatever_their_case,
            records_of_a_missing_environment_are_not_found,
            users_filter_by_username_and_email,
            users_paginate_past_one_page,
            user_update_keeps_unique_usernames,
            job_runs_when_due_and_settles,
            job_retries_then_dies,
            expired_lease_is_claimed_again_and_stale_finish_is_ignored,
            concurrent_claims_never_share_a_job,
            jobs_are_claimed_and_settled_in_batches,
            job_queue_counts_due_running_and_scheduled_jobs,
            wallet_is_created_with_its_session_and_outbox,
            pairing_fails_counts_and_completes_once,
            pairing_session_expires_only_when_due_and_pending,
            pairing_completes_only_a_pending_wallet_of_an_existing_application,
            wallet_application_delete_disables_its_wallets_and_user_delete_removes_them,
            template_contents_are_unique_per_method_locale_and_variant,
            notifications_list_newest_first_filtered_and_settle,
            one_default_device_policy_and_policies_in_use_stay,
            mfa_settings_are_kept_per_environment,
            devices_respect_the_limit_and_unique_targets,
            otp_guesses_are_counted_in_one_conditional_statement,
            expired_codes_are_not_guessed_and_totp_counts_start_over,
            devices_list_in_order_filtered_and_reorder,
            issuer_profile_is_made_once_per_environment,
            credential_types_keep_fields_in_order_and_hide_when_deleted,
            credentials_are_delivered_once_acted_on_and_revoked,
            mailbox_pages_the_delivered_copies_not_yet_acted_on,
            updated_credentials_wait_for_their_newest_delivery,
            wallets_disabled_or_deleted_revoke_their_copies,
            deleting_a_type_deletes_pending_and_revokes_issued_credentials,
            finished_jobs_keep_no_payload,
            reset_empties_the_environment_back_to_its_configuration,
            configuration_is_replaced_whole_and_only_without_users,
            prune_deletes_finished_jobs_a_batch_at_a_time_and_never_unfinished_ones,
            prune_deletes_settled_notifications_and_expired_sessions_nobody_tried,
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
    store.create_environment(&env, &key, &DevicePolicy::initial(env.id, new_id(), env.created_at)).await.unwrap();
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

/// Claims at most one due job.
async fn claim_one<S: Store>(store: &S, at: Timestamp, lease_until: Timestamp) -> Option<ClaimedJob> {
    let mut claimed = store.claim_jobs(at, lease_until, 1).await.unwrap();
    assert!(claimed.len() <= 1, "a claim of one handed out {}", claimed.len());
    claimed.pop()
}

async fn finish_one<S: Store>(store: &S, job: &ClaimedJob, outcome: JobOutcome, at: Timestamp) {
    store.finish_jobs(&[SettledJob { job: job.clone(), outcome }], at).await.unwrap();
}

fn job(kind: &str, max_attempts: i64) -> NewJob {
    NewJob { id: new_id(), kind: kind.into(), payload: b"payload".to_vec(), run_at: now(), max_attempts }
}

pub async fn environment_round_trips_with_its_key<S: Store>(store: &S) {
    let (env, key) = environment("Staging");
    let policy = DevicePolicy::initial(env.id, new_id(), env.created_at);
    store.create_environment(&env, &key, &policy).await.unwrap();
    assert_eq!(store.device_policies(env.id).await.unwrap(), vec![policy]);
    assert_eq!(store.environment(env.id).await.unwrap(), env);
    assert_eq!(store.signing_key(key.id).await.unwrap(), key);
    assert_eq!(store.signing_keys(env.id).await.unwrap(), vec![key]);
    assert!(matches!(store.environment(new_id()).await, Err(StoreError::NotFound)));
}

pub async fn environment_id_is_unique<S: Store>(store: &S) {
    let (env, key) = environment("One");
    store.create_environment(&env, &key, &DevicePolicy::initial(env.id, new_id(), env.created_at)).await.unwrap();
    let second_key = SigningKey { id: new_id(), ..key };
    let second_policy = DevicePolicy::initial(env.id, new_id(), env.created_at);
    assert!(matches!(store.create_environment(&env, &second_key, &second_policy).await, Err(StoreError::Conflict)));
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
    // A replace writes the fields and never the secret, which has its own statement.
    let stale_secret = std::mem::replace(&mut app.secret_hash, vec![9; 32]);
    store.update_application(&app).await.unwrap();
    app.secret_hash = stale_secret;
    assert_eq!(store.application(env.id, app.id).await.unwrap(), app);
    app.secret_hash = vec![7; 32];
    app.updated_at = now();
    store.replace_application_secret(env.id, app.id, &app.secret_hash, app.updated_at).await.unwrap();
    assert_eq!(store.application(env.id, app.id).await.unwrap(), app);
    assert!(matches!(
        store.replace_application_secret(other.id, app.id, &app.secret_hash, app.updated_at).await,
        Err(StoreError::NotFound)
    ));
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

pub async fn usernames_are_unique_and_found_whatever_their_case<S: Store>(store: &S) {
    let env = create_environment(store, "Case").await;
    let ada = user(env.id, "Ada", None);
    store.create_user(&ada).await.unwrap();
    assert!(matches!(store.create_user(&user(env.id, "ada", None)).await, Err(StoreError::Conflict)));
    assert!(matches!(store.create_user(&user(env.id, "ADA", None)).await, Err(StoreError::Conflict)));
    let mut bob = user(env.id, "bob", None);
    store.create_user(&bob).await.unwrap();
    bob.apply(UserPatch { username: Some(Username::parse("aDa").unwrap()), ..Default::default() }, now());
    assert!(matches!(store.update_user(&bob).await, Err(StoreError::Conflict)));

    let named = |username: &str| UserFilter { username: Some(username.into()), email: None };
    for spelling in ["ada", "ADA", "Ada"] {
        let found = store.users(env.id, &named(spelling), PageRequest::first(10)).await.unwrap().items;
        assert_eq!(found, vec![ada.clone()], "{spelling}");
    }
    // Only A to Z fold, the same on both backends: other letters are compared as written.
    store.create_user(&user(env.id, "Émile", None)).await.unwrap();
    store.create_user(&user(env.id, "émile", None)).await.unwrap();
    assert_eq!(store.users(env.id, &named("ÉMILE"), PageRequest::first(10)).await.unwrap().items.len(), 1);
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
    let claimed = claim_one(store, at, at + TimeDelta::seconds(30)).await.expect("the due job");
    assert_eq!((claimed.id, claimed.kind.as_str(), claimed.attempt), (due.id, "due", 1));
    assert_eq!(claimed.payload, due.payload);
    assert_eq!(store.job(due.id).await.unwrap().status, JobStatus::Running);
    // Leased: nobody else gets it, and the other job is not due.
    assert_eq!(claim_one(store, at, at + TimeDelta::seconds(30)).await, None);

    finish_one(store, &claimed, JobOutcome::Done, now()).await;
    let done = store.job(due.id).await.unwrap();
    assert_eq!((done.status, done.attempts, done.locked_until), (JobStatus::Done, 1, None));
}

pub async fn job_retries_then_dies<S: Store>(store: &S) {
    let flaky = job("flaky", 2);
    store.enqueue_job(&flaky).await.unwrap();
    let at = now();
    let first = claim_one(store, at, at + TimeDelta::seconds(30)).await.unwrap();
    let retry_at = at + TimeDelta::seconds(5);
    finish_one(store, &first, JobOutcome::Retry { at: retry_at, error: "smtp down".into() }, at).await;
    let queued = store.job(flaky.id).await.unwrap();
    assert_eq!(
        (queued.status, queued.run_at, queued.last_error.as_deref()),
        (JobStatus::Queued, retry_at, Some("smtp down"))
    );
    assert_eq!(claim_one(store, at, at + TimeDelta::seconds(30)).await, None, "not before its retry time");

    let second = claim_one(store, retry_at, retry_at + TimeDelta::seconds(30)).await.unwrap();
    assert_eq!(second.attempt, 2);
    let outcome = second.failed("still down".into(), retry_at);
    finish_one(store, &second, outcome, retry_at).await;
    let dead = store.job(flaky.id).await.unwrap();
    assert_eq!((dead.status, dead.attempts, dead.last_error.as_deref()), (JobStatus::Dead, 2, Some("still down")));
    assert_eq!(claim_one(store, retry_at + TimeDelta::days(1), retry_at + TimeDelta::days(2)).await, None);
}

pub async fn expired_lease_is_claimed_again_and_stale_finish_is_ignored<S: Store>(store: &S) {
    let crashed = job("crashed", 5);
    store.enqueue_job(&crashed).await.unwrap();
    let at = now();
    let lease_end = at + TimeDelta::seconds(10);
    let first = claim_one(store, at, lease_end).await.unwrap();

    let after_lease = lease_end + TimeDelta::milliseconds(1);
    let second = claim_one(store, after_lease, after_lease + TimeDelta::seconds(10)).await.expect("lease ran out");
    assert_eq!((second.id, second.attempt), (first.id, 2));

    // The first worker wakes up late: its finish must not settle the new claim.
    finish_one(store, &first, JobOutcome::Done, after_lease).await;
    assert_eq!(store.job(crashed.id).await.unwrap().status, JobStatus::Running);
    finish_one(store, &second, JobOutcome::Done, after_lease).await;
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
                let batch = store.claim_jobs(at, at + TimeDelta::minutes(5), 3).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.iter().map(|claimed| claimed.id));
                let settled: Vec<SettledJob> =
                    batch.into_iter().map(|job| SettledJob { job, outcome: JobOutcome::Done }).collect();
                store.finish_jobs(&settled, now()).await.unwrap();
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

pub async fn jobs_are_claimed_and_settled_in_batches<S: Store>(store: &S) {
    let at = now();
    let waiting: Vec<NewJob> =
        (1..=5).map(|minutes| NewJob { run_at: at - TimeDelta::minutes(minutes), ..job("batch", 2) }).collect();
    for j in &waiting {
        store.enqueue_job(j).await.unwrap();
    }
    let ids = |jobs: &[ClaimedJob]| jobs.iter().map(|j| j.id).collect::<HashSet<Uuid>>();
    let lease_end = at + TimeDelta::seconds(30);
    let first = store.claim_jobs(at, lease_end, 3).await.unwrap();
    // The longest waiting first: the last three enqueued.
    assert_eq!(ids(&first), waiting[2..].iter().map(|j| j.id).collect());
    let rest = store.claim_jobs(at, lease_end, 10).await.unwrap();
    assert_eq!(ids(&rest), waiting[..2].iter().map(|j| j.id).collect());
    assert!(store.claim_jobs(at, lease_end, 10).await.unwrap().is_empty());

    // One write settles each claim its own way.
    let retry_at = at + TimeDelta::seconds(5);
    let outcomes = [
        JobOutcome::Done,
        JobOutcome::Retry { at: retry_at, error: "smtp down".into() },
        JobOutcome::Dead { error: "gone".into() },
    ];
    let settled: Vec<SettledJob> =
        first.iter().cloned().zip(outcomes.clone()).map(|(job, outcome)| SettledJob { job, outcome }).collect();
    store.finish_jobs(&settled, at).await.unwrap();
    for SettledJob { job, outcome } in &settled {
        let (status, run_at, error) = outcome.settlement();
        let stored = store.job(job.id).await.unwrap();
        assert_eq!((stored.status, stored.last_error.as_deref(), stored.locked_until), (status, error, None));
        if let Some(run_at) = run_at {
            assert_eq!(stored.run_at, run_at);
        }
    }

    // A batch holding a stale claim settles the rest and leaves the newer claim running.
    let after_lease = lease_end + TimeDelta::milliseconds(1);
    let reclaimed = store.claim_jobs(after_lease, after_lease + TimeDelta::seconds(30), 1).await.unwrap();
    assert_eq!(reclaimed.len(), 1);
    let stale = rest.iter().find(|j| j.id == reclaimed[0].id).unwrap().clone();
    let fresh = rest.iter().find(|j| j.id != stale.id).unwrap().clone();
    let settled = [stale, fresh.clone()].map(|job| SettledJob { job, outcome: JobOutcome::Done });
    store.finish_jobs(&settled, after_lease).await.unwrap();
    assert_eq!(store.job(reclaimed[0].id).await.unwrap().status, JobStatus::Running);
    assert_eq!(store.job(fresh.id).await.unwrap().status, JobStatus::Done);
}

pub async fn job_queue_counts_due_running_and_scheduled_jobs<S: Store>(store: &S) {
    let at = now();
    let empty = JobQueue { due: 0, running: 0, scheduled: 0, oldest_due: None };
    assert_eq!(store.job_queue(at).await.unwrap(), empty);

    let oldest = NewJob { run_at: at - TimeDelta::minutes(3), ..job("oldest", 3) };
    let newer = NewJob { run_at: at - TimeDelta::minutes(1), ..job("newer", 3) };
    let later = NewJob { run_at: at + TimeDelta::hours(1), ..job("later", 3) };
    let finished = NewJob { run_at: at - TimeDelta::hours(1), ..job("finished", 3) };
    for j in [&finished, &oldest, &newer, &later] {
        store.enqueue_job(j).await.unwrap();
    }
    // `finished` is claimed first (it is the oldest) and done: it counts nowhere.
    let claimed = claim_one(store, at, at + TimeDelta::seconds(30)).await.unwrap();
    assert_eq!(claimed.id, finished.id);
    finish_one(store, &claimed, JobOutcome::Done, at).await;
    assert_eq!(
        store.job_queue(at).await.unwrap(),
        JobQueue { due: 2, running: 0, scheduled: 1, oldest_due: Some(oldest.run_at) }
    );

    // A claimed job runs until its lease ends; then it is due again, as it waited.
    let lease_end = at + TimeDelta::seconds(30);
    assert_eq!(claim_one(store, at, lease_end).await.unwrap().id, oldest.id);
    assert_eq!(
        store.job_queue(at).await.unwrap(),
        JobQueue { due: 1, running: 1, scheduled: 1, oldest_due: Some(newer.run_at) }
    );
    let after_lease = lease_end + TimeDelta::seconds(1);
    assert_eq!(
        store.job_queue(after_lease).await.unwrap(),
        JobQueue { due: 2, running: 0, scheduled: 1, oldest_due: Some(oldest.run_at) }
    );
}

fn wallet_application(environment_id: Uuid) -> WalletApplication {
    let at = now();
    WalletApplication {
        id: new_id(),
        environment_id,
        application_id: new_id(),
        name: "Wallet".into(),
        app_open_url: "https://wallet.example.com".into(),
        uses_pingone_wallet_sdk: true,
        created_at: at,
        updated_at: at,
    }
}

fn wallet_with_session(
    user: &User,
    app: &WalletApplication,
    expires_at: crate::time::Timestamp,
) -> (DigitalWallet, PairingSession) {
    let at = now();
    let wallet = DigitalWallet {
        id: new_id(),
        environment_id: user.environment_id,
        user_id: user.id,
        wallet_application_id: app.id,
        application_instance_id: None,
        status: WalletStatus::PairingRequired,
        public_key: None,
        device_data: None,
        token_hash: None,
        notification: Some("{}".into()),
        created_at: at,
        updated_at: at,
    };
    let session = PairingSession {
        id: new_id(),
        environment_id: user.environment_id,
        user_id: user.id,
        wallet_id: wallet.id,
        link_hash: format!("hash-of-link-{}", new_id()),
        challenge: "abc123".into(),
        status: PairingStatus::Initial,
        failed_attempts: 0,
        expires_at,
        created_at: at,
        updated_at: at,
    };
    (wallet, session)
}

fn notification(user: &User, template: TemplateName, recipient: &str) -> Notification {
    Notification {
        id: new_id(),
        environment_id: user.environment_id,
        user_id: Some(user.id),
        template,
        delivery_method: DeliveryMethod::Email,
        recipient: recipient.into(),
        locale: "en".into(),
        variant: None,
        sealed_message: vec![1, 2, 3],
        status: NotificationStatus::Queued,
        error: None,
        created_at: now(),
        sent_at: None,
    }
}

async fn user_with_app<S: Store>(store: &S) -> (User, WalletApplication) {
    let env = create_environment(store, "Wallets").await;
    let ada = user(env.id, "ada", Some("ada@example.com"));
    store.create_user(&ada).await.unwrap();
    let app = wallet_application(env.id);
    store.create_wallet_application(&app).await.unwrap();
    (ada, app)
}

pub async fn wallet_is_created_with_its_session_and_outbox<S: Store>(store: &S) {
    let (ada, app) = user_with_app(store).await;
    let (wallet, session) = wallet_with_session(&ada, &app, now() + TimeDelta::hours(1));
    let message = notification(&ada, TemplateName::DigitalWalletPairing, "ada@example.com");
    let outbox = Outbox { notifications: vec![message.clone()], jobs: vec![job("send_notification", 5)] };
    store.create_wallet(&wallet, &session, &outbox).await.unwrap();

    assert_eq!(store.wallet_by_id(wallet.id).await.unwrap(), wallet);
    assert_eq!(store.pairing_session(&session.link_hash).await.unwrap(), session);
    assert_eq!(store.pairing_session_of_wallet(wallet.id).await.unwrap(), session);
    assert_eq!(store.notification(message.id).await.unwrap(), message);
    assert_eq!(store.job(outbox.jobs[0].id).await.unwrap().status, JobStatus::Queued);
    let page = store.wallets(ada.environment_id, ada.id, PageRequest::first(10)).await.unwrap();
    assert_eq!(page.items, vec![wallet]);

    // A wallet for a user who is not there writes nothing, outbox included.
    let ghost = User { id: new_id(), ..ada.clone() };
    let (orphan, orphan_session) = wallet_with_session(&ghost, &app, now() + TimeDelta::hours(1));
    let lost = notification(&ada, TemplateName::DigitalWalletPairing, "ghost@example.com");
    let outbox = Outbox { notifications: vec![lost.clone()], jobs: vec![] };
    assert!(matches!(store.create_wallet(&orphan, &orphan_session, &outbox).await, Err(StoreError::NotFound)));
    assert!(matches!(store.notification(lost.id).await, Err(StoreError::NotFound)));
}

pub async fn pairing_fails_counts_and_completes_once<S: Store>(store: &S) {
    let (ada, app) = user_with_app(store).await;
    let (mut wallet, session) = wallet_with_session(&ada, &app, now() + TimeDelta::hours(1));
    store.create_wallet(&wallet, &session, &Outbox::default()).await.unwrap();
    assert_eq!(store.wallet_with_attempts(wallet.id).await.unwrap(), (wallet.clone(), vec![]));
    assert!(matches!(store.wallet_with_attempts(new_id()).await, Err(StoreError::NotFound)));
    let attempt = |success| PairingAttempt {
        id: new_id(),
        session_id: session.id,
        wallet_id: wallet.id,
        success,
        attempted_at: now(),
    };

    store.record_pairing_failure(&attempt(false)).await.unwrap();
    store.record_pairing_failure(&attempt(false)).await.unwrap();
    assert_eq!(store.pairing_session(&session.link_hash).await.unwrap().failed_attempts, 2);

    wallet.status = WalletStatus::Active;
    wallet.application_instance_id = Some("instance".into());
    wallet.public_key = Some("{\"kty\":\"OKP\"}".into());
    wallet.device_data = Some("{}".into());
    wallet.token_hash = Some(vec![5; 32]);
    store.complete_pairing(&wallet, &attempt(true), &Outbox::default()).await.unwrap();
    assert_eq!(store.wallet_by_id(wallet.id).await.unwrap(), wallet);
    assert_eq!(store.pairing_session(&session.link_hash).await.unwrap().status, PairingStatus::Completed);
    let (read, attempts) = store.wallet_with_attempts(wallet.id).await.unwrap();
    assert_eq!(read, wallet);
    assert_eq!(attempts.iter().map(|a| a.success).collect::<Vec<_>>(), [false, false, true]);
    assert!(attempts.iter().all(|a| a.wallet_id == wallet.id && a.session_id == session.id));

    // A second completion of the same session loses.
    assert!(matches!(
        store.complete_pairing(&wallet, &attempt(true), &Outbox::default()).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.wallet_with_attempts(wallet.id).await.unwrap().1.len(), 3);
}

pub async fn pairing_session_expires_only_when_due_and_pending<S: Store>(store: &S) {
    let (ada, app) = user_with_app(store).await;
    let expires_at = now() + TimeDelta::minutes(5);
    let (wallet, session) = wallet_with_session(&ada, &app, expires_at);
    store.create_wallet(&wallet, &session, &Outbox::default()).await.unwrap();
    assert!(!store.expire_pairing_session(session.id, now()).await.unwrap(), "not yet due");
    assert!(store.expire_pairing_session(session.id, expires_at).await.unwrap());
    assert_eq!(store.pairing_session(&session.link_hash).await.unwrap().status, PairingStatus::Expired);
    assert_eq!(store.wallet_by_id(wallet.id).await.unwrap().status, WalletStatus::Expired);
    assert!(!store.expire_pairing_session(session.id, expires_at).await.unwrap(), "once");
}

pub async fn pairing_completes_only_a_pending_wallet_of_an_existing_application<S: Store>(store: &S) {
    let (ada, app) = user_with_app(store).await;
    let expires_at = now() + TimeDelta::hours(1);
    let (mut disabled, disabled_session) = wallet_with_session(&ada, &app, expires_at);
    disabled.status = WalletStatus::Disabled;
    let orphan_app = WalletApplication { id: new_id(), ..app.clone() };
    let (orphan, orphan_session) = wallet_with_session(&ada, &orphan_app, expires_at);
    for (wallet, session) in [(&disabled, &disabled_session), (&orphan, &orphan_session)] {
        store.create_wallet(wallet, session, &Outbox::default()).await.unwrap();
        let paired = DigitalWallet {
            status: WalletStatus::Active,
            application_instance_id: Some("instance".into()),
            public_key: Some("{\"kty\":\"OKP\"}".into()),
            token_hash: Some(vec![5; 32]),
            ..wallet.clone()
        };
        let attempt = PairingAttempt {
            id: new_id(),
            session_id: session.id,
            wallet_id: wallet.id,
            success: true,
            attempted_at: now(),
        };
        let outbox = Outbox { notifications: vec![], jobs: vec![job("provision_pending", 10)] };
        let refused = store.complete_pairing(&paired, &attempt, &outbox).await;
        assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
        // Nothing changed: the wallet, its session, its attempts, the outbox.
        assert_eq!(store.wallet_with_attempts(wallet.id).await.unwrap(), (wallet.clone(), vec![]));
        assert_eq!(store.pairing_session(&session.link_hash).await.unwrap(), *session);
        assert!(matches!(store.job(outbox.jobs[0].id).await, Err(StoreError::NotFound)));
    }

    // Disabling a pending wallet ends its session; other changes leave it pending.
    let (mut pending, session) = wallet_with_session(&ada, &app, expires_at);
    store.create_wallet(&pending, &session, &Outbox::default()).await.unwrap();
    pending.application_instance_id = Some("instance".into());
    store.update_wallet(&pending, &Outbox::default()).await.unwrap();
    assert_eq!(store.pairing_session(&session.link_hash).await.unwrap().status, PairingStatus::Initial);
    pending.status = WalletStatus::Disabled;
    store.update_wallet(&pending, &Outbox::default()).await.unwrap();
    assert_eq!(store.pairing_session(&session.link_hash).await.unwrap().status, PairingStatus::Expired);
}

pub async fn wallet_application_delete_disables_its_wallets_and_user_delete_removes_them<S: Store>(store: &S) {
    let (ada, app) = user_with_app(store).await;
    let (wallet, session) = wallet_with_session(&ada, &app, now() + TimeDelta::hours(1));
    store.create_wallet(&wallet, &session, &Outbox::default()).await.unwrap();
    let mut renamed = app.clone();
    renamed.name = "Renamed".into();
    store.update_wallet_application(&renamed).await.unwrap();
    assert_eq!(store.wallet_application(app.environment_id, app.id).await.unwrap(), renamed);
    assert_eq!(
        store.wallet_applications(app.environment_id, PageRequest::first(5)).await.unwrap().items,
        vec![renamed]
    );

    store.delete_wallet_application(app.environment_id, app.id, now()).await.unwrap();
    assert!(matches!(store.wallet_application(app.environment_id, app.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.wallet_by_id(wallet.id).await.unwrap().status, WalletStatus::Disabled);
    assert_eq!(store.pairing_session(&session.link_hash).await.unwrap().status, PairingStatus::Expired);

    store.delete_user(ada.environment_id, ada.id).await.unwrap();
    assert!(matches!(store.wallet_by_id(wallet.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.pairing_session(&session.link_hash).await, Err(StoreError::NotFound)));
}

pub async fn template_contents_are_unique_per_method_locale_and_variant<S: Store>(store: &S) {
    let env = create_environment(store, "Templates").await;
    let at = now();
    let content = |locale: &str, variant: Option<&str>| TemplateContent {
        id: new_id(),
        environment_id: env.id,
        template: TemplateName::DigitalWalletPairing,
        delivery_method: DeliveryMethod::Email,
        locale: locale.into(),
        variant: variant.map(Into::into),
        subject: Some("Subject".into()),
        body: "Body ${pairingUrl}".into(),
        created_at: at,
        updated_at: at,
    };
    let default_en = content("en", None);
    let variant_en = content("en", Some("variant_b"));
    store.create_template_content(&default_en).await.unwrap();
    store.create_template_content(&variant_en).await.unwrap();
    assert!(matches!(store.create_template_content(&content("en", None)).await, Err(StoreError::Conflict)));
    assert!(matches!(
        store.create_template_content(&content("en", Some("variant_b"))).await,
        Err(StoreError::Conflict)
    ));
    let mut french = content("fr", None);
    store.create_template_content(&french).await.unwrap();

    french.locale = "en".into();
    assert!(matches!(store.update_template_content(&french).await, Err(StoreError::Conflict)));
    french.locale = "fr".into();
    french.body = "Corps".into();
    store.update_template_content(&french).await.unwrap();
    assert_eq!(store.template_content(env.id, TemplateName::DigitalWalletPairing, french.id).await.unwrap(), french);
    let all = store.template_contents(env.id, TemplateName::DigitalWalletPairing).await.unwrap();
    assert_eq!(all, vec![default_en.clone(), variant_en, french]);
    assert!(store.template_contents(env.id, TemplateName::DevicePairing).await.unwrap().is_empty());
    assert!(matches!(
        store.delete_template_content(env.id, TemplateName::DevicePairing, default_en.id).await,
        Err(StoreError::NotFound)
    ));
    store.delete_template_content(env.id, TemplateName::DigitalWalletPairing, default_en.id).await.unwrap();
}

pub async fn notifications_list_newest_first_filtered_and_settle<S: Store>(store: &S) {
    let (ada, _) = user_with_app(store).await;
    let mut sent = Vec::new();
    for (template, recipient) in [
        (TemplateName::DigitalWalletPairing, "ada@example.com"),
        (TemplateName::DevicePairing, "+15125551234"),
        (TemplateName::DigitalWalletPairing, "ada@example.com"),
    ] {
        let n = notification(&ada, template, recipient);
        // Notifications enter the store through a write's outbox.
        let app = wallet_application(ada.environment_id);
        store.create_wallet_application(&app).await.unwrap();
        let (wallet, session) = wallet_with_session(&ada, &app, now() + TimeDelta::hours(1));
        store.create_wallet(&wallet, &session, &Outbox { notifications: vec![n.clone()], jobs: vec![] }).await.unwrap();
        sent.push(n.id);
    }
    let all = NotificationFilter::default();
    let first = store.notifications(ada.environment_id, &all, PageRequest::first(2)).await.unwrap();
    assert_eq!(first.items.iter().map(|n| n.id).collect::<Vec<_>>(), [sent[2], sent[1]]);
    assert!(first.has_more);
    let rest =
        store.notifications(ada.environment_id, &all, PageRequest { limit: 2, after: Some(sent[1]) }).await.unwrap();
    assert_eq!(rest.items.iter().map(|n| n.id).collect::<Vec<_>>(), [sent[0]]);

    let pairing = NotificationFilter { template: Some(TemplateName::DigitalWalletPairing), ..all.clone() };
    assert_eq!(store.notifications(ada.environment_id, &pairing, PageRequest::first(10)).await.unwrap().items.len(), 2);
    let by_phone = NotificationFilter { recipient: Some("+15125551234".into()), user_id: Some(ada.id), ..all };
    assert_eq!(
        store.notifications(ada.environment_id, &by_phone, PageRequest::first(10)).await.unwrap().items[0].id,
        sent[1]
    );

    let at = now();
    store.settle_notification(sent[0], NotificationStatus::Sent, None, at).await.unwrap();
    let settled = store.notification(sent[0]).await.unwrap();
    assert_eq!((settled.status, settled.sent_at), (NotificationStatus::Sent, Some(at)));
    store.settle_notification(sent[1], NotificationStatus::Failed, Some("refused"), at).await.unwrap();
    let failed = store.notification(sent[1]).await.unwrap();
    assert_eq!(
        (failed.status, failed.error.as_deref(), failed.sent_at),
        (NotificationStatus::Failed, Some("refused"), None)
    );
}

fn device(user: &User, policy: Uuid, kind: DeviceType, target: &str) -> Device {
    let at = now();
    let (phone, email) =
        if kind == DeviceType::Email { (None, Some(target.to_owned())) } else { (Some(target.to_owned()), None) };
    Device {
        id: new_id(),
        environment_id: user.environment_id,
        user_id: user.id,
        kind,
        status: DeviceStatus::Active,
        phone,
        email,
        nickname: None,
        policy_id: policy,
        sealed_secret: None,
        otp_hash: None,
        otp_expires_at: None,
        failed_attempts: 0,
        locked_until: None,
        position: 0,
        created_at: at,
        updated_at: at,
    }
}

async fn user_with_policy<S: Store>(store: &S) -> (User, DevicePolicy) {
    let env = create_environment(store, "MFA").await;
    let ada = user(env.id, "ada", None);
    store.create_user(&ada).await.unwrap();
    let policy = store.device_policies(env.id).await.unwrap().remove(0);
    (ada, policy)
}

pub async fn one_default_device_policy_and_policies_in_use_stay<S: Store>(store: &S) {
    let (ada, initial) = user_with_policy(store).await;
    assert!(initial.default);
    let mut strict = DevicePolicy { id: new_id(), name: "Strict".into(), ..initial.clone() };
    strict.whatsapp.enabled = false;
    strict.sms.failure_count = 1;
    store.create_device_policy(&strict).await.unwrap();
    assert_eq!(store.device_policy(ada.environment_id, strict.id).await.unwrap(), strict);
    assert!(
        !store.device_policy(ada.environment_id, initial.id).await.unwrap().default,
        "the new default took the flag"
    );

    let mut initial = store.device_policy(ada.environment_id, initial.id).await.unwrap();
    initial.default = true;
    initial.name = "Back to default".into();
    store.update_device_policy(&initial).await.unwrap();
    let all = store.device_policies(ada.environment_id).await.unwrap();
    assert_eq!(all.iter().filter(|p| p.default).map(|p| p.id).collect::<Vec<_>>(), [initial.id]);

    let sms = device(&ada, strict.id, DeviceType::Sms, "+1.5125551234");
    store.create_device(&sms, 5, &Outbox::default()).await.unwrap();
    assert!(matches!(store.delete_device_policy(ada.environment_id, strict.id).await, Err(StoreError::Conflict)));
    store.delete_device(ada.environment_id, ada.id, sms.id).await.unwrap();
    store.delete_device_policy(ada.environment_id, strict.id).await.unwrap();
    assert!(matches!(store.device_policy(ada.environment_id, strict.id).await, Err(StoreError::NotFound)));
}

pub async fn mfa_settings_are_kept_per_environment<S: Store>(store: &S) {
    let env = create_environment(store, "Settings").await;
    assert_eq!(store.mfa_settings(env.id).await.unwrap(), None);
    let settings = MfaSettings { environment_id: env.id, max_allowed_devices: 3, updated_at: now() };
    store.put_mfa_settings(&settings).await.unwrap();
    let changed = MfaSettings { max_allowed_devices: 15, ..settings };
    store.put_mfa_settings(&changed).await.unwrap();
    assert_eq!(store.mfa_settings(env.id).await.unwrap(), Some(changed));
}

pub async fn devices_respect_the_limit_and_unique_targets<S: Store>(store: &S) {
    let (ada, policy) = user_with_policy(store).await;
    let first = device(&ada, policy.id, DeviceType::WhatsApp, "+1.5125551234");
    assert_eq!(store.create_device(&first, 2, &Outbox::default()).await.unwrap(), DeviceSlot::Created { position: 1 });
    let twin = device(&ada, policy.id, DeviceType::WhatsApp, "+1.5125551234");
    assert!(matches!(store.create_device(&twin, 2, &Outbox::default()).await, Err(StoreError::Conflict)));
    let sms = device(&ada, policy.id, DeviceType::Sms, "+1.5125551234");
    let message = notification(&ada, TemplateName::DevicePairing, "+1.5125551234");
    let outbox = Outbox { notifications: vec![message.clone()], jobs: vec![] };
    assert_eq!(store.create_device(&sms, 2, &outbox).await.unwrap(), DeviceSlot::Created { position: 2 });
    assert_eq!(store.notification(message.id).await.unwrap(), message);
    let third = device(&ada, policy.id, DeviceType::Email, "ada@example.com");
    assert_eq!(store.create_device(&third, 2, &Outbox::default()).await.unwrap(), DeviceSlot::LimitReached);
    assert!(matches!(store.device(ada.environment_id, ada.id, third.id).await, Err(StoreError::NotFound)));

    let stored = store.device(ada.environment_id, ada.id, sms.id).await.unwrap();
    assert_eq!(stored, Device { position: 2, ..sms.clone() });
    let at = now();
    let named = store.set_device_nickname(ada.environment_id, ada.id, sms.id, Some("work phone"), at).await.unwrap();
    assert_eq!(named, Device { nickname: Some("work phone".into()), updated_at: at, ..stored });
    assert_eq!(store.device(ada.environment_id, ada.id, sms.id).await.unwrap(), named);
    let cleared = store.set_device_nickname(ada.environment_id, ada.id, sms.id, None, at).await.unwrap();
    assert_eq!(cleared.nickname, None);
    assert!(matches!(
        store.set_device_nickname(ada.environment_id, ada.id, new_id(), None, at).await,
        Err(StoreError::NotFound)
    ));
}

/// A device waiting for a code of `policy`, which judges `count` guesses and then
/// locks for `cool_down_minutes`.
async fn waiting_device<S: Store>(store: &S, count: i64, cool_down_minutes: i64) -> (Device, crate::mfa::MethodPolicy) {
    let (ada, policy) = user_with_policy(store).await;
    let rules = crate::mfa::MethodPolicy {
        failure_count: count,
        cool_down: crate::mfa::Span { duration: cool_down_minutes, unit: crate::mfa::TimeUnit::Minutes },
        ..policy.sms
    };
    let mut sms = device(&ada, policy.id, DeviceType::Sms, "+1.5125551234");
    sms.status = DeviceStatus::ActivationRequired;
    store.create_device(&sms, 5, &Outbox::default()).await.unwrap();
    sms.otp_hash = Some(vec![7; 32]);
    sms.otp_expires_at = Some(now() + TimeDelta::minutes(10));
    assert!(store.issue_device_code(&sms, &Outbox::default()).await.unwrap());
    (sms, rules)
}

pub async fn otp_guesses_are_counted_in_one_conditional_statement<S: Store>(store: &S) {
    const GUESSES: usize = 24;
    let (sms, rules) = waiting_device(store, 3, 5).await;
    let (env, user, id) = (sms.environment_id, sms.user_id, sms.id);
    // Guesses and nickname changes at once: exactly the policy's count is let through,
    // each counted once, and nothing else resets the count.
    let mut racers = Vec::new();
    for i in 0..GUESSES {
        let store = store.clone();
        racers.push(tokio::spawn(async move {
            if i % 2 == 0 {
                store.set_device_nickname(env, user, id, Some("phone"), now()).await.unwrap();
                None
            } else {
                store.claim_otp_attempt(env, user, id, &rules, now()).await.unwrap().map(|a| a.attempts)
            }
        }));
    }
    let mut counted = Vec::new();
    for racer in racers {
        counted.extend(racer.await.unwrap());
    }
    counted.sort();
    assert_eq!(counted, [1, 2, 3], "each guess let through is counted once, up to the policy's count");
    let locked = store.device(env, user, id).await.unwrap();
    assert!(locked.locked(now()), "the guess that reached the count locked the device");
    assert_eq!(locked.otp_hash, sms.otp_hash, "the code stays, but no guess is judged against it");
    assert!(store.claim_otp_attempt(env, user, id, &rules, now() + TimeDelta::minutes(6)).await.unwrap().is_none());
    // A new code needs the lock to have passed, and starts the count over.
    let renewed = Device { otp_hash: Some(vec![8; 32]), updated_at: now(), ..sms.clone() };
    assert!(!store.issue_device_code(&renewed, &Outbox::default()).await.unwrap());
    let later = now() + TimeDelta::minutes(6);
    assert!(store.issue_device_code(&Device { updated_at: later, ..renewed }, &Outbox::default()).await.unwrap());
    let attempt = store.claim_otp_attempt(env, user, id, &rules, later).await.unwrap().unwrap();
    assert_eq!((attempt.otp_hash, attempt.attempts), (Some(vec![8; 32]), 1));

    // Activation takes only the code the guess was judged against.
    assert_eq!(store.activate_device(env, user, id, Some(&[7; 32]), later).await.unwrap(), None);
    let active = store.activate_device(env, user, id, Some(&[8; 32]), later).await.unwrap().unwrap();
    assert_eq!(
        (active.status, active.otp_hash, active.failed_attempts, active.locked_until),
        (DeviceStatus::Active, None, 0, None)
    );
    assert!(store.claim_otp_attempt(env, user, id, &rules, later).await.unwrap().is_none(), "active: no guess");
}

pub async fn expired_codes_are_not_guessed_and_totp_counts_start_over<S: Store>(store: &S) {
    let (sms, rules) = waiting_device(store, 2, 0).await;
    let (env, user) = (sms.environment_id, sms.user_id);
    let after_expiry = now() + TimeDelta::minutes(11);
    assert!(store.claim_otp_attempt(env, user, sms.id, &rules, after_expiry).await.unwrap().is_none());

    let mut totp = device(&store.user(env, user).await.unwrap(), sms.policy_id, DeviceType::Totp, "");
    (totp.phone, totp.status, totp.sealed_secret) = (None, DeviceStatus::ActivationRequired, Some(vec![5; 40]));
    store.create_device(&totp, 5, &Outbox::default()).await.unwrap();
    let at = now();
    let guess = |at| store.claim_otp_attempt(env, user, totp.id, &rules, at);
    let first = guess(at).await.unwrap().unwrap();
    assert_eq!((first.sealed_secret.as_deref(), first.otp_hash, first.attempts), (Some(&[5; 40][..]), None, 1));
    assert_eq!(guess(at).await.unwrap().unwrap().attempts, 2);
    // No cool-down: the lock has passed at once, and the count starts over.
    assert_eq!(guess(at + TimeDelta::milliseconds(1)).await.unwrap().unwrap().attempts, 1);
    assert!(store.activate_device(env, user, totp.id, None, at).await.unwrap().is_some());
}

pub async fn devices_list_in_order_filtered_and_reorder<S: Store>(store: &S) {
    let (ada, policy) = user_with_policy(store).await;
    let mut ids = Vec::new();
    for (kind, target) in
        [(DeviceType::Sms, "+1.5125550001"), (DeviceType::Email, "a@example.com"), (DeviceType::Voice, "+1.5125550002")]
    {
        let d = device(&ada, policy.id, kind, target);
        store.create_device(&d, 5, &Outbox::default()).await.unwrap();
        ids.push(d.id);
    }
    let list = |filter: DeviceFilter, page: PageRequest| {
        let store = store.clone();
        let (env, user) = (ada.environment_id, ada.id);
        async move { store.devices(env, user, &filter, page).await.unwrap() }
    };
    let first = list(DeviceFilter::default(), PageRequest::first(2)).await;
    assert_eq!((first.items.iter().map(|d| d.id).collect::<Vec<_>>(), first.has_more), (ids[..2].to_vec(), true));
    let rest = list(DeviceFilter::default(), PageRequest { limit: 2, after: Some(ids[1]) }).await;
    assert_eq!(rest.items.iter().map(|d| d.id).collect::<Vec<_>>(), [ids[2]]);
    let emails = list(DeviceFilter { kind: Some(DeviceType::Email), status: None }, PageRequest::first(10)).await;
    assert_eq!(emails.items.iter().map(|d| d.id).collect::<Vec<_>>(), [ids[1]]);
    let pending =
        list(DeviceFilter { kind: None, status: Some(DeviceStatus::ActivationRequired) }, PageRequest::first(10)).await;
    assert!(pending.items.is_empty());

    store.reorder_devices(ada.environment_id, ada.id, &[ids[2], ids[0]]).await.unwrap();
    let reordered = list(DeviceFilter::default(), PageRequest::first(10)).await;
    assert_eq!(reordered.items.iter().map(|d| d.id).collect::<Vec<_>>(), [ids[2], ids[0], ids[1]]);
    assert!(matches!(store.reorder_devices(ada.environment_id, ada.id, &[new_id()]).await, Err(StoreError::NotFound)));
    assert!(matches!(
        store.reorder_devices(ada.environment_id, ada.id, &[ids[0], ids[0]]).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn issuer_profile_is_made_once_per_environment<S: Store>(store: &S) {
    let env = create_environment(store, "Issuer").await;
    let at = now();
    let profile = IssuerProfile {
        id: new_id(),
        environment_id: env.id,
        name: "Issuer".into(),
        site_url: None,
        public_key: vec![1; 32],
        sealed_private_key: vec![2; 72],
        created_at: at,
        updated_at: at,
    };
    assert!(matches!(store.issuer_profile(env.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.ensure_issuer_profile(&profile).await.unwrap(), profile);
    assert_eq!(store.issuer_profile(env.id).await.unwrap(), profile);
    let racing = IssuerProfile { id: new_id(), public_key: vec![3; 32], ..profile.clone() };
    assert_eq!(store.ensure_issuer_profile(&racing).await.unwrap(), profile, "the first one stays");
    let renamed =
        IssuerProfile { name: "Renamed".into(), site_url: Some("https://issuer.example.com".into()), ..profile };
    store.update_issuer_profile(&renamed).await.unwrap();
    assert_eq!(store.ensure_issuer_profile(&racing).await.unwrap(), renamed);
}

pub async fn credential_types_keep_fields_in_order_and_hide_when_deleted<S: Store>(store: &S) {
    let env = create_environment(store, "Types").await;
    let field = |kind: FieldType, title: &str, value: Option<&str>, attribute: Option<&str>| CredentialField {
        id: format!("{} -> {title}", kind.as_str()),
        kind,
        title: title.into(),
        value: value.map(Into::into),
        attribute: attribute.map(Into::into),
        required: value.is_none(),
    };
    let fields = CredentialTypeFields {
        title: "Membership".into(),
        description: Some("Gold members".into()),
        card_type: None,
        issuer_name: Some("Club".into()),
        mode: ManagementMode::Managed,
        metadata: CredentialMetadata {
            name: Some("Membership card".into()),
            card_color: Some("#9997bf".into()),
            text_color: Some("#253746".into()),
            bg_opacity_percent: Some(20),
            columns: Some(2),
            fields: vec![
                field(FieldType::AlphanumericText, "Level", None, None),
                field(FieldType::AlphanumericText, "Club", Some("Chess"), None),
                field(FieldType::DirectoryAttribute, "Name", None, Some("name.formatted")),
                field(FieldType::IssuedTimestamp, "Issued", None, None),
            ],
            ..Default::default()
        },
        revoke_on_delete: true,
    };
    let mut kind = CredentialType::new(new_id(), env.id, fields.clone(), now());
    store.create_credential_type(&kind).await.unwrap();
    assert_eq!(store.credential_type(env.id, kind.id).await.unwrap(), kind);
    let other =
        CredentialType::new(new_id(), env.id, CredentialTypeFields { title: "Other".into(), ..fields.clone() }, now());
    store.create_credential_type(&other).await.unwrap();
    assert_eq!(
        store.credential_types(env.id, PageRequest::first(10)).await.unwrap().items,
        vec![kind.clone(), other.clone()]
    );

    let mut changed = fields.clone();
    changed.metadata.fields.swap(0, 1);
    changed.metadata.fields.pop();
    kind.replace(changed, now()).unwrap();
    store.update_credential_type(&kind).await.unwrap();
    let stored = store.credential_type(env.id, kind.id).await.unwrap();
    assert_eq!((stored.version, stored.metadata.fields.len()), (2, 3));
    assert_eq!(stored, kind);

    kind.deleted_at = Some(now());
    store.update_credential_type(&kind).await.unwrap();
    assert_eq!(store.credential_type(env.id, kind.id).await.unwrap().deleted_at, kind.deleted_at, "still readable");
    assert_eq!(store.credential_types(env.id, PageRequest::first(10)).await.unwrap().items, vec![other]);
}

fn credential_of(user: &User, type_id: Uuid) -> UserCredential {
    let at = now();
    UserCredential {
        id: new_id(),
        environment_id: user.environment_id,
        user_id: user.id,
        credential_type_id: type_id,
        type_version: 1,
        title: "Membership".into(),
        status: CredentialStatus::Pending,
        expires_at: None,
        notification: None,
        created_at: at,
        updated_at: at,
    }
}

/// A copy of `credential` for `wallet`, waiting for the delivery job it returns.
fn copy_in(credential: &UserCredential, wallet: &DigitalWallet) -> (ProvisionedCredential, NewJob) {
    let delivery = job("deliver_credential", 3);
    let copy = ProvisionedCredential {
        id: new_id(),
        environment_id: credential.environment_id,
        user_id: credential.user_id,
        credential_id: credential.id,
        wallet_id: wallet.id,
        status: ProvisionStatus::Created,
        sealed_payload: None,
        delivered_at: None,
        delivery_error: None,
        delivery_job_id: Some(delivery.id),
        expires_at: credential.expires_at,
        created_at: credential.created_at,
        updated_at: credential.updated_at,
    };
    (copy, delivery)
}

fn outbox_with(job: &NewJob) -> Outbox {
    Outbox { notifications: vec![], jobs: vec![job.clone()] }
}

async fn actions_on<S: Store>(store: &S, provisioned_id: Uuid) -> Vec<WalletAction> {
    store.wallet_actions(provisioned_id).await.unwrap().into_iter().map(|a| a.action).collect()
}

async fn active_wallet<S: Store>(store: &S, user: &User, app: &WalletApplication) -> DigitalWallet {
    let (mut wallet, session) = wallet_with_session(user, app, now() + TimeDelta::hours(1));
    wallet.status = WalletStatus::Active;
    store.create_wallet(&wallet, &session, &Outbox::default()).await.unwrap();
    wallet
}

fn type_fields(title: &str) -> CredentialTypeFields {
    CredentialTypeFields {
        title: title.into(),
        description: None,
        card_type: None,
        issuer_name: None,
        mode: ManagementMode::Managed,
        metadata: CredentialMetadata::default(),
        revoke_on_delete: true,
    }
}

pub async fn credentials_are_delivered_once_acted_on_and_revoked<S: Store>(store: &S) {
    let (ada, app) = user_with_app(store).await;
    let wallet = active_wallet(store, &ada, &app).await;
    let mut credential = credential_of(&ada, new_id());
    let (copy, delivery) = copy_in(&credential, &wallet);
    store.create_user_credential(&credential, std::slice::from_ref(&copy), &outbox_with(&delivery)).await.unwrap();
    assert_eq!(store.user_credential(ada.environment_id, ada.id, credential.id).await.unwrap(), credential);
    assert_eq!(store.provisioned_of_credential(credential.id).await.unwrap(), vec![copy.clone()]);
    assert_eq!(store.provisioned_in_wallet(wallet.id).await.unwrap(), vec![copy.clone()]);
    assert_eq!(store.job(delivery.id).await.unwrap().status, JobStatus::Queued);

    let second = active_wallet(store, &ada, &app).await;
    let (added, _) = copy_in(&credential, &second);
    store.add_provisioned_credential(&added, &Outbox::default()).await.unwrap();
    assert_eq!(store.provisioned_in_wallet(second.id).await.unwrap(), vec![added]);
    let at = now();
    let purge = job("purge_mailbox", 3);
    assert!(
        !store.deliver_credential(copy.id, new_id(), b"stale", at, &Outbox::default()).await.unwrap(),
        "not its job"
    );
    assert!(store.deliver_credential(copy.id, delivery.id, b"sealed jwt", at, &outbox_with(&purge)).await.unwrap());
    assert!(!store.deliver_credential(copy.id, delivery.id, b"again", at, &Outbox::default()).await.unwrap(), "once");
    assert_eq!(store.job(purge.id).await.unwrap().status, JobStatus::Queued, "the delivery's outbox is written");
    let delivered = store.provisioned_credential(copy.id).await.unwrap();
    assert_eq!((delivered.sealed_payload.as_deref(), delivered.delivered_at), (Some(&b"sealed jwt"[..]), Some(at)));
    assert_eq!(
        store.user_credential(ada.environment_id, ada.id, credential.id).await.unwrap().status,
        CredentialStatus::Issued
    );

    store.record_wallet_action(copy.id, WalletAction::Accepted, at).await.unwrap();
    let accepted = store.provisioned_credential(copy.id).await.unwrap();
    assert_eq!(
        (accepted.status, accepted.sealed_payload),
        (ProvisionStatus::Accepted, None),
        "the mailbox copy is wiped"
    );
    (credential.status, credential.expires_at, credential.updated_at) = (CredentialStatus::Revoked, Some(at), at);
    store.update_user_credential(&credential, &[], &Outbox::default()).await.unwrap();
    assert_eq!(store.user_credential(ada.environment_id, ada.id, credential.id).await.unwrap(), credential);
    for copy in store.provisioned_of_credential(credential.id).await.unwrap() {
        assert_eq!((copy.status, copy.sealed_payload), (ProvisionStatus::Revoked, None));
    }
    assert_eq!(actions_on(store, copy.id).await, [WalletAction::Accepted, WalletAction::Revoked]);
    assert!(matches!(
        store.user_credential(ada.environment_id, new_id(), credential.id).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn mailbox_pages_the_delivered_copies_not_yet_acted_on<S: Store>(store: &S) {
    let (ada, app) = user_with_app(store).await;
    let (wallet, other_wallet) = (active_wallet(store, &ada, &app).await, active_wallet(store, &ada, &app).await);
    let mut copies = Vec::new();
    for target in [&wallet, &wallet, &wallet, &other_wallet] {
        let credential = credential_of(&ada, new_id());
        let (copy, delivery) = copy_in(&credential, target);
        store.create_user_credential(&credential, std::slice::from_ref(&copy), &outbox_with(&delivery)).await.unwrap();
        copies.push((copy, delivery));
    }
    // The second copy is never delivered; the fourth waits in another wallet.
    for (copy, delivery) in [&copies[0], &copies[2], &copies[3]] {
        assert!(store.deliver_credential(copy.id, delivery.id, b"jwt", now(), &Outbox::default()).await.unwrap());
    }
    let ids = |page: &Page<ProvisionedCredential>| page.items.iter().map(|c| c.id).collect::<Vec<_>>();
    let first = store.mailbox(wallet.id, PageRequest::first(1)).await.unwrap();
    assert_eq!((ids(&first), first.has_more), (vec![copies[0].0.id], true));
    assert_eq!(first.items[0].sealed_payload.as_deref(), Some(&b"jwt"[..]));
    let next = PageRequest { limit: 1, after: Some(copies[0].0.id) };
    let second = store.mailbox(wallet.id, next).await.unwrap();
    assert_eq!((ids(&second), second.has_more), (vec![copies[2].0.id], false));

    store.record_wallet_action(copies[0].0.id, WalletAction::Accepted, now()).await.unwrap();
    let left = store.mailbox(wallet.id, PageRequest::first(10)).await.unwrap();
    assert_eq!((ids(&left), left.has_more), (vec![copies[2].0.id], false));
    assert_eq!(ids(&store.mailbox(other_wallet.id, PageRequest::first(10)).await.unwrap()), vec![copies[3].0.id]);
}

pub async fn updated_credentials_wait_for_their_newest_delivery<S: Store>(store: &S) {
    let (ada, app) = user_with_app(store).await;
    let wallet = active_wallet(store, &ada, &app).await;
    let mut credential = credential_of(&ada, new_id());
    let (copy, first) = copy_in(&credential, &wallet);
    store.create_user_credential(&credential, std::slice::from_ref(&copy), &outbox_with(&first)).await.unwrap();
    assert!(store.deliver_credential(copy.id, first.id, b"first", now(), &Outbox::default()).await.unwrap());
    store.record_wallet_action(copy.id, WalletAction::Accepted, now()).await.unwrap();

    // The update resets the copy in place: same id, new delivery job.
    credential.expires_at = Some(now() + TimeDelta::days(30));
    credential.updated_at = now();
    let (fresh, second) = copy_in(&credential, &wallet);
    let reset = ProvisionedCredential { id: copy.id, created_at: copy.created_at, ..fresh };
    store.update_user_credential(&credential, std::slice::from_ref(&reset), &outbox_with(&second)).await.unwrap();
    assert_eq!(store.user_credential(ada.environment_id, ada.id, credential.id).await.unwrap(), credential);
    assert_eq!(store.provisioned_of_credential(credential.id).await.unwrap(), vec![reset.clone()]);
    assert_eq!(actions_on(store, copy.id).await, [WalletAction::Accepted], "the history stays");

    store.record_delivery_error(copy.id, first.id, "old news", now()).await.unwrap();
    assert_eq!(store.provisioned_credential(copy.id).await.unwrap().delivery_error, None, "a stale job is ignored");
    store.record_delivery_error(copy.id, second.id, "wallet key unreadable", now()).await.unwrap();
    assert_eq!(
        store.provisioned_credential(copy.id).await.unwrap().delivery_error.as_deref(),
        Some("wallet key unreadable")
    );
    assert!(!store.deliver_credential(copy.id, first.id, b"first", now(), &Outbox::default()).await.unwrap());
    let delivered_at = now();
    assert!(store.deliver_credential(copy.id, second.id, b"second", delivered_at, &Outbox::default()).await.unwrap());
    let delivered = store.provisioned_credential(copy.id).await.unwrap();
    assert_eq!((delivered.sealed_payload.as_deref(), delivered.delivery_error), (Some(&b"second"[..]), None));

    let reason = "not collected in time";
    let early = delivered_at - TimeDelta::seconds(1);
    assert!(!store.purge_mailbox(copy.id, early, reason, now()).await.unwrap(), "not due before its time-to-live");
    assert!(store.purge_mailbox(copy.id, delivered_at, reason, now()).await.unwrap());
    assert!(!store.purge_mailbox(copy.id, delivered_at, reason, now()).await.unwrap(), "once");
    let purged = store.provisioned_credential(copy.id).await.unwrap();
    assert_eq!((purged.sealed_payload, purged.delivery_error.as_deref()), (None, Some(reason)));

    assert!(!store.expire_user_credential(credential.id, now()).await.unwrap(), "not due yet");
    assert!(store.expire_user_credential(credential.id, now() + TimeDelta::days(31)).await.unwrap());
    assert!(!store.expire_user_credential(credential.id, now() + TimeDelta::days(32)).await.unwrap(), "once");
    let expired = store.user_credential(ada.environment_id, ada.id, credential.id).await.unwrap();
    assert_eq!(expired.status, CredentialStatus::Revoked);
    assert_eq!(store.provisioned_credential(copy.id).await.unwrap().status, ProvisionStatus::Revoked);
}

pub async fn wallets_disabled_or_deleted_revoke_their_copies<S: Store>(store: &S) {
    let (ada, app) = user_with_app(store).await;
    let (disabled, deleted, orphaned) = (
        active_wallet(store, &ada, &app).await,
        active_wallet(store, &ada, &app).await,
        active_wallet(store, &ada, &app).await,
    );
    let credential = credential_of(&ada, new_id());
    let copies: Vec<ProvisionedCredential> =
        [&disabled, &deleted, &orphaned].into_iter().map(|w| copy_in(&credential, w).0).collect();
    store.create_user_credential(&credential, &copies, &Outbox::default()).await.unwrap();

    let reactivation = job("provision_pending", 3);
    let off = DigitalWallet { status: WalletStatus::Disabled, updated_at: now(), ..disabled.clone() };
    store.update_wallet(&off, &outbox_with(&reactivation)).await.unwrap();
    assert_eq!(store.job(reactivation.id).await.unwrap().status, JobStatus::Queued, "the outbox is written");
    store.delete_wallet(ada.environment_id, ada.id, deleted.id, now()).await.unwrap();
    assert!(matches!(store.wallet_by_id(deleted.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.provisioned_of_credential(credential.id).await.unwrap().len(), 3, "copies stay as history");
    for copy in &copies[..2] {
        assert_eq!(store.provisioned_credential(copy.id).await.unwrap().status, ProvisionStatus::Revoked);
        assert_eq!(actions_on(store, copy.id).await, [WalletAction::Revoked]);
    }
    assert_eq!(store.provisioned_credential(copies[2].id).await.unwrap().status, ProvisionStatus::Created);

    let other = wallet_application(ada.environment_id);
    store.create_wallet_application(&other).await.unwrap();
    let untouched = active_wallet(store, &ada, &other).await;
    let (untouched_copy, _) = copy_in(&credential, &untouched);
    store.add_provisioned_credential(&untouched_copy, &Outbox::default()).await.unwrap();
    store.delete_wallet_application(app.environment_id, app.id, now()).await.unwrap();
    assert_eq!(store.provisioned_credential(copies[2].id).await.unwrap().status, ProvisionStatus::Revoked);
    assert_eq!(store.provisioned_credential(untouched_copy.id).await.unwrap().status, ProvisionStatus::Created);
    assert_eq!(
        store.user_credential(ada.environment_id, ada.id, credential.id).await.unwrap().status,
        CredentialStatus::Pending,
        "the credential itself stays"
    );
}

pub async fn deleting_a_type_deletes_pending_and_revokes_issued_credentials<S: Store>(store: &S) {
    let (ada, app) = user_with_app(store).await;
    let wallet = active_wallet(store, &ada, &app).await;
    for revoke_issued in [true, false] {
        let kind = CredentialType::new(new_id(), ada.environment_id, type_fields("Badge"), now());
        store.create_credential_type(&kind).await.unwrap();
        let pending = credential_of(&ada, kind.id);
        store.create_user_credential(&pending, &[], &Outbox::default()).await.unwrap();
        let issued = credential_of(&ada, kind.id);
        let (copy, delivery) = copy_in(&issued, &wallet);
        store.create_user_credential(&issued, std::slice::from_ref(&copy), &Outbox::default()).await.unwrap();
        assert!(store.deliver_credential(copy.id, delivery.id, b"jwt", now(), &Outbox::default()).await.unwrap());

        let at = now();
        store.delete_credential_type(ada.environment_id, kind.id, at, revoke_issued).await.unwrap();
        assert_eq!(store.credential_type(ada.environment_id, kind.id).await.unwrap().deleted_at, Some(at));
        assert!(matches!(
            store.user_credential(ada.environment_id, ada.id, pending.id).await,
            Err(StoreError::NotFound)
        ));
        let after = store.user_credential(ada.environment_id, ada.id, issued.id).await.unwrap();
        let copy_after = store.provisioned_credential(copy.id).await.unwrap();
        if revoke_issued {
            assert_eq!((after.status, after.expires_at), (CredentialStatus::Revoked, Some(at)));
            assert_eq!((copy_after.status, copy_after.sealed_payload), (ProvisionStatus::Revoked, None));
        } else {
            assert_eq!((after.status, copy_after.status), (CredentialStatus::Issued, ProvisionStatus::Created));
        }
        assert!(matches!(
            store.delete_credential_type(ada.environment_id, kind.id, now(), revoke_issued).await,
            Err(StoreError::NotFound)
        ));
    }
}

pub async fn finished_jobs_keep_no_payload<S: Store>(store: &S) {
    let secret = NewJob { payload: b"sealed claims".to_vec(), ..job("deliver_credential", 3) };
    store.enqueue_job(&secret).await.unwrap();
    let at = now();
    let claimed = claim_one(store, at, at + TimeDelta::seconds(30)).await.unwrap();
    finish_one(store, &claimed, JobOutcome::Done, now()).await;
    assert!(store.job(secret.id).await.unwrap().payload.is_empty());
}

fn issuer_profile(environment_id: Uuid, name: &str, key: u8) -> IssuerProfile {
    let at = now();
    IssuerProfile {
        id: new_id(),
        environment_id,
        name: name.into(),
        site_url: None,
        public_key: vec![key; 32],
        sealed_private_key: vec![key; 72],
        created_at: at,
        updated_at: at,
    }
}

/// One of each configuration record, with new ids.
fn full_configuration(environment_id: Uuid) -> Configuration {
    let at = now();
    let mut fields = type_fields("Membership");
    fields.metadata.fields.push(CredentialField {
        id: "Alphanumeric Text -> Level".into(),
        kind: FieldType::AlphanumericText,
        title: "Level".into(),
        value: None,
        attribute: None,
        required: true,
    });
    let content = TemplateContent {
        id: new_id(),
        environment_id,
        template: TemplateName::DevicePairing,
        delivery_method: DeliveryMethod::Sms,
        locale: "fr".into(),
        variant: None,
        subject: None,
        body: "Code ${otp}".into(),
        created_at: at,
        updated_at: at,
    };
    // Ids in the order the store lists them (creation order, then id).
    let default = DevicePolicy::initial(environment_id, new_id(), at);
    let strict =
        DevicePolicy { name: "Strict".into(), default: false, ..DevicePolicy::initial(environment_id, new_id(), at) };
    Configuration {
        environment_id,
        issuer_profile: IssuerProfile {
            site_url: Some("https://issuer.example.com".into()),
            ..issuer_profile(environment_id, "Imported issuer", 7)
        },
        credential_types: vec![CredentialType::new(new_id(), environment_id, fields, at)],
        wallet_applications: vec![wallet_application(environment_id)],
        template_contents: vec![content],
        device_policies: vec![default, strict],
        mfa_settings: Some(MfaSettings { environment_id, max_allowed_devices: 3, updated_at: at }),
    }
}

/// The environment's configuration as the store reads it back.
async fn configuration_of<S: Store>(store: &S, environment_id: Uuid) -> Configuration {
    let mut template_contents = Vec::new();
    for template in TemplateName::ALL {
        template_contents.extend(store.template_contents(environment_id, *template).await.unwrap());
    }
    Configuration {
        environment_id,
        issuer_profile: store.issuer_profile(environment_id).await.unwrap(),
        credential_types: store.credential_types(environment_id, PageRequest::first(100)).await.unwrap().items,
        wallet_applications: store.wallet_applications(environment_id, PageRequest::first(100)).await.unwrap().items,
        template_contents,
        device_policies: store.device_policies(environment_id).await.unwrap(),
        mfa_settings: store.mfa_settings(environment_id).await.unwrap(),
    }
}

pub async fn reset_empties_the_environment_back_to_its_configuration<S: Store>(store: &S) {
    let env = create_environment(store, "Reset").await.id;
    let configured = full_configuration(env);
    assert!(store.replace_configuration(&configured).await.unwrap());
    let worker = application(env);
    store.create_application(&worker).await.unwrap();
    let keys = store.signing_keys(env).await.unwrap();
    let profile = store.issuer_profile(env).await.unwrap();

    let ada = user(env, "ada", Some("ada@example.com"));
    store.create_user(&ada).await.unwrap();
    let app = &configured.wallet_applications[0];
    let (wallet, session) = wallet_with_session(&ada, app, now() + TimeDelta::hours(1));
    let message = notification(&ada, TemplateName::DigitalWalletPairing, "ada@example.com");
    let outbox = Outbox { notifications: vec![message.clone()], jobs: vec![] };
    store.create_wallet(&wallet, &session, &outbox).await.unwrap();
    let active = active_wallet(store, &ada, app).await;
    let credential = credential_of(&ada, configured.credential_types[0].id);
    let (copy, _) = copy_in(&credential, &active);
    store.create_user_credential(&credential, std::slice::from_ref(&copy), &Outbox::default()).await.unwrap();
    let device = device(&ada, configured.device_policies[0].id, DeviceType::Email, "ada@example.com");
    store.create_device(&device, 5, &Outbox::default()).await.unwrap();
    let (bob, _) = user_with_app(store).await;

    let initial = Configuration::initial(issuer_profile(env, "Reset", 9), DevicePolicy::initial(env, new_id(), now()));
    store.reset_environment(&initial).await.unwrap();

    assert!(matches!(store.user(env, ada.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.wallet_by_id(wallet.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.pairing_session(&session.link_hash).await, Err(StoreError::NotFound)));
    assert!(matches!(store.provisioned_credential(copy.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.device(env, ada.id, device.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.notification(message.id).await, Err(StoreError::NotFound)));
    // The profile keeps its id and key (the environment's DID), and takes the new name.
    let kept = IssuerProfile {
        name: "Reset".into(),
        site_url: None,
        updated_at: initial.issuer_profile.updated_at,
        ..profile
    };
    assert_eq!(configuration_of(store, env).await, Configuration { issuer_profile: kept, ..initial.clone() });
    // What is not configuration stays: the worker, the signing keys, other environments.
    assert_eq!(store.application(env, worker.id).await.unwrap(), worker);
    assert_eq!(store.signing_keys(env).await.unwrap(), keys);
    assert_eq!(store.user(bob.environment_id, bob.id).await.unwrap(), bob);
    let missing = Configuration { environment_id: new_id(), ..initial };
    assert!(matches!(store.reset_environment(&missing).await, Err(StoreError::NotFound)));
}

pub async fn configuration_is_replaced_whole_and_only_without_users<S: Store>(store: &S) {
    let env = create_environment(store, "Configured").await;
    let configuration = full_configuration(env.id);
    assert!(store.replace_configuration(&configuration).await.unwrap());
    assert_eq!(configuration_of(store, env.id).await, configuration);

    // Again with less: what is left out goes; the profile keeps its id and key.
    let smaller = Configuration {
        issuer_profile: issuer_profile(env.id, "Renamed", 8),
        credential_types: vec![],
        template_contents: vec![],
        device_policies: vec![DevicePolicy::initial(env.id, new_id(), now())],
        mfa_settings: None,
        ..configuration.clone()
    };
    assert!(store.replace_configuration(&smaller).await.unwrap());
    let kept = IssuerProfile {
        name: "Renamed".into(),
        site_url: None,
        updated_at: smaller.issuer_profile.updated_at,
        ..configuration.issuer_profile.clone()
    };
    assert_eq!(configuration_of(store, env.id).await, Configuration { issuer_profile: kept, ..smaller });

    // Ids another environment holds: a conflict, and nothing written.
    let other = create_environment(store, "Other").await;
    let before = store.device_policies(other.id).await.unwrap();
    let taken = Configuration { environment_id: other.id, ..full_configuration(other.id) };
    let taken = Configuration { wallet_applications: configuration.wallet_applications.clone(), ..taken };
    assert!(matches!(store.replace_configuration(&taken).await, Err(StoreError::Conflict)));
    assert_eq!(store.device_policies(other.id).await.unwrap(), before);

    // With a user: refused, and nothing written.
    let ada = user(other.id, "ada", None);
    store.create_user(&ada).await.unwrap();
    assert!(!store.replace_configuration(&full_configuration(other.id)).await.unwrap());
    assert_eq!(store.device_policies(other.id).await.unwrap(), before);
    assert!(matches!(store.replace_configuration(&full_configuration(new_id())).await, Err(StoreError::NotFound)));
}

pub async fn prune_deletes_finished_jobs_a_batch_at_a_time_and_never_unfinished_ones<S: Store>(store: &S) {
    let at = now();
    let (long_ago, lately) = (at - TimeDelta::hours(2), at - TimeDelta::minutes(1));
    // Seven finished jobs: five done long ago, one done lately, one dead long ago.
    let finished: Vec<NewJob> =
        (0..7).map(|_| NewJob { run_at: long_ago - TimeDelta::hours(1), ..job("finished", 1) }).collect();
    for j in &finished {
        store.enqueue_job(j).await.unwrap();
    }
    let claimed = store.claim_jobs(long_ago - TimeDelta::hours(1), long_ago, 10).await.unwrap();
    assert_eq!(claimed.len(), 7);
    let (done_long_ago, rest) = claimed.split_at(5);
    for job in done_long_ago {
        finish_one(store, job, JobOutcome::Done, long_ago).await;
    }
    finish_one(store, &rest[0], JobOutcome::Done, lately).await;
    finish_one(store, &rest[1], JobOutcome::Dead { error: "gave up".into() }, long_ago).await;

    // Unfinished jobs, each older than any cutoff below: one running under a lease,
    // one whose lease ran out long ago (due again), one due long ago and never
    // claimed, one scheduled for later.
    let running = NewJob { run_at: long_ago, ..job("running", 3) };
    store.enqueue_job(&running).await.unwrap();
    assert_eq!(claim_one(store, at, at + TimeDelta::hours(1)).await.unwrap().id, running.id);
    let lease_ran_out = NewJob { run_at: long_ago, ..job("lease_ran_out", 3) };
    store.enqueue_job(&lease_ran_out).await.unwrap();
    let lapsed = claim_one(store, long_ago, long_ago + TimeDelta::minutes(1)).await.unwrap();
    assert_eq!(lapsed.id, lease_ran_out.id);
    let due = NewJob { run_at: long_ago, ..job("due", 3) };
    let later = NewJob { run_at: at + TimeDelta::hours(1), ..job("later", 3) };
    for j in [&due, &later] {
        store.enqueue_job(j).await.unwrap();
    }

    // Done an hour ago or earlier, two at a time: the batch bounds each prune.
    let done_before = PruneBefore { done_jobs: Some(at - TimeDelta::hours(1)), ..PruneBefore::default() };
    let mut batches = Vec::new();
    loop {
        let pruned = store.prune(&done_before, 2).await.unwrap();
        batches.push(pruned.done_jobs);
        assert_eq!(pruned, Pruned { done_jobs: pruned.done_jobs, ..Pruned::default() });
        if !pruned.filled(2) {
            break;
        }
    }
    assert_eq!(batches, [2, 2, 1]);
    for j in &finished[..5] {
        assert!(matches!(store.job(j.id).await, Err(StoreError::NotFound)));
    }
    assert_eq!(store.job(finished[5].id).await.unwrap().status, JobStatus::Done, "done lately");
    assert_eq!(store.job(finished[6].id).await.unwrap().status, JobStatus::Dead, "dead jobs have their own age");

    // Cutoffs past every row: the finished jobs go, the unfinished ones all stay.
    let tomorrow = at + TimeDelta::days(1);
    let all_finished = PruneBefore { done_jobs: Some(tomorrow), dead_jobs: Some(tomorrow), ..PruneBefore::default() };
    let pruned = store.prune(&all_finished, 10).await.unwrap();
    assert_eq!(pruned, Pruned { done_jobs: 1, dead_jobs: 1, ..Pruned::default() });
    for (j, status) in [
        (&running, JobStatus::Running),
        (&lease_ran_out, JobStatus::Running),
        (&due, JobStatus::Queued),
        (&later, JobStatus::Queued),
    ] {
        assert_eq!(store.job(j.id).await.unwrap().status, status, "{}", j.kind);
    }
    assert_eq!(store.prune(&all_finished, 10).await.unwrap(), Pruned::default());
    // The lapsed job is still claimed again, and settles.
    let again = claim_one(store, at, at + TimeDelta::minutes(1)).await.unwrap();
    assert_eq!(again.id, lease_ran_out.id);
    finish_one(store, &again, JobOutcome::Done, at).await;
    assert_eq!(store.job(lease_ran_out.id).await.unwrap().status, JobStatus::Done);
}

pub async fn prune_deletes_settled_notifications_and_expired_sessions_nobody_tried<S: Store>(store: &S) {
    let (ada, app) = user_with_app(store).await;
    let at = now();
    let (long_ago, lately) = (at - TimeDelta::hours(2), at - TimeDelta::minutes(1));
    let cutoff = at - TimeDelta::hours(1);

    // Notifications enter the store through a write's outbox; each wallet brings one.
    let wallet = |created_at, expires_at| {
        let (wallet, session) = wallet_with_session(&ada, &app, expires_at);
        let message =
            Notification { created_at, ..notification(&ada, TemplateName::DigitalWalletPairing, "ada@example.com") };
        (wallet, session, message)
    };
    // Sent long ago, failed long ago, sent lately, and one still queued since long ago.
    let sent_long_ago = wallet(long_ago, long_ago);
    let failed_long_ago = wallet(long_ago, long_ago);
    let sent_lately = wallet(lately, at + TimeDelta::hours(1));
    let queued = wallet(long_ago, at + TimeDelta::hours(1));
    for (wallet, session, message) in [&sent_long_ago, &failed_long_ago, &sent_lately, &queued] {
        let outbox = Outbox { notifications: vec![message.clone()], jobs: vec![] };
        store.create_wallet(wallet, session, &outbox).await.unwrap();
    }
    store.settle_notification(sent_long_ago.2.id, NotificationStatus::Sent, None, long_ago).await.unwrap();
    store
        .settle_notification(failed_long_ago.2.id, NotificationStatus::Failed, Some("refused"), long_ago)
        .await
        .unwrap();
    store.settle_notification(sent_lately.2.id, NotificationStatus::Sent, None, lately).await.unwrap();

    // Sessions: the first expired long ago untried; the second expired long ago after a
    // failed attempt, which its wallet's reads show; the third expired lately; the
    // fourth was completed; the last is still pending.
    let untried = &sent_long_ago;
    store.expire_pairing_session(untried.1.id, long_ago).await.unwrap();
    let tried = &failed_long_ago;
    let failure = PairingAttempt {
        id: new_id(),
        session_id: tried.1.id,
        wallet_id: tried.0.id,
        success: false,
        attempted_at: long_ago - TimeDelta::minutes(1),
    };
    store.record_pairing_failure(&failure).await.unwrap();
    store.expire_pairing_session(tried.1.id, long_ago).await.unwrap();
    let (expired_lately, session) = wallet_with_session(&ada, &app, lately);
    store.create_wallet(&expired_lately, &session, &Outbox::default()).await.unwrap();
    store.expire_pairing_session(session.id, lately).await.unwrap();
    let (mut completed, completed_session) = wallet_with_session(&ada, &app, at + TimeDelta::hours(1));
    store.create_wallet(&completed, &completed_session, &Outbox::default()).await.unwrap();
    completed.status = WalletStatus::Active;
    let success = PairingAttempt {
        id: new_id(),
        session_id: completed_session.id,
        wallet_id: completed.id,
        success: true,
        attempted_at: long_ago,
    };
    store.complete_pairing(&completed, &success, &Outbox::default()).await.unwrap();
    let pending = &queued;

    let before = PruneBefore {
        sent_notifications: Some(cutoff),
        expired_pairing_sessions: Some(cutoff),
        ..PruneBefore::default()
    };
    let pruned = store.prune(&before, 10).await.unwrap();
    assert_eq!(pruned, Pruned { sent_notifications: 1, expired_pairing_sessions: 1, ..Pruned::default() });
    assert!(matches!(store.notification(sent_long_ago.2.id).await, Err(StoreError::NotFound)));
    for (kept, status) in [
        (&failed_long_ago.2, NotificationStatus::Failed),
        (&sent_lately.2, NotificationStatus::Sent),
        (&queued.2, NotificationStatus::Queued),
    ] {
        assert_eq!(store.notification(kept.id).await.unwrap().status, status);
    }
    assert!(matches!(store.pairing_session(&untried.1.link_hash).await, Err(StoreError::NotFound)));
    // The wallet stays, as its reads showed it: expired, with no attempts.
    assert_eq!(store.wallet_with_attempts(untried.0.id).await.unwrap().0.status, WalletStatus::Expired);
    assert_eq!(store.wallet_with_attempts(tried.0.id).await.unwrap().1, vec![failure]);
    assert_eq!(store.wallet_with_attempts(completed.id).await.unwrap().1, vec![success]);
    for (link_hash, status) in [
        (&tried.1.link_hash, PairingStatus::Expired),
        (&session.link_hash, PairingStatus::Expired),
        (&completed_session.link_hash, PairingStatus::Completed),
        (&pending.1.link_hash, PairingStatus::Initial),
    ] {
        assert_eq!(store.pairing_session(link_hash).await.unwrap().status, status);
    }

    // Failures have their own age.
    let failures = PruneBefore { failed_notifications: Some(cutoff), ..PruneBefore::default() };
    assert_eq!(store.prune(&failures, 10).await.unwrap(), Pruned { failed_notifications: 1, ..Pruned::default() });
    assert!(matches!(store.notification(failed_long_ago.2.id).await, Err(StoreError::NotFound)));
}
