//! A broker outage during dispensing (external mode): a private Mosquitto started by this test
//! is killed (by its PID) while staff dispense, kept down, then started again on the same port.
//! The real `routeros-sim` and `mtm-agent` run as processes; the server runs in this process.
//! During the outage dispensing still answers at once and `/readyz` says 503; afterwards every
//! voucher reaches the router exactly once, nothing stays open, ingest resumes, and the outage
//! raises no `router_silent` alert.
//!
//! `MTM_FAULT_OUTAGE_S` (default 20) sets how long the broker stays down and
//! `MTM_FAULT_DISPENSE_PER_S` (default 5) the dispensing rate: the long form in
//! `docs/reliability.md` runs 60 s.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mtm_control_plane::{start, MqttConfig, ServerConfig};
use serde_json::{json, Value};
use support::stack::{env_u64, free_port, mosquitto};
use support::{bin, wait_for, Api, Proc};

async fn ready_status(http: &str) -> u16 {
    reqwest::get(format!("http://{http}/readyz"))
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    let i = (v.len() * 99).div_ceil(100);
    v.get(i.saturating_sub(1)).copied().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vouchers_dispensed_during_a_broker_outage_all_reach_the_router() {
    let outage = Duration::from_secs(env_u64("MTM_FAULT_OUTAGE_S", 20));
    let rate = env_u64("MTM_FAULT_DISPENSE_PER_S", 5).max(1);
    let dir = tempfile::tempdir().unwrap();
    let agent_dir = dir.path().join("agent");
    std::fs::create_dir_all(&agent_dir).unwrap();

    let port = free_port();
    let mut broker = mosquitto(port).await;
    // Longer than the agent's reconnect backoff after the outage, shorter than the outage: the
    // old server blamed its own deafness on the router.
    let silent_after_s = 15;
    let server = start(ServerConfig {
        data_dir: dir.path().join("server"),
        http_bind: "127.0.0.1:0".parse().unwrap(),
        mqtt: MqttConfig::External {
            host: "127.0.0.1".into(),
            port,
            username: None,
            password: None,
        },
        router_silent_after_s: silent_after_s,
        ..Default::default()
    })
    .await
    .unwrap();
    let http = server.http_addr().to_string();
    let (api, admin) = support::root_on(&server).await;
    assert_eq!(ready_status(&http).await, 200);

    let mut sim = Proc::spawn(
        bin("routeros-sim"),
        &["--listen", "127.0.0.1:0", "--login", "api:routerpass"],
    )
    .await;
    let sim_addr = sim.line_after("listening on ").await;
    let agent_pub = support::stack::agent_keygen(&agent_dir);
    let support::Cafe {
        package, router, ..
    } = support::one_cafe(&api, &admin, &agent_pub).await;
    let agent_toml = support::stack::agent_config(
        &agent_dir,
        &server.control_plane_public_key_hex(),
        port,
        &router,
        sim_addr.parse().unwrap(),
    );
    let mut agent = Proc::spawn(
        bin("mtm-agent"),
        &["run", "--config", agent_toml.to_str().unwrap()],
    )
    .await;
    wait_for("router online", Duration::from_secs(30), || async {
        let routers: Value = api.get(&admin, "/api/routers").await;
        routers.as_array().is_some_and(|rs| {
            rs.iter()
                .any(|r| r["agent_id"] == "r1" && r["online"] == true)
        })
    })
    .await;

    let staff = api.login("sam", "staff-pass-123").await;
    api.post::<Value>(
        &staff,
        "/api/shifts/clock-in",
        json!({"opening_float_minor": 1000}),
    )
    .await;

    // Dispense at `rate` per second until told to stop, timing every answer.
    let tokens: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let during: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let outage_on = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let dispenser = {
        let (tokens, during, outage_on, stop) = (
            tokens.clone(),
            during.clone(),
            outage_on.clone(),
            stop.clone(),
        );
        let api = Api::new(&http);
        let package_id = package["id"].clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(1000 / rate));
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                tick.tick().await;
                let t0 = Instant::now();
                let token: Value = api
                    .post(
                        &staff,
                        "/api/tokens/generate",
                        json!({"package_id": package_id}),
                    )
                    .await;
                let took = t0.elapsed();
                if outage_on.load(std::sync::atomic::Ordering::SeqCst) {
                    during.lock().unwrap().push(took);
                }
                tokens.lock().unwrap().push((
                    token["id"].as_str().unwrap().to_owned(),
                    token["code"].as_str().unwrap().to_owned(),
                ));
            }
        })
    };

    wait_for(
        "some vouchers before the outage",
        Duration::from_secs(10),
        || async { tokens.lock().unwrap().len() >= 5 },
    )
    .await;
    // The fault: SIGKILL to the broker's PID.
    broker.kill().await.unwrap();
    outage_on.store(true, std::sync::atomic::Ordering::SeqCst);
    let down_at = Instant::now();
    wait_for(
        "readyz says the broker is gone",
        Duration::from_secs(30),
        || async { ready_status(&http).await == 503 },
    )
    .await;
    tokio::time::sleep(outage.saturating_sub(down_at.elapsed())).await;
    outage_on.store(false, std::sync::atomic::Ordering::SeqCst);
    let dispensed_during = during.lock().unwrap().len();
    let _broker = mosquitto(port).await;
    let back_at = Instant::now();
    wait_for(
        "readyz says subscribed again",
        Duration::from_secs(60),
        || async { ready_status(&http).await == 200 },
    )
    .await;
    // A few more after the broker is back, then stop.
    let target = tokens.lock().unwrap().len() + 5;
    wait_for(
        "vouchers after the outage",
        Duration::from_secs(30),
        || async { tokens.lock().unwrap().len() >= target },
    )
    .await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    dispenser.await.unwrap();
    let tokens = tokens.lock().unwrap().clone();

    // Every voucher on the router exactly once, applied as far as the server knows, and
    // nothing left open.
    let client = mtm_routeros::Client::connect(&mtm_routeros::ClientConfig::plain(
        sim_addr.clone(),
        "api",
        "routerpass",
    ))
    .await
    .unwrap();
    let store = server.store();
    let mut missing = tokens.len();
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        let users = client.hotspot_users().await.unwrap();
        let mut per_comment: HashMap<String, usize> = HashMap::new();
        for u in &users {
            if let Some(c) = &u.comment {
                *per_comment.entry(c.clone()).or_default() += 1;
            }
        }
        for (id, _) in &tokens {
            let n = per_comment.get(&format!("mtm:{id}")).copied().unwrap_or(0);
            assert!(n <= 1, "voucher {id} created {n} times on the router");
        }
        missing = tokens
            .iter()
            .filter(|(id, _)| !per_comment.contains_key(&format!("mtm:{id}")))
            .count();
        let open = store.open_commands("r1").await.unwrap().len();
        if missing == 0 && open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let settled = back_at.elapsed();
    assert_eq!(
        missing,
        0,
        "of {} vouchers, {missing} never reached the router",
        tokens.len()
    );
    assert!(store.open_commands("r1").await.unwrap().is_empty());
    // Ingest resumed: the server learnt of every application.
    wait_for("every voucher applied", Duration::from_secs(30), || async {
        let mut all = true;
        for (id, _) in &tokens {
            let t: Value = api.get(&admin, &format!("/api/tokens/{id}")).await;
            if t["state"] == "issued" {
                all = false;
                break;
            }
        }
        all
    })
    .await;
    // Past the silence threshold after the broker came back: the outage is blamed on no one.
    tokio::time::sleep(Duration::from_secs(silent_after_s + 2).saturating_sub(back_at.elapsed()))
        .await;
    let alerts: Value = api.get(&admin, "/api/alerts").await;
    let silent: Vec<_> = alerts
        .as_array()
        .map(|a| a.iter().filter(|x| x["kind"] == "router_silent").collect())
        .unwrap_or_default();
    assert!(silent.is_empty(), "false router_silent alerts: {silent:?}");

    let during = during.lock().unwrap().clone();
    let worst = during.iter().max().copied().unwrap_or_default();
    let p99 = p99(during);
    eprintln!(
        "broker outage {:.0} s: {} vouchers ({} during the outage); dispense p99 {:?}, max {:?} \
         during it; all on the router and closed {:.1} s after the broker returned",
        outage.as_secs_f64(),
        tokens.len(),
        dispensed_during,
        p99,
        worst,
        settled.as_secs_f64()
    );
    assert!(
        p99 < Duration::from_secs(1),
        "dispense p99 {p99:?} during the outage"
    );
    agent.kill().await;
    sim.kill().await;
    server.shutdown().await;
}
