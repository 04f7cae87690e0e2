//! Field-level validation errors, and the small parsers shared by several types.
//!
//! A constructor that rejects its input returns a [`FieldError`] naming the field
//! (`target`) as the client spelled it, so the HTTP layer can render PingOne's
//! `details[{code, target, message}]` without knowing the rule.

use std::fmt;

/// Why one field was rejected. The HTTP layer maps each kind to PingOne's detail code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// A required field is absent or null.
    Required,
    /// The value has the wrong form.
    Invalid,
    /// The value is longer than allowed.
    TooLong,
    /// A number outside its range.
    OutOfRange,
    /// Another record already holds this value.
    NotUnique,
    /// A count would pass its limit (devices per user, say).
    LimitExceeded,
    /// A one-time passcode is wrong, expired or not pending.
    InvalidOtp,
    /// A list's `filter` uses what the list does not support.
    InvalidFilter,
}

/// What PingOne adds to a detail so that a client can correct itself (its `innerError`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InnerError {
    pub range_minimum_value: Option<i64>,
    pub range_maximum_value: Option<i64>,
    pub supported_attributes: Vec<String>,
    pub supported_operators: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub target: String,
    pub kind: FieldErrorKind,
    pub message: String,
    pub inner: Option<Box<InnerError>>,
}

impl FieldError {
    pub fn new(target: impl Into<String>, kind: FieldErrorKind, message: impl Into<String>) -> Self {
        Self { target: target.into(), kind, message: message.into(), inner: None }
    }

    /// A number outside `minimum ..= maximum`, with the range for the client.
    pub fn out_of_range(target: &str, minimum: i64, maximum: i64) -> Self {
        let inner =
            InnerError { range_minimum_value: Some(minimum), range_maximum_value: Some(maximum), ..Default::default() };
        Self {
            inner: Some(Box::new(inner)),
            ..Self::new(target, FieldErrorKind::OutOfRange, format!("{target} must be from {minimum} to {maximum}."))
        }
    }

    /// A `filter` the list cannot evaluate, with what it can.
    pub fn invalid_filter(message: impl Into<String>, attributes: Vec<String>, operators: Vec<String>) -> Self {
        let inner =
            InnerError { supported_attributes: attributes, supported_operators: operators, ..Default::default() };
        Self { inner: Some(Box::new(inner)), ..Self::new("filter", FieldErrorKind::InvalidFilter, message) }
    }

    pub fn required(target: &str) -> Self {
        Self::new(target, FieldErrorKind::Required, format!("{target} is required."))
    }

    pub fn invalid(target: &str, message: impl Into<String>) -> Self {
        Self::new(target, FieldErrorKind::Invalid, message)
    }

    /// The same error for a field inside `parent` (`credentialTypes[2]` and `title`
    /// make `credentialTypes[2].title`).
    pub fn within(mut self, parent: &str) -> Self {
        self.target = format!("{parent}.{}", self.target);
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.target, self.message)
    }
}

impl std::error::Error for FieldError {}

/// A bounded, non-blank text without control characters: names, titles, descriptions.
pub fn bounded_text(target: &str, value: &str, max_chars: usize) -> Result<String, FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::new(target, FieldErrorKind::Required, format!("{target} must not be empty.")));
    }
    if value.chars().count() > max_chars {
        return Err(FieldError::new(
            target,
            FieldErrorKind::TooLong,
            format!("{target} must be at most {max_chars} characters."),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::invalid(target, format!("{target} must not contain control characters.")));
    }
    Ok(value.to_owned())
}

/// Collects every field error of one request so the client sees them all at once.
#[derive(Debug, Default)]
pub struct Collector {
    errors: Vec<FieldError>,
}

impl Collector {
    /// Keeps the value, or records its error and yields `None`.
    pub fn take<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        result.map_err(|e| self.errors.push(e)).ok()
    }

    pub fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// The value built from the taken fields, or every recorded error. A field that
    /// was not taken records an error, so `None` comes with errors.
    pub fn finish_with<T>(self, value: Option<T>) -> Result<T, Vec<FieldError>> {
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => Err(self.errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_text_rejects_blank_long_and_control() {
        assert_eq!(bounded_text("name", "  ", 5).unwrap_err().kind, FieldErrorKind::Required);
        assert_eq!(bounded_text("name", "abcdef", 5).unwrap_err().kind, FieldErrorKind::TooLong);
        assert_eq!(bounded_text("name", "a\nb", 5).unwrap_err().kind, FieldErrorKind::Invalid);
        assert_eq!(bounded_text("name", "Ünï", 3).unwrap(), "Ünï");
    }
}
