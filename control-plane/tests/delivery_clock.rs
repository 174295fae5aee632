//! An agent's clock far off: a Raspberry Pi without RTC that booted in 1970, and a clock two
//! days ahead. While it is wrong the agent refuses every command (and every ack) as stale, and
//! seals its own messages with the wrong date; the server takes those by their arrival time
//! instead of refusing them for good. Once NTP sets the clock right, the agent says `Hello`
//! and republishes what is in flight: every voucher reaches the router exactly once, the
//! outbox empties, usage equals the router's counters, and nothing raises an alert.
//! The server, a simulated router and the agent run in this process (`mtm-server demo`'s
//! set-up); its own test binary, since the agent's clock error is process-wide.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::faults::{customers_log_in, settle, traffic, RouterView, Voucher};
use support::{wait_for, Api};

const VOUCHERS: usize = 4;
const DAY_MS: i64 = 24 * 3600 * 1000;

fn now_ms() -> i64 {
    mtm_control_plane::store::now_ms()
}

async fn metric(http: &str, name: &str) -> u64 {
    let text = reqwest::get(format!("http://{http}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Run the agent `error_ms` off, dispense, set the clock right, and check everything lands.
async fn wrong_then_right(what: &str, error_ms: i64) {
    mtm_agent::test_support::set_clock_error_ms(error_ms);
    let dir = tempfile::tempdir().unwrap();
    let demo = support::demo_site(dir.path()).await;
    let http = demo.server.http_addr().to_string();
    let sim = demo.routers[0].clone();
    let store = demo.server.store();
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
    let mut vouchers: Vec<Voucher> = Vec::new();
    for _ in 0..VOUCHERS {
        let t: Value = api
            .post(
                &staff,
                "/api/tokens/generate",
                json!({"package_id": demo.packages[2].id}),
            )
            .await;
        vouchers.push((
            t["id"].as_str().unwrap().to_owned(),
            t["code"].as_str().unwrap().to_owned(),
        ));
    }
    // The agent's messages, sealed in the wrong year, arrive and are taken by arrival time.
    wait_for(
        "messages dated by arrival",
        Duration::from_secs(30),
        || async { metric(&http, "mtm_ingest_redated_total").await >= 3 },
    )
    .await;
    assert!(sim.users().is_empty(), "commands are refused as stale");

    // NTP answers.
    mtm_agent::test_support::set_clock_error_ms(0);
    let fixed = Instant::now();
    wait_for(
        "vouchers on the router",
        Duration::from_secs(60),
        || async { sim.users().len() == VOUCHERS },
    )
    .await;
    customers_log_in(&sim, &vouchers);
    let (stop, task) = traffic(sim.clone(), &vouchers);
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    task.await.unwrap();
    let agent = &demo.agents[0];
    let routers = [(
        agent.status().agent_id.clone(),
        RouterView::Sim(sim.clone()),
    )];
    let settled = settle(&*store, &routers, &vouchers, Duration::from_secs(90)).await;
    wait_for(
        "the agent's outbox empty",
        Duration::from_secs(60),
        || async { agent.status().outbox_len == 0 },
    )
    .await;
    let redated = metric(&http, "mtm_ingest_redated_total").await;
    eprintln!(
        "agent clock {what}: {VOUCHERS} vouchers refused while wrong; {redated} messages dated \
         by arrival; all on the router, usage equal and outbox empty {:.1} s after the clock \
         was set right",
        fixed.elapsed().max(settled).as_secs_f64()
    );
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_clock_in_1970_or_two_days_ahead_strands_nothing() {
    // 1970 plus a minute of uptime, then two days ahead: one after the other, since the
    // error is process-wide.
    wrong_then_right("in 1970", 60_000 - now_ms()).await;
    wrong_then_right("2 days ahead", 2 * DAY_MS).await;
}
