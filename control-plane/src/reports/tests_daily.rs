//! HTTP tests of the daily report: built once after the location's close, signed off once.

use crate::testutil::test_app;
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_day_is_reported_once_after_close_and_signed_off_once() {
    let app = test_app().await;
    let (staff, _) = app.login("staff").await;
    app.json(
        "POST",
        "/api/shifts/clock-in",
        Some(&staff),
        Some(json!({"opening_float_minor": 1000})),
    )
    .await;
    let sold = json!({"package_id": app.f.package.id});
    let r = app
        .json("POST", "/api/tokens/generate", Some(&staff), Some(sold))
        .await;
    let price = r.json()["price_minor"].as_i64().unwrap_or(0);
    app.json(
        "POST",
        "/api/shifts/clock-out",
        Some(&staff),
        Some(json!({"declared_cash_minor": 1000 + price - 100})),
    )
    .await;

    // Nothing is due before the day closes; a day later, one report, and only one.
    let store = &*app.f.store;
    let now = crate::store::now_ms();
    let tomorrow = now + 86_400_000;
    assert_eq!(crate::reports::run_due(store, tomorrow).await.unwrap(), 1);
    assert_eq!(crate::reports::run_due(store, tomorrow).await.unwrap(), 0);

    let (manager, _) = app.login("manager").await;
    let lid = app.f.location.id;
    let list = app
        .json(
            "GET",
            &format!("/api/reports?location_id={lid}"),
            Some(&manager),
            None,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let reports = list.json();
    let report = &reports[0];
    assert_eq!(reports.as_array().map(Vec::len), Some(1));
    assert_eq!(report["intact"], true);
    let body = &report["body"];
    assert_eq!(body["totals"]["tokens"]["issued"], 1);
    assert_eq!(body["revenue"]["expected_minor"], price);
    assert_eq!(body["revenue"]["confirmed_minor"], price - 100);
    assert_eq!(body["revenue"]["variance_minor"], -100);
    assert_eq!(body["shifts"][0]["staff_id"], json!(app.f.staff.id));
    let staff = &body["staff"][0];
    assert_eq!(staff["staff_id"], json!(app.f.staff.id));
    assert_eq!(staff["closed_expected_minor"], price);
    assert_eq!(staff["confirmed_minor"], price - 100);
    assert_eq!(staff["variance_minor"], -100);
    assert_eq!(staff["tokens_sold"], 1);
    assert_eq!(body["alerts_by_kind"]["cash_short"], 1, "{body}");
    let date = report["business_date"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let by_date = app
        .json(
            "GET",
            &format!("/api/reports?date={date}"),
            Some(&manager),
            None,
        )
        .await
        .json();
    assert_eq!(by_date.as_array().map(Vec::len), Some(1));
    let bad = app
        .json("GET", "/api/reports?date=yesterday", Some(&manager), None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let id = report["id"].as_str().unwrap_or_default();
    let path = format!("/api/reports/{id}/sign-off");
    let (staff, _) = app.login("staff").await;
    let r = app.json("POST", &path, Some(&staff), Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .json(
            "POST",
            &path,
            Some(&manager),
            Some(json!({"note": "drawer short 100, known"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["signed_off_by"], "manager");
    let r = app
        .json("POST", &path, Some(&manager), Some(json!({})))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}
