//! The admin console's users: list, create, disable or enable, reset a password, assign a
//! location, end sessions; every change audited (by the operations in [`super`]).

use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AdminOnly, Auth, CurrentUser};
use crate::i18n::{tr_args, Lang};
use crate::store::{Location, NewUser, Role, User, UserChange};
use crate::web::render;
use crate::web::{csv_response, Format};
use crate::web::{lang_for, Page};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// The users page's routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users).post(create_user))
        .route("/admin/users/{id}", post(change_user))
}

/// One user of the table: their locations by name, their language by name, and whether it is
/// the admin looking (who may not disable themselves).
#[derive(Debug, Serialize)]
struct UserRow<'a> {
    user: &'a User,
    locations: String,
    is_self: bool,
    language: Option<&'static str>,
}

/// The users page: every user, the locations to assign, and what the last change did.
#[derive(Debug, Serialize)]
struct UsersView<'a> {
    users: Vec<UserRow<'a>>,
    locations: &'a [Location],
    message: Option<String>,
    error: Option<String>,
}

async fn users_page(
    state: &AppState,
    cur: &CurrentUser,
    f: &Format,
    message: Option<String>,
    error: Option<String>,
) -> AppResult<Response> {
    let locations = state.store.list_locations().await?;
    let names: HashMap<Uuid, String> = locations.iter().map(|l| (l.id, l.name.clone())).collect();
    let users = state.store.list_users().await?;
    let located = |ids: &[Uuid]| {
        ids.iter()
            .filter_map(|i| names.get(i).cloned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if f.csv() {
        let rows: Vec<Vec<String>> = users
            .iter()
            .map(|u| {
                vec![
                    u.username.clone(),
                    u.role.as_str().into(),
                    located(&u.location_ids),
                    u.disabled.to_string(),
                    u.created_at.to_string(),
                ]
            })
            .collect();
        let head = &["username", "role", "locations", "disabled", "created_at_ms"];
        return Ok(csv_response("users", head, &rows));
    }
    let view = UsersView {
        users: users
            .iter()
            .map(|u| UserRow {
                user: u,
                locations: located(&u.location_ids),
                is_self: u.id == cur.user.id,
                language: u.language.as_deref().and_then(Lang::parse).map(Lang::name),
            })
            .collect(),
        locations: &locations,
        message,
        error,
    };
    Ok(render("admin_users.html", &Page::of(cur), view)?.into_response())
}

async fn users(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Query(f): Query<Format>,
) -> AppResult<Response> {
    users_page(&state, &cur, &f, None, None).await
}

fn parse_location(s: &str) -> Result<Vec<Uuid>, String> {
    match s.trim() {
        "" => Ok(Vec::new()),
        id => Uuid::parse_str(id)
            .map(|id| vec![id])
            .map_err(|_| "unknown location".to_owned()),
    }
}

/// Form of `POST /admin/users`.
#[derive(Debug, Deserialize)]
pub struct UserForm {
    /// Login name.
    pub username: String,
    /// First password.
    pub password: String,
    /// `staff`, `manager` or `super_admin`.
    pub role: String,
    /// A location id, or empty for none.
    #[serde(default)]
    pub location_id: String,
}

async fn create_user(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Form(f): Form<UserForm>,
) -> AppResult<Response> {
    let none = Format::default();
    let Some(role) = Role::parse(&f.role) else {
        return users_page(&state, &cur, &none, None, Some("unknown role".into())).await;
    };
    let location_ids = match parse_location(&f.location_id) {
        Ok(l) => l,
        Err(m) => return users_page(&state, &cur, &none, None, Some(m)).await,
    };
    let new = NewUser {
        username: f.username,
        password: f.password,
        role,
        location_ids,
    };
    match super::create_user(&*state.store, &cur.user.username, new).await {
        Ok(u) => {
            let msg = tr_args(
                lang_for(&cur),
                "us-created",
                &[("name", u.username.clone().into())],
            );
            users_page(&state, &cur, &none, Some(msg), None).await
        }
        Err(e) => {
            let m = e.page_message()?;
            users_page(&state, &cur, &none, None, Some(m)).await
        }
    }
}

/// Form of `POST /admin/users/{id}`.
#[derive(Debug, Deserialize)]
pub struct ChangeForm {
    /// `disable`, `enable`, `password`, `location`, `language` or `end-sessions`.
    pub action: String,
    /// New password (`password`).
    #[serde(default)]
    pub password: String,
    /// Location id, or empty for none (`location`).
    #[serde(default)]
    pub location_id: String,
    /// Language code, or empty to follow the browser (`language`).
    #[serde(default)]
    pub language: String,
}

async fn change_user(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Path(id): Path<Uuid>,
    Form(f): Form<ChangeForm>,
) -> AppResult<Response> {
    let none = Format::default();
    let user = state.store.user(id).await?.ok_or(AppError::NotFound)?;
    let change = match f.action.as_str() {
        "end-sessions" => {
            let n = super::end_sessions(
                &*state.store,
                &cur.user.username,
                &user,
                |n| serde_json::json!({"username": user.username, "sessions": n}),
            )
            .await?;
            let args = [("n", n.into()), ("name", user.username.clone().into())];
            let msg = tr_args(lang_for(&cur), "us-sessions-ended", &args);
            return users_page(&state, &cur, &none, Some(msg), None).await;
        }
        // Locking oneself out would leave no one to undo it.
        "disable" if user.id == cur.user.id => {
            let m = crate::i18n::tr(crate::web::lang_for(&cur), "us-not-yourself");
            return users_page(&state, &cur, &none, None, Some(m)).await;
        }
        "disable" => UserChange {
            disabled: Some(true),
            ..Default::default()
        },
        "enable" => UserChange {
            disabled: Some(false),
            ..Default::default()
        },
        "password" => UserChange {
            password: Some(f.password),
            ..Default::default()
        },
        "location" => match parse_location(&f.location_id) {
            Ok(l) => UserChange {
                location_ids: Some(l),
                ..Default::default()
            },
            Err(m) => return users_page(&state, &cur, &none, None, Some(m)).await,
        },
        "language" => UserChange {
            language: Some(super::stored_choice(&f.language)?),
            ..Default::default()
        },
        _ => {
            return Err(AppError::Refused(crate::refusal::Refusal::new(
                "err-unknown-action",
            )))
        }
    };
    match super::change_user(&*state.store, &cur.user.username, id, change).await {
        Ok(u) => {
            let msg = tr_args(
                lang_for(&cur),
                "us-updated",
                &[("name", u.username.clone().into())],
            );
            users_page(&state, &cur, &none, Some(msg), None).await
        }
        Err(e) => {
            let m = e.page_message()?;
            users_page(&state, &cur, &none, None, Some(m)).await
        }
    }
}
