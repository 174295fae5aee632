//! Users: admins create accounts with a role and locations, and can end a user's sessions;
//! each user picks the language of their own pages and mail ([`language`]).

mod language;

pub use language::stored_choice;

use crate::app::AppError;
use crate::app::{AppResult, AppState};
use crate::auth::{AdminOnly, Auth};
use crate::store::{now_ms, AuditEntry, NewUser, User};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};

/// User routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(register))
        .route("/api/users/{id}/end-sessions", post(end_sessions))
        .merge(language::router())
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
    state.store.user(id).await?.ok_or(AppError::NotFound)?;
    let ended = state.store.delete_user_sessions(id).await?;
    let entry = AuditEntry {
        actor: cur.user.username.clone(),
        action: "user.end_sessions".into(),
        target: id.to_string(),
        detail: serde_json::json!({ "ended": ended }),
    };
    state.store.audit(entry, now_ms()).await?;
    Ok(Json(SessionsEnded { ended }))
}

/// How many sessions `POST /api/users/{id}/end-sessions` ended.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SessionsEnded {
    /// Sessions deleted.
    pub ended: u64,
}

#[cfg(test)]
mod tests {
    use crate::testutil::test_app;
    use axum::http::StatusCode;

    #[tokio::test]
    async fn an_admin_ends_a_users_sessions_at_once() {
        let app = test_app().await;
        let (staff, _) = app.login("staff").await;
        let (admin, _) = app.login("admin").await;
        let path = format!("/api/users/{}/end-sessions", app.f.staff.id);
        let denied = app.json("POST", &path, Some(&staff), None).await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        let r = app.json("POST", &path, Some(&admin), None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json()["ended"], 1);
        let after = app.json("GET", "/api/auth/me", Some(&staff), None).await;
        assert_eq!(after.status, StatusCode::UNAUTHORIZED);
        let missing = format!("/api/users/{}/end-sessions", uuid::Uuid::new_v4());
        assert_eq!(
            app.json("POST", &missing, Some(&admin), None).await.status,
            StatusCode::NOT_FOUND
        );
    }
}
