//! The report API: the stored daily reports, paged, and a manager's sign-off.

use crate::app::{AppResult, AppState};
use crate::auth::{Auth, ManagerUp};
use crate::store::{DailyReport, ReportFilter};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

/// The report API's routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/reports", get(list))
        .route("/api/reports/{id}/sign-off", post(sign_off))
}

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, sign_off))]
pub(crate) struct Doc;

/// Query of `GET /api/reports`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    location_id: Option<Uuid>,
    date: Option<String>,
    /// Page size (default 100, at most 500).
    limit: Option<u32>,
    /// Reports to skip: the next page starts after the last one read.
    offset: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/api/reports",
    summary = "Daily reconciliation reports, newest day first, paged",
    description = "Stored after each location's close time, never changed. A page holds `limit` reports (default 100, at most 500); ask again with `offset` until a page comes back short.",
    params(ListQuery),
    responses(
        (status = 200, description = "Reports", body = Vec<DailyReport>),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn list(
    State(state): State<AppState>,
    _: Auth<ManagerUp>,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<Vec<DailyReport>>> {
    let filter = ReportFilter {
        location_id: q.location_id,
        date: q.date,
        limit: q.limit,
        offset: q.offset,
    };
    Ok(Json(super::list_reports(&*state.store, &filter).await?))
}

/// Body of a sign-off.
#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct SignOff {
    /// What the manager checked (may be empty).
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(
    post,
    path = "/api/reports/{id}/sign-off",
    summary = "Sign a daily report off (once; audited)",
    params(("id" = Uuid, Path, description = "Report id")),
    request_body = Option<SignOff>,
    responses(
        (status = 200, description = "The report now", body = DailyReport),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn sign_off(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    body: Option<Json<SignOff>>,
) -> AppResult<Json<DailyReport>> {
    let note = body.map(|b| b.0.note).unwrap_or_default();
    let r = super::sign_off(&*state.store, id, &note, &cur.user.username).await?;
    Ok(Json(r))
}
