//! A manager closes a shift a staff member forgot to close: the location page lists its open
//! shifts (flagging those open longer than [`FORGOTTEN_AFTER_MS`]); the form takes the counted
//! cash and a required note and calls what `POST /api/shifts/{id}/close` calls
//! ([`super::close_shift_for_staff`]: audited by the store, drawer checked for a cash alert).

use super::{close_shift_for_staff, drawer_currency, typed_amount, CloseForStaff};
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{Auth, CurrentUser, ManagerUp};
use crate::store::{now_ms, Shift, ShiftFilter};
use crate::web::render;
use crate::web::Page;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A shift open this long is flagged as probably forgotten.
pub const FORGOTTEN_AFTER_MS: i64 = 12 * 3600 * 1000;

/// How far back open shifts are looked for.
const LOOK_BACK_MS: i64 = 31 * 86_400_000;

/// The manager's shift close routes.
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/manager/shifts/{id}/close", get(close_page).post(close))
}

/// An open shift as the location and staff pages list it: who holds it, for how many hours,
/// and whether it looks forgotten.
#[derive(Debug, Serialize)]
pub(crate) struct OpenShift {
    shift: Shift,
    staff: Option<String>,
    hours: i64,
    forgotten: bool,
}

/// The close form of one shift.
#[derive(Debug, Serialize)]
struct CloseView {
    shift: Shift,
    staff: Option<String>,
    currency: String,
    error: Option<String>,
}

/// Open shifts of a location (or a staff member) with the staff member's name and whether the
/// shift looks forgotten, oldest first.
pub(crate) async fn open_shifts(
    state: &AppState,
    location_id: Option<Uuid>,
    staff_id: Option<Uuid>,
) -> AppResult<Vec<OpenShift>> {
    let now = now_ms();
    let mut open: Vec<Shift> = crate::store::every_shift(
        &*state.store,
        &ShiftFilter {
            location_id,
            staff_id,
            from: Some(now - LOOK_BACK_MS),
            ..Default::default()
        },
    )
    .await?
    .into_iter()
    .filter(|s| s.closed_at.is_none())
    .collect();
    open.sort_by_key(|s| s.opened_at);
    let mut rows = Vec::with_capacity(open.len());
    for shift in open {
        let staff = state.store.user(shift.staff_id).await?.map(|u| u.username);
        rows.push(OpenShift {
            hours: (now - shift.opened_at) / 3_600_000,
            forgotten: now - shift.opened_at > FORGOTTEN_AFTER_MS,
            shift,
            staff,
        });
    }
    Ok(rows)
}

async fn page_with(
    state: &AppState,
    cur: &CurrentUser,
    id: Uuid,
    error: Option<String>,
) -> AppResult<Response> {
    // Closed ones are shown too, so a second close gets the page with the store's refusal.
    let shift = state.store.shift(id).await?.ok_or(AppError::NotFound)?;
    let view = CloseView {
        staff: state.store.user(shift.staff_id).await?.map(|u| u.username),
        currency: drawer_currency(state).await?,
        shift,
        error,
    };
    Ok(render("manager_close_shift.html", &Page::of(cur), view)?.into_response())
}

async fn close_page(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    page_with(&state, &cur, id, None).await
}

/// Form of `POST /manager/shifts/{id}/close`.
#[derive(Debug, Deserialize)]
pub struct CloseForm {
    /// Cash counted in the drawer, as typed in currency units (`125.50`).
    pub declared_cash: String,
    /// Why the manager closes it (required).
    #[serde(default)]
    pub note: String,
}

async fn close(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    Form(f): Form<CloseForm>,
) -> AppResult<Response> {
    if f.note.trim().is_empty() {
        let m = "A note is required: say why you close this shift.".to_owned();
        return page_with(&state, &cur, id, Some(m)).await;
    }
    let closed = async {
        let req = CloseForStaff {
            declared_cash_minor: typed_amount(&state, "cs-cash-counted", &f.declared_cash).await?,
            note: f.note.trim().to_owned(),
        };
        close_shift_for_staff(&state, &cur, id, &req).await
    };
    match closed.await {
        Ok(s) => Ok(Redirect::to(&format!("/manager/locations/{}", s.location_id)).into_response()),
        Err(e) => {
            let m = e.page_message()?;
            page_with(&state, &cur, id, Some(m)).await
        }
    }
}
