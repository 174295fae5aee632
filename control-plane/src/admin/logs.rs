//! The admin console's logs: the audit log (what people did) and the event log (the token
//! ledger), newest first, paged, with CSV export. Chain verification is on the admin home.

use crate::app::{AppResult, AppState};
use crate::auth::{AdminOnly, Auth};
use crate::store::{LogRow, LogTable};
use crate::web::csv_response;
use crate::web::render;
use crate::web::Page;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

/// The log page's route.
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/admin/log", get(log))
}

const PAGE: u32 = 100;

/// Query of `/admin/log`.
#[derive(Debug, Deserialize, Default)]
pub struct LogQuery {
    /// `audit` (default) or `events` (the token ledger).
    pub table: Option<String>,
    /// Page, from 0.
    #[serde(default)]
    pub page: u32,
    /// `csv` for a download of this page.
    pub format: Option<String>,
}

async fn log(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Query(q): Query<LogQuery>,
) -> AppResult<Response> {
    let (table, name) = match q.table.as_deref() {
        Some("events") => (LogTable::Ledger, "events"),
        _ => (LogTable::Audit, "audit"),
    };
    let offset = q.page.saturating_mul(PAGE);
    let rows = state.store.list_log(table, PAGE, offset).await?;
    if q.format.as_deref() == Some("csv") {
        let body: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.id.to_string(),
                    r.at.to_string(),
                    r.actor.clone(),
                    r.action.clone(),
                    r.target.clone(),
                    r.detail.clone(),
                ]
            })
            .collect();
        let head = &["id", "at_ms", "actor", "action", "target", "detail"];
        return Ok(csv_response(name, head, &body));
    }
    let view = LogView {
        more: u32::try_from(rows.len()).is_ok_and(|n| n == PAGE),
        rows,
        table: name,
        pageno: q.page,
    };
    Ok(render("admin_log.html", &Page::of(&cur), view)?.into_response())
}

/// A page of one log, newest first, and whether an older page exists.
#[derive(Debug, Serialize)]
struct LogView {
    rows: Vec<LogRow>,
    table: &'static str,
    pageno: u32,
    more: bool,
}
