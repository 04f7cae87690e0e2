//! SCIM filters (RFC 7644 §3.4.2.2) as PingOne takes them on lists: comparisons joined by
//! `and` and `or`, grouped with parentheses, and value paths over a multi-valued
//! attribute (`memberOfGroups[id eq "…"]`). Each list names the attributes it filters on
//! and the operators each takes ([`Filterable::ATTRIBUTES`]); anything else is refused
//! with what the list supports. A filter is evaluated on domain values, never as SQL, so
//! a value is only ever data.

use std::future::Future;

use uuid::Uuid;

use crate::page::{CountedPage, Page, PageRequest, scan};
use crate::validation::FieldError;

crate::text_enum! {
    /// SCIM's comparison operators.
    pub enum Operator {
        Eq => "eq",
        Ne => "ne",
        Co => "co",
        Sw => "sw",
        Ew => "ew",
        Gt => "gt",
        Ge => "ge",
        Lt => "lt",
        Le => "le",
    }
}

/// What kind of value an attribute holds, which decides how its literal is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Compared without regard to the case of A to Z (as the stores compare usernames),
    /// as SCIM compares attributes that are not case-exact.
    Text,
    Id,
    Boolean,
    /// A multi-valued attribute whose values have these sub-attributes: it takes no
    /// operator of its own, only a value path, `attribute[filter over them]`, which
    /// selects an item when one of its values matches.
    Values(&'static [Attribute]),
}

/// One attribute a list filters on, with the operators it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute {
    pub name: &'static str,
    pub kind: Kind,
    pub operators: &'static [Operator],
}

/// An item of a list a filter can select from.
pub trait Filterable {
    /// What this list filters on; nothing else parses.
    const ATTRIBUTES: &'static [Attribute];

    /// The value of one of [`Self::ATTRIBUTES`], if the item has one.
    fn value(&self, attribute: &str) -> Option<Value<'_>>;

    /// Whether one of the values of `attribute`, one of [`Self::ATTRIBUTES`] of
    /// [`Kind::Values`], is selected by `filter` (over its sub-attributes). An item
    /// without such attributes keeps this default: no values, so nothing matches.
    fn any_value(&self, attribute: &str, filter: &Filter) -> bool {
        let _ = (attribute, filter);
        false
    }
}

/// An item's value of a filtered attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Text(&'a str),
    Id(Uuid),
    Boolean(bool),
}

/// A filter's literal, read as its attribute's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    Text(String),
    Id(Uuid),
    Boolean(bool),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub attribute: &'static str,
    pub operator: Operator,
    pub literal: Literal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Compare(Comparison),
    /// A value path: some value of the multi-valued `attribute` is selected by `filter`.
    Any {
        attribute: &'static str,
        filter: Box<Filter>,
    },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

/// The longest filter text a list reads, and the most comparisons in one: bounds on
/// the work one request can ask for.
pub const MAX_FILTER_CHARS: usize = 2000;
pub const MAX_COMPARISONS: usize = 32;
/// How deep parentheses may nest (the parser recurses once per level).
const MAX_DEPTH: usize = 8;

impl Filter {
    /// Parses `text` against what `T`'s list supports.
    pub fn parse<T: Filterable>(text: &str) -> Result<Self, FieldError> {
        if text.chars().count() > MAX_FILTER_CHARS {
            return Err(refused(T::ATTRIBUTES, format!("A filter may be at most {MAX_FILTER_CHARS} characters.")));
        }
        let mut parser =
            Parser { tokens: Tokens { rest: text }, list: T::ATTRIBUTES, scope: T::ATTRIBUTES, comparisons: 0 };
        let filter = parser.disjunction(0)?;
        match parser.tokens.next().map_err(|m| parser.refuse(m))? {
            None => Ok(filter),
            Some(token) => Err(parser.refuse(format!("Unexpected {token} after a complete filter."))),
        }
    }

    /// Whether `item` is selected.
    pub fn matches<T: Filterable>(&self, item: &T) -> bool {
        match self {
            Filter::Compare(comparison) => comparison.matches(item.value(comparison.attribute)),
            Filter::Any { attribute, filter } => item.any_value(attribute, filter),
            Filter::And(left, right) => left.matches(item) && right.matches(item),
            Filter::Or(left, right) => left.matches(item) || right.matches(item),
        }
    }

    /// Whether the filter reads `attribute` anywhere, so a caller can skip working out
    /// values nobody asks for.
    pub fn reads(&self, attribute: &str) -> bool {
        match self {
            Filter::Compare(comparison) => comparison.attribute == attribute,
            Filter::Any { attribute: a, .. } => *a == attribute,
            Filter::And(left, right) | Filter::Or(left, right) => left.reads(attribute) || right.reads(attribute),
        }
    }

    /// The literal every selected item equals on `attribute`, when the filter requires
    /// one (an `eq` on it joined to the rest by `and`): a store can narrow its read by
    /// it before the filter decides.
    pub fn required_equal(&self, attribute: &str) -> Option<&Literal> {
        match self {
            Filter::Compare(Comparison { attribute: a, operator: Operator::Eq, literal }) if *a == attribute => {
                Some(literal)
            }
            Filter::Compare(_) | Filter::Any { .. } | Filter::Or(..) => None,
            Filter::And(left, right) => left.required_equal(attribute).or_else(|| right.required_equal(attribute)),
        }
    }
}

impl Comparison {
    fn matches(&self, value: Option<Value<'_>>) -> bool {
        use Operator::*;
        let Some(value) = value else {
            // An absent value equals nothing, so it differs from everything.
            return self.operator == Ne;
        };
        match (value, &self.literal) {
            (Value::Text(value), Literal::Text(literal)) => {
                let (value, literal) = (value.to_ascii_lowercase(), literal.to_ascii_lowercase());
                match self.operator {
                    Eq => value == literal,
                    Ne => value != literal,
                    Co => value.contains(&literal),
                    Sw => value.starts_with(&literal),
                    Ew => value.ends_with(&literal),
                    Gt => value > literal,
                    Ge => value >= literal,
                    Lt => value < literal,
                    Le => value <= literal,
                }
            }
            (Value::Id(value), Literal::Id(literal)) => (value == *literal) == (self.operator == Eq),
            (Value::Boolean(value), Literal::Boolean(literal)) => (value == *literal) == (self.operator == Eq),
            // An attribute's kind fixes both sides; a mismatch selects nothing.
            _ => false,
        }
    }
}

/// A page of the items of a list that `filter` selects, and how many it selects in
/// all ([`scan`]).
pub async fn page_matching<T, E, Fut>(
    filter: Option<&Filter>,
    request: PageRequest,
    fetch: impl FnMut(PageRequest) -> Fut,
    id_of: impl Fn(&T) -> Uuid,
) -> Result<CountedPage<T>, E>
where
    T: Filterable,
    Fut: Future<Output = Result<Page<T>, E>>,
{
    scan(request, fetch, id_of, |item| filter.is_none_or(|f| f.matches(item))).await
}

/// [`page_matching`] for a list that can grow long (users, notifications): without a
/// filter the page is one read and the count one `count` of the store's index, rather
/// than a read of the whole list.
pub async fn page_matching_indexed<T, E, Fut, CountFut>(
    filter: Option<&Filter>,
    request: PageRequest,
    mut fetch: impl FnMut(PageRequest) -> Fut,
    id_of: impl Fn(&T) -> Uuid,
    count: impl FnOnce() -> CountFut,
) -> Result<CountedPage<T>, E>
where
    T: Filterable,
    Fut: Future<Output = Result<Page<T>, E>>,
    CountFut: Future<Output = Result<u64, E>>,
{
    match filter {
        Some(_) => page_matching(filter, request, fetch, id_of).await,
        None => Ok(CountedPage { page: fetch(request).await?, count: count().await? }),
    }
}

/// The 400 naming what a list supports (`INVALID_FILTER`).
fn refused(supported: &[Attribute], message: impl Into<String>) -> FieldError {
    let attributes = supported.iter().map(|a| a.name.to_owned()).collect();
    let mut operators: Vec<&str> = Vec::new();
    let sub_attributes = supported.iter().flat_map(|a| match a.kind {
        Kind::Values(sub) => sub,
        _ => &[],
    });
    for attribute in supported.iter().chain(sub_attributes) {
        for operator in attribute.operators {
            if !operators.contains(&operator.as_str()) {
                operators.push(operator.as_str());
            }
        }
    }
    let described = describe(supported);
    let message = if described.is_empty() {
        format!("{} This list supports no filter.", message.into())
    } else {
        format!("{} Supported: {described}; joined by and, or and parentheses.", message.into())
    };
    FieldError::invalid_filter(message, attributes, operators.into_iter().map(str::to_owned).collect())
}

/// `name (eq, sw); memberOfGroups[id (eq)]`: each attribute with its operators.
fn describe(attributes: &[Attribute]) -> String {
    attributes
        .iter()
        .map(|a| match a.kind {
            Kind::Values(sub) => format!("{}[{}]", a.name, describe(sub)),
            _ => format!("{} ({})", a.name, a.operators.iter().map(|o| o.as_str()).collect::<Vec<_>>().join(", ")),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

struct Parser<'a> {
    tokens: Tokens<'a>,
    /// What the list supports, which a refusal names.
    list: &'static [Attribute],
    /// The attributes names resolve to here: the list's, or inside a value path its
    /// attribute's sub-attributes.
    scope: &'static [Attribute],
    comparisons: usize,
}

impl Parser<'_> {
    fn refuse(&self, message: impl Into<String>) -> FieldError {
        refused(self.list, message)
    }

    /// `conjunction ("or" conjunction)*`
    fn disjunction(&mut self, depth: usize) -> Result<Filter, FieldError> {
        let mut filter = self.conjunction(depth)?;
        while self.tokens.take_word("or") {
            filter = Filter::Or(Box::new(filter), Box::new(self.conjunction(depth)?));
        }
        Ok(filter)
    }

    /// `operand ("and" operand)*`
    fn conjunction(&mut self, depth: usize) -> Result<Filter, FieldError> {
        let mut filter = self.operand(depth)?;
        while self.tokens.take_word("and") {
            filter = Filter::And(Box::new(filter), Box::new(self.operand(depth)?));
        }
        Ok(filter)
    }

    /// `"(" disjunction ")" | attribute "[" disjunction "]" | attribute operator literal`
    fn operand(&mut self, depth: usize) -> Result<Filter, FieldError> {
        let token = self.tokens.next().map_err(|m| self.refuse(m))?;
        match token {
            Some(Token::Open) => {
                let inner = self.nested(depth)?;
                self.expect(Token::Close, "Expected ')'.")?;
                Ok(inner)
            }
            Some(Token::Word(name)) => {
                let Some(attribute) = self.scope.iter().find(|a| a.name.eq_ignore_ascii_case(name)) else {
                    return Err(self.refuse(format!("Filtering on '{name}' is not supported.")));
                };
                match attribute.kind {
                    Kind::Values(sub) => self.value_path(attribute.name, sub, depth),
                    _ => self.comparison(attribute).map(Filter::Compare),
                }
            }
            Some(other) => Err(self.refuse(format!("Expected an attribute name but found {other}."))),
            None => Err(self.refuse("Expected an attribute name.")),
        }
    }

    /// A disjunction one level deeper, inside parentheses or a value path's brackets.
    fn nested(&mut self, depth: usize) -> Result<Filter, FieldError> {
        if depth == MAX_DEPTH {
            return Err(self.refuse(format!("Parentheses and brackets may nest at most {MAX_DEPTH} deep.")));
        }
        self.disjunction(depth + 1)
    }

    fn expect(&mut self, token: Token<'_>, message: &str) -> Result<(), FieldError> {
        match self.tokens.next().map_err(|m| self.refuse(m))? {
            Some(next) if next == token => Ok(()),
            _ => Err(self.refuse(message)),
        }
    }

    /// `attribute "[" disjunction over its sub-attributes "]"`, the attribute read.
    fn value_path(
        &mut self,
        attribute: &'static str,
        sub: &'static [Attribute],
        depth: usize,
    ) -> Result<Filter, FieldError> {
        if !matches!(self.tokens.next().map_err(|m| self.refuse(m))?, Some(Token::OpenBracket)) {
            return Err(self.refuse(format!(
                "'{attribute}' takes a filter on its values in brackets, such as {attribute}[{} eq \"…\"].",
                sub.first().map_or("id", |a| a.name)
            )));
        }
        let outer = std::mem::replace(&mut self.scope, sub);
        let filter = self.nested(depth);
        self.scope = outer;
        let filter = filter?;
        self.expect(Token::CloseBracket, "Expected ']'.")?;
        Ok(Filter::Any { attribute, filter: Box::new(filter) })
    }

    fn comparison(&mut self, attribute: &'static Attribute) -> Result<Comparison, FieldError> {
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return Err(self.refuse(format!("A filter may hold at most {MAX_COMPARISONS} comparisons.")));
        }
        let operator = match self.tokens.next().map_err(|m| self.refuse(m))? {
            Some(Token::Word(word)) => Operator::ALL.iter().copied().find(|o| o.as_str().eq_ignore_ascii_case(word)),
            _ => None,
        }
        .ok_or_else(|| self.refuse(format!("Expected an operator after '{}'.", attribute.name)))?;
        if !attribute.operators.contains(&operator) {
            return Err(self.refuse(format!(
                "The operator '{}' is not supported on '{}'.",
                operator.as_str(),
                attribute.name
            )));
        }
        let literal = match (attribute.kind, self.tokens.next().map_err(|m| self.refuse(m))?) {
            (Kind::Text, Some(Token::Text(text))) => Literal::Text(text),
            (Kind::Id, Some(Token::Text(text))) => Literal::Id(
                Uuid::parse_str(&text)
                    .map_err(|_| self.refuse(format!("'{}' takes a UUID in double quotes.", attribute.name)))?,
            ),
            (Kind::Boolean, Some(Token::Word(word))) if word == "true" || word == "false" => {
                Literal::Boolean(word == "true")
            }
            (Kind::Boolean, _) => {
                return Err(self.refuse(format!("'{}' takes true or false, unquoted.", attribute.name)));
            }
            (Kind::Values(_), _) => unreachable!("a multi-valued attribute is read as a value path"),
            _ => return Err(self.refuse(format!("'{}' takes a value in double quotes.", attribute.name))),
        };
        Ok(Comparison { attribute: attribute.name, operator, literal })
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    /// An attribute, operator, `and`, `or`, `true` or `false`.
    Word(&'a str),
    /// A double-quoted string, unescaped.
    Text(String),
}

impl std::fmt::Display for Token<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Token::Open => f.write_str("'('"),
            Token::Close => f.write_str("')'"),
            Token::OpenBracket => f.write_str("'['"),
            Token::CloseBracket => f.write_str("']'"),
            Token::Word(word) => write!(f, "'{word}'"),
            Token::Text(_) => f.write_str("a quoted value"),
        }
    }
}

struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn next(&mut self) -> Result<Option<Token<'a>>, String> {
        self.rest = self.rest.trim_start();
        let Some(first) = self.rest.chars().next() else {
            return Ok(None);
        };
        match first {
            '(' | ')' | '[' | ']' => {
                self.rest = &self.rest[1..];
                Ok(Some(match first {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                }))
            }
            '"' => self.quoted().map(|text| Some(Token::Text(text))),
            _ => {
                let end =
                    self.rest.find(|c: char| c.is_whitespace() || "()[]\"".contains(c)).unwrap_or(self.rest.len());
                let (word, rest) = self.rest.split_at(end);
                self.rest = rest;
                Ok(Some(Token::Word(word)))
            }
        }
    }

    /// Consumes the next token if it is `word` (any case).
    fn take_word(&mut self, word: &str) -> bool {
        let before = self.rest;
        match self.next() {
            Ok(Some(Token::Word(w))) if w.eq_ignore_ascii_case(word) => true,
            _ => {
                self.rest = before;
                false
            }
        }
    }

    /// A double-quoted string with JSON's escapes.
    fn quoted(&mut self) -> Result<String, String> {
        let mut escaped = false;
        for (i, c) in self.rest.char_indices().skip(1) {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => {
                    let literal = &self.rest[..=i];
                    self.rest = &self.rest[i + 1..];
                    let value: String = serde_json::from_str(literal)
                        .map_err(|_| "A quoted value has an invalid escape.".to_owned())?;
                    // No stored value holds one, and PostgreSQL text cannot hold a NUL.
                    if value.chars().any(char::is_control) {
                        return Err("A quoted value must not contain control characters.".to_owned());
                    }
                    return Ok(value);
                }
                _ => escaped = false,
            }
        }
        Err("A quoted value is not closed.".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::FieldErrorKind;

    /// A list of people for the tests, each in some teams.
    #[derive(Debug, Clone, PartialEq)]
    struct Person {
        id: Uuid,
        name: &'static str,
        email: Option<&'static str>,
        admin: bool,
        teams: Vec<Team>,
    }

    #[derive(Debug, Clone, PartialEq)]
    struct Team {
        id: Uuid,
        name: &'static str,
    }

    impl Filterable for Team {
        const ATTRIBUTES: &'static [Attribute] = &[
            Attribute { name: "id", kind: Kind::Id, operators: &[Operator::Eq] },
            Attribute { name: "name", kind: Kind::Text, operators: &[Operator::Eq, Operator::Ew] },
        ];

        fn value(&self, attribute: &str) -> Option<Value<'_>> {
            match attribute {
                "id" => Some(Value::Id(self.id)),
                "name" => Some(Value::Text(self.name)),
                _ => None,
            }
        }
    }

    impl Filterable for Person {
        const ATTRIBUTES: &'static [Attribute] = &[
            Attribute { name: "id", kind: Kind::Id, operators: &[Operator::Eq] },
            Attribute { name: "name", kind: Kind::Text, operators: &[Operator::Eq, Operator::Sw, Operator::Co] },
            Attribute { name: "email", kind: Kind::Text, operators: &[Operator::Eq, Operator::Ne] },
            Attribute { name: "admin", kind: Kind::Boolean, operators: &[Operator::Eq] },
            Attribute { name: "teams", kind: Kind::Values(Team::ATTRIBUTES), operators: &[] },
        ];

        fn value(&self, attribute: &str) -> Option<Value<'_>> {
            match attribute {
                "id" => Some(Value::Id(self.id)),
                "name" => Some(Value::Text(self.name)),
                "email" => self.email.map(Value::Text),
                "admin" => Some(Value::Boolean(self.admin)),
                _ => None,
            }
        }

        fn any_value(&self, attribute: &str, filter: &Filter) -> bool {
            attribute == "teams" && self.teams.iter().any(|team| filter.matches(team))
        }
    }

    fn team(n: u128) -> Team {
        Team { id: Uuid::from_u128(100 + n), name: ["red team", "blue team", "crew"][n as usize] }
    }

    fn people() -> Vec<Person> {
        let person = |n: u128, name, email, admin, teams| Person { id: Uuid::from_u128(n), name, email, admin, teams };
        vec![
            person(1, "Ada", Some("ada@example.com"), true, vec![team(0), team(1)]),
            person(2, "Alan", None, false, vec![team(1)]),
            person(3, "Grace", Some("grace@example.com"), false, vec![team(2)]),
            person(4, "Adele", Some("adele@example.com"), false, vec![]),
        ]
    }

    fn names(filter: &str) -> Vec<&'static str> {
        let filter = Filter::parse::<Person>(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        people().into_iter().filter(|p| filter.matches(p)).map(|p| p.name).collect()
    }

    #[test]
    fn comparisons_ignore_case_and_absent_values_equal_nothing() {
        assert_eq!(names(r#"name eq "ada""#), ["Ada"]);
        assert_eq!(names(r#"NAME SW "ad""#), ["Ada", "Adele"]);
        assert_eq!(names(r#"name co "a""#), ["Ada", "Alan", "Grace", "Adele"]);
        assert_eq!(names(r#"email ne "ada@example.com""#), ["Alan", "Grace", "Adele"]);
        assert_eq!(names(r#"email eq "nobody@example.com""#), Vec::<&str>::new());
        assert_eq!(names("admin eq true"), ["Ada"]);
        assert_eq!(names(r#"id eq "00000000-0000-0000-0000-000000000003""#), ["Grace"]);
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_group() {
        assert_eq!(names(r#"name sw "A" and admin eq false or name eq "Grace""#), ["Alan", "Grace", "Adele"]);
        assert_eq!(names(r#"name sw "A" and (admin eq true or name eq "Grace")"#), ["Ada"]);
        assert_eq!(names(r#"((name eq "Alan"))"#), ["Alan"]);
    }

    #[test]
    fn a_value_path_selects_items_with_a_matching_value() {
        let red = r#""00000000-0000-0000-0000-000000000064""#;
        let blue = r#""00000000-0000-0000-0000-000000000065""#;
        assert_eq!(names(&format!("teams[id eq {red}]")), ["Ada"]);
        assert_eq!(names(&format!("teams[id eq {blue}]")), ["Ada", "Alan"]);
        assert_eq!(names(&format!("teams[id eq {blue}] and name eq \"alan\"")), ["Alan"]);
        assert_eq!(names(&format!("teams[id eq {red}] and teams[id eq {blue}]")), ["Ada"]);
        assert_eq!(names(&format!("teams[id eq {red}] or TEAMS[name ew \"CREW\"]")), ["Ada", "Grace"]);
        // Both sides of an `and` in brackets must hold for one and the same value.
        assert_eq!(names(&format!(r#"teams[id eq {red} and name eq "blue team"]"#)), Vec::<&str>::new());
        assert_eq!(names(&format!(r#"teams[(id eq {red} or name eq "crew")]"#)), ["Ada", "Grace"]);
        assert_eq!(names(&format!(r#"teams[id eq {blue}]and(admin eq false)"#)), ["Alan"]);

        let filter = Filter::parse::<Person>(&format!("admin eq true or teams[id eq {red}]")).unwrap();
        assert!(filter.reads("teams") && filter.reads("admin") && !filter.reads("name"));
        assert_eq!(filter.required_equal("id"), None, "an id inside brackets is a team's");
    }

    #[test]
    fn a_required_equality_is_found_only_where_every_match_has_it() {
        let filter = Filter::parse::<Person>(r#"admin eq true and name eq "Ada""#).unwrap();
        assert_eq!(filter.required_equal("name"), Some(&Literal::Text("Ada".into())));
        let either = Filter::parse::<Person>(r#"name eq "Ada" or admin eq true"#).unwrap();
        assert_eq!(either.required_equal("name"), None);
        let starts = Filter::parse::<Person>(r#"name sw "Ad""#).unwrap();
        assert_eq!(starts.required_equal("name"), None);
    }

    #[test]
    fn what_a_list_does_not_support_is_refused_with_what_it_does() {
        for bad in [
            "",
            r#"password eq "x""#,
            r#"id sw "0""#,
            r#"id eq "not-a-uuid""#,
            "name eq ada",
            r#"admin eq "true""#,
            r#"name eq "Ada" nor name eq "Alan""#,
            r#"(name eq "Ada""#,
            r#"name eq "Ada")"#,
            r#"name eq "unterminated"#,
            r#"name eq "x"; DROP TABLE users"#,
            r#"name eq "x\u0000""#,
            &format!("{}name eq \"x\"{}", "(".repeat(9), ")".repeat(9)),
            &vec![r#"name eq "x""#; MAX_COMPARISONS + 1].join(" or "),
            &format!(r#"name eq "{}""#, "x".repeat(MAX_FILTER_CHARS)),
            r#"teams eq "red team""#,
            r#"teams[name eq "crew""#,
            r#"teams[name eq "crew")"#,
            r#"teams[admin eq true]"#,
            r#"teams[name sw "c"]"#,
            r#"name[name eq "crew"]"#,
            r#"teams[]"#,
            r#"teams[teams[name eq "crew"]]"#,
            &format!("{}teams[name eq \"x\"]{}", "(".repeat(8), ")".repeat(8)),
            &vec![r#"teams[name eq "x"]"#; MAX_COMPARISONS + 1].join(" or "),
        ] {
            let error = Filter::parse::<Person>(bad).expect_err(bad);
            assert_eq!((error.target.as_str(), error.kind), ("filter", FieldErrorKind::InvalidFilter), "{bad}");
            let inner = error.inner.expect("an invalid filter says what is supported");
            assert_eq!(inner.supported_attributes, ["id", "name", "email", "admin", "teams"]);
            assert_eq!(inner.supported_operators, ["eq", "sw", "co", "ne", "ew"]);
            assert!(error.message.contains("teams[id (eq); name (eq, ew)]"), "{}", error.message);
        }
        // Quotes and SQL in a value are just characters of the value.
        assert_eq!(names(r#"name eq "x' OR '1'='1""#), Vec::<&str>::new());
        assert_eq!(names(r#"name eq "A \"quoted\" name" or name eq "Ada""#), ["Ada"]);
    }

    /// Runs a future that never waits (the test's fetch answers at once).
    fn now<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        match future.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("the fetch waited"),
        }
    }

    /// `count` people in id order, every third one an administrator.
    fn many(count: u128) -> Vec<Person> {
        (1..=count)
            .map(|n| Person { id: Uuid::from_u128(n), name: "x", email: None, admin: n % 3 == 0, teams: vec![] })
            .collect()
    }

    fn fetch_from(list: &[Person]) -> impl FnMut(PageRequest) -> std::future::Ready<Result<Page<Person>, ()>> + '_ {
        |request| {
            let rows =
                list.iter().filter(|p| request.after.is_none_or(|a| p.id > a)).take(request.fetch_limit() as usize);
            std::future::ready(Ok(Page::from_overfetch(rows.cloned().collect(), request)))
        }
    }

    #[test]
    fn pages_of_sparse_matches_are_full_and_say_whether_more_follow() {
        let list = many(2000);
        let admins = Filter::parse::<Person>("admin eq true").unwrap();
        let mut seen = Vec::new();
        let mut request = PageRequest::first(250);
        loop {
            let counted = now(page_matching(Some(&admins), request, fetch_from(&list), |p| p.id)).unwrap();
            assert_eq!(counted.count, 666, "every page counts the whole list's matches");
            let page = counted.page;
            assert!(page.items.iter().all(|p| p.admin));
            seen.extend(page.items.iter().map(|p| p.id));
            if !page.has_more {
                break;
            }
            assert_eq!(page.items.len(), 250);
            request = PageRequest { limit: 250, after: page.items.last().map(|p| p.id) };
        }
        assert_eq!(seen, list.iter().filter(|p| p.admin).map(|p| p.id).collect::<Vec<_>>());

        // Exactly a page of matches: no promise of more.
        let page =
            now(page_matching(Some(&admins), PageRequest::first(666), fetch_from(&list), |p| p.id)).unwrap().page;
        assert_eq!((page.items.len(), page.has_more), (666, false));

        // Without a filter, everything counts.
        let request = PageRequest { limit: 10, after: Some(list[1500].id) };
        let counted = now(page_matching(None, request, fetch_from(&list), |p| p.id)).unwrap();
        assert_eq!((counted.count, counted.page.items[0].id), (2000, list[1501].id));
    }
}
