//! The admin console through the whole app: users changed, the logs read.

use crate::testutil::test_app;
use axum::http::StatusCode;

#[tokio::test]
async fn admin_changes_users_and_reads_the_logs() {
    let app = test_app().await;
    let (admin, csrf) = app.login("admin").await;
    let (staff, _) = app.login("staff").await;
    let path = format!("/admin/users/{}", app.f.staff.id);
    let r = app
        .page(
            "POST",
            &path,
            Some(&admin),
            Some(&format!("_csrf={csrf}&action=disable")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("User staff updated."));
    let gone = app.page("GET", "/dispense", Some(&staff), None).await;
    assert_eq!(
        gone.status,
        StatusCode::SEE_OTHER,
        "disabled: session ended"
    );
    let me = format!("/admin/users/{}", app.f.admin.id);
    let r = app
        .page(
            "POST",
            &me,
            Some(&admin),
            Some(&format!("_csrf={csrf}&action=disable")),
        )
        .await;
    assert!(r.body.contains("cannot disable your own"));
    let form = format!("_csrf={csrf}&action=password&password=another+long+one");
    app.page("POST", &path, Some(&admin), Some(&form)).await;
    app.page(
        "POST",
        &path,
        Some(&admin),
        Some(&format!("_csrf={csrf}&action=enable")),
    )
    .await;
    assert!(app
        .f
        .store
        .check_password("staff", "another long one")
        .await
        .unwrap()
        .is_some());

    let log = app.page("GET", "/admin/log", Some(&admin), None).await;
    assert!(log.body.contains("user.update"), "{}", log.body);
    assert!(!log.body.contains("another long one"));
    let csv = app
        .page("GET", "/admin/log?format=csv", Some(&admin), None)
        .await;
    assert!(csv
        .body
        .starts_with("id,at_ms,actor,action,target,detail\r\n"));
    app.f.issue().await;
    let events = app
        .page("GET", "/admin/log?table=events", Some(&admin), None)
        .await;
    assert!(events.body.contains("Event log"));
    let home = app.page("GET", "/admin", Some(&admin), None).await;
    assert!(home.body.contains("token_ledger"), "{}", home.body);
    let users_csv = app
        .page("GET", "/admin/users?format=csv", Some(&admin), None)
        .await;
    assert_eq!(users_csv.body.lines().count(), 4, "{}", users_csv.body);
}
