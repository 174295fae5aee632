//! The sample broker config `deploy/mosquitto/mosquitto.conf` is one Mosquitto accepts: started
//! on it (paths moved into a temporary folder, the listener on a free loopback port, the dynsec
//! file made with `mosquitto_ctrl`), the broker listens and stays up. Mosquitto refuses to
//! start on an option it does not know or a value it cannot read, so a typo in the sample (say,
//! in `persistent_client_expiration`) fails here rather than at a café.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn program(name: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists());
    found.unwrap_or_else(|| panic!("{name} not found: install the mosquitto package"))
}

fn dynsec_plugin() -> PathBuf {
    let multiarch = format!("/usr/lib/{}-linux-gnu", std::env::consts::ARCH);
    [
        multiarch.as_str(),
        "/usr/lib/mosquitto",
        "/usr/lib",
        "/usr/local/lib",
    ]
    .iter()
    .map(|d| Path::new(d).join("mosquitto_dynamic_security.so"))
    .find(|p| p.exists())
    .expect("mosquitto_dynamic_security.so: install the mosquitto package")
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The sample as an operator would run it, moved to `dir` and `port`.
fn localised(sample: &str, dir: &Path, port: u16) -> String {
    let mut out = String::new();
    for line in sample.lines() {
        let line = if line.starts_with("listener 1883") {
            format!("listener {port} 127.0.0.1")
        } else if line.starts_with("plugin ") {
            format!("plugin {}", dynsec_plugin().display())
        } else {
            line.replace("/mosquitto/data/", &format!("{}/", dir.display()))
                .replace("/mosquitto/config/", &format!("{}/", dir.display()))
        };
        out.push_str(&line);
        out.push('\n');
    }
    // Run as root (CI), Mosquitto would drop to the `mosquitto` user, who cannot write this
    // temporary folder; anyone else it ignores this.
    out.push_str("user root\n");
    out
}

#[test]
fn the_sample_mosquitto_config_is_accepted() {
    let sample = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/mosquitto/mosquitto.conf"),
    )
    .unwrap();
    for option in [
        "persistent_client_expiration",
        "max_inflight_messages",
        "max_queued_messages",
    ] {
        assert!(
            sample.lines().any(|l| l.starts_with(option)),
            "the sample sets {option}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new(program("mosquitto_ctrl"))
        .args(["dynsec", "init"])
        .arg(dir.path().join("dynamic-security.json"))
        .args(["mtm-server", "server-pass-123"])
        .output()
        .unwrap();
    assert!(made.status.success(), "mosquitto_ctrl dynsec init failed");
    let port = free_port();
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(&conf, localised(&sample, dir.path(), port)).unwrap();
    let mut broker = Command::new(program("mosquitto"))
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let listening = loop {
        if let Some(status) = broker.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            if let Some(mut e) = broker.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("mosquitto refused the sample config ({status}): {err}");
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break true;
        }
        if started.elapsed() > Duration::from_secs(10) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let still_up = broker.try_wait().unwrap().is_none();
    let _ = broker.kill();
    let _ = broker.wait();
    assert!(listening, "mosquitto did not listen within 10 s");
    assert!(still_up, "mosquitto stopped after it started listening");
}
