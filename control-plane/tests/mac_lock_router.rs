//! Lock to first device with the real agent and the router simulator (the server in-process):
//! a voucher of a locked package is bound to the device of its first login, the router then
//! refuses every other device, the binding is recorded and raises nothing, a MAC changed on the
//! router by hand is a tampering alert naming the voucher, and an unlocked voucher never binds.

#[allow(dead_code)]
mod fraud;

use fraud::{poll, World};
use mtm_control_plane::store::LogTable;
use serde_json::{json, Value};
use uuid::Uuid;

const PHONE_A: &str = "02:00:00:00:0A:01";
const PHONE_B: &str = "02:00:00:00:0B:02";
const PHONE_C: &str = "02:00:00:00:0C:03";

/// A customer logs in at the hotspot from `mac` (what the hotspot's own login page does).
async fn customer_login(w: &World, code: &str, mac: &str, ip: &str) -> Result<(), String> {
    let ros = w.ros(0).await;
    ros.command(&[
        "/ip/hotspot/active/login",
        &format!("=user={code}"),
        "=password=",
        &format!("=mac-address={mac}"),
        &format!("=ip={ip}"),
    ])
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// The router's user for `code`.
async fn router_user(w: &World, code: &str) -> mtm_routeros::HotspotUser {
    let ros = w.ros(0).await;
    ros.hotspot_user_by_name(code).await.unwrap().unwrap()
}

async fn sell(w: &World, jwt: &str, package_id: &Value) -> Value {
    let body = json!({ "package_id": package_id });
    let (status, token) = w
        .call("POST", Some(jwt), "/api/tokens/generate", Some(body))
        .await;
    assert_eq!(status, 200, "{token}");
    let id: Uuid = token["id"].as_str().unwrap().parse().unwrap();
    let store = w.store.clone();
    poll("the voucher on its router", 30, || {
        let store = store.clone();
        async move { store.token(id).await.unwrap().unwrap().applied_at.is_some() }
    })
    .await;
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_voucher_binds_to_its_first_device_and_a_moved_mac_is_caught() {
    let w = World::start().await;
    let admin = w.login("admin").await;
    let staff = w.login("staff0").await;
    let site = w.sites[0].location.id;

    // The admin makes a package that locks to the first device.
    let (status, pkg) = w
        .call(
            "POST",
            Some(&admin),
            "/api/packages",
            Some(
                json!({"slug": "1h-locked", "name": "Hour, one device", "price_minor": 500,
                "currency": "USD", "limit_uptime_s": 3600, "lock_to_mac": true}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{pkg}");
    assert_eq!(pkg["lock_to_mac"], true);
    let (status, body) = w
        .call(
            "POST",
            Some(&staff),
            "/api/shifts/clock-in",
            Some(json!({"opening_float_minor": 0})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let locked = sell(&w, &staff, &pkg["id"]).await;
    let open = sell(&w, &staff, &json!(w.packages[1].id)).await;
    assert_eq!(locked["lock_to_mac"], true, "{locked}");
    assert_eq!(open["lock_to_mac"], false, "{open}");
    let code = locked["code"].as_str().unwrap().to_owned();
    let open_code = open["code"].as_str().unwrap().to_owned();
    let locked_id: Uuid = locked["id"].as_str().unwrap().parse().unwrap();
    let open_id: Uuid = open["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(router_user(&w, &code).await.mac_address, None);

    // The customer logs in from phone A: the agent binds the voucher to it.
    customer_login(&w, &code, PHONE_A, "10.5.50.10")
        .await
        .unwrap();
    customer_login(&w, &open_code, PHONE_C, "10.5.50.12")
        .await
        .unwrap();
    let store = w.store.clone();
    poll("the binding recorded", 30, || {
        let store = store.clone();
        async move {
            let t = store.token(locked_id).await.unwrap().unwrap();
            t.bound_mac.as_deref() == Some(PHONE_A)
        }
    })
    .await;
    assert_eq!(
        router_user(&w, &code).await.mac_address.as_deref(),
        Some(PHONE_A)
    );
    let ledger = w.store.list_log(LogTable::Ledger, 200, 0).await.unwrap();
    assert!(
        ledger
            .iter()
            .any(|l| l.action == "mac_bound" && l.target == locked_id.to_string()),
        "the binding is in the token ledger"
    );

    // Phone B cannot use the voucher; phone A still can.
    w.sites[0].sim.customer_logout(&code);
    let refused = customer_login(&w, &code, PHONE_B, "10.5.50.11").await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("MAC address is not allowed")),
        "{refused:?}"
    );
    customer_login(&w, &code, PHONE_A, "10.5.50.10")
        .await
        .unwrap();

    // The inventory the agent sends carries the MAC; a few of them later, nothing is raised.
    let inv = mtm_agent::hotspot::inventory(&w.ros(0).await)
        .await
        .unwrap();
    let reported = inv.users.iter().find(|u| u.name == code).unwrap();
    assert_eq!(reported.mac_address.as_deref(), Some(PHONE_A));
    w.settle(6).await;
    let raised: Vec<_> = w
        .alerts()
        .await
        .into_iter()
        .filter(|a| a.location_id == Some(site) && a.kind.as_str() != "router_silent")
        .collect();
    assert!(raised.is_empty(), "mtm's own binding raised: {raised:?}");

    // The unlocked voucher was used too, and never bound.
    let t = w.store.token(open_id).await.unwrap().unwrap();
    assert!(t.first_login_at.is_some(), "the open voucher was used");
    assert_eq!(t.bound_mac, None);
    assert_eq!(router_user(&w, &open_code).await.mac_address, None);

    // Someone moves the voucher to phone B on the router itself.
    let known = w.known().await;
    let act = fraud::now();
    let user = router_user(&w, &code).await;
    w.ros(0)
        .await
        .command(&[
            "/ip/hotspot/user/set",
            &format!("=.id={}", user.id),
            &format!("=mac-address={PHONE_B}"),
        ])
        .await
        .unwrap();
    let (alert, _) = w
        .caught("moved MAC", act, 30_000, &known, |a| {
            a.kind.as_str() == "tampered_token" && a.token_id == Some(locked_id)
        })
        .await;
    assert_eq!(alert.severity.as_str(), "critical");
    assert!(alert.summary.contains(&code), "{}", alert.summary);
    assert_eq!(alert.staff_id, Some(w.sites[0].staff.id));
    assert_eq!(
        alert.evidence["differences"],
        json!([{ "field": "mac_address", "expected": PHONE_A, "found": PHONE_B }])
    );

    w.stop().await;
}
