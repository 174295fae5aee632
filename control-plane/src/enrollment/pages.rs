//! Enrolling a router's agent with a one-time code, and revoking an agent, from the routers
//! page; both call what the JSON routes call ([`super::issue_code`], [`super::revoke_router`]),
//! which the store audits. Revoking is confirmed twice: a button, then the agent id typed.

use crate::admin::{routers_page, NewCode, Shown};
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AdminOnly, Auth, CurrentUser};
use crate::web::{render, ConfirmView, Format, Page};
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use uuid::Uuid;

/// Enrollment routes of the admin pages.
pub(super) fn router() -> Router<AppState> {
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
    let shown = match super::issue_code(&state, &cur, id, None).await {
        // Shown this once; only its hash is stored.
        Ok(code) => Shown {
            code: Some(NewCode {
                router: router.name,
                agent_id: code.agent_id,
                code: code.code,
                expires: crate::web::utc_minute(code.expires_at),
            }),
            ..Shown::default()
        },
        Err(e) => Shown::error(e.page_message()?),
    };
    routers_page(&state, &cur, &Format::default(), shown).await
}

async fn confirm_with(
    state: &AppState,
    cur: &CurrentUser,
    id: Uuid,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let router = state.store.router(id).await?.ok_or(AppError::NotFound)?;
    let view = ConfirmView {
        words: "cf-revoke",
        what: "cf-router",
        action_url: format!("/admin/routers/{}/revoke", router.id),
        target: router.name,
        confirm_word: router.agent_id,
        ask_reason: false,
        error,
    };
    render("admin_confirm.html", &Page::of(cur), view)
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
    if let Err(e) = super::revoke_router(&state, &cur, id).await {
        // Revoked here but not on the broker: the routers page says so, to try again.
        let m = e.page_message()?;
        return routers_page(&state, &cur, &Format::default(), Shown::error(m)).await;
    }
    Ok(Redirect::to("/admin/routers").into_response())
}
