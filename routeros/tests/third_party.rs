//! Unmodified third-party RouterOS clients against the `routeros-sim` binary. These tests FAIL
//! (never skip) when python3/node or the packages are missing: run
//! `routeros/tests/third_party/setup.sh` first.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The simulator binary, started on port 0; killed on drop.
struct SimProcess {
    child: Child,
    port: u16,
    tls_port: Option<u16>,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sim(extra: &[&str]) -> SimProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_routeros-sim"))
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn routeros-sim");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("read sim stdout");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let port = addr.rsplit(':').next().unwrap().parse().unwrap();
    let mut tls_port = None;
    if extra.contains(&"--tls-listen") {
        let mut tls = String::new();
        reader.read_line(&mut tls).expect("read tls line");
        let tls = tls.trim().strip_prefix("tls on ").expect("tls line");
        tls_port = Some(tls.rsplit(':').next().unwrap().parse().unwrap());
    }
    SimProcess {
        child,
        port,
        tls_port,
    }
}

/// Where the third-party client scripts are.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/third_party")
}

/// The Python with the third-party RouterOS clients installed.
pub fn python() -> PathBuf {
    let venv = std::env::var("MTM_PY_VENV").unwrap_or_else(|_| "/var/tmp/mtm-py".into());
    let py = Path::new(&venv).join("bin/python");
    assert!(
        py.exists(),
        "{} missing: run routeros/tests/third_party/setup.sh",
        py.display()
    );
    py
}

fn run(mut cmd: Command, what: &str) {
    let start = Instant::now();
    let out = cmd.current_dir(dir()).output().unwrap_or_else(|e| {
        panic!("{what}: cannot run ({e}); run routeros/tests/third_party/setup.sh")
    });
    assert!(
        out.status.success(),
        "{what} failed after {:?}: {}\nstdout: {}\nstderr: {}",
        start.elapsed(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[test]
fn librouteros_unmodified() {
    let sim = start_sim(&[]);
    let mut cmd = Command::new(python());
    cmd.args(["librouteros_check.py", "127.0.0.1", &sim.port.to_string()]);
    run(cmd, "librouteros");
}

#[test]
fn librouteros_with_password_account() {
    let sim = start_sim(&["--login", "api:s3cret=x"]);
    let mut cmd = Command::new(python());
    cmd.args([
        "librouteros_check.py",
        "127.0.0.1",
        &sim.port.to_string(),
        "api",
        "s3cret=x",
    ]);
    run(cmd, "librouteros (password)");
}

#[test]
fn node_routeros_unmodified() {
    assert!(
        dir().join("node_modules/node-routeros").exists(),
        "node-routeros missing: run routeros/tests/third_party/setup.sh"
    );
    let sim = start_sim(&[]);
    let mut cmd = Command::new("node");
    cmd.args(["node_routeros_check.js", "127.0.0.1", &sim.port.to_string()]);
    run(cmd, "node-routeros");
}

#[test]
fn node_routeros_legacy_challenge_login() {
    // A pre-6.43 router answers every /login with a challenge; node-routeros falls back to it.
    let sim = start_sim(&[
        "--version",
        "6.42.12 (long-term)",
        "--legacy-auth",
        "--login",
        "admin:pw",
    ]);
    let mut cmd = Command::new("node");
    cmd.args([
        "node_routeros_check.js",
        "127.0.0.1",
        &sim.port.to_string(),
        "admin",
        "pw",
    ]);
    run(cmd, "node-routeros (challenge login)");
}

#[test]
fn librouteros_over_api_ssl() {
    let sim = start_sim(&["--tls-listen", "127.0.0.1:0"]);
    let mut cmd = Command::new(python());
    let port = sim.tls_port.unwrap().to_string();
    cmd.args([
        "librouteros_check.py",
        "127.0.0.1",
        &port,
        "admin",
        "",
        "ssl",
    ]);
    run(cmd, "librouteros (API-SSL)");
}

fn routeros_api(extra: &[&str], mode: &str, tls: bool) {
    let mut args = vec!["--login", "api:pw"];
    args.extend_from_slice(extra);
    if tls {
        args.extend_from_slice(&["--tls-listen", "127.0.0.1:0"]);
    }
    let sim = start_sim(&args);
    let port = if tls { sim.tls_port.unwrap() } else { sim.port }.to_string();
    let mut cmd = Command::new(python());
    cmd.args([
        "routeros_api_check.py",
        "127.0.0.1",
        &port,
        "api",
        "pw",
        mode,
    ]);
    run(cmd, &format!("RouterOS-api ({mode})"));
}

#[test]
fn routeros_api_plaintext_login() {
    routeros_api(&[], "plain", false);
}

#[test]
fn routeros_api_default_challenge_login_needs_legacy_auth() {
    routeros_api(&["--legacy-auth"], "challenge", false);
    // Without legacy auth (RouterOS >= 6.45.1 behaviour) the library's default login fails.
    let sim = start_sim(&["--login", "api:pw"]);
    let out = Command::new(python())
        .current_dir(dir())
        .args([
            "routeros_api_check.py",
            "127.0.0.1",
            &sim.port.to_string(),
            "api",
            "pw",
            "challenge",
        ])
        .output()
        .expect("run python");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid user name or password"));
}

#[test]
fn routeros_api_over_api_ssl() {
    routeros_api(&[], "ssl", true);
}
