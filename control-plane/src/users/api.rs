//! The user API: an admin creates a user, or ends every session of one.

use super::{create_user, end_sessions as end_sessions_of};
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AdminOnly, Auth};
use crate::store::{NewUser, User};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};

/// The user API's routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(register))
        .route("/api/users/{id}/end-sessions", post(end_sessions))
}

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(register, end_sessions))]
pub(crate) struct Doc;

#[utoipa::path(
    post,
    path = "/api/auth/register",
    summary = "Create a user (admin only)",
    request_body = NewUser,
    responses(
        (status = 201, description = "Created", body = User),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AdminOnly>()))),
)]
async fn register(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Json(req): Json<NewUser>,
) -> AppResult<(StatusCode, Json<User>)> {
    let user = create_user(&*state.store, &cur.user.username, req).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Log a user out everywhere at once (their next request is refused).
#[utoipa::path(
    post,
    path = "/api/users/{id}/end-sessions",
    summary = "End every session of a user at once",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "How many sessions ended", body = SessionsEnded),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AdminOnly>()))),
)]
async fn end_sessions(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Path(id): Path<uuid::Uuid>,
) -> AppResult<Json<SessionsEnded>> {
    let user = state.store.user(id).await?.ok_or(AppError::NotFound)?;
    let ended = end_sessions_of(
        &*state.store,
        &cur.user.username,
        &user,
        |ended| serde_json::json!({ "ended": ended }),
    )
    .await?;
    Ok(Json(SessionsEnded { ended }))
}

/// How many sessions `POST /api/users/{id}/end-sessions` ended.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SessionsEnded {
    /// Sessions deleted.
    pub ended: u64,
}
