//! The `mtm-server` binary: migrate, create-admin, audit verify (intact and tampered), and serve
//! printing its addresses with transparent huge pages off.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mtm-server"));
    c.env_remove("MTM_DATABASE_URL")
        .env_remove("MTM_MQTT_HOST")
        .env("RUST_LOG", "warn");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_create_admin_verify_and_serve() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = bin()
        .arg("migrate")
        .env("MTM_DATA_DIR", &data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut child = bin()
        .args(["create-admin", "--username", "root", "--password-stdin"])
        .env("MTM_DATA_DIR", &data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long secret\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("created super admin root"));

    let out = bin()
        .args(["audit", "verify"])
        .env("MTM_DATA_DIR", &data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("audit_log: 1 rows, chain intact"), "{text}");

    // Serve on free ports and log in as the new admin.
    let mut server = bin()
        .arg("serve")
        .env("MTM_DATA_DIR", &data)
        .env("MTM_HTTP_BIND", "127.0.0.1:0")
        .env("MTM_MQTT_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let http = lines.next().unwrap().unwrap();
    let mqtt = lines.next().unwrap().unwrap();
    assert!(mqtt.starts_with("mqtt on 127.0.0.1:"), "{mqtt}");
    let base = http.strip_prefix("http on ").unwrap().to_owned();
    // Transparent huge pages are off for the server: with them, the embedded broker's mostly
    // unwritten buffers for each connection were resident in 2 MiB pages (docs/benchmarks.md).
    // Asserted once the server is stopped, so a failure does not leave it running.
    let proc_status = std::fs::read_to_string(format!("/proc/{}/status", server.id()));
    let r = reqwest::Client::new()
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({"username": "root", "password": "a long secret"}))
        .send()
        .await
        .unwrap();
    let ok = r.status().is_success();
    // SIGTERM (systemctl stop, docker stop) shuts it down cleanly, like Ctrl-C.
    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = server.wait().unwrap();
    assert!(ok);
    assert!(status.success(), "exit after SIGTERM: {status}");
    let proc_status = proc_status.unwrap();
    assert!(proc_status.contains("THP_enabled:\t0"), "{proc_status}");

    // Someone edits the audit log behind the triggers' back: verify names the row.
    let url = format!("sqlite://{}/mtm.db", data.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("DROP TRIGGER audit_log_no_update")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET actor = 'nobody' WHERE id = 1")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let out = bin()
        .args(["audit", "verify"])
        .env("MTM_DATA_DIR", &data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("audit_log: chain broken at row 1"), "{text}");
}

/// A fresh demo's terminal: addresses and logins, a status line that shows every router coming
/// online, and no log lines at all on a clean start (the full log is behind RUST_LOG=info).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_terminal_shows_the_essentials_and_a_live_status() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mtm-server"))
        .args(["demo", "--http-port", "0", "--data-dir"])
        .arg(dir.path().join("demo"))
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let seen = tokio::task::spawn_blocking(move || {
        let mut all = String::new();
        let mut buf = [0u8; 512];
        while !all.contains("routers online 3/3") {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => all.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
        all
    });
    let seen = tokio::time::timeout(std::time::Duration::from_secs(120), seen)
        .await
        .expect("the status line shows all routers online within 2 minutes")
        .unwrap();
    child.kill().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    child.wait().unwrap();
    for needed in [
        "mtm demo is running at http://",
        "RouterOS API on",
        "staff-demo-pass",
    ] {
        assert!(seen.contains(needed), "{needed}: {seen}");
    }
    assert!(seen.contains("status: routers online 3/3"), "{seen}");
    assert!(
        !stderr.contains("INFO") && !stderr.contains("ERROR"),
        "a clean start logs nothing below a warning and no error:\n{stderr}"
    );
}
