//! Freezing a location through the whole app.

use crate::testutil::test_app;
use axum::http::StatusCode;

#[tokio::test]
async fn a_frozen_location_refuses_dispensing_until_thawed() {
    let app = test_app().await;
    let (admin, csrf) = app.login("admin").await;
    let path = format!("/admin/locations/{}/freeze", app.f.location.id);
    let confirm = app.page("GET", &path, Some(&admin), None).await;
    assert!(confirm.body.contains("name=\"reason\""), "{}", confirm.body);
    let wrong = format!("_csrf={csrf}&confirm=nope&reason=till");
    let r = app.page("POST", &path, Some(&admin), Some(&wrong)).await;
    assert!(r.body.contains("nothing was done"));
    let ok = format!("_csrf={csrf}&confirm=freeze&reason=till+missing");
    let r = app.page("POST", &path, Some(&admin), Some(&ok)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let routers = app.page("GET", "/admin/routers", Some(&admin), None).await;
    assert!(routers
        .body
        .contains("dispensing frozen by admin: till missing"));

    app.f
        .store
        .open_shift(app.f.staff.id, app.f.location.id, 0, "staff")
        .await
        .unwrap();
    let (staff, scsrf) = app.login("staff").await;
    let form = format!("_csrf={scsrf}&package_id={}", app.f.package.id);
    let r = app
        .page("POST", "/dispense", Some(&staff), Some(&form))
        .await;
    assert!(r.body.contains("dispensing is frozen"), "{}", r.body);
    let none = app.f.store.list_tokens(&Default::default()).await.unwrap();
    assert_eq!(none.total, 0);

    let thaw = format!("/admin/locations/{}/thaw", app.f.location.id);
    let ok = format!("_csrf={csrf}&confirm=thaw&reason=found+it");
    app.page("POST", &thaw, Some(&admin), Some(&ok)).await;
    let r = app
        .page("POST", "/dispense", Some(&staff), Some(&form))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}
