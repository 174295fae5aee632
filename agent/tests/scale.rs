//! A busy router: 1,000 hotspot users. Inventories are large messages; usage reports only carry
//! the users that changed.

mod common;

use common::*;
use mtm_common::UpMessage;
use mtm_routeros::{Client, ClientConfig, NewHotspotUser, SimHandle};

async fn router_with_users(n: usize) -> SimHandle {
    let router = sim().await;
    let client = Client::connect(&ClientConfig::plain(
        router.addr().to_string(),
        "admin",
        "pw",
    ))
    .await
    .unwrap();
    for i in 0..n {
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
    assert_eq!(router.users().len(), n);
    router
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_users_inventory_and_usage() {
    let router = router_with_users(1000).await;

    let dir = tempfile::tempdir().unwrap();
    let id = unique_id("scale");
    let agent_key = mtm_agent::load_or_create_key(dir.path()).unwrap();
    let cp = Cp::start(MOSQUITTO, &id, agent_key.verifying_key()).await;
    let mut cfg = agent_config(&id, dir.path(), &cp.public_hex(), MOSQUITTO, router.addr());
    cfg.intervals.inventory_s = 3600; // the first tick is at start
    let agent = mtm_agent::Agent::start(cfg).await.unwrap();
    wait_until(60, "inventory of 1000", || {
        cp.count(|m| matches!(m, UpMessage::Inventory(i) if i.users.len() >= 1000)) == 1
    })
    .await;

    for i in 0..50 {
        router.use_traffic(&format!("BULK{i:04}"), 10, 20);
    }
    wait_until(30, "usage for the 50", || {
        cp.collect(|m| match m {
            UpMessage::Usage(r) => Some(r.entries.clone()),
            _ => None,
        })
        .into_iter()
        .flatten()
        .filter(|e| e.delta_bytes_out == 20)
        .count()
            == 50
    })
    .await;
    // Only changed users are reported: no entry for the 950 untouched ones.
    let untouched = cp
        .collect(|m| match m {
            UpMessage::Usage(r) => Some(r.entries.clone()),
            _ => None,
        })
        .into_iter()
        .flatten()
        .filter(|e| e.bytes_out == 0)
        .count();
    assert_eq!(untouched, 0);
    wait_until(20, "acked", || agent.status().outbox_len == 0).await;
    agent.shutdown().await;
    router.shutdown().await;
    forget_session(MOSQUITTO, &id).await;
}

/// Footprint probe for docs/benchmarks.md: the `mtm-agent` binary this test was built with
/// (debug unless built with `--profile agent`), 1,000 users, 1 s polls with traffic on 100 users;
/// prints the steady RSS and the CPU time per poll:
/// `cargo test -p mtm-agent --test scale -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn footprint_with_a_thousand_users() {
    let router = router_with_users(1000).await;
    let dir = tempfile::tempdir().unwrap();
    let id = unique_id("footprint");
    let agent_key = mtm_agent::load_or_create_key(dir.path()).unwrap();
    let cp = Cp::start(MOSQUITTO, &id, agent_key.verifying_key()).await;
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "agent_id = \"{id}\"\ndata_dir = \"{}\"\ncontrol_plane_key = \"{}\"\n\
             [mqtt]\nhost = \"127.0.0.1\"\nport = {MOSQUITTO}\n\
             [router]\naddr = \"{}\"\nusername = \"admin\"\npassword = \"pw\"\n\
             [intervals]\nusage_poll_s = 1\ninventory_s = 60\n",
            dir.path().display(),
            cp.public_hex(),
            router.addr()
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mtm-agent"))
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "error")
        .spawn()
        .unwrap();
    let pid = child.id();
    let status = |field: &str| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap()
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    // utime + stime, in clock ticks (100 per second on Linux).
    let cpu_ticks = || -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after = stat.rsplit_once(')').unwrap().1;
        let f: Vec<&str> = after.split_whitespace().collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    };
    wait_until(60, "inventory", || {
        cp.count(|m| matches!(m, UpMessage::Inventory(_))) >= 1
    })
    .await;
    let t0 = cpu_ticks();
    for round in 0..20u64 {
        for i in 0..100 {
            router.use_traffic(&format!("BULK{i:04}"), 10 + round, 20);
        }
        let seen = cp.count(|m| matches!(m, UpMessage::Usage(_)));
        wait_until(20, "a usage report", || {
            cp.count(|m| matches!(m, UpMessage::Usage(_))) > seen
        })
        .await;
    }
    let ticks = cpu_ticks() - t0;
    println!(
        "footprint: VmRSS {} kB, VmHWM {} kB, CPU {} ms per poll (20 polls, 1,000 users, 100 changing)",
        status("VmRSS:"),
        status("VmHWM:"),
        ticks * 10 / 20
    );
    child.kill().unwrap();
    child.wait().unwrap();
    router.shutdown().await;
    forget_session(MOSQUITTO, &id).await;
}
