//! Users: admins create accounts with a role and locations.

use crate::app::{AppResult, AppState};
use crate::auth::{AdminOnly, Auth};
use crate::store::{now_ms, AuditEntry, NewUser, User};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};

/// User routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/auth/register", post(register))
}

async fn register(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Json(req): Json<NewUser>,
) -> AppResult<(StatusCode, Json<User>)> {
    let user = state.store.create_user(req).await?;
    let entry = AuditEntry {
        actor: cur.user.username.clone(),
        action: "user.create".into(),
        target: user.id.to_string(),
        detail: serde_json::json!({"username": user.username, "role": user.role, "location_ids": user.location_ids}),
    };
    state.store.audit(entry, now_ms()).await?;
    Ok((StatusCode::CREATED, Json(user)))
}
