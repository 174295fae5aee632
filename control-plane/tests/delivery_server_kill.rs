//! The server killed (SIGKILL to its PID) while customers use vouchers and commands are in
//! flight, with an external broker, so the agent stays connected the whole time and has no
//! reconnect to make it send anything again. What it published while no server listened is
//! lost at the broker; the agent republishes what is not acknowledged, and the restarted server
//! applies it in seq order. Afterwards every voucher is on the router once, each token's
//! counters and usage deltas equal the router's to the byte (no late report moved a counter
//! backwards), nothing stays open, no ledger event is recorded twice, and the server's own
//! downtime raises no alert (`router_silent` included). A private Mosquitto and the real
//! `mtm-server` and `mtm-agent` binaries run as processes; the router is simulated in this
//! process so the test can stop the customers' traffic and compare exact counters.
//!
//! `MTM_FAULT_SERVER_DOWN_S` (default 15) sets how long the server stays dead.

mod support;

use std::time::{Duration, Instant};

use mtm_routeros::sim::{SimConfig, Simulator};
use serde_json::{json, Value};
use support::faults::{customers_log_in, settle, traffic, RouterView, Voucher};
use support::stack::{env_u64, free_port, mosquitto};
use support::{bin, wait_for, Api, Proc};

/// The silence threshold the server runs with: shorter than the downtime, so the old server
/// blamed its own absence on the router.
const SILENT_AFTER_S: u64 = 8;

/// `mtm-server serve` on `config`, once its HTTP listener is up.
async fn serve(config: &str) -> Proc {
    let mut server = Proc::spawn(bin("mtm-server"), &["serve", "--config", config]).await;
    server.line_after("http on ").await;
    server
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
async fn a_server_killed_while_agents_stay_connected_loses_nothing() {
    let down_for = Duration::from_secs(env_u64("MTM_FAULT_SERVER_DOWN_S", 15));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let agent_dir = dir.path().join("agent");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&agent_dir).unwrap();

    let port = free_port();
    let _broker = mosquitto(port).await;
    let http = format!("127.0.0.1:{}", free_port());
    let server_toml = data.join("server.toml");
    std::fs::write(
        &server_toml,
        format!(
            "data_dir = {:?}\nhttp_bind = {http:?}\nrouter_silent_after_s = {SILENT_AFTER_S}\n\
             [mqtt]\nmode = \"external\"\nhost = \"127.0.0.1\"\nport = {port}\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    let cfg = server_toml.to_str().unwrap();
    let made = std::process::Command::new(bin("mtm-server"))
        .args(["create-admin", "--config", cfg])
        .args(["--username", "root", "--password", "root-pass-123"])
        .status()
        .unwrap();
    assert!(made.success(), "create-admin failed");
    let mut server = serve(cfg).await;

    let sim = Simulator::start(SimConfig {
        logins: vec![("api".into(), "routerpass".into())],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let api = Api::new(&http);
    let admin = api.login("root", "root-pass-123").await;
    let agent_pub = support::stack::agent_keygen(&agent_dir);
    let support::Cafe {
        package, router, ..
    } = support::one_cafe(&api, &admin, &agent_pub).await;
    let info: Value = api.get(&admin, "/api/system/info").await;
    let agent_toml = support::stack::agent_config(
        &agent_dir,
        info["control_plane_public_key"].as_str().unwrap(),
        port,
        &router,
        sim.addr(),
    );
    let mut agent = Proc::spawn(
        bin("mtm-agent"),
        &["run", "--config", agent_toml.to_str().unwrap()],
    )
    .await;
    let agent_pid = agent.pid();
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
    let package_id = package["id"].clone();
    let mut vouchers = dispense(&api, &staff, &package_id, 6).await;
    wait_for(
        "vouchers on the router",
        Duration::from_secs(30),
        || async { sim.users().len() == vouchers.len() },
    )
    .await;
    customers_log_in(&sim, &vouchers);
    let (stop, task) = traffic(sim.clone(), &vouchers);
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Four more sold, and the server killed before it hears back from the router.
    vouchers.extend(dispense(&api, &staff, &package_id, 4).await);
    let server_pid = server.pid();
    server.kill().await;
    tokio::time::sleep(down_for).await;
    let mut server = serve(cfg).await;
    let back_at = Instant::now();
    vouchers.extend(dispense(&api, &staff, &package_id, 2).await);
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    task.await.unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{agent_pid}/stat")).unwrap_or_default();
    assert!(
        !stat.is_empty() && !stat.contains(") Z "),
        "the agent ran throughout"
    );

    let db = data.join("mtm.db");
    let store = mtm_control_plane::store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let routers = [("r1".to_string(), RouterView::Sim(sim.clone()))];
    let settled = settle(&*store, &routers, &vouchers, Duration::from_secs(90)).await;
    let settled_at = back_at.elapsed().max(settled);
    // Past the silence threshold after the restart: the downtime is blamed on no one.
    tokio::time::sleep(Duration::from_secs(SILENT_AFTER_S + 4).saturating_sub(back_at.elapsed()))
        .await;
    settle(&*store, &routers, &vouchers, Duration::from_secs(5)).await;
    eprintln!(
        "server (pid {server_pid}) killed for {:.0} s, agent connected throughout: {} vouchers \
         on the router once, usage equal to its counters, no open command {:.1} s after the \
         restart; no alert {} s after it",
        down_for.as_secs_f64(),
        vouchers.len(),
        settled_at.as_secs_f64(),
        back_at.elapsed().as_secs()
    );
    agent.kill().await;
    server.kill().await;
}
