//! Authentication and authorisation: JWTs backed by session rows, role extractors, CSRF, and
//! login rate limits.
//!
//! A request carries a JWT either as `Authorization: Bearer` (scripts) or in the `mtm_session`
//! cookie (browsers). [`session_layer`] checks the JWT *and* its session row on every request, so
//! logout, clock-out and "end session" take effect at once; it also demands the session's CSRF
//! token on every unsafe cookie-authenticated request. Handlers then take an [`Auth<R>`] whose
//! role set `R` lists who may call them: a handler without one is public by intent.

mod client_addr;
mod limiter;

pub use client_addr::ClientAddr;
pub use limiter::{Attempt, LimitPolicy, RateLimiter, Refusal};

use crate::app::{AppError, AppState};
use crate::store::{now_ms, Role, Session, User};
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{request::Parts, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use subtle::ConstantTimeEq;

/// Name of the session cookie.
pub const COOKIE: &str = "mtm_session";
/// Header carrying the CSRF token on htmx and script requests made with the cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// How long a session lives.
pub const SESSION_TTL_MS: i64 = 12 * 3600 * 1000;

/// HS256 keys made from the secret in the data folder.
pub struct JwtKeys {
    enc: EncodingKey,
    dec: DecodingKey,
}

impl JwtKeys {
    /// Keys from a secret of at least 32 bytes.
    pub fn new(secret: &[u8]) -> Self {
        JwtKeys {
            enc: EncodingKey::from_secret(secret),
            dec: DecodingKey::from_secret(secret),
        }
    }
}

/// What the JWT says; the session row is the authority, the JWT just names it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Session id.
    pub sid: String,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// Issued at, unix seconds.
    pub iat: i64,
}

/// Make the JWT for a session.
pub fn issue_jwt(keys: &JwtKeys, session: &Session) -> Result<String, AppError> {
    let claims = Claims {
        sub: session.user_id.to_string(),
        sid: session.id.clone(),
        exp: session.expires_at / 1000,
        iat: now_ms() / 1000,
    };
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.enc)
        .map_err(|e| AppError::Internal(format!("jwt: {e}")))
}

/// The logged-in user of this request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// Who.
    pub user: User,
    /// Their session.
    pub session: Session,
    /// Authenticated by cookie (browser) rather than bearer token.
    pub via_cookie: bool,
}

/// Resolve the session for every request and enforce CSRF on unsafe cookie requests.
pub async fn session_layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let bearer = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let jar = CookieJar::from_headers(&parts.headers);
    let (jwt, via_cookie) = match bearer {
        Some(t) => (Some(t), false),
        None => (jar.get(COOKIE).map(|c| c.value().to_owned()), true),
    };
    let current = match jwt {
        Some(jwt) => match resolve(&state, &jwt, via_cookie).await {
            Ok(c) => c,
            Err(e) => return e.into_response(),
        },
        None => None,
    };
    let mut body = body;
    if let Some(cur) = &current {
        let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if cur.via_cookie && unsafe_method {
            match check_csrf(&parts, body, &cur.session.csrf).await {
                Ok(b) => body = b,
                Err(e) => return e.into_response(),
            }
        }
    }
    if let Some(cur) = current {
        // The user's own language wins over the browser's for everything this request shows.
        if let Some(lang) = cur
            .user
            .language
            .as_deref()
            .and_then(crate::i18n::Lang::parse)
        {
            crate::i18n::choose_for_request(lang);
        }
        parts.extensions.insert(cur);
    }
    next.run(Request::from_parts(parts, body)).await
}

async fn resolve(
    state: &AppState,
    jwt: &str,
    via_cookie: bool,
) -> Result<Option<CurrentUser>, AppError> {
    let Ok(data) =
        jsonwebtoken::decode::<Claims>(jwt, &state.jwt.dec, &Validation::new(Algorithm::HS256))
    else {
        return Ok(None);
    };
    let Some(session) = state.store.session(&data.claims.sid, now_ms()).await? else {
        return Ok(None);
    };
    if session.user_id.to_string() != data.claims.sub {
        return Ok(None);
    }
    let Some(user) = state.store.user(session.user_id).await? else {
        return Ok(None);
    };
    if user.disabled {
        return Ok(None);
    }
    Ok(Some(CurrentUser {
        user,
        session,
        via_cookie,
    }))
}

/// Accept the token from the header, or from the `_csrf` field of a form body (which is read and
/// handed on unchanged).
async fn check_csrf(parts: &Parts, body: Body, expected: &str) -> Result<Body, AppError> {
    let header = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    if let Some(h) = header {
        return if constant_eq(h, expected) {
            Ok(body)
        } else {
            Err(AppError::Csrf)
        };
    }
    let is_form = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(AppError::Csrf);
    }
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| AppError::Refused(crate::refusal::Refusal::new("err-form-too-large")))?;
    let found = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|s| {
            s.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == CSRF_FIELD)
                .map(|(_, v)| v.to_owned())
        })
        .is_some_and(|v| constant_eq(&v, expected));
    if found {
        Ok(Body::from(bytes))
    } else {
        Err(AppError::Csrf)
    }
}

/// Compare a CSRF token without an early exit at the first differing byte.
fn constant_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// A set of roles allowed to use a route.
pub trait Allow: Send + Sync + 'static {
    /// The roles.
    const ROLES: &'static [Role];
}

/// Staff only (dispensing, shifts).
pub struct StaffOnly;
impl Allow for StaffOnly {
    const ROLES: &'static [Role] = &[Role::Staff];
}

/// Managers and super admins.
pub struct ManagerUp;
impl Allow for ManagerUp {
    const ROLES: &'static [Role] = &[Role::Manager, Role::SuperAdmin];
}

/// Super admins only.
pub struct AdminOnly;
impl Allow for AdminOnly {
    const ROLES: &'static [Role] = &[Role::SuperAdmin];
}

/// Any logged-in user.
pub struct AnyRole;
impl Allow for AnyRole {
    const ROLES: &'static [Role] = &[Role::Staff, Role::Manager, Role::SuperAdmin];
}

/// The roles `R` allows: a route's `x-roles` in the API document (see `api_doc`), written with
/// the same guard type its handler takes, so the document and the guard name one set.
pub fn roles<R: Allow>() -> &'static [Role] {
    R::ROLES
}

/// The caller, known to hold one of `R`'s roles.
pub struct Auth<R: Allow>(pub CurrentUser, pub PhantomData<R>);

impl<R: Allow> Auth<R> {
    /// The user.
    pub fn user(&self) -> &User {
        &self.0.user
    }
}

impl<R: Allow> FromRequestParts<AppState> for Auth<R> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, AppError> {
        let Some(cur) = parts.extensions.get::<CurrentUser>().cloned() else {
            return Err(if parts.uri.path().starts_with("/api/") {
                AppError::Unauthenticated
            } else if carries_session_cookie(parts) {
                AppError::SessionEnded
            } else {
                AppError::LoginRedirect
            });
        };
        if !R::ROLES.contains(&cur.user.role) {
            return Err(AppError::Forbidden);
        }
        Ok(Auth(cur, PhantomData))
    }
}

/// Whether the request still carries a session cookie (one that no longer names a live session,
/// when no user was found for it).
fn carries_session_cookie(parts: &Parts) -> bool {
    CookieJar::from_headers(&parts.headers)
        .get(COOKIE)
        .is_some_and(|c| !c.value().is_empty())
}

/// The caller if logged in, for public pages that adapt (login page, home redirect).
pub struct MaybeUser(pub Option<CurrentUser>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(parts.extensions.get::<CurrentUser>().cloned()))
    }
}

#[cfg(test)]
mod tests;
