//! One location's or one staff member's day for managers: figures, cash variance, charts of
//! vouchers and traffic per hour, staff, shifts and vouchers, each table exportable as CSV.

use super::pages::tokens_since;
use super::stats::{self, add_shift_figures, add_token_figures, LocationSummary, Names};
use crate::alerts::AlertRow;
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{Auth, ManagerUp};
use crate::shifts::OpenShift;
use crate::store::{
    every_shift, now_ms, Cursor, FigureFilter, Shift, ShiftFilter, Token, TokenFilter,
};
use crate::web::render;
use crate::web::Page;
use crate::web::{csv_response, start_of_today};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The detail pages' routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/manager/locations/{id}", get(location))
        .route("/manager/staff/{id}", get(staff))
}

/// Query of a detail page.
#[derive(Debug, Deserialize, Default)]
pub struct DetailQuery {
    /// `csv` for a download.
    pub format: Option<String>,
    /// Which table to export: `vouchers` (default), `staff` or `shifts`.
    pub table: Option<String>,
    /// Vouchers to skip in the table: the page shown.
    pub offset: Option<u32>,
}

fn token_csv_row(t: &Token, names: &Names) -> Vec<String> {
    vec![
        t.created_at.to_string(),
        t.code.clone(),
        t.package_slug.clone(),
        names.get(&t.staff_id).cloned().unwrap_or_default(),
        t.price_minor.to_string(),
        t.currency.clone(),
        t.state.as_str().to_string(),
        t.uptime_s.to_string(),
        t.bytes_in.to_string(),
        t.bytes_out.to_string(),
    ]
}

/// Every voucher matching `filter`, streamed page by page as CSV.
fn token_csv(state: &AppState, filter: TokenFilter, names: Names) -> Response {
    let store = state.store.clone();
    let rows = crate::web::csv::pages(move |cursor| {
        let (store, filter, names) = (store.clone(), filter.clone(), names.clone());
        async move {
            let page = store
                .tokens_after(&filter, cursor, crate::web::csv::EXPORT_PAGE)
                .await?;
            let next = page.last().map(|t| Cursor {
                created_at: t.created_at,
                id: t.id,
            });
            Ok((
                page.iter().map(|t| token_csv_row(t, &names)).collect(),
                next,
            ))
        }
    });
    crate::web::csv::csv_stream("vouchers", TOKEN_HEAD, rows)
}

const STAFF_HEAD: &[&str] = &[
    "staff",
    "issued",
    "used",
    "expected_minor",
    "confirmed_minor",
    "variance_minor",
];

fn staff_csv(per_staff: &[StaffLine]) -> Vec<Vec<String>> {
    per_staff
        .iter()
        .map(|line| {
            let f = &line.figures;
            vec![
                line.name.clone(),
                f.issued.to_string(),
                f.used.to_string(),
                f.expected_minor.to_string(),
                f.confirmed_minor.to_string(),
                f.variance_minor.to_string(),
            ]
        })
        .collect()
}

const SHIFT_HEAD: &[&str] = &[
    "staff",
    "opened_at_ms",
    "closed_at_ms",
    "opening_float_minor",
    "expected_cash_minor",
    "declared_cash_minor",
    "variance_minor",
];

fn shift_csv(rows: &[ShiftLine]) -> Vec<Vec<String>> {
    let n = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    rows.iter()
        .map(|line| {
            let x = line.shift;
            vec![
                line.staff.clone(),
                x.opened_at.to_string(),
                n(x.closed_at),
                x.opening_float_minor.to_string(),
                n(x.expected_cash_minor),
                n(x.declared_cash_minor),
                n(x.variance_minor),
            ]
        })
        .collect()
}

const TOKEN_HEAD: &[&str] = &[
    "created_at_ms",
    "code",
    "package",
    "staff",
    "price_minor",
    "currency",
    "state",
    "uptime_s",
    "bytes_in",
    "bytes_out",
];

/// One staff member's figures for the day.
#[derive(Debug, Serialize)]
struct StaffLine {
    id: Uuid,
    name: String,
    figures: LocationSummary,
}

/// One shift of the day, with its staff member's name.
#[derive(Debug, Serialize)]
struct ShiftLine<'a> {
    shift: &'a Shift,
    staff: String,
}

/// One voucher of the table: who sold it, its state's message key and its traffic in MB.
#[derive(Debug, Serialize)]
struct TokenLine<'a> {
    token: &'a Token,
    staff: Option<&'a String>,
    state_key: &'static str,
    mb: String,
}

/// A location's or a staff member's day.
#[derive(Debug, Serialize)]
struct DetailView<'a> {
    title: String,
    total: LocationSummary,
    per_staff: Vec<StaffLine>,
    tokens: Vec<TokenLine<'a>>,
    tokens_total: u64,
    first: u64,
    last: u64,
    next: Option<String>,
    previous: Option<String>,
    charts: [stats::Chart; 2],
    currency: String,
    shifts: Vec<ShiftLine<'a>>,
    open_shifts: Vec<OpenShift>,
    staff_alerts: Option<Vec<AlertRow>>,
}

/// Vouchers per page of the table; the next link shows the following ones, the CSV has all.
const TOKENS_PER_PAGE: u32 = 100;

/// One location's or one staff member's day: figures, charts, per-staff rows and vouchers.
async fn detail(
    state: &AppState,
    cur: &crate::auth::CurrentUser,
    title: String,
    filter: TokenFilter,
    q: &DetailQuery,
    alerts: Option<Vec<AlertRow>>,
) -> AppResult<Response> {
    let day = start_of_today(now_ms());
    let (filter_location, filter_staff) = (filter.location_id, filter.staff_id);
    let filter = TokenFilter {
        from: Some(day),
        ..filter
    };
    let names: Names = super::usernames(state).await?;
    if q.format.as_deref() == Some("csv") && !matches!(q.table.as_deref(), Some("shifts" | "staff"))
    {
        return Ok(token_csv(state, filter, names));
    }
    // The figures are counted and summed by the database: exact however busy the day.
    let figures = FigureFilter {
        location_id: filter_location,
        staff_id: filter_staff,
        from: day,
        to: None,
    };
    let token_figures = state.store.token_figures(&figures).await?;
    let shift_figures = state.store.shift_figures(&figures).await?;
    let mut total = LocationSummary::default();
    let mut staff_ids: Vec<Uuid> = token_figures.iter().map(|f| f.staff_id).collect();
    staff_ids.sort();
    staff_ids.dedup();
    let mut per_staff: Vec<StaffLine> = Vec::new();
    for id in staff_ids {
        let mut s = LocationSummary::default();
        for f in token_figures.iter().filter(|f| f.staff_id == id) {
            add_token_figures(&mut s, f)?;
            add_token_figures(&mut total, f)?;
        }
        for f in shift_figures.iter().filter(|f| f.staff_id == id) {
            add_shift_figures(&mut s, f)?;
        }
        let name = names.get(&id).cloned().unwrap_or_else(|| id.to_string());
        per_staff.push(StaffLine {
            id,
            name,
            figures: s,
        });
    }
    per_staff.sort_by(|a, b| a.name.cmp(&b.name));
    for f in &shift_figures {
        add_shift_figures(&mut total, f)?;
    }
    let shifts = every_shift(
        &*state.store,
        &ShiftFilter {
            location_id: filter_location,
            staff_id: filter_staff,
            from: Some(day),
            ..Default::default()
        },
    )
    .await?;
    let shift_rows: Vec<ShiftLine> = shifts
        .iter()
        .map(|x| ShiftLine {
            shift: x,
            staff: names.get(&x.staff_id).cloned().unwrap_or_default(),
        })
        .collect();
    if q.format.as_deref() == Some("csv") {
        return Ok(match q.table.as_deref() {
            Some("shifts") => csv_response("shifts", SHIFT_HEAD, &shift_csv(&shift_rows)),
            _ => csv_response("staff", STAFF_HEAD, &staff_csv(&per_staff)),
        });
    }
    let (issued_chart, traffic_chart) =
        stats::hourly(&tokens_since(state, filter.clone()).await?, day);
    let offset = q.offset.unwrap_or(0);
    let page = state
        .store
        .list_tokens(&TokenFilter {
            limit: Some(TOKENS_PER_PAGE),
            offset: Some(offset),
            ..filter
        })
        .await?;
    let rows: Vec<TokenLine> = page
        .items
        .iter()
        .map(|t| TokenLine {
            token: t,
            staff: names.get(&t.staff_id),
            state_key: stats::state_key(t),
            mb: format!("{:.1}", (t.bytes_in + t.bytes_out) as f64 / 1e6),
        })
        .collect();
    let shown = u64::try_from(rows.len()).unwrap_or(u64::MAX);
    let end = u64::from(offset).saturating_add(shown);
    let next =
        (end < page.total).then(|| format!("?offset={}", offset.saturating_add(TOKENS_PER_PAGE)));
    let previous =
        (offset > 0).then(|| format!("?offset={}", offset.saturating_sub(TOKENS_PER_PAGE)));
    let open = crate::shifts::open_shifts(state, filter_location, filter_staff).await?;
    let currency = page
        .items
        .first()
        .map(|t| t.currency.clone())
        .unwrap_or_default();
    let view = DetailView {
        title,
        total,
        per_staff,
        tokens: rows,
        tokens_total: page.total,
        first: if shown == 0 { 0 } else { u64::from(offset) + 1 },
        last: end,
        next,
        previous,
        charts: [issued_chart, traffic_chart],
        currency,
        shifts: shift_rows,
        open_shifts: open,
        staff_alerts: alerts,
    };
    Ok(render("manager_detail.html", &Page::of(cur), view)?.into_response())
}

async fn location(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    Query(q): Query<DetailQuery>,
) -> AppResult<Response> {
    let l = state
        .store
        .list_locations()
        .await?
        .into_iter()
        .find(|l| l.id == id)
        .ok_or(AppError::NotFound)?;
    let filter = TokenFilter {
        location_id: Some(id),
        ..Default::default()
    };
    detail(&state, &cur, l.name, filter, &q, None).await
}

async fn staff(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    Query(q): Query<DetailQuery>,
) -> AppResult<Response> {
    let u = state.store.user(id).await?.ok_or(AppError::NotFound)?;
    let filter = TokenFilter {
        staff_id: Some(id),
        ..Default::default()
    };
    let alerts = staff_alerts(&state, id).await?;
    detail(&state, &cur, u.username, filter, &q, Some(alerts)).await
}

/// Every alert pointing at a staff member, newest first, as the alert templates show them.
async fn staff_alerts(state: &AppState, staff_id: Uuid) -> AppResult<Vec<AlertRow>> {
    let list = crate::alerts::pointing_at(&*state.store, staff_id).await?;
    let users = super::usernames(state).await?;
    Ok(list
        .into_iter()
        .map(|a| AlertRow::of(a, String::new(), &users))
        .collect())
}
