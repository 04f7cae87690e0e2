//! User credentials, their copies in wallets, mailboxes and wallet actions.

use chrono::TimeDelta;
use uuid::Uuid;

use super::{active_wallet, copy_in, create_wallet_application, credential_of, job, user_with_app};
use crate::credential::{CredentialStatus, ProvisionStatus, ProvisionedCredential, WalletAction};
use crate::job::{JobStatus, NewJob};
use crate::page::{Page, PageRequest};
use crate::store::Outbox;
use crate::time::{new_id, now};
use crate::wallet::{DigitalWallet, WalletStatus};
use crate::{Store, StoreError};

fn outbox_with(job: &NewJob) -> Outbox {
    Outbox { notifications: vec![], jobs: vec![job.clone()] }
}

async fn actions_on<S: Store>(store: &S, provisioned_id: Uuid) -> Vec<WalletAction> {
    store.wallet_actions(provisioned_id).await.unwrap().into_iter().map(|a| a.action).collect()
}

pub(super) async fn credentials_are_delivered_once_acted_on_and_revoked<S: Store>(store: &S) {
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

pub(super) async fn mailbox_pages_the_delivered_copies_not_yet_acted_on<S: Store>(store: &S) {
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

pub(super) async fn updated_credentials_wait_for_their_newest_delivery<S: Store>(store: &S) {
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

pub(super) async fn wallets_disabled_or_deleted_revoke_their_copies<S: Store>(store: &S) {
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

    let other = create_wallet_application(store, ada.environment_id).await;
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
