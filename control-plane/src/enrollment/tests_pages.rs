//! Enrolling and revoking from the routers page: allowed role, denied role, missing CSRF, the
//! code shown once, and the audit row.

use crate::testutil::{admin_only_with_csrf, audited, test_app};
use axum::http::StatusCode;

#[tokio::test]
async fn an_enrollment_code_is_shown_once_with_its_expiry() {
    let app = test_app().await;
    let path = format!("/admin/routers/{}/enrollment-code", app.f.router.id);
    admin_only_with_csrf(&app, &path, "").await;
    let (admin, csrf) = app.login("admin").await;
    let r = app
        .page("POST", &path, Some(&admin), Some(&format!("_csrf={csrf}")))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("id=\"code\""), "{}", r.body);
    assert!(r.body.contains(" UTC</td>"), "expiry shown");
    let st = app
        .f
        .store
        .enrollment_state(app.f.router.id)
        .await
        .unwrap()
        .unwrap();
    assert!(st.open_code_expires_at.is_some());
    assert_eq!(audited(&app, "router.enrollment_code").await.len(), 1);
    let again = app.page("GET", "/admin/routers", Some(&admin), None).await;
    assert!(!again.body.contains("id=\"code\""), "shown only once");
}

#[tokio::test]
async fn revoking_needs_the_typed_agent_id_and_is_audited() {
    let app = test_app().await;
    let path = format!("/admin/routers/{}/revoke", app.f.router.id);
    admin_only_with_csrf(&app, &path, "confirm=agent-1").await;
    let (admin, csrf) = app.login("admin").await;
    let confirm = app.page("GET", &path, Some(&admin), None).await;
    assert!(confirm.body.contains("name=\"confirm\""));
    let wrong = app
        .page(
            "POST",
            &path,
            Some(&admin),
            Some(&format!("_csrf={csrf}&confirm=x")),
        )
        .await;
    assert!(wrong.body.contains("does not match"));
    assert!(audited(&app, "router.revoke").await.is_empty());
    let ok = app
        .page(
            "POST",
            &path,
            Some(&admin),
            Some(&format!("_csrf={csrf}&confirm=agent-1")),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let st = app.f.store.enrollment_state(app.f.router.id).await.unwrap();
    assert!(st.unwrap().revoked_at.is_some());
    assert_eq!(audited(&app, "router.revoke").await.len(), 1);
    let pw = app.f.mqtt_password.clone();
    assert!(!app
        .f
        .store
        .check_mqtt_password("agent-1", &pw)
        .await
        .unwrap());
}
