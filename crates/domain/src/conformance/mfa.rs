//! Device policies, MFA settings, devices and their one-time codes.

use chrono::TimeDelta;

use super::{create_environment, device, notification, user};
use crate::mfa::{Device, DeviceFilter, DevicePolicy, DeviceSlot, DeviceStatus, DeviceType, KeptSettings, MfaSettings};
use crate::notification::TemplateName;
use crate::page::PageRequest;
use crate::store::Outbox;
use crate::time::{new_id, now};
use crate::user::User;
use crate::{Store, StoreError};

async fn user_with_policy<S: Store>(store: &S) -> (User, DevicePolicy) {
    let env = create_environment(store, "MFA").await;
    let ada = user(env.id, "ada", None);
    store.create_user(&ada).await.unwrap();
    let policy = store.device_policies(env.id).await.unwrap().remove(0);
    (ada, policy)
}

pub(super) async fn one_default_device_policy_and_policies_in_use_stay<S: Store>(store: &S) {
    let (ada, initial) = user_with_policy(store).await;
    assert!(initial.default);
    let kept = KeptSettings::new(r#"{"fido2":{"enabled":false}}"#.into());
    let mut strict = DevicePolicy { id: new_id(), name: "Strict".into(), kept, ..initial.clone() };
    strict.whatsapp.enabled = false;
    strict.sms.failure_count = 1;
    store.create_device_policy(&strict).await.unwrap();
    assert_eq!(store.device_policy(ada.environment_id, strict.id).await.unwrap(), strict);
    let twin = DevicePolicy { id: new_id(), default: false, ..strict.clone() };
    assert!(matches!(store.create_device_policy(&twin).await, Err(StoreError::Conflict)), "names are unique");
    assert!(
        !store.device_policy(ada.environment_id, initial.id).await.unwrap().default,
        "the new default took the flag"
    );

    let mut initial = store.device_policy(ada.environment_id, initial.id).await.unwrap();
    initial.default = true;
    initial.name = "Strict".into();
    assert!(matches!(store.update_device_policy(&initial).await, Err(StoreError::Conflict)), "names are unique");
    initial.name = "Back to default".into();
    initial.kept = KeptSettings::new(r#"{"ignoreUserLock":true}"#.into());
    store.update_device_policy(&initial).await.unwrap();
    assert_eq!(store.device_policy(ada.environment_id, initial.id).await.unwrap(), initial);
    let all = store.device_policies(ada.environment_id).await.unwrap();
    assert_eq!(all.iter().filter(|p| p.default).map(|p| p.id).collect::<Vec<_>>(), [initial.id]);

    let sms = device(&ada, strict.id, DeviceType::Sms, "+1.5125551234");
    store.create_device(&sms, 5, &Outbox::default()).await.unwrap();
    assert!(matches!(store.delete_device_policy(ada.environment_id, strict.id).await, Err(StoreError::Conflict)));
    store.delete_device(ada.environment_id, ada.id, sms.id).await.unwrap();
    store.delete_device_policy(ada.environment_id, strict.id).await.unwrap();
    assert!(matches!(store.device_policy(ada.environment_id, strict.id).await, Err(StoreError::NotFound)));
}

pub(super) async fn mfa_settings_are_kept_per_environment<S: Store>(store: &S) {
    let env = create_environment(store, "Settings").await;
    assert_eq!(store.mfa_settings(env.id).await.unwrap(), None);
    let settings = MfaSettings { max_allowed_devices: 3, ..MfaSettings::defaults(env.id, now()) };
    store.put_mfa_settings(&settings).await.unwrap();
    let kept = KeptSettings::new(r#"{"lockout":{"failureCount":4}}"#.into());
    let changed = MfaSettings { max_allowed_devices: 15, kept, ..settings };
    store.put_mfa_settings(&changed).await.unwrap();
    assert_eq!(store.mfa_settings(env.id).await.unwrap(), Some(changed));
}

pub(super) async fn devices_respect_the_limit_and_unique_targets<S: Store>(store: &S) {
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

pub(super) async fn otp_guesses_are_counted_in_one_conditional_statement<S: Store>(store: &S) {
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

pub(super) async fn expired_codes_are_not_guessed_and_totp_counts_start_over<S: Store>(store: &S) {
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

pub(super) async fn devices_list_in_order_filtered_and_reorder<S: Store>(store: &S) {
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
