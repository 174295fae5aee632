//! The admin's router and location forms: a router made at a location (its MQTT login shown
//! once on the routers page), a location added, and a location's reconciliation settings (cash
//! variance threshold, daily close time, time zone, refund approval). Each calls what the JSON
//! routes call; the store audits the settings.

use super::{change_location_settings, create_location, create_router, EnrollRouter};
use crate::admin::{routers_page, NewLogin, Shown};
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AdminOnly, Auth, CurrentUser};
use crate::shifts::{drawer_currency, typed_amount};
use crate::store::{LocationSettings, LocationSettingsChange, NewLocation};
use crate::web::{render, Format, Page};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The router and location forms' routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/routers", post(new_router))
        .route("/admin/locations", post(new_location))
        .route(
            "/admin/locations/{id}/settings",
            get(settings_page).post(save),
        )
}

/// Form of `POST /admin/routers`.
#[derive(Debug, Deserialize)]
pub struct RouterForm {
    /// Location.
    pub location_id: Uuid,
    /// Display name.
    pub name: String,
    /// Agent id (its MQTT username).
    pub agent_id: String,
    /// The agent's ed25519 public key, hex; empty to enroll it with a code instead.
    pub public_key_hex: String,
}

async fn new_router(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Form(form): Form<RouterForm>,
) -> AppResult<Response> {
    let req = EnrollRouter {
        location_id: form.location_id,
        name: form.name,
        agent_id: form.agent_id.trim().to_owned(),
        public_key_hex: form.public_key_hex.trim().to_owned(),
    };
    let shown = match create_router(&state, &cur.user.username, req).await {
        // Without a key the router waits for an enrollment code, which issues the login then.
        Ok((_, password)) if password.is_empty() => Shown::default(),
        // Shown this once; only its hash is stored.
        Ok((router, password)) => Shown {
            login: Some(NewLogin {
                name: router.name,
                agent_id: router.agent_id,
                mqtt_password: password,
                control_plane_public_key: state.settings.control_plane_public_key.clone(),
                mqtt_addr: state.settings.mqtt_addr.to_string(),
            }),
            ..Shown::default()
        },
        Err(e) => Shown::error(e.page_message()?),
    };
    routers_page(&state, &cur, &Format::default(), shown).await
}

async fn new_location(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Form(form): Form<NewLocation>,
) -> AppResult<Response> {
    match create_location(&state, &cur.user.username, form).await {
        Ok(_) => Ok(Redirect::to("/admin/routers").into_response()),
        Err(e) => {
            let m = e.page_message()?;
            routers_page(&state, &cur, &Format::default(), Shown::error(m)).await
        }
    }
}

/// The location settings form, in the currency of the drawers.
#[derive(Debug, Serialize)]
struct SettingsView {
    settings: LocationSettings,
    name: String,
    currency: String,
    error: Option<String>,
}

async fn page_with(
    state: &AppState,
    cur: &CurrentUser,
    id: Uuid,
    error: Option<String>,
) -> AppResult<Response> {
    let settings = state
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
    let view = SettingsView {
        settings,
        name,
        currency: drawer_currency(state).await?,
        error,
    };
    Ok(render("admin_location.html", &Page::of(cur), view)?.into_response())
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
        change_location_settings(&state, &cur, id, &change).await
    };
    match saved.await {
        Ok(_) => Ok(Redirect::to("/admin/routers#location-list").into_response()),
        Err(e) => {
            let m = e.page_message()?;
            page_with(&state, &cur, id, Some(m)).await
        }
    }
}
