//! A clean `mtm-server demo` raises no alert: the demo as `mtm-server demo` starts it (three
//! sites, simulated customers, vouchers sold before the agents first connect and so before the
//! catalog reaches the routers), with the agents' inventory interval shortened from 60 s to 1 s
//! so the reconciliations of the demo's first ten minutes happen in seconds. More vouchers are
//! sold while inventories run, so `CreateToken`s race the snapshots as they do at a counter.
//! After every round of inventories from all routers, the manager's alerts API must be empty.

use std::time::Duration;

use mtm_control_plane::demo::{Demo, DemoOptions, MANAGER_PASSWORD, STAFF_PASSWORD};
use mtm_control_plane::store::TokenFilter;
use serde_json::{json, Value};

/// Inventory rounds checked (each router sends one per round). The demo's own interval is
/// 60 s, so ten rounds are its first ten minutes of reconciliation.
const ROUNDS: usize = 12;

async fn poll<F, Fut>(what: &str, secs: u64, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_demo_raises_no_alert() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(DemoOptions {
        data_dir: dir.path().join("demo"),
        http_port: 0,
        sites: 3,
        customers: true,
        usage_poll_s: 1,
        inventory_s: 1,
        database_url: None,
    })
    .await
    .unwrap();
    let store = demo.server.store();
    let base = demo.url();
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": "manager", "password": MANAGER_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = login["token"].as_str().unwrap().to_owned();
    let alerts = || {
        let (http, url, jwt) = (http.clone(), format!("{base}/api/alerts"), jwt.clone());
        async move {
            let r = http.get(url).bearer_auth(jwt).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            r.json::<Vec<Value>>().await.unwrap()
        }
    };

    let mut routers = Vec::new();
    for loc in &demo.locations {
        let all = store.list_routers().await.unwrap();
        let r = all
            .into_iter()
            .find(|r| r.router.location_id == loc.id)
            .expect("one router per location");
        routers.push(r.router);
    }
    let staff: Value = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": "staff", "password": STAFF_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let staff_jwt = staff["token"].as_str().unwrap().to_owned();

    // The vouchers sold before the agents started reach their router.
    poll("the demo's first vouchers on the router", 60, || {
        let store = store.clone();
        async move {
            let page = store.list_tokens(&TokenFilter::default()).await.unwrap();
            page.total >= 4 && page.items.iter().all(|t| t.applied_at.is_some())
        }
    })
    .await;

    let mut last_at = vec![0i64; routers.len()];
    for round in 0..ROUNDS {
        // A sale at the counter every other round, racing the next inventory.
        if round % 2 == 0 {
            let package = &demo.packages[round % demo.packages.len()];
            let r = http
                .post(format!("{base}/api/tokens/generate"))
                .bearer_auth(&staff_jwt)
                .json(&json!({"package_id": package.id}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "sale: {}", r.status());
        }
        for (i, r) in routers.iter().enumerate() {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            loop {
                if let Some((at, _)) = store.inventory_times(r.id).await.unwrap() {
                    if at > last_at[i] {
                        last_at[i] = at;
                        break;
                    }
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "round {round}: no inventory from {}",
                    r.agent_id
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let found = alerts().await;
        assert!(found.is_empty(), "round {round}: false alarm: {found:#?}");
    }

    // Every voucher is on its router with its package's profile.
    let tokens = store.list_tokens(&TokenFilter::default()).await.unwrap();
    assert!(tokens.total >= 4 + (ROUNDS as u64) / 2);
    let on_routers: Vec<_> = demo.routers.iter().flat_map(|s| s.users()).collect();
    for t in &tokens.items {
        if t.applied_at.is_none() {
            continue;
        }
        let u = on_routers
            .iter()
            .find(|u| u.name == t.code)
            .unwrap_or_else(|| panic!("{} is on its router", t.code));
        assert_eq!(
            u.profile.as_deref(),
            Some(mtm_common::profile_name(&t.package_slug).as_str())
        );
    }
    demo.stop().await;
}
