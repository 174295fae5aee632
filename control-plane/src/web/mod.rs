//! The web layer shared by every page: templates (embedded, auto-escaped), the page context,
//! security headers, static files, the home redirect, and CSV export of table views.

use crate::app::AppState;
use crate::auth::{CurrentUser, MaybeUser};
use crate::i18n::Lang;
use crate::store::Role;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

pub mod csv;
pub mod error_page;
mod templates;

pub use csv::{csv_body, csv_response, Format};
pub use templates::{env as templates, render};

const HTMX: &str = include_str!("../../static/htmx.min.js");
const CSS: &str = include_str!("../../static/mtm.css");
const PRINT_JS: &str = include_str!("../../static/print.js");

/// A whole number typed into the field labelled `field` (its message key); empty is none.
pub fn opt_u64(s: &str, field: &'static str) -> crate::app::AppResult<Option<u64>> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| {
        crate::app::AppError::Refused(
            crate::refusal::Refusal::new("err-whole-number").in_field(field),
        )
    })
}

/// Midnight UTC of today, unix ms.
pub fn start_of_today(now: i64) -> i64 {
    now - now.rem_euclid(86_400_000)
}

/// Unix ms as `YYYY-MM-DD HH:MM UTC`.
pub fn utc_minute(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

/// Unix ms → `2026-12-03 06:20:15 UTC`, for handlers that build text themselves.
pub fn datetime_text(ms: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// What every page's layout needs: who is logged in, the CSRF token for its forms, and the
/// language it is written in.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Page {
    /// The language of the page: the user's choice, else the browser's.
    pub lang: Lang,
    /// The languages a user can choose, for the menu in the layout.
    pub langs: Vec<LangChoice>,
    /// Logged-in username.
    pub username: Option<String>,
    /// Their role.
    pub role: Option<Role>,
    /// CSRF token for forms and htmx requests.
    pub csrf: Option<String>,
}

impl Page {
    /// A page for nobody in particular (login).
    pub fn anonymous() -> Self {
        Page {
            lang: crate::i18n::current(),
            ..Page::default()
        }
    }

    /// A page for `cur`.
    pub fn of(cur: &CurrentUser) -> Self {
        let chosen = cur.user.language.as_deref().and_then(Lang::parse);
        Page {
            lang: lang_for(cur),
            langs: Lang::ALL
                .iter()
                .map(|l| LangChoice {
                    code: l.code(),
                    name: l.name(),
                    chosen: chosen == Some(*l),
                })
                .collect(),
            username: Some(cur.user.username.clone()),
            role: Some(cur.user.role),
            csrf: Some(cur.session.csrf.clone()),
        }
    }
}

/// The language `cur` reads: their own choice, else their browser's.
pub fn lang_for(cur: &CurrentUser) -> Lang {
    cur.user
        .language
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_else(crate::i18n::current)
}

/// The typed confirmation (`admin_confirm.html`) that guards an emergency action: what is
/// asked, what it acts on, the word to type, and where the form goes.
#[derive(Debug, Serialize)]
pub struct ConfirmView {
    /// Message key of the action: the title and the button.
    pub words: &'static str,
    /// Message key of the kind of thing acted on.
    pub what: &'static str,
    /// Its name.
    pub target: String,
    /// What must be typed to confirm.
    pub confirm_word: String,
    /// Whether a reason is asked as well.
    pub ask_reason: bool,
    /// Where the form posts.
    pub action_url: String,
    /// Why the last try was refused.
    pub error: Option<String>,
}

/// One entry of the language menu.
#[derive(Debug, Clone, Serialize)]
pub struct LangChoice {
    /// Its code, the value sent.
    pub code: &'static str,
    /// Its name in itself.
    pub name: &'static str,
    /// Whether the user chose it (none is when they follow the browser).
    pub chosen: bool,
}

/// Static files and the home redirect.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/static/htmx.min.js", get(htmx))
        .route("/static/mtm.css", get(css))
        .route("/static/print.js", get(print_js))
}

async fn home(MaybeUser(user): MaybeUser) -> Redirect {
    match user.map(|u| u.user.role) {
        None => Redirect::to("/login"),
        Some(Role::Staff) => Redirect::to("/dispense"),
        Some(_) => Redirect::to("/manager"),
    }
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

async fn htmx() -> Response {
    asset(HTMX, "text/javascript; charset=utf-8")
}

async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

async fn print_js() -> Response {
    asset(PRINT_JS, "text/javascript; charset=utf-8")
}

/// Security headers on every response. No inline scripts or styles are allowed by the CSP; htmx
/// is told (in the layout) not to inject its indicator styles.
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    );
    set(h, "x-frame-options", "DENY");
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "no-referrer");
    if state.settings.secure_cookies {
        set(
            h,
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_to_the_minute_in_utc() {
        assert_eq!(utc_minute(1_796_282_759_999), "2026-12-03 07:25 UTC");
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
    }

    #[test]
    fn templates_parse_and_escape() {
        let env = templates().unwrap();
        let out = env
            .get_template("login.html")
            .unwrap()
            .render(minijinja::context! { page => Page::anonymous(), username => "<script>\"x" })
            .unwrap();
        assert!(!out.contains("<script>\"x"));
        assert!(out.contains("&lt;script&gt;"));
    }
}
