//! Hotspot semantics through the typed helpers: customers, limits, counters, profiles,
//! cookies, moving system figures, simulated customers.

mod common;
use std::time::Duration;

use common::*;
use mtm_routeros::values::*;
use mtm_routeros::{CustomerProfile, NewHotspotUser, SimConfig, UserProfile};

const H: Duration = Duration::from_secs(3600);

fn voucher(name: &str) -> NewHotspotUser {
    NewHotspotUser {
        name: name.into(),
        password: Some("pw".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn limit_uptime_logs_the_customer_out_and_blocks_new_logins() {
    let sim = sim().await;
    let c = client(&sim).await;
    c.add_hotspot_user(&NewHotspotUser {
        limit_uptime: Some(H),
        comment: Some("mtm:1".into()),
        ..voucher("T1")
    })
    .await
    .unwrap();
    assert_eq!(
        sim.customer_login("T1", "bad", "02:00:00:00:00:01")
            .unwrap_err(),
        "invalid username or password"
    );
    sim.customer_login("T1", "pw", "02:00:00:00:00:01").unwrap();
    sim.advance(Duration::from_secs(40 * 60));
    let s = c.active_sessions().await.unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].uptime, Duration::from_secs(40 * 60));
    assert_eq!(s[0].session_time_left, Some(Duration::from_secs(20 * 60)));
    assert_eq!(s[0].address.as_deref(), Some("10.5.50.10"));
    sim.advance(Duration::from_secs(30 * 60));
    assert!(
        c.active_sessions().await.unwrap().is_empty(),
        "logged out at the limit"
    );
    let u = c.hotspot_user_by_comment("mtm:1").await.unwrap().unwrap();
    assert_eq!(u.uptime, H, "uptime stops exactly at the limit");
    assert!(sim
        .customer_login("T1", "pw", "02:00:00:00:00:01")
        .unwrap_err()
        .contains("uptime limit"));
    // reset-counters gives the voucher its time back
    c.reset_hotspot_user_counters(&u.id).await.unwrap();
    assert_eq!(
        c.hotspot_user_by_name("T1").await.unwrap().unwrap().uptime,
        Duration::ZERO
    );
    sim.customer_login("T1", "pw", "02:00:00:00:00:01").unwrap();
}

#[tokio::test]
async fn byte_limit_and_session_timeout() {
    let sim = sim().await;
    let c = client(&sim).await;
    c.upsert_user_profile(&UserProfile {
        name: "mtm-30m".into(),
        session_timeout: Some(Duration::from_secs(1800)),
        shared_users: Some(1),
        rate_limit: Some("1M/4M".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    c.add_hotspot_user(&NewHotspotUser {
        limit_bytes_total: Some(1_000_000),
        ..voucher("B1")
    })
    .await
    .unwrap();
    c.add_hotspot_user(&NewHotspotUser {
        profile: Some("mtm-30m".into()),
        ..voucher("S1")
    })
    .await
    .unwrap();
    sim.customer_login("B1", "pw", "02:00:00:00:00:01").unwrap();
    sim.customer_login("S1", "pw", "02:00:00:00:00:02").unwrap();
    assert!(sim
        .customer_login("S1", "pw", "02:00:00:00:00:03")
        .unwrap_err()
        .contains("no more sessions"));
    sim.use_traffic("B1", 100_000, 400_000);
    let s = sim.sessions();
    assert_eq!(
        s.iter().find(|s| s.user == "B1").unwrap().bytes_out,
        400_000
    );
    sim.use_traffic("B1", 100_000, 400_000);
    assert!(
        sim.sessions().iter().all(|s| s.user != "B1"),
        "byte limit reached"
    );
    let b1 = c.hotspot_user_by_name("B1").await.unwrap().unwrap();
    assert_eq!(
        (b1.bytes_in, b1.bytes_out, b1.limit_bytes_total),
        (200_000, 800_000, Some(1_000_000))
    );
    sim.advance(Duration::from_secs(1799));
    assert_eq!(sim.sessions().len(), 1);
    sim.advance(Duration::from_secs(1));
    assert!(sim.sessions().is_empty(), "session-timeout");
    // session timeout is per session: the user can log in again
    sim.customer_login("S1", "pw", "02:00:00:00:00:02").unwrap();
}

#[tokio::test]
async fn disable_remove_and_active_remove() {
    let sim = sim().await;
    let c = client(&sim).await;
    let id = c.add_hotspot_user(&voucher("D1")).await.unwrap();
    c.set_hotspot_user_disabled(&id, true).await.unwrap();
    assert!(
        c.hotspot_user_by_name("D1")
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    assert!(sim.customer_login("D1", "pw", "02:00:00:00:00:01").is_err());
    c.set_hotspot_user_disabled(&id, false).await.unwrap();
    sim.customer_login("D1", "pw", "02:00:00:00:00:01").unwrap();
    let s = c.active_sessions().await.unwrap();
    assert_eq!(
        c.active_session_by_user("D1").await.unwrap().as_ref(),
        s.first()
    );
    assert!(c.active_session_by_user("nobody").await.unwrap().is_none());
    c.set_hotspot_user(
        &id,
        &NewHotspotUser {
            comment: Some("moved".into()),
            limit_uptime: Some(H),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let u = c.hotspot_user_by_name("D1").await.unwrap().unwrap();
    assert_eq!(
        (u.comment.as_deref(), u.limit_uptime, u.password.as_deref()),
        (Some("moved"), Some(H), Some("pw"))
    );
    c.remove_active_session(&s[0].id).await.unwrap();
    assert!(sim.sessions().is_empty());
    let cookies = c.hotspot_cookies().await.unwrap();
    assert_eq!(cookies.len(), 1);
    assert_eq!(cookies[0].expires_in, Some(Duration::from_secs(3 * 86_400)));
    c.remove_hotspot_cookie(&cookies[0].id).await.unwrap();
    c.remove_hotspot_user(&id).await.unwrap();
    assert!(c.hotspot_user_by_name("D1").await.unwrap().is_none());
    let e = c.remove_hotspot_user(&id).await.unwrap_err();
    assert!(e.is_trap("no such item"));
    assert!(sim.users().is_empty());
}

#[tokio::test]
async fn profiles_upsert_and_remove() {
    let sim = sim().await;
    let c = client(&sim).await;
    let p = c.user_profiles().await.unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p[0].name.as_str(), p[0].shared_users),
        ("default", Some(1))
    );
    c.upsert_user_profile(&UserProfile {
        name: "mtm-2h".into(),
        rate_limit: Some("512k/2M".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    c.upsert_user_profile(&UserProfile {
        name: "mtm-2h".into(),
        session_timeout: Some(2 * H),
        ..Default::default()
    })
    .await
    .unwrap();
    let p = c.user_profiles().await.unwrap();
    let mine = p.iter().find(|p| p.name == "mtm-2h").unwrap();
    assert_eq!(mine.rate_limit.as_deref(), Some("512k/2M"));
    assert_eq!(mine.session_timeout, Some(2 * H));
    c.remove_user_profile(&mine.id).await.unwrap();
    assert_eq!(c.user_profiles().await.unwrap().len(), 1);
    let e = c.remove_user_profile(&p[0].id).await.unwrap_err();
    assert!(matches!(e, mtm_routeros::Error::Trap { .. }));
}

#[tokio::test]
async fn system_figures_move() {
    let sim = sim_with(SimConfig {
        board_name: "CHR".into(),
        identity: "cafe-7".into(),
        ..Default::default()
    })
    .await;
    let c = client(&sim).await;
    let a = c.system_resource().await.unwrap();
    assert_eq!(
        (a.board_name.as_str(), a.architecture_name.as_str()),
        ("CHR", "arm64")
    );
    assert!(a.total_memory > a.free_memory && a.cpu_load <= 100);
    sim.advance(Duration::from_secs(86_400 + 5));
    let b = c.system_resource().await.unwrap();
    assert!(b.uptime >= a.uptime + Duration::from_secs(86_400));
    let loads: std::collections::HashSet<u8> = futures_loads(&c).await;
    assert!(loads.len() > 1, "cpu load varies");
    assert_eq!(c.identity().await.unwrap(), "cafe-7");
    c.command(&["/system/identity/set", "=name=cafe-8"])
        .await
        .unwrap();
    assert_eq!(c.identity().await.unwrap(), "cafe-8");
    let clock = c.clock().await.unwrap();
    assert!(
        parse_date(&clock.date).is_ok() && clock.time.len() == 8,
        "{clock:?}"
    );
}

async fn futures_loads(c: &mtm_routeros::Client) -> std::collections::HashSet<u8> {
    let mut s = std::collections::HashSet::new();
    for _ in 0..10 {
        s.insert(c.system_resource().await.unwrap().cpu_load);
    }
    s
}

#[tokio::test]
async fn simulated_customers_use_vouchers() {
    let sim = sim_with(SimConfig {
        customers: Some(CustomerProfile {
            tick: Duration::from_millis(5),
            login_chance: 1.0,
            bytes_per_tick: (1000, 10_000),
        }),
        ..Default::default()
    })
    .await;
    let c = client(&sim).await;
    c.add_hotspot_user(&NewHotspotUser {
        limit_uptime: Some(Duration::from_millis(200)),
        ..voucher("C1")
    })
    .await
    .unwrap();
    wait_for(
        || sim.users().iter().any(|u| u.bytes_out > 0),
        "a customer to use C1",
    )
    .await;
    wait_for(
        || sim.sessions().is_empty() && sim.users()[0].uptime >= Duration::from_millis(200),
        "C1 to run out",
    )
    .await;
    assert!(sim
        .customer_login("C1", "pw", "02:00:00:00:00:01")
        .unwrap_err()
        .contains("uptime limit"));
    sim.shutdown().await;
}

#[test]
fn durations_in_every_style() {
    let d = |s: &str| parse_duration(s).unwrap();
    assert_eq!(
        d("1w2d3h4m5s"),
        Duration::from_secs(604_800 + 2 * 86_400 + 3 * 3600 + 245)
    );
    assert_eq!(
        d("2d05:14:32"),
        Duration::from_secs(2 * 86_400 + 5 * 3600 + 14 * 60 + 32)
    );
    assert_eq!(d("05:14:32"), Duration::from_secs(5 * 3600 + 14 * 60 + 32));
    assert_eq!(d("14ms612us"), Duration::from_micros(14_612));
    assert_eq!(d("1h30m"), Duration::from_secs(5400));
    assert_eq!(d("90"), Duration::from_secs(90));
    assert_eq!(d("0s"), Duration::ZERO);
    for bad in ["", "1x", "abc", "1h30", "25:61:00", "none"] {
        assert!(parse_duration(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        format_duration(Duration::from_secs(604_800 + 3 * 3600 + 5)),
        "1w3h5s"
    );
    assert_eq!(format_duration(Duration::ZERO), "0s");
    assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
    for s in [0u64, 59, 60, 3599, 3600, 86_399, 1_000_000] {
        assert_eq!(
            d(&format_duration(Duration::from_secs(s))),
            Duration::from_secs(s)
        );
    }
}

#[test]
fn booleans_bytes_and_dates() {
    assert_eq!(
        (parse_bool("true"), parse_bool("no")),
        (Ok(true), Ok(false))
    );
    assert!(parse_bool("maybe").is_err());
    assert_eq!(format_bool(true), "true");
    assert_eq!(parse_bytes("1048576"), Ok(1 << 20));
    assert_eq!(parse_bytes("10M"), Ok(10 << 20));
    assert!(parse_bytes("-1").is_err() && parse_bytes("").is_err());
    let may17 = Date {
        year: 2024,
        month: 5,
        day: 17,
    };
    assert_eq!(parse_date("2024-05-17"), Ok(may17));
    assert_eq!(parse_date("may/17/2024"), Ok(may17));
    assert_eq!(parse_date("MAY/17/2024"), Ok(may17));
    assert!(parse_date("2024-13-01").is_err() && parse_date("foo/1/2024").is_err());
    assert_eq!(format_date(may17), "2024-05-17");
    assert_eq!(format_date_legacy(may17), "may/17/2024");
    let (date, t) = parse_datetime("may/17/2024 17:58:11").unwrap();
    assert_eq!(
        (date, t),
        (may17, Duration::from_secs(17 * 3600 + 58 * 60 + 11))
    );
    assert_eq!(parse_datetime("2024-05-17 17:58:11").unwrap().0, may17);
    assert_eq!(date_from_days(19_860), may17);
}

/// A user with `mac-address` logs in only from that device; `print` shows the MAC upper case,
/// the typed client reads and sets it, and a value that is not a MAC is refused.
#[tokio::test]
async fn a_user_with_a_mac_logs_in_only_from_that_device() {
    let sim = sim().await;
    let c = client(&sim).await;
    let id = c.add_hotspot_user(&voucher("LOCKED1")).await.unwrap();
    assert_eq!(
        c.hotspot_user_by_name("LOCKED1")
            .await
            .unwrap()
            .unwrap()
            .mac_address,
        None
    );
    c.set_hotspot_user_mac(&id, Some("02:00:00:00:aa:01"))
        .await
        .unwrap();
    let raw = c
        .command(&["/ip/hotspot/user/print", "?name=LOCKED1"])
        .await
        .unwrap();
    assert_eq!(raw.rows[0]["mac-address"], "02:00:00:00:AA:01");
    let u = c.hotspot_user_by_name("LOCKED1").await.unwrap().unwrap();
    assert_eq!(u.mac_address.as_deref(), Some("02:00:00:00:AA:01"));

    let login = |mac: &'static str, ip: &'static str| {
        let c = &c;
        async move {
            c.command(&[
                "/ip/hotspot/active/login",
                "=user=LOCKED1",
                "=password=pw",
                &format!("=mac-address={mac}"),
                &format!("=ip={ip}"),
            ])
            .await
        }
    };
    let refused = login("02:00:00:00:BB:02", "10.5.50.20").await.unwrap_err();
    assert!(
        refused.is_trap("your MAC address is not allowed"),
        "{refused:?}"
    );
    login("02:00:00:00:aa:01", "10.5.50.21").await.unwrap();
    assert_eq!(c.active_sessions().await.unwrap().len(), 1);

    // Any device again: `00:00:00:00:00:00` reads as no MAC.
    c.set_hotspot_user_mac(&id, None).await.unwrap();
    let u = c.hotspot_user_by_name("LOCKED1").await.unwrap().unwrap();
    assert_eq!(u.mac_address, None);
    sim.customer_logout("LOCKED1");
    login("02:00:00:00:BB:02", "10.5.50.20").await.unwrap();

    let bad = c
        .command(&[
            "/ip/hotspot/user/set",
            &format!("=.id={id}"),
            "=mac-address=not-a-mac",
        ])
        .await
        .unwrap_err();
    assert!(matches!(bad, mtm_routeros::Error::Trap { .. }), "{bad:?}");
    let refused = c.set_hotspot_user_mac(&id, Some("zz")).await.unwrap_err();
    assert!(
        matches!(refused, mtm_routeros::Error::Invalid(_)),
        "{refused:?}"
    );
}
