//! The managers' alerts page: alerts by state, a page at a time, each with its evidence and who
//! it points at, acknowledged or resolved with a note; CSV of every alert.

use super::change_state;
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{Auth, ManagerUp};
use crate::store::{Alert, AlertFilter, AlertState, Cursor};
use crate::web::{render, Page};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// The alerts page's routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/manager/alerts", get(alerts))
        .route("/manager/alerts/{id}", post(alert_action))
}

/// Alerts per page of the alerts list; the next link shows the following ones, the CSV export
/// has every one.
const ALERTS_PER_PAGE: u32 = 100;

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
async fn location_names(state: &AppState) -> AppResult<HashMap<Uuid, String>> {
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
        let rows = crate::web::csv::pages(move |cursor| {
            let (store, filter) = (store.clone(), filter.clone());
            let (users, locations) = (users.clone(), locations.clone());
            async move {
                let page = store
                    .alerts_after(&filter, cursor, crate::web::csv::EXPORT_PAGE)
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
        return Ok(crate::web::csv::csv_stream("alerts", ALERT_HEAD, rows));
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
    let rows: Vec<AlertRow> = list
        .into_iter()
        .map(|a| {
            let loc = a
                .location_id
                .and_then(|i| locations.get(&i).cloned())
                .unwrap_or_default();
            AlertRow::of(a, loc, &users)
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
    let view = AlertsView {
        alerts: rows,
        state: state_q,
        total,
        first: if shown == 0 { 0 } else { u64::from(offset) + 1 },
        last: end,
        next,
        previous,
        need_note: q.error.as_deref() == Some("note"),
        already_resolved: q.error.as_deref() == Some("resolved"),
    };
    Ok(render("manager_alerts.html", &Page::of(&cur), view)?.into_response())
}

/// Every user's username by id, to name the staff an alert points at.
async fn usernames(state: &AppState) -> AppResult<HashMap<Uuid, String>> {
    Ok(state.store.user_names().await?.into_iter().collect())
}

/// Who an alert points at, as `(label, names)`: for a rogue voucher the staff on duty when it
/// could have been sold (`evidence.on_duty`, possibly nobody), else the staff member involved.
fn who(a: &Alert, users: &HashMap<Uuid, String>) -> Option<(&'static str, String)> {
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

/// One alert as the alert templates show it: with its location, its evidence as text, and who
/// it points at.
#[derive(Debug, Serialize)]
pub(crate) struct AlertRow {
    alert: Alert,
    location: String,
    evidence: String,
    who_label: Option<&'static str>,
    who: Option<String>,
}

impl AlertRow {
    /// `alert` at `location`, naming staff from `users`.
    pub(crate) fn of(alert: Alert, location: String, users: &HashMap<Uuid, String>) -> Self {
        let (who_label, who) = who(&alert, users).unzip();
        AlertRow {
            evidence: alert.evidence.to_string(),
            alert,
            location,
            who_label,
            who,
        }
    }
}

/// The alerts page: a page of alerts in one state (or all), with the pager's links and what the
/// last action was refused for.
#[derive(Debug, Serialize)]
struct AlertsView<'a> {
    alerts: Vec<AlertRow>,
    state: Option<&'a str>,
    total: u64,
    first: u64,
    last: u64,
    next: Option<String>,
    previous: Option<String>,
    need_note: bool,
    already_resolved: bool,
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
    match change_state(&*state.store, &cur.user.username, id, to, note).await {
        Ok(_) => Ok(Redirect::to("/manager/alerts")),
        // Resolved meanwhile (another manager, another tab): the page says so.
        Err(AppError::RefusedConflict(_)) => Ok(Redirect::to("/manager/alerts?error=resolved")),
        Err(e) => Err(e),
    }
}
