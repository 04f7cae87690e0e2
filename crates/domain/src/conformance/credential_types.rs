//! The issuer profile and credential types.

use super::{active_wallet, copy_in, create_environment, credential_of, type_fields, user_with_app};
use crate::credential::{
    CredentialField, CredentialMetadata, CredentialStatus, CredentialType, CredentialTypeFields, FieldType,
    IssuerProfile, ManagementMode, ProvisionStatus,
};
use crate::page::PageRequest;
use crate::store::Outbox;
use crate::time::{new_id, now};
use crate::{Store, StoreError};

pub(super) async fn issuer_profile_is_made_once_per_environment<S: Store>(store: &S) {
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

pub(super) async fn credential_types_keep_fields_in_order_and_hide_when_deleted<S: Store>(store: &S) {
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

pub(super) async fn deleting_a_type_deletes_pending_and_revokes_issued_credentials<S: Store>(store: &S) {
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
