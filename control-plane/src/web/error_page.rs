//! Error pages for browsers. A person who follows a stale link, opens a page their role does not
//! allow, sends a form whose CSRF token is stale, or hits a bug gets a page with a way back
//! instead of a line of JSON. API clients keep the JSON: a request is a browser's when it asks
//! for HTML, is not under `/api/`, and is not an htmx fragment request (htmx does not swap
//! error answers in).

use crate::web::Page;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The largest error body read to tell a CSRF refusal from another 403.
const MAX_ERROR_BODY: usize = 4096;

/// What the error page says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorPage {
    /// The HTTP status, shown small for whoever helps on the phone.
    pub status: u16,
    /// The heading's message key.
    pub title: &'static str,
    /// The message key of what the person can do about it.
    pub advice: &'static str,
}

impl ErrorPage {
    /// The page for a status this layer turns into a page; `None` for the others. `csrf`: the
    /// refusal was the form's CSRF token.
    pub fn for_status(status: StatusCode, csrf: bool) -> Option<ErrorPage> {
        let (title, advice) = match status {
            StatusCode::FORBIDDEN if csrf => ("error-expired-title", "error-expired-advice"),
            StatusCode::FORBIDDEN => ("error-forbidden-title", "error-forbidden-advice"),
            StatusCode::NOT_FOUND => ("error-not-found-title", "error-not-found-advice"),
            StatusCode::INTERNAL_SERVER_ERROR => ("error-internal-title", "error-internal-advice"),
            _ => return None,
        };
        Some(ErrorPage {
            status: status.as_u16(),
            title,
            advice,
        })
    }
}

/// Whether a request comes from a person's browser rather than an API client or htmx.
pub fn wants_page(headers: &HeaderMap, path: &str) -> bool {
    let html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    html && !path.starts_with("/api/") && path != "/api" && !headers.contains_key("hx-request")
}

/// Middleware: answers of 403, 404 and 500 to a browser become an HTML error page; the status
/// and the other headers (security headers, cookies) stay. A handler's own HTML is left alone.
pub async fn for_browsers(req: Request, next: Next) -> Response {
    let page = wants_page(req.headers(), req.uri().path());
    let resp = next.run(req).await;
    if !page {
        return resp;
    }
    into_page(resp).await
}

/// The error body every `AppError` has.
#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// Turn an error answer into the error page (any other answer is returned as it is).
pub async fn into_page(resp: Response) -> Response {
    let status = resp.status();
    let is_html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html || ErrorPage::for_status(status, false).is_none() {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let csrf = axum::body::to_bytes(body, MAX_ERROR_BODY)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice::<ErrorBody>(&b).ok())
        .is_some_and(|e| e.error.contains("CSRF"));
    let Some(error) = ErrorPage::for_status(status, csrf) else {
        return status.into_response();
    };
    let html = super::render(
        "error.html",
        &Page::anonymous(),
        minijinja::context! { error => error },
    );
    let mut out = match html {
        Ok(html) => (status, html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering the error page failed");
            (status, crate::i18n::tr(crate::i18n::current(), error.title)).into_response()
        }
    };
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name, value.clone());
        }
    }
    if !out.headers().contains_key(header::CACHE_CONTROL) {
        out.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::test_app;

    const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    async fn get(
        app: &crate::testutil::TestApp,
        path: &str,
        accept: &str,
    ) -> crate::testutil::Reply {
        let req = axum::http::Request::builder()
            .uri(path)
            .header("accept", accept)
            .body(axum::body::Body::empty())
            .unwrap();
        app.call(req).await
    }

    fn is_page(r: &crate::testutil::Reply) -> bool {
        r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    }

    #[tokio::test]
    async fn a_browser_gets_a_page_for_an_unknown_address_and_an_api_client_does_not() {
        let app = test_app().await;
        let r = get(&app, "/no/such/page", BROWSER).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(is_page(&r), "{:?}", r.headers);
        assert!(r.body.contains("<h1>Not found</h1>"), "{}", r.body);
        assert!(r.body.contains("href=\"/\""));
        // The security headers of the original answer stay.
        assert!(r.headers.contains_key("content-security-policy"));
        for (path, accept) in [
            ("/no/such/page", "application/json"),
            ("/api/no/such/thing", BROWSER),
        ] {
            let r = get(&app, path, accept).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
            assert!(!r.body.contains("<h1>"), "{path}: {}", r.body);
        }
    }

    #[tokio::test]
    async fn a_page_the_role_may_not_open_and_a_stale_form_get_their_own_pages() {
        let app = test_app().await;
        let (staff, _) = app.login("staff").await;
        let req = axum::http::Request::builder()
            .uri("/overview")
            .header("accept", BROWSER)
            .header("cookie", format!("{}={staff}", crate::auth::COOKIE))
            .body(axum::body::Body::empty())
            .unwrap();
        let r = app.call(req).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(is_page(&r));
        assert!(r.body.contains("Not allowed"), "{}", r.body);
        let loc = app.f.location.id;
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/shifts/clock-in")
            .header("accept", BROWSER)
            .header("cookie", format!("{}={staff}", crate::auth::COOKIE))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(format!(
                "_csrf=stale&location_id={loc}&opening_float=1.00"
            )))
            .unwrap();
        let r = app.call(req).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body.contains("This form has expired"), "{}", r.body);
        // htmx asks for fragments and does not swap errors in: it keeps the short answer.
        let req = axum::http::Request::builder()
            .uri("/overview")
            .header("accept", BROWSER)
            .header("hx-request", "true")
            .header("cookie", format!("{}={staff}", crate::auth::COOKIE))
            .body(axum::body::Body::empty())
            .unwrap();
        let r = app.call(req).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(!r.body.contains("<h1>"));
    }

    #[tokio::test]
    async fn an_internal_error_becomes_a_page_without_its_detail() {
        let secret = "database password rejected at 10.0.0.5";
        let resp = crate::app::AppError::Internal(secret.into()).into_response();
        let page = into_page(resp).await;
        assert_eq!(page.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(page.into_body(), 1 << 16)
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("Something went wrong"), "{body}");
        assert!(!body.contains(secret));
        // Other statuses pass through untouched.
        let bad = crate::app::AppError::BadRequest("price missing".into()).into_response();
        let bad = into_page(bad).await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(bad.into_body(), 1 << 16)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&body).contains("price missing"));
    }
}
