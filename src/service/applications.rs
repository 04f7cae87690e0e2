//! Applications: workers, and native apps for digital wallet applications to name.
//! A client secret is kept as a keyed hash, which the token endpoint checks, and sealed
//! under the master key, so that `GET …/secret` can answer it as PingOne does; Google
//! Play Integrity keys are kept sealed and never answered.

use domain::StoreError;
use domain::application::{Application, ApplicationFields, ClientSecret};
use domain::filter::{Filter, page_matching};
use domain::page::{CountedPage, PageRequest};
use domain::store::ApplicationStore;
use domain::time::{new_id, now};
use domain::validation::{FieldError, FieldErrorKind};
use uuid::Uuid;

use super::{CLIENT_SECRET, Credd};
use crate::auth::Principal;
use crate::crypto::random_secret;
use crate::error::{Error, Result};

/// What the sealed Google Play Integrity keys of an application are bound to.
const GOOGLE_PLAY_KEYS: &str = "google-play-keys";

/// An application with its client secret, which its creation shows.
pub struct CreatedApplication {
    pub application: Application,
    /// `None` for a native app without one (`NONE`).
    pub secret: Option<String>,
}

/// Binds sealed bytes to their purpose and application, so they open nowhere else.
fn context(purpose: &str, id: Uuid) -> Vec<u8> {
    [purpose.as_bytes(), &[0], id.as_bytes()].concat()
}

const NO_SECRET: &str = "The application's tokenEndpointAuthMethod is NONE: it has no secret.";
const UNREADABLE_SECRET: &str = "The application's secret was made before credd kept secrets readable; rotate it \
    (POST …/secret) and the new one can be read.";

impl Credd {
    /// The secret as credd keeps it: its keyed hash and the secret sealed.
    pub(super) fn keep_client_secret(&self, id: Uuid, secret: &str) -> ClientSecret {
        ClientSecret {
            hash: self.master_key.hash_secret(CLIENT_SECRET, secret),
            sealed: Some(self.master_key.seal(secret.as_bytes(), &context(CLIENT_SECRET, id))),
        }
    }

    pub(super) fn seal_google_play_keys(&self, id: Uuid, keys: &str) -> Vec<u8> {
        self.master_key.seal(keys.as_bytes(), &context(GOOGLE_PLAY_KEYS, id))
    }

    /// A new application (and, unless `NONE`, its new secret), not yet stored.
    pub(super) fn new_application(
        &self,
        id: Uuid,
        environment_id: Uuid,
        fields: ApplicationFields,
    ) -> CreatedApplication {
        let mut shown = None;
        let application = Application::new(
            id,
            environment_id,
            fields,
            || {
                let secret = random_secret();
                let kept = self.keep_client_secret(id, &secret);
                shown = Some(secret);
                kept
            },
            |keys| self.seal_google_play_keys(id, keys),
            now(),
        );
        CreatedApplication { application, secret: shown }
    }

    /// The store's `Conflict` on a write of `application`, as the field that is taken.
    async fn mobile_conflict(&self, application: &Application) -> Error {
        match self.store.taken_mobile_identifiers(application).await {
            Ok(taken) if !taken.is_empty() => Error::Conflict(FieldError::new(
                format!("mobile.{}", taken[0].as_str()),
                FieldErrorKind::NotUnique,
                format!("Another application of the environment has this mobile.{}.", taken[0].as_str()),
            )),
            Ok(_) => StoreError::Conflict.into(),
            Err(e) => e.into(),
        }
    }

    pub async fn create_application(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        fields: ApplicationFields,
    ) -> Result<CreatedApplication> {
        principal.require_manage(environment_id)?;
        let created = self.new_application(new_id(), environment_id, fields);
        match self.store.create_application(&created.application).await {
            Ok(()) => Ok(created),
            Err(StoreError::Conflict) => Err(self.mobile_conflict(&created.application).await),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn applications(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        filter: Option<&Filter>,
        page: PageRequest,
    ) -> Result<CountedPage<Application>> {
        self.existing_environment(principal, environment_id).await?;
        Ok(page_matching(filter, page, |page| self.store.applications(environment_id, page), |a| a.id).await?)
    }

    pub async fn application(&self, principal: &Principal, environment_id: Uuid, id: Uuid) -> Result<Application> {
        principal.require_manage(environment_id)?;
        Ok(self.store.application(environment_id, id).await?)
    }

    /// Full replace (the type and a mobile identifier once set cannot change). A native
    /// app that leaves `NONE` gets a secret, which `GET …/secret` reads.
    pub async fn replace_application(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        id: Uuid,
        fields: ApplicationFields,
    ) -> Result<Application> {
        principal.require_manage(environment_id)?;
        let mut application = self.store.application(environment_id, id).await?;
        application.replace(
            fields,
            || self.keep_client_secret(id, &random_secret()),
            |keys| self.seal_google_play_keys(id, keys),
            now(),
        )?;
        match self.store.update_application(&application).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Err(self.mobile_conflict(&application).await),
            Err(e) => return Err(e.into()),
        }
        // Disabled, its tokens stop here at once (the others see it on their next check).
        self.tokens.forget_verified_tokens();
        Ok(application)
    }

    /// The client secret, as PingOne's `GET …/secret` answers it.
    pub async fn application_secret(&self, principal: &Principal, environment_id: Uuid, id: Uuid) -> Result<String> {
        principal.require_manage(environment_id)?;
        let application = self.store.application(environment_id, id).await?;
        let secret = application.secret.ok_or_else(|| Error::bad_request("tokenEndpointAuthMethod", NO_SECRET))?;
        let sealed = secret.sealed.ok_or_else(|| Error::bad_request("secret", UNREADABLE_SECRET))?;
        let opened = self.master_key.open(&sealed, &context(CLIENT_SECRET, id)).map_err(Error::internal)?;
        String::from_utf8(opened).map_err(Error::internal)
    }

    /// Replaces the client secret; the old one, and the tokens it obtained, stop
    /// working at once.
    pub async fn rotate_application_secret(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        id: Uuid,
    ) -> Result<String> {
        principal.require_manage(environment_id)?;
        if self.store.application(environment_id, id).await?.secret.is_none() {
            return Err(Error::bad_request("tokenEndpointAuthMethod", NO_SECRET));
        }
        let secret = random_secret();
        self.store.replace_application_secret(environment_id, id, &self.keep_client_secret(id, &secret), now()).await?;
        self.tokens.forget_verified_tokens();
        Ok(secret)
    }

    /// Deletes the application; a native app takes the digital wallet applications
    /// that name it along (their wallets become `DISABLED`), as PingOne does.
    pub async fn delete_application(&self, principal: &Principal, environment_id: Uuid, id: Uuid) -> Result<()> {
        principal.require_manage(environment_id)?;
        self.store.delete_application(environment_id, id, now()).await?;
        self.tokens.forget_verified_tokens();
        Ok(())
    }
}
