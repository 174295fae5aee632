//! The staff counter's clock-in and clock-out forms (the counter itself is `tokens`' page).

use super::{clock_in, close, typed_amount, ClockIn};
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{Auth, StaffOnly};
use crate::refusal::Refusal;
use crate::tokens::dispense_page_with;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;
use uuid::Uuid;

/// The clock-in and clock-out forms' routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/shifts/clock-in", post(clock_in_form))
        .route("/shifts/clock-out", post(clock_out_form))
}

/// The clock-in form: the float is typed in currency units.
#[derive(Deserialize)]
pub struct ClockInForm {
    /// Cash in the drawer at the start, as typed (`25.00`).
    pub opening_float: String,
    /// Location; may be left out when the staff member belongs to exactly one.
    pub location_id: Option<Uuid>,
}

/// The clock-out form: the drawer is typed in currency units.
#[derive(Deserialize)]
pub struct ClockOutForm {
    /// Cash in the drawer at the end, as typed (`125.50`).
    pub declared_cash: String,
}

async fn clock_in_form(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
    Form(form): Form<ClockInForm>,
) -> AppResult<Response> {
    let opened = async {
        let req = ClockIn {
            opening_float_minor: typed_amount(&state, "opening-float", &form.opening_float).await?,
            location_id: form.location_id,
        };
        clock_in(&state, &cur, &req).await
    };
    match opened.await {
        Ok(_) => Ok(Redirect::to("/dispense").into_response()),
        // The one conflict of a clock-in (a second tab, a double press): said in the page's
        // words, where the API keeps its 409 and the store's English.
        Err(AppError::Conflict(_)) => {
            let m = Refusal::new("err-shift-already-open").text(crate::i18n::current());
            Ok(dispense_page_with(&state, &cur, Some(m))
                .await?
                .into_response())
        }
        Err(e) => Ok(dispense_page_with(&state, &cur, Some(e.page_message()?))
            .await?
            .into_response()),
    }
}

async fn clock_out_form(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
    Form(form): Form<ClockOutForm>,
) -> AppResult<Response> {
    // The drawer is checked the same way as over JSON.
    let closed = async {
        let declared = typed_amount(&state, "clock-out-cash", &form.declared_cash).await?;
        close(&state, &cur, declared).await
    };
    match closed.await {
        Ok(_) => Ok(Redirect::to("/login").into_response()),
        Err(e @ (AppError::BadRequest(_) | AppError::Refused(_))) => {
            Ok(dispense_page_with(&state, &cur, Some(e.page_message()?))
                .await?
                .into_response())
        }
        Err(e) => Err(e),
    }
}
