use crate::testutil::{test_app, PASSWORD};
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn api_login_gives_a_bearer_token_that_works_and_bad_passwords_do_not() {
    let app = test_app().await;
    let (jwt, _) = app.login("staff").await;
    let me = app.json("GET", "/api/auth/me", Some(&jwt), None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["username"], "staff");
    assert_eq!(me.json()["role"], "staff");
    let bad = app
        .json(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"username": "staff", "password": "nope"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let anon = app.json("GET", "/api/auth/me", None, None).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    let forged = app
        .json(
            "GET",
            "/api/auth/me",
            Some("eyJhbGciOiJub25lIn0.e30."),
            None,
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn form_login_sets_a_strict_httponly_cookie_that_opens_the_counter() {
    let app = test_app().await;
    let r = app
        .page(
            "POST",
            "/login",
            None,
            Some(&format!(
                "username=staff&password={}",
                PASSWORD.replace(' ', "+")
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let cookie = r.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Secure"), "{cookie}");
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let page = app.page("GET", "/dispense", Some(&value), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Clock in"));
    let wrong = app
        .page(
            "POST",
            "/login",
            None,
            Some("username=staff&password=wrong"),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Wrong username or password"));
    assert!(wrong.headers.get("set-cookie").is_none());
}

#[tokio::test]
async fn every_role_is_denied_what_it_is_not_allowed() {
    let app = test_app().await;
    let (staff, _) = app.login("staff").await;
    let (manager, _) = app.login("manager").await;
    let (admin, _) = app.login("admin").await;
    let pkg = json!({"slug": "x", "name": "X", "price_minor": 1, "currency": "USD"});
    let cases = [
        (
            "POST",
            "/api/packages",
            Some(pkg.clone()),
            &staff,
            StatusCode::FORBIDDEN,
        ),
        (
            "POST",
            "/api/packages",
            Some(pkg.clone()),
            &manager,
            StatusCode::FORBIDDEN,
        ),
        (
            "POST",
            "/api/packages",
            Some(pkg),
            &admin,
            StatusCode::CREATED,
        ),
        (
            "GET",
            "/api/tokens/all",
            None,
            &staff,
            StatusCode::FORBIDDEN,
        ),
        ("GET", "/api/tokens/all", None, &manager, StatusCode::OK),
        ("GET", "/api/routers", None, &staff, StatusCode::FORBIDDEN),
        ("GET", "/api/routers", None, &manager, StatusCode::OK),
        (
            "GET",
            "/api/system/info",
            None,
            &manager,
            StatusCode::FORBIDDEN,
        ),
        ("GET", "/api/system/info", None, &admin, StatusCode::OK),
        (
            "POST",
            "/api/tokens/generate",
            Some(json!({"package_id": app.f.package.id})),
            &manager,
            StatusCode::FORBIDDEN,
        ),
        (
            "GET",
            "/api/tokens/my-tokens",
            None,
            &admin,
            StatusCode::FORBIDDEN,
        ),
        (
            "POST",
            "/api/auth/register",
            Some(json!({"username": "new", "password": PASSWORD, "role": "staff"})),
            &manager,
            StatusCode::FORBIDDEN,
        ),
        (
            "POST",
            "/api/auth/register",
            Some(json!({"username": "new", "password": PASSWORD, "role": "staff"})),
            &admin,
            StatusCode::CREATED,
        ),
        (
            "POST",
            "/api/locations",
            Some(json!({"name": "L2", "timezone": "UTC"})),
            &staff,
            StatusCode::FORBIDDEN,
        ),
        (
            "POST",
            "/api/locations",
            Some(json!({"name": "L2", "timezone": "UTC"})),
            &admin,
            StatusCode::CREATED,
        ),
    ];
    for (method, path, body, who, want) in cases {
        let r = app.json(method, path, Some(who), body).await;
        assert_eq!(r.status, want, "{method} {path}: {}", r.body);
    }
    let info = app
        .json("GET", "/api/system/info", Some(&admin), None)
        .await
        .json();
    assert_eq!(
        info["control_plane_public_key"],
        app.state.settings.control_plane_public_key
    );
    // Pages: no session goes to the login page; a staff session cannot open the overview.
    let anon = app.page("GET", "/dispense", None, None).await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
    assert_eq!(anon.headers["location"], "/login");
    let staff_overview = app.page("GET", "/overview", Some(&staff), None).await;
    assert_eq!(staff_overview.status, StatusCode::FORBIDDEN);
    let manager_overview = app.page("GET", "/overview", Some(&manager), None).await;
    assert_eq!(manager_overview.status, StatusCode::OK);
    assert!(manager_overview.body.contains("Router One"));
}

#[tokio::test]
async fn cookie_posts_need_the_session_csrf_token() {
    let app = test_app().await;
    let (jwt, csrf) = app.login("staff").await;
    let loc = app.f.location.id;
    let no_token = app
        .page(
            "POST",
            "/shifts/clock-in",
            Some(&jwt),
            Some(&format!("location_id={loc}&opening_float=1.00")),
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let wrong = app
        .page(
            "POST",
            "/shifts/clock-in",
            Some(&jwt),
            Some(&format!(
                "_csrf=00{}&location_id={loc}&opening_float=1.00",
                &csrf[2..]
            )),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(app
        .f
        .store
        .open_shift_of(app.f.staff.id)
        .await
        .unwrap()
        .is_none());
    let ok = app
        .page(
            "POST",
            "/shifts/clock-in",
            Some(&jwt),
            Some(&format!(
                "_csrf={csrf}&location_id={loc}&opening_float=1.00"
            )),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert!(app
        .f
        .store
        .open_shift_of(app.f.staff.id)
        .await
        .unwrap()
        .is_some());
    // A JSON POST with the cookie (not a bearer token) also needs the header.
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/api/auth/logout")
        .header("cookie", format!("mtm_session={jwt}"))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.call(req).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn logout_ends_the_session_at_once() {
    let app = test_app().await;
    let (jwt, csrf) = app.login("manager").await;
    let (other, _) = app.login("manager").await;
    let r = app.json("POST", "/api/auth/logout", Some(&jwt), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.json("GET", "/api/auth/me", Some(&jwt), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.json("GET", "/api/auth/me", Some(&other), None)
            .await
            .status,
        StatusCode::OK
    );
    // Browser logout: form with CSRF clears the cookie and the session.
    let r = app
        .page(
            "POST",
            "/logout",
            Some(&other),
            Some(&format!("_csrf={csrf}")),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "csrf of another session is refused"
    );
    let (third, csrf3) = app.login("manager").await;
    let r = app
        .page(
            "POST",
            "/logout",
            Some(&third),
            Some(&format!("_csrf={csrf3}")),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.json("GET", "/api/auth/me", Some(&third), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn repeated_failures_slow_that_account_from_that_client() {
    let app = test_app().await;
    for _ in 0..5 {
        let r = app
            .json(
                "POST",
                "/api/auth/login",
                None,
                Some(json!({"username": "staff", "password": "wrong"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .json(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"username": "staff", "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    app.login("manager").await;
}

#[tokio::test]
async fn every_response_carries_security_headers() {
    let app = test_app().await;
    for path in ["/login", "/healthz", "/api/auth/me", "/static/htmx.min.js"] {
        let r = app.page("GET", path, None, None).await;
        let h = &r.headers;
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(h.contains_key("strict-transport-security"), "{path}");
    }
    let page = app.page("GET", "/login", None, None).await;
    assert!(!page.body.contains("<script>"), "no inline scripts");
    assert!(page.body.contains("src=\"/static/htmx.min.js\""));
}

/// Send a JSON login through a whole app built over `state`: a second replica in a test.
async fn login_via(state: &crate::app::AppState, username: &str, password: &str) -> StatusCode {
    use tower::ServiceExt;
    let dir = tempfile::tempdir().unwrap();
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/api/auth/login")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            json!({"username": username, "password": password}).to_string(),
        ))
        .unwrap();
    crate::app::full_app(state.clone(), dir.path().to_path_buf())
        .oneshot(req)
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn replicas_on_one_store_share_the_login_limit() {
    let app = test_app().await;
    // A second app instance over the same database, with its own limiter, as another replica.
    let other = crate::app::AppState {
        limiter: std::sync::Arc::new(crate::auth::RateLimiter::default()),
        ..app.state.clone()
    };
    for _ in 0..5 {
        let r = app
            .json(
                "POST",
                "/api/auth/login",
                None,
                Some(json!({"username": "staff", "password": "wrong"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        login_via(&other, "staff", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "failures on one replica slow the same account and client on the other"
    );
    assert_eq!(login_via(&other, "manager", PASSWORD).await, StatusCode::OK);
}

#[tokio::test]
async fn unreadable_limits_refuse_the_login() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/mtm.db", dir.path().display());
    let sqlite = std::sync::Arc::new(crate::store::sql::SqlStore::open(&url).await.unwrap());
    crate::testutil::seed(sqlite.clone()).await;
    let app = test_app().await;
    let state = crate::app::AppState {
        store: sqlite.clone(),
        ..app.state.clone()
    };
    assert_eq!(login_via(&state, "staff", PASSWORD).await, StatusCode::OK);
    sqlx::query("DROP TABLE login_failures")
        .execute(sqlite.pool())
        .await
        .unwrap();
    assert_eq!(
        login_via(&state, "staff", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "without the shared counts even the right password is refused"
    );
}

/// A page asked with a session that has ended sends the browser to a login page that says the
/// session ended; with no session cookie at all, the login page is plain.
#[tokio::test]
async fn a_page_after_the_session_ended_says_so_on_the_login_page() {
    let app = test_app().await;
    let (jwt, _) = app.login("manager").await;
    let open = app.page("GET", "/overview", Some(&jwt), None).await;
    assert_eq!(open.status, StatusCode::OK);
    let r = app.json("POST", "/api/auth/logout", Some(&jwt), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let after = app.page("GET", "/overview", Some(&jwt), None).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.headers["location"], "/login?ended=1");
    let login = app.page("GET", "/login?ended=1", None, None).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(
        login.body.contains("Your session has ended"),
        "{}",
        login.body
    );
    let anon = app.page("GET", "/overview", None, None).await;
    assert_eq!(anon.headers["location"], "/login");
    let plain = app.page("GET", "/login", None, None).await;
    assert!(!plain.body.contains("Your session has ended"));
}
