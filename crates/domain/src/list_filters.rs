//! What each list filters on: PingOne's documented attributes and operators where it
//! documents them (environments, users, devices), and a small set credd adds where it
//! documents none (docs/api-differences.md lists them). Names are PingOne's wire names.

use crate::application::Application;
use crate::credential::{CredentialType, ProvisionedCredential, UserCredential};
use crate::environment::Environment;
use crate::filter::Operator::{Eq, Sw};
use crate::filter::{Attribute, Filter, Filterable, Kind, Operator, Value};
use crate::group::{Group, GroupNode, MEMBER_OF_GROUPS, Membership, UserInGroups};
use crate::mfa::{Device, DevicePolicy};
use crate::notification::{Notification, TemplateContent};
use crate::population::Population;
use crate::user::User;
use crate::wallet::{DigitalWallet, WalletApplication};

const EQ: &[Operator] = &[Eq];
const EQ_SW: &[Operator] = &[Eq, Sw];

const fn attribute(name: &'static str, kind: Kind, operators: &'static [Operator]) -> Attribute {
    Attribute { name, kind, operators }
}

impl Filterable for Environment {
    const ATTRIBUTES: &'static [Attribute] = &[attribute("id", Kind::Id, EQ), attribute("name", Kind::Text, &[Sw])];

    fn value(&self, attribute: &str) -> Option<Value<'_>> {
        match attribute {
            "id" => Some(Value::Id(self.id)),
            "name" => Some(Value::Text(&self.name)),
            _ => None,
        }
    }
}

impl Filterable for Application {
    const ATTRIBUTES: &'static [Attribute] =
        &[attribute("id", Kind::Id, EQ), attribute("name", Kind::Text, EQ_SW), attribute("type", Kind::Text, EQ)];

    fn value(&self, attribute: &str) -> Option<Value<'_>> {
        match attribute {
            "id" => Some(Value::Id(self.id)),
            "name" => Some(Value::Text(&self.name)),
            "type" => Some(Value::Text(self.kind().as_str())),
            _ => None,
        }
    }
}

impl Filterable for Population {
    const ATTRIBUTES: &'static [Attribute] = &[attribute("id", Kind::Id, EQ), attribute("name", Kind::Text, EQ_SW)];

    fn value(&self, attribute: &str) -> Option<Value<'_>> {
        match attribute {
            "id" => Some(Value::Id(self.id)),
            "name" => Some(Value::Text(&self.name)),
            _ => None,
        }
    }
}

impl Filterable for User {
    const ATTRIBUTES: &'static [Attribute] = &[
        attribute("id", Kind::Id, EQ),
        attribute("username", Kind::Text, EQ_SW),
        attribute("email", Kind::Text, EQ_SW),
        attribute("name.given", Kind::Text, EQ_SW),
        attribute("name.family", Kind::Text, EQ_SW),
        attribute("population.id", Kind::Id, EQ),
        attribute("enabled", Kind::Boolean, EQ),
        // Answered by [`UserInGroups`], which knows the user's groups.
        attribute(MEMBER_OF_GROUPS, Kind::Values(GroupNode::ATTRIBUTES), &[]),
    ];

    fn value(&self, attribute: &str) -> Option<Value<'_>> {
        match attribute {
            "id" => Some(Value::Id(self.id)),
            "username" => Some(Value::Text(&self.username)),
            "email" => self.email.as_deref().map(Value::Text),
            "name.given" => self.name_given.as_deref().map(Value::Text),
            "name.family" => self.name_family.as_deref().map(Value::Text),
            "population.id" => Some(Value::Id(self.population_id)),
            "enabled" => Some(Value::Boolean(self.enabled)),
            _ => None,
        }
    }
}

impl Filterable for Group {
    const ATTRIBUTES: &'static [Attribute] = &[
        attribute("id", Kind::Id, EQ),
        attribute("name", Kind::Text, EQ_SW),
        attribute("externalId", Kind::Text, EQ_SW),
        attribute("population.id", Kind::Id, EQ),
    ];

    fn value(&self, attribute: &str) -> Option<Value<'_>> {
        match attribute {
            "id" => Some(Value::Id(self.id)),
            "name" => Some(Value::Text(&self.name)),
            "externalId" => self.external_id.as_deref().map(Value::Text),
            "population.id" => self.population_id.map(Value::Id),
            _ => None,
        }
    }
}

/// A group as a user's `memberOfGroups` names it.
impl Filterable for GroupNode {
    const ATTRIBUTES: &'static [Attribute] = &[attribute("id", Kind::Id, EQ), attribute("name", Kind::Text, EQ_SW)];

    fn value(&self, attribute: &str) -> Option<Value<'_>> {
        match attribute {
            "id" => Some(Value::Id(self.id)),
            "name" => Some(Value::Text(&self.name)),
            _ => None,
        }
    }
}

/// The groups a user or a group is in.
impl Filterable for Membership {
    const ATTRIBUTES: &'static [Attribute] =
        &[attribute("id", Kind::Id, EQ), attribute("name", Kind::Text, EQ_SW), attribute("type", Kind::Text, EQ)];

    fn value(&self, attribute: &str) -> Option<Value<'_>> {
        match attribute {
            "type" => Some(Value::Text(self.kind.as_str())),
            _ => self.group.value(attribute),
        }
    }
}

/// A user with their groups: the users list when its filter reads `memberOfGroups`.
impl Filterable for UserInGroups {
    const ATTRIBUTES: &'static [Attribute] = User::ATTRIBUTES;

    fn value(&self, attribute: &str) -> Option<Value<'_>> {
        self.user.value(attribute)
    }

    fn any_value(&self, attribute: &str, filter: &Filter) -> bool {
        attribute == MEMBER_OF_GROUPS && self.groups.iter().any(|m| filter.matches(&m.group))
    }
}

impl Filterable for Device {
    const ATTRIBUTES: &'static [Attribute] = &[attribute("status", Kind::Text, EQ), attribute("type", Kind::Text, EQ)];

    fn value(&self, attribute: &str) -> Option<Value<'_>> {
        match attribute {
            "status" => Some(Value::Text(self.status.as_str())),
            "type" => Some(Value::Text(self.kind.as_str())),
            _ => None,
        }
    }
}

impl Filterable for DevicePolicy {
    const ATTRIBUTES: &'static [Attribute] =
        &[attribute("name", Kind::Text, EQ_SW), attribute("default", Kind::Boolean, EQ)];

    fn value(&self, attribute: &str) -> Option<Value<'_>> {
        match attribute {
            "name" => Some(Value::Text(&self.name)),
            "default" => Some(Value::Boolean(self.default)),
            _ => None,
        }
    }
}

impl Filterable for CredentialType {
    const ATTRIBUTES: &'static [Attribute] =
        &[attribute("title", Kind::Text, EQ_SW), attribute("management.mode", Kind::Text, EQ)];

    fn value(&self, attribute: &str) -> Option<Value<'_>> {
        match attribute {
            "title" => Some(Value::Text(&self.title)),
            "management.mode" => Some(Value::Text(self.mode.as_str())),
            _ => None,
        }
    }
}

impl Filterable for WalletApplication {
    const ATTRIBUTES: &'static [Attribute] = &[attribute("name", Kind::Text, EQ_SW)];

    fn value(&self, attribute: &str) -> Option<Value<'_>> {
        (attribute == "name").then_some(Value::Text(&self.name))
    }
}

impl Filterable for DigitalWallet {
    const ATTRIBUTES: &'static [Attribute] =
        &[attribute("status", Kind::Text, EQ), attribute("digitalWalletApplication.id", Kind::Id, EQ)];

    fn value(&self, attribute: &str) -> Option<Value<'_>> {
        match attribute {
            "status" => Some(Value::Text(self.status.as_str())),
            "digitalWalletApplication.id" => Some(Value::Id(self.wallet_application_id)),
            _ => None,
        }
    }
}

impl Filterable for UserCredential {
    const ATTRIBUTES: &'static [Attribute] =
        &[attribute("status", Kind::Text, EQ), attribute("credentialType.id", Kind::Id, EQ)];

    fn value(&self, attribute: &str) -> Option<Value<'_>> {
        match attribute {
            "status" => Some(Value::Text(self.status.as_str())),
            "credentialType.id" => Some(Value::Id(self.credential_type_id)),
            _ => None,
        }
    }
}

impl Filterable for ProvisionedCredential {
    const ATTRIBUTES: &'static [Attribute] = &[attribute("status", Kind::Text, EQ)];

    fn value(&self, attribute: &str) -> Option<Value<'_>> {
        (attribute == "status").then_some(Value::Text(self.status.as_str()))
    }
}

impl Filterable for Notification {
    const ATTRIBUTES: &'static [Attribute] = &[
        attribute("user.id", Kind::Id, EQ),
        attribute("template", Kind::Text, EQ),
        attribute("recipient", Kind::Text, EQ),
    ];

    fn value(&self, attribute: &str) -> Option<Value<'_>> {
        match attribute {
            "user.id" => self.user_id.map(Value::Id),
            "template" => Some(Value::Text(self.template.as_str())),
            "recipient" => Some(Value::Text(&self.recipient)),
            _ => None,
        }
    }
}

impl Filterable for TemplateContent {
    const ATTRIBUTES: &'static [Attribute] =
        &[attribute("locale", Kind::Text, EQ_SW), attribute("deliveryMethod", Kind::Text, EQ)];

    fn value(&self, attribute: &str) -> Option<Value<'_>> {
        match attribute {
            "locale" => Some(Value::Text(&self.locale)),
            "deliveryMethod" => Some(Value::Text(self.delivery_method.as_str())),
            _ => None,
        }
    }
}
