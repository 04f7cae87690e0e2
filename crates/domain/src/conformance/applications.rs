//! OAuth applications.

use super::{application, create_environment};
use crate::application::{ApplicationFields, ApplicationName, TokenEndpointAuthMethod};
use crate::page::PageRequest;
use crate::time::now;
use crate::{Store, StoreError};

pub(super) async fn application_round_trips_and_updates<S: Store>(store: &S) {
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
