//! The alert API: alerts listed, acknowledged or resolved with a note.

use super::change_state;
use crate::app::{AppResult, AppState};
use crate::auth::{Auth, ManagerUp};
use crate::store::{Alert, AlertFilter, AlertState};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

/// The alert API's routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/alerts", get(list))
        .route("/api/alerts/{id}/acknowledge", post(acknowledge))
        .route("/api/alerts/{id}/resolve", post(resolve))
}

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, acknowledge, resolve))]
pub(crate) struct Doc;

#[utoipa::path(
    get,
    path = "/api/alerts",
    summary = "Alerts, newest first",
    params(AlertFilter),
    responses(
        (status = 200, description = "Alerts", body = Vec<Alert>),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn list(
    State(state): State<AppState>,
    _: Auth<ManagerUp>,
    Query(filter): Query<AlertFilter>,
) -> AppResult<Json<Vec<Alert>>> {
    Ok(Json(state.store.list_alerts(&filter).await?))
}

/// Body of acknowledge and resolve.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct AlertNote {
    /// What was found or done; required to resolve.
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(
    post,
    path = "/api/alerts/{id}/acknowledge",
    summary = "Acknowledge an alert with a note",
    params(("id" = Uuid, Path, description = "Alert id")),
    request_body = AlertNote,
    responses(
        (status = 200, description = "The alert now", body = Alert),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn acknowledge(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    Json(body): Json<AlertNote>,
) -> AppResult<Json<Alert>> {
    let alert = change_state(
        &*state.store,
        &cur.user.username,
        id,
        AlertState::Acknowledged,
        &body.note,
    )
    .await?;
    Ok(Json(alert))
}

#[utoipa::path(
    post,
    path = "/api/alerts/{id}/resolve",
    summary = "Resolve an alert (a note is required)",
    params(("id" = Uuid, Path, description = "Alert id")),
    request_body = AlertNote,
    responses(
        (status = 200, description = "The alert now", body = Alert),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn resolve(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    Json(body): Json<AlertNote>,
) -> AppResult<Json<Alert>> {
    let alert = change_state(
        &*state.store,
        &cur.user.username,
        id,
        AlertState::Resolved,
        &body.note,
    )
    .await?;
    Ok(Json(alert))
}
