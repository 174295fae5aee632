//! Footprint of the real `mtm-agent` binary beside a busy router: 1,000 hotspot users, 100 of
//! them online and moving bytes, usage polled every second, inventories every 30 s.
//! Prints steady RSS (from /proc) and CPU time per poll cycle. Run:
//!
//! ```text
//! cargo bench -p mtm-agent --bench footprint
//! scripts/cross-build.sh x86_64-unknown-linux-musl && \
//!   MTM_AGENT_BIN=/var/tmp/mtm-target-cross/dist/amd64/mtm-agent cargo bench -p mtm-agent --bench footprint
//! ```
//!
//! The simulator, broker (embedded rumqttd) and a minimal acking control plane run in this
//! process; only the agent process is measured.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{start_rumqttd, unique_id, Cp};
use mtm_common::UpMessage;
use mtm_routeros::{Client, ClientConfig, NewHotspotUser};

const USERS: usize = 1000;
const ONLINE: usize = 100;
const WARMUP: Duration = Duration::from_secs(15);
const WINDOW: Duration = Duration::from_secs(40);

/// (VmRSS kB, utime+stime clock ticks) of a process.
fn proc_figures(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    (rss, ticks)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let port = start_rumqttd();
    let router = mtm_routeros::Simulator::start(mtm_routeros::SimConfig {
        logins: vec![("admin".into(), "pw".into())],
        ..Default::default()
    })
    .await
    .unwrap();
    let client = Client::connect(&ClientConfig::plain(
        router.addr().to_string(),
        "admin",
        "pw",
    ))
    .await
    .unwrap();
    for i in 0..USERS {
        client
            .add_hotspot_user(&NewHotspotUser {
                name: format!("BULK{i:04}"),
                password: Some("1234".into()),
                comment: Some(mtm_common::router_comment(uuid::Uuid::new_v4())),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    for i in 0..ONLINE {
        router
            .customer_login(
                &format!("BULK{i:04}"),
                "1234",
                &format!("02:00:00:00:{:02X}:{:02X}", i / 256, i % 256),
            )
            .unwrap();
    }
    // Customers keep moving bytes so every poll has changes to report.
    let traffic = {
        let router = router.clone();
        tokio::spawn(async move {
            loop {
                for i in 0..ONLINE {
                    router.use_traffic(&format!("BULK{i:04}"), 10_000, 100_000);
                }
                router.advance(Duration::from_secs(1));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };

    let dir = tempfile::tempdir().unwrap();
    let id = unique_id("bench");
    // `MTM_AGENT_BIN` measures another build, e.g. the static musl one from scripts/cross-build.sh.
    let bin = std::env::var("MTM_AGENT_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_mtm-agent").to_string());
    let bin = bin.as_str();
    println!("measuring {bin}");
    let out = std::process::Command::new(bin)
        .args(["keygen", "--data-dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let agent_pub =
        mtm_common::keys::parse_public_key(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    let cp = Cp::start(port, &id, agent_pub).await;
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "agent_id = {id:?}\ndata_dir = {data:?}\ncontrol_plane_key = {cp:?}\n\
             [mqtt]\nhost = \"127.0.0.1\"\nport = {port}\n\
             [router]\naddr = {addr:?}\nusername = \"admin\"\npassword = \"pw\"\n\
             [intervals]\nusage_poll_s = 1\nhealth_s = 10\ninventory_s = 30\n",
            data = dir.path().display().to_string(),
            cp = cp.public_hex(),
            addr = router.addr().to_string(),
        ),
    )
    .unwrap();
    let mut agent = tokio::process::Command::new(bin)
        .args(["run", "--config", config.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = agent.id().unwrap();

    tokio::time::sleep(WARMUP).await;
    let usage_before = cp.count(|m| matches!(m, UpMessage::Usage(_)));
    let (_, ticks_before) = proc_figures(pid);
    let started = Instant::now();
    let mut rss = Vec::new();
    while started.elapsed() < WINDOW {
        rss.push(proc_figures(pid).0);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let (_, ticks_after) = proc_figures(pid);
    let usage_after = cp.count(|m| matches!(m, UpMessage::Usage(_)));
    let inventories = cp.count(|m| matches!(m, UpMessage::Inventory(_)));
    agent.kill().await.unwrap();
    traffic.abort();

    let tick_hz = 100.0; // USER_HZ on Linux
    let cpu_ms = (ticks_after - ticks_before) as f64 * 1000.0 / tick_hz;
    let polls = usage_after - usage_before;
    rss.sort_unstable();
    println!("mtm-agent footprint: {USERS} hotspot users, {ONLINE} online, usage poll 1 s");
    println!(
        "  steady RSS: median {:.1} MiB, max {:.1} MiB over {} s",
        rss[rss.len() / 2] as f64 / 1024.0,
        rss[rss.len() - 1] as f64 / 1024.0,
        WINDOW.as_secs()
    );
    println!(
        "  CPU: {cpu_ms:.0} ms over {} s, {polls} usage reports, {:.1} ms per poll cycle \
         (inventories of {USERS} users included: {inventories} so far)",
        WINDOW.as_secs(),
        cpu_ms / polls.max(1) as f64
    );
}
