//! PingOne's wire conventions in one place: timestamps, `_links`, and `_embedded`
//! collections with keyset cursors.

use std::collections::BTreeMap;

use axum::http::Uri;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::page::{MAX_LIMIT, Page, PageRequest};
use domain::time::Timestamp;
use domain::validation::{FieldError, FieldErrorKind};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{Error, Result};

/// A page holds this many items unless the client asks for another `limit`.
pub const DEFAULT_LIMIT: u32 = 100;

/// `2023-02-10T14:46:24.669Z`.
pub fn format_timestamp(t: &Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

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
    pub fn link(&self, path: &str) -> Value {
        json!({ "href": self.href(path) })
    }

    pub fn environment(&self, environment_id: Uuid) -> String {
        format!("/v1/environments/{environment_id}")
    }
}

/// `limit`, `cursor` and `filter` of a list request. Lists that filter document
/// `filter` themselves, with the attributes they support.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// How many items a page holds (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)] // domain::page::MAX_LIMIT
    limit: Option<String>,
    /// Where the page starts: the `cursor` of the previous page's `_links.next`.
    cursor: Option<String>,
    #[param(ignore)]
    pub filter: Option<String>,
}

impl ListQuery {
    pub fn page(&self) -> Result<PageRequest> {
        let limit = match &self.limit {
            None => DEFAULT_LIMIT,
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(Error::invalid(FieldError::new(
                        "limit",
                        FieldErrorKind::OutOfRange,
                        format!("limit must be a whole number from 1 to {MAX_LIMIT}."),
                    )));
                }
            },
        };
        let after = match &self.cursor {
            None => None,
            Some(cursor) => Some(
                decode_cursor(cursor)
                    .ok_or_else(|| Error::bad_request("cursor", "The cursor is not one credd issued."))?,
            ),
        };
        Ok(PageRequest { limit, after })
    }
}

fn encode_cursor(after: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(after.as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    Uuid::from_slice(&bytes).ok()
}

/// A collection response: `_links.self`, `_links.next` when more items exist (the
/// same request with the cursor after the last item), `_embedded.<name>`, `size`.
/// Serialized straight from the items, without an intermediate `Value` tree: a page
/// of a thousand items costs one pass.
pub struct Collection<R> {
    pub links: Map<String, Value>,
    name: &'static str,
    items: Vec<R>,
}

impl<R: Serialize> Serialize for Collection<R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("_links", &self.links)?;
        map.serialize_entry("_embedded", &BTreeMap::from([(self.name, &self.items)]))?;
        map.serialize_entry("size", &self.items.len())?;
        map.end()
    }
}

/// The collection of one page, each item rendered by `render`.
pub fn collection<T, R: Serialize>(
    links: &Links,
    uri: &Uri,
    name: &'static str,
    page: Page<T>,
    request: PageRequest,
    id_of: impl Fn(&T) -> Uuid,
    render: impl Fn(T) -> R,
) -> Collection<R> {
    let mut link_map = Map::new();
    link_map.insert("self".into(), json!({ "href": links.href(&uri.to_string()) }));
    if let (true, Some(last)) = (page.has_more, page.items.last()) {
        let given: Vec<(String, String)> =
            uri.query().and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
        let mut query: Vec<(String, String)> =
            given.into_iter().filter(|(k, _)| k != "cursor" && k != "limit").collect();
        query.push(("limit".into(), request.limit.to_string()));
        query.push(("cursor".into(), encode_cursor(id_of(last))));
        let query = serde_urlencoded::to_string(&query).unwrap_or_default();
        link_map.insert("next".into(), json!({ "href": links.href(&format!("{}?{query}", uri.path())) }));
    }
    Collection { links: link_map, name, items: page.items.into_iter().map(render).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        let t = chrono::DateTime::parse_from_rfc3339("2023-02-10T14:46:24.669+00:00").unwrap().to_utc();
        assert_eq!(format_timestamp(&t), "2023-02-10T14:46:24.669Z");
        let whole = chrono::DateTime::parse_from_rfc3339("2023-02-10T14:46:24+00:00").unwrap().to_utc();
        assert_eq!(format_timestamp(&whole), "2023-02-10T14:46:24.000Z");
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)), Some(id));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor("AAAA"), None);
    }

    #[test]
    fn limit_must_be_in_range() {
        let query = |limit: &str| ListQuery { limit: Some(limit.into()), ..Default::default() };
        assert_eq!(query("5").page().unwrap().limit, 5);
        for bad in ["0", "1001", "-1", "ten"] {
            assert!(query(bad).page().is_err(), "{bad}");
        }
    }
}
