//! A manager closing a forgotten shift through the whole app.

use crate::testutil::{audited, test_app};
use axum::http::StatusCode;

#[tokio::test]
async fn a_manager_closes_a_forgotten_shift_with_a_note() {
    let app = test_app().await;
    let shift = app
        .f
        .store
        .open_shift(app.f.staff.id, app.f.location.id, 1000, "staff")
        .await
        .unwrap();
    let (manager, csrf) = app.login("manager").await;
    let loc = format!("/manager/locations/{}", app.f.location.id);
    let page = app.page("GET", &loc, Some(&manager), None).await;
    let path = format!("/manager/shifts/{}/close", shift.id);
    assert!(page.body.contains(&path), "{}", page.body);

    let (staff, staff_csrf) = app.login("staff").await;
    let form = "declared_cash=9.00&note=left+without+clocking+out";
    let r = app
        .page(
            "POST",
            &path,
            Some(&staff),
            Some(&format!("_csrf={staff_csrf}&{form}")),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.page("POST", &path, Some(&manager), Some(form)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF");
    let no_note = app
        .page(
            "POST",
            &path,
            Some(&manager),
            Some(&format!("_csrf={csrf}&declared_cash=9.00&note=")),
        )
        .await;
    assert!(
        no_note.body.contains("note is required"),
        "{}",
        no_note.body
    );
    assert!(app
        .f
        .store
        .open_shift_of(app.f.staff.id)
        .await
        .unwrap()
        .is_some());

    let ok = app
        .page(
            "POST",
            &path,
            Some(&manager),
            Some(&format!("_csrf={csrf}&{form}")),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert!(app
        .f
        .store
        .open_shift_of(app.f.staff.id)
        .await
        .unwrap()
        .is_none());
    let rows = audited(&app, "shift.close_for_staff").await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].detail.contains("left without clocking out"));
    let alerts = app.json("GET", "/api/alerts", Some(&manager), None).await;
    assert!(alerts.body.contains("cash_short"), "short drawer alerted");
    let twice = app
        .page(
            "POST",
            &path,
            Some(&manager),
            Some(&format!("_csrf={csrf}&{form}")),
        )
        .await;
    assert!(twice.body.contains("class=\"error\""), "{}", twice.body);
}
