//! The simulator's fidelity where tools such as Mikhmon look: typed query values, the hotspot
//! log, `/ip/hotspot/active/login =ip=`, profile rename and removal, and the plainer menus
//! (`/system/scheduler`, `/system/script`, `/queue/simple`, `/ip/pool`, `/interface`).

mod common;

use common::*;
use mtm_routeros::Error;

fn names(rows: &[mtm_routeros::Row]) -> Vec<String> {
    rows.iter().filter_map(|r| r.get("name").cloned()).collect()
}

#[tokio::test]
async fn mikhmon_finds_unused_vouchers_by_uptime() {
    let sim = sim().await;
    let c = client(&sim).await;
    for n in ["UNUSED1", "UNUSED2", "USED1"] {
        c.command(&["/ip/hotspot/user/add", &format!("=name={n}")])
            .await
            .unwrap();
    }
    sim.customer_login("USED1", "", "02:00:00:00:00:09")
        .unwrap();
    sim.advance(std::time::Duration::from_secs(90));
    // Mikhmon's "remove unused" asks with a clock value; RouterOS reads it as a duration.
    let unused = c
        .command(&["/ip/hotspot/user/print", "?uptime=00:00:00", "?-default"])
        .await
        .unwrap();
    assert!(unused.rows.is_empty(), "every user row carries `default`");
    let unused = c
        .command(&["/ip/hotspot/user/print", "?uptime=00:00:00", "?default=no"])
        .await
        .unwrap();
    assert_eq!(names(&unused.rows), vec!["UNUSED1", "UNUSED2"]);
    let used = c
        .command(&["/ip/hotspot/user/print", "?>uptime=00:01:00"])
        .await
        .unwrap();
    assert_eq!(names(&used.rows), vec!["USED1"]);
}

#[tokio::test]
async fn active_login_uses_the_given_ip_and_the_log_records_the_session() {
    let sim = sim().await;
    let c = client(&sim).await;
    c.command(&["/ip/hotspot/user/add", "=name=GUEST1", "=password=pw"])
        .await
        .unwrap();
    c.command(&[
        "/ip/hotspot/active/login",
        "=user=GUEST1",
        "=password=pw",
        "=mac-address=02:00:00:00:00:21",
        "=ip=10.5.50.77",
    ])
    .await
    .unwrap();
    let active = c.command(&["/ip/hotspot/active/print"]).await.unwrap();
    assert_eq!(active.rows.len(), 1);
    assert_eq!(active.rows[0]["address"], "10.5.50.77");
    assert_eq!(active.rows[0]["mac-address"], "02:00:00:00:00:21");
    // Another client at the same address is refused.
    c.command(&["/ip/hotspot/user/add", "=name=GUEST2"])
        .await
        .unwrap();
    let e = c
        .command(&[
            "/ip/hotspot/active/login",
            "=user=GUEST2",
            "=mac-address=02:00:00:00:00:22",
            "=ip=10.5.50.77",
        ])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Trap { .. }), "{e:?}");
    let wrong = c
        .command(&["/ip/hotspot/active/login", "=user=GUEST1", "=password=no"])
        .await;
    assert!(wrong.is_err());
    let id = active.rows[0][".id"].clone();
    c.command(&["/ip/hotspot/active/remove", &format!("=.id={id}")])
        .await
        .unwrap();

    // What Mikhmon's log page asks for.
    let log = c
        .command(&["/log/print", "?topics=hotspot,info,debug"])
        .await
        .unwrap();
    let messages: Vec<&str> = log.rows.iter().map(|r| r["message"].as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "->: GUEST1 (10.5.50.77): trying to log in by http-pap",
            "->: GUEST1 (10.5.50.77): logged in",
            "->: GUEST2 (10.5.50.77): trying to log in by http-pap",
            "->: GUEST2 (10.5.50.77): login failed: already logged in from this IP address",
            "->: GUEST1 (10.5.50.10): trying to log in by http-pap",
            "->: GUEST1 (10.5.50.10): login failed: invalid username or password",
            "->: GUEST1 (10.5.50.77): logged out: admin reset",
        ]
    );
    for r in &log.rows {
        assert!(r[".id"].starts_with('*'));
        assert_eq!(
            r["time"].len(),
            8,
            "today's lines show the time of day: {r:?}"
        );
    }
    // Scripts write to it too.
    c.command(&["/log/info", "=message=hello"]).await.unwrap();
    let script = c
        .command(&["/log/print", "?topics=script,info"])
        .await
        .unwrap();
    assert_eq!(script.rows.len(), 1);
    assert_eq!(script.rows[0]["message"], "hello");
}

#[tokio::test]
async fn users_follow_a_renamed_profile_and_keep_a_removed_one_by_id() {
    let sim = sim().await;
    let c = client(&sim).await;
    let id = c
        .command(&[
            "/ip/hotspot/user/profile/add",
            "=name=old-1h",
            "=rate-limit=1M/2M",
        ])
        .await
        .unwrap()
        .ret()
        .unwrap()
        .to_string();
    c.command(&["/ip/hotspot/user/add", "=name=V1", "=profile=old-1h"])
        .await
        .unwrap();
    c.command(&[
        "/ip/hotspot/user/profile/set",
        &format!("=.id={id}"),
        "=name=new-1h",
    ])
    .await
    .unwrap();
    let u = c
        .command(&["/ip/hotspot/user/print", "?name=V1"])
        .await
        .unwrap();
    assert_eq!(u.rows[0]["profile"], "new-1h");
    c.command(&["/ip/hotspot/user/profile/remove", "=numbers=new-1h"])
        .await
        .unwrap();
    let u = c
        .command(&["/ip/hotspot/user/print", "?name=V1"])
        .await
        .unwrap();
    assert_eq!(
        u.rows[0]["profile"], id,
        "a reference to a removed item shows its id"
    );
    // The user still logs in (with the default profile's settings).
    sim.customer_login("V1", "", "02:00:00:00:00:31").unwrap();
}

#[tokio::test]
async fn scheduler_script_queue_pool_and_interface_menus() {
    let sim = sim().await;
    let c = client(&sim).await;

    // Mikhmon's expiry monitor and sales records.
    let sched = c
        .command(&[
            "/system/scheduler/add",
            "=name=Mikhmon-Expire-Monitor",
            "=interval=00:01:00",
            "=on-event=:log info x",
        ])
        .await
        .unwrap()
        .ret()
        .unwrap()
        .to_string();
    let rows = c
        .command(&["/system/scheduler/print", "?name=Mikhmon-Expire-Monitor"])
        .await
        .unwrap()
        .rows;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["interval"], "1m");
    assert_eq!(rows[0]["disabled"], "false");
    assert!(rows[0].contains_key("start-date") && rows[0].contains_key("start-time"));
    let dup = c
        .command(&["/system/scheduler/add", "=name=Mikhmon-Expire-Monitor"])
        .await;
    assert!(dup.is_err());
    c.command(&["/system/scheduler/disable", &format!("=.id={sched}")])
        .await
        .unwrap();
    c.command(&["/system/scheduler/remove", &format!("=.id={sched}")])
        .await
        .unwrap();
    assert!(c
        .command(&["/system/scheduler/print"])
        .await
        .unwrap()
        .rows
        .is_empty());

    c.command(&[
        "/system/script/add",
        "=name=jan/02/2024-|-10:00:00-|-V1-|-5000",
        "=owner=jan2024",
        "=source=jan/02/2024",
        "=comment=mikhmon",
    ])
    .await
    .unwrap();
    let sales = c
        .command(&["/system/script/print", "?comment=mikhmon", "?owner=jan2024"])
        .await
        .unwrap();
    assert_eq!(sales.rows.len(), 1);
    assert_eq!(sales.rows[0]["source"], "jan/02/2024");
    let count = c
        .command(&["/system/script/print", "=count-only=", "?comment=mikhmon"])
        .await
        .unwrap();
    assert_eq!(count.ret(), Some("1"));

    let q = c
        .command(&[
            "/queue/simple/add",
            "=target=10.5.50.0/24",
            "=max-limit=5M/10M",
        ])
        .await
        .unwrap();
    assert!(q.ret().is_some());
    let queues = c.command(&["/queue/simple/print"]).await.unwrap().rows;
    assert_eq!(queues[0]["name"], "queue1");
    assert_eq!(queues[0]["parent"], "none");
    assert!(c.command(&["/queue/simple/add", "=name=x"]).await.is_err());

    c.command(&[
        "/ip/pool/add",
        "=name=hs-pool-1",
        "=ranges=10.5.50.10-10.5.50.254",
    ])
    .await
    .unwrap();
    let pools = c.command(&["/ip/pool/print"]).await.unwrap().rows;
    assert_eq!(names(&pools), vec!["hs-pool-1"]);
    assert_eq!(pools[0]["next-pool"], "none");

    let ifaces = c
        .command(&["/interface/print", "?type=ether"])
        .await
        .unwrap()
        .rows;
    assert_eq!(
        names(&ifaces),
        vec!["ether1", "ether2", "ether3", "ether4", "ether5"]
    );
    assert!(ifaces[0]["rx-byte"].parse::<u64>().is_ok());
    let e = c
        .command(&["/interface/add", "=name=ether9"])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Trap { message, .. } if message == "no such command"));
    c.command(&["/interface/set", "=numbers=ether5", "=comment=spare"])
        .await
        .unwrap();
    let e5 = c
        .command(&["/interface/print", "?name=ether5"])
        .await
        .unwrap()
        .rows;
    assert_eq!(e5[0]["comment"], "spare");
}
