//! PingOne's wire conventions in one place: timestamps, `_links`, and `_embedded`
//! collections with keyset cursors.

use std::collections::BTreeMap;

use axum::http::Uri;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::filter::{Filter, Filterable};
use domain::page::{CountedPage, MAX_LIMIT, PageRequest};
use domain::time::Timestamp;
use domain::validation::{FieldError, FieldErrorKind};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use sha2::{Digest, Sha256};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{Error, Result};

/// A page holds this many items unless the client asks for another `limit`.
pub const DEFAULT_LIMIT: u32 = 100;

pub use domain::time::format_timestamp;

pub fn timestamp<S: Serializer>(t: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_timestamp(t))
}

/// An optional timestamp field of a request body (`#[serde(default, deserialize_with =
/// "wire::optional_timestamp")]`): RFC 3339, kept to the millisecond, in the years 0001
/// to 9999 (UTC). Anything else is a 400 naming the field.
pub fn optional_timestamp<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Timestamp>, D::Error> {
    let Some(text) = Option::<String>::deserialize(deserializer)? else { return Ok(None) };
    let parsed = text
        .parse::<Timestamp>()
        .map_err(|_| serde::de::Error::custom("expected an RFC 3339 timestamp such as 2023-02-10T14:46:24.669Z"))?;
    domain::time::storable(parsed)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom("the timestamp must fall in the years 0001 to 9999 (UTC)"))
}

/// `{"id": "…"}`, how PingOne refers to a related resource.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct Ref {
    pub id: Uuid,
}

/// Builds absolute links from the configured public URL.
#[derive(Debug, Clone)]
pub struct Links {
    base: String,
}

impl Links {
    pub fn new(base: impl Into<String>) -> Self {
        Self { base: base.into() }
    }

    pub fn href(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `{"href": "<base><path>"}`.
    pub fn link(&self, path: &str) -> Link {
        Link { href: self.href(path) }
    }

    /// `_links` of the named paths, in this order.
    pub fn set<const N: usize>(&self, paths: [(&'static str, &str); N]) -> LinkSet {
        LinkSet(paths.into_iter().map(|(name, path)| (name, self.link(path))).collect())
    }

    pub fn environment(&self, environment_id: Uuid) -> String {
        format!("/v1/environments/{environment_id}")
    }
}

/// One link of `_links`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Link {
    #[schema(format = "uri")]
    pub href: String,
}

/// `_links`: named links (`self`, `next`, `environment`, …), serialised in the order
/// they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkSet(Vec<(&'static str, Link)>);

impl LinkSet {
    /// Adds (or replaces) the link `name`.
    pub fn insert(&mut self, name: &'static str, link: Link) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) => *existing = link,
            None => self.0.push((name, link)),
        }
    }

    pub fn with(mut self, name: &'static str, link: Link) -> Self {
        self.insert(name, link);
        self
    }
}

impl Serialize for LinkSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(name, link)| (name, link)))
    }
}

impl utoipa::PartialSchema for LinkSet {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::ObjectBuilder;
        ObjectBuilder::new()
            .description(Some(
                "Named links (`self`, `next`, `environment`, …), absolute URLs built from credd's public URL.",
            ))
            .additional_properties(Some(utoipa::openapi::Ref::from_schema_name("Link")))
            .into()
    }
}

impl ToSchema for LinkSet {
    fn name() -> std::borrow::Cow<'static, str> {
        "Links".into()
    }

    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        schemas.push(("Link".into(), <Link as utoipa::PartialSchema>::schema()));
    }
}

/// `limit`, `cursor` and `filter` of a list request. Each list documents `filter`
/// itself, with the attributes it supports; a parameter no list takes is refused.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// How many items a page holds (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)] // domain::page::MAX_LIMIT
    limit: Option<String>,
    /// Where the page starts: the `cursor` of the previous page's `_links.next`.
    cursor: Option<String>,
    #[param(ignore)]
    filter: Option<String>,
    /// Everything else the client sent, to refuse rather than ignore.
    #[param(ignore)]
    #[serde(flatten)]
    unsupported: BTreeMap<String, String>,
}

impl ListQuery {
    /// The page asked for on `uri`, the list's own URI, of a list that takes no filter.
    pub fn page(&self, uri: &Uri) -> Result<PageRequest> {
        self.refuse_unsupported(&["limit", "cursor"])?;
        if self.filter.is_some() {
            return Err(unsupported_parameter("filter", &["limit", "cursor"]));
        }
        self.page_request(uri)
    }

    /// The page asked for on `uri` of a list of `T`s, and its `filter` parsed against
    /// what that list supports.
    pub fn filtered_page<T: Filterable>(&self, uri: &Uri) -> Result<(PageRequest, Option<Filter>)> {
        self.refuse_unsupported(&["limit", "cursor", "filter"])?;
        Ok((self.page_request(uri)?, self.filter::<T>()?))
    }

    /// The `filter` of a list of `T`s that comes whole, in one response.
    pub fn unpaged<T: Filterable>(&self) -> Result<Option<Filter>> {
        let paging = [("limit", &self.limit), ("cursor", &self.cursor)];
        if let Some((name, _)) = paging.iter().find(|(_, value)| value.is_some()) {
            return Err(unsupported_parameter(name, &["filter"]));
        }
        self.refuse_unsupported(&["filter"])?;
        self.filter::<T>()
    }

    fn filter<T: Filterable>(&self) -> Result<Option<Filter>> {
        self.filter.as_deref().map(Filter::parse::<T>).transpose().map_err(Error::invalid)
    }

    /// A cursor must come from this same list (its path, so its environment and
    /// parent, and its `filter`).
    fn page_request(&self, uri: &Uri) -> Result<PageRequest> {
        let limit = match &self.limit {
            None => DEFAULT_LIMIT,
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => return Err(Error::invalid(FieldError::out_of_range("limit", 1, MAX_LIMIT.into()))),
            },
        };
        let after = match &self.cursor {
            None => None,
            Some(cursor) => Some(decode_cursor(cursor, &list_of(uri)).ok_or_else(|| {
                Error::bad_request("cursor", "The cursor is not one credd issued for this list and filter.")
            })?),
        };
        Ok(PageRequest { limit, after })
    }

    fn refuse_unsupported(&self, supported: &[&str]) -> Result<()> {
        match self.unsupported.keys().next() {
            Some(name) => Err(unsupported_parameter(name, supported)),
            None => Ok(()),
        }
    }
}

/// PingOne answers a parameter a list does not take as it answers a filter it cannot
/// evaluate, so a client learns what the list supports instead of getting everything.
fn unsupported_parameter(name: &str, supported: &[&str]) -> Error {
    let message =
        format!("The query parameter '{name}' is not supported on this list; supported: {}.", supported.join(", "));
    Error::invalid(FieldError::new(name, FieldErrorKind::InvalidFilter, message))
}

/// A list's identity in its cursors: a digest of its path and its `filter`, so that a
/// cursor followed on another list (another environment, user or filter) is refused
/// instead of answering a page of that list. Not a secret: a cursor grants nothing.
type ListTag = [u8; 8];

fn list_of(uri: &Uri) -> ListTag {
    let query: Vec<(String, String)> = uri.query().and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
    let filter = query.iter().find(|(k, _)| k == "filter").map_or("", |(_, v)| v.as_str());
    let digest = Sha256::new().chain_update(uri.path()).chain_update([0]).chain_update(filter).finalize();
    digest[..8].try_into().expect("a SHA-256 digest is longer than a list tag")
}

/// The id after which the next page starts, and the list it belongs to.
fn encode_cursor(after: Uuid, list: &ListTag) -> String {
    URL_SAFE_NO_PAD.encode([after.as_bytes().as_slice(), list].concat())
}

fn decode_cursor(cursor: &str, list: &ListTag) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let (after, tag) = bytes.split_at_checked(16)?;
    (tag == list).then(|| Uuid::from_slice(after).ok()).flatten()
}

/// A collection response: `_links.self`, `_links.next` when more items exist (the
/// same request with the cursor after the last item), `_embedded.<name>`, `count` (the
/// items of the whole list that match) and `size` (this page's).
/// Serialized straight from the items, without an intermediate `Value` tree: a page
/// of a thousand items costs one pass. Each list names its own type with
/// [`collection!`](crate::http::wire::collection), which documents it too.
pub struct Collection<R> {
    links: LinkSet,
    name: &'static str,
    items: Vec<R>,
    count: u64,
}

impl<R: Serialize> Serialize for Collection<R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("_links", &self.links)?;
        map.serialize_entry("_embedded", &BTreeMap::from([(self.name, &self.items)]))?;
        map.serialize_entry("count", &self.count)?;
        map.serialize_entry("size", &self.items.len())?;
        map.end()
    }
}

impl<R> Collection<R> {
    /// One page of a list, each item rendered by `render`.
    pub fn page<T>(
        links: &Links,
        uri: &Uri,
        name: &'static str,
        CountedPage { page, count }: CountedPage<T>,
        request: PageRequest,
        id_of: impl Fn(&T) -> Uuid,
        render: impl Fn(T) -> R,
    ) -> Self {
        let mut link_set = LinkSet::default().with("self", links.link(&uri.to_string()));
        if let (true, Some(last)) = (page.has_more, page.items.last()) {
            let given: Vec<(String, String)> =
                uri.query().and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
            let mut query: Vec<(String, String)> =
                given.into_iter().filter(|(k, _)| k != "cursor" && k != "limit").collect();
            query.push(("limit".into(), request.limit.to_string()));
            query.push(("cursor".into(), encode_cursor(id_of(last), &list_of(uri))));
            let query = serde_urlencoded::to_string(&query).unwrap_or_default();
            link_set.insert("next", links.link(&format!("{}?{query}", uri.path())));
        }
        Self { links: link_set, name, items: page.items.into_iter().map(render).collect(), count }
    }

    /// The list with one more link, such as an action on the whole list.
    pub fn with_link(mut self, name: &'static str, link: Link) -> Self {
        self.links.insert(name, link);
        self
    }

    /// A list that is never paged: all its items, with `_links.self` to `path`.
    pub fn all(links: &Links, path: &str, name: &'static str, items: Vec<R>) -> Self {
        let count = items.len() as u64;
        Self { links: LinkSet::default().with("self", links.link(path)), name, items, count }
    }
}

/// A list response type: `collection!(Environments, "environments", EnvironmentView)`
/// declares `Environments`, serialised as `_links`, `_embedded.environments`, `count`
/// and `size`, and documented as exactly that.
macro_rules! collection {
    ($list:ident, $embedded:literal, $item:ty) => {
        #[doc = concat!("A page of `_embedded.", $embedded, "`.")]
        #[derive(serde::Serialize)]
        #[serde(transparent)]
        struct $list($crate::http::wire::Collection<$item>);

        #[allow(dead_code, reason = "a list is either paged or whole, and not every list has more links")]
        impl $list {
            fn page<T>(
                links: &$crate::http::wire::Links,
                uri: &axum::http::Uri,
                page: domain::page::CountedPage<T>,
                request: domain::page::PageRequest,
                id_of: impl Fn(&T) -> uuid::Uuid,
                render: impl Fn(T) -> $item,
            ) -> Self {
                Self($crate::http::wire::Collection::page(links, uri, $embedded, page, request, id_of, render))
            }

            fn all(links: &$crate::http::wire::Links, path: &str, items: Vec<$item>) -> Self {
                Self($crate::http::wire::Collection::all(links, path, $embedded, items))
            }

            /// The list with one more link, such as an action on the whole list.
            fn with_link(self, name: &'static str, link: $crate::http::wire::Link) -> Self {
                Self(self.0.with_link(name, link))
            }
        }

        impl utoipa::PartialSchema for $list {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::http::wire::collection_schema($embedded, <$item as utoipa::ToSchema>::name())
            }
        }

        impl utoipa::ToSchema for $list {
            fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
                schemas.push((<$item as utoipa::ToSchema>::name().into(), <$item as utoipa::PartialSchema>::schema()));
                <$item as utoipa::ToSchema>::schemas(schemas);
                schemas.push(("Links".into(), <$crate::http::wire::LinkSet as utoipa::PartialSchema>::schema()));
                <$crate::http::wire::LinkSet as utoipa::ToSchema>::schemas(schemas);
            }
        }
    };
}
pub(crate) use collection;

pub fn collection_schema(embedded: &str, item: std::borrow::Cow<'static, str>) -> RefOr<Schema> {
    let items = ArrayBuilder::new().items(utoipa::openapi::Ref::from_schema_name(item));
    let integer = |description: &str| {
        ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)).description(Some(description))
    };
    ObjectBuilder::new()
        .property("_links", utoipa::openapi::Ref::from_schema_name("Links"))
        .required("_links")
        .property("_embedded", ObjectBuilder::new().property(embedded, items).required(embedded))
        .required("_embedded")
        .property("count", integer("How many items of the whole list match."))
        .required("count")
        .property("size", integer("How many items this page holds."))
        .required("size")
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_on_their_own_list_only() {
        let id = Uuid::now_v7();
        let uri = |text: &str| text.parse::<Uri>().unwrap();
        let users = list_of(&uri("/v1/environments/a/users?limit=2&filter=username%20eq%20%22ada%22"));
        let cursor = encode_cursor(id, &users);
        let same = uri("/v1/environments/a/users?filter=username+eq+%22ada%22&limit=5");
        assert_eq!(decode_cursor(&cursor, &list_of(&same)), Some(id), "another limit is the same list");
        for other in ["/v1/environments/b/users?filter=username%20eq%20%22ada%22", "/v1/environments/a/users"] {
            assert_eq!(decode_cursor(&cursor, &list_of(&uri(other))), None, "{other}");
        }
        assert_eq!(decode_cursor("not a cursor", &users), None);
        assert_eq!(decode_cursor("AAAA", &users), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode(id.as_bytes()), &users), None);
    }

    #[test]
    fn limit_must_be_in_range() {
        let query = |limit: &str| ListQuery { limit: Some(limit.into()), ..Default::default() };
        let uri = Uri::from_static("/v1/environments");
        assert_eq!(query("5").page(&uri).unwrap().limit, 5);
        for bad in ["0", "1001", "-1", "ten"] {
            assert!(query(bad).page(&uri).is_err(), "{bad}");
        }
    }
}
