//! The real binary, killed with SIGKILL in the middle of a batch of vouchers, then restarted:
//! no voucher missing, none duplicated on the router.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::*;
use mtm_common::{CommandKind, UpMessage};

fn spawn_agent(config: &std::path::Path) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mtm-agent"))
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // The first stdout line says the status endpoint is bound: the agent is up.
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("status on "), "{line}");
    child
}

fn write_config(
    dir: &std::path::Path,
    id: &str,
    cp_hex: &str,
    router: std::net::SocketAddr,
) -> std::path::PathBuf {
    let config = dir.join("agent.toml");
    std::fs::write(
        &config,
        format!(
            r#"
agent_id = "{id}"
data_dir = "{}"
control_plane_key = "{cp_hex}"
status_listen = "127.0.0.1:0"
[mqtt]
host = "127.0.0.1"
port = {MOSQUITTO}
keep_alive_s = 5
[router]
addr = "{router}"
username = "admin"
password = "pw"
[intervals]
usage_poll_s = 1
"#,
            dir.display(),
        ),
    )
    .unwrap();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_batch_loses_and_duplicates_nothing() {
    let router = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let id = unique_id("kill");
    let agent_key = mtm_agent::load_or_create_key(dir.path()).unwrap();
    let cp = Cp::start(MOSQUITTO, &id, agent_key.verifying_key()).await;
    let config = write_config(dir.path(), &id, &cp.public_hex(), router.addr());

    let mut child = spawn_agent(&config);
    wait_until(20, "hello", || {
        cp.count(|m| matches!(m, UpMessage::Hello(_))) >= 1
    })
    .await;
    let cmds: Vec<_> = (0..40)
        .map(|i| create_token(&format!("KILL{i:04}")))
        .collect();
    for c in &cmds {
        cp.command(c).await;
    }
    wait_until(30, "some vouchers applied", || router.users().len() >= 8).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at_kill = router.users().len();
    assert!(at_kill < cmds.len(), "killed too late to prove anything");

    let mut child = spawn_agent(&config);
    wait_until(60, "every command answered", || {
        let answered: HashSet<_> = cp
            .collect(|m| match m {
                UpMessage::TokenApplied(t) => Some(t.command_id),
                _ => None,
            })
            .into_iter()
            .collect();
        cmds.iter().all(|c| answered.contains(&c.id))
    })
    .await;
    let users = router.users();
    assert_eq!(users.len(), cmds.len(), "one hotspot user per voucher");
    let comments: HashSet<_> = users.iter().filter_map(|u| u.comment.clone()).collect();
    for c in &cmds {
        let CommandKind::CreateToken(ct) = &c.kind else {
            unreachable!()
        };
        assert!(comments.contains(&mtm_common::router_comment(ct.token_id)));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    router.shutdown().await;
    forget_session(MOSQUITTO, &id).await;
}

fn usage_sums(cp: &Cp, user: &str) -> (u64, u64) {
    cp.collect(|m| match m {
        UpMessage::Usage(r) => Some(r.entries.clone()),
        _ => None,
    })
    .into_iter()
    .flatten()
    .filter(|e| e.username == user)
    .fold((0, 0), |a, e| {
        (a.0 + e.delta_bytes_in, a.1 + e.delta_bytes_out)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_usage_polls_neither_loses_nor_repeats_a_delta() {
    let router = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let id = unique_id("killusage");
    let agent_key = mtm_agent::load_or_create_key(dir.path()).unwrap();
    let cp = Cp::start(MOSQUITTO, &id, agent_key.verifying_key()).await;
    let config = write_config(dir.path(), &id, &cp.public_hex(), router.addr());
    let mut child = spawn_agent(&config);
    wait_until(20, "hello", || {
        cp.count(|m| matches!(m, UpMessage::Hello(_))) >= 1
    })
    .await;
    cp.command(&create_token("KUSAGE22")).await;
    wait_until(20, "applied", || {
        cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 1
    })
    .await;
    router
        .customer_login("KUSAGE22", "1234", "AA:BB:CC:DD:EE:05")
        .unwrap();
    for round in 1..=4u64 {
        router.use_traffic("KUSAGE22", 1000 * round, 10 * round);
        // Kill at varying points of the poll cycle.
        tokio::time::sleep(std::time::Duration::from_millis(250 * round)).await;
        child.kill().unwrap();
        child.wait().unwrap();
        router.use_traffic("KUSAGE22", 1, 1);
        child = spawn_agent(&config);
    }
    let u = router
        .users()
        .into_iter()
        .find(|u| u.name == "KUSAGE22")
        .unwrap();
    wait_until(30, "every delta once", || {
        usage_sums(&cp, "KUSAGE22") == (u.bytes_in, u.bytes_out)
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    router.shutdown().await;
    forget_session(MOSQUITTO, &id).await;
}
