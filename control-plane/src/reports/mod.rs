//! Daily reconciliation: after each location's close time a background job builds
//! `reconcile::daily_report` for the business day just ended and stores it, hashed and never
//! changed; managers list reports and sign each off once, over the API (`api`) or on their
//! pages (`pages`), both through the operations here.

mod api;
mod pages;

pub(crate) use api::Doc;

use crate::app::{AppError, AppResult, AppState};
use crate::reconcile::{
    daily_report, parse_close_time, DailyInputs, DayWindow, RecordedAlert, ShiftSummary,
};
use crate::store::{
    now_ms, AlertFilter, DailyReport, NewDailyReport, ReportFilter, ShiftFilter, Store, StoreError,
};
use axum::Router;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Why a report could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The location's settings or data do not make a report (bad zone, mixed currencies).
    #[error("{0}")]
    Invalid(String),
}

/// Report routes: the JSON API and the managers' pages.
pub fn router() -> Router<AppState> {
    api::router().merge(pages::router())
}

/// The business day of `location_id` that ended most recently before `now`.
pub async fn last_closed_day(
    store: &dyn Store,
    location_id: Uuid,
    now: i64,
) -> Result<DayWindow, ReportError> {
    let settings = store
        .location_settings(location_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("location {location_id}")))?;
    let zone = crate::zones::load_zone(&settings.timezone)
        .map_err(|e| ReportError::Invalid(e.to_string()))?;
    let close =
        parse_close_time(&settings.close_time).map_err(|e| ReportError::Invalid(e.to_string()))?;
    let today = DayWindow::containing(now, close, &*zone)
        .map_err(|e| ReportError::Invalid(e.to_string()))?;
    DayWindow::containing(today.start_ms - 1, close, &*zone)
        .map_err(|e| ReportError::Invalid(e.to_string()))
}

/// Load what a location's day is reconciled from.
pub async fn inputs(
    store: &dyn Store,
    location_id: Uuid,
    window: DayWindow,
) -> Result<DailyInputs, ReportError> {
    let (from, to) = (window.start_ms, window.end_ms);
    // The location's own rows only: the report runs for every location, so reading the whole
    // fleet here made a chain's nightly run grow with the square of its size.
    let location = store
        .location(location_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("location {location_id}")))?;
    let routers = store.routers_at(location_id).await?;
    let mut by_router: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for (router, token) in store.day_token_ids(location_id, from, to).await? {
        by_router.entry(router).or_default().push(token);
    }
    let mut tokens = Vec::new();
    for r in &routers {
        let ids = by_router.remove(&r.id).unwrap_or_default();
        // The router's live tokens once, then the day's by id in chunks: one query binds
        // each id, and the databases cap a query's parameters.
        let mut seen = std::collections::HashSet::new();
        let live = store.issued_tokens(r.id, &[], &[]).await?;
        tokens.extend(live.into_iter().filter(|t| seen.insert(t.token_id)));
        for chunk in ids.chunks(ISSUED_CHUNK) {
            let named = store.named_tokens(r.id, chunk, &[]).await?;
            tokens.extend(named.into_iter().filter(|t| seen.insert(t.token_id)));
        }
    }
    tokens.retain(|t| t.location_id.is_none_or(|l| l == location_id));
    let currency = tokens
        .iter()
        .find(|t| window.contains(t.issued_at))
        .map(|t| t.currency.clone())
        .or(store
            .list_packages()
            .await?
            .first()
            .map(|p| p.currency.clone()))
        .unwrap_or_default();
    let after_sales = after_sale_lines(store, location_id, from - 7 * 86_400_000, to).await?;
    // Shifts closed in the day or open at its end; a shift is at most a few days long.
    let shifts = crate::store::every_shift(
        store,
        &ShiftFilter {
            location_id: Some(location_id),
            from: Some(from - 7 * 86_400_000),
            ..Default::default()
        },
    )
    .await?;
    let shifts = shifts
        .into_iter()
        .filter(|s| s.opened_at < to && s.closed_at.is_none_or(|c| c >= from && c < to))
        .map(|s| {
            let sold: Vec<_> = tokens.iter().filter(|t| t.shift_id == Some(s.id)).collect();
            // An open shift's till: its sales, less what after-sales took out of it (refunds
            // paid from it, sales moved to a replacement that the shift also counts).
            let taken_out = checked_sum(
                after_sales
                    .iter()
                    .filter(|(_, shift)| *shift == Some(s.id))
                    .map(|(l, _)| l.refund_minor.checked_add(l.moved_minor)),
            )?;
            let from_tokens = checked_sum(sold.iter().map(|t| Some(t.price_minor)))?
                .checked_sub(taken_out)
                .ok_or_else(overflow)?;
            Ok(ShiftSummary {
                shift_id: s.id,
                staff_id: s.staff_id,
                opened_at: s.opened_at,
                closed_at: s.closed_at,
                opening_float_minor: s.opening_float_minor,
                expected_revenue_minor: s
                    .expected_cash_minor
                    .map_or(from_tokens, |e| e.saturating_sub(s.opening_float_minor)),
                tokens_sold: sold.len() as u64,
                declared_cash_minor: s.declared_cash_minor,
            })
        })
        .collect::<Result<_, ReportError>>()?;
    let alerts = crate::store::every_alert(
        store,
        &AlertFilter {
            location_id: Some(location_id),
            from: Some(from),
            to: Some(to),
            ..Default::default()
        },
    )
    .await?
    .into_iter()
    .map(|a| RecordedAlert {
        raised_at: a.created_at,
        kind: a.kind,
        severity: a.severity,
        agent_id: a.agent_id,
        token_id: a.token_id,
        staff_id: a.staff_id,
        dedup_key: a.dedup_key,
        summary: a.summary,
    })
    .collect();
    Ok(DailyInputs {
        location_id,
        location_name: location.name,
        currency,
        agent_ids: routers.iter().map(|r| r.agent_id.clone()).collect(),
        tokens,
        usage: store.usage_samples(location_id, from, to).await?,
        shifts,
        alerts,
        window,
        after_sales: after_sales.into_iter().map(|(l, _)| l).collect(),
    })
}

/// Ids per `issued_tokens` query: well under both databases' cap on a query's parameters.
const ISSUED_CHUNK: usize = 1000;

fn overflow() -> ReportError {
    ReportError::Invalid("a money sum does not fit 64 bits".into())
}

/// The sum of `amounts` (`None`: an amount that itself overflowed), or an error past `i64`:
/// a report's money is never a wrapped or clamped figure.
fn checked_sum(amounts: impl IntoIterator<Item = Option<i64>>) -> Result<i64, ReportError> {
    amounts.into_iter().try_fold(0i64, |acc, a| {
        a.and_then(|a| acc.checked_add(a)).ok_or_else(overflow)
    })
}

/// A location's after-sales asked between `from` and `to`, each with the shift its money
/// left (the refund's till, or the replaced voucher's shift).
async fn after_sale_lines(
    store: &dyn Store,
    location_id: Uuid,
    from: i64,
    to: i64,
) -> Result<Vec<(crate::reconcile::AfterSaleLine, Option<Uuid>)>, ReportError> {
    let sales = crate::store::every_after_sale(
        store,
        &crate::store::AfterSaleFilter {
            location_id: Some(location_id),
            from: Some(from),
            to: Some(to),
            ..Default::default()
        },
    )
    .await?;
    let mut lines = Vec::with_capacity(sales.len());
    for a in sales {
        let done = a.state == crate::store::AfterSaleState::Done;
        let replaced = done && a.kind == crate::store::AfterSaleKind::Replace;
        let token = if replaced {
            store.token(a.token_id).await?
        } else {
            None
        };
        let shift = match &token {
            Some(t) => t.shift_id,
            None => a.shift_id,
        };
        lines.push((
            crate::reconcile::AfterSaleLine {
                at: a.created_at,
                kind: a.kind.as_str().to_owned(),
                state: a.state.as_str().to_owned(),
                token_id: a.token_id,
                code: a.code,
                refund_minor: if done { a.refund_minor } else { 0 },
                moved_minor: token.map_or(0, |t| t.price_minor),
                by: a.requested_by_name,
                reason: a.reason,
            },
            shift,
        ));
    }
    Ok(lines)
}

/// Build and store the report of `location_id`'s day `window`; `Conflict` if it exists.
pub async fn store_report(
    store: &dyn Store,
    location_id: Uuid,
    window: DayWindow,
) -> Result<DailyReport, ReportError> {
    store_report_with(store, location_id, window, &[]).await
}

/// [`store_report`], the report carrying `checkpoints` (inside what its hash covers).
pub async fn store_report_with(
    store: &dyn Store,
    location_id: Uuid,
    window: DayWindow,
    checkpoints: &[mtm_common::Checkpoint],
) -> Result<DailyReport, ReportError> {
    let inputs = inputs(store, location_id, window.clone()).await?;
    let mut report = daily_report(&inputs).map_err(|e| ReportError::Invalid(e.to_string()))?;
    report.body.checkpoints = checkpoints.to_vec();
    let body = crate::reconcile::ReconciliationReport::canonical_json(&report.body)
        .map_err(|e| ReportError::Invalid(e.to_string()))?;
    let body_json = String::from_utf8(body).map_err(|e| ReportError::Invalid(e.to_string()))?;
    let new = NewDailyReport {
        location_id,
        business_date: window.date.clone(),
        window_start_ms: window.start_ms,
        window_end_ms: window.end_ms,
        content_sha256: hex::encode(Sha256::digest(body_json.as_bytes())),
        body_json,
    };
    Ok(store.insert_daily_report(&new, now_ms()).await?)
}

/// Store the report of every location whose last closed day has none yet. Returns how many
/// were stored; a location that fails is logged and tried again next time.
pub async fn run_due(store: &dyn Store, now: i64) -> Result<usize, ReportError> {
    run_due_witnessed(store, now, None).await
}

/// [`run_due`]; with `witnessing`, chain checkpoints are taken (and handed to the witnesses)
/// once before the first report is stored, and every report stored carries them.
pub async fn run_due_witnessed(
    store: &dyn Store,
    now: i64,
    witnessing: Option<&crate::witness::Witnessing>,
) -> Result<usize, ReportError> {
    let mut stored = 0;
    let mut checkpoints: Option<Vec<mtm_common::Checkpoint>> = None;
    for location in store.list_locations().await? {
        let window = match last_closed_day(store, location.id, now).await {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(location = %location.id, error = %e, "no daily report");
                continue;
            }
        };
        let filter = ReportFilter {
            location_id: Some(location.id),
            date: Some(window.date.clone()),
            ..Default::default()
        };
        if !store.daily_reports(&filter).await?.is_empty() {
            continue;
        }
        if checkpoints.is_none() {
            let taken = match witnessing {
                Some(w) => w.take(store).await.unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "no chain checkpoints for the daily reports");
                    Vec::new()
                }),
                None => Vec::new(),
            };
            checkpoints = Some(taken);
        }
        let carried = checkpoints.as_deref().unwrap_or_default();
        match store_report_with(store, location.id, window, carried).await {
            Ok(r) => {
                tracing::info!(location = %location.id, date = %r.business_date, "daily report stored");
                stored += 1;
            }
            // Another replica stored it first.
            Err(ReportError::Store(StoreError::Conflict(_))) => {}
            Err(e) => tracing::error!(location = %location.id, error = %e, "daily report failed"),
        }
    }
    Ok(stored)
}

/// Run [`run_due_witnessed`] every `every`, forever.
pub async fn report_loop(
    store: Arc<dyn Store>,
    every: Duration,
    witnessing: Option<Arc<crate::witness::Witnessing>>,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(e) = run_due_witnessed(&*store, now_ms(), witnessing.as_deref()).await {
            tracing::warn!(error = %e, "daily report run failed");
        }
    }
}

/// The reports `filter` picks, newest day first; `filter.date`, when given, must be a date.
pub(crate) async fn list_reports(
    store: &dyn Store,
    filter: &ReportFilter,
) -> AppResult<Vec<DailyReport>> {
    if let Some(d) = &filter.date {
        crate::reconcile::parse_date(d).map_err(|_| {
            AppError::Refused(crate::refusal::Refusal::new("err-date").arg("date", d))
        })?;
    }
    Ok(store.daily_reports(filter).await?)
}

/// Report `id`.
pub(crate) async fn find_report(store: &dyn Store, id: Uuid) -> AppResult<DailyReport> {
    store
        .daily_reports(&ReportFilter::default())
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(AppError::NotFound)
}

/// Sign report `id` off as `by` with `note` (once; the store audits it).
pub(crate) async fn sign_off(
    store: &dyn Store,
    id: Uuid,
    note: &str,
    by: &str,
) -> AppResult<DailyReport> {
    Ok(store.sign_off_report(id, note, by, now_ms()).await?)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tests_daily;
