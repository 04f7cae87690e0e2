//! Test-suite helpers (credd's own; PingOne has none): reset an environment to what it
//! was when created, and export or import its configuration, so a suite starts from a
//! known state.

use domain::StoreError;
use domain::application::ApplicationFields;
use domain::configuration::{APPLICATIONS, CREDENTIAL_TYPES, Configuration};
use domain::credential::{CredentialType, CredentialTypeFields, IssuerProfileFields};
use domain::mfa::{DevicePolicy, DevicePolicyFields, MfaSettings, MfaSettingsFields};
use domain::notification::{TemplateContent, TemplateContentFields, TemplateName};
use domain::page::{MAX_LIMIT, Page, PageRequest};
use domain::population::{Population, PopulationFields};
use domain::store::{
    ApplicationStore, CredentialTypeStore, EnvironmentStore, MfaStore, NotificationStore, PopulationStore, StoreResult,
    WalletStore,
};
use domain::time::{new_id, now};
use domain::validation::{FieldError, FieldErrorKind};
use domain::wallet::{WalletApplication, WalletApplicationFields};
use uuid::Uuid;

use super::Credd;
pub use super::groups::GroupsImport;
use crate::auth::Principal;
use crate::error::{Error, Result};

/// A configuration document, each part parsed on its own. An item without an id gets a new
/// one; the others are kept, so suites may hard-code them.
#[derive(Debug, Default)]
pub struct ConfigurationImport {
    /// Name and site URL; left out: named after the environment, no site URL.
    pub issuer_profile: Option<IssuerProfileFields>,
    pub credential_types: Vec<(Option<Uuid>, CredentialTypeFields)>,
    /// Native applications only.
    pub applications: Vec<(Option<Uuid>, ApplicationFields)>,
    pub wallet_applications: Vec<(Option<Uuid>, WalletApplicationFields)>,
    pub template_contents: Vec<(Option<Uuid>, TemplateName, TemplateContentFields)>,
    /// Left empty: the default policy a new environment gets.
    pub device_policies: Vec<(Option<Uuid>, DevicePolicyFields)>,
    /// Left out: the defaults.
    pub mfa_settings: Option<MfaSettingsFields>,
    /// Left out: the environment's populations stay as they are.
    pub populations: Option<Vec<(Option<Uuid>, PopulationFields)>>,
    /// Left out: the environment's groups stay as they are.
    pub groups: Option<GroupsImport>,
}

const USERS_FIRST: &str = "The environment has users, whose wallets, credentials and devices use its \
    configuration; reset the environment first (POST /v1/environments/{environmentId}/reset).";
const WORKERS_STAY: &str = "The configuration holds native applications (NATIVE_APP); worker applications \
    are not part of it and stay as they are.";
const ID_TAKEN: &str = "An id in the configuration belongs to a record of another environment; leave that \
    id out to get a new one.";

impl Credd {
    /// Puts the environment back as it was right after it was created, in one
    /// transaction: no users (nor anything of theirs), no notifications, and the
    /// configuration a new environment gets. Its id, worker applications, token
    /// signing keys, issuer key (its DID) and populations stay.
    pub async fn reset_environment(&self, principal: &Principal, environment_id: Uuid) -> Result<()> {
        principal.require_manage(environment_id)?;
        let environment = self.store.environment(environment_id).await?;
        let policy = DevicePolicy::initial(environment_id, new_id(), now());
        let initial = Configuration::initial(self.new_issuer_profile(&environment), policy);
        Ok(self.store.reset_environment(&initial).await?)
    }

    /// The environment's configuration, each list in id order.
    pub async fn configuration(&self, principal: &Principal, environment_id: Uuid) -> Result<Configuration> {
        principal.require_manage(environment_id)?;
        let issuer_profile = self.ensure_issuer_profile(environment_id).await?;
        let credential_types = every_page(|page| self.store.credential_types(environment_id, page), |t| t.id).await?;
        let mut applications = every_page(|page| self.store.applications(environment_id, page), |a| a.id).await?;
        applications.retain(|a| !a.is_worker());
        let wallet_applications =
            every_page(|page| self.store.wallet_applications(environment_id, page), |a| a.id).await?;
        let mut template_contents = Vec::new();
        for template in TemplateName::ALL {
            template_contents.extend(self.store.template_contents(environment_id, *template).await?);
        }
        template_contents.sort_by_key(|c| c.id);
        let mut device_policies = self.store.device_policies(environment_id).await?;
        device_policies.sort_by_key(|p| p.id);
        Ok(Configuration {
            environment_id,
            issuer_profile,
            credential_types,
            applications,
            wallet_applications,
            template_contents,
            device_policies,
            mfa_settings: Some(self.current_mfa_settings(environment_id).await?),
            populations: Some(every_page(|page| self.store.populations(environment_id, page), |p| p.id).await?),
            groups: Some(self.group_configuration(environment_id).await?),
        })
    }

    /// Replaces the environment's configuration with the import, in one transaction,
    /// after checking all of it: nothing is written unless every part is valid. An
    /// environment with users is refused (reset it first).
    pub async fn import_configuration(
        &self,
        principal: &Principal,
        environment_id: Uuid,
        import: ConfigurationImport,
    ) -> Result<Configuration> {
        principal.require_manage(environment_id)?;
        let environment = self.store.environment(environment_id).await?;
        let at = now();
        let mut errors = Vec::new();
        let credential_types = import
            .credential_types
            .into_iter()
            .enumerate()
            .map(|(i, (id, fields))| {
                let item = format!("{CREDENTIAL_TYPES}[{i}]");
                errors.extend(fields.validate().into_iter().map(|e| e.within(&item)));
                CredentialType::new(id_or_new(id), environment_id, fields, at)
            })
            .collect();
        let applications = import
            .applications
            .into_iter()
            .enumerate()
            .map(|(i, (id, fields))| {
                if fields.native.is_none() {
                    errors.push(FieldError::invalid(&format!("{APPLICATIONS}[{i}].type"), WORKERS_STAY));
                }
                // A secret it needs is new (an export has none): read it with GET …/secret.
                self.new_application(id_or_new(id), environment_id, fields).application
            })
            .collect();
        let mut device_policies: Vec<DevicePolicy> = import
            .device_policies
            .into_iter()
            .map(|(id, fields)| DevicePolicy::new(id_or_new(id), environment_id, fields, at))
            .collect();
        if device_policies.is_empty() {
            device_policies.push(DevicePolicy::initial(environment_id, new_id(), at));
        }
        let mut issuer_profile = self.new_issuer_profile(&environment);
        if let Some(fields) = import.issuer_profile {
            issuer_profile.apply(fields);
        }
        let populations: Option<Vec<Population>> = import.populations.map(|items| {
            items.into_iter().map(|(id, fields)| Population::new(id_or_new(id), environment_id, fields, at)).collect()
        });
        let groups =
            self.imported_groups(environment_id, import.groups, populations.as_deref(), at, &mut errors).await?;
        let configuration = Configuration {
            environment_id,
            issuer_profile,
            credential_types,
            applications,
            wallet_applications: import
                .wallet_applications
                .into_iter()
                .map(|(id, fields)| WalletApplication::new(id_or_new(id), environment_id, fields, at))
                .collect(),
            template_contents: import
                .template_contents
                .into_iter()
                .map(|(id, template, fields)| TemplateContent::new(id_or_new(id), environment_id, template, fields, at))
                .collect(),
            device_policies,
            mfa_settings: import.mfa_settings.map(|fields| MfaSettings::new(environment_id, fields, at)),
            populations,
            groups,
        };
        errors.extend(configuration.check());
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        match self.store.replace_configuration(&configuration).await {
            Ok(true) => self.configuration(principal, environment_id).await,
            Ok(false) => Err(Error::bad_request("users", USERS_FIRST)),
            Err(StoreError::Conflict) => {
                Err(Error::Conflict(FieldError::new("id", FieldErrorKind::NotUnique, ID_TAKEN)))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// The item's own id, or a new one for an item that came without.
fn id_or_new(id: Option<Uuid>) -> Uuid {
    id.unwrap_or_else(new_id)
}

/// Every item of a paged list.
pub(super) async fn every_page<T, Read: Future<Output = StoreResult<Page<T>>>>(
    mut read: impl FnMut(PageRequest) -> Read,
    id_of: impl Fn(&T) -> Uuid,
) -> StoreResult<Vec<T>> {
    let mut all = Vec::new();
    let mut request = PageRequest::first(MAX_LIMIT);
    loop {
        let page = read(request).await?;
        request.after = page.items.last().map(&id_of);
        all.extend(page.items);
        if !page.has_more {
            return Ok(all);
        }
    }
}
