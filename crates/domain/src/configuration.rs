//! An environment's configuration, as a whole: what a reset puts back, what an export
//! reads and an import replaces. Users and everything about them are not part of it.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use crate::application::{Application, MobileIdentifier, WALLET_APPLICATION_TARGET};
use crate::credential::{CredentialType, IssuerProfile};
use crate::group::{
    Group, MAX_DYNAMIC_GROUPS_PER_ENVIRONMENT, MAX_GROUPS_PER_ENVIRONMENT, MAX_OUTER_GROUPS_PER_GROUP, Nesting,
};
use crate::mfa::{DevicePolicy, MfaSettings};
use crate::notification::TemplateContent;
use crate::population::Population;
use crate::validation::{FieldError, FieldErrorKind};
use crate::wallet::WalletApplication;

/// Section names, as the configuration document spells them (error targets).
pub const APPLICATIONS: &str = "applications";
pub const CREDENTIAL_TYPES: &str = "credentialTypes";
pub const WALLET_APPLICATIONS: &str = "digitalWalletApplications";
pub const TEMPLATE_CONTENTS: &str = "templateContents";
pub const DEVICE_POLICIES: &str = "deviceAuthenticationPolicies";
pub const POPULATIONS: &str = "populations";
pub const GROUPS: &str = "groups";
pub const GROUP_NESTINGS: &str = "groupNestings";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    pub environment_id: Uuid,
    /// Written as its name and site URL; its key only when the environment has no
    /// profile yet (an existing profile keeps its key, so the environment's DID
    /// document does not change).
    pub issuer_profile: IssuerProfile,
    pub credential_types: Vec<CredentialType>,
    /// The native applications (workers are not configuration: they stay).
    pub applications: Vec<Application>,
    pub wallet_applications: Vec<WalletApplication>,
    pub template_contents: Vec<TemplateContent>,
    pub device_policies: Vec<DevicePolicy>,
    /// `None`: the defaults, as in a new environment.
    pub mfa_settings: Option<MfaSettings>,
    /// `None`: the environment's populations stay as they are (a reset, an import
    /// without them). Otherwise they replace the environment's: the one marked default
    /// gives the environment's default population its settings (its id stays), the
    /// others are the environment's other populations.
    pub populations: Option<Vec<Population>>,
    /// `None`: the environment's groups and their nestings stay as they are (a reset, an
    /// import without them); otherwise they replace the environment's. Who is in them
    /// is not configuration.
    pub groups: Option<GroupConfiguration>,
}

/// Groups, and how they are nested in each other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupConfiguration {
    pub groups: Vec<Group>,
    pub nestings: Vec<Nesting>,
}

impl Configuration {
    /// What a new environment has: its first default device policy, an issuer
    /// profile named after it, and nothing else.
    pub fn initial(issuer_profile: IssuerProfile, policy: DevicePolicy) -> Self {
        Self {
            environment_id: issuer_profile.environment_id,
            issuer_profile,
            credential_types: Vec::new(),
            applications: Vec::new(),
            wallet_applications: Vec::new(),
            template_contents: Vec::new(),
            device_policies: vec![policy],
            mfa_settings: None,
            populations: None,
            groups: None,
        }
    }

    /// The rules between the parts, each part being valid on its own: an id at most
    /// once per section, a mobile identifier at most once, each wallet application on
    /// a native application of the document that can back it, one template content per
    /// template, method, locale and variant, exactly one default device policy,
    /// populations with unique names, exactly one of them the default, and groups as the
    /// groups routes keep them.
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        once_each(&mut errors, APPLICATIONS, self.applications.iter().map(|a| a.id));
        for identifier in MobileIdentifier::ALL {
            let mut seen = HashSet::new();
            for (i, a) in self.applications.iter().enumerate() {
                if let Some(value) = a.mobile().and_then(|m| m.get(*identifier))
                    && !seen.insert(value)
                {
                    errors.push(FieldError::new(
                        format!("{APPLICATIONS}[{i}].mobile.{}", identifier.as_str()),
                        FieldErrorKind::NotUnique,
                        format!("An earlier application has the same mobile.{}.", identifier.as_str()),
                    ));
                }
            }
        }
        for (i, w) in self.wallet_applications.iter().enumerate() {
            let place = format!("{WALLET_APPLICATIONS}[{i}]");
            match self.applications.iter().find(|a| a.id == w.application_id) {
                Some(application) => {
                    errors.extend(application.backs_wallet_applications().err().map(|e| e.within(&place)))
                }
                None => errors.push(FieldError::invalid(
                    &format!("{place}.{WALLET_APPLICATION_TARGET}"),
                    format!("{} names no native application of this configuration's {APPLICATIONS}.", w.application_id),
                )),
            }
        }
        once_each(&mut errors, CREDENTIAL_TYPES, self.credential_types.iter().map(|t| t.id));
        once_each(&mut errors, WALLET_APPLICATIONS, self.wallet_applications.iter().map(|a| a.id));
        once_each(&mut errors, TEMPLATE_CONTENTS, self.template_contents.iter().map(|c| c.id));
        once_each(&mut errors, DEVICE_POLICIES, self.device_policies.iter().map(|p| p.id));

        let mut contents = HashSet::new();
        for (i, c) in self.template_contents.iter().enumerate() {
            if !contents.insert((c.template, c.delivery_method, &c.locale, &c.variant)) {
                errors.push(FieldError::new(
                    format!("{TEMPLATE_CONTENTS}[{i}].locale"),
                    FieldErrorKind::NotUnique,
                    "An earlier content has the same template, deliveryMethod, locale and variant.",
                ));
            }
        }

        let mut policy_names = HashSet::new();
        for (i, p) in self.device_policies.iter().enumerate() {
            if !policy_names.insert(&p.name) {
                errors.push(FieldError::new(
                    format!("{DEVICE_POLICIES}[{i}].name"),
                    FieldErrorKind::NotUnique,
                    "An earlier device authentication policy has the same name.",
                ));
            }
        }

        if self.device_policies.iter().filter(|p| p.default).count() != 1 {
            errors.push(FieldError::invalid(
                DEVICE_POLICIES,
                "Exactly one device authentication policy must be the default.",
            ));
        }

        if let Some(populations) = &self.populations {
            once_each(&mut errors, POPULATIONS, populations.iter().map(|p| p.id));
            let mut names = HashSet::new();
            for (i, p) in populations.iter().enumerate() {
                // Unique whatever the case of A to Z, as the stores compare them.
                if !names.insert(p.name.to_ascii_lowercase()) {
                    errors.push(FieldError::new(
                        format!("{POPULATIONS}[{i}].name"),
                        FieldErrorKind::NotUnique,
                        "An earlier population has the same name.",
                    ));
                }
            }
            if populations.iter().filter(|p| p.default).count() != 1 {
                errors.push(FieldError::invalid(POPULATIONS, "Exactly one population must be the default."));
            }
        }
        if let Some(groups) = &self.groups {
            errors.extend(groups.check());
        }
        errors
    }
}

impl GroupConfiguration {
    /// What the groups routes refuse, between the groups: their limits, names PingOne
    /// does not let two groups share, and nestings of groups not in the document, of
    /// a group in itself or across populations, twice, or past a group's limit.
    fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        once_each(&mut errors, GROUPS, self.groups.iter().map(|g| g.id));
        let limit = |errors: &mut Vec<FieldError>, target: &str, message: String| {
            errors.push(FieldError::new(target, FieldErrorKind::LimitExceeded, message));
        };
        if self.groups.len() as i64 > MAX_GROUPS_PER_ENVIRONMENT {
            limit(&mut errors, GROUPS, format!("An environment may hold at most {MAX_GROUPS_PER_ENVIRONMENT} groups."));
        }
        if self.groups.iter().filter(|g| g.user_filter.is_some()).count() as i64 > MAX_DYNAMIC_GROUPS_PER_ENVIRONMENT {
            let message = format!(
                "An environment may hold at most {MAX_DYNAMIC_GROUPS_PER_ENVIRONMENT} groups with a userFilter."
            );
            limit(&mut errors, GROUPS, message);
        }
        // Each name (A to Z folded) with the populations of the groups that hold it,
        // `None` for an environment group.
        let mut names: HashMap<String, Vec<Option<Uuid>>> = HashMap::new();
        for (i, group) in self.groups.iter().enumerate() {
            let holders = names.entry(group.name.to_ascii_lowercase()).or_default();
            if holders.iter().any(|p| p.is_none() || group.population_id.is_none() || *p == group.population_id) {
                errors.push(FieldError::new(
                    format!("{GROUPS}[{i}].name"),
                    FieldErrorKind::NotUnique,
                    "An earlier group holds this name: groups of one population, and environment groups with any \
                     group, may not share a name.",
                ));
            }
            holders.push(group.population_id);
        }
        let by_id: HashMap<Uuid, &Group> = self.groups.iter().map(|g| (g.id, g)).collect();
        let mut seen = HashSet::new();
        let mut outer_groups: HashMap<Uuid, i64> = HashMap::new();
        for (i, nesting) in self.nestings.iter().enumerate() {
            let place = format!("{GROUP_NESTINGS}[{i}]");
            let (Some(inner), Some(outer)) = (by_id.get(&nesting.inner), by_id.get(&nesting.outer)) else {
                let missing = if by_id.contains_key(&nesting.inner) { "memberOfGroup.id" } else { "group.id" };
                errors
                    .push(FieldError::invalid(&format!("{place}.{missing}"), "No group of the document has this id."));
                continue;
            };
            if let Some(refusal) = inner.nesting_refused(outer) {
                errors.push(FieldError { target: format!("{place}.memberOfGroup.id"), ..refusal });
            } else if !seen.insert(*nesting) {
                errors.push(FieldError::new(
                    format!("{place}.memberOfGroup.id"),
                    FieldErrorKind::NotUnique,
                    "An earlier nesting is the same.",
                ));
            } else {
                let count = outer_groups.entry(nesting.inner).or_default();
                *count += 1;
                if *count > MAX_OUTER_GROUPS_PER_GROUP {
                    let message = format!("A group may be nested in at most {MAX_OUTER_GROUPS_PER_GROUP} groups.");
                    limit(&mut errors, &format!("{place}.memberOfGroup.id"), message);
                }
            }
        }
        errors
    }
}

fn once_each(errors: &mut Vec<FieldError>, section: &str, ids: impl Iterator<Item = Uuid>) {
    let mut seen = HashSet::new();
    for (i, id) in ids.enumerate() {
        if !seen.insert(id) {
            errors.push(FieldError::new(
                format!("{section}[{i}].id"),
                FieldErrorKind::NotUnique,
                format!("The id {id} appears earlier in {section}."),
            ));
        }
    }
}
