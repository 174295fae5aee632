//! Manager pages: the live overview of all locations, one location or staff member in detail
//! (vouchers, revenue, charts), and alerts with acknowledge/resolve.

use super::stats::{add_routers, add_shifts, add_tokens, LocationSummary};
use super::{csv_response, render, start_of_today, Format};
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{Auth, ManagerUp};
use crate::store::{
    every_alert, every_token, now_ms, Alert, AlertFilter, AlertState, ShiftFilter, Token,
    TokenFilter,
};
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

/// Shifts read for a day's figures: a shift per staff member per day, many times over.
pub(super) const DAY_LIMIT: u32 = 20_000;

/// Alerts listed on the alerts page; the CSV export has every one.
const ALERTS_SHOWN: usize = 500;

/// Every token matching `filter`: the figures must be exact however busy the day.
pub(super) async fn tokens_since(state: &AppState, filter: TokenFilter) -> AppResult<Vec<Token>> {
    Ok(every_token(&*state.store, &filter).await?)
}

/// Whether each token's shift is closed: a staff member has at most one open shift, so a
/// token from any other shift of theirs has had its cash counted.
pub(super) async fn closed_shifts(
    state: &AppState,
    tokens: &[Token],
) -> AppResult<HashMap<Uuid, bool>> {
    let mut open: HashMap<Uuid, Option<Uuid>> = HashMap::new();
    for t in tokens {
        if let std::collections::hash_map::Entry::Vacant(e) = open.entry(t.staff_id) {
            e.insert(state.store.open_shift_of(t.staff_id).await?.map(|s| s.id));
        }
    }
    Ok(tokens
        .iter()
        .map(|t| {
            let current = open.get(&t.staff_id).copied().flatten();
            (t.id, t.shift_id.is_some() && t.shift_id != current)
        })
        .collect())
}

async fn summaries(state: &AppState) -> AppResult<Vec<LocationSummary>> {
    let now = now_ms();
    let routers = state.store.list_routers().await?;
    let tokens = tokens_since(
        state,
        TokenFilter {
            from: Some(start_of_today(now)),
            ..Default::default()
        },
    )
    .await?;
    let closed = closed_shifts(state, &tokens).await?;
    let shifts = state
        .store
        .list_shifts(&ShiftFilter {
            from: Some(start_of_today(now)),
            limit: Some(DAY_LIMIT),
            ..Default::default()
        })
        .await?;
    let open_alerts = every_alert(
        &*state.store,
        &AlertFilter {
            state: Some(AlertState::Open),
            ..Default::default()
        },
    )
    .await?;
    let mut out = Vec::new();
    for l in state.store.list_locations().await? {
        let mut s = LocationSummary {
            id: l.id,
            name: l.name,
            ..Default::default()
        };
        add_routers(&mut s, &routers);
        let here: Vec<Token> = tokens
            .iter()
            .filter(|t| t.location_id == l.id)
            .cloned()
            .collect();
        add_tokens(&mut s, &here, |t| {
            closed.get(&t.id).copied().unwrap_or(false)
        });
        add_shifts(&mut s, shifts.iter().filter(|x| x.location_id == l.id));
        s.open_alerts = open_alerts
            .iter()
            .filter(|a| a.location_id == Some(l.id))
            .count()
            .try_into()
            .unwrap_or(u32::MAX);
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
    let total = list.iter().fold(LocationSummary::default(), |mut a, s| {
        a.routers_online += s.routers_online;
        a.routers_offline += s.routers_offline;
        a.active_users += s.active_users;
        a.issued += s.issued;
        a.used += s.used;
        a.unused += s.unused;
        a.expected_minor = a.expected_minor.saturating_add(s.expected_minor);
        a.confirmed_minor = a.confirmed_minor.saturating_add(s.confirmed_minor);
        a.open_alerts += s.open_alerts;
        a.variance_minor = a.variance_minor.saturating_add(s.variance_minor);
        a
    });
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
    let list = every_alert(&*state.store, &filter).await?;
    let users = usernames(&state).await?;
    let locations: HashMap<Uuid, String> = state
        .store
        .list_locations()
        .await?
        .into_iter()
        .map(|l| (l.id, l.name))
        .collect();
    let loc = |id: Option<Uuid>| {
        id.and_then(|i| locations.get(&i).cloned())
            .unwrap_or_default()
    };
    if q.format.as_deref() == Some("csv") {
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|a| {
                vec![
                    a.created_at.to_string(),
                    a.kind.clone(),
                    a.severity.clone(),
                    loc(a.location_id),
                    a.agent_id.clone().unwrap_or_default(),
                    // The CSV is read by machines too: one English wording, as before.
                    who(a, &users)
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
            })
            .collect();
        let head = &[
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
        return Ok(csv_response("alerts", head, &rows));
    }
    let rows: Vec<serde_json::Value> = list
        .iter()
        .take(ALERTS_SHOWN)
        .map(|a| alert_row(a, loc(a.location_id), &users))
        .collect();
    Ok(render(
        "manager_alerts.html",
        &Page::of(&cur),
        serde_json::json!({"alerts": rows, "state": q.state, "total": list.len()}),
    )?
    .into_response())
}

/// Every user's username by id, to name the staff an alert points at.
pub(super) async fn usernames(state: &AppState) -> AppResult<HashMap<Uuid, String>> {
    Ok(state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect())
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
        _ => return Err(AppError::BadRequest("unknown action".into())),
    };
    let note = form.note.trim();
    if to == AlertState::Resolved && note.is_empty() {
        return Err(AppError::BadRequest("a note is required to resolve".into()));
    }
    state
        .store
        .set_alert_state(id, to, note, &cur.user.username, now_ms())
        .await?;
    Ok(Redirect::to("/manager/alerts"))
}
