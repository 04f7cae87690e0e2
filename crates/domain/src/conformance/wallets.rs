//! Wallet applications, wallets and pairing.

use chrono::TimeDelta;

use super::{job, notification, user_with_app, wallet_with_session};
use crate::job::JobStatus;
use crate::notification::TemplateName;
use crate::page::PageRequest;
use crate::store::Outbox;
use crate::time::{new_id, now};
use crate::user::User;
use crate::wallet::{DigitalWallet, PairingAttempt, PairingStatus, WalletApplication, WalletStatus};
use crate::{Store, StoreError};

pub(super) async fn wallet_is_created_with_its_session_and_outbox<S: Store>(store: &S) {
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

pub(super) async fn pairing_fails_counts_and_completes_once<S: Store>(store: &S) {
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

pub(super) async fn pairing_session_expires_only_when_due_and_pending<S: Store>(store: &S) {
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

pub(super) async fn pairing_completes_only_a_pending_wallet_of_an_existing_application<S: Store>(store: &S) {
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

pub(super) async fn wallet_application_delete_disables_its_wallets_and_user_delete_removes_them<S: Store>(store: &S) {
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
