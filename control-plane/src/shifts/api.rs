//! The shift API: clock in and out, the caller's open shift, and a manager closing a shift for
//! its staff member.

use super::{clock_in, close, close_shift_for_staff, ClockIn, ClockOut, CloseForStaff};
use crate::app::{AppResult, AppState};
use crate::auth::{Auth, ManagerUp, StaffOnly};
use crate::store::Shift;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use uuid::Uuid;

/// The shift API's routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/shifts/clock-in", post(clock_in_json))
        .route("/api/shifts/clock-out", post(clock_out_json))
        .route("/api/shifts/current", get(current))
        .route("/api/shifts/{id}/close", post(close_for_staff))
}

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(clock_in_json, clock_out_json, current, close_for_staff))]
pub(crate) struct Doc;

/// A manager closes a shift the staff member left open; the drawer is checked like a clock-out.
#[utoipa::path(
    post,
    path = "/api/shifts/{id}/close",
    summary = "A manager closes a shift the staff member left open",
    description = "With the counted cash and a note; audited; a drawer off by more than the location's threshold raises cash_short/cash_over.",
    params(("id" = Uuid, Path, description = "Shift id")),
    request_body = CloseForStaff,
    responses(
        (status = 200, description = "The closed shift", body = Shift),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn close_for_staff(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    Json(req): Json<CloseForStaff>,
) -> AppResult<Json<Shift>> {
    Ok(Json(close_shift_for_staff(&state, &cur, id, &req).await?))
}

#[utoipa::path(
    post,
    path = "/api/shifts/clock-in",
    summary = "Clock in with an opening float",
    request_body = ClockIn,
    responses(
        (status = 200, description = "The open shift", body = Shift),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<StaffOnly>()))),
)]
async fn clock_in_json(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
    Json(req): Json<ClockIn>,
) -> AppResult<Json<Shift>> {
    Ok(Json(clock_in(&state, &cur, &req).await?))
}

/// Clock-out ends the staff member's sessions, this one included.
#[utoipa::path(
    post,
    path = "/api/shifts/clock-out",
    summary = "Clock out with the declared cash; ends the staff member's sessions",
    request_body = ClockOut,
    responses(
        (status = 200, description = "The closed shift", body = Shift),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<StaffOnly>()))),
)]
async fn clock_out_json(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
    Json(req): Json<ClockOut>,
) -> AppResult<Json<Shift>> {
    Ok(Json(close(&state, &cur, req.declared_cash_minor).await?))
}

#[utoipa::path(
    get,
    path = "/api/shifts/current",
    summary = "The caller's open shift, or null",
    responses(
        (status = 200, description = "The open shift, or null", body = Option<Shift>),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<StaffOnly>()))),
)]
async fn current(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
) -> AppResult<Json<Option<Shift>>> {
    Ok(Json(state.store.open_shift_of(cur.user.id).await?))
}
