//! SCIM filters as PingOne accepts them on lists: `attribute eq "value"` clauses
//! joined by `and`. Each list names the attributes it supports; anything else is a
//! 400 `INVALID_FILTER`, never SQL. Values stay data from here to the database.

use domain::validation::{FieldError, FieldErrorKind};

use crate::error::Error;

/// One `attribute eq "value"` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equality {
    pub attribute: String,
    pub value: String,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid(FieldError::new("filter", FieldErrorKind::Invalid, message))
}

/// Parses `filter`, accepting only equality on the listed attributes.
pub fn parse(filter: &str, supported: &[&str]) -> Result<Vec<Equality>, Error> {
    let mut tokens = Tokenizer { rest: filter.trim() };
    let mut clauses = Vec::new();
    loop {
        let attribute = tokens.word().ok_or_else(|| invalid("Expected an attribute name."))?;
        let Some(canonical) = supported.iter().find(|s| s.eq_ignore_ascii_case(&attribute)) else {
            return Err(invalid(format!(
                "Filtering on '{attribute}' is not supported; supported: {}.",
                supported.join(", ")
            )));
        };
        let operator = tokens.word().ok_or_else(|| invalid("Expected an operator."))?;
        if !operator.eq_ignore_ascii_case("eq") {
            return Err(invalid(format!("The operator '{operator}' is not supported; supported: eq.")));
        }
        let value = tokens.string()?;
        clauses.push(Equality { attribute: (*canonical).to_owned(), value });
        match tokens.word() {
            None => return Ok(clauses),
            Some(joiner) if joiner.eq_ignore_ascii_case("and") => continue,
            Some(other) => return Err(invalid(format!("Expected 'and' but found '{other}'."))),
        }
    }
}

struct Tokenizer<'a> {
    rest: &'a str,
}

impl Tokenizer<'_> {
    /// The next bare word (an attribute, operator or `and`).
    fn word(&mut self) -> Option<String> {
        self.rest = self.rest.trim_start();
        let end = self.rest.find(|c: char| c.is_whitespace() || c == '"').unwrap_or(self.rest.len());
        if end == 0 {
            return None;
        }
        let (word, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(word.to_owned())
    }

    /// The next double-quoted string, with JSON escapes.
    fn string(&mut self) -> Result<String, Error> {
        self.rest = self.rest.trim_start();
        if !self.rest.starts_with('"') {
            return Err(invalid("Expected a double-quoted value."));
        }
        let mut escaped = false;
        for (i, c) in self.rest.char_indices().skip(1) {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => {
                    let literal = &self.rest[..=i];
                    self.rest = &self.rest[i + 1..];
                    let value: String = serde_json::from_str(literal)
                        .map_err(|_| invalid("The quoted value has an invalid escape."))?;
                    // No stored value holds one, and PostgreSQL text cannot hold a NUL.
                    if value.chars().any(char::is_control) {
                        return Err(invalid("The quoted value must not contain control characters."));
                    }
                    return Ok(value);
                }
                _ => escaped = false,
            }
        }
        Err(invalid("The quoted value is not closed."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USERS: &[&str] = &["username", "email"];

    fn eq(attribute: &str, value: &str) -> Equality {
        Equality { attribute: attribute.into(), value: value.into() }
    }

    #[test]
    fn equality_clauses_joined_by_and() {
        assert_eq!(parse(r#"username eq "ada""#, USERS).unwrap(), vec![eq("username", "ada")]);
        assert_eq!(
            parse(r#"userName EQ "a \"quoted\" name" and email eq "x@y.z""#, USERS).unwrap(),
            vec![eq("username", r#"a "quoted" name"#), eq("email", "x@y.z")]
        );
    }

    #[test]
    fn hostile_or_unsupported_filters_are_refused() {
        for bad in [
            "",
            "password eq \"x\"",
            "username co \"a\"",
            "username eq ada",
            "username eq \"ada\" or email eq \"b\"",
            "username eq \"unterminated",
            "username eq \"x\"; DROP TABLE users",
            "username eq \"x\\u0000\"",
        ] {
            assert!(parse(bad, USERS).is_err(), "{bad}");
        }
        // Quotes and SQL in a value are just characters of the value.
        assert_eq!(parse(r#"username eq "x' OR '1'='1""#, USERS).unwrap(), vec![eq("username", "x' OR '1'='1")]);
    }
}
