//! What every fault test checks once its fault has cleared: the routers and the database
//! agree. Every voucher is on its router exactly once; each token's counters and the sum of its
//! usage deltas equal the router's counters to the byte; no open command; no ledger event
//! recorded twice; no alert at all (a fault is not fraud).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mtm_control_plane::store::{AlertFilter, LogTable, Store};
use mtm_routeros::{Client, ClientConfig, HotspotUser};
use uuid::Uuid;

/// Where a test reads a router's hotspot users.
#[derive(Clone)]
pub enum RouterView {
    /// A simulator in this process.
    Sim(mtm_routeros::sim::SimHandle),
    /// A router (or `routeros-sim` process) over the RouterOS API: address, user, password.
    Api(String, String, String),
}

impl RouterView {
    async fn users(&self) -> Vec<HotspotUser> {
        match self {
            RouterView::Sim(sim) => sim.users(),
            RouterView::Api(addr, user, pass) => {
                let cfg = ClientConfig::plain(addr.clone(), user.clone(), pass.clone());
                match Client::connect(&cfg).await {
                    Ok(c) => c.hotspot_users().await.unwrap_or_default(),
                    Err(_) => Vec::new(),
                }
            }
        }
    }
}

/// A voucher the test dispensed: token id and code.
pub type Voucher = (String, String);

/// Ledger events a token has at most once.
const ONCE: [&str; 5] = ["issued", "applied", "first_use", "used_up", "expired"];

/// Poll until routers and database agree on `vouchers` (see the module doc), failing the test
/// after `limit` or at once on anything counted twice. `routers` pairs each agent id with
/// its router. Returns how long it took.
pub async fn settle(
    store: &dyn Store,
    routers: &[(String, RouterView)],
    vouchers: &[Voucher],
    limit: Duration,
) -> Duration {
    let t0 = Instant::now();
    loop {
        let Some(last) = differences(store, routers, vouchers).await else {
            break;
        };
        assert!(
            t0.elapsed() < limit,
            "routers and database still differ after {limit:?}: {last}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let took = t0.elapsed();
    let ledger = store.list_log(LogTable::Ledger, 100_000, 0).await.unwrap();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for row in ledger.iter().filter(|r| ONCE.contains(&r.action.as_str())) {
        *seen
            .entry((row.target.clone(), row.action.clone()))
            .or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "ledger events recorded twice: {twice:?}");
    let alerts = store
        .list_alerts(&AlertFilter {
            limit: Some(500),
            ..Default::default()
        })
        .await
        .unwrap();
    let alerts: Vec<_> = alerts.iter().map(|a| (&a.kind, &a.summary)).collect();
    assert!(alerts.is_empty(), "alerts caused by the fault: {alerts:?}");
    took
}

/// What still differs, or `None`; panics on anything counted twice.
async fn differences(
    store: &dyn Store,
    routers: &[(String, RouterView)],
    vouchers: &[Voucher],
) -> Option<String> {
    let mut on_router: HashMap<String, (u64, u64, u64)> = HashMap::new();
    let mut copies: HashMap<String, usize> = HashMap::new();
    for (_, view) in routers {
        for u in view.users().await {
            if let Some(id) = u.comment.as_deref().and_then(|c| c.strip_prefix("mtm:")) {
                *copies.entry(id.to_owned()).or_default() += 1;
                on_router.insert(id.to_owned(), (u.bytes_in, u.bytes_out, u.uptime.as_secs()));
            }
        }
    }
    for (id, code) in vouchers {
        let n = copies.get(id).copied().unwrap_or(0);
        assert!(n <= 1, "voucher {code} is on the routers {n} times");
        let Some(&(bytes_in, bytes_out, uptime)) = on_router.get(id) else {
            return Some(format!("voucher {code} is not on its router"));
        };
        let token_id = Uuid::parse_str(id).unwrap();
        let Some(t) = store.token(token_id).await.ok().flatten() else {
            return Some(format!("voucher {code} cannot be read"));
        };
        let sums = store
            .named_tokens(t.router_id, &[token_id], &[])
            .await
            .ok()
            .and_then(|v| v.into_iter().next())
            .map(|n| (n.used_uptime_s, n.used_bytes));
        let Some((used_uptime, used_bytes)) = sums else {
            return Some(format!("voucher {code}: no usage sums"));
        };
        assert!(
            used_uptime <= uptime && used_bytes <= bytes_in + bytes_out,
            "usage of {code} counted twice: router {uptime} s {} B, deltas {used_uptime} s \
             {used_bytes} B",
            bytes_in + bytes_out
        );
        let want = (bytes_in, bytes_out, uptime);
        let counters = (t.bytes_in, t.bytes_out, t.uptime_s);
        if counters != want || (used_uptime, used_bytes) != (uptime, bytes_in + bytes_out) {
            return Some(format!(
                "voucher {code}: router {want:?}, token {counters:?}, deltas \
                 ({used_uptime} s, {used_bytes} B)"
            ));
        }
    }
    for (agent, _) in routers {
        let open = store
            .open_commands(agent)
            .await
            .map(|c| c.len())
            .unwrap_or(1);
        if open > 0 {
            return Some(format!("{open} open commands for {agent}"));
        }
    }
    None
}

/// Log every voucher's user in on `sim` (one MAC each) so customers can use them.
pub fn customers_log_in(sim: &mtm_routeros::sim::SimHandle, vouchers: &[Voucher]) {
    for (i, (_, code)) in vouchers.iter().enumerate() {
        let mac = format!("02:00:00:00:{:02x}:{:02x}", i / 256, i % 256);
        let password = sim
            .users()
            .into_iter()
            .find(|u| &u.name == code)
            .and_then(|u| u.password)
            .unwrap_or_default();
        sim.customer_login(code, &password, &mac).unwrap();
    }
}

/// Customers using every voucher on `sim` until the returned flag is set: a few kB and a few
/// seconds of uptime per voucher every 300 ms.
pub fn traffic(
    sim: mtm_routeros::sim::SimHandle,
    vouchers: &[Voucher],
) -> (
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    tokio::task::JoinHandle<()>,
) {
    use std::sync::atomic::Ordering;
    let codes: Vec<String> = vouchers.iter().map(|(_, c)| c.clone()).collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    let task = tokio::spawn(async move {
        let mut round = 0u64;
        while !s.load(Ordering::SeqCst) {
            round += 1;
            for (i, code) in codes.iter().enumerate() {
                sim.use_traffic(code, 1000 * round + i as u64, 7 * round + 1);
            }
            sim.advance(Duration::from_secs(3));
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    (stop, task)
}
