//! The user API through the whole app: an admin ends a user's sessions at once.

use crate::testutil::test_app;
use axum::http::StatusCode;

#[tokio::test]
async fn an_admin_ends_a_users_sessions_at_once() {
    let app = test_app().await;
    let (staff, _) = app.login("staff").await;
    let (admin, _) = app.login("admin").await;
    let path = format!("/api/users/{}/end-sessions", app.f.staff.id);
    let denied = app.json("POST", &path, Some(&staff), None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let r = app.json("POST", &path, Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["ended"], 1);
    let after = app.json("GET", "/api/auth/me", Some(&staff), None).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    let missing = format!("/api/users/{}/end-sessions", uuid::Uuid::new_v4());
    assert_eq!(
        app.json("POST", &missing, Some(&admin), None).await.status,
        StatusCode::NOT_FOUND
    );
}
