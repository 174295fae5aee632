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

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, remove, deliveries))]
pub(crate) struct Doc;

#[utoipa::path(
    get,
    path = "/api/notifications/channels",
    summary = "Notification channels: a manager's own, all for an admin",
    responses(
        (status = 200, description = "The caller's channels", body = Vec<Channel>),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn list(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
) -> AppResult<Json<Vec<Channel>>> {
    Ok(Json(channels_of(&state, &cur).await?))
}

#[utoipa::path(
    post,
    path = "/api/notifications/channels",
    summary = "Add a notification channel (audited); its signing secret is shown once",
    request_body = NewChannel,
    responses(
        (status = 201, description = "Created, with its secret shown once", body = CreatedChannel),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
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

#[utoipa::path(
    delete,
    path = "/api/notifications/channels/{id}",
    summary = "Remove a notification channel (a manager only their own; audited)",
    params(("id" = Uuid, Path, description = "Channel id")),
    responses(
        (status = 204, description = "Removed"),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn remove(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    remove_channel(&state, &cur, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of the delivery list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// `pending`, `sent` or `dead`.
    pub state: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/notifications/deliveries",
    summary = "Notification deliveries, newest first (500 at most)",
    params(DeliveryQuery),
    responses(
        (status = 200, description = "Deliveries", body = Vec<DeliveryRow>),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AdminOnly>()))),
)]
async fn deliveries(
    State(state): State<AppState>,
    _: Auth<AdminOnly>,
    Query(q): Query<DeliveryQuery>,
) -> AppResult<Json<Vec<DeliveryRow>>> {
    Ok(Json(
        state.store.list_deliveries(q.state.as_deref(), 500).await?,
    ))
}
