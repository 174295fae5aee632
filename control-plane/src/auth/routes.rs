//! Login and logout, for browsers (form + cookie) and scripts (JSON + bearer token).

use super::*;
use crate::app::AppResult;
use crate::store::AuditEntry;
use crate::web::{render, Page};
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use axum_extra::extract::cookie::{Cookie, SameSite};
use std::net::SocketAddr;

/// Login and logout routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_form))
        .route("/logout", post(logout_form))
        .route("/api/auth/login", post(login_json))
        .route("/api/auth/logout", post(logout_json))
        .route("/api/auth/me", get(me))
}

/// The client's address, when the server was started with connect info.
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

/// Credentials, from a form or JSON.
#[derive(Deserialize)]
pub struct LoginRequest {
    /// Username.
    pub username: String,
    /// Password (never logged).
    pub password: String,
}

/// Successful API login.
#[derive(Serialize)]
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

fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

async fn do_login(
    state: &AppState,
    req: &LoginRequest,
    addr: &str,
) -> AppResult<(User, Session, String)> {
    let account = req.username.trim().to_lowercase();
    let store = state.store.as_ref();
    match state.limiter.allowed(store, &account, addr).await {
        Ok(true) => {}
        Ok(false) => return Err(AppError::TooManyRequests),
        Err(e) => {
            // Fail closed: without the shared counts a guesser cannot be told from a user.
            tracing::error!(error = %e, addr, "login limits unreadable; refusing the login");
            return Err(AppError::TooManyRequests);
        }
    }
    let Some(user) = store
        .check_password(req.username.trim(), &req.password)
        .await?
    else {
        if let Err(e) = state.limiter.failed(store, &account, addr).await {
            tracing::error!(error = %e, addr, "could not record a failed login");
        }
        tracing::info!(username = %req.username.trim(), addr, "failed login");
        return Err(AppError::Unauthenticated);
    };
    if let Err(e) = state.limiter.succeeded(store, &account).await {
        // Harmless for this login; the stale failures merely age out of the window.
        tracing::warn!(error = %e, "could not clear failed logins");
    }
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

async fn login_page(State(state): State<AppState>, MaybeUser(user): MaybeUser) -> Response {
    if user.is_some() {
        return Redirect::to("/").into_response();
    }
    render(
        &state,
        "login.html",
        &Page::anonymous(),
        serde_json::json!({}),
    )
    .into_response()
}

async fn login_form(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    jar: CookieJar,
    Form(req): Form<LoginRequest>,
) -> Response {
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
        Err(e @ (AppError::Unauthenticated | AppError::TooManyRequests)) => {
            let status = if matches!(e, AppError::TooManyRequests) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            let message = if matches!(e, AppError::TooManyRequests) {
                e.to_string()
            } else {
                "Wrong username or password.".to_string()
            };
            let page = render(
                &state,
                "login.html",
                &Page::anonymous(),
                serde_json::json!({ "error": message, "username": req.username }),
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

async fn logout_json(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
) -> AppResult<StatusCode> {
    end_session(&state, &cur).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(Auth(cur, _): Auth<AnyRole>) -> Json<User> {
    Json(cur.user)
}
