//! The HTTP application: shared state, the one error type, and the router built from every
//! feature module's routes.

use crate::auth::{self, RateLimiter};
use crate::commands::Dispatcher;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{middleware, Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;

/// Settings the handlers read.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Cookies marked Secure, HSTS sent.
    pub secure_cookies: bool,
    /// Voucher code length.
    pub token_code_len: usize,
    /// Hotspot login URL printed on vouchers.
    pub public_url: Option<String>,
    /// Where people reach this server, e.g. `https://mtm.example.com`: a printed voucher's
    /// self-check QR points at `{external_url}/check/{code}`.
    pub external_url: Option<String>,
    /// Where agents reach the broker.
    pub mqtt_addr: SocketAddr,
    /// The control plane's public key, hex (agents pin it).
    pub control_plane_public_key: String,
    /// Enrollment: broker address for agents, code lifetime.
    pub enrollment: crate::enrollment::EnrollmentSettings,
}

/// Everything a handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Sends commands to agents.
    pub dispatcher: Arc<Dispatcher>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// JWT signing keys.
    pub jwt: Arc<auth::JwtKeys>,
    /// Login attempt limits.
    pub limiter: Arc<RateLimiter>,
    /// Settings.
    pub settings: Arc<Settings>,
}

/// Every route of the server.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(crate::web::router())
        .merge(crate::login::router())
        .merge(crate::users::router())
        .merge(crate::routers::router())
        .merge(crate::packages::router())
        .merge(crate::shifts::router())
        .merge(crate::tokens::router())
        .merge(crate::system::router())
        .merge(crate::api_doc::router())
        .merge(crate::alerts::router())
        .merge(crate::reports::router())
        .merge(crate::notify::router())
        .merge(crate::selfcheck::router())
        .merge(crate::aftersales::router())
        .merge(crate::batch::router())
        .merge(crate::dashboard::router())
        .merge(crate::admin::router())
        .merge(crate::freeze::pages::router())
        .merge(crate::enrollment::router())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::session_layer,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::web::security_headers,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(64 * 1024))
        .with_state(state)
}

/// Every route the server serves: the app and the releases, which keep `dir`.
pub fn full_app(state: AppState, dir: std::path::PathBuf) -> Router {
    catch_panics(app(state.clone()).merge(crate::releases::router(state.clone(), dir)))
        // Outermost, so a browser also gets a page for an unknown address or a panic.
        .layer(middleware::from_fn(crate::web::error_page::for_browsers))
        // Outside even that, so the error page speaks the request's language.
        .layer(middleware::from_fn(crate::i18n::negotiate))
}

/// `router` answering 500 (and logging it) when one of its handlers panics, so a bug answers
/// its request instead of dropping the connection; the whole app goes through this.
pub fn catch_panics(router: Router) -> Router {
    router.layer(tower_http::catch_panic::CatchPanicLayer::custom(
        panic_response,
    ))
}

/// A handler panicked: log it and answer 500, so the client gets an answer and the page that
/// hit the bug does not look like a dropped connection.
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = %what.escape_debug(), "a request handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(serde_json::json!({ "error": "internal error" })),
    )
        .into_response()
}

/// What a handler can fail with: JSON, a redirect to the login page, or (for a browser, by
/// [`crate::web::error_page`]) an error page for 403, 404 and 500.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid session (API: 401).
    #[error("login required")]
    Unauthenticated,
    /// No valid session on a page: go to the login page.
    #[error("login required")]
    LoginRedirect,
    /// A page asked with a session that has ended (expired, logged out, ended by an admin): go
    /// to the login page, which says so instead of appearing out of nowhere.
    #[error("session ended")]
    SessionEnded,
    /// The role may not do this.
    #[error("forbidden")]
    Forbidden,
    /// The CSRF token is missing or wrong.
    #[error("missing or bad CSRF token")]
    Csrf,
    /// Not there (or not yours).
    #[error("not found")]
    NotFound,
    /// Bad input.
    #[error("{0}")]
    BadRequest(String),
    /// Bad input, named as a message of the locales: English over the API, the reader's
    /// language on a page ([`AppError::page_message`]).
    #[error("{0}")]
    Refused(crate::refusal::Refusal),
    /// Conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// Conflicts with the current state (409), named as a message of the locales like
    /// [`AppError::Refused`].
    #[error("{0}")]
    RefusedConflict(crate::refusal::Refusal),
    /// Too many attempts.
    #[error("too many attempts; try again later")]
    TooManyRequests,
    /// The server is saturated for a moment (every password-hash slot busy): 503.
    #[error("the server is busy; try again in a moment")]
    Busy,
    /// Something broke; details are logged, not shown.
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => AppError::NotFound,
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::Invalid(m) => AppError::BadRequest(m),
            StoreError::Refused(r) => AppError::Refused(r),
            StoreError::RefusedConflict(r) => AppError::RefusedConflict(r),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<minijinja::Error> for AppError {
    fn from(e: minijinja::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match &self {
            AppError::LoginRedirect => return Redirect::to("/login").into_response(),
            AppError::SessionEnded => return Redirect::to("/login?ended=1").into_response(),
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) | AppError::Refused(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) | AppError::RefusedConflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::Busy => {
                let body = Json(serde_json::json!({ "error": self.to_string() }));
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(axum::http::header::RETRY_AFTER, "2")],
                    body,
                )
                    .into_response();
            }
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

impl AppError {
    /// What a page shows on top of its form for bad input or a conflict, in the language of the
    /// request; any other error stays an error (an error page, a login redirect).
    pub fn page_message(self) -> AppResult<String> {
        match self {
            AppError::BadRequest(m) | AppError::Conflict(m) => Ok(m),
            AppError::Refused(r) | AppError::RefusedConflict(r) => {
                Ok(r.text(crate::i18n::current()))
            }
            e => Err(e),
        }
    }
}

/// Short form of handler results.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod panic_tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    async fn status_and_body(app: &axum::Router, path: &str) -> (StatusCode, String) {
        let req = Request::get(path).body(Body::empty()).unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn a_handler_that_panics_answers_500_and_the_next_request_is_served() {
        let app = super::catch_panics(
            axum::Router::new()
                .route(
                    "/boom",
                    get(|| async {
                        if true {
                            panic!("attempt to add with overflow");
                        }
                        "unreached"
                    }),
                )
                .route("/fine", get(|| async { "fine" })),
        );
        let (status, body) = status_and_body(&app, "/boom").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body, r#"{"error":"internal error"}"#,
            "nothing of the panic is shown"
        );
        assert_eq!(status_and_body(&app, "/fine").await.1, "fine");
    }
}
