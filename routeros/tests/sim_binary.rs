//! The `routeros-sim` binary: flags, the `listening on` / `tls on` lines, CA export.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use mtm_routeros::{Client, ClientConfig, Tls};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_serves_plain_and_tls_with_the_configured_account() {
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    let mut child = Command::new(env!("CARGO_BIN_EXE_routeros-sim"))
        .args(["--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0"])
        .args([
            "--login",
            "hs-agent:pa:ss",
            "--identity",
            "cafe-3",
            "--version",
            "7.18.2 (stable)",
        ])
        .args(["--customers", "--tick-ms", "50"])
        .arg("--ca-out")
        .arg(&ca_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let _guard = Killed(child);
    let plain = lines.next().unwrap().unwrap();
    let tls = lines.next().unwrap().unwrap();
    let plain = plain
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_string();
    let tls = tls.strip_prefix("tls on ").expect("tls line").to_string();

    let c = Client::connect(&ClientConfig::plain(plain.clone(), "hs-agent", "pa:ss"))
        .await
        .unwrap();
    assert_eq!(c.identity().await.unwrap(), "cafe-3");
    assert_eq!(
        c.system_resource().await.unwrap().version,
        "7.18.2 (stable)"
    );
    assert!(Client::connect(&ClientConfig::plain(plain, "admin", ""))
        .await
        .is_err());

    // the CA file is written right after the address lines; poll for it
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let ca = loop {
        if let Ok(pem) = std::fs::read(&ca_path) {
            if !pem.is_empty() {
                break pem;
            }
        }
        assert!(std::time::Instant::now() < deadline, "CA file not written");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let mut cfg = ClientConfig::plain(tls, "hs-agent", "pa:ss");
    cfg.tls = Tls::Verified {
        ca_pem: Some(ca),
        server_name: "localhost".into(),
    };
    let t = Client::connect(&cfg).await.unwrap();
    assert_eq!(t.identity().await.unwrap(), "cafe-3");
}

#[test]
fn bad_login_flag_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_routeros-sim"))
        .args(["--listen", "127.0.0.1:0", "--login", "no-colon"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected user:password"));
}
