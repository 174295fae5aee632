//! `mtm-agent enroll` against a stand-in control plane on loopback (plain HTTP and TLS with a
//! test CA): what is sent, what is written, and the errors a technician sees. The real server is
//! exercised in control-plane/tests/enroll.rs.

use std::process::{Command, Output};
use std::sync::Arc;

use mtm_agent::enroll::{enroll, EnrollError, EnrollOptions};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const EXISTING: &str = r#"# the Pi's config, with a comment to keep
data_dir = "/somewhere/else"

[router]
addr = "192.168.88.1:8728"
username = "mtm-agent"
password = "router-secret"   # never sent

[intervals]
usage_poll_s = 7
"#;

fn cp_key() -> String {
    mtm_common::keys::public_key_hex(&mtm_common::keys::generate_signing_key().verifying_key())
}

fn ok_reply(cp: &str) -> String {
    let body = serde_json::json!({
        "agent_id": "cafe-9", "mqtt_host": "broker.example", "mqtt_port": 8883,
        "mqtt_username": "cafe-9", "mqtt_password": "mqtt-secret",
        "control_plane_public_key": cp,
    })
    .to_string();
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A one-reply-per-connection server; each request (head and body) goes to the channel.
async fn fake_server(
    reply: String,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> (String, mpsc::UnboundedReceiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (s, _) = l.accept().await.unwrap();
            let (tx, reply, tls) = (tx.clone(), reply.clone(), tls.clone());
            tokio::spawn(async move {
                match tls {
                    Some(acc) => {
                        if let Ok(s) = acc.accept(s).await {
                            answer(s, &reply, &tx).await;
                        }
                    }
                    None => answer(s, &reply, &tx).await,
                }
            });
        }
    });
    (addr.to_string(), rx)
}

async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    reply: &str,
    tx: &mpsc::UnboundedSender<String>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len: usize = text[..end]
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let _ = tx.send(text);
                break;
            }
        }
    }
    let _ = s.write_all(reply.as_bytes()).await;
    let _ = s.shutdown().await;
}

fn opts(server: String, dir: &std::path::Path) -> EnrollOptions {
    EnrollOptions {
        server,
        code: "abcd-efgh".into(),
        config: Some(dir.join("agent.toml")),
        data_dir: Some(dir.join("data")),
        ca_file: None,
    }
}

#[tokio::test]
async fn enroll_sends_only_the_public_key_and_keeps_the_router_settings() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("broker-ca.pem");
    std::fs::write(&ca, "not read by validate").unwrap();
    std::fs::write(
        dir.path().join("agent.toml"),
        format!(
            "{EXISTING}\n[mqtt.tls]\nca_file = {:?}\n",
            ca.display().to_string()
        ),
    )
    .unwrap();
    let cp = cp_key();
    let (addr, mut requests) = fake_server(ok_reply(&cp), None).await;
    let done = enroll(&opts(format!("http://{addr}/"), dir.path()))
        .await
        .unwrap();
    assert_eq!(done.identity.enrolled.agent_id, "cafe-9");

    let request = requests.recv().await.unwrap();
    assert!(
        request.starts_with("POST /api/enroll HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(!request.contains("router-secret"), "router password sent");
    let body: Value = serde_json::from_str(request.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let key = mtm_agent::load_or_create_key(&dir.path().join("data")).unwrap();
    assert_eq!(
        body["public_key_hex"],
        mtm_common::keys::public_key_hex(&key.verifying_key())
    );
    assert_eq!(body["code"], "abcd-efgh");
    assert_eq!(body.as_object().unwrap().len(), 3, "{body}");

    let path = dir.path().join("agent.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# the Pi's config, with a comment to keep"));
    assert!(text.contains("# never sent"));
    assert!(text.contains("broker-ca.pem"), "broker TLS kept");
    let cfg = mtm_agent::AgentConfig::from_toml(&text).unwrap();
    cfg.validate().unwrap();
    assert_eq!(cfg.agent_id, "cafe-9");
    assert_eq!(cfg.control_plane_key, cp);
    assert_eq!(
        (cfg.mqtt.host.as_str(), cfg.mqtt.port),
        ("broker.example", 8883)
    );
    assert_eq!(cfg.mqtt.username.as_deref(), Some("cafe-9"));
    assert_eq!(cfg.mqtt.password.as_deref(), Some("mqtt-secret"));
    assert_eq!(cfg.router.password, "router-secret");
    assert_eq!(cfg.router.addr, "192.168.88.1:8728");
    assert_eq!(cfg.intervals.usage_poll_s, 7);
    assert_eq!(cfg.data_dir, dir.path().join("data"), "the key's dir");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Enrolling again (a new code) keeps the key.
    enroll(&opts(format!("http://{addr}"), dir.path()))
        .await
        .unwrap();
    let again = mtm_agent::load_or_create_key(&dir.path().join("data")).unwrap();
    assert_eq!(again.to_bytes(), key.to_bytes());
}

#[tokio::test]
async fn refusals_say_why() {
    let dir = tempfile::tempdir().unwrap();
    for (status, reason) in [
        ("404 Not Found", "unknown_code"),
        ("409 Conflict", "used"),
        ("410 Gone", "expired"),
    ] {
        let body = format!(r#"{{"error":"the server's words","reason":"{reason}"}}"#);
        let reply = format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let (addr, _rx) = fake_server(reply, None).await;
        let e = enroll(&opts(format!("http://{addr}"), dir.path()))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, EnrollError::Refused { reason: r, .. } if r == reason),
            "{e:?}"
        );
        assert!(e.to_string().contains("the server's words"), "{e}");
    }
    assert!(
        !dir.path().join("agent.toml").exists(),
        "nothing written on refusal"
    );

    // Not an mtm server; chunked replies are read whole.
    let reply =
        "HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n5\r\nnope!\r\n0\r\n\r\n";
    let (addr, _rx) = fake_server(reply.into(), None).await;
    let e = enroll(&opts(format!("http://{addr}"), dir.path()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("is the URL the mtm server"), "{e}");

    // Nobody listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = enroll(&opts(format!("http://127.0.0.1:{port}"), dir.path()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cannot reach 127.0.0.1"), "{e}");

    let e = enroll(&opts("ftp://x".into(), dir.path()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("https://"), "{e}");
    let e = enroll(&opts("http://mtm.example.com".into(), dir.path()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("only for this machine"), "{e}");
}

#[tokio::test]
async fn https_is_verified_against_the_given_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let srv_key = KeyPair::generate().unwrap();
    let srv = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&srv_key, &ca, &ca_key)
        .unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![srv.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(srv_key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_cfg));
    let (addr, _rx) = fake_server(ok_reply(&cp_key()), Some(acceptor)).await;

    // The system's CA store does not know the test CA: refused.
    let e = enroll(&opts(format!("https://{addr}"), dir.path()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("TLS with 127.0.0.1"), "{e}");
    assert!(!dir.path().join("agent.toml").exists());

    let mut o = opts(format!("https://{addr}"), dir.path());
    o.ca_file = Some(ca_file);
    let done = enroll(&o).await.unwrap();
    assert_eq!(done.identity.enrolled.agent_id, "cafe-9");
}

fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mtm-agent"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

#[test]
fn the_cli_enrolls_and_reports_errors_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = agent(&[
        "enroll",
        "--server",
        &format!("http://127.0.0.1:{port}"),
        "--code",
        "X",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error: cannot reach 127.0.0.1"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_enrolls_at_first_start_from_its_environment() {
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let reply = ok_reply(&cp_key())
        .replace("broker.example", "127.0.0.1")
        .replace("8883", &closed.to_string());
    // The port may have another number of digits than 8883: recompute the length.
    let body = reply.split("\r\n\r\n").nth(1).unwrap().to_owned();
    let reply = format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let (addr, mut requests) = fake_server(reply, None).await;
    // The image's config: no identity, read-only in practice.
    let config = dir.path().join("image-agent.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[router]\naddr = \"127.0.0.1:{closed}\"\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let image_config = std::fs::read_to_string(&config).unwrap();
    let check = |code: &str| {
        Command::new(env!("CARGO_BIN_EXE_mtm-agent"))
            .args(["check", "--config", config.to_str().unwrap()])
            .env("RUST_LOG", "error")
            .env_remove("MTM_DATA_DIR")
            .env("MTM_ENROLL_SERVER", format!("http://{addr}"))
            .env("MTM_ENROLL_CODE", code)
            .output()
            .unwrap()
    };
    let out = check("FIRST-CODE");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("config: ok"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let request = requests.recv().await.unwrap();
    assert!(request.contains("FIRST-CODE"), "{request}");
    let enrolled = dir
        .path()
        .join("data")
        .join(mtm_agent::enroll::ENROLLMENT_FILE);
    assert!(std::fs::read_to_string(&enrolled)
        .unwrap()
        .contains("agent_id = \"cafe-9\""));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&enrolled).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(std::fs::read_to_string(&config).unwrap(), image_config);

    // Later starts use the stored identity; the spent code is not sent again.
    let out = check("FIRST-CODE");
    assert!(String::from_utf8_lossy(&out.stdout).contains("config: ok"));
    assert!(requests.try_recv().is_err(), "enrolled only once");
}

#[tokio::test]
async fn update_settings_come_from_the_enrollment_unless_the_config_names_them() {
    let cp = cp_key();
    let server_release_key = cp_key();
    let reply = |key: &str| {
        let body = serde_json::json!({
            "agent_id": "cafe-9", "mqtt_host": "broker.example", "mqtt_port": 8883,
            "mqtt_username": "cafe-9", "mqtt_password": "mqtt-secret",
            "control_plane_public_key": cp, "release_public_key": key,
        })
        .to_string();
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
    };

    // Nothing in the config: the server's release key and the enrollment URL are taken.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.toml"), EXISTING).unwrap();
    let (addr, _requests) = fake_server(reply(&server_release_key), None).await;
    enroll(&opts(format!("http://{addr}"), dir.path()))
        .await
        .unwrap();
    let text = std::fs::read_to_string(dir.path().join("agent.toml")).unwrap();
    let cfg = mtm_agent::AgentConfig::from_toml(&text).unwrap();
    assert_eq!(
        cfg.release_key.as_deref(),
        Some(server_release_key.as_str())
    );
    assert_eq!(cfg.update_server, Some(format!("http://{addr}")));

    // The technician's kit names both: they stay.
    let dir = tempfile::tempdir().unwrap();
    let kit_key = cp_key();
    std::fs::write(
        dir.path().join("agent.toml"),
        format!(
            "release_key = {kit_key:?}\nupdate_server = \"https://updates.example\"\n{EXISTING}"
        ),
    )
    .unwrap();
    enroll(&opts(format!("http://{addr}"), dir.path()))
        .await
        .unwrap();
    let text = std::fs::read_to_string(dir.path().join("agent.toml")).unwrap();
    let cfg = mtm_agent::AgentConfig::from_toml(&text).unwrap();
    assert_eq!(cfg.release_key.as_deref(), Some(kit_key.as_str()));
    assert_eq!(
        cfg.update_server.as_deref(),
        Some("https://updates.example")
    );

    // A reply with a malformed release key is not an enrollment.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.toml"), EXISTING).unwrap();
    let (addr, _requests) = fake_server(reply("not-a-key"), None).await;
    let err = enroll(&opts(format!("http://{addr}"), dir.path()))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid"), "{err}");
}

#[tokio::test]
async fn the_brokers_certificate_pin_from_the_enrollment_is_written_and_used() {
    let cp = cp_key();
    let pin = "ab".repeat(32);
    let body = serde_json::json!({
        "agent_id": "cafe-9", "mqtt_host": "127.0.0.1", "mqtt_port": 8883,
        "mqtt_username": "cafe-9", "mqtt_password": "mqtt-secret",
        "control_plane_public_key": cp, "mqtt_tls_pin_sha256": pin,
    })
    .to_string();
    let reply = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.toml"), EXISTING).unwrap();
    let (addr, _requests) = fake_server(reply, None).await;
    enroll(&opts(format!("http://{addr}"), dir.path()))
        .await
        .unwrap();
    let text = std::fs::read_to_string(dir.path().join("agent.toml")).unwrap();
    let cfg = mtm_agent::AgentConfig::from_toml(&text).unwrap();
    assert_eq!(cfg.mqtt.tls_pin_sha256.as_deref(), Some(pin.as_str()));
    let o = mtm_agent::mqtt::options(&cfg.mqtt, "cafe-9").unwrap();
    assert!(matches!(o.transport(), rumqttc::Transport::Tls(_)));
}
