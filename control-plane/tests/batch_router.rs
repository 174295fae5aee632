//! A large batch with the real agent and the router simulator (the server in-process): one
//! POST dispenses the batch, every voucher is stored once and lands on the router exactly
//! once with its package's profile, every `TokensApplied` is applied, the ledger has each
//! voucher's sale and application, and nothing is raised.
//!
//! `MTM_BATCH_VOUCHERS` sets the batch size (default 1,200 to keep CI short; the figure in
//! docs/benchmarks.md is for 5,000). The test prints how long the batch took; it asserts
//! correctness, not speed.

#[allow(dead_code)]
mod fraud;

use fraud::{poll, World};
use mtm_common::router_comment;
use mtm_control_plane::store::LogTable;
use serde_json::json;
use std::collections::HashMap;
use std::time::Instant;
use uuid::Uuid;

fn batch_size() -> u64 {
    std::env::var("MTM_BATCH_VOUCHERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_batch_lands_on_the_router_once_each() {
    let n = batch_size();
    let w = World::start().await;
    let staff = w.login("staff0").await;
    let site = &w.sites[0];
    let (status, body) = w
        .call(
            "POST",
            Some(&staff),
            "/api/shifts/clock-in",
            Some(json!({"opening_float_minor": 0})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let known = w.known().await;
    let users_before = site.sim.with_state(|s| s.users.len());
    let package = &w.packages[1];

    let started = Instant::now();
    let (status, reply) = w
        .call(
            "POST",
            Some(&staff),
            "/api/tokens/batch",
            Some(json!({"package_id": package.id, "count": n})),
        )
        .await;
    let answered = started.elapsed();
    assert_eq!(status, 200, "{reply}");
    let batch_id: Uuid = reply["batch_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(reply["tokens"].as_array().unwrap().len() as u64, n);
    // Every voucher on the router: watched on the simulator itself.
    let sim = site.sim.clone();
    poll("every voucher on the router", 300, || {
        let sim = sim.clone();
        async move { sim.with_state(|s| s.users.len()) as u64 >= users_before as u64 + n }
    })
    .await;
    let on_router = started.elapsed();
    // And confirmed back to the server.
    let path = format!("/api/tokens/batch/{batch_id}");
    let deadline = Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let (status, p) = w.call("GET", Some(&staff), &path, None).await;
        assert_eq!(status, 200, "{p}");
        if p["on_router"].as_u64() == Some(n) {
            assert_eq!(p["total"].as_u64(), Some(n));
            break;
        }
        assert!(Instant::now() < deadline, "not all confirmed: {p}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let confirmed = started.elapsed();
    // Printable: every part, as A4 sheets and as 58 mm thermal strips.
    let mut printed = Vec::new();
    for size in ["a4", "58"] {
        let t = Instant::now();
        let mut tickets = 0;
        for part in 1..=n.div_ceil(500) {
            let r = w
                .http
                .get(format!(
                    "{}/dispense/batch/{batch_id}/print?size={size}&part={part}",
                    w.base
                ))
                .bearer_auth(&staff)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            tickets += r.text().await.unwrap().matches("class=\"ticket\"").count() as u64;
        }
        assert_eq!(tickets, n, "{size}: every voucher printed once");
        printed.push(t.elapsed());
    }
    println!(
        "batch of {n}: answered in {} ms, all on the router in {} ms, all confirmed in {} ms; \
         every print part fetched in {} ms (A4) and {} ms (58 mm strips)",
        answered.as_millis(),
        on_router.as_millis(),
        confirmed.as_millis(),
        printed[0].as_millis(),
        printed[1].as_millis()
    );

    // Stored once each, and on the router exactly once each with the package's profile.
    let tokens = w
        .store
        .batch_tokens(batch_id, 0, u64::MAX / 2)
        .await
        .unwrap();
    assert_eq!(tokens.len() as u64, n);
    let mut comments: HashMap<String, (usize, Option<String>)> = HashMap::new();
    for u in site.sim.users() {
        if let Some(c) = u.comment.clone() {
            let e = comments.entry(c).or_insert((0, None));
            e.0 += 1;
            e.1 = u.profile.clone();
        }
    }
    let profile = mtm_common::profile_name(&package.slug);
    for t in &tokens {
        let (count, p) = comments
            .get(&router_comment(t.id))
            .unwrap_or_else(|| panic!("{} not on the router", t.code));
        assert_eq!(*count, 1, "{} on the router {count} times", t.code);
        assert_eq!(p.as_deref(), Some(profile.as_str()), "{}", t.code);
        assert!(t.applied_at.is_some(), "{} not confirmed", t.code);
        assert_eq!(t.price_minor, package.price_minor);
    }
    let all = w
        .store
        .list_tokens(&mtm_control_plane::store::TokenFilter {
            staff_id: Some(site.staff.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.total, n, "stored once each");
    // The ledger has each voucher's sale and its application, once.
    let ledger = w
        .store
        .list_log(LogTable::Ledger, u32::try_from(n * 3).unwrap(), 0)
        .await
        .unwrap();
    let mut events: HashMap<(String, String), u32> = HashMap::new();
    for l in &ledger {
        *events
            .entry((l.target.clone(), l.action.clone()))
            .or_default() += 1;
    }
    for t in &tokens {
        for e in ["issued", "applied"] {
            assert_eq!(
                events.get(&(t.id.to_string(), e.to_string())),
                Some(&1),
                "{} {e}",
                t.code
            );
        }
    }
    // Inventories and usage reports of the full router raise nothing.
    w.settle(4).await;
    let raised: Vec<_> = w
        .alerts()
        .await
        .into_iter()
        .filter(|a| !known.contains(&a.id) && a.kind.as_str() != "router_silent")
        .collect();
    assert!(raised.is_empty(), "the batch raised: {raised:?}");
    w.stop().await;
}
