//! MQTT over TLS (rustls with the ring provider) against a private Mosquitto with a test CA.

mod common;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use mtm_agent::TlsConfig;
use mtm_common::UpMessage;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

struct Mosquitto(Child);

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_talks_to_a_tls_broker() {
    if Command::new("mosquitto").arg("-h").output().is_err() {
        eprintln!("mosquitto not installed; skipping");
        return;
    }
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
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("ca.pem"), ca.pem()).unwrap();
    std::fs::write(p("srv.pem"), srv.pem()).unwrap();
    std::fs::write(p("srv.key"), srv_key.serialize_pem()).unwrap();
    let (plain, tls) = (free_port(), free_port());
    std::fs::write(
        p("mosquitto.conf"),
        format!(
            "allow_anonymous true\npersistence false\nlistener {plain} 127.0.0.1\n\
             listener {tls} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\n",
            p("ca.pem").display(),
            p("srv.pem").display(),
            p("srv.key").display()
        ),
    )
    .unwrap();
    let _broker = Mosquitto(
        Command::new("mosquitto")
            .arg("-c")
            .arg(p("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let end = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", tls)).is_err()
        || TcpStream::connect(("127.0.0.1", plain)).is_err()
    {
        assert!(Instant::now() < end, "mosquitto did not start");
        std::thread::sleep(Duration::from_millis(20));
    }

    let router = sim().await;
    let data = tempfile::tempdir().unwrap();
    let id = unique_id("tls");
    let agent_key = mtm_agent::load_or_create_key(data.path()).unwrap();
    let cp = Cp::start(plain, &id, agent_key.verifying_key()).await;
    let mut cfg = agent_config(&id, data.path(), &cp.public_hex(), tls, router.addr());
    cfg.mqtt.tls = Some(TlsConfig {
        ca_file: p("ca.pem"),
    });
    let agent = mtm_agent::Agent::start(cfg).await.unwrap();
    wait_until(20, "hello over TLS", || {
        cp.count(|m| matches!(m, UpMessage::Hello(_))) >= 1
    })
    .await;
    cp.command(&create_token("TLSTOK22")).await;
    wait_until(20, "applied", || {
        cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 1
    })
    .await;
    assert!(agent.status().mqtt_connected);
    agent.shutdown().await;

    // A broker whose certificate does not chain to the configured CA is never trusted.
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    std::fs::write(p("other.pem"), other.cert.pem()).unwrap();
    let data2 = tempfile::tempdir().unwrap();
    let mut cfg = agent_config(
        &unique_id("tlsbad"),
        data2.path(),
        &cp.public_hex(),
        tls,
        router.addr(),
    );
    cfg.mqtt.tls = Some(TlsConfig {
        ca_file: p("other.pem"),
    });
    let agent = mtm_agent::Agent::start(cfg).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!agent.status().mqtt_connected);
    agent.shutdown().await;
    router.shutdown().await;
}
