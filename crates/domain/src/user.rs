//! Users of an environment: the people wallets, credentials and devices belong to.

use uuid::Uuid;

use crate::time::Timestamp;
use crate::validation::{FieldError, FieldErrorKind, bounded_text};

/// Unique per environment whatever the case of A to Z (`Ada` is `ada`); at most 128
/// printable characters, kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        bounded_text("username", value, 128).map(Self)
    }
}

/// An email address as RFC 5322 allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(target: &str, value: &str) -> Result<Self, FieldError> {
        if value.len() > 254 {
            return Err(FieldError::new(
                target,
                FieldErrorKind::TooLong,
                format!("{target} must be at most 254 characters."),
            ));
        }
        if email_address::EmailAddress::is_valid(value) {
            Ok(Self(value.to_owned()))
        } else {
            Err(FieldError::invalid(target, format!("{target} must be a valid email address.")))
        }
    }
}

/// A user's phone attribute (`mobilePhone`, `primaryPhone`): free text as PingOne
/// keeps it, at most 32 characters with at least one digit. MFA devices parse phone
/// numbers strictly; a user's attribute is only a contact detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneAttribute(String);

impl PhoneAttribute {
    pub fn parse(target: &str, value: &str) -> Result<Self, FieldError> {
        let value = bounded_text(target, value, 32)?;
        if value.chars().any(|c| c.is_ascii_digit()) {
            Ok(Self(value))
        } else {
            Err(FieldError::invalid(target, format!("{target} must have at least one number.")))
        }
    }
}

/// An RFC 5646 language tag such as `fr`, `en-US` or `es-419`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locale(String);

impl Locale {
    pub fn parse(target: &str, value: &str) -> Result<Self, FieldError> {
        let well_formed = value.len() <= 256
            && value.split('-').enumerate().all(|(i, part)| {
                (1..=8).contains(&part.len())
                    && if i == 0 {
                        part.chars().all(|c| c.is_ascii_alphabetic())
                    } else {
                        part.chars().all(|c| c.is_ascii_alphanumeric())
                    }
            });
        if well_formed {
            Ok(Self(value.to_owned()))
        } else {
            Err(FieldError::invalid(target, format!("{target} must be a language tag such as en or en-US.")))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An Accept-Language style preference such as `en-US, en-gb;q=0.8, en;q=0.7`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreferredLanguage(String);

impl PreferredLanguage {
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        const TARGET: &str = "preferredLanguage";
        let value = bounded_text(TARGET, value, 256)?;
        let well_formed = value.split(',').all(|range| {
            let mut parts = range.trim().split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let tag_ok = tag == "*" || Locale::parse(TARGET, tag).is_ok();
            tag_ok
                && parts.all(|param| {
                    param
                        .trim()
                        .strip_prefix("q=")
                        .is_some_and(|q| q.parse::<f32>().is_ok_and(|q| (0.0..=1.0).contains(&q)))
                })
        });
        if well_formed {
            Ok(Self(value))
        } else {
            Err(FieldError::invalid(TARGET, "preferredLanguage must look like 'en-US, en;q=0.8'."))
        }
    }
}

/// A part of a user's name (`name.given`, …): non-blank, at most 256 characters.
pub fn name_part(target: &str, value: &str) -> Result<String, FieldError> {
    bounded_text(target, value, 256)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub environment_id: Uuid,
    /// The one population of the environment the user is in.
    pub population_id: Uuid,
    /// `false`: an administrator disabled the user; credd issues them no token.
    pub enabled: bool,
    pub username: String,
    pub email: Option<String>,
    pub mobile_phone: Option<String>,
    pub primary_phone: Option<String>,
    pub locale: Option<String>,
    pub preferred_language: Option<String>,
    /// `name.given`, `name.family`, `name.formatted` on the wire.
    pub name_given: Option<String>,
    pub name_family: Option<String>,
    pub name_formatted: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A change to one optional attribute: leave it, clear it, or set it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Change<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Change<T> {
    fn apply_to<U>(self, slot: &mut Option<U>, into: impl FnOnce(T) -> U) {
        match self {
            Self::Keep => {}
            Self::Clear => *slot = None,
            Self::Set(value) => *slot = Some(into(value)),
        }
    }
}

/// A partial update (PATCH): every attribute not mentioned stays as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub username: Option<Username>,
    /// Moves the user to this population of their environment.
    pub population_id: Option<Uuid>,
    pub email: Change<Email>,
    pub mobile_phone: Change<PhoneAttribute>,
    pub primary_phone: Change<PhoneAttribute>,
    pub locale: Change<Locale>,
    pub preferred_language: Change<PreferredLanguage>,
    pub name_given: Change<String>,
    pub name_family: Change<String>,
    pub name_formatted: Change<String>,
}

impl User {
    /// A new user: the patch over an empty record, so create and update share one
    /// set of rules.
    pub fn new(
        id: Uuid,
        environment_id: Uuid,
        population_id: Uuid,
        username: Username,
        rest: UserPatch,
        now: Timestamp,
    ) -> Self {
        let mut user = Self {
            id,
            environment_id,
            population_id,
            enabled: true,
            username: username.0,
            email: None,
            mobile_phone: None,
            primary_phone: None,
            locale: None,
            preferred_language: None,
            name_given: None,
            name_family: None,
            name_formatted: None,
            created_at: now,
            updated_at: now,
        };
        user.apply(rest, now);
        user
    }

    pub fn apply(&mut self, patch: UserPatch, now: Timestamp) {
        if let Some(username) = patch.username {
            self.username = username.0;
        }
        if let Some(population_id) = patch.population_id {
            self.population_id = population_id;
        }
        patch.email.apply_to(&mut self.email, |v| v.0);
        patch.mobile_phone.apply_to(&mut self.mobile_phone, |v| v.0);
        patch.primary_phone.apply_to(&mut self.primary_phone, |v| v.0);
        patch.locale.apply_to(&mut self.locale, |v| v.0);
        patch.preferred_language.apply_to(&mut self.preferred_language, |v| v.0);
        patch.name_given.apply_to(&mut self.name_given, |v| v);
        patch.name_family.apply_to(&mut self.name_family, |v| v);
        patch.name_formatted.apply_to(&mut self.name_formatted, |v| v);
        self.updated_at = now;
    }
}

/// What a store narrows a users list to by its index, before a filter decides the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    pub username: Option<String>,
    pub population_id: Option<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_must_be_an_address() {
        assert!(Email::parse("email", "ada@example.com").is_ok());
        assert!(Email::parse("email", "not an address").is_err());
    }

    #[test]
    fn phone_attribute_needs_a_digit_and_fits_32() {
        assert!(PhoneAttribute::parse("mobilePhone", "+1 (512) 555-1234").is_ok());
        assert!(PhoneAttribute::parse("mobilePhone", "call me").is_err());
        assert!(PhoneAttribute::parse("mobilePhone", &"1".repeat(33)).is_err());
    }

    #[test]
    fn locales_and_language_preferences() {
        for ok in ["fr", "en-US", "es-419"] {
            assert!(Locale::parse("locale", ok).is_ok(), "{ok}");
        }
        for bad in ["", "en_US!", "toolongtag-x", "-en"] {
            assert!(Locale::parse("locale", bad).is_err(), "{bad}");
        }
        assert!(PreferredLanguage::parse("en-US, en-gb;q=0.8, en;q=0.7").is_ok());
        assert!(PreferredLanguage::parse("en;q=2").is_err());
    }

    #[test]
    fn patch_keeps_clears_and_sets() {
        let now = crate::time::now();
        let mut user = User::new(
            crate::time::new_id(),
            crate::time::new_id(),
            crate::time::new_id(),
            Username::parse("ada").unwrap(),
            UserPatch { email: Change::Set(Email::parse("email", "ada@example.com").unwrap()), ..Default::default() },
            now,
        );
        user.apply(
            UserPatch { email: Change::Clear, name_given: Change::Set("Ada".into()), ..Default::default() },
            now,
        );
        assert_eq!(user.email, None);
        assert_eq!(user.name_given.as_deref(), Some("Ada"));
        assert_eq!(user.username, "ada");
    }
}
