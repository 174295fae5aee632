//! Daily reconciliation reports for managers: the stored (immutable) reports, newest day first,
//! each checked against its hash when shown, with sign-off and a note; CSV of the list.

use crate::app::{AppError, AppResult, AppState};
use crate::auth::{Auth, CurrentUser, ManagerUp};
use crate::refusal::Refusal;
use crate::store::{now_ms, DailyReport, ReportFilter};
use crate::web::render;
use crate::web::Page;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

/// Report routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/manager/reports", get(list))
        .route("/manager/reports/{id}", get(one))
        .route("/manager/reports/{id}/sign-off", post(sign_off))
}

/// Query of the report list.
#[derive(Debug, Deserialize, Default)]
pub struct ReportsQuery {
    /// Only this location.
    pub location_id: Option<Uuid>,
    /// `csv` for a download.
    pub format: Option<String>,
    /// Reports to skip: the page shown.
    pub offset: Option<u32>,
}

/// Reports per page; the next link shows the following ones, the CSV has every one.
const REPORTS_PER_PAGE: u32 = 50;

/// The figures of a report body a list row shows; absent fields read as zero, so a report of
/// an older format still lists.
fn figures(r: &DailyReport) -> Value {
    let b = &r.body;
    let t = &b["totals"]["tokens"];
    let v = &b["revenue"];
    let n = |x: &Value| x.as_i64().unwrap_or(0);
    let alerts: i64 = b["alerts_by_kind"]
        .as_object()
        .map(|m| m.values().map(n).sum())
        .unwrap_or(0);
    serde_json::json!({
        "location": b["location_name"].as_str().unwrap_or_default(),
        "currency": b["currency"].as_str().unwrap_or_default(),
        "issued": n(&t["issued"]), "applied": n(&t["applied"]), "first_used": n(&t["first_used"]),
        "used_up": n(&t["used_up"]), "expired": n(&t["expired"]), "unused": n(&t["unused"]),
        "not_applied": n(&t["not_applied"]),
        "expected": n(&v["expected_minor"]), "confirmed": n(&v["confirmed_minor"]),
        "variance": n(&v["variance_minor"]), "open_shifts": n(&v["open_shifts"]),
        "alerts": alerts,
    })
}

const REPORT_HEAD: &[&str] = &[
    "date",
    "location",
    "issued",
    "applied",
    "first_used",
    "used_up",
    "expired",
    "unused",
    "expected_minor",
    "confirmed_minor",
    "variance_minor",
    "alerts",
    "intact",
    "sha256",
    "signed_off_by",
    "sign_off_note",
];

fn report_csv_row(x: &Value) -> Vec<String> {
    let (r, f) = (&x["r"], &x["f"]);
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    [
        &r["business_date"],
        &f["location"],
        &f["issued"],
        &f["applied"],
        &f["first_used"],
        &f["used_up"],
        &f["expired"],
        &f["unused"],
        &f["expected"],
        &f["confirmed"],
        &f["variance"],
        &f["alerts"],
        &r["intact"],
        &r["content_sha256"],
        &r["signed_off_by"],
        &r["sign_off_note"],
    ]
    .into_iter()
    .map(s)
    .collect()
}

fn report_row(r: &DailyReport) -> Value {
    serde_json::json!({"r": r, "f": figures(r)})
}

async fn list(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Query(q): Query<ReportsQuery>,
) -> AppResult<Response> {
    if q.format.as_deref() == Some("csv") {
        // Every report, streamed a page at a time (reports are only ever added, newest day
        // first: a day stored meanwhile may repeat a row, never drop one).
        let store = state.store.clone();
        let location_id = q.location_id;
        let rows = super::csv::pages(move |offset: Option<u32>| {
            let store = store.clone();
            async move {
                let offset = offset.unwrap_or(0);
                let page = store
                    .daily_reports(&ReportFilter {
                        location_id,
                        limit: Some(crate::bounds::MAX_PAGE),
                        offset: Some(offset),
                        ..Default::default()
                    })
                    .await?;
                let full = page.len() >= crate::bounds::MAX_PAGE as usize;
                let next = full.then(|| offset.saturating_add(crate::bounds::MAX_PAGE));
                let rows = page
                    .iter()
                    .map(|r| report_csv_row(&report_row(r)))
                    .collect();
                Ok((rows, next))
            }
        });
        return Ok(super::csv::csv_stream("reports", REPORT_HEAD, rows));
    }
    let offset = q.offset.unwrap_or(0);
    // One more than a page: whether a next page exists.
    let mut reports = state
        .store
        .daily_reports(&ReportFilter {
            location_id: q.location_id,
            limit: Some(REPORTS_PER_PAGE + 1),
            offset: Some(offset),
            ..Default::default()
        })
        .await?;
    let more = reports.len() > REPORTS_PER_PAGE as usize;
    reports.truncate(REPORTS_PER_PAGE as usize);
    let rows: Vec<Value> = reports.iter().map(report_row).collect();
    let link = |offset: u32| match q.location_id {
        Some(l) => format!("/manager/reports?location_id={l}&offset={offset}"),
        None => format!("/manager/reports?offset={offset}"),
    };
    let next = more.then(|| link(offset.saturating_add(REPORTS_PER_PAGE)));
    let previous = (offset > 0).then(|| link(offset.saturating_sub(REPORTS_PER_PAGE)));
    let locations = state.store.list_locations().await?;
    Ok(render(
        "manager_reports.html",
        &Page::of(&cur),
        serde_json::json!({
            "reports": rows, "locations": locations, "location_id": q.location_id,
            "next": next, "previous": previous,
        }),
    )?
    .into_response())
}

async fn find(state: &AppState, id: Uuid) -> AppResult<DailyReport> {
    state
        .store
        .daily_reports(&ReportFilter::default())
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(AppError::NotFound)
}

async fn one(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
) -> AppResult<Html<String>> {
    report_page(&state, &cur, id, None).await
}

/// The report's page, with a refused sign-off on top.
async fn report_page(
    state: &AppState,
    cur: &CurrentUser,
    id: Uuid,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let r = find(state, id).await?;
    let pretty = serde_json::to_string_pretty(&r.body).unwrap_or_default();
    render(
        "manager_report.html",
        &Page::of(cur),
        serde_json::json!({"r": r, "f": figures(&r), "pretty": pretty, "error": error}),
    )
}

/// Form of the sign-off.
#[derive(Debug, Deserialize)]
pub struct SignOff {
    /// What the manager checked.
    #[serde(default)]
    pub note: String,
}

async fn sign_off(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    Form(f): Form<SignOff>,
) -> AppResult<Response> {
    let r = find(&state, id).await?;
    // A report whose content no longer matches its hash is evidence, not something to approve.
    let signed = if r.intact {
        state
            .store
            .sign_off_report(id, f.note.trim(), &cur.user.username, now_ms())
            .await
            .map_err(AppError::from)
    } else {
        Err(AppError::RefusedConflict(Refusal::new(
            "err-report-not-intact",
        )))
    };
    match signed {
        Ok(_) => Ok(Redirect::to(&format!("/manager/reports/{id}")).into_response()),
        // Signed off in another tab meanwhile, or altered: the page says why, in its language.
        Err(e) => {
            let m = e.page_message()?;
            Ok(report_page(&state, &cur, id, Some(m))
                .await?
                .into_response())
        }
    }
}
