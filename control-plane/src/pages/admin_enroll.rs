//! Enrolling a router's agent with a one-time code, and revoking an agent, from the routers
//! page; both call what the JSON routes call (`enrollment::issue_code`, `revoke_router`), which
//! the store audits. Revoking is confirmed twice: a button, then the agent id typed.

use super::admin::routers_page;
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AdminOnly, Auth, CurrentUser};
use crate::web::render;
use crate::web::Format;
use crate::web::Page;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use uuid::Uuid;

/// Enrollment routes of the admin pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/routers/{id}/enrollment-code", post(new_code))
        .route("/admin/routers/{id}/revoke", get(confirm_page).post(revoke))
}

async fn new_code(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let router = state.store.router(id).await?.ok_or(AppError::NotFound)?;
    let code = match crate::enrollment::issue_code(&state, &cur, id, None).await {
        Ok(code) => code,
        Err(e) => {
            let m = e.page_message()?;
            return routers_page(&state, &cur, &Format::default(), None, Some(m), None).await;
        }
    };
    // Shown this once; only its hash is stored.
    let shown = serde_json::json!({
        "router": router.name, "agent_id": code.agent_id, "code": code.code,
        "expires": crate::web::utc_minute(code.expires_at),
    });
    routers_page(&state, &cur, &Format::default(), None, None, Some(shown)).await
}

async fn confirm_with(
    state: &AppState,
    cur: &CurrentUser,
    id: Uuid,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let router = state.store.router(id).await?.ok_or(AppError::NotFound)?;
    render(
        "admin_confirm.html",
        &Page::of(cur),
        serde_json::json!({
            "words": "cf-revoke", "error": error, "what": "cf-router",
            "target": router.name, "confirm_word": router.agent_id,
            "action_url": format!("/admin/routers/{}/revoke", router.id),
        }),
    )
}

async fn confirm_page(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Path(id): Path<Uuid>,
) -> AppResult<Html<String>> {
    confirm_with(&state, &cur, id, None).await
}

/// Form of the typed confirmation.
#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    /// Must equal the router's agent id.
    #[serde(default)]
    pub confirm: String,
}

async fn revoke(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Path(id): Path<Uuid>,
    Form(f): Form<RevokeForm>,
) -> AppResult<Response> {
    let router = state.store.router(id).await?.ok_or(AppError::NotFound)?;
    if f.confirm.trim() != router.agent_id {
        let m = crate::i18n::tr(crate::web::lang_for(&cur), "cf-name-mismatch");
        return Ok(confirm_with(&state, &cur, id, Some(m))
            .await?
            .into_response());
    }
    if let Err(e) = crate::enrollment::revoke_router(&state, &cur, id).await {
        // Revoked here but not on the broker: the routers page says so, to try again.
        let m = e.page_message()?;
        return routers_page(&state, &cur, &Format::default(), None, Some(m), None).await;
    }
    Ok(Redirect::to("/admin/routers").into_response())
}
