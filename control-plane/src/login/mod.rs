//! Login and logout, for browsers (form + cookie) and scripts (JSON + bearer token).

use crate::app::AppResult;
use crate::app::{AppError, AppState};
use crate::auth::*;
use crate::store::AuditEntry;
use crate::store::{now_ms, Session, User};
use crate::web::{render, Page};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Redirect;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use axum_extra::extract::cookie::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};

/// Login and logout routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_form))
        .route("/logout", post(logout_form))
        .route("/api/auth/login", post(login_json))
        .route("/api/auth/logout", post(logout_json))
        .route("/api/auth/me", get(me))
}

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(login_json, logout_json, me))]
pub(crate) struct Doc;

/// Credentials, from a form or JSON.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    /// Username.
    pub username: String,
    /// Password (never logged).
    pub password: String,
}

/// Successful API login.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// JWT for `Authorization: Bearer`.
    pub token: String,
    /// When it stops working (unix ms).
    pub expires_at: i64,
    /// CSRF token, needed only when sending the JWT as a cookie.
    pub csrf_token: String,
    /// Who logged in.
    pub user: User,
}

/// The answer to an attempt the limits refused.
fn refused(r: Refusal) -> AppError {
    match r {
        Refusal::Limited | Refusal::Unavailable => AppError::TooManyRequests,
        Refusal::Busy => AppError::Busy,
    }
}

fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

async fn do_login(
    state: &AppState,
    req: &LoginRequest,
    addr: &str,
) -> AppResult<(User, Session, String)> {
    // Counted under the name as stored names are compared: `Admin` and `ａｄｍｉｎ` are `admin`.
    let account = crate::store::credentials::username_key(&req.username);
    let store = state.store.as_ref();
    let limiter = state.limiter.as_ref();
    let attempt = limiter
        .reserve_login(store, &account, addr)
        .await
        .map_err(refused)?;
    // The attempt is counted already; hashing waits for one of the few slots.
    let slot = match limiter.hash_slot().await {
        Ok(slot) => slot,
        Err(e) => {
            attempt.abandoned(store).await;
            return Err(refused(e));
        }
    };
    let checked = store
        .check_password(req.username.trim(), &req.password)
        .await;
    drop(slot);
    let user = match checked {
        Ok(Some(user)) => user,
        Ok(None) => {
            attempt.failed(store, limiter).await;
            tracing::info!(
                username = %req.username.trim().escape_debug(),
                addr,
                "failed login"
            );
            return Err(AppError::Unauthenticated);
        }
        Err(e) => {
            attempt.abandoned(store).await;
            return Err(e.into());
        }
    };
    attempt.succeeded(store).await;
    let session = Session {
        id: random_hex(),
        user_id: user.id,
        csrf: random_hex(),
        expires_at: now_ms() + SESSION_TTL_MS,
    };
    state.store.create_session(&session).await?;
    let entry = AuditEntry {
        actor: user.username.clone(),
        action: "auth.login".into(),
        target: user.id.to_string(),
        detail: serde_json::json!({ "addr": addr }),
    };
    state.store.audit(entry, now_ms()).await?;
    let jwt = issue_jwt(&state.jwt, &session)?;
    Ok((user, session, jwt))
}

#[utoipa::path(
    post,
    path = "/api/auth/login",
    summary = "Log in; returns a JWT for Authorization: Bearer",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
    ),
)]
async fn login_json(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Json(req): Json<LoginRequest>,
) -> AppResult<Json<LoginResponse>> {
    let (user, session, token) = do_login(&state, &req, &addr).await?;
    Ok(Json(LoginResponse {
        token,
        expires_at: session.expires_at,
        csrf_token: session.csrf,
        user,
    }))
}

async fn login_page(
    MaybeUser(user): MaybeUser,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Response {
    if user.is_some() {
        return Redirect::to("/").into_response();
    }
    let view = LoginView {
        ended: q.ended.is_some(),
        ..LoginView::default()
    };
    render("login.html", &Page::anonymous(), view).into_response()
}

/// Query of the login page: `?ended=1` when a page sent the browser here because its session
/// had ended.
#[derive(Debug, Default, serde::Deserialize)]
struct LoginQuery {
    ended: Option<String>,
}

/// The login form, with why the last try failed and the name it was for.
#[derive(Debug, Default, serde::Serialize)]
struct LoginView {
    error: Option<String>,
    username: Option<String>,
    /// Say that the session ended, rather than show the form with no reason.
    ended: bool,
}

/// Did a browser send this from another site? Login CSRF logs the victim into the attacker's
/// account; there is no session yet to hold a token, so the browser's own headers decide.
/// `Sec-Fetch-Site`, which a page cannot set, settles it where present: `same-origin` or `none`
/// (typed, bookmarked) only. Without it, an `Origin` must name the host the request was sent to;
/// `Origin: null` is what a browser sends for a form under this site's `no-referrer` policy, so
/// it proves nothing either way and is refused only when fetch metadata is missing too. Clients
/// that send neither header (scripts) are not browsers and cannot be made to post by another site.
pub fn cross_site(headers: &axum::http::HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match header("origin") {
        None => false,
        Some(origin) => {
            let host = origin.split_once("://").map(|(_, h)| h);
            match (host, header("host")) {
                (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
                _ => true,
            }
        }
    }
}

async fn login_form(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    jar: CookieJar,
    headers: axum::http::HeaderMap,
    Form(req): Form<LoginRequest>,
) -> Response {
    if cross_site(&headers) {
        tracing::info!(addr, "login form posted from another site; refused");
        let page = render(
            "login.html",
            &Page::anonymous(),
            LoginView {
                error: Some(crate::i18n::tr(crate::i18n::current(), "login-foreign")),
                username: None,
                ended: false,
            },
        );
        return (StatusCode::FORBIDDEN, page).into_response();
    }
    match do_login(&state, &req, &addr).await {
        Ok((_, session, jwt)) => {
            let cookie = Cookie::build((COOKIE, jwt))
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(state.settings.secure_cookies)
                .path("/")
                .max_age(time::Duration::milliseconds(session.expires_at - now_ms()))
                .build();
            (jar.add(cookie), Redirect::to("/")).into_response()
        }
        Err(e @ (AppError::Unauthenticated | AppError::TooManyRequests | AppError::Busy)) => {
            let status = match e {
                AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
                AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::UNAUTHORIZED,
            };
            let key = match e {
                AppError::TooManyRequests => "login-too-many",
                AppError::Busy => "login-busy",
                _ => "login-wrong",
            };
            let message = crate::i18n::tr(crate::i18n::current(), key);
            let page = render(
                "login.html",
                &Page::anonymous(),
                LoginView {
                    error: Some(message),
                    username: Some(req.username),
                    ended: false,
                },
            );
            (status, page).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn end_session(state: &AppState, cur: &CurrentUser) -> AppResult<()> {
    state.store.delete_session(&cur.session.id).await?;
    let entry = AuditEntry {
        actor: cur.user.username.clone(),
        action: "auth.logout".into(),
        target: cur.user.id.to_string(),
        detail: serde_json::json!({}),
    };
    state.store.audit(entry, now_ms()).await?;
    Ok(())
}

async fn logout_form(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    jar: CookieJar,
) -> AppResult<Response> {
    end_session(&state, &cur).await?;
    let jar = jar.remove(Cookie::build(COOKIE).path("/"));
    Ok((jar, Redirect::to("/login")).into_response())
}

#[utoipa::path(
    post,
    path = "/api/auth/logout",
    summary = "End this session at once",
    responses(
        (status = 204, description = "Session ended"),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AnyRole>()))),
)]
async fn logout_json(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
) -> AppResult<StatusCode> {
    end_session(&state, &cur).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/auth/me",
    summary = "The caller",
    responses(
        (status = 200, description = "The caller", body = User),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AnyRole>()))),
)]
async fn me(Auth(cur, _): Auth<AnyRole>) -> Json<User> {
    Json(cur.user)
}

#[cfg(test)]
mod cross_site_tests {
    use super::cross_site;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn a_browser_s_own_login_form_passes_and_another_site_s_does_not() {
        let host = ("host", "cafe.example:8080");
        // Chromium under `Referrer-Policy: no-referrer` sends `Origin: null` with its own form.
        for own in [
            vec![host, ("sec-fetch-site", "same-origin"), ("origin", "null")],
            vec![
                host,
                ("sec-fetch-site", "same-origin"),
                ("origin", "http://cafe.example:8080"),
            ],
            vec![host, ("sec-fetch-site", "none")],
            vec![host, ("origin", "http://cafe.example:8080")],
            vec![host],
        ] {
            assert!(!cross_site(&headers(&own)), "{own:?}");
        }
        for other in [
            vec![host, ("sec-fetch-site", "cross-site"), ("origin", "null")],
            vec![
                host,
                ("sec-fetch-site", "same-site"),
                ("origin", "http://cafe.example:8080"),
            ],
            vec![host, ("origin", "https://evil.example")],
            vec![host, ("origin", "null")],
        ] {
            assert!(cross_site(&headers(&other)), "{other:?}");
        }
    }
}
