//! Populations: the sets an environment's users are sorted into. Every environment has
//! exactly one default population, made with it; a user created without a population
//! lands in it, and every user is in exactly one population.

use uuid::Uuid;

use crate::time::Timestamp;
use crate::user::Locale;
use crate::validation::{FieldError, FieldErrorKind, bounded_text};

/// What PingOne names the default population a new environment gets.
pub const DEFAULT_POPULATION_NAME: &str = "Default";

/// The most `alternativeIdentifiers` one population keeps.
pub const MAX_ALTERNATIVE_IDENTIFIERS: usize = 50;

/// Unique per environment whatever the case of A to Z, as usernames are; non-blank, at
/// most 256 characters.
pub fn population_name(value: &str) -> Result<String, FieldError> {
    bounded_text("name", value, 256)
}

pub fn population_description(value: &str) -> Result<String, FieldError> {
    bounded_text("description", value, 1024)
}

/// The population's language: one language tag (`fr`, `en-US`).
pub fn population_language(value: &str) -> Result<String, FieldError> {
    Locale::parse("preferredLanguage", value).map(|locale| locale.as_str().to_owned())
}

/// Other names a population is found by: at most [`MAX_ALTERNATIVE_IDENTIFIERS`], each
/// non-blank and at most 256 characters.
pub fn alternative_identifiers(values: Vec<String>) -> Result<Vec<String>, FieldError> {
    const TARGET: &str = "alternativeIdentifiers";
    if values.len() > MAX_ALTERNATIVE_IDENTIFIERS {
        return Err(FieldError::new(
            TARGET,
            FieldErrorKind::LimitExceeded,
            format!("{TARGET} may hold at most {MAX_ALTERNATIVE_IDENTIFIERS} identifiers."),
        ));
    }
    values.iter().enumerate().map(|(i, v)| bounded_text(&format!("{TARGET}[{i}]"), v, 256)).collect()
}

/// A population's settings as a client sends them (create, or PUT's full replace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopulationFields {
    pub name: String,
    pub description: Option<String>,
    /// `Some(true)` makes it the environment's default, taking the flag from the
    /// current one; `None` leaves a population as it was (not default when new).
    pub default: Option<bool>,
    /// `passwordPolicy.id` and `theme.id`: credd has neither, so they are kept as sent.
    pub password_policy_id: Option<Uuid>,
    pub theme_id: Option<Uuid>,
    pub preferred_language: Option<String>,
    pub alternative_identifiers: Vec<String>,
}

impl PopulationFields {
    /// The settings of an environment's first default population.
    pub fn initial_default() -> Self {
        Self {
            name: DEFAULT_POPULATION_NAME.into(),
            description: None,
            default: Some(true),
            password_policy_id: None,
            theme_id: None,
            preferred_language: None,
            alternative_identifiers: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Population {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// The environment's default population; exactly one is.
    pub default: bool,
    pub password_policy_id: Option<Uuid>,
    pub theme_id: Option<Uuid>,
    pub preferred_language: Option<String>,
    pub alternative_identifiers: Vec<String>,
    /// How many users are in it, counted when read; writes ignore it.
    pub user_count: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Population {
    /// A population created at `now`, with no users yet.
    pub fn new(id: Uuid, environment_id: Uuid, fields: PopulationFields, now: Timestamp) -> Self {
        let mut population = Self {
            id,
            environment_id,
            name: String::new(),
            description: None,
            default: false,
            password_policy_id: None,
            theme_id: None,
            preferred_language: None,
            alternative_identifiers: Vec::new(),
            user_count: 0,
            created_at: now,
            updated_at: now,
        };
        population.replace(fields, now);
        population
    }

    /// The default population an environment is created with.
    pub fn initial(environment_id: Uuid, id: Uuid, now: Timestamp) -> Self {
        Self::new(id, environment_id, PopulationFields::initial_default(), now)
    }

    /// PUT: every setting is the new one (left out: cleared); `default` as
    /// [`PopulationFields::default`] says.
    pub fn replace(&mut self, fields: PopulationFields, now: Timestamp) {
        let PopulationFields {
            name,
            description,
            default,
            password_policy_id,
            theme_id,
            preferred_language,
            alternative_identifiers,
        } = fields;
        self.name = name;
        self.description = description;
        self.default = default.unwrap_or(self.default);
        self.password_policy_id = password_policy_id;
        self.theme_id = theme_id;
        self.preferred_language = preferred_language;
        self.alternative_identifiers = alternative_identifiers;
        self.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{new_id, now};

    #[test]
    fn replace_clears_what_is_left_out_and_keeps_the_default_unless_told() {
        let mut population = Population::initial(new_id(), new_id(), now());
        population.description = Some("old".into());
        population.replace(PopulationFields { default: None, ..PopulationFields::initial_default() }, now());
        assert!(population.default);
        assert_eq!(population.description, None);
        population.replace(PopulationFields { default: Some(false), ..PopulationFields::initial_default() }, now());
        assert!(!population.default);
    }

    #[test]
    fn alternative_identifiers_are_bounded() {
        assert!(alternative_identifiers(vec!["a".into(); MAX_ALTERNATIVE_IDENTIFIERS]).is_ok());
        assert!(alternative_identifiers(vec!["a".into(); MAX_ALTERNATIVE_IDENTIFIERS + 1]).is_err());
        assert_eq!(
            alternative_identifiers(vec!["ok".into(), " ".into()]).unwrap_err().target,
            "alternativeIdentifiers[1]"
        );
    }
}
