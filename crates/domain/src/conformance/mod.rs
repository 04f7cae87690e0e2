//! The backend conformance suite: behaviour every `Store` must show, written once.
//!
//! Each check is a plain generic async function in the file of the aggregate it
//! checks; [`crate::conformance_tests!`] stamps one `#[sqlx::test]` per check into a
//! store crate, so both backends run the same list. The files' shared fixtures live
//! here.

// A check left off the list in `conformance_tests!` is never called: an error, not a
// warning, so no check can be written and not run.
#![deny(dead_code)]

mod applications;
mod credential_types;
mod environments;
mod groups;
mod jobs;
mod mfa;
mod notifications;
mod populations;
mod user_credentials;
mod users;
mod wallets;

use chrono::TimeDelta;
use uuid::Uuid;

use crate::Store;
use crate::application::{
    Application, ApplicationFields, ApplicationName, ClientSecret, MobileIdentifiers, NativeFields, NativeSettings,
    TokenEndpointAuthMethod,
};
use crate::credential::{
    CredentialMetadata, CredentialStatus, CredentialTypeFields, CredentialTypeOptions, IssuerProfile, ManagementMode,
    ProvisionStatus, ProvisionedCredential, UserCredential,
};
use crate::environment::{Environment, EnvironmentFields, EnvironmentName, EnvironmentType, Region};
use crate::job::NewJob;
use crate::mfa::{Device, DevicePolicy, DeviceStatus, DeviceType};
use crate::notification::{DeliveryMethod, Notification, NotificationStatus, TemplateName};
use crate::population::Population;
use crate::store::Outbox;
use crate::time::{new_id, now};
use crate::user::{Change, Email, User, UserPatch, Username};
use crate::wallet::{DigitalWallet, PairingSession, PairingStatus, WalletApplication, WalletStatus};

/// Stamps one `#[sqlx::test]` per conformance check into a store crate:
/// `domain::conformance_tests!(sqlx::PgPool, crate::PgStore::new, migrations = "../../migrations/postgres");`
#[macro_export]
macro_rules! conformance_tests {
    ($pool:ty, $ctor:expr, migrations = $m:literal) => {
        $crate::conformance_tests!(@checks stamp [$pool, $ctor, $m]);
    };
    // Every check, by file: the one list both the stamped tests and this module's
    // public checks are made from.
    (@checks $how:ident $args:tt) => {
        $crate::conformance_tests!(@$how $args
            environments [
                environment_round_trips,
                environment_id_is_unique,
                signing_keys_are_added_only_over_the_newest,
                racing_first_signing_keys_make_one,
                environments_page_in_creation_order,
                environment_update_and_delete_cascades,
                reset_empties_the_environment_back_to_its_configuration,
                configuration_is_replaced_whole_and_only_without_users,
            ],
            applications [
                application_round_trips_and_updates,
                native_apps_keep_their_settings_and_unique_identifiers,
                wallet_applications_need_a_native_app_and_go_with_it,
            ],
            groups [
                groups_round_trip_and_names_are_unique_as_pingone_says,
                an_environment_holds_a_bounded_number_of_dynamic_groups,
                users_are_added_once_and_only_to_their_populations_groups,
                nestings_are_walked_up_and_down_through_cycles,
                a_group_is_nested_in_a_bounded_number_of_groups,
                groups_are_replaced_by_an_import_and_kept_by_a_reset,
            ],
            populations [
                populations_round_trip_and_count_their_users,
                population_names_are_unique_per_environment_whatever_their_case,
                one_population_is_the_default_and_the_flag_moves,
                populations_with_users_and_the_default_stay,
                users_live_in_a_population_of_their_environment,
                configuration_replaces_populations_and_reset_keeps_them,
            ],
            users [
                users_are_scoped_to_their_environment,
                username_is_unique_per_environment,
                usernames_are_unique_and_found_whatever_their_case,
                records_of_a_missing_environment_are_not_found,
                users_narrow_by_username,
                users_paginate_past_one_page,
                user_update_keeps_unique_usernames,
            ],
            wallets [
                wallet_is_created_with_its_session_and_outbox,
                pairing_fails_counts_and_completes_once,
                pairing_session_expires_only_when_due_and_pending,
                pairing_completes_only_a_pending_wallet_of_an_existing_application,
                wallet_application_delete_disables_its_wallets_and_user_delete_removes_them,
            ],
            notifications [
                template_contents_are_unique_per_method_locale_and_variant,
                notifications_list_newest_first_filtered_and_settle,
            ],
            mfa [
                one_default_device_policy_and_policies_in_use_stay,
                mfa_settings_are_kept_per_environment,
                devices_respect_the_limit_and_unique_targets,
                otp_guesses_are_counted_in_one_conditional_statement,
                expired_codes_are_not_guessed_and_totp_counts_start_over,
                devices_list_in_order_filtered_and_reorder,
            ],
            credential_types [
                issuer_profile_is_made_once_per_environment,
                credential_types_keep_fields_in_order_and_hide_when_deleted,
                each_credential_type_version_is_kept_as_it_was,
                deleting_a_type_deletes_pending_and_revokes_issued_credentials,
            ],
            user_credentials [
                credentials_are_delivered_once_acted_on_and_revoked,
                mailbox_pages_the_delivered_copies_not_yet_acted_on,
                updated_credentials_wait_for_their_newest_delivery,
                wallets_disabled_or_deleted_revoke_their_copies,
            ],
            jobs [
                job_runs_when_due_and_settles,
                job_retries_then_dies,
                expired_lease_is_claimed_again_and_stale_finish_is_ignored,
                concurrent_claims_never_share_a_job,
                jobs_are_claimed_and_settled_in_batches,
                job_queue_counts_due_running_and_scheduled_jobs,
                finished_jobs_keep_no_payload,
                prune_deletes_finished_jobs_a_batch_at_a_time_and_never_unfinished_ones,
                prune_deletes_settled_notifications_and_expired_sessions_nobody_tried,
            ],
        );
    };
    (@stamp [$pool:ty, $ctor:expr, $m:literal] $($file:ident [$($name:ident),* $(,)?]),* $(,)?) => {$($(
        #[sqlx::test(migrations = $m)]
        async fn $name(pool: $pool) {
            $crate::conformance::$name(&($ctor)(pool)).await;
        }
    )*)*};
    (@expose [] $($file:ident [$($name:ident),* $(,)?]),* $(,)?) => {$($(
        pub async fn $name<S: $crate::Store>(store: &S) {
            $file::$name(store).await
        }
    )*)*};
}

// Each listed check, public for the stamped tests to call.
crate::conformance_tests!(@checks expose []);

fn environment(name: &str) -> Environment {
    Environment::new(
        new_id(),
        EnvironmentFields {
            name: EnvironmentName::parse(name).unwrap(),
            description: None,
            kind: EnvironmentType::Sandbox,
        },
        Region::NorthAmerica,
        now(),
    )
}

/// The environment with its default device policy and its default population, whose
/// id is the environment's own: fixtures name it without reading it back.
async fn create_environment<S: Store>(store: &S, name: &str) -> Environment {
    let env = environment(name);
    let (policy, population) =
        (DevicePolicy::initial(env.id, new_id(), env.created_at), Population::initial(env.id, env.id, env.created_at));
    store.create_environment(&env, &policy, &population).await.unwrap();
    env
}

/// A user in the environment's default population (see [`create_environment`]).
fn user(environment_id: Uuid, username: &str, email: Option<&str>) -> User {
    let patch = UserPatch {
        email: email.map_or(Change::Keep, |e| Change::Set(Email::parse("email", e).unwrap())),
        ..Default::default()
    };
    User::new(new_id(), environment_id, environment_id, Username::parse(username).unwrap(), patch, now())
}

fn application(environment_id: Uuid) -> Application {
    let fields = ApplicationFields {
        name: ApplicationName::parse("worker").unwrap(),
        description: Some("tests".into()),
        enabled: true,
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
        native: None,
    };
    Application::new(new_id(), environment_id, fields, || client_secret(9), seal, now())
}

fn client_secret(byte: u8) -> ClientSecret {
    ClientSecret { hash: vec![byte; 32], sealed: Some(vec![byte; 48]) }
}

/// Stands in for the master key's sealing.
fn seal(plain: &str) -> Vec<u8> {
    plain.bytes().rev().collect()
}

/// A native app with a bundle id of its own (no secret), as wallet applications need.
fn native_application(environment_id: Uuid) -> Application {
    let id = new_id();
    let fields = ApplicationFields {
        name: ApplicationName::parse("Wallet app").unwrap(),
        description: None,
        enabled: true,
        token_endpoint_auth_method: TokenEndpointAuthMethod::None,
        native: Some(NativeFields {
            mobile: MobileIdentifiers {
                bundle_id: Some(format!("com.example.wallet{}", id.simple())),
                ..Default::default()
            },
            settings: NativeSettings::new(r#"{"grantTypes":["AUTHORIZATION_CODE"]}"#.into()),
            google_play_keys: None,
        }),
    };
    Application::new(id, environment_id, fields, || client_secret(9), seal, now())
}

fn job(kind: &str, max_attempts: i64) -> NewJob {
    NewJob { id: new_id(), kind: kind.into(), payload: b"payload".to_vec(), run_at: now(), max_attempts }
}

fn wallet_application(native: &Application) -> WalletApplication {
    let at = now();
    WalletApplication {
        id: new_id(),
        environment_id: native.environment_id,
        application_id: native.id,
        name: "Wallet".into(),
        app_open_url: "https://wallet.example.com".into(),
        uses_pingone_wallet_sdk: true,
        created_at: at,
        updated_at: at,
    }
}

/// A wallet application on a native app of its own, both stored.
async fn create_wallet_application<S: Store>(store: &S, environment_id: Uuid) -> WalletApplication {
    let native = native_application(environment_id);
    store.create_application(&native).await.unwrap();
    let app = wallet_application(&native);
    store.create_wallet_application(&app).await.unwrap();
    app
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
    let app = create_wallet_application(store, env.id).await;
    (ada, app)
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

fn credential_of(user: &User, type_id: Uuid) -> UserCredential {
    let at = now();
    UserCredential {
        id: new_id(),
        environment_id: user.environment_id,
        user_id: user.id,
        credential_type_id: type_id,
        type_version: 1,
        type_version_id: Some(new_id()),
        store_until_issued: true,
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
        options: CredentialTypeOptions::default(),
        revoke_on_delete: true,
    }
}

fn issuer_profile(environment_id: Uuid, name: &str, key: u8) -> IssuerProfile {
    let at = now();
    IssuerProfile {
        id: new_id(),
        environment_id,
        application_instance_id: new_id(),
        name: name.into(),
        site_url: None,
        logo: None,
        use_custom_domain: true,
        credential_signing: None,
        public_key: vec![key; 32],
        sealed_private_key: vec![key; 72],
        created_at: at,
        updated_at: at,
    }
}
