//! Manager pages: the live overview of all locations, one location or staff member in detail
//! (vouchers, revenue, charts), and alerts with acknowledge/resolve.

use super::stats::{
    add_routers, add_shift_figures, add_summary, add_token_figures, LocationSummary,
};
use super::{csv_response, start_of_today, Format};
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{Auth, ManagerUp};
use crate::store::{
    every_token, now_ms, Alert, AlertFilter, AlertState, Cursor, FigureFilter, StoreError, Token,
    TokenFilter,
};
use crate::web::render;
use crate::web::Page;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

/// Manager routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/manager", get(overview))
        .route("/manager/live", get(live))
        .route("/manager/alerts", get(alerts))
        .route("/manager/alerts/{id}", post(alert_action))
}

/// Alerts per page of the alerts list; the next link shows the following ones, the CSV export
/// has every one.
const ALERTS_PER_PAGE: u32 = 100;

/// Every token matching `filter`: the figures must be exact however busy the day.
pub(super) async fn tokens_since(state: &AppState, filter: TokenFilter) -> AppResult<Vec<Token>> {
    Ok(every_token(&*state.store, &filter).await?)
}

/// Each location's figures for today, counted and summed by the database (exact at any size,
/// and without reading the day's vouchers).
async fn summaries(state: &AppState) -> AppResult<Vec<LocationSummary>> {
    let now = now_ms();
    let routers = state.store.list_routers().await?;
    let day = FigureFilter {
        from: start_of_today(now),
        ..Default::default()
    };
    let tokens = state.store.token_figures(&day).await?;
    let shifts = state.store.shift_figures(&day).await?;
    let open_alerts: HashMap<Option<Uuid>, u64> = state
        .store
        .alert_counts(&AlertFilter {
            state: Some(AlertState::Open),
            ..Default::default()
        })
        .await?
        .into_iter()
        .collect();
    let mut out = Vec::new();
    for l in state.store.list_locations().await? {
        let mut s = LocationSummary {
            id: l.id,
            name: l.name,
            open_alerts: open_alerts.get(&Some(l.id)).copied().unwrap_or(0),
            ..Default::default()
        };
        add_routers(&mut s, &routers);
        for f in tokens.iter().filter(|f| f.location_id == l.id) {
            add_token_figures(&mut s, f)?;
        }
        for f in shifts.iter().filter(|f| f.location_id == l.id) {
            add_shift_figures(&mut s, f)?;
        }
        out.push(s);
    }
    Ok(out)
}

fn summary_rows(list: &[LocationSummary]) -> Vec<Vec<String>> {
    list.iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.routers_online.to_string(),
                s.routers_offline.to_string(),
                s.active_users.to_string(),
                s.issued.to_string(),
                s.used.to_string(),
                s.unused.to_string(),
                s.expected_minor.to_string(),
                s.confirmed_minor.to_string(),
                s.open_alerts.to_string(),
                s.variance_minor.to_string(),
            ]
        })
        .collect()
}

const SUMMARY_HEAD: &[&str] = &[
    "location",
    "routers_online",
    "routers_offline",
    "active_users",
    "issued_today",
    "used",
    "unused",
    "expected_minor",
    "confirmed_minor",
    "open_alerts",
    "variance_minor",
];

async fn overview(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Query(f): Query<Format>,
) -> AppResult<Response> {
    let list = summaries(&state).await?;
    if f.csv() {
        return Ok(csv_response("overview", SUMMARY_HEAD, &summary_rows(&list)));
    }
    let ctx = live_ctx(&state, list).await?;
    Ok(render("manager_overview.html", &Page::of(&cur), ctx)?.into_response())
}

async fn live_ctx(state: &AppState, list: Vec<LocationSummary>) -> AppResult<serde_json::Value> {
    let currency = state
        .store
        .list_packages()
        .await?
        .first()
        .map(|p| p.currency.clone())
        .unwrap_or_default();
    let mut total = LocationSummary::default();
    for s in &list {
        add_summary(&mut total, s)?;
    }
    Ok(serde_json::json!({
        "locations": list, "total": total, "currency": currency, "updated_at": now_ms(),
    }))
}

/// The overview's table alone, polled by htmx every few seconds.
async fn live(State(state): State<AppState>, Auth(cur, _): Auth<ManagerUp>) -> AppResult<Response> {
    let list = summaries(&state).await?;
    let ctx = live_ctx(&state, list).await?;
    Ok(render("manager_live.html", &Page::of(&cur), ctx)?.into_response())
}

/// Query of the alerts page.
#[derive(Debug, Deserialize, Default)]
pub struct AlertsQuery {
    /// `open`, `acknowledged`, `resolved`; empty for all.
    pub state: Option<String>,
    /// `csv` for a download.
    pub format: Option<String>,
    /// Alerts to skip: the page shown (a multiple of the page size).
    pub offset: Option<u32>,
    /// `note`: the last resolve came without a note (said in the page's language).
    pub error: Option<String>,
}

/// The alerts CSV's columns.
const ALERT_HEAD: &[&str] = &[
    "created_at_ms",
    "kind",
    "severity",
    "location",
    "agent",
    "staff",
    "summary",
    "state",
    "note",
    "evidence",
];

fn alert_csv_row(
    a: &Alert,
    users: &HashMap<Uuid, String>,
    locations: &HashMap<Uuid, String>,
) -> Vec<String> {
    vec![
        a.created_at.to_string(),
        a.kind.as_str().to_owned(),
        a.severity.as_str().to_owned(),
        a.location_id
            .and_then(|i| locations.get(&i).cloned())
            .unwrap_or_default(),
        a.agent_id.clone().unwrap_or_default(),
        // The CSV is read by machines too: one English wording, as before.
        who(a, users)
            .map(|(_, w)| {
                if w.is_empty() {
                    "nobody clocked in".to_string()
                } else {
                    w
                }
            })
            .unwrap_or_default(),
        a.summary.clone(),
        a.state.as_str().into(),
        a.note.clone().unwrap_or_default(),
        a.evidence.to_string(),
    ]
}

/// Location names by id.
pub(super) async fn location_names(state: &AppState) -> AppResult<HashMap<Uuid, String>> {
    Ok(state
        .store
        .list_locations()
        .await?
        .into_iter()
        .map(|l| (l.id, l.name))
        .collect())
}

async fn alerts(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Query(q): Query<AlertsQuery>,
) -> AppResult<Response> {
    let filter = AlertFilter {
        state: q.state.as_deref().and_then(AlertState::parse),
        ..Default::default()
    };
    let users = usernames(&state).await?;
    let locations = location_names(&state).await?;
    if q.format.as_deref() == Some("csv") {
        // Streamed page by page through every alert: never a capped list, never all in memory.
        let store = state.store.clone();
        let rows = super::csv::pages(move |cursor| {
            let (store, filter) = (store.clone(), filter.clone());
            let (users, locations) = (users.clone(), locations.clone());
            async move {
                let page = store
                    .alerts_after(&filter, cursor, super::csv::EXPORT_PAGE)
                    .await?;
                let next = page.last().map(|a| Cursor {
                    created_at: a.created_at,
                    id: a.id,
                });
                let rows = page
                    .iter()
                    .map(|a| alert_csv_row(a, &users, &locations))
                    .collect();
                Ok((rows, next))
            }
        });
        return Ok(super::csv::csv_stream("alerts", ALERT_HEAD, rows));
    }
    let total: u64 = state
        .store
        .alert_counts(&filter)
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum();
    let offset = q.offset.unwrap_or(0);
    let list = state
        .store
        .list_alerts(&AlertFilter {
            limit: Some(ALERTS_PER_PAGE),
            offset: Some(offset),
            ..filter
        })
        .await?;
    let rows: Vec<serde_json::Value> = list
        .iter()
        .map(|a| {
            let loc = a
                .location_id
                .and_then(|i| locations.get(&i).cloned())
                .unwrap_or_default();
            alert_row(a, loc, &users)
        })
        .collect();
    let state_q = q
        .state
        .as_deref()
        .filter(|s| AlertState::parse(s).is_some());
    let link = |offset: u32| match state_q {
        Some(s) => format!("/manager/alerts?state={s}&offset={offset}"),
        None => format!("/manager/alerts?offset={offset}"),
    };
    let shown = u64::try_from(rows.len()).unwrap_or(u64::MAX);
    let end = u64::from(offset).saturating_add(shown);
    let next = (end < total).then(|| link(offset.saturating_add(ALERTS_PER_PAGE)));
    let previous = (offset > 0).then(|| link(offset.saturating_sub(ALERTS_PER_PAGE)));
    Ok(render(
        "manager_alerts.html",
        &Page::of(&cur),
        serde_json::json!({
            "alerts": rows, "state": state_q, "total": total,
            "first": if shown == 0 { 0 } else { u64::from(offset) + 1 }, "last": end,
            "next": next, "previous": previous,
            "need_note": q.error.as_deref() == Some("note"),
            "already_resolved": q.error.as_deref() == Some("resolved"),
        }),
    )?
    .into_response())
}

/// Every user's username by id, to name the staff an alert points at.
pub(super) async fn usernames(state: &AppState) -> AppResult<HashMap<Uuid, String>> {
    Ok(state.store.user_names().await?.into_iter().collect())
}

/// Who an alert points at, as `(label, names)`: for a rogue voucher the staff on duty when it
/// could have been sold (`evidence.on_duty`, possibly nobody), else the staff member involved.
pub(super) fn who(a: &Alert, users: &HashMap<Uuid, String>) -> Option<(&'static str, String)> {
    if let Some(duty) = a.evidence["on_duty"].as_array() {
        let mut names: Vec<&str> = Vec::new();
        for name in duty.iter().filter_map(|d| d["staff"].as_str()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        // Empty: nobody clocked in, which the page says in the reader's language.
        return Some(("on_duty", names.join(", ")));
    }
    let id = a.staff_id?;
    let name = users.get(&id).cloned().unwrap_or_else(|| id.to_string());
    Some(("staff", name))
}

/// One alert as the alert templates show it.
pub(super) fn alert_row(
    a: &Alert,
    location: String,
    users: &HashMap<Uuid, String>,
) -> serde_json::Value {
    let (label, names) = who(a, users).unzip();
    serde_json::json!({
        "a": a, "location": location, "evidence": a.evidence.to_string(),
        "who_label": label, "who": names,
    })
}

/// Form of `POST /manager/alerts/{id}`.
#[derive(Debug, Deserialize)]
pub struct AlertForm {
    /// `acknowledge` or `resolve`.
    pub action: String,
    /// What was found or done; required to resolve.
    #[serde(default)]
    pub note: String,
}

async fn alert_action(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    Form(form): Form<AlertForm>,
) -> AppResult<Redirect> {
    let to = match form.action.as_str() {
        "acknowledge" => AlertState::Acknowledged,
        "resolve" => AlertState::Resolved,
        _ => {
            return Err(AppError::Refused(crate::refusal::Refusal::new(
                "err-unknown-action",
            )))
        }
    };
    let note = form.note.trim();
    if to == AlertState::Resolved && note.is_empty() {
        // Back to the page, which says so in its reader's language.
        return Ok(Redirect::to("/manager/alerts?error=note"));
    }
    match state
        .store
        .set_alert_state(id, to, note, &cur.user.username, now_ms())
        .await
    {
        Ok(_) => Ok(Redirect::to("/manager/alerts")),
        // Resolved meanwhile (another manager, another tab): the page says so.
        Err(StoreError::RefusedConflict(_)) => Ok(Redirect::to("/manager/alerts?error=resolved")),
        Err(e) => Err(e.into()),
    }
}
