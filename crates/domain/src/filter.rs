//! SCIM filters (RFC 7644 §3.4.2.2) as PingOne takes them on lists: comparisons joined by
//! `and` and `or`, grouped with parentheses. Each list names the attributes it filters on
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
}

/// One attribute a list filters on, with the operators it takes.
#[derive(Debug, Clone, Copy)]
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
        let mut parser = Parser { tokens: Tokens { rest: text }, attributes: T::ATTRIBUTES, comparisons: 0 };
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
            Filter::And(left, right) => left.matches(item) && right.matches(item),
            Filter::Or(left, right) => left.matches(item) || right.matches(item),
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
            Filter::Compare(_) | Filter::Or(..) => None,
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
    for attribute in supported {
        for operator in attribute.operators {
            if !operators.contains(&operator.as_str()) {
                operators.push(operator.as_str());
            }
        }
    }
    let described = supported
        .iter()
        .map(|a| format!("{} ({})", a.name, a.operators.iter().map(|o| o.as_str()).collect::<Vec<_>>().join(", ")))
        .collect::<Vec<_>>()
        .join("; ");
    let message = if described.is_empty() {
        format!("{} This list supports no filter.", message.into())
    } else {
        format!("{} Supported: {described}; joined by and, or and parentheses.", message.into())
    };
    FieldError::invalid_filter(message, attributes, operators.into_iter().map(str::to_owned).collect())
}

struct Parser<'a> {
    tokens: Tokens<'a>,
    attributes: &'static [Attribute],
    comparisons: usize,
}

impl Parser<'_> {
    fn refuse(&self, message: impl Into<String>) -> FieldError {
        refused(self.attributes, message)
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

    /// `"(" disjunction ")" | attribute operator literal`
    fn operand(&mut self, depth: usize) -> Result<Filter, FieldError> {
        let token = self.tokens.next().map_err(|m| self.refuse(m))?;
        match token {
            Some(Token::Open) => {
                if depth == MAX_DEPTH {
                    return Err(self.refuse(format!("Parentheses may nest at most {MAX_DEPTH} deep.")));
                }
                let inner = self.disjunction(depth + 1)?;
                match self.tokens.next().map_err(|m| self.refuse(m))? {
                    Some(Token::Close) => Ok(inner),
                    _ => Err(self.refuse("Expected ')'.")),
                }
            }
            Some(Token::Word(name)) => self.comparison(name).map(Filter::Compare),
            Some(other) => Err(self.refuse(format!("Expected an attribute name but found {other}."))),
            None => Err(self.refuse("Expected an attribute name.")),
        }
    }

    fn comparison(&mut self, name: &str) -> Result<Comparison, FieldError> {
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return Err(self.refuse(format!("A filter may hold at most {MAX_COMPARISONS} comparisons.")));
        }
        let Some(attribute) = self.attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name)) else {
            return Err(self.refuse(format!("Filtering on '{name}' is not supported.")));
        };
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
            _ => return Err(self.refuse(format!("'{}' takes a value in double quotes.", attribute.name))),
        };
        Ok(Comparison { attribute: attribute.name, operator, literal })
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Open,
    Close,
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
            '(' | ')' => {
                self.rest = &self.rest[1..];
                Ok(Some(if first == '(' { Token::Open } else { Token::Close }))
            }
            '"' => self.quoted().map(|text| Some(Token::Text(text))),
            _ => {
                let end = self.rest.find(|c: char| c.is_whitespace() || "()\"".contains(c)).unwrap_or(self.rest.len());
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

    /// A list of people for the tests.
    #[derive(Debug, Clone, PartialEq)]
    struct Person {
        id: Uuid,
        name: &'static str,
        email: Option<&'static str>,
        admin: bool,
    }

    impl Filterable for Person {
        const ATTRIBUTES: &'static [Attribute] = &[
            Attribute { name: "id", kind: Kind::Id, operators: &[Operator::Eq] },
            Attribute { name: "name", kind: Kind::Text, operators: &[Operator::Eq, Operator::Sw, Operator::Co] },
            Attribute { name: "email", kind: Kind::Text, operators: &[Operator::Eq, Operator::Ne] },
            Attribute { name: "admin", kind: Kind::Boolean, operators: &[Operator::Eq] },
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
    }

    fn people() -> Vec<Person> {
        let person = |n: u128, name, email, admin| Person { id: Uuid::from_u128(n), name, email, admin };
        vec![
            person(1, "Ada", Some("ada@example.com"), true),
            person(2, "Alan", None, false),
            person(3, "Grace", Some("grace@example.com"), false),
            person(4, "Adele", Some("adele@example.com"), false),
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
        ] {
            let error = Filter::parse::<Person>(bad).expect_err(bad);
            assert_eq!((error.target.as_str(), error.kind), ("filter", FieldErrorKind::InvalidFilter), "{bad}");
            let inner = error.inner.expect("an invalid filter says what is supported");
            assert_eq!(inner.supported_attributes, ["id", "name", "email", "admin"]);
            assert_eq!(inner.supported_operators, ["eq", "sw", "co", "ne"]);
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
        (1..=count).map(|n| Person { id: Uuid::from_u128(n), name: "x", email: None, admin: n % 3 == 0 }).collect()
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
