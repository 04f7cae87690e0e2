//! Environments, their signing keys, and resetting or replacing their configuration.

use chrono::TimeDelta;
use uuid::Uuid;

use super::{
    active_wallet, application, copy_in, create_environment, credential_of, device, environment, issuer_profile,
    native_application, notification, type_fields, user, user_with_app, wallet_application, wallet_with_session,
};
use crate::application::Application;
use crate::configuration::Configuration;
use crate::credential::{CredentialField, CredentialType, FieldType, IssuerProfile};
use crate::environment::{EnvironmentFields, EnvironmentName, EnvironmentType};
use crate::mfa::{DevicePolicy, DeviceType, MfaSettings};
use crate::notification::{DeliveryMethod, TemplateContent, TemplateName};
use crate::page::PageRequest;
use crate::population::Population;
use crate::signing_key::SigningKey;
use crate::store::Outbox;
use crate::time::{new_id, now};
use crate::{Store, StoreError};

pub(super) async fn environment_round_trips<S: Store>(store: &S) {
    let env = environment("Staging");
    let policy = DevicePolicy::initial(env.id, new_id(), env.created_at);
    let population = Population::initial(env.id, new_id(), env.created_at);
    store.create_environment(&env, &policy, &population).await.unwrap();
    assert_eq!(store.device_policies(env.id).await.unwrap(), vec![policy]);
    assert_eq!(store.default_population(env.id).await.unwrap(), population);
    assert_eq!(store.environment(env.id).await.unwrap(), env);
    assert!(store.signing_keys(env.id).await.unwrap().is_empty(), "keys come when first needed");
    assert!(matches!(store.environment(new_id()).await, Err(StoreError::NotFound)));
}

pub(super) async fn environment_id_is_unique<S: Store>(store: &S) {
    let env = environment("One");
    let population = |id| Population::initial(env.id, id, env.created_at);
    let first = population(new_id());
    store.create_environment(&env, &DevicePolicy::initial(env.id, new_id(), env.created_at), &first).await.unwrap();
    let second_policy = DevicePolicy::initial(env.id, new_id(), env.created_at);
    assert!(matches!(
        store.create_environment(&env, &second_policy, &population(new_id())).await,
        Err(StoreError::Conflict)
    ));
    // The refused write left nothing behind.
    assert_eq!(store.device_policies(env.id).await.unwrap().len(), 1);
    assert_eq!(store.populations(env.id, PageRequest::first(10)).await.unwrap().items, vec![first]);
}

/// A key as the token service makes one; the store keeps its bytes as they are.
fn signing_key(environment_id: Uuid) -> SigningKey {
    SigningKey {
        id: new_id(),
        environment_id,
        public_key: vec![1; 270],
        sealed_private_key: vec![2; 1230],
        created_at: now(),
    }
}

pub(super) async fn signing_keys_are_added_only_over_the_newest<S: Store>(store: &S) {
    let env = create_environment(store, "Keys").await.id;
    let first = signing_key(env);
    assert_eq!(store.add_signing_key(&first, None).await.unwrap(), first);
    assert_eq!(store.signing_key(first.id).await.unwrap(), first);

    // A caller that still saw no key gets the one added first, and adds nothing.
    let late = signing_key(env);
    assert_eq!(store.add_signing_key(&late, None).await.unwrap(), first);
    assert!(matches!(store.signing_key(late.id).await, Err(StoreError::NotFound)));

    // A rotation names the key it replaces as the newest; the old key stays to verify.
    let rotated = SigningKey { created_at: first.created_at + TimeDelta::milliseconds(1), ..signing_key(env) };
    assert_eq!(store.add_signing_key(&rotated, Some(first.id)).await.unwrap(), rotated);
    let stale = signing_key(env);
    assert_eq!(store.add_signing_key(&stale, Some(first.id)).await.unwrap(), rotated);
    assert_eq!(store.signing_keys(env).await.unwrap(), vec![rotated, first]);

    let other = create_environment(store, "Other").await.id;
    assert!(matches!(store.add_signing_key(&signing_key(other), Some(new_id())).await, Err(StoreError::Conflict)));
    assert!(store.signing_keys(other).await.unwrap().is_empty());
    assert!(matches!(store.add_signing_key(&signing_key(new_id()), None).await, Err(StoreError::NotFound)));
}

/// Two instances that both found no key add at once: one key results, and both
/// answers name it.
pub(super) async fn racing_first_signing_keys_make_one<S: Store>(store: &S) {
    let env = create_environment(store, "Race").await.id;
    let (one, two) = (signing_key(env), signing_key(env));
    let (a, b) = tokio::join!(store.add_signing_key(&one, None), store.add_signing_key(&two, None));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b);
    assert_eq!(store.signing_keys(env).await.unwrap(), vec![a]);
}

pub(super) async fn environments_page_in_creation_order<S: Store>(store: &S) {
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

pub(super) async fn environment_update_and_delete_cascades<S: Store>(store: &S) {
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
    store.add_signing_key(&signing_key(env.id), None).await.unwrap();
    let ada = user(env.id, "ada", None);
    store.create_user(&ada).await.unwrap();

    store.delete_environment(env.id).await.unwrap();
    assert!(matches!(store.environment(env.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.application(env.id, app.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.user(env.id, ada.id).await, Err(StoreError::NotFound)));
    assert!(store.signing_keys(env.id).await.unwrap().is_empty());
    assert!(matches!(store.delete_environment(env.id).await, Err(StoreError::NotFound)));
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
        default: None,
        file_support: None,
        required: true,
        is_visible: Some(true),
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
    let native = native_application(environment_id);
    Configuration {
        environment_id,
        issuer_profile: IssuerProfile {
            site_url: Some("https://issuer.example.com".into()),
            ..issuer_profile(environment_id, "Imported issuer", 7)
        },
        credential_types: vec![CredentialType::new(new_id(), environment_id, fields, at)],
        applications: vec![native.clone()],
        wallet_applications: vec![wallet_application(&native)],
        template_contents: vec![content],
        device_policies: vec![default, strict],
        mfa_settings: Some(MfaSettings { max_allowed_devices: 3, ..MfaSettings::defaults(environment_id, at) }),
        // Checked in populations.rs.
        populations: None,
        groups: None,
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
        applications: (store.applications(environment_id, PageRequest::first(100)).await.unwrap().items.into_iter())
            .filter(|a| !a.is_worker())
            .collect(),
        wallet_applications: store.wallet_applications(environment_id, PageRequest::first(100)).await.unwrap().items,
        template_contents,
        device_policies: store.device_policies(environment_id).await.unwrap(),
        mfa_settings: store.mfa_settings(environment_id).await.unwrap(),
        populations: None,
        groups: None,
    }
}

pub(super) async fn reset_empties_the_environment_back_to_its_configuration<S: Store>(store: &S) {
    let env = create_environment(store, "Reset").await.id;
    let configured = full_configuration(env);
    assert!(store.replace_configuration(&configured).await.unwrap());
    let worker = application(env);
    store.create_application(&worker).await.unwrap();
    let keys = vec![store.add_signing_key(&signing_key(env), None).await.unwrap()];
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

pub(super) async fn configuration_is_replaced_whole_and_only_without_users<S: Store>(store: &S) {
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
    let applications = configuration.applications.iter().map(|a| Application { environment_id: other.id, ..a.clone() });
    let taken = Configuration { applications: applications.collect(), ..taken };
    assert!(matches!(store.replace_configuration(&taken).await, Err(StoreError::Conflict)));
    assert_eq!(store.device_policies(other.id).await.unwrap(), before);

    // With a user: refused, and nothing written.
    let ada = user(other.id, "ada", None);
    store.create_user(&ada).await.unwrap();
    assert!(!store.replace_configuration(&full_configuration(other.id)).await.unwrap());
    assert_eq!(store.device_policies(other.id).await.unwrap(), before);
    assert!(matches!(store.replace_configuration(&full_configuration(new_id())).await, Err(StoreError::NotFound)));
}
