//! Daily reconciliation reports for managers: the stored (immutable) reports, newest day first,
//! each checked against its hash when shown, with sign-off and a note; CSV of the list.

use super::{find_report, list_reports};
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{Auth, CurrentUser, ManagerUp};
use crate::refusal::Refusal;
use crate::store::{DailyReport, Location, ReportFilter};
use crate::web::render;
use crate::web::Page;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The report pages' routes.
pub(super) fn router() -> Router<AppState> {
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

/// The figures of a report body a list row and the report's page show; absent fields read as
/// zero, so a report of an older format still lists.
#[derive(Debug, Serialize)]
struct Figures {
    location: String,
    currency: String,
    issued: i64,
    applied: i64,
    first_used: i64,
    used_up: i64,
    expired: i64,
    unused: i64,
    not_applied: i64,
    expected: i64,
    confirmed: i64,
    variance: i64,
    open_shifts: i64,
    alerts: i64,
}

impl Figures {
    fn of(r: &DailyReport) -> Self {
        let b = &r.body;
        let t = &b["totals"]["tokens"];
        let v = &b["revenue"];
        let n = |x: &Value| x.as_i64().unwrap_or(0);
        let text = |x: &Value| x.as_str().unwrap_or_default().to_owned();
        Figures {
            location: text(&b["location_name"]),
            currency: text(&b["currency"]),
            issued: n(&t["issued"]),
            applied: n(&t["applied"]),
            first_used: n(&t["first_used"]),
            used_up: n(&t["used_up"]),
            expired: n(&t["expired"]),
            unused: n(&t["unused"]),
            not_applied: n(&t["not_applied"]),
            expected: n(&v["expected_minor"]),
            confirmed: n(&v["confirmed_minor"]),
            variance: n(&v["variance_minor"]),
            open_shifts: n(&v["open_shifts"]),
            alerts: b["alerts_by_kind"]
                .as_object()
                .map(|m| m.values().map(n).sum())
                .unwrap_or(0),
        }
    }
}

/// One line of the report list.
#[derive(Debug, Serialize)]
struct ReportRow<'a> {
    report: &'a DailyReport,
    figures: Figures,
}

impl<'a> ReportRow<'a> {
    fn of(report: &'a DailyReport) -> Self {
        ReportRow {
            report,
            figures: Figures::of(report),
        }
    }
}

/// The report list: a page of reports, the location filter, and the pager's links.
#[derive(Debug, Serialize)]
struct ReportsView<'a> {
    reports: Vec<ReportRow<'a>>,
    locations: Vec<Location>,
    location_id: Option<Uuid>,
    next: Option<String>,
    previous: Option<String>,
}

/// One report's page: its figures, the whole body pretty-printed, and a refused sign-off.
#[derive(Debug, Serialize)]
struct ReportView {
    report: DailyReport,
    figures: Figures,
    pretty: String,
    error: Option<String>,
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

fn report_csv_row(row: &ReportRow) -> Vec<String> {
    let (r, f) = (row.report, &row.figures);
    vec![
        r.business_date.clone(),
        f.location.clone(),
        f.issued.to_string(),
        f.applied.to_string(),
        f.first_used.to_string(),
        f.used_up.to_string(),
        f.expired.to_string(),
        f.unused.to_string(),
        f.expected.to_string(),
        f.confirmed.to_string(),
        f.variance.to_string(),
        f.alerts.to_string(),
        r.intact.to_string(),
        r.content_sha256.clone(),
        r.signed_off_by.clone().unwrap_or_default(),
        r.sign_off_note.clone().unwrap_or_default(),
    ]
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
        let rows = crate::web::csv::pages(move |offset: Option<u32>| {
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
                    .map(|r| report_csv_row(&ReportRow::of(r)))
                    .collect();
                Ok((rows, next))
            }
        });
        return Ok(crate::web::csv::csv_stream("reports", REPORT_HEAD, rows));
    }
    let offset = q.offset.unwrap_or(0);
    // One more than a page: whether a next page exists.
    let filter = ReportFilter {
        location_id: q.location_id,
        limit: Some(REPORTS_PER_PAGE + 1),
        offset: Some(offset),
        ..Default::default()
    };
    let mut reports = list_reports(&*state.store, &filter).await?;
    let more = reports.len() > REPORTS_PER_PAGE as usize;
    reports.truncate(REPORTS_PER_PAGE as usize);
    let link = |offset: u32| match q.location_id {
        Some(l) => format!("/manager/reports?location_id={l}&offset={offset}"),
        None => format!("/manager/reports?offset={offset}"),
    };
    let next = more.then(|| link(offset.saturating_add(REPORTS_PER_PAGE)));
    let previous = (offset > 0).then(|| link(offset.saturating_sub(REPORTS_PER_PAGE)));
    let view = ReportsView {
        reports: reports.iter().map(ReportRow::of).collect(),
        locations: state.store.list_locations().await?,
        location_id: q.location_id,
        next,
        previous,
    };
    Ok(render("manager_reports.html", &Page::of(&cur), view)?.into_response())
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
    let report = find_report(&*state.store, id).await?;
    let view = ReportView {
        pretty: serde_json::to_string_pretty(&report.body).unwrap_or_default(),
        figures: Figures::of(&report),
        report,
        error,
    };
    render("manager_report.html", &Page::of(cur), view)
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
    let r = find_report(&*state.store, id).await?;
    // A report whose content no longer matches its hash is evidence, not something to approve.
    let signed = if r.intact {
        super::sign_off(&*state.store, id, f.note.trim(), &cur.user.username).await
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
