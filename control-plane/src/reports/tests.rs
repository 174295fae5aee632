//! The daily report pages through the whole app: listed, shown, signed off once.

use crate::testutil::test_app;
use axum::http::StatusCode;

#[tokio::test]
async fn daily_reports_list_show_and_sign_off_once() {
    let app = test_app().await;
    let stored = crate::reports::run_due(&*app.f.store, crate::store::now_ms())
        .await
        .unwrap();
    assert_eq!(stored, 1, "yesterday's report of the one location");
    let (manager, csrf) = app.login("manager").await;
    let list = app
        .page("GET", "/manager/reports", Some(&manager), None)
        .await;
    assert!(
        list.body.contains("Cafe One") && list.body.contains("intact"),
        "{}",
        list.body
    );
    let id = app
        .f
        .store
        .daily_reports(&Default::default())
        .await
        .unwrap()[0]
        .id;
    let page = format!("/manager/reports/{id}");
    let one = app.page("GET", &page, Some(&manager), None).await;
    assert!(one.body.contains("Sign off"), "{}", one.body);
    let form = format!("_csrf={csrf}&note=counted+and+checked");
    let r = app
        .page(
            "POST",
            &format!("{page}/sign-off"),
            Some(&manager),
            Some(&form),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let one = app.page("GET", &page, Some(&manager), None).await;
    assert!(one.body.contains("Signed off by manager"), "{}", one.body);
    let again = app
        .page(
            "POST",
            &format!("{page}/sign-off"),
            Some(&manager),
            Some(&form),
        )
        .await;
    // Signed off already (another tab): the report's page says so.
    assert_eq!(again.status, StatusCode::OK);
    assert!(
        again.body.contains("the report is signed off already"),
        "{}",
        again.body
    );
    let csv = app
        .page("GET", "/manager/reports?format=csv", Some(&manager), None)
        .await;
    let line = csv.body.lines().nth(1).unwrap();
    assert!(
        line.contains(",Cafe One,") && line.ends_with(",manager,counted and checked"),
        "{line}"
    );
}
