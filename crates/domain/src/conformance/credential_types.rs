//! The issuer profile and credential types.

use super::{active_wallet, copy_in, create_environment, credential_of, type_fields, user_with_app};
use crate::credential::{
    CredentialField, CredentialMetadata, CredentialSigning, CredentialStatus, CredentialType, CredentialTypeFields,
    CredentialTypeOptions, CredentialTypeVersion, DisplayField, Expiration, ExpirationAfter, ExpirationType, FieldType,
    FileSupport, IssuerProfile, ManagementMode, OpenId4Vci, ProvisionStatus, TimeUnit, Visualization,
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
        application_instance_id: new_id(),
        name: "Issuer".into(),
        site_url: None,
        logo: None,
        use_custom_domain: true,
        credential_signing: None,
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
    let renamed = IssuerProfile {
        name: "Renamed".into(),
        site_url: Some("https://issuer.example.com".into()),
        logo: Some("https://issuer.example.com/logo.png".into()),
        use_custom_domain: false,
        credential_signing: Some(CredentialSigning {
            url: "https://signer.example.com/sign".into(),
            headers: [("Authorization".to_owned(), "Bearer k".to_owned())].into(),
        }),
        ..profile
    };
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
        default: attribute.map(|_| "unknown".into()),
        file_support: attribute.map(|_| FileSupport::ReferenceFile),
        required: value.is_none(),
        is_visible: value.map(|_| true),
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
            version: Some(7),
            fields: vec![
                field(FieldType::AlphanumericText, "Level", None, None),
                field(FieldType::AlphanumericText, "Club", Some("Chess"), None),
                field(FieldType::DirectoryAttribute, "Name", None, Some("name.formatted")),
                field(FieldType::IssuedTimestamp, "Issued", None, None),
            ],
            ..Default::default()
        },
        options: CredentialTypeOptions {
            card_design_template: Some("<svg></svg>".into()),
            expiration: Some(Expiration {
                kind: ExpirationType::Soft,
                after: Some(ExpirationAfter { duration: 2, time_unit: TimeUnit::Days }),
                timestamp: None,
                expression: None,
                field_name: Some("Expires".into()),
            }),
            multiple: Some("${user.cards}".into()),
            openid4vci: Some(OpenId4Vci { enabled: true, scope: "p1:provision:credentials:club".into() }),
            visualization: Some(Visualization {
                show_title: Some(false),
                display_fields: vec![DisplayField { data_field_name: "Level".into(), show_field_name: true }],
            }),
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

pub(super) async fn each_credential_type_version_is_kept_as_it_was<S: Store>(store: &S) {
    let env = create_environment(store, "Versions").await;
    let mut kind = CredentialType::new(new_id(), env.id, type_fields("Badge"), now());
    store.create_credential_type(&kind).await.unwrap();
    let first = CredentialTypeVersion::of(&kind);
    store.update_credential_type(&kind).await.unwrap();
    kind.replace(CredentialTypeFields { description: Some("Gold".into()), ..type_fields("Badge") }, now()).unwrap();
    store.update_credential_type(&kind).await.unwrap();
    let second = CredentialTypeVersion::of(&kind);
    let versions = store.credential_type_versions(env.id, kind.id, PageRequest::first(10)).await.unwrap();
    assert_eq!(versions.items, vec![first.clone(), second], "an unchanged update adds no version");
    assert_eq!(store.credential_type_version(env.id, kind.id, first.id).await.unwrap(), first);
    assert_eq!(first.snapshot.description, None, "the old version keeps the old content");
    let elsewhere = create_environment(store, "Elsewhere").await;
    assert!(matches!(store.credential_type_version(elsewhere.id, kind.id, first.id).await, Err(StoreError::NotFound)));
}
