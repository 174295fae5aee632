use crate::store::{LocationSettingsChange, TokenState};
use crate::testutil::{test_app, TestApp};
use axum::http::StatusCode;
use mtm_common::{CommandKind, DownMessage};
use serde_json::{json, Value};

/// Clock the staff member in over the API and sell one voucher; returns (staff jwt, token json).
async fn sold(app: &TestApp) -> (String, Value) {
    let staff = app.staff_on_shift().await;
    let t = app
        .json(
            "POST",
            "/api/tokens/generate",
            Some(&staff),
            Some(json!({"package_id": app.f.package.id})),
        )
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.body);
    (staff, t.json())
}

fn commands(app: &TestApp) -> Vec<CommandKind> {
    app.rec
        .down_to("agent-1", &app.cp.verifying_key())
        .into_iter()
        .filter_map(|(_, m)| match m {
            DownMessage::Command(c) => Some(c.kind),
            _ => None,
        })
        .collect()
}

async fn after_sale(
    app: &TestApp,
    jwt: &str,
    token: &Value,
    body: Value,
) -> crate::testutil::Reply {
    let path = format!("/api/tokens/{}/after-sales", token["id"].as_str().unwrap());
    app.json("POST", &path, Some(jwt), Some(body)).await
}

async fn threshold(app: &TestApp, minor: i64) {
    let change = LocationSettingsChange {
        refund_approval_minor: Some(minor),
        ..Default::default()
    };
    app.f
        .store
        .update_location_settings(app.f.location.id, &change, "admin", 1)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_void_within_the_threshold_removes_it_and_refunds_the_till() {
    let app = test_app().await;
    threshold(&app, 500).await;
    let (staff, t) = sold(&app).await;
    let no_reason = after_sale(
        &app,
        &staff,
        &t,
        json!({"kind": "void", "reason": " ", "refund_minor": 500}),
    )
    .await;
    assert_eq!(
        no_reason.status,
        StatusCode::BAD_REQUEST,
        "{}",
        no_reason.body
    );
    let too_much = after_sale(
        &app,
        &staff,
        &t,
        json!({"kind": "void", "reason": "x", "refund_minor": 501}),
    )
    .await;
    assert_eq!(
        too_much.status,
        StatusCode::BAD_REQUEST,
        "{}",
        too_much.body
    );
    let r = after_sale(
        &app,
        &staff,
        &t,
        json!({"kind": "void", "reason": "customer left", "refund_minor": 500}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["state"], "done");
    assert!(
        v["shift_id"].is_string(),
        "paid from the staff member's till"
    );
    let id: uuid::Uuid = t["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        app.f.store.token(id).await.unwrap().unwrap().state,
        TokenState::Removed
    );
    assert!(commands(&app)
        .iter()
        .any(|k| matches!(k, CommandKind::RemoveToken { token_id } if *token_id == id)));
    // The till expects the float only: 5.00 sold, 5.00 handed back.
    let out = app
        .json(
            "POST",
            "/api/shifts/clock-out",
            Some(&staff),
            Some(json!({"declared_cash_minor": 1000})),
        )
        .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert_eq!(out.json()["variance_minor"], 0, "{}", out.body);
    // A second void of the same voucher is refused.
    let (manager, _) = app.login("manager").await;
    let again = after_sale(
        &app,
        &manager,
        &t,
        json!({"kind": "void", "reason": "twice"}),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
}

#[tokio::test]
async fn staff_ask_a_manager_for_a_refund_above_the_threshold() {
    let app = test_app().await;
    threshold(&app, 100).await;
    let (staff, t) = sold(&app).await;
    let before = commands(&app).len();
    let r = after_sale(
        &app,
        &staff,
        &t,
        json!({"kind": "void", "reason": "no signal", "refund_minor": 500}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let req = r.json();
    assert_eq!(req["state"], "requested");
    assert_eq!(
        commands(&app).len(),
        before,
        "nothing reaches the router yet"
    );
    let id: uuid::Uuid = t["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        app.f.store.token(id).await.unwrap().unwrap().state,
        TokenState::Issued
    );
    let path = format!("/api/after-sales/{}/approve", req["id"].as_str().unwrap());
    let denied = app.json("POST", &path, Some(&staff), Some(json!({}))).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let (manager, _) = app.login("manager").await;
    let waiting = app
        .json(
            "GET",
            "/api/after-sales?state=requested",
            Some(&manager),
            None,
        )
        .await;
    assert_eq!(
        waiting.json().as_array().unwrap().len(),
        1,
        "{}",
        waiting.body
    );
    let ok = app
        .json("POST", &path, Some(&manager), Some(json!({"note": "fair"})))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let done = ok.json();
    assert_eq!(done["state"], "done");
    assert_eq!(done["decided_by_name"], "manager");
    assert_eq!(
        app.f.store.token(id).await.unwrap().unwrap().state,
        TokenState::Removed
    );
    assert!(commands(&app)
        .iter()
        .any(|k| matches!(k, CommandKind::RemoveToken { .. })));
    let twice = app.json("POST", &path, Some(&manager), None).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    // Refunded against the staff member's open shift: their till expects 10.00 + 5.00 - 5.00.
    let out = app
        .json(
            "POST",
            "/api/shifts/clock-out",
            Some(&staff),
            Some(json!({"declared_cash_minor": 1000})),
        )
        .await;
    assert_eq!(out.json()["variance_minor"], 0, "{}", out.body);
    // Audited with the reason and the approver.
    let log = app
        .f
        .store
        .list_log(crate::store::LogTable::Audit, 50, 0)
        .await
        .unwrap();
    let text = serde_json::to_string(&log).unwrap();
    assert!(
        text.contains("token.refund_requested") && text.contains("token.void"),
        "{text}"
    );
    assert!(text.contains("no signal"));
}

#[tokio::test]
async fn replace_moves_the_sale_to_a_new_voucher() {
    let app = test_app().await;
    let (staff, t) = sold(&app).await;
    let r = after_sale(
        &app,
        &staff,
        &t,
        json!({"kind": "replace", "reason": "cannot log in"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    let new: uuid::Uuid = v["new_token_id"].as_str().unwrap().parse().unwrap();
    let old: uuid::Uuid = t["id"].as_str().unwrap().parse().unwrap();
    let nt = app.f.store.token(new).await.unwrap().unwrap();
    assert_eq!(
        (nt.price_minor, nt.replaces, nt.state),
        (500, Some(old), TokenState::Issued)
    );
    assert_ne!(nt.code, t["code"].as_str().unwrap());
    let kinds = commands(&app);
    assert!(kinds
        .iter()
        .any(|k| matches!(k, CommandKind::RemoveToken { token_id } if *token_id == old)));
    assert!(kinds
        .iter()
        .any(|k| matches!(k, CommandKind::CreateToken(c) if c.token_id == new)));
    // One sale, not two: the till expects 10.00 + 5.00.
    let out = app
        .json(
            "POST",
            "/api/shifts/clock-out",
            Some(&staff),
            Some(json!({"declared_cash_minor": 1500})),
        )
        .await;
    assert_eq!(out.json()["variance_minor"], 0, "{}", out.body);
}

#[tokio::test]
async fn extend_disable_enable_and_reprint_reach_the_router_and_the_ledger() {
    let app = test_app().await;
    let (staff, t) = sold(&app).await;
    let id: uuid::Uuid = t["id"].as_str().unwrap().parse().unwrap();
    let no_data_limit = after_sale(
        &app,
        &staff,
        &t,
        json!({"kind": "extend", "reason": "x", "extra_bytes_total": 1000}),
    )
    .await;
    assert_eq!(
        no_data_limit.status,
        StatusCode::BAD_REQUEST,
        "{}",
        no_data_limit.body
    );
    let r = after_sale(
        &app,
        &staff,
        &t,
        json!({"kind": "extend", "reason": "outage", "extra_uptime_s": 1800}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(commands(&app)
        .iter()
        .any(|k| matches!(k, CommandKind::ExtendToken(e)
        if e.token_id == id && e.limit_uptime_s == Some(5400) && e.limit_bytes_total.is_none())));
    assert_eq!(
        app.f.store.token(id).await.unwrap().unwrap().extra_uptime_s,
        1800
    );
    let r = after_sale(
        &app,
        &staff,
        &t,
        json!({"kind": "disable", "reason": "suspicious"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        app.f.store.token(id).await.unwrap().unwrap().state,
        TokenState::Disabled
    );
    let r = after_sale(&app, &staff, &t, json!({"kind": "reprint", "reason": "x"})).await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "a disabled voucher is not reprinted"
    );
    let r = after_sale(
        &app,
        &staff,
        &t,
        json!({"kind": "enable", "reason": "cleared"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        app.f.store.token(id).await.unwrap().unwrap().state,
        TokenState::Issued
    );
    let kinds = commands(&app);
    assert!(kinds
        .iter()
        .any(|k| matches!(k, CommandKind::DisableToken { token_id } if *token_id == id)));
    assert!(kinds
        .iter()
        .any(|k| matches!(k, CommandKind::EnableToken { token_id } if *token_id == id)));
    let r = after_sale(
        &app,
        &staff,
        &t,
        json!({"kind": "reprint", "reason": "paper jam"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let print = app
        .page("GET", &format!("/tokens/{id}/print"), Some(&staff), None)
        .await;
    assert!(print.body.contains("REPRINT 1"), "{}", print.body);
    let history = app
        .json(
            "GET",
            &format!("/api/tokens/{id}/after-sales"),
            Some(&staff),
            None,
        )
        .await
        .json();
    assert_eq!(history.as_array().unwrap().len(), 4, "{history}");
    // Another staff member's voucher is not theirs to touch.
    let (manager, _) = app.login("manager").await;
    let reg = app.json("POST", "/api/auth/register", Some(&app.login("admin").await.0),
        Some(json!({"username": "staff2", "password": crate::testutil::PASSWORD, "role": "staff", "location_ids": [app.f.location.id]}))).await;
    assert_eq!(reg.status, StatusCode::CREATED, "{}", reg.body);
    let (other, _) = app.login("staff2").await;
    let r = after_sale(
        &app,
        &other,
        &t,
        json!({"kind": "void", "reason": "mine now"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let ledger = app
        .f
        .store
        .list_log(crate::store::LogTable::Ledger, 50, 0)
        .await
        .unwrap();
    let text = serde_json::to_string(&ledger).unwrap();
    for event in ["extended", "disabled", "enabled", "reprinted"] {
        assert!(text.contains(event), "{event} missing from the ledger");
    }
    drop(manager);
}

#[tokio::test]
async fn the_pages_take_the_forms_with_their_csrf_token() {
    let app = test_app().await;
    let (staff, t) = sold(&app).await;
    let id = t["id"].as_str().unwrap();
    let page = app
        .page(
            "GET",
            &format!("/tokens/{id}/after-sales"),
            Some(&staff),
            None,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for form in [
        "form-void",
        "form-replace",
        "form-extend",
        "form-reprint",
        "form-disable",
    ] {
        assert!(page.body.contains(form), "{form}");
    }
    let csrf = page
        .body
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let without = app
        .page(
            "POST",
            &format!("/tokens/{id}/after-sales"),
            Some(&staff),
            Some("kind=disable&reason=x"),
        )
        .await;
    assert_eq!(without.status, StatusCode::FORBIDDEN, "{}", without.body);
    let form = format!("_csrf={csrf}&kind=extend&extra_minutes=15&reason=lost+time");
    let r = app
        .page(
            "POST",
            &format!("/tokens/{id}/after-sales"),
            Some(&staff),
            Some(&form),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let token = app
        .f
        .store
        .token(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token.extra_uptime_s, 900);
    let form = format!("_csrf={csrf}&kind=void&refund=5.00&reason=left");
    let r = app
        .page(
            "POST",
            &format!("/tokens/{id}/after-sales"),
            Some(&staff),
            Some(&form),
        )
        .await;
    assert_eq!(
        r.headers["location"],
        format!("/tokens/{id}/after-sales?done=requested")
    );
    let (manager, _) = app.login("manager").await;
    let list = app
        .page("GET", "/manager/after-sales", Some(&manager), None)
        .await;
    assert!(
        list.body.contains("id=\"waiting\"") && list.body.contains("left"),
        "{}",
        list.body
    );
}
