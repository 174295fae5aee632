//! Users: admins create accounts with a role and locations, change them (disable, password,
//! location, language) and can end a user's sessions, over the API (`api`) or on the console's
//! users page (`pages`), both through the operations here; each user picks the language of
//! their own pages and mail ([`language`]).

mod api;
mod language;
mod pages;

pub(crate) use api::Doc;
pub use language::stored_choice;

use crate::app::{AppResult, AppState};
use crate::store::{now_ms, AuditEntry, NewUser, Store, User, UserChange};
use axum::Router;
use uuid::Uuid;

/// User routes: the JSON API, the console's users page and the language choice.
pub fn router() -> Router<AppState> {
    api::router()
        .merge(pages::router())
        .merge(language::router())
}

/// Create user `new` as `actor`, audited; `POST /api/auth/register` and the users page both
/// come here.
pub(crate) async fn create_user(store: &dyn Store, actor: &str, new: NewUser) -> AppResult<User> {
    let user = store.create_user(new).await?;
    let entry = AuditEntry {
        actor: actor.to_owned(),
        action: "user.create".into(),
        target: user.id.to_string(),
        detail: serde_json::json!({"username": user.username, "role": user.role, "location_ids": user.location_ids}),
    };
    store.audit(entry, now_ms()).await?;
    Ok(user)
}

/// Log `user` out everywhere at once as `actor` (their next request is refused), audited with
/// `detail` of how many sessions ended; returns that number. The API and the page record it
/// under different keys, which readers of the audit log already know.
pub(crate) async fn end_sessions(
    store: &dyn Store,
    actor: &str,
    user: &User,
    detail: impl FnOnce(u64) -> serde_json::Value,
) -> AppResult<u64> {
    let ended = store.delete_user_sessions(user.id).await?;
    let entry = AuditEntry {
        actor: actor.to_owned(),
        action: "user.end_sessions".into(),
        target: user.id.to_string(),
        detail: detail(ended),
    };
    store.audit(entry, now_ms()).await?;
    Ok(ended)
}

/// Apply `change` to user `id` as `actor` (audited by the store).
pub(crate) async fn change_user(
    store: &dyn Store,
    actor: &str,
    id: Uuid,
    change: UserChange,
) -> AppResult<User> {
    Ok(store.update_user(id, change, actor, now_ms()).await?)
}

#[cfg(test)]
mod tests;
