//! Re-enrolling a device with the key it already had does not reopen replay. The broker
//! operator (here: anyone subscribed to a private Mosquitto without access control) records
//! every signed up-message a running agent sends, usage reports among them. The technician then
//! re-enrolls the same device through the real enrollment endpoint, keeping its key. Every
//! recorded message published again is a duplicate: nothing applied, no usage counted twice.
//! Private Mosquitto, the real agent and router simulator, the server in this process.

mod support;

use mtm_agent::{Agent, AgentConfig};
use mtm_common::{keys, topics, Envelope, UpMessage, CONTROL_PLANE_ID};
use mtm_control_plane::{start, MqttConfig, ServerConfig};
use mtm_routeros::sim::{SimConfig, Simulator};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::wait_for;
use tokio::process::{Child, Command};

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A private Mosquitto on `port` (never the shared one), up once it accepts connections.
async fn mosquitto(port: u16) -> Child {
    let child = Command::new("mosquitto")
        .args(["-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("mosquitto is installed (scripts/tools.txt)");
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_for("mosquitto listening", Duration::from_secs(10), || async {
        tokio::net::TcpStream::connect(addr).await.is_ok()
    })
    .await;
    child
}

/// A client that keeps every payload published on `topic` (QoS 1, as agents publish).
async fn recorder(port: u16, topic: String) -> (Arc<Mutex<Vec<Vec<u8>>>>, rumqttc::AsyncClient) {
    let mut o = rumqttc::MqttOptions::new("recorder", "127.0.0.1", port);
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut el) = rumqttc::AsyncClient::new(o, 64);
    client
        .subscribe(topic, rumqttc::QoS::AtLeastOnce)
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    let (subscribed, acked) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut subscribed = Some(subscribed);
        while let Ok(event) = el.poll().await {
            match event {
                rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_)) => {
                    if let Some(tx) = subscribed.take() {
                        let _ = tx.send(());
                    }
                }
                rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)) => {
                    kept.lock().unwrap().push(p.payload.to_vec());
                }
                _ => {}
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), acked)
        .await
        .expect("the recorder subscribed")
        .unwrap();
    (seen, client)
}

/// Publish `payloads` on `topic` and wait until the broker took each one.
async fn replay(port: u16, topic: &str, payloads: &[Vec<u8>]) {
    let o = rumqttc::MqttOptions::new("replayer", "127.0.0.1", port);
    let (client, mut el) = rumqttc::AsyncClient::new(o, payloads.len().max(1));
    for p in payloads {
        client
            .publish(topic, rumqttc::QoS::AtLeastOnce, false, p.clone())
            .await
            .unwrap();
    }
    let mut acked = 0;
    tokio::time::timeout(Duration::from_secs(20), async {
        while acked < payloads.len() {
            if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) = el.poll().await {
                acked += 1;
            }
        }
    })
    .await
    .expect("the broker took every replayed publish");
    let _ = client.disconnect().await;
}

async fn metric(base: &str, name: &str) -> u64 {
    let text = reqwest::get(format!("http://{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0)
}

/// Usage rows and their byte total in the SQLite file at `db`.
async fn usage_rows(db: &std::path::Path) -> (i64, i64) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let row: (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(delta_bytes_in + delta_bytes_out), 0) FROM usage",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_messages_are_duplicates_after_a_same_key_re_enrollment() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _broker = mosquitto(port).await;
    let data = dir.path().join("server");
    let server = start(ServerConfig {
        data_dir: data.clone(),
        http_bind: "127.0.0.1:0".parse().unwrap(),
        mqtt: MqttConfig::External {
            host: "127.0.0.1".into(),
            port,
            username: None,
            password: None,
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let base = server.http_addr().to_string();
    let (api, admin) = support::root_on(&server).await;

    let agent_dir = dir.path().join("agent");
    std::fs::create_dir_all(&agent_dir).unwrap();
    let key = mtm_agent::load_or_create_key(&agent_dir).unwrap();
    let agent_pub = keys::public_key_hex(&key.verifying_key());
    let support::Cafe {
        package, router, ..
    } = support::one_cafe(&api, &admin, &agent_pub).await;
    let (recorded, _recorder) = recorder(port, topics::up("r1")).await;

    let sim = Simulator::start(SimConfig {
        logins: vec![("api".into(), "routerpass".into())],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let agent_config = |password: Option<String>| {
        let mut cfg = AgentConfig {
            agent_id: "r1".into(),
            data_dir: agent_dir.clone(),
            control_plane_key: server.control_plane_public_key_hex(),
            ..Default::default()
        };
        cfg.mqtt.host = "127.0.0.1".into();
        cfg.mqtt.port = port;
        cfg.mqtt.username = Some("r1".into());
        cfg.mqtt.password = password;
        cfg.router.addr = sim.addr().to_string();
        cfg.router.username = "api".into();
        cfg.router.password = "routerpass".into();
        cfg.intervals.usage_poll_s = 1;
        cfg.intervals.health_s = 1;
        cfg
    };
    let agent = Agent::start(agent_config(
        router["mqtt_password"].as_str().map(str::to_owned),
    ))
    .await
    .unwrap();

    // A sale, a customer online, traffic the agent reports.
    let staff = api.login("sam", "staff-pass-123").await;
    api.post::<Value>(
        &staff,
        "/api/shifts/clock-in",
        json!({"opening_float_minor": 1000}),
    )
    .await;
    let token: Value = api
        .post(
            &staff,
            "/api/tokens/generate",
            json!({"package_id": package["id"]}),
        )
        .await;
    let token_path = format!("/api/tokens/{}", token["id"].as_str().unwrap());
    wait_for(
        "the voucher on the router",
        Duration::from_secs(30),
        || async { api.get::<Value>(&staff, &token_path).await["state"] == "applied" },
    )
    .await;
    let code = token["code"].as_str().unwrap();
    let password = token["password"].as_str().unwrap_or("");
    sim.customer_login(code, password, "AA:BB:CC:00:00:01")
        .unwrap();
    sim.use_traffic(code, 700_000, 3_000_000);
    wait_for("the usage stored", Duration::from_secs(30), || async {
        let t: Value = api.get(&staff, &token_path).await;
        t["bytes_in"] == 700_000 && t["bytes_out"] == 3_000_000
    })
    .await;

    // The recording holds usage reports; everything recorded so far has been applied.
    let vk = key.verifying_key();
    let opened = |p: &Vec<u8>| {
        Envelope::from_bytes(p)
            .ok()
            .and_then(|e| e.open::<UpMessage>(&vk, CONTROL_PLANE_ID).ok())
    };
    wait_for(
        "a usage report recorded",
        Duration::from_secs(10),
        || async {
            recorded
                .lock()
                .unwrap()
                .iter()
                .any(|p| matches!(opened(p), Some(UpMessage::Usage(_))))
        },
    )
    .await;
    agent.shutdown().await;
    let captured: Vec<Vec<u8>> = recorded.lock().unwrap().clone();
    assert!(captured.iter().all(|p| opened(p).is_some()));

    // The technician re-enrolls the same device with the key it has.
    let issued: Value = api
        .post(
            &admin,
            &format!(
                "/api/routers/{}/enrollment-code",
                router["router"]["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    let enrolled = reqwest::Client::new()
        .post(format!("http://{base}/api/enroll"))
        .json(&json!({"code": issued["code"], "public_key_hex": agent_pub,
                      "agent_version": "0.1.0"}))
        .send()
        .await
        .unwrap();
    assert!(enrolled.status().is_success(), "{}", enrolled.status());
    let enrolled: Value = enrolled.json().await.unwrap();

    // Everything recorded before, published again: each one a duplicate, none applied.
    let before = usage_rows(&data.join("mtm.db")).await;
    let applied = metric(&base, "mtm_ingest_applied_total").await;
    let duplicates = metric(&base, "mtm_ingest_duplicates_total").await;
    replay(port, &topics::up("r1"), &captured).await;
    let n = captured.len() as u64;
    wait_for(
        "every replayed message counted as a duplicate",
        Duration::from_secs(30),
        || async { metric(&base, "mtm_ingest_duplicates_total").await >= duplicates + n },
    )
    .await;
    assert_eq!(metric(&base, "mtm_ingest_applied_total").await, applied);
    assert_eq!(usage_rows(&data.join("mtm.db")).await, before);
    let t: Value = api.get(&staff, &token_path).await;
    assert_eq!(
        (t["bytes_in"].clone(), t["bytes_out"].clone()),
        (json!(700_000), json!(3_000_000))
    );

    // The device runs on with its new broker password and its seqs go on being applied.
    let agent = Agent::start(agent_config(
        enrolled["mqtt_password"].as_str().map(str::to_owned),
    ))
    .await
    .unwrap();
    sim.use_traffic(code, 1_000, 2_000);
    wait_for(
        "usage after the re-enrollment stored",
        Duration::from_secs(30),
        || async { api.get::<Value>(&staff, &token_path).await["bytes_in"] == 701_000 },
    )
    .await;
    agent.shutdown().await;
    sim.shutdown().await;
    server.shutdown().await;
}
