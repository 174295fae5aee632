//! Shifts: clock in with an opening float, clock out with the declared cash.

use crate::app::{AppError, AppResult, AppState};
use crate::auth::{Auth, CurrentUser, StaffOnly};
use crate::store::Shift;
use crate::tokens::dispense_page_with;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use uuid::Uuid;

/// Shift routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/shifts/clock-in", post(clock_in_json))
        .route("/api/shifts/clock-out", post(clock_out_json))
        .route("/api/shifts/current", get(current))
        .route("/shifts/clock-in", post(clock_in_form))
        .route("/shifts/clock-out", post(clock_out_form))
}

/// Body of a clock-in.
#[derive(Deserialize)]
pub struct ClockIn {
    /// Cash in the drawer at the start, minor units.
    pub opening_float_minor: i64,
    /// Location; may be left out when the staff member belongs to exactly one.
    pub location_id: Option<Uuid>,
}

/// Body of a clock-out.
#[derive(Deserialize)]
pub struct ClockOut {
    /// Cash in the drawer at the end, minor units.
    pub declared_cash_minor: i64,
}

async fn clock_in(state: &AppState, cur: &CurrentUser, req: &ClockIn) -> AppResult<Shift> {
    let location = match (req.location_id, cur.user.location_ids.as_slice()) {
        (Some(l), _) => l,
        (None, [only]) => *only,
        (None, []) => return Err(AppError::BadRequest("you belong to no location".into())),
        (None, _) => return Err(AppError::BadRequest("choose a location".into())),
    };
    Ok(state
        .store
        .open_shift(
            cur.user.id,
            location,
            req.opening_float_minor,
            &cur.user.username,
        )
        .await?)
}

async fn clock_in_json(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
    Json(req): Json<ClockIn>,
) -> AppResult<Json<Shift>> {
    Ok(Json(clock_in(&state, &cur, &req).await?))
}

/// Clock-out ends the staff member's sessions, this one included.
async fn clock_out_json(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
    Json(req): Json<ClockOut>,
) -> AppResult<Json<Shift>> {
    let shift = state
        .store
        .close_shift(cur.user.id, req.declared_cash_minor, &cur.user.username)
        .await?;
    Ok(Json(shift))
}

async fn current(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
) -> AppResult<Json<Option<Shift>>> {
    Ok(Json(state.store.open_shift_of(cur.user.id).await?))
}

async fn clock_in_form(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
    Form(req): Form<ClockIn>,
) -> AppResult<Response> {
    match clock_in(&state, &cur, &req).await {
        Ok(_) => Ok(Redirect::to("/dispense").into_response()),
        Err(AppError::BadRequest(m) | AppError::Conflict(m)) => {
            Ok(dispense_page_with(&state, &cur, Some(m))
                .await?
                .into_response())
        }
        Err(e) => Err(e),
    }
}

async fn clock_out_form(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
    Form(req): Form<ClockOut>,
) -> AppResult<Response> {
    match state
        .store
        .close_shift(cur.user.id, req.declared_cash_minor, &cur.user.username)
        .await
    {
        Ok(_) => Ok(Redirect::to("/login").into_response()),
        Err(crate::store::StoreError::Invalid(m)) => Ok(dispense_page_with(&state, &cur, Some(m))
            .await?
            .into_response()),
        Err(e) => Err(e.into()),
    }
}
