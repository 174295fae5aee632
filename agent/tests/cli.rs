//! The `mtm-agent` subcommands: keygen, check, status, rollback-if-failed.

mod common;

use std::process::{Command, Output};

use common::*;

fn agent_bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mtm-agent"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn write_config(dir: &std::path::Path, router: &str, router_pw: &str, extra: &str) -> String {
    let cp =
        mtm_common::keys::public_key_hex(&mtm_common::keys::generate_signing_key().verifying_key());
    let path = dir.join("agent.toml");
    std::fs::write(
        &path,
        format!(
            r#"
agent_id = "{}"
data_dir = "{}"
control_plane_key = "{cp}"
{extra}
[mqtt]
host = "127.0.0.1"
port = {MOSQUITTO}
[router]
addr = "{router}"
username = "admin"
password = "{router_pw}"
"#,
            unique_id("cli"),
            dir.display()
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn keygen_makes_one_key_and_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let a = agent_bin(&["keygen", "--data-dir", d]);
    let b = agent_bin(&["keygen", "--data-dir", d]);
    assert!(a.status.success(), "{}", text(&a));
    let key = String::from_utf8_lossy(&a.stdout).trim().to_owned();
    assert_eq!(key.len(), 64);
    assert!(mtm_common::keys::parse_public_key(&key).is_ok());
    assert_eq!(a.stdout, b.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_what_is_wrong() {
    let router = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let addr = router.addr().to_string();

    let good = write_config(dir.path(), &addr, "pw", "");
    let o = tokio::task::spawn_blocking(move || agent_bin(&["check", "--config", &good]))
        .await
        .unwrap();
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("router: ok") && t.contains("broker: ok"), "{t}");

    let bad = write_config(dir.path(), &addr, "wrong", "");
    let o = tokio::task::spawn_blocking(move || agent_bin(&["check", "--config", &bad]))
        .await
        .unwrap();
    let t = text(&o);
    assert!(!o.status.success());
    assert!(t.contains("router: FAILED"), "{t}");
    assert!(!t.contains("wrong"), "password leaked: {t}");

    let unknown = write_config(dir.path(), &addr, "pw", "colour = \"blue\"");
    let o = agent_bin(&["check", "--config", &unknown]);
    let t = text(&o);
    assert!(!o.status.success());
    assert!(t.contains("colour"), "{t}");
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_endpoint_and_status_command() {
    let router = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let id = unique_id("status");
    let cp =
        mtm_common::keys::public_key_hex(&mtm_common::keys::generate_signing_key().verifying_key());
    let mut cfg = agent_config(&id, dir.path(), &cp, MOSQUITTO, router.addr());
    cfg.status_listen = Some("127.0.0.1:0".parse().unwrap());
    let agent = mtm_agent::Agent::start(cfg).await.unwrap();
    let addr = agent.status_addr().unwrap().to_string();
    let (code, body) = mtm_agent::status::get(&addr, "/healthz").await.unwrap();
    assert_eq!((code, body.as_str()), (200, "ok"));
    let (code, _) = mtm_agent::status::get(&addr, "/nope").await.unwrap();
    assert_eq!(code, 404);
    let a = addr.clone();
    let o = tokio::task::spawn_blocking(move || agent_bin(&["status", "--addr", &a]))
        .await
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["agent_id"], id.as_str());
    assert!(v["next_seq"].as_u64().unwrap() >= 1);
    agent.shutdown().await;
    router.shutdown().await;
    forget_session(MOSQUITTO, &id).await;
}

/// `rollback-if-failed` as systemd's `ExecStopPost=` runs it: the service's exit in the
/// environment, an update on trial in the data dir.
#[test]
fn rollback_if_failed_reads_the_service_exit_from_systemd() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("mtm-agent");
    std::fs::write(&exe, b"old").unwrap();
    mtm_agent::update::install(&exe, b"new").unwrap();
    let pending = mtm_agent::update::Pending {
        from_version: "0.1.0".into(),
        to_version: "0.2.0".into(),
        deadline_ms: i64::MAX,
    };
    mtm_agent::update::write_pending(dir.path(), &pending).unwrap();
    let run = |result: &str, code: &str, status: &str| {
        Command::new(env!("CARGO_BIN_EXE_mtm-agent"))
            .args(["rollback-if-failed", "--exe", exe.to_str().unwrap()])
            .env("MTM_DATA_DIR", dir.path())
            .env("SERVICE_RESULT", result)
            .env("EXIT_CODE", code)
            .env("EXIT_STATUS", status)
            .output()
            .unwrap()
    };
    // The old binary's exit 75 (restart into the new one) leaves the new one in place.
    let out = run("exit-code", "exited", "75");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(&exe).unwrap(), b"new");
    // The new one could not be executed: the previous one is back, and it says so.
    let out = run("exit-code", "exited", "203");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(&exe).unwrap(), b"old");
    assert!(
        text(&out).contains("previous one is back"),
        "{}",
        text(&out)
    );
}
