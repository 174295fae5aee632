//! The managers' overview: every location's figures today, the table polled live, CSV of it.

use super::stats::{
    add_routers, add_shift_figures, add_summary, add_token_figures, LocationSummary,
};
use crate::app::{AppResult, AppState};
use crate::auth::{Auth, ManagerUp};
use crate::store::{
    every_token, now_ms, AlertFilter, AlertState, FigureFilter, Token, TokenFilter,
};
use crate::web::render;
use crate::web::Page;
use crate::web::{csv_response, start_of_today, Format};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// The overview's routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/manager", get(overview))
        .route("/manager/live", get(live))
}

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

/// The overview and its live table: every location's figures, their total, and when.
#[derive(Debug, Serialize)]
struct LiveView {
    locations: Vec<LocationSummary>,
    total: LocationSummary,
    currency: String,
    updated_at: i64,
}

async fn live_ctx(state: &AppState, list: Vec<LocationSummary>) -> AppResult<LiveView> {
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
    Ok(LiveView {
        locations: list,
        total,
        currency,
        updated_at: now_ms(),
    })
}

/// The overview's table alone, polled by htmx every few seconds.
async fn live(State(state): State<AppState>, Auth(cur, _): Auth<ManagerUp>) -> AppResult<Response> {
    let list = summaries(&state).await?;
    let ctx = live_ctx(&state, list).await?;
    Ok(render("manager_live.html", &Page::of(&cur), ctx)?.into_response())
}
