//! PostgreSQL refusing connections while customers use vouchers: a private cluster started by
//! this test (never the shared server) is shut down by its postmaster's PID, kept down, then
//! started again on the same port. Agent messages cannot be stored meanwhile: they are not
//! acknowledged, and the agent is asked for them again. Afterwards every voucher (those sold
//! before the outage and after it) is on the router once, each token's counters and usage
//! deltas equal the router's to the byte, nothing stays open, no ledger event is recorded
//! twice and the outage raises no alert. The server, a simulated router and a real agent run
//! in this process (`mtm-server demo`'s set-up).
//!
//! `MTM_FAULT_PG_DOWN_S` (default 20) sets how long the database stays down.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::faults::{customers_log_in, settle, traffic, RouterView, Voucher};
use support::private_pg::PrivatePg;
use support::{wait_for, Api};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn metric(http: &str, name: &str) -> u64 {
    let text = reqwest::get(format!("http://{http}/metrics"))
        .await
        .map(|r| r.text())
        .ok();
    let text = match text {
        Some(t) => t.await.unwrap_or_default(),
        None => String::new(),
    };
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn dispense(api: &Api, staff: &str, package: &Value, n: usize) -> Vec<Voucher> {
    let mut out = Vec::new();
    for _ in 0..n {
        let t: Value = api
            .post(
                staff,
                "/api/tokens/generate",
                json!({"package_id": package}),
            )
            .await;
        out.push((
            t["id"].as_str().unwrap().to_owned(),
            t["code"].as_str().unwrap().to_owned(),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_reported_while_postgres_is_down_is_not_lost() {
    let Some(pg) = PrivatePg::start() else {
        eprintln!("SKIPPED: PostgreSQL's server binaries (initdb, pg_ctl) are not installed");
        return;
    };
    let down_for = Duration::from_secs(env_u64("MTM_FAULT_PG_DOWN_S", 20));
    let dir = tempfile::tempdir().unwrap();
    let demo = support::demo_site_on(dir.path(), Some(pg.url())).await;
    let http = demo.server.http_addr().to_string();
    let sim = demo.routers[0].clone();
    let api = Api::new(&http);
    let staff = api
        .login("staff", mtm_control_plane::demo::STAFF_PASSWORD)
        .await;
    api.post::<Value>(
        &staff,
        "/api/shifts/clock-in",
        json!({"opening_float_minor": 1000}),
    )
    .await;
    let package = json!(demo.packages[2].id);
    let mut vouchers = dispense(&api, &staff, &package, 6).await;
    wait_for(
        "vouchers on the router",
        Duration::from_secs(30),
        || async { sim.users().len() == vouchers.len() },
    )
    .await;
    customers_log_in(&sim, &vouchers);
    let (stop, task) = traffic(sim.clone(), &vouchers);

    // The fault: the database shuts down (fast shutdown by PID) and refuses connections.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = pg.pid().expect("the cluster runs");
    pg.stop();
    // (`/metrics` needs the database too, so the failures are counted once it is back.)
    tokio::time::sleep(down_for).await;
    pg.run();
    let back_at = Instant::now();

    // Customers go on a little, and staff sell two more once the database answers.
    wait_for("ready again", Duration::from_secs(30), || async {
        reqwest::get(format!("http://{http}/readyz"))
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    // Messages the server could not look up or apply: not acknowledged, asked for again.
    let failed = metric(&http, "mtm_ingest_rejects_total{reason=\"store\"}").await;
    let after = dispense(&api, &staff, &package, 2).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    task.await.unwrap();
    vouchers.extend(after);

    let store = demo.server.store();
    let routers = [(
        demo.agents[0].status().agent_id.clone(),
        RouterView::Sim(sim.clone()),
    )];
    let settled = settle(&*store, &routers, &vouchers, Duration::from_secs(90)).await;
    eprintln!(
        "PostgreSQL (private cluster, postmaster {pid}) down {:.0} s: {failed} agent messages \
         not stored (not acknowledged); {} vouchers on the router once and usage equal to its counters {:.1} s after \
         the database returned",
        down_for.as_secs_f64(),
        vouchers.len(),
        back_at.elapsed().max(settled).as_secs_f64()
    );
    assert!(failed > 0);
    demo.stop().await;
}
