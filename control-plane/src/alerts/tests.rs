//! The alert API through the whole app: listed, acknowledged, resolved only with a note.

use crate::testutil::test_app;
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn dispensing_without_a_shift_is_refused_and_alerted_once_then_resolved() {
    let app = test_app().await;
    let (staff, _) = app.login("staff").await;
    let body = json!({"package_id": app.f.package.id});
    for _ in 0..2 {
        let r = app
            .json(
                "POST",
                "/api/tokens/generate",
                Some(&staff),
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    }
    let (manager, _) = app.login("manager").await;
    let denied = app.json("GET", "/api/alerts", Some(&staff), None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let alerts = app
        .json("GET", "/api/alerts?state=open", Some(&manager), None)
        .await
        .json();
    let list = alerts.as_array().unwrap();
    assert_eq!(
        list.len(),
        1,
        "two presses in a minute are one attempt: {alerts}"
    );
    assert_eq!(list[0]["kind"], "dispense_outside_shift");
    assert_eq!(list[0]["staff_id"], app.f.staff.id.to_string());
    let id = list[0]["id"].as_str().unwrap();
    let no_note = app
        .json(
            "POST",
            &format!("/api/alerts/{id}/resolve"),
            Some(&manager),
            Some(json!({})),
        )
        .await;
    assert_eq!(no_note.status, StatusCode::BAD_REQUEST);
    let ack = app
        .json(
            "POST",
            &format!("/api/alerts/{id}/acknowledge"),
            Some(&manager),
            Some(json!({"note": "asking"})),
        )
        .await;
    assert_eq!(ack.json()["state"], "acknowledged");
    let done = app
        .json(
            "POST",
            &format!("/api/alerts/{id}/resolve"),
            Some(&manager),
            Some(json!({"note": "forgot to clock in"})),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert_eq!(done.json()["state"], "resolved");
    assert_eq!(done.json()["resolved_by"], "manager");
    let open = app
        .json("GET", "/api/alerts?state=open", Some(&manager), None)
        .await
        .json();
    assert!(open.as_array().unwrap().is_empty());
}
