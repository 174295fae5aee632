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
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read sim stdout");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let port = addr.rsplit(':').next().unwrap().parse().unwrap();
    SimProcess { child, port }
}

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/third_party")
}

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
