//! A location's reconciliation settings (cash variance threshold, daily close time, time zone)
//! as a form; saving calls what `PATCH /api/locations/{id}` calls (`routers::
//! change_location_settings`), which the store audits.

use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AdminOnly, Auth, CurrentUser};
use crate::shifts::{drawer_currency, typed_amount};
use crate::store::LocationSettingsChange;
use crate::web::render;
use crate::web::Page;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use uuid::Uuid;

/// Location settings routes.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/admin/locations/{id}/settings",
        get(settings_page).post(save),
    )
}

async fn page_with(
    state: &AppState,
    cur: &CurrentUser,
    id: Uuid,
    error: Option<String>,
) -> AppResult<Response> {
    let s = state
        .store
        .location_settings(id)
        .await?
        .ok_or(AppError::NotFound)?;
    let name = state
        .store
        .list_locations()
        .await?
        .into_iter()
        .find(|l| l.id == id)
        .map(|l| l.name)
        .unwrap_or_default();
    let currency = drawer_currency(state).await?;
    let ctx = serde_json::json!({"s": s, "name": name, "error": error, "currency": currency});
    Ok(render("admin_location.html", &Page::of(cur), ctx)?.into_response())
}

async fn settings_page(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    page_with(&state, &cur, id, None).await
}

/// Form of `POST /admin/locations/{id}/settings`.
#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    /// Cash variance beyond which a shift close raises an alert, as typed in currency units.
    pub cash_threshold: String,
    /// Daily close time, `HH:MM` in the location's zone.
    pub close_time: String,
    /// IANA zone name or fixed offset.
    pub timezone: String,
    /// Refunds above this (currency units) asked by staff wait for a manager; empty keeps it.
    #[serde(default)]
    pub refund_approval: String,
}

async fn save(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Path(id): Path<Uuid>,
    Form(f): Form<SettingsForm>,
) -> AppResult<Response> {
    let saved = async {
        let threshold = typed_amount(&state, "lo-cash-threshold", &f.cash_threshold).await?;
        let refund = if f.refund_approval.trim().is_empty() {
            None
        } else {
            Some(typed_amount(&state, "lo-refund-approval", &f.refund_approval).await?)
        };
        let change = LocationSettingsChange {
            timezone: Some(f.timezone.trim().to_owned()),
            cash_threshold_minor: Some(threshold),
            close_time: Some(f.close_time.trim().to_owned()),
            refund_approval_minor: refund,
        };
        crate::routers::change_location_settings(&state, &cur, id, &change).await
    };
    match saved.await {
        Ok(_) => Ok(Redirect::to("/admin/routers#location-list").into_response()),
        Err(e) => {
            let m = e.page_message()?;
            page_with(&state, &cur, id, Some(m)).await
        }
    }
}
