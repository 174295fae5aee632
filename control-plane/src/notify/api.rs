//! JSON routes for notification channels and the dead-letter list.

use super::{add_channel, channels_of, remove_channel, CreatedChannel, NewChannel};
use crate::app::{AppResult, AppState};
use crate::auth::{AdminOnly, Auth, ManagerUp};
use crate::store::{Channel, DeliveryRow};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

/// Notification routes: JSON and the page.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/notifications/channels", get(list).post(create))
        .route("/api/notifications/channels/{id}", delete(remove))
        .route("/api/notifications/deliveries", get(deliveries))
        .merge(super::pages::router())
}

async fn list(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
) -> AppResult<Json<Vec<Channel>>> {
    Ok(Json(channels_of(&state, &cur).await?))
}

async fn create(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Json(req): Json<NewChannel>,
) -> AppResult<(StatusCode, Json<CreatedChannel>)> {
    Ok((
        StatusCode::CREATED,
        Json(add_channel(&state, &cur, &req).await?),
    ))
}

async fn remove(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    remove_channel(&state, &cur, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of the delivery list.
#[derive(Deserialize)]
pub struct DeliveryQuery {
    /// `pending`, `sent` or `dead`.
    pub state: Option<String>,
}

async fn deliveries(
    State(state): State<AppState>,
    _: Auth<AdminOnly>,
    Query(q): Query<DeliveryQuery>,
) -> AppResult<Json<Vec<DeliveryRow>>> {
    Ok(Json(
        state.store.list_deliveries(q.state.as_deref(), 500).await?,
    ))
}
