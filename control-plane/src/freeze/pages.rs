//! The admin's freeze and thaw pages: the location named, the action confirmed twice, then
//! applied and audited.

use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AdminOnly, Auth, CurrentUser};
use crate::store::now_ms;
use crate::web::Page;
use crate::web::{render, ConfirmView};
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use uuid::Uuid;

/// The freeze and thaw pages.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/admin/locations/{id}/{action}",
        get(confirm_page).post(apply),
    )
}

fn freezing(action: &str) -> AppResult<bool> {
    match action {
        "freeze" => Ok(true),
        "thaw" => Ok(false),
        _ => Err(AppError::NotFound),
    }
}

async fn confirm_with(
    state: &AppState,
    cur: &CurrentUser,
    id: Uuid,
    freeze: bool,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let l = state
        .store
        .list_locations()
        .await?
        .into_iter()
        .find(|l| l.id == id)
        .ok_or(AppError::NotFound)?;
    let (words, action) = if freeze {
        ("cf-freeze", "freeze")
    } else {
        ("cf-thaw", "thaw")
    };
    let view = ConfirmView {
        words,
        what: "cf-location",
        target: l.name,
        confirm_word: action.to_owned(),
        ask_reason: true,
        action_url: format!("/admin/locations/{}/{action}", l.id),
        error,
    };
    render("admin_confirm.html", &Page::of(cur), view)
}

async fn confirm_page(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Path((id, action)): Path<(Uuid, String)>,
) -> AppResult<Html<String>> {
    confirm_with(&state, &cur, id, freezing(&action)?, None).await
}

/// Form of the typed confirmation.
#[derive(Debug, Deserialize)]
pub struct FreezeForm {
    /// Must be the action's word (`freeze` or `thaw`).
    #[serde(default)]
    pub confirm: String,
    /// Why, for the audit log and the staff's error message.
    #[serde(default)]
    pub reason: String,
}

async fn apply(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Path((id, action)): Path<(Uuid, String)>,
    Form(f): Form<FreezeForm>,
) -> AppResult<Response> {
    let freeze = freezing(&action)?;
    if f.confirm.trim() != action || f.reason.trim().is_empty() {
        let m = crate::i18n::tr(crate::web::lang_for(&cur), "cf-word-and-reason");
        return Ok(confirm_with(&state, &cur, id, freeze, Some(m))
            .await?
            .into_response());
    }
    state
        .store
        .set_location_frozen(id, freeze, f.reason.trim(), &cur.user.username, now_ms())
        .await?;
    Ok(Redirect::to("/admin/routers").into_response())
}
