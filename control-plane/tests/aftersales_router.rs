//! Voucher after-sales with the real agent and the router simulator (the server in-process):
//! extend, disable, enable, reprint, replace and a manager-approved void reach the router as
//! signed commands; the till, the daily report and the router inventory agree with them, and
//! none of them is taken for tampering.

#[allow(dead_code)]
mod fraud;

use fraud::World;
use mtm_control_plane::reconcile::{daily_report, DayWindow};
use mtm_control_plane::store::{now_ms, LogTable};
use serde_json::{json, Value};
use std::time::Duration;
use uuid::Uuid;

/// The router's user for `code`, if any.
async fn user(w: &World, code: &str) -> Option<mtm_routeros::HotspotUser> {
    let ros = w.ros(0).await;
    ros.hotspot_user_by_name(code).await.unwrap()
}

/// Wait until the router's user for `code` satisfies `pred` (`None`: no such user).
async fn router_shows(
    w: &World,
    what: &str,
    code: &str,
    pred: impl Fn(Option<&mtm_routeros::HotspotUser>) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let u = user(w, code).await;
        if pred(u.as_ref()) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for the router to show {what}: {u:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn after_sale(w: &World, jwt: &str, token: &Value, body: Value) -> Value {
    let path = format!("/api/tokens/{}/after-sales", token["id"].as_str().unwrap());
    let (status, reply) = w.call("POST", Some(jwt), &path, Some(body)).await;
    assert_eq!(status, 200, "{path}: {reply}");
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sales_reach_the_router_the_till_and_the_report() {
    let w = World::start().await;
    let t0 = now_ms();
    let admin = w.login("admin").await;
    let manager = w.login("manager").await;
    let staff = w.login("staff0").await;
    let site = w.sites[0].location.id;
    // Staff may hand back up to 1.00 USD alone.
    let (status, body) = w
        .call(
            "PATCH",
            Some(&admin),
            &format!("/api/locations/{site}"),
            Some(json!({"refund_approval_minor": 100})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = w
        .call(
            "POST",
            Some(&staff),
            "/api/shifts/clock-in",
            Some(json!({"opening_float_minor": 1000})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let a = w.sell(&staff, 1).await;
    let b = w.sell(&staff, 1).await;
    let code_a = a["code"].as_str().unwrap().to_owned();
    let code_b = b["code"].as_str().unwrap().to_owned();
    router_shows(&w, "the one-hour voucher", &code_a, |u| {
        u.is_some_and(|u| u.limit_uptime == Some(Duration::from_secs(3600)))
    })
    .await;

    // Extend: the router's limit grows by 30 minutes.
    let ext = after_sale(
        &w,
        &staff,
        &a,
        json!({"kind": "extend", "reason": "the link dropped", "extra_uptime_s": 1800}),
    )
    .await;
    assert_eq!(ext["state"], "done");
    assert_eq!(ext["command_ids"].as_array().unwrap().len(), 1);
    router_shows(&w, "the extended limit", &code_a, |u| {
        u.is_some_and(|u| u.limit_uptime == Some(Duration::from_secs(5400)))
    })
    .await;

    // Disable, then enable.
    after_sale(
        &w,
        &staff,
        &a,
        json!({"kind": "disable", "reason": "customer left it on the table"}),
    )
    .await;
    router_shows(&w, "the voucher disabled", &code_a, |u| {
        u.is_some_and(|u| u.disabled)
    })
    .await;
    after_sale(
        &w,
        &staff,
        &a,
        json!({"kind": "enable", "reason": "customer came back"}),
    )
    .await;
    router_shows(&w, "the voucher enabled", &code_a, |u| {
        u.is_some_and(|u| !u.disabled)
    })
    .await;

    // Reprint: nothing changes on the router; the voucher counts the reprint.
    let rp = after_sale(
        &w,
        &staff,
        &a,
        json!({"kind": "reprint", "reason": "printer jammed"}),
    )
    .await;
    assert_eq!(rp["command_ids"].as_array().unwrap().len(), 0);
    let (_, t) = w
        .call(
            "GET",
            Some(&staff),
            &format!("/api/tokens/{}", a["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(t["reprints"], 1, "{t}");

    // Replace B: B leaves the router, its replacement arrives there.
    let rep = after_sale(
        &w,
        &staff,
        &b,
        json!({"kind": "replace", "reason": "customer cannot log in"}),
    )
    .await;
    let new_id: Uuid = rep["new_token_id"].as_str().unwrap().parse().unwrap();
    let new = w.store.token(new_id).await.unwrap().unwrap();
    router_shows(&w, "the replaced voucher gone", &code_b, |u| u.is_none()).await;
    router_shows(&w, "the replacement", &new.code, |u| u.is_some()).await;

    // Staff void A with the full price back: above 1.00, so a manager must approve first.
    let asked = after_sale(
        &w,
        &staff,
        &a,
        json!({"kind": "void", "reason": "customer changed their mind", "refund_minor": 500}),
    )
    .await;
    assert_eq!(asked["state"], "requested");
    assert_eq!(asked["command_ids"].as_array().unwrap().len(), 0);
    assert!(
        user(&w, &code_a).await.is_some(),
        "not voided before approval"
    );
    let (status, _) = w
        .call(
            "POST",
            Some(&staff),
            &format!("/api/after-sales/{}/approve", asked["id"].as_str().unwrap()),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 403, "staff cannot approve");
    let (status, approved) = w
        .call(
            "POST",
            Some(&manager),
            &format!("/api/after-sales/{}/approve", asked["id"].as_str().unwrap()),
            Some(json!({"note": "ok"})),
        )
        .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["state"], "done");
    router_shows(&w, "the voided voucher gone", &code_a, |u| u.is_none()).await;

    // Every after-sale is in the audit log with its reason.
    let audit = w
        .store
        .list_log(LogTable::Audit, 500, 0)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action.starts_with("token.") && e.detail.contains("\"reason\""))
        .map(|e| e.action)
        .collect::<Vec<_>>();
    for action in [
        "token.extend",
        "token.disable",
        "token.enable",
        "token.reprint",
        "token.replace",
        "token.refund_requested",
        "token.void",
    ] {
        assert!(audit.iter().any(|a| a == action), "{action} in {audit:?}");
    }

    // The routers report a few inventories more: nothing of this is tampering or missing.
    w.settle(6).await;
    let alerts: Vec<_> = w
        .alerts()
        .await
        .into_iter()
        .filter(|a| a.location_id == Some(site))
        // The World's routers count as silent after 4 s: a loaded 2-core machine can miss that
        // without any after-sale being involved.
        .filter(|a| a.kind.as_str() != "router_silent")
        .collect();
    assert!(alerts.is_empty(), "after-sales raised alerts: {alerts:?}");

    // The till: float 10.00 + A 5.00 + B 5.00, B's sale moved to its replacement (-5 +5), A's
    // refund -5.00: 15.00 expected, and declaring it leaves no variance.
    let (status, shift) = w
        .call(
            "POST",
            Some(&staff),
            "/api/shifts/clock-out",
            Some(json!({"declared_cash_minor": 1500})),
        )
        .await;
    assert_eq!(status, 200, "{shift}");
    assert_eq!(shift["expected_cash_minor"], 1500, "{shift}");

    // The daily report lists them and counts the refund and the moved sale.
    let window = DayWindow {
        date: "today".into(),
        close_time: "00:00".into(),
        start_ms: t0 - 60_000,
        end_ms: now_ms() + 60_000,
    };
    let inputs = mtm_control_plane::reports::inputs(w.store.as_ref(), site, window)
        .await
        .unwrap();
    let report = daily_report(&inputs).unwrap();
    let day = &report.body.after_sales;
    assert_eq!(
        (
            day.extended,
            day.disabled,
            day.enabled,
            day.reprinted,
            day.replaced,
            day.voided
        ),
        (1, 1, 1, 1, 1, 1),
        "{day:?}"
    );
    assert_eq!(day.refunds_minor, 500);
    assert_eq!(day.moved_minor, 500);
    assert_eq!(report.body.revenue.refunded_minor, 500);
    let shift_line = &report.body.shifts[0];
    assert_eq!(shift_line.variance_minor, Some(0), "{shift_line:?}");

    w.stop().await;
}
