//! Two replicas of the real `mtm-server serve` share ingest through a private Mosquitto
//! (`$share/mtm/...`, so each message goes to one of them) and one PostgreSQL schema, each with
//! its own persistent session (`mqtt_client_id`). The real `mtm-agent run` drives a router
//! simulated in this process while customers use vouchers. Two faults:
//!
//! - **Out-of-order usage across replicas.** Replica B is frozen (SIGSTOP to its PID) while the
//!   agent reports usage, so the reports shared to B wait in its socket while replica A applies
//!   the later ones; traffic stops, the last reports go out, and only then is B thawed
//!   (SIGCONT) and applies its older reports after A applied newer ones. No counter may move
//!   back: with no traffic left, no later report would ever correct it.
//! - **A replica killed under load.** While staff sell through A and customers use vouchers, B
//!   is killed (SIGKILL to its PID) and started again after a short while on the same client
//!   id; the broker kept B's session and queued B's share of the messages meanwhile.
//!
//! Afterwards, each time: every voucher on the router once, each token's counters and usage
//! deltas equal the router's to the byte, no open command, no ledger event twice, no alert.
//!
//! Needs PostgreSQL (`MTM_TEST_POSTGRES_URL`, default the shared server on 5432; a fresh schema
//! per test). `MTM_FAULT_REPLICA_DOWN_S` (default 10) sets how long the killed replica stays
//! down, `MTM_FAULT_REPLICA_FROZEN_S` (default 8) how long B is frozen.

mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mtm_control_plane::store::sql::SqlStore;
use mtm_control_plane::store::Store;
use mtm_routeros::sim::{SimConfig, SimHandle, Simulator};
use serde_json::{json, Value};
use support::faults::{customers_log_in, settle, traffic, RouterView, Voucher};
use support::stack::{
    agent_config, agent_keygen, alive, create_admin, dispense, env_u64, free_port, mosquitto,
    router_online, run_agent, serve, server_config,
};
use support::{wait_for, Api, Proc};

fn pg_url() -> String {
    std::env::var("MTM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Everything one test runs.
struct Rig {
    _broker: tokio::process::Child,
    _dir: tempfile::TempDir,
    a: Proc,
    b: Proc,
    a_http: String,
    b_config: PathBuf,
    b_http: String,
    agent: Proc,
    sim: SimHandle,
    api: Api,
    staff: String,
    package: Value,
    store: Arc<dyn Store>,
}

/// A fresh schema (named like the store suite's, so its cleanup of old schemas removes it),
/// migrated, and its URL.
async fn fresh_schema() -> (String, Arc<dyn Store>) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let schema = format!("mtm_test_{secs}_{}", uuid::Uuid::new_v4().simple());
    let store = SqlStore::open_in_schema(&pg_url(), &schema)
        .await
        .expect("PostgreSQL is required");
    let sep = if pg_url().contains('?') { '&' } else { '?' };
    (
        format!("{}{sep}options[search_path]={schema}", pg_url()),
        Arc::new(store),
    )
}

/// Copy the secrets replicas share (the control-plane key, the JWT secret) from `from`.
fn share_secrets(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in ["cp.key", "jwt.secret"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let broker = mosquitto(port).await;
    let (db, store) = fresh_schema().await;
    let top = format!("database_url = {db:?}");
    let (a_data, b_data) = (dir.path().join("a"), dir.path().join("b"));
    let a_http = format!("127.0.0.1:{}", free_port());
    let b_http = format!("127.0.0.1:{}", free_port());
    let a_config = server_config(
        &a_data,
        &a_http,
        port,
        &format!("{top}\nmqtt_client_id = \"mtm-replica-a\""),
        "",
    );
    create_admin(&a_config);
    let a = serve(&a_config).await;
    share_secrets(&a_data, &b_data);
    let b_config = server_config(
        &b_data,
        &b_http,
        port,
        &format!("{top}\nmqtt_client_id = \"mtm-replica-b\""),
        "",
    );
    let b = serve(&b_config).await;

    let sim = Simulator::start(SimConfig {
        logins: vec![("api".into(), "routerpass".into())],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let api = Api::new(&a_http);
    let admin = api.login("root", "root-pass-123").await;
    let agent_dir = dir.path().join("agent");
    let agent_pub = agent_keygen(&agent_dir);
    let support::Cafe {
        package, router, ..
    } = support::one_cafe(&api, &admin, &agent_pub).await;
    let info: Value = api.get(&admin, "/api/system/info").await;
    let agent_toml = agent_config(
        &agent_dir,
        info["control_plane_public_key"].as_str().unwrap(),
        port,
        &router,
        sim.addr(),
    );
    let (agent, _status) = run_agent(&agent_toml).await;
    router_online(&api, &admin).await;
    let staff = api.login("sam", "staff-pass-123").await;
    api.post::<Value>(
        &staff,
        "/api/shifts/clock-in",
        json!({"opening_float_minor": 1000}),
    )
    .await;
    Rig {
        _broker: broker,
        _dir: dir,
        a,
        b,
        a_http,
        b_config,
        b_http,
        agent,
        sim,
        api,
        staff,
        package: package["id"].clone(),
        store,
    }
}

/// A replica's `mtm_ingest_applied_total` (0 while it does not answer within 5 s).
async fn applied(http: &str) -> u64 {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let Ok(r) = client.get(format!("http://{http}/metrics")).send().await else {
        return 0;
    };
    r.text()
        .await
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("mtm_ingest_applied_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

/// Sell the first vouchers, wait for them on the router and let customers use them.
async fn first_sales(rig: &Rig) -> (Vec<Voucher>, Arc<AtomicBool>, tokio::task::JoinHandle<()>) {
    let vouchers = dispense(&rig.api, &rig.staff, &rig.package, 6).await;
    wait_for(
        "vouchers on the router",
        Duration::from_secs(30),
        || async { rig.sim.users().len() == vouchers.len() },
    )
    .await;
    customers_log_in(&rig.sim, &vouchers);
    let (stop, task) = traffic(rig.sim.clone(), &vouchers);
    (vouchers, stop, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_usage_report_on_another_replica_never_moves_a_counter_back() {
    let frozen_for = Duration::from_secs(env_u64("MTM_FAULT_REPLICA_FROZEN_S", 8));
    let mut rig = rig().await;
    let (vouchers, stop, task) = first_sales(&rig).await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let b_pid = rig.b.pid();
    let b_before = applied(&rig.b_http).await;
    signal(b_pid, "-STOP");
    let frozen = Instant::now();
    tokio::time::sleep(frozen_for.saturating_sub(Duration::from_secs(3))).await;
    // The last usage goes out while B still sleeps on its share of the reports.
    stop.store(true, Ordering::SeqCst);
    task.await.unwrap();
    tokio::time::sleep(frozen_for.saturating_sub(frozen.elapsed())).await;
    signal(b_pid, "-CONT");
    let thawed = Instant::now();
    wait_for(
        "the thawed replica applies the reports it held",
        Duration::from_secs(30),
        || async { applied(&rig.b_http).await > b_before },
    )
    .await;

    let routers = [("r1".to_string(), RouterView::Sim(rig.sim.clone()))];
    let settled = settle(&*rig.store, &routers, &vouchers, Duration::from_secs(90)).await;
    assert!(alive(rig.a.pid()) && alive(b_pid), "no replica restarted");
    eprintln!(
        "replica B frozen {:.0} s while A applied later usage: {} vouchers' counters equal \
         the router's, nothing open, no alert {:.1} s after B was thawed (B applied {} \
         messages after it)",
        frozen_for.as_secs_f64(),
        vouchers.len(),
        thawed.elapsed().max(settled).as_secs_f64(),
        applied(&rig.b_http).await.saturating_sub(b_before)
    );
    rig.agent.kill().await;
    rig.a.kill().await;
    rig.b.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_under_load_loses_nothing() {
    let down_for = Duration::from_secs(env_u64("MTM_FAULT_REPLICA_DOWN_S", 10));
    let mut rig = rig().await;
    let (mut vouchers, stop, task) = first_sales(&rig).await;

    // Staff keep selling through A, about 4 a second, until told to stop.
    let selling = Arc::new(AtomicBool::new(true));
    let sold: Arc<Mutex<Vec<Voucher>>> = Arc::default();
    let seller = {
        let (selling, sold) = (selling.clone(), sold.clone());
        let api = Api::new(&rig.a_http);
        let (staff, package) = (rig.staff.clone(), rig.package.clone());
        tokio::spawn(async move {
            while selling.load(Ordering::SeqCst) {
                let v = dispense(&api, &staff, &package, 1).await;
                sold.lock().unwrap().extend(v);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let b_pid = rig.b.pid();
    rig.b.kill().await;
    tokio::time::sleep(down_for).await;
    rig.b = serve(&rig.b_config).await;
    let back = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    selling.store(false, Ordering::SeqCst);
    seller.await.unwrap();
    stop.store(true, Ordering::SeqCst);
    task.await.unwrap();
    vouchers.extend(sold.lock().unwrap().drain(..));

    let routers = [("r1".to_string(), RouterView::Sim(rig.sim.clone()))];
    let settled = settle(&*rig.store, &routers, &vouchers, Duration::from_secs(90)).await;
    assert!(alive(rig.a.pid()), "replica A ran throughout");
    assert!(alive(rig.agent.pid()), "the agent ran throughout");
    eprintln!(
        "replica B (pid {b_pid}) killed for {:.0} s while staff sold through A: {} vouchers on \
         the router once, usage equal to its counters, nothing open, no alert {:.1} s after B \
         was back",
        down_for.as_secs_f64(),
        vouchers.len(),
        back.elapsed().max(settled).as_secs_f64()
    );
    rig.agent.kill().await;
    rig.a.kill().await;
    rig.b.kill().await;
}
