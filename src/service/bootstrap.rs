//! The administrator environment and its worker application, made at first start so
//! there is a way in. Their ids and secret come from configuration, else from
//! `bootstrap.json` in the data directory, else they are generated and saved there.

use std::path::{Path, PathBuf};

use domain::StoreError;
use domain::application::{Application, ApplicationFields, ApplicationName, TokenEndpointAuthMethod};
use domain::environment::{EnvironmentFields, EnvironmentName, EnvironmentType, Region};
use domain::store::{ApplicationStore, EnvironmentStore};
use domain::time::{new_id, now};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{CLIENT_SECRET, Credd};
use crate::crypto::{KeyError, random_secret, write_private_file};
use crate::error::Result;

const FILE_NAME: &str = "bootstrap.json";

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BootstrapCredentials {
    pub environment_id: Uuid,
    pub client_id: Uuid,
    pub client_secret: String,
}

impl std::fmt::Debug for BootstrapCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapCredentials")
            .field("environment_id", &self.environment_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"****")
            .finish()
    }
}

/// Where the credentials came from; `Generated` means they were just saved and should
/// be shown to the operator this once.
pub enum Origin {
    Configured,
    Saved(PathBuf),
    Generated(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0} is not valid bootstrap JSON: {1}")]
    Parse(String, serde_json::Error),
    #[error(transparent)]
    Write(#[from] KeyError),
}

impl BootstrapCredentials {
    /// Each value: configured, else saved, else generated (and then all are saved).
    pub fn load(
        environment_id: Option<Uuid>,
        client_id: Option<Uuid>,
        client_secret: Option<String>,
        data_dir: &Path,
    ) -> Result<(Self, Origin), LoadError> {
        let path = data_dir.join(FILE_NAME);
        let saved: Option<Self> = match std::fs::read_to_string(&path) {
            Ok(text) => Some(serde_json::from_str(&text).map_err(|e| LoadError::Parse(path.display().to_string(), e))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(LoadError::Read(path.display().to_string(), e)),
        };
        let all_configured = environment_id.is_some() && client_id.is_some() && client_secret.is_some();
        let credentials = Self {
            environment_id: environment_id.or(saved.as_ref().map(|s| s.environment_id)).unwrap_or_else(new_id),
            client_id: client_id.or(saved.as_ref().map(|s| s.client_id)).unwrap_or_else(new_id),
            client_secret: client_secret
                .or(saved.as_ref().map(|s| s.client_secret.clone()))
                .unwrap_or_else(random_secret),
        };
        let origin = match (all_configured, saved) {
            (true, _) => Origin::Configured,
            (false, Some(_)) => Origin::Saved(path),
            (false, None) => {
                let json = serde_json::to_vec_pretty(&credentials)
                    .map_err(|e| LoadError::Parse(path.display().to_string(), e))?;
                write_private_file(&path, &json)?;
                Origin::Generated(path)
            }
        };
        Ok((credentials, origin))
    }
}

impl Credd {
    /// Makes sure the administrator environment and worker exist and accept the
    /// configured secret. Safe to run on several instances at once.
    pub async fn ensure_bootstrap(&self, credentials: &BootstrapCredentials) -> Result<()> {
        let environment_id = credentials.environment_id;
        if let Err(StoreError::NotFound) = self.store.environment(environment_id).await {
            let fields = EnvironmentFields {
                name: EnvironmentName::parse("Administrators").expect("a valid name"),
                description: Some("Created by credd at first start; its workers manage every environment.".into()),
                kind: EnvironmentType::Production,
            };
            // Conflict: another instance created it a moment ago.
            match self.insert_environment(environment_id, fields, Region::NorthAmerica).await {
                Ok(_) | Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }

        let (id, secret) = (credentials.client_id, &credentials.client_secret);
        match self.store.application(environment_id, id).await {
            Ok(application) => {
                // Replaced when the configured secret changed, and once to keep a secret
                // from before credd kept secrets readable in its readable form.
                let current = application.secret.as_ref().filter(|kept| kept.sealed.is_some());
                if !current.is_some_and(|kept| self.master_key.verify_secret(CLIENT_SECRET, secret, &kept.hash)) {
                    let kept = self.keep_client_secret(id, secret);
                    self.store.replace_application_secret(environment_id, id, &kept, now()).await?;
                }
            }
            Err(StoreError::NotFound) => {
                let fields = ApplicationFields {
                    name: ApplicationName::parse("credd administrator").expect("a valid name"),
                    description: Some("Bootstrap worker application.".into()),
                    enabled: true,
                    token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
                    native: None,
                };
                let application = Application::new(
                    id,
                    environment_id,
                    fields,
                    || self.keep_client_secret(id, secret),
                    |keys| self.seal_google_play_keys(id, keys),
                    now(),
                );
                match self.store.create_application(&application).await {
                    Ok(()) | Err(StoreError::Conflict) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }
}
