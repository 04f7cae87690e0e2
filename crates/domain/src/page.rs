//! Keyset pagination. Lists are ordered by id (UUIDv7, so creation order); a page
//! asks for the rows after the last id the client saw.

use uuid::Uuid;

/// The largest page a client may ask for.
pub const MAX_LIMIT: u32 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1 ..= MAX_LIMIT.
    pub limit: u32,
    /// Only rows whose id is greater than this one.
    pub after: Option<Uuid>,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }

    /// How many rows a store reads: one more than the page, to learn whether more exist.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// True when rows exist after the last item.
    pub has_more: bool,
}

impl<T> Page<T> {
    /// Builds a page from `fetch_limit()` rows read in order.
    pub fn from_overfetch(mut rows: Vec<T>, request: PageRequest) -> Self {
        let limit = request.limit as usize;
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        Self { items: rows, has_more }
    }

    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page { items: self.items.into_iter().map(f).collect::<Result<_, _>>()?, has_more: self.has_more })
    }
}
