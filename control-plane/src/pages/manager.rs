//! Manager pages: the live overview of all locations, one location or staff member in detail
//! (vouchers, revenue, charts), and alerts with acknowledge/resolve.

use super::stats::{self, add_routers, add_shifts, add_tokens, LocationSummary, Names};
use super::{csv_response, render, start_of_today, Format};
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{Auth, ManagerUp};
use crate::store::{now_ms, AlertFilter, AlertState, ShiftFilter, Token, TokenFilter};
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
        .route("/manager/locations/{id}", get(location))
        .route("/manager/staff/{id}", get(staff))
        .route("/manager/alerts", get(alerts))
        .route("/manager/alerts/{id}", post(alert_action))
}

/// Enough for a day at one cafe many times over; the figures are for dashboards, not audit.
const DAY_LIMIT: u32 = 20_000;

async fn tokens_since(state: &AppState, mut filter: TokenFilter) -> AppResult<Vec<Token>> {
    filter.limit = Some(DAY_LIMIT);
    Ok(state.store.list_tokens(&filter).await?.items)
}

/// Whether each token's shift is closed: a staff member has at most one open shift, so a
/// token from any other shift of theirs has had its cash counted.
async fn closed_shifts(state: &AppState, tokens: &[Token]) -> AppResult<HashMap<Uuid, bool>> {
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
    let open_alerts = state
        .store
        .list_alerts(&AlertFilter {
            state: Some(AlertState::Open),
            limit: Some(1000),
            ..Default::default()
        })
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
            .count() as u32;
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
        a.expected_minor += s.expected_minor;
        a.confirmed_minor += s.confirmed_minor;
        a.open_alerts += s.open_alerts;
        a.variance_minor += s.variance_minor;
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

async fn names(state: &AppState, tokens: &[Token]) -> AppResult<Names> {
    let mut names = Names::new();
    for t in tokens {
        if let std::collections::hash_map::Entry::Vacant(e) = names.entry(t.staff_id) {
            let name = state
                .store
                .user(t.staff_id)
                .await?
                .map(|u| u.username)
                .unwrap_or_else(|| t.staff_id.to_string());
            e.insert(name);
        }
    }
    Ok(names)
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

/// One location's or one staff member's day: figures, charts, per-staff rows and vouchers.
async fn detail(
    state: &AppState,
    cur: &crate::auth::CurrentUser,
    title: String,
    filter: TokenFilter,
    f: &Format,
) -> AppResult<Response> {
    let day = start_of_today(now_ms());
    let (filter_location, filter_staff) = (filter.location_id, filter.staff_id);
    let tokens = tokens_since(
        state,
        TokenFilter {
            from: Some(day),
            ..filter
        },
    )
    .await?;
    let names = names(state, &tokens).await?;
    if f.csv() {
        let rows: Vec<Vec<String>> = tokens
            .iter()
            .map(|t| {
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
            })
            .collect();
        return Ok(csv_response("vouchers", TOKEN_HEAD, &rows));
    }
    let closed = closed_shifts(state, &tokens).await?;
    let shifts = state
        .store
        .list_shifts(&ShiftFilter {
            location_id: filter_location,
            staff_id: filter_staff,
            from: Some(day),
            limit: Some(DAY_LIMIT),
        })
        .await?;
    let mut total = LocationSummary::default();
    add_shifts(&mut total, &shifts);
    add_tokens(&mut total, &tokens, |t| {
        closed.get(&t.id).copied().unwrap_or(false)
    });
    let mut per_staff: Vec<serde_json::Value> = Vec::new();
    for (id, name) in &names {
        let mine: Vec<Token> = tokens
            .iter()
            .filter(|t| t.staff_id == *id)
            .cloned()
            .collect();
        let mut s = LocationSummary::default();
        add_tokens(&mut s, &mine, |t| {
            closed.get(&t.id).copied().unwrap_or(false)
        });
        add_shifts(&mut s, shifts.iter().filter(|x| x.staff_id == *id));
        per_staff.push(serde_json::json!({"id": id, "name": name, "s": s}));
    }
    let (issued_chart, traffic_chart) = stats::hourly(&tokens, day);
    let rows: Vec<serde_json::Value> = tokens
        .iter()
        .map(|t| {
            serde_json::json!({
                "t": t, "staff": names.get(&t.staff_id), "state_word": stats::state_word(t),
                "mb": format!("{:.1}", (t.bytes_in + t.bytes_out) as f64 / 1e6),
            })
        })
        .collect();
    let mut shift_rows = Vec::with_capacity(shifts.len());
    for x in &shifts {
        let who = match names.get(&x.staff_id) {
            Some(n) => n.clone(),
            None => state
                .store
                .user(x.staff_id)
                .await?
                .map(|u| u.username)
                .unwrap_or_default(),
        };
        shift_rows.push(serde_json::json!({"x": x, "staff": who}));
    }
    let currency = tokens
        .first()
        .map(|t| t.currency.clone())
        .unwrap_or_default();
    Ok(render(
        "manager_detail.html",
        &Page::of(cur),
        serde_json::json!({
            "title": title, "total": total, "per_staff": per_staff, "tokens": rows,
            "charts": [issued_chart, traffic_chart], "currency": currency,
            "shifts": shift_rows,
        }),
    )?
    .into_response())
}

async fn location(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    Query(f): Query<Format>,
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
    detail(&state, &cur, l.name, filter, &f).await
}

async fn staff(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    Query(f): Query<Format>,
) -> AppResult<Response> {
    let u = state.store.user(id).await?.ok_or(AppError::NotFound)?;
    let filter = TokenFilter {
        staff_id: Some(id),
        ..Default::default()
    };
    detail(&state, &cur, u.username, filter, &f).await
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
        limit: Some(500),
        ..Default::default()
    };
    let list = state.store.list_alerts(&filter).await?;
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
            "summary",
            "state",
            "note",
            "evidence",
        ];
        return Ok(csv_response("alerts", head, &rows));
    }
    let rows: Vec<serde_json::Value> = list
        .iter()
        .map(|a| serde_json::json!({"a": a, "location": loc(a.location_id), "evidence": a.evidence.to_string()}))
        .collect();
    Ok(render(
        "manager_alerts.html",
        &Page::of(&cur),
        serde_json::json!({"alerts": rows, "state": q.state}),
    )?
    .into_response())
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
