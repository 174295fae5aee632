//! Every row that matches a filter, for figures that must be exact at any size (dashboards,
//! exports, the daily report's inputs). The list queries serve pages and cap a page at 500 rows;
//! these read page after page until none is left, so a busy day is never silently cut short.

use super::{
    AfterSale, AfterSaleFilter, Alert, AlertFilter, Cursor, Shift, ShiftFilter, Store, StoreResult,
    Token, TokenFilter,
};
use std::collections::HashSet;
use std::future::Future;
use uuid::Uuid;

/// Rows read per query: the list queries' own cap.
const PAGE: u32 = 500;

/// Every token matching `filter` (its `limit` and `offset` are ignored), newest first.
pub async fn every_token(store: &dyn Store, filter: &TokenFilter) -> StoreResult<Vec<Token>> {
    let filter = TokenFilter {
        limit: Some(PAGE),
        ..filter.clone()
    };
    every(
        |offset| {
            let f = TokenFilter {
                offset: Some(offset),
                ..filter.clone()
            };
            async move { Ok(store.list_tokens(&f).await?.items) }
        },
        |t: &Token| t.id,
    )
    .await
}

/// Every alert matching `filter` (its `limit` and `offset` are ignored), newest first, read
/// page by page after the last row seen: a location's day of alerts is one index range however
/// many came before it.
pub async fn every_alert(store: &dyn Store, filter: &AlertFilter) -> StoreResult<Vec<Alert>> {
    let mut all: Vec<Alert> = Vec::new();
    loop {
        let cursor = all.last().map(|a| Cursor {
            created_at: a.created_at,
            id: a.id,
        });
        let page = store.alerts_after(filter, cursor, PAGE).await?;
        let last = page.len() < PAGE as usize;
        all.extend(page);
        if last {
            return Ok(all);
        }
    }
}

/// Every shift matching `filter` (its `limit` and `offset` are ignored), newest first.
pub async fn every_shift(store: &dyn Store, filter: &ShiftFilter) -> StoreResult<Vec<Shift>> {
    every(
        |offset| {
            let f = ShiftFilter {
                limit: Some(PAGE),
                offset: Some(offset),
                ..filter.clone()
            };
            async move { store.list_shifts(&f).await }
        },
        |s: &Shift| s.id,
    )
    .await
}

/// Every after-sale matching `filter` (its `limit` and `offset` are ignored), newest first.
pub async fn every_after_sale(
    store: &dyn Store,
    filter: &AfterSaleFilter,
) -> StoreResult<Vec<AfterSale>> {
    every(
        |offset| {
            let f = AfterSaleFilter {
                limit: Some(PAGE),
                offset: Some(offset),
                ..filter.clone()
            };
            async move { store.list_after_sales(&f).await }
        },
        |a: &AfterSale| a.id,
    )
    .await
}

/// Read pages of [`PAGE`] rows from `fetch(offset)` until a short one. Rows added while paging
/// (newest first) push later pages down by one row; the repeats this causes are dropped by id,
/// and nothing is ever deleted, so no row is missed.
async fn every<T, F, Fut>(mut fetch: F, id: impl Fn(&T) -> Uuid) -> StoreResult<Vec<T>>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = StoreResult<Vec<T>>>,
{
    let mut seen = HashSet::new();
    let mut all = Vec::new();
    let mut offset = 0u32;
    loop {
        let page = fetch(offset).await?;
        let last = page.len() < PAGE as usize;
        all.extend(page.into_iter().filter(|row| seen.insert(id(row))));
        if last {
            return Ok(all);
        }
        match offset.checked_add(PAGE) {
            Some(next) => offset = next,
            None => return Ok(all),
        }
    }
}
