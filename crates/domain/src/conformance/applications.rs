//! OAuth applications: workers and native apps.

use chrono::TimeDelta;

use super::{
    application, client_secret, create_environment, native_application, seal, user_with_app, wallet_application,
    wallet_with_session,
};
use crate::application::{
    ApplicationFields, ApplicationName, MobileIdentifier, MobileIdentifiers, NativeFields, NativeSettings,
    TokenEndpointAuthMethod,
};
use crate::page::PageRequest;
use crate::store::Outbox;
use crate::time::now;
use crate::wallet::{PairingStatus, WalletStatus};
use crate::{Store, StoreError};

pub(super) async fn application_round_trips_and_updates<S: Store>(store: &S) {
    let env = create_environment(store, "Apps").await;
    let other = create_environment(store, "Other").await;
    let mut app = application(env.id);
    store.create_application(&app).await.unwrap();
    assert_eq!(store.application(env.id, app.id).await.unwrap(), app);
    assert!(matches!(store.application(other.id, app.id).await, Err(StoreError::NotFound)));

    let fields = ApplicationFields {
        name: ApplicationName::parse("renamed").unwrap(),
        description: None,
        enabled: false,
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretPost,
        native: None,
    };
    app.replace(fields, || unreachable!("a worker keeps its secret"), seal, now()).unwrap();
    // A replace writes the fields and never the secret, which has its own statement.
    let stale_secret = app.secret.replace(client_secret(1));
    store.update_application(&app).await.unwrap();
    app.secret = stale_secret;
    assert_eq!(store.application(env.id, app.id).await.unwrap(), app);
    app.secret = Some(client_secret(7));
    app.updated_at = now();
    let secret = app.secret.clone().unwrap();
    store.replace_application_secret(env.id, app.id, &secret, app.updated_at).await.unwrap();
    assert_eq!(store.application(env.id, app.id).await.unwrap(), app);
    assert!(matches!(
        store.replace_application_secret(other.id, app.id, &secret, app.updated_at).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.applications(env.id, PageRequest::first(10)).await.unwrap().items, vec![app.clone()]);

    assert!(matches!(store.delete_application(other.id, app.id, now()).await, Err(StoreError::NotFound)));
    store.delete_application(env.id, app.id, now()).await.unwrap();
    assert!(matches!(store.application(env.id, app.id).await, Err(StoreError::NotFound)));
}

/// The fields of `native` with another method, and its mobile identifiers changed by `mobile`.
fn native_fields(
    native: &crate::application::Application,
    method: TokenEndpointAuthMethod,
    mobile: impl FnOnce(&mut MobileIdentifiers),
) -> ApplicationFields {
    let mut identifiers = native.mobile().cloned().unwrap_or_default();
    mobile(&mut identifiers);
    ApplicationFields {
        name: ApplicationName::parse(&native.name).unwrap(),
        description: native.description.clone(),
        enabled: native.enabled,
        token_endpoint_auth_method: method,
        native: Some(NativeFields {
            mobile: identifiers,
            settings: NativeSettings::new(r#"{"pkceEnforcement":"S256_REQUIRED"}"#.into()),
            google_play_keys: Some(r#"{"decryptionKey":"k"}"#.into()),
        }),
    }
}

pub(super) async fn native_apps_keep_their_settings_and_unique_identifiers<S: Store>(store: &S) {
    let env = create_environment(store, "Natives").await;
    let other = create_environment(store, "Other").await;
    let mut native = native_application(env.id);
    store.create_application(&native).await.unwrap();
    assert_eq!(store.application(env.id, native.id).await.unwrap(), native);
    assert_eq!(native.secret, None);

    // Another app of the environment with the same bundle id: a conflict, named.
    let bundle_id = native.mobile().unwrap().bundle_id.clone();
    let mut twin = native_application(env.id);
    twin.native.as_mut().unwrap().mobile.bundle_id = bundle_id.clone();
    assert!(matches!(store.create_application(&twin).await, Err(StoreError::Conflict)));
    assert_eq!(store.taken_mobile_identifiers(&twin).await.unwrap(), [MobileIdentifier::BundleId]);
    assert_eq!(store.taken_mobile_identifiers(&native).await.unwrap(), [], "its own identifiers are not taken");
    // In another environment it is free.
    let mut elsewhere = native_application(other.id);
    elsewhere.native.as_mut().unwrap().mobile.bundle_id = bundle_id;
    store.create_application(&elsewhere).await.unwrap();

    // Replaced with a secret method: the app gets the secret it had none of, and its settings.
    let fields = native_fields(&native, TokenEndpointAuthMethod::ClientSecretBasic, |m| {
        m.package_name = Some("com.example.android".into())
    });
    native.replace(fields, || client_secret(3), seal, now()).unwrap();
    store.update_application(&native).await.unwrap();
    assert_eq!(store.application(env.id, native.id).await.unwrap(), native);
    assert_eq!(native.secret, Some(client_secret(3)));
    let mut taker = native_application(env.id);
    taker.native.as_mut().unwrap().mobile.package_name = Some("com.example.android".into());
    assert!(matches!(store.create_application(&taker).await, Err(StoreError::Conflict)));
    taker.native.as_mut().unwrap().mobile.package_name = Some("com.example.other".into());
    store.create_application(&taker).await.unwrap();
    taker.native.as_mut().unwrap().mobile.package_name = Some("com.example.android".into());
    assert!(matches!(store.update_application(&taker).await, Err(StoreError::Conflict)));
    assert_eq!(store.taken_mobile_identifiers(&taker).await.unwrap(), [MobileIdentifier::PackageName]);

    // Back to NONE: the secret goes, and a rotation finds no secret to replace.
    let fields = native_fields(&native, TokenEndpointAuthMethod::None, |_| {});
    native.replace(fields, || unreachable!("NONE needs no secret"), seal, now()).unwrap();
    store.update_application(&native).await.unwrap();
    assert_eq!(store.application(env.id, native.id).await.unwrap().secret, None);
    assert!(matches!(
        store.replace_application_secret(env.id, native.id, &client_secret(4), now()).await,
        Err(StoreError::NotFound)
    ));
}

pub(super) async fn wallet_applications_need_a_native_app_and_go_with_it<S: Store>(store: &S) {
    let (ada, app) = user_with_app(store).await;
    let env = ada.environment_id;
    let (wallet, session) = wallet_with_session(&ada, &app, now() + TimeDelta::hours(1));
    store.create_wallet(&wallet, &session, &Outbox::default()).await.unwrap();

    // Only a native app of the environment with a bundle id or package name will do.
    let worker = application(env);
    store.create_application(&worker).await.unwrap();
    let mut bare = native_application(env);
    bare.native.as_mut().unwrap().mobile =
        MobileIdentifiers { huawei_app_id: Some("120240968".into()), ..MobileIdentifiers::default() };
    store.create_application(&bare).await.unwrap();
    let elsewhere = native_application(create_environment(store, "Other").await.id);
    store.create_application(&elsewhere).await.unwrap();
    for named in [&worker, &bare, &crate::application::Application { environment_id: env, ..elsewhere }] {
        let refused = wallet_application(named);
        assert!(matches!(store.create_wallet_application(&refused).await, Err(StoreError::NotFound)));
        assert!(matches!(store.wallet_application(env, refused.id).await, Err(StoreError::NotFound)));
    }

    // Deleting the native app deletes its wallet applications and disables their wallets.
    store.delete_application(env, app.application_id, now()).await.unwrap();
    assert!(matches!(store.wallet_application(env, app.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.wallet_by_id(wallet.id).await.unwrap().status, WalletStatus::Disabled);
    assert_eq!(store.pairing_session(&session.link_hash).await.unwrap().status, PairingStatus::Expired);
    assert!(matches!(store.create_wallet_application(&app).await, Err(StoreError::NotFound)));
    assert_eq!(store.application(env, worker.id).await.unwrap(), worker);
}
