//! Channels over the API and the page, deliveries to a real HTTP receiver on loopback: signed,
//! once, only what matches, retried, then dead and listed.

use super::*;
use crate::testutil::{test_app, TestApp};
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;
use std::time::Duration;
use tokio::sync::mpsc;

/// The SMTP receiver the fraud scenarios mail to (real SMTP on loopback).
#[path = "../../tests/fraud/smtp.rs"]
mod smtp;

/// A webhook receiver on loopback answering `status`, handing each call (headers, body) over.
async fn receiver(status: StatusCode) -> (String, mpsc::UnboundedReceiver<(HeaderMap, String)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: String| {
        let tx = tx.clone();
        async move {
            let _ = tx.send((headers, body));
            status
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

/// Staff clock in with 10.00 and out with `declared`: a cash alert when it differs.
async fn close_shift_with(app: &TestApp, declared: i64) {
    let staff = app.staff_on_shift().await;
    let r = app
        .json(
            "POST",
            "/api/shifts/clock-out",
            Some(&staff),
            Some(json!({"declared_cash_minor": declared})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn add(app: &TestApp, who: &str, body: serde_json::Value) -> serde_json::Value {
    let (jwt, _) = app.login(who).await;
    let r = app
        .json(
            "POST",
            "/api/notifications/channels",
            Some(&jwt),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()
}

#[tokio::test]
async fn a_critical_alert_reaches_the_webhook_once_signed_and_a_warning_does_not() {
    let app = test_app().await;
    let (url, mut calls) = receiver(StatusCode::OK).await;
    let made = add(
        &app,
        "manager",
        json!({"name": "ops", "kind": "webhook", "target": url, "min_severity": "critical"}),
    )
    .await;
    let secret = made["secret"].as_str().unwrap().to_owned();
    let client = reqwest::Client::new();

    close_shift_with(&app, 1200).await; // 2.00 over: a warning, below the channel's level
    close_shift_with(&app, 0).await; // 10.00 short: critical
    run_once(&*app.state.store, &client, now_ms())
        .await
        .unwrap();
    let (headers, body) = calls.recv().await.unwrap();
    let sent: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (sent["event"].as_str(), sent["kind"].as_str()),
        (Some("alert"), Some("cash_short"))
    );
    assert_eq!(sent["summary"], "cash short by 10.00 USD at shift close");
    let ts: i64 = headers["x-mtm-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        headers["x-mtm-signature"].to_str().unwrap(),
        signature(&secret, ts, body.as_bytes()).unwrap(),
        "a receiver holding the secret can check the call"
    );
    assert_ne!(
        signature(&"00".repeat(32), ts, body.as_bytes()).unwrap(),
        headers["x-mtm-signature"].to_str().unwrap()
    );

    // Sent once: later rounds send nothing more, and the delivery is audited.
    run_once(&*app.state.store, &client, now_ms())
        .await
        .unwrap();
    assert!(
        calls.try_recv().is_err(),
        "nothing sent twice, no warning sent"
    );
    let sent = app
        .state
        .store
        .list_deliveries(Some("sent"), 10)
        .await
        .unwrap();
    assert_eq!(sent.len(), 1);
    let log = app
        .state
        .store
        .list_log(crate::store::LogTable::Audit, 200, 0)
        .await
        .unwrap();
    let audited: Vec<_> = log
        .iter()
        .filter(|r| r.action == "notification.sent")
        .collect();
    assert_eq!(audited.len(), 1, "{log:?}");
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_is_retried_then_listed_as_dead_for_admins() {
    let app = test_app().await;
    let (url, mut calls) = receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
    add(
        &app,
        "manager",
        json!({"name": "broken", "kind": "webhook", "target": url, "min_severity": "warning"}),
    )
    .await;
    close_shift_with(&app, 0).await;
    let client = reqwest::Client::new();
    let mut now = now_ms();
    // One first attempt and one after each wait; nothing is retried before its time.
    let waits = BACKOFF_S.iter().map(Some).chain([None]);
    for (attempt, wait) in waits.enumerate() {
        run_once(&*app.state.store, &client, now).await.unwrap();
        assert!(calls.recv().await.is_some(), "attempt {attempt} made");
        run_once(&*app.state.store, &client, now).await.unwrap();
        assert!(
            calls.try_recv().is_err(),
            "attempt {attempt} not repeated early"
        );
        let store = &app.state.store;
        let pending = store.list_deliveries(Some("pending"), 10).await.unwrap();
        if let Some(wait) = wait {
            assert_eq!(pending.len(), 1);
            assert!(pending[0].last_error.as_deref().unwrap().contains("500"));
            now += wait * 1000;
        }
    }
    let dead = app
        .state
        .store
        .list_deliveries(Some("dead"), 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].attempts,
        i64::try_from(BACKOFF_S.len()).unwrap() + 1
    );

    let (manager, _) = app.login("manager").await;
    let r = app
        .json(
            "GET",
            "/api/notifications/deliveries?state=dead",
            Some(&manager),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let (admin, _) = app.login("admin").await;
    let r = app
        .json(
            "GET",
            "/api/notifications/deliveries?state=dead",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    let page = app
        .page("GET", "/settings/notifications", Some(&admin), None)
        .await;
    assert!(
        page.body.contains("the receiver answered 500"),
        "{}",
        page.body
    );
    // And on the admin console's home page.
    let home = app.page("GET", "/admin", Some(&admin), None).await;
    let dead_table = home
        .body
        .split("id=\"dead-notifications\"")
        .nth(1)
        .unwrap_or_default();
    assert!(
        dead_table.contains("the receiver answered 500"),
        "{}",
        home.body
    );
    // The dead letter's alert reads in the admin's language; the API keeps the English.
    let req = axum::http::Request::builder()
        .uri("/admin")
        .header("cookie", format!("{}={admin}", crate::auth::COOKIE))
        .header("accept", "text/html")
        .header("accept-language", "fr")
        .body(axum::body::Body::empty())
        .unwrap();
    let french = app.call(req).await;
    assert!(
        french.body.contains("manque en caisse de"),
        "{}",
        french.body
    );
    assert!(r.body.contains("cash short by"), "{}", r.body);
}

#[tokio::test]
async fn channels_are_checked_owned_and_offered_as_presets() {
    let app = test_app().await;
    let (manager, _) = app.login("manager").await;
    for (bad, says) in [
        (
            json!({"name": "x", "kind": "sms", "target": "https://a.example", "min_severity": "critical"}),
            "kind",
        ),
        (
            json!({"name": "x", "kind": "webhook", "target": "ftp://a.example", "min_severity": "critical"}),
            "http(s)",
        ),
        (
            json!({"name": "x", "kind": "telegram", "target": "https://api.telegram.org/botX", "min_severity": "critical"}),
            "chat id",
        ),
        (
            json!({"name": "x", "kind": "ntfy", "target": "https://ntfy.sh/t", "min_severity": "loud"}),
            "severity",
        ),
        (
            json!({"name": " ", "kind": "ntfy", "target": "https://ntfy.sh/t", "min_severity": "info"}),
            "name",
        ),
        (
            json!({"name": "x", "kind": "email", "target": "boss@", "min_severity": "info"}),
            "e-mail address",
        ),
        (
            json!({"name": "x", "kind": "email", "target": "a@b.example, c@d.example", "min_severity": "info"}),
            "e-mail address",
        ),
    ] {
        let r = app
            .json(
                "POST",
                "/api/notifications/channels",
                Some(&manager),
                Some(bad),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{says}");
        assert!(r.body.contains(says), "{says}: {}", r.body);
    }
    let (staff, _) = app.login("staff").await;
    let r = app
        .json("GET", "/api/notifications/channels", Some(&staff), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Telegram and ntfy get what their APIs expect, from the same queue.
    let (tg, mut tg_calls) = receiver(StatusCode::OK).await;
    let (nt, mut nt_calls) = receiver(StatusCode::OK).await;
    let tg_base = tg.trim_end_matches("/hook").to_owned() + "/botTOKEN";
    let mine = add(&app, "manager", json!({"name": "tg", "kind": "telegram", "target": tg_base, "chat_id": "42", "min_severity": "critical"})).await;
    add(&app, "admin", json!({"name": "nt", "kind": "ntfy", "target": nt, "min_severity": "critical", "location_id": app.f.location.id})).await;
    close_shift_with(&app, 0).await;
    run_once(&*app.state.store, &reqwest::Client::new(), now_ms())
        .await
        .unwrap();
    let (_, body) = tg_calls.recv().await.unwrap();
    let msg: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(msg["chat_id"], "42");
    assert!(
        msg["text"]
            .as_str()
            .unwrap()
            .contains("cash short by 10.00 USD"),
        "{msg}"
    );
    let (headers, body) = nt_calls.recv().await.unwrap();
    assert_eq!(headers["priority"], "5");
    assert!(body.contains("cash short"), "{body}");

    // A manager sees and removes only their own; an admin sees all.
    let list = app
        .json("GET", "/api/notifications/channels", Some(&manager), None)
        .await
        .json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(
        list[0].get("secret").is_none(),
        "the secret is shown only at creation"
    );
    let (admin, _) = app.login("admin").await;
    let all = app
        .json("GET", "/api/notifications/channels", Some(&admin), None)
        .await
        .json();
    assert_eq!(all.as_array().unwrap().len(), 2);
    let theirs = all
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "nt")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .json(
            "DELETE",
            &format!("/api/notifications/channels/{theirs}"),
            Some(&manager),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .json(
            "DELETE",
            &format!(
                "/api/notifications/channels/{}",
                mine["id"].as_str().unwrap()
            ),
            Some(&manager),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_page_adds_a_channel_showing_its_secret_once() {
    let app = test_app().await;
    let (manager, csrf) = app.login("manager").await;
    let page = app
        .page("GET", "/settings/notifications", Some(&manager), None)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains("dead-letters"),
        "dead letters are for admins"
    );
    let form = format!(
        "_csrf={csrf}&name=Phone&kind=ntfy&target=https%3A%2F%2Fntfy.sh%2Fcafe&chat_id=&min_severity=warning&location_id=&daily_reports=1"
    );
    let r = app
        .page(
            "POST",
            "/settings/notifications",
            Some(&manager),
            Some(&form),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("id=\"created-secret\""), "{}", r.body);
    let again = app
        .page("GET", "/settings/notifications", Some(&manager), None)
        .await;
    assert!(again.body.contains("ntfy.sh") && !again.body.contains("created-secret"));
    let mine = app.state.store.list_channels(None).await.unwrap();
    assert!(
        mine[0].daily_reports,
        "the ticked box asks for daily reports"
    );
    assert!(again.body.contains("<td>yes</td>"), "{}", again.body);
    let r = app
        .page(
            "POST",
            "/settings/notifications",
            Some(&manager),
            Some("name=x&kind=ntfy&target=https%3A%2F%2Fa&min_severity=info"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token, no change");
}

#[tokio::test]
async fn an_email_channel_without_smtp_settings_fails_in_words_and_is_retried() {
    let app = test_app().await;
    let made = add(
        &app,
        "manager",
        json!({"name": "inbox", "kind": "email", "target": "mailto:boss@cafe.example",
               "min_severity": "warning"}),
    )
    .await;
    assert_eq!(made["target"], "boss@cafe.example", "mailto: is dropped");
    close_shift_with(&app, 0).await;
    run_once(&*app.state.store, &reqwest::Client::new(), now_ms())
        .await
        .unwrap();
    let pending = app
        .state
        .store
        .list_deliveries(Some("pending"), 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    let error = pending[0].last_error.as_deref().unwrap_or_default();
    assert!(error.contains("no SMTP settings"), "{error}");
}

#[tokio::test]
async fn the_daily_report_reaches_a_webhook_and_a_mailbox_within_10_s_and_no_other_channel() {
    let app = test_app().await;
    let (url, mut calls) = receiver(StatusCode::OK).await;
    let (other, mut other_calls) = receiver(StatusCode::OK).await;
    let (smtp_url, mut mailbox) = smtp::receiver().await;
    let made = add(
        &app,
        "manager",
        json!({"name": "owner", "kind": "webhook", "target": url, "min_severity": "critical",
               "daily_reports": true}),
    )
    .await;
    assert_eq!(made["daily_reports"], true);
    add(
        &app,
        "manager",
        json!({"name": "inbox", "kind": "email", "target": "owner@cafe.test",
               "min_severity": "critical", "daily_reports": true}),
    )
    .await;
    add(
        &app,
        "manager",
        json!({"name": "alerts only", "kind": "webhook", "target": other,
               "min_severity": "info"}),
    )
    .await;
    // The notifier as the server runs it, mailing through a real SMTP receiver on loopback.
    let mailer = email::Mailer::new(&smtp_url, "reports@mtm.test").unwrap();
    let notifier = tokio::spawn(notifier_loop(app.state.store.clone(), Some(mailer)));
    // The server's own report job stores the last closed day's report of every location.
    assert!(
        crate::reports::run_due(&*app.state.store, now_ms())
            .await
            .unwrap()
            >= 1
    );
    let report = app
        .state
        .store
        .daily_reports(&Default::default())
        .await
        .unwrap()[0]
        .clone();
    let stored_at = report.created_at;

    let (headers, body) = tokio::time::timeout(Duration::from_secs(10), calls.recv())
        .await
        .expect("the report reached the webhook within 10 s")
        .unwrap();
    let webhook_ms = now_ms() - stored_at;
    let sent: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(sent["event"], "daily_report", "{body}");
    assert_eq!(sent["id"], report.id.to_string());
    assert_eq!(sent["business_date"], report.business_date);
    let summary = sent["summary"].as_str().unwrap();
    let expected = format!(
        "Daily report {}, Cafe One: 0 vouchers, 0.00 USD expected, cash variance 0.00 USD, 0 alerts",
        report.business_date
    );
    assert_eq!(summary, expected);
    let ts: i64 = headers["x-mtm-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let secret = made["secret"].as_str().unwrap();
    assert_eq!(
        headers["x-mtm-signature"].to_str().unwrap(),
        signature(secret, ts, body.as_bytes()).unwrap()
    );

    let mail = tokio::time::timeout(Duration::from_secs(10), mailbox.recv())
        .await
        .expect("the report reached the SMTP receiver within 10 s")
        .unwrap();
    let mail_ms = now_ms() - stored_at;
    assert_eq!(mail.to, ["owner@cafe.test"]);
    assert_eq!(mail.from, "reports@mtm.test");
    assert!(
        mail.data.contains(&format!(
            "Subject: [mtm report] Daily report {}",
            report.business_date
        )),
        "{}",
        mail.data
    );
    assert!(
        mail.data
            .contains(&format!("/manager/reports/{}", report.id)),
        "{}",
        mail.data
    );
    println!("notification: daily report to webhook in {webhook_ms} ms, to SMTP receiver in {mail_ms} ms");

    // Both ends are recorded, audited, and nothing went to the channel that did not ask.
    let sent = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let sent = app
                .state
                .store
                .list_deliveries(Some("sent"), 10)
                .await
                .unwrap();
            if sent.len() == 2 {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("both deliveries recorded as sent");
    notifier.abort();
    let label = format!("daily report {}", report.business_date);
    assert!(sent.iter().all(|d| d.summary == label), "{sent:?}");
    let log = app
        .state
        .store
        .list_log(crate::store::LogTable::Audit, 200, 0)
        .await
        .unwrap();
    let target = report.id.to_string();
    let n = log
        .iter()
        .filter(|e| e.action == "notification.sent" && e.target == target)
        .count();
    assert_eq!(n, 2, "each delivery audited");
    assert!(other_calls.try_recv().is_err(), "not asked for reports");
}
