//! Fraud detection's proof: the real agent and the router simulator with the server in-process. A
//! normal day at three locations raises nothing; then each fraud is done the way a dishonest
//! staff member would do it, and each is caught with the right alert and evidence within one
//! telemetry interval (plus slack). Detection times are printed (`--nocapture`).

mod fraud;

use fraud::{now, poll, World, INVENTORY_S, SILENT_AFTER_S, SLACK_MS};
use mtm_control_plane::store::{Alert, LogTable, UserChange};
use serde_json::json;
use std::time::Duration;

/// The budget for a router-side fraud: one inventory interval plus slack.
const ROUTER_BUDGET_MS: i64 = INVENTORY_S as i64 * 1000 + SLACK_MS;
/// HTTP-side frauds are judged in the request itself.
const HTTP_BUDGET_MS: i64 = 1000;

fn at_site(a: &Alert, w: &World, site: usize, kind: &str) -> bool {
    a.kind.as_str() == kind
        && a.location_id == Some(w.sites[site].location.id)
        && (a.router_id.is_none() || a.router_id == Some(w.sites[site].router_id))
}

/// A page's HTML as `jwt`'s user sees it; the page must answer 200.
async fn page(w: &World, jwt: &str, path: &str) -> String {
    let r = w
        .http
        .get(format!("{}{path}", w.base))
        .bearer_auth(jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{path}");
    r.text().await.unwrap()
}

type Call = (axum::http::HeaderMap, String);

/// A webhook receiver on loopback: its URL, and each call's headers and body.
async fn webhook_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<Call>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap, body: String| {
        let tx = tx.clone();
        async move {
            let _ = tx.send((headers, body));
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_day_raises_nothing_and_every_fraud_is_caught_in_time() {
    let w = World::start().await;
    let admin = w.login("admin").await;
    // The manager's phone: a webhook receiver on loopback for critical alerts.
    let (hook, mut phone) = webhook_receiver().await;
    let channel =
        json!({"name": "phone", "kind": "webhook", "target": hook, "min_severity": "critical"});
    let manager = w.login("manager").await;
    let (status, made) = w
        .call(
            "POST",
            Some(&manager),
            "/api/notifications/channels",
            Some(channel),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    // And the manager's mailbox: an e-mail channel, mailed through the server's SMTP settings
    // to a real SMTP receiver on loopback.
    let mut mailbox = w.take_mailbox();
    let email = json!({"name": "inbox", "kind": "email", "target": "manager@cafe.test",
                       "min_severity": "critical"});
    let (status, made_mail) = w
        .call(
            "POST",
            Some(&manager),
            "/api/notifications/channels",
            Some(email),
        )
        .await;
    assert_eq!(status, 201, "{made_mail}");
    let mut jwts = Vec::new();
    for (i, site) in w.sites.iter().enumerate() {
        let path = format!("/api/locations/{}", site.location.id);
        let body = json!({"cash_threshold_minor": 100, "close_time": "03:00"});
        let (status, _) = w.call("PATCH", Some(&admin), &path, Some(body)).await;
        assert_eq!(status, 200);
        jwts.push(w.login(&format!("staff{i}")).await);
    }

    // --- A normal day: clock in, sell, customers use their vouchers, clock out exactly.
    let mut sold = Vec::new();
    for (i, jwt) in jwts.iter().enumerate() {
        let body = json!({"opening_float_minor": 1000});
        let (status, _) = w
            .call("POST", Some(jwt), "/api/shifts/clock-in", Some(body))
            .await;
        assert_eq!(status, 200);
        let hour = w.sell(jwt, 1).await;
        let half = w.sell(jwt, 0).await;
        let sim = &w.sites[i].sim;
        for (n, v) in [&hour, &half].into_iter().enumerate() {
            let code = v["code"].as_str().unwrap();
            sim.customer_login(code, "", &format!("AA:BB:CC:00:0{i}:0{n}"))
                .unwrap();
            sim.use_traffic(code, 200_000, 2_000_000);
        }
        sold.push((hour, half));
    }
    w.settle(3).await;
    // Half an hour later the 30-minute vouchers are used up (the router logs them out).
    for site in &w.sites {
        site.sim.advance(Duration::from_secs(31 * 60));
    }
    w.settle(2 * INVENTORY_S + 2).await;
    for jwt in &jwts {
        let body = json!({"declared_cash_minor": 1000 + 500 + 300 - 40});
        let (status, shift) = w
            .call("POST", Some(jwt), "/api/shifts/clock-out", Some(body))
            .await;
        assert_eq!(status, 200, "{shift}");
        assert_eq!(shift["variance_minor"], -40, "within the threshold of 100");
    }
    w.settle(2 * INVENTORY_S + 2).await;
    let alerts = w.alerts().await;
    assert!(
        alerts.is_empty(),
        "false alarms on a normal day: {alerts:#?}"
    );
    println!("normal day at three locations: no alert");

    // Shifts reopen for the frauds (the router-silent check needs one open).
    let mut jwts2 = Vec::new();
    let mut shift_ids = Vec::new();
    for (i, _) in w.sites.iter().enumerate() {
        let jwt = w.login(&format!("staff{i}")).await;
        let body = json!({"opening_float_minor": 0});
        let (status, shift) = w
            .call("POST", Some(&jwt), "/api/shifts/clock-in", Some(body))
            .await;
        assert_eq!(status, 200, "{shift}");
        jwts2.push(jwt);
        shift_ids.push(shift["id"].as_str().map(String::from));
    }
    let jwts = jwts2;

    // --- (r) a voucher command sold at site 2, captured on the way to its router and replayed
    // unchanged to site 0's router by someone on the broker's side of the wire (the broker's
    // topic rules do not bind them): the envelope names its recipient, so site 0's agent
    // refuses it; nothing is created there and nobody at site 0 (staff0 is on shift) is blamed.
    let victim = &w.sites[0];
    let sold2 = w.sell(&jwts[2], 0).await;
    let code2 = sold2["code"].as_str().unwrap().to_owned();
    let cp_key =
        mtm_common::keys::parse_public_key(&w.server.control_plane_public_key_hex()).unwrap();
    let site2 = &w.sites[2].agent_id;
    let command = w.sites[2]
        .wire
        .seen_on(&mtm_common::topics::down(site2))
        .into_iter()
        .find(|payload| {
            let Ok(env) = mtm_common::Envelope::from_bytes(payload) else {
                return false;
            };
            matches!(
                env.open(&cp_key, site2),
                Ok(mtm_common::DownMessage::Command(c))
                    if matches!(&c.kind, mtm_common::CommandKind::CreateToken(t) if t.code == code2)
            )
        })
        .expect("the command seen on the wire");
    let known = w.known().await;
    let refused_before = victim.agent.as_ref().unwrap().status().down_refused;
    let replayed = now();
    victim
        .wire
        .inject(&mtm_common::topics::down(&victim.agent_id), &command);
    poll("site 0's agent to refuse the replay", 30, || async {
        victim.agent.as_ref().unwrap().status().down_refused > refused_before
    })
    .await;
    // An inventory from site 0 sent after the replay: had the voucher been created there, this
    // is where it would be seen.
    poll("an inventory from site 0 after the replay", 30, || async {
        let times = w.store.inventory_times(victim.router_id).await.unwrap();
        times.is_some_and(|(at, _)| at > replayed)
    })
    .await;
    w.settle(2).await;
    assert!(
        !victim.sim.users().iter().any(|u| u.name == code2),
        "the replayed voucher was created at site 0"
    );
    assert!(w.sites[2].sim.users().iter().any(|u| u.name == code2));
    let new: Vec<Alert> = w
        .alerts()
        .await
        .into_iter()
        .filter(|a| !known.contains(&a.id))
        .collect();
    assert!(new.is_empty(), "alerts after the replay: {new:#?}");
    println!("replayed command to another router: refused, nothing created, no alert");

    // --- (a) a user added on the router by hand, without a comment and with a forged one.
    let ros = w.ros(0).await;
    let known = w.known().await;
    ros.command(&["/ip/hotspot/user/add", "=name=CASH0001", "=profile=mtm-1h"])
        .await
        .unwrap();
    let act = now();
    let (a, _) = w
        .caught(
            "rogue_token (no comment)",
            act,
            ROUTER_BUDGET_MS,
            &known,
            |a| at_site(a, &w, 0, "rogue_token") && a.evidence["user"] == "CASH0001",
        )
        .await;
    assert_eq!(a.router_id, Some(w.sites[0].router_id));
    // The critical alert reaches the manager's phone within 10 s, signed.
    let reached = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (headers, body) = phone.recv().await.expect("receiver open");
            let sent: serde_json::Value = serde_json::from_str(&body).unwrap();
            if sent["id"] == a.id.to_string() {
                let ts: i64 = headers["x-mtm-timestamp"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                let secret = made["secret"].as_str().unwrap();
                let expected = mtm_control_plane::notify::signature(secret, ts, body.as_bytes());
                let signed = headers["x-mtm-signature"].to_str().ok() == expected.ok().as_deref();
                return (signed, now());
            }
        }
    })
    .await
    .expect("the critical alert reached the webhook within 10 s");
    assert!(reached.0, "signed with the channel's secret");
    println!(
        "notification: alert to webhook in {} ms",
        reached.1 - a.created_at
    );
    let mailed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let mail = mailbox.recv().await.expect("SMTP receiver open");
            if mail.data.contains(&a.id.to_string()) {
                return (mail, now());
            }
        }
    })
    .await
    .expect("the critical alert reached the SMTP receiver within 10 s");
    assert_eq!(mailed.0.to, ["manager@cafe.test"]);
    assert_eq!(mailed.0.from, "alerts@mtm.test");
    assert!(
        mailed
            .0
            .data
            .contains("Subject: [mtm critical] hotspot user CASH0001"),
        "{}",
        mailed.0.data
    );
    println!(
        "notification: alert to SMTP receiver in {} ms",
        mailed.1 - a.created_at
    );
    assert_eq!(a.agent_id.as_deref(), Some(w.sites[0].agent_id.as_str()));
    assert_eq!(a.evidence["reason"], "no_mtm_comment");
    // The router does not say who typed it; the shift open at its location does.
    let staff0 = &w.sites[0].staff;
    assert_eq!(a.staff_id, Some(staff0.id), "{}", a.evidence);
    assert_eq!(a.shift_id.map(|s| s.to_string()), shift_ids[0]);
    let on_duty = a.evidence["on_duty"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(on_duty.len(), 1, "{}", a.evidence);
    assert_eq!(on_duty[0]["staff"], staff0.username.as_str());
    assert_eq!(on_duty[0]["closed_at"], serde_json::Value::Null);
    let while_on = format!("while {} was on shift", staff0.username);
    assert!(a.summary.ends_with(&while_on), "{}", a.summary);
    let forged = format!("=comment=mtm:{}", uuid::Uuid::new_v4());
    let known = w.known().await;
    ros.command(&[
        "/ip/hotspot/user/add",
        "=name=CASH0002",
        "=profile=mtm-1h",
        &forged,
    ])
    .await
    .unwrap();
    let act = now();
    let (a, _) = w
        .caught(
            "rogue_token (forged comment)",
            act,
            ROUTER_BUDGET_MS,
            &known,
            |a| at_site(a, &w, 0, "rogue_token") && a.evidence["user"] == "CASH0002",
        )
        .await;
    assert_eq!(a.evidence["reason"], "unknown_token", "{}", a.evidence);

    // --- (b) created, used and deleted between two inventories: only the session is left.
    let ros1 = w.ros(1).await;
    let known = w.known().await;
    w.settle(1).await;
    ros1.command(&["/ip/hotspot/user/add", "=name=GONE0001", "=profile=mtm-1h"])
        .await
        .unwrap();
    w.sites[1]
        .sim
        .customer_login("GONE0001", "", "AA:BB:CC:DD:01:99")
        .unwrap();
    ros1.command(&["/ip/hotspot/user/remove", "=numbers=GONE0001"])
        .await
        .unwrap();
    let act = now();
    let (a, _) = w
        .caught(
            "rogue_token (deleted, session left)",
            act,
            ROUTER_BUDGET_MS,
            &known,
            |a| at_site(a, &w, 1, "rogue_token") && a.evidence["user"] == "GONE0001",
        )
        .await;
    assert_eq!(a.router_id, Some(w.sites[1].router_id));
    assert_eq!(a.staff_id, Some(w.sites[1].staff.id), "{}", a.evidence);
    assert_eq!(a.shift_id.map(|s| s.to_string()), shift_ids[1]);
    println!("evidence (b): {}", a.evidence);

    // --- (c) an issued voucher given a bigger package and a password on the router.
    let (hour1, _) = &sold[1];
    let code1 = hour1["code"].as_str().unwrap().to_owned();
    let known = w.known().await;
    ros1.command(&[
        "/ip/hotspot/user/set",
        &format!("=numbers={code1}"),
        "=limit-uptime=1d",
    ])
    .await
    .unwrap();
    let act = now();
    let (a, _) = w
        .caught(
            "tampered_token (limit)",
            act,
            ROUTER_BUDGET_MS,
            &known,
            |a| at_site(a, &w, 1, "tampered_token"),
        )
        .await;
    assert_eq!(a.staff_id, Some(w.sites[1].staff.id));
    assert_eq!(
        a.token_id.map(|t| t.to_string()),
        hour1["id"].as_str().map(String::from)
    );
    println!("evidence (c): {}", a.evidence);

    // --- (d) a used voucher's counters reset and sold again.
    let (hour2, _) = &sold[2];
    let code2 = hour2["code"].as_str().unwrap().to_owned();
    let sim2 = &w.sites[2].sim;
    sim2.customer_logout(&code2);
    let ros2 = w.ros(2).await;
    let known = w.known().await;
    ros2.command(&[
        "/ip/hotspot/user/reset-counters",
        &format!("=numbers={code2}"),
    ])
    .await
    .unwrap();
    let act = now();
    sim2.customer_login(&code2, "", "AA:BB:CC:DD:02:77")
        .unwrap();
    sim2.use_traffic(&code2, 1000, 5000);
    let (a, _) = w
        .caught(
            "reused_token (counters reset)",
            act,
            ROUTER_BUDGET_MS,
            &known,
            |a| at_site(a, &w, 2, "reused_token"),
        )
        .await;
    assert_eq!(a.staff_id, Some(w.sites[2].staff.id));
    assert_eq!(a.evidence["user"], code2.as_str());
    println!("evidence (d): {}", a.evidence);

    // --- (e) the drawer short (a voucher sold, nothing declared), then over, beyond 100.
    let voucher = w.sell(&jwts[0], 1).await;
    let price = 500;
    for (site, declared, kind, variance) in [
        (0usize, 0, "cash_short", -price),
        (1, price, "cash_over", price),
    ] {
        let known = w.known().await;
        let act = now();
        let body = json!({"declared_cash_minor": declared});
        let (status, shift) = w
            .call(
                "POST",
                Some(&jwts[site]),
                "/api/shifts/clock-out",
                Some(body),
            )
            .await;
        assert_eq!(status, 200, "{shift}");
        let (a, _) = w
            .caught(kind, act, HTTP_BUDGET_MS, &known, |a| {
                at_site(a, &w, site, kind)
            })
            .await;
        assert_eq!(a.staff_id, Some(w.sites[site].staff.id));
        assert_eq!(
            a.shift_id.map(|s| s.to_string()),
            shift["id"].as_str().map(String::from)
        );
        assert_eq!(a.evidence["variance_minor"], variance);
        assert_eq!(a.evidence["threshold_minor"], 100);
    }
    assert_eq!(voucher["price_minor"], price);

    // --- (a') a user added by hand at site 1 after its only shift clocked out, and after the
    // router's next inventory (which did not show it): nobody to name.
    let closed = now();
    let router1 = w.sites[1].router_id;
    poll("an inventory after the clock-out", 30, || async {
        let times = w.store.inventory_times(router1).await.unwrap();
        times.is_some_and(|(at, _)| at > closed)
    })
    .await;
    let known = w.known().await;
    ros1.command(&["/ip/hotspot/user/add", "=name=CASH1001", "=profile=mtm-1h"])
        .await
        .unwrap();
    let act = now();
    let (a, _) = w
        .caught(
            "rogue_token (nobody clocked in)",
            act,
            ROUTER_BUDGET_MS,
            &known,
            |a| at_site(a, &w, 1, "rogue_token") && a.evidence["user"] == "CASH1001",
        )
        .await;
    assert_eq!((a.staff_id, a.shift_id), (None, None), "{}", a.evidence);
    assert_eq!(a.evidence["on_duty"], json!([]));
    assert!(
        a.summary.ends_with("with nobody clocked in"),
        "{}",
        a.summary
    );

    // --- (f) dispensing with no open shift, and at a location that is no longer the staff
    // member's: refused, and alerted.
    let jwt0 = w.login("staff0").await;
    let known = w.known().await;
    let act = now();
    let body = json!({"package_id": w.packages[1].id});
    let (status, _) = w
        .call(
            "POST",
            Some(&jwt0),
            "/api/tokens/generate",
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, 400, "refused");
    let (a, _) = w
        .caught("dispense_outside_shift", act, HTTP_BUDGET_MS, &known, |a| {
            at_site(a, &w, 0, "dispense_outside_shift")
        })
        .await;
    assert_eq!(a.staff_id, Some(w.sites[0].staff.id));
    assert_eq!(a.evidence["reason"], "no_open_shift");
    let moved = UserChange {
        location_ids: Some(vec![w.sites[1].location.id]),
        ..Default::default()
    };
    w.store
        .update_user(w.sites[2].staff.id, moved, "admin", now())
        .await
        .unwrap();
    // A location change ends the staff member's sessions; they log in again and try there.
    let (status, _) = w
        .call(
            "POST",
            Some(&jwts[2]),
            "/api/tokens/generate",
            Some(body.clone()),
        )
        .await;
    assert_eq!(
        status, 401,
        "the old session ended with the location change"
    );
    let relogged = w.login("staff2").await;
    let known = w.known().await;
    let act = now();
    let (status, _) = w
        .call("POST", Some(&relogged), "/api/tokens/generate", Some(body))
        .await;
    assert_eq!(status, 400, "refused");
    let (a, _) = w
        .caught(
            "dispense_wrong_location",
            act,
            HTTP_BUDGET_MS,
            &known,
            |a| at_site(a, &w, 2, "dispense_wrong_location"),
        )
        .await;
    assert_eq!(a.staff_id, Some(w.sites[2].staff.id));
    assert_eq!(a.evidence["reason"], "not_a_location_of_staff");

    // --- (g) the router goes silent (agent stopped) while site 2's shift is open.
    let mut w = w;
    let known = w.known().await;
    if let Some(agent) = w.sites[2].agent.take() {
        agent.shutdown().await;
    }
    let act = now();
    let budget = SILENT_AFTER_S as i64 * 1000 + 1000 + SLACK_MS;
    let (a, _) = w
        .caught("router_silent", act, budget, &known, |a| {
            at_site(a, &w, 2, "router_silent")
        })
        .await;
    assert_eq!(a.router_id, Some(w.sites[2].router_id));
    println!("evidence (g): {}", a.evidence);

    // A manager sees who was on duty on the alerts page and on the staff member's page.
    let manager = w.login("manager").await;
    let alerts_page = page(&w, &manager, "/manager/alerts").await;
    let staff0 = &w.sites[0].staff;
    let named = format!(
        "on duty: <a href=\"/manager/staff/{}\">{}</a>",
        staff0.id, staff0.username
    );
    assert!(alerts_page.contains(&named), "{alerts_page}");
    assert!(alerts_page.contains("on duty: nobody clocked in"));
    let staff_page = page(&w, &manager, &format!("/manager/staff/{}", staff0.id)).await;
    assert!(staff_page.contains("id=\"staff-alerts\""), "{staff_page}");
    assert!(staff_page.contains("CASH0001") && staff_page.contains("CASH0002"));
    assert!(!staff_page.contains("CASH1001"), "not staff0's shift");

    // A manager acknowledges and resolves with notes; both are audited.
    let id = a.id;
    for (verb, note) in [
        ("acknowledge", "calling the site"),
        ("resolve", "power cut"),
    ] {
        let path = format!("/api/alerts/{id}/{verb}");
        let (status, body) = w
            .call("POST", Some(&manager), &path, Some(json!({"note": note})))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let log = w.store.list_log(LogTable::Audit, 500, 0).await.unwrap();
    for action in ["alert.acknowledged", "alert.resolved"] {
        assert!(
            log.iter()
                .any(|l| l.action == action && l.target == id.to_string() && l.actor == "manager"),
            "{action} audited"
        );
    }

    // The next day, each location's report lists the day's alerts and money.
    let stored = mtm_control_plane::reports::run_due(&*w.store, now() + 86_400_000)
        .await
        .unwrap();
    assert_eq!(stored, 3);
    let (status, reports) = w.call("GET", Some(&manager), "/api/reports", None).await;
    assert_eq!(status, 200);
    // The server's own minute job may also have stored the (empty) previous day's reports;
    // the day under test is the latest one.
    let reports = reports.as_array().cloned().unwrap_or_default();
    let latest = reports
        .iter()
        .filter_map(|r| r["business_date"].as_str())
        .max()
        .map(str::to_owned);
    let reports: Vec<_> = reports
        .into_iter()
        .filter(|r| r["business_date"].as_str() == latest.as_deref())
        .collect();
    assert_eq!(reports.len(), 3);
    for r in &reports {
        assert_eq!(r["intact"], true);
        let kinds = &r["body"]["alerts_by_kind"];
        if r["location_id"] == json!(w.sites[0].location.id) {
            assert_eq!(kinds["rogue_token"], 2, "{kinds}");
            assert_eq!(kinds["cash_short"], 1, "{kinds}");
            assert_eq!(r["body"]["revenue"]["expected_minor"], 500 + 300 + 500);
        }
    }
    w.stop().await;
}
