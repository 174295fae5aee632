//! The agent's disk fills up and is freed again while staff sell and customers use vouchers.
//! The real `mtm-server serve` and `mtm-agent run` run as processes over a private Mosquitto;
//! the agent's data directory is its own 8 MiB tmpfs, filled to the last byte with a ballast
//! file (so every write needing a new page fails with ENOSPC), kept full, then freed by deleting
//! the ballast. The router is simulated in this process so the test can compare exact counters.
//!
//! While its writes fail the agent says so (`/status` `store.ok` false, `/healthz` 503). It
//! heals by itself (it is never restarted), at the latest once the disk is freed: every voucher
//! sold before, during and after is on the router exactly once, each token's counters and usage
//! deltas equal the router's to the byte, no command stays open, no ledger event is recorded
//! twice, and the full disk raises no alert.
//!
//! Mounting needs root (CAP_SYS_ADMIN); without it the test says so and passes vacuously, as
//! the agent's own `disk_full` test does.
//!
//! `MTM_FAULT_DISK_FULL_S` (default 20) sets how long the disk stays full.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use mtm_routeros::sim::{SimConfig, Simulator};
use serde_json::{json, Value};
use support::faults::{customers_log_in, settle, traffic, RouterView};
use support::stack::{
    agent_config, agent_keygen, alive, create_admin, dispense, env_u64, free_port, mosquitto,
    router_online, run_agent, serve, server_config,
};
use support::{http_get_json, wait_for, Api};

/// A tmpfs mounted on a temporary folder, unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs(dir))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a failed test may still hold files open.
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

/// Write zeros to `path` until the filesystem refuses; returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 4096];
    let mut n = 0u64;
    while f.write_all(&chunk).is_ok() {
        n += chunk.len() as u64;
    }
    while f.write_all(&[0u8]).is_ok() {
        n += 1;
    }
    let _ = f.sync_all();
    n
}

/// The agent's `/status` document (Null while it does not answer).
async fn agent_status(addr: &str) -> Value {
    http_get_json(&format!("http://{addr}/status")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_agent_disk_heals_without_a_restart_and_loses_nothing() {
    let full_for = Duration::from_secs(env_u64("MTM_FAULT_DISK_FULL_S", 20));
    let Some(fs) = Tmpfs::mount("8m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); disk-full test not run");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let agent_dir = fs.path().join("agent");

    let port = free_port();
    let _broker = mosquitto(port).await;
    let http = format!("127.0.0.1:{}", free_port());
    let cfg = server_config(&data, &http, port, "", "");
    create_admin(&cfg);
    let mut server = serve(&cfg).await;

    let sim = Simulator::start(SimConfig {
        logins: vec![("api".into(), "routerpass".into())],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let api = Api::new(&http);
    let admin = api.login("root", "root-pass-123").await;
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
    let (mut agent, status) = run_agent(&agent_toml).await;
    let agent_pid = agent.pid();
    router_online(&api, &admin).await;

    let staff = api.login("sam", "staff-pass-123").await;
    api.post::<Value>(
        &staff,
        "/api/shifts/clock-in",
        json!({"opening_float_minor": 1000}),
    )
    .await;
    let package_id = package["id"].clone();
    let mut vouchers = dispense(&api, &staff, &package_id, 4).await;
    wait_for(
        "vouchers on the router",
        Duration::from_secs(30),
        || async { sim.users().len() == vouchers.len() },
    )
    .await;
    customers_log_in(&sim, &vouchers);
    let (stop, task) = traffic(sim.clone(), &vouchers);
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The disk fills; usage keeps coming (every poll has something to write) and staff sell on.
    let ballast = fs.path().join("ballast");
    let filled = fill(&ballast);
    let full_at = Instant::now();
    vouchers.extend(dispense(&api, &staff, &package_id, 6).await);
    wait_for(
        "the agent reports its store failing",
        Duration::from_secs(30),
        || async { agent_status(&status).await["store"]["ok"] == false },
    )
    .await;
    let healthz = reqwest::get(format!("http://{status}/healthz"))
        .await
        .unwrap();
    assert_eq!(healthz.status(), 503, "/healthz while the disk is full");
    // The disk stays full for the rest of the window. The agent may well report healthy again
    // before it is freed: redb reuses pages its file already holds, so once a commit fits in
    // them writes succeed on a full disk, and the store is then rightly healthy.
    tokio::time::sleep(full_for.saturating_sub(full_at.elapsed())).await;

    std::fs::remove_file(&ballast).unwrap();
    let freed = Instant::now();
    vouchers.extend(dispense(&api, &staff, &package_id, 2).await);
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    task.await.unwrap();

    let store =
        mtm_control_plane::store::open(&format!("sqlite://{}", data.join("mtm.db").display()))
            .await
            .unwrap();
    let routers = [("r1".to_string(), RouterView::Sim(sim.clone()))];
    let settled = settle(&*store, &routers, &vouchers, Duration::from_secs(90)).await;
    let settled_at = freed.elapsed().max(settled);
    assert!(alive(agent_pid), "the agent ran throughout");
    wait_for(
        "the agent reports its store healthy again",
        Duration::from_secs(60),
        || async {
            let s = agent_status(&status).await;
            s["store"]["ok"] == true && s["outbox_len"] == 0
        },
    )
    .await;
    let healed = agent_status(&status).await;
    assert!(
        healed["store"]["errors"].as_u64().unwrap_or(0) > 0
            && healed["store"]["reopens"].as_u64().unwrap_or(0) > 0,
        "the failures and the reopen are counted: {healed}"
    );
    let healthz = reqwest::get(format!("http://{status}/healthz"))
        .await
        .unwrap();
    assert_eq!(healthz.status(), 200, "/healthz once healed");
    eprintln!(
        "agent disk full ({filled} bytes of ballast) for {:.0} s while 6 of {} vouchers were \
         sold: every voucher on the router once, usage equal to its counters, no open command \
         {:.1} s after the disk was freed; agent never restarted; store {}",
        full_for.as_secs_f64(),
        vouchers.len(),
        settled_at.as_secs_f64(),
        healed["store"]
    );
    agent.kill().await;
    server.kill().await;
    drop(fs);
}
