//! HTTP tests of a location's cash threshold at shift close, and a manager closing a forgotten
//! shift with a note.

use crate::testutil::test_app;
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn location_threshold_silences_small_differences_and_a_manager_closes_a_forgotten_shift() {
    let app = test_app().await;
    let lid = app.f.location.id;
    let path = format!("/api/locations/{lid}");
    let (admin, _) = app.login("admin").await;
    let (staff, _) = app.login("staff").await;
    let r = app
        .json(
            "PATCH",
            &path,
            Some(&staff),
            Some(json!({"cash_threshold_minor": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    for bad in [
        json!({"timezone": "Nowhere/Atlantis"}),
        json!({"timezone": "../../etc/passwd"}),
        json!({"close_time": "24:00"}),
        json!({"cash_threshold_minor": -5}),
        json!({"surprise": 1}),
    ] {
        let r = app
            .json("PATCH", &path, Some(&admin), Some(bad.clone()))
            .await;
        assert!(r.status.is_client_error(), "{bad}: {}", r.status);
    }
    let r = app
        .json(
            "PATCH",
            &path,
            Some(&admin),
            Some(json!({"cash_threshold_minor": 500, "close_time": "02:00", "timezone": "+01:00"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["cash_threshold_minor"], 500);
    let (manager, _) = app.login("manager").await;
    let got = app.json("GET", &path, Some(&manager), None).await.json();
    assert_eq!(
        (got["close_time"].as_str(), got["timezone"].as_str()),
        (Some("02:00"), Some("+01:00"))
    );

    // 300 short with a threshold of 500: nothing.
    let clock_in = json!({"opening_float_minor": 1000});
    app.json(
        "POST",
        "/api/shifts/clock-in",
        Some(&staff),
        Some(clock_in.clone()),
    )
    .await;
    let sold = json!({"package_id": app.f.package.id});
    let r = app
        .json(
            "POST",
            "/api/tokens/generate",
            Some(&staff),
            Some(sold.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let out = app
        .json(
            "POST",
            "/api/shifts/clock-out",
            Some(&staff),
            Some(json!({"declared_cash_minor": 1200})),
        )
        .await
        .json();
    assert_eq!(out["variance_minor"], -300);
    let alerts = app
        .json("GET", "/api/alerts", Some(&manager), None)
        .await
        .json();
    assert_eq!(alerts.as_array().map(Vec::len), Some(0), "{alerts}");

    // The staff member sells and walks off; the manager counts 900 short and closes the shift.
    let (staff, _) = app.login("staff").await;
    let shift = app
        .json("POST", "/api/shifts/clock-in", Some(&staff), Some(clock_in))
        .await
        .json();
    app.json("POST", "/api/tokens/generate", Some(&staff), Some(sold))
        .await;
    let close = format!("/api/shifts/{}/close", shift["id"].as_str().unwrap_or(""));
    let r = app
        .json(
            "POST",
            &close,
            Some(&staff),
            Some(json!({"declared_cash_minor": 600, "note": "x"})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "staff cannot close for others"
    );
    let r = app
        .json(
            "POST",
            &close,
            Some(&manager),
            Some(json!({"declared_cash_minor": 600, "note": "left without clocking out"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["variance_minor"], -900);
    let r = app
        .json(
            "POST",
            &close,
            Some(&manager),
            Some(json!({"declared_cash_minor": 600, "note": "again"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let alerts = app
        .json("GET", "/api/alerts", Some(&manager), None)
        .await
        .json();
    let list = alerts.as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 1, "{alerts}");
    assert_eq!(list[0]["kind"], "cash_short");
    assert_eq!(list[0]["staff_id"], json!(app.f.staff.id));
    assert_eq!(list[0]["evidence"]["closed_by"], json!(app.f.manager.id));
    assert_eq!(list[0]["evidence"]["threshold_minor"], 500);
}
