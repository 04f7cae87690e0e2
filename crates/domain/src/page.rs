//! Keyset pagination. Lists are ordered by id (UUIDv7, so creation order); a page
//! asks for the rows after the last id the client saw.

use std::future::Future;

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

/// A page as a list answers it: the page, and `count`, how many items of the whole
/// list (not only this page, nor only after the cursor) match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedPage<T> {
    pub page: Page<T>,
    pub count: u64,
}

impl<T> CountedPage<T> {
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<CountedPage<U>, E> {
        Ok(CountedPage { page: self.page.try_map(f)?, count: self.count })
    }
}

/// Rows read per store call by a scan.
const SCAN_CHUNK: u32 = 500;

/// The page of `request` among the items `keep` selects, and their count. Reads the
/// list (`fetch`, in its keyset order) a chunk at a time from the cursor, so a page holds
/// `request.limit` selected items however sparse they are and `has_more` says whether
/// another follows. The count reads on to the list's end; after a cursor it reads the
/// list from its start instead, since keysets run in either direction. Lists that can grow long pass a
/// store's count instead when nothing needs selecting
/// ([`crate::filter::page_matching_indexed`]).
pub async fn scan<T, E, Fut>(
    request: PageRequest,
    mut fetch: impl FnMut(PageRequest) -> Fut,
    id_of: impl Fn(&T) -> Uuid,
    keep: impl Fn(&T) -> bool,
) -> Result<CountedPage<T>, E>
where
    Fut: Future<Output = Result<Page<T>, E>>,
{
    let limit = request.limit as usize;
    let chunk_limit = SCAN_CHUNK.max(request.limit);
    let mut page = Page { items: Vec::with_capacity(limit), has_more: false };
    let mut count = 0;
    read_chunks(&mut fetch, &id_of, chunk_limit, request.after, |items| {
        for item in items.into_iter().filter(|item| keep(item)) {
            count += 1;
            if page.items.len() == limit {
                page.has_more = true;
            } else {
                page.items.push(item);
            }
        }
        // After a cursor the count comes from the second read: stop at the page's end.
        request.after.is_none() || !page.has_more
    })
    .await?;
    if request.after.is_some() {
        count = 0;
        read_chunks(&mut fetch, &id_of, chunk_limit, None, |items| {
            count += items.iter().filter(|item| keep(item)).count() as u64;
            true
        })
        .await?;
    }
    Ok(CountedPage { page, count })
}

/// Reads a list from `after` a chunk at a time, handing each chunk to `take` until the
/// list ends or `take` answers false.
async fn read_chunks<T, E, Fut>(
    fetch: &mut impl FnMut(PageRequest) -> Fut,
    id_of: &impl Fn(&T) -> Uuid,
    limit: u32,
    mut after: Option<Uuid>,
    mut take: impl FnMut(Vec<T>) -> bool,
) -> Result<(), E>
where
    Fut: Future<Output = Result<Page<T>, E>>,
{
    loop {
        let chunk = fetch(PageRequest { limit, after }).await?;
        after = chunk.items.last().map(id_of);
        if !take(chunk.items) || !chunk.has_more {
            return Ok(());
        }
    }
}
