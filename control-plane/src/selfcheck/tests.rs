use super::*;
use crate::auth::{LimitPolicy, RateLimiter};
use crate::store::{now_ms, UpItem};
use crate::testutil::{test_app, TestApp};
use axum::extract::ConnectInfo;
use mtm_common::{TokenExpired, UpMessage, Usage, UsageReport};
use std::net::SocketAddr;
use std::sync::Arc;

async fn check_from(app: &TestApp, path: &str, peer: &str) -> crate::testutil::Reply {
    let mut req = axum::http::Request::builder()
        .uri(path)
        .body(axum::body::Body::empty())
        .unwrap();
    let addr: SocketAddr = peer.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    app.call(req).await
}

async fn report(app: &TestApp, seq: u64, message: UpMessage) {
    let item = UpItem {
        seq,
        at: now_ms(),
        message,
    };
    app.f
        .store
        .apply_up("agent-1", &[item], now_ms())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_live_voucher_shows_its_time_and_data_left_and_nothing_else() {
    let app = test_app().await;
    let (t, _) = app.f.issue().await;
    let usage = Usage {
        token_id: Some(t.id),
        username: t.code.clone(),
        active: true,
        first_login_at: Some(now_ms()),
        uptime_s: 1200,
        bytes_in: 1_000_000,
        bytes_out: 4_000_000,
        ..Default::default()
    };
    report(
        &app,
        1,
        UpMessage::Usage(UsageReport {
            entries: vec![usage],
            issued_here: Vec::new(),
        }),
    )
    .await;
    // Typed in lower case on a phone: still found.
    let r = check_from(
        &app,
        &format!("/check/{}", t.code.to_lowercase()),
        "10.5.50.7:4000",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains(&t.code));
    // One hour package, 20 minutes used.
    assert!(r.body.contains("40 min"), "{}", r.body);
    assert!(r.body.contains("id=\"data-left\">no limit<"), "{}", r.body);
    // 24 h validity from the first login: an end date.
    assert!(r.body.contains("UTC"), "{}", r.body);
    for secret in ["Cafe One", "One hour", "5.00", "staff", "agent-1"] {
        assert!(!r.body.contains(secret), "the page shows {secret}");
    }
    assert_eq!(
        r.headers.get("cache-control").unwrap(),
        "no-store",
        "a shared phone's back button must not show it again"
    );
    // The form's own GET.
    let q = check_from(&app, &format!("/check?code={}", t.code), "10.5.50.7:4000").await;
    assert!(q.body.contains("40 min"));
}

#[tokio::test]
async fn wrong_and_expired_codes_get_the_same_answer() {
    let app = test_app().await;
    let (t, _) = app.f.issue().await;
    let expired = UpMessage::TokenExpired(TokenExpired {
        token_id: t.id,
        expired_at: now_ms(),
    });
    report(&app, 1, expired).await;
    let a = check_from(&app, &format!("/check/{}", t.code), "10.0.0.1:1").await;
    // Well-formed but never issued, and not even a code.
    let b = check_from(&app, "/check/ABCDEFGH", "10.0.0.1:1").await;
    let c = check_from(&app, "/check/%3Cscript%3E", "10.0.0.1:1").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("id=\"not-valid\""), "{}", a.body);
    assert!(
        !a.body.contains(&t.code),
        "an expired code is not echoed either"
    );
    for other in [&b, &c] {
        assert_eq!(other.status, a.status);
        assert_eq!(other.body, a.body, "byte for byte the same page");
    }
}

#[tokio::test]
async fn checks_are_limited_per_client() {
    let mut app = test_app().await;
    let policy = LimitPolicy {
        check_per_client: 3,
        ..LimitPolicy::default()
    };
    app.state.limiter = Arc::new(RateLimiter::new(policy, None));
    let (t, _) = app.f.issue().await;
    let path = format!("/check/{}", t.code);
    for _ in 0..3 {
        let r = check_from(&app, "/check/WRONGCOD", "192.0.2.10:5000").await;
        assert_eq!(r.status, StatusCode::OK);
    }
    // The fourth check from that address is refused, even for the right code.
    let r = check_from(&app, &path, "192.0.2.10:5001").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("id=\"limited\"") && !r.body.contains(&t.code));
    // Another client is not held up by it.
    let other = check_from(&app, &path, "198.51.100.3:5000").await;
    assert_eq!(other.status, StatusCode::OK);
    assert!(other.body.contains("id=\"time-left\""), "{}", other.body);
}

#[tokio::test]
async fn the_printed_voucher_carries_the_self_check_qr() {
    let app = test_app().await;
    let (t, _) = app.f.issue().await;
    let (jwt, _) = app.login("staff").await;
    let print = app
        .page("GET", &format!("/tokens/{}/print", t.id), Some(&jwt), None)
        .await;
    assert!(
        print
            .body
            .contains(&format!("/tokens/{}/check-qr.svg", t.id)),
        "{}",
        print.body
    );
    let svg = app
        .page(
            "GET",
            &format!("/tokens/{}/check-qr.svg", t.id),
            Some(&jwt),
            None,
        )
        .await;
    assert_eq!(svg.status, StatusCode::OK);
    assert!(svg.body.starts_with("<?xml") || svg.body.contains("<svg"));
    assert_eq!(
        crate::tokens::check_url(Some("https://mtm.example.com/"), "ABCD2345").as_deref(),
        Some("https://mtm.example.com/check/ABCD2345")
    );
}

#[test]
fn remaining_counts_down_and_ends() {
    let app_token = |state, uptime_s, first| crate::store::Token {
        id: uuid::Uuid::nil(),
        code: "ABCD2345".into(),
        password: None,
        package_id: uuid::Uuid::nil(),
        package_slug: "1h".into(),
        staff_id: uuid::Uuid::nil(),
        location_id: uuid::Uuid::nil(),
        router_id: uuid::Uuid::nil(),
        shift_id: None,
        price_minor: 0,
        currency: "USD".into(),
        state,
        created_at: 0,
        applied_at: None,
        first_login_at: first,
        expired_at: None,
        uptime_s,
        bytes_in: 0,
        bytes_out: 0,
        extra_uptime_s: 0,
        extra_bytes_total: 0,
        reprints: 0,
        replaces: None,
        lock_to_mac: false,
        bound_mac: None,
        mac_bound_at: None,
    };
    let limits = Limits {
        uptime_s: Some(3600),
        bytes_total: Some(0),
        validity_s: Some(86_400),
    };
    let fresh = remaining(&app_token(TokenState::Applied, 0, None), limits, 5).unwrap();
    assert_eq!((fresh.uptime_left_s, fresh.bytes_left), (Some(3600), None));
    assert_eq!(fresh.validity_s, Some(86_400));
    let used = remaining(&app_token(TokenState::InUse, 600, Some(1000)), limits, 2000).unwrap();
    assert_eq!(used.uptime_left_s, Some(3000));
    assert_eq!(used.valid_until, Some(1000 + 86_400_000));
    assert!(remaining(
        &app_token(TokenState::InUse, 600, Some(0)),
        limits,
        86_400_001
    )
    .is_none());
    assert!(remaining(&app_token(TokenState::InUse, 3600, Some(1)), limits, 2).is_none());
    for gone in [
        TokenState::Expired,
        TokenState::UsedUp,
        TokenState::Disabled,
        TokenState::Removed,
    ] {
        assert!(remaining(&app_token(gone, 0, None), limits, 1).is_none());
    }
    assert_eq!(duration_words(Lang::En, 5400), "1 h 30 min");
    assert_eq!(duration_words(Lang::En, 30), "less than a minute");
    assert_eq!(bytes_words(1_500_000), "1.5 MB");
    assert_eq!(bytes_words(2_000_000_000), "2 GB");
}
