//! `POST /settings/language`: a logged-in user picks the language of their own pages and mail.

use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AnyRole, Auth};
use crate::i18n::Lang;
use crate::store::{now_ms, UserChange};
use axum::extract::State;
use axum::response::Redirect;
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;

/// The language route.
pub fn router() -> Router<AppState> {
    Router::new().route("/settings/language", post(choose))
}

/// Form of `POST /settings/language`.
#[derive(Debug, Deserialize)]
pub struct LanguageForm {
    /// `en`, `fr` or `sw`; empty to follow the browser again.
    #[serde(default)]
    pub language: String,
}

/// The stored value for a chosen language: `None` follows the browser. An unknown code is a
/// clear refusal, not a silent English.
pub fn stored_choice(code: &str) -> AppResult<Option<String>> {
    match code.trim() {
        "" => Ok(None),
        c => Lang::parse(c)
            .filter(|l| Lang::ALL.contains(l))
            .map(|l| Some(l.code().to_string()))
            .ok_or_else(|| {
                AppError::Refused(
                    crate::refusal::Refusal::new("err-unknown-language").arg("code", c),
                )
            }),
    }
}

async fn choose(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    Form(f): Form<LanguageForm>,
) -> AppResult<Redirect> {
    let change = UserChange {
        language: Some(stored_choice(&f.language)?),
        ..Default::default()
    };
    state
        .store
        .update_user(cur.user.id, change, &cur.user.username, now_ms())
        .await?;
    Ok(Redirect::to("/"))
}
