//! One location's or one staff member's day for managers: figures, cash variance, charts of
//! vouchers and traffic per hour, staff, shifts and vouchers, each table exportable as CSV.

use super::manager::tokens_since;
use super::stats::{self, add_shift_figures, add_token_figures, LocationSummary, Names};
use crate::alerts::AlertRow;
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{Auth, ManagerUp};
use crate::store::{every_shift, now_ms, Cursor, FigureFilter, ShiftFilter, Token, TokenFilter};
use crate::web::render;
use crate::web::Page;
use crate::web::{csv_response, start_of_today};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use uuid::Uuid;

/// Detail routes.
pub fn router() -> Router<AppState> {
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

fn staff_csv(per_staff: &[serde_json::Value]) -> Vec<Vec<String>> {
    per_staff
        .iter()
        .map(|r| {
            let s = &r["s"];
            let n = |k: &str| s[k].as_i64().unwrap_or(0).to_string();
            vec![
                r["name"].as_str().unwrap_or_default().to_owned(),
                n("issued"),
                n("used"),
                n("expected_minor"),
                n("confirmed_minor"),
                n("variance_minor"),
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

fn shift_csv(rows: &[serde_json::Value]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            let x = &r["x"];
            let n = |k: &str| x[k].as_i64().map(|v| v.to_string()).unwrap_or_default();
            vec![
                r["staff"].as_str().unwrap_or_default().to_owned(),
                n("opened_at"),
                n("closed_at"),
                n("opening_float_minor"),
                n("expected_cash_minor"),
                n("declared_cash_minor"),
                n("variance_minor"),
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
    let names: Names = super::manager::usernames(state).await?;
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
    let mut per_staff: Vec<serde_json::Value> = Vec::new();
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
        per_staff.push(serde_json::json!({"id": id, "name": name, "s": s}));
    }
    per_staff.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
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
    let shift_rows: Vec<serde_json::Value> = shifts
        .iter()
        .map(|x| {
            let who = names.get(&x.staff_id).cloned().unwrap_or_default();
            serde_json::json!({"x": x, "staff": who})
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
    let rows: Vec<serde_json::Value> = page
        .items
        .iter()
        .map(|t| {
            serde_json::json!({
                "t": t, "staff": names.get(&t.staff_id), "state_word": stats::state_word(t), "state_key": stats::state_key(t),
                "mb": format!("{:.1}", (t.bytes_in + t.bytes_out) as f64 / 1e6),
            })
        })
        .collect();
    let shown = u64::try_from(rows.len()).unwrap_or(u64::MAX);
    let end = u64::from(offset).saturating_add(shown);
    let next =
        (end < page.total).then(|| format!("?offset={}", offset.saturating_add(TOKENS_PER_PAGE)));
    let previous =
        (offset > 0).then(|| format!("?offset={}", offset.saturating_sub(TOKENS_PER_PAGE)));
    let open = super::manager_shifts::open_shifts(state, filter_location, filter_staff).await?;
    let currency = page
        .items
        .first()
        .map(|t| t.currency.clone())
        .unwrap_or_default();
    Ok(render(
        "manager_detail.html",
        &Page::of(cur),
        serde_json::json!({
            "title": title, "total": total, "per_staff": per_staff, "tokens": rows,
            "tokens_total": page.total, "first": if shown == 0 { 0 } else { u64::from(offset) + 1 },
            "last": end, "next": next, "previous": previous,
            "charts": [issued_chart, traffic_chart], "currency": currency,
            "shifts": shift_rows, "open_shifts": open, "staff_alerts": alerts,
        }),
    )?
    .into_response())
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
    let users = super::manager::usernames(state).await?;
    Ok(list
        .into_iter()
        .map(|a| AlertRow::of(a, String::new(), &users))
        .collect())
}
