//! Template contents and notifications.

use chrono::TimeDelta;

use super::{create_environment, create_wallet_application, notification, user_with_app, wallet_with_session};
use crate::notification::{DeliveryMethod, NotificationFilter, NotificationStatus, TemplateContent, TemplateName};
use crate::page::PageRequest;
use crate::store::Outbox;
use crate::time::{new_id, now};
use crate::{Store, StoreError};

pub(super) async fn template_contents_are_unique_per_method_locale_and_variant<S: Store>(store: &S) {
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

pub(super) async fn notifications_list_newest_first_filtered_and_settle<S: Store>(store: &S) {
    let (ada, _) = user_with_app(store).await;
    let mut sent = Vec::new();
    for (template, recipient) in [
        (TemplateName::DigitalWalletPairing, "ada@example.com"),
        (TemplateName::DevicePairing, "+15125551234"),
        (TemplateName::DigitalWalletPairing, "ada@example.com"),
    ] {
        let n = notification(&ada, template, recipient);
        // Notifications enter the store through a write's outbox.
        let app = create_wallet_application(store, ada.environment_id).await;
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
    assert_eq!(store.count_notifications(ada.environment_id).await.unwrap(), 3);
    assert_eq!(store.count_notifications(new_id()).await.unwrap(), 0);

    let pairing = NotificationFilter { template: Some(TemplateName::DigitalWalletPairing), ..all.clone() };
    assert_eq!(store.notifications(ada.environment_id, &pairing, PageRequest::first(10)).await.unwrap().items.len(), 2);
    let adas_pairings = NotificationFilter { user_id: Some(ada.id), ..pairing };
    assert_eq!(
        store.notifications(ada.environment_id, &adas_pairings, PageRequest::first(10)).await.unwrap().items.len(),
        2
    );
    let others = NotificationFilter { user_id: Some(new_id()), ..all };
    assert!(store.notifications(ada.environment_id, &others, PageRequest::first(10)).await.unwrap().items.is_empty());

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
