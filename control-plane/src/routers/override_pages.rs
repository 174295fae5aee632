//! Emergency overrides of one router: disable every voucher on it, or log out everyone on it.
//! Each is confirmed twice (a button, then the agent id typed) and audited
//! ([`super::send_override`]); the command goes to the agent at once, or when it reconnects.

use super::send_override;
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AdminOnly, Auth, CurrentUser};
use crate::web::{render, ConfirmView, Page};
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use mtm_common::CommandKind;
use serde::Deserialize;
use uuid::Uuid;

/// Override routes.
pub(super) fn router() -> Router<AppState> {
    Router::new().route(
        "/admin/routers/{id}/override/{action}",
        get(confirm_page).post(override_router),
    )
}

/// An emergency override of one router.
#[derive(Debug, Clone, Copy)]
enum Override {
    DisableAll,
    LogoutAll,
}

impl Override {
    fn parse(s: &str) -> AppResult<Self> {
        match s {
            "disable-all" => Ok(Override::DisableAll),
            "logout-all" => Ok(Override::LogoutAll),
            _ => Err(AppError::NotFound),
        }
    }

    /// The message key of what the confirm page asks.
    fn words(self) -> &'static str {
        match self {
            Override::DisableAll => "cf-disable-all",
            Override::LogoutAll => "cf-logout-all",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Override::DisableAll => "disable-all",
            Override::LogoutAll => "logout-all",
        }
    }

    fn command(self) -> CommandKind {
        match self {
            Override::DisableAll => CommandKind::DisableAll,
            Override::LogoutAll => CommandKind::LogoutAll,
        }
    }
}

async fn confirm_page(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Path((id, action)): Path<(Uuid, String)>,
) -> AppResult<Html<String>> {
    confirm_with(&state, &cur, id, Override::parse(&action)?, None).await
}

async fn confirm_with(
    state: &AppState,
    cur: &CurrentUser,
    id: Uuid,
    what: Override,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let router = state.store.router(id).await?.ok_or(AppError::NotFound)?;
    let view = ConfirmView {
        words: what.words(),
        what: "cf-router",
        action_url: format!("/admin/routers/{}/override/{}", router.id, what.slug()),
        target: router.name,
        confirm_word: router.agent_id,
        ask_reason: false,
        error,
    };
    render("admin_confirm.html", &Page::of(cur), view)
}

/// Form of the typed confirmation.
#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    /// Must equal the router's agent id.
    #[serde(default)]
    pub confirm: String,
}

async fn override_router(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Path((id, action)): Path<(Uuid, String)>,
    Form(f): Form<ConfirmForm>,
) -> AppResult<Response> {
    let what = Override::parse(&action)?;
    let router = state.store.router(id).await?.ok_or(AppError::NotFound)?;
    if f.confirm.trim() != router.agent_id {
        let m = crate::i18n::tr(crate::web::lang_for(&cur), "cf-name-mismatch");
        return Ok(confirm_with(&state, &cur, id, what, Some(m))
            .await?
            .into_response());
    }
    send_override(
        &state,
        &cur.user.username,
        &router,
        what.command(),
        what.slug(),
    )
    .await?;
    Ok(Redirect::to("/admin/routers").into_response())
}
