//! Enrollment end to end: the server in process, the real `mtm-agent` binary, a
//! simulated router. An admin makes a router record and a one-time code over the API; `mtm-agent
//! enroll` redeems it; `mtm-agent run` on the written config brings the router online. A used or
//! expired code is refused; revoking stops the agent's broker login and its signed messages at
//! once; a replacement device enrolls with a new code and the old key no longer counts.
//!
//! Needs the binaries built (`cargo build -p mtm-agent`); fails, never skips, without them.

mod support;

use std::path::Path;
use std::time::Duration;

use mtm_control_plane::store::{enrollment_code_hash, now_ms, NewLocation, NewRouter};
use mtm_control_plane::ServerHandle;
use mtm_routeros::sim::{SimConfig, SimHandle, Simulator};
use serde_json::{json, Value};
use support::{bin, wait_for, Api, Proc};

fn agent(args: &[&str]) -> std::process::Output {
    std::process::Command::new(bin("mtm-agent"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("MTM_DATA_DIR")
        .output()
        .unwrap()
}

/// A device's starting config: only the router part, as a technician writes it.
fn device(dir: &Path, sim: &SimHandle) -> (String, String) {
    std::fs::create_dir_all(dir).unwrap();
    let config = dir.join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "# router part only; enrollment adds the rest\nstatus_listen = \"127.0.0.1:0\"\n[router]\naddr = \"{}\"\nusername = \"api\"\npassword = \"router-pass\"\n\n[intervals]\nusage_poll_s = 1\nhealth_s = 1\n",
            sim.addr()
        ),
    )
    .unwrap();
    (
        config.to_str().unwrap().to_owned(),
        dir.join("data").to_str().unwrap().to_owned(),
    )
}

fn enroll(server: &ServerHandle, code: &str, config: &str, data: &str) -> (bool, String) {
    let url = format!("http://{}", server.http_addr());
    let out = agent(&[
        "enroll",
        "--server",
        &url,
        "--code",
        code,
        "--config",
        config,
        "--data-dir",
        data,
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn reject_count(server: &ServerHandle, reason: &str) -> u64 {
    let text = reqwest::get(format!("http://{}/metrics", server.http_addr()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("mtm_ingest_rejects_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Try an MQTT login; true if the broker accepted it.
async fn mqtt_login(server: &ServerHandle, user: &str, password: &str) -> bool {
    let addr = server.mqtt_addr();
    // The broker lets an agent's login use its own client id only.
    let mut o = rumqttc::MqttOptions::new(
        mtm_common::topics::client_id(user),
        addr.ip().to_string(),
        addr.port(),
    );
    o.set_credentials(user, password);
    let (client, mut el) = rumqttc::AsyncClient::new(o, 4);
    let r = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match el.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(a))) => {
                    return a.code == rumqttc::ConnectReturnCode::Success
                }
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    })
    .await
    .unwrap_or(false);
    let _ = client.try_disconnect();
    r
}

/// Publish one envelope on `up/{agent}` with the given broker login.
async fn publish_as(server: &ServerHandle, user: &str, password: &str, agent: &str, p: Vec<u8>) {
    let addr = server.mqtt_addr();
    let mut o = rumqttc::MqttOptions::new(
        mtm_common::topics::client_id(user),
        addr.ip().to_string(),
        addr.port(),
    );
    o.set_credentials(user, password);
    let (client, mut el) = rumqttc::AsyncClient::new(o, 4);
    client
        .publish(
            mtm_common::topics::up(agent),
            rumqttc::QoS::AtLeastOnce,
            false,
            p,
        )
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) = el.poll().await {
                return;
            }
        }
    })
    .await
    .expect("the broker took the publish");
    let _ = client.disconnect().await;
}

async fn is_online(api: &Api, admin: &str) -> bool {
    let routers: Vec<Value> = api.get(admin, "/api/routers").await;
    routers
        .iter()
        .any(|r| r["agent_id"] == "cafe-e1" && r["online"] == true)
}

/// A Hello from `cafe-e1` signed with `key`.
fn hello(key: &ed25519_dalek::SigningKey, seq: u64) -> Vec<u8> {
    mtm_common::Envelope::seal(
        key,
        "cafe-e1",
        "cp",
        seq,
        now_ms(),
        &mtm_common::UpMessage::Hello(mtm_common::Hello {
            agent_version: "old".into(),
            last_cp_seq: 0,
            catalog_version: None,
        }),
    )
    .unwrap()
    .to_bytes()
    .unwrap()
}

fn mqtt_creds(config: &str) -> (String, String) {
    let cfg = mtm_agent::AgentConfig::from_toml(&std::fs::read_to_string(config).unwrap()).unwrap();
    (cfg.mqtt.username.unwrap(), cfg.mqtt.password.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enroll_run_refuse_revoke_and_replace() {
    let dir = tempfile::tempdir().unwrap();
    let (server, api, admin) = support::embedded_server(&dir.path().join("cp")).await;
    let store = server.store();
    let loc = store
        .create_location(NewLocation {
            name: "Cafe".into(),
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
    let sim = Simulator::start(SimConfig {
        logins: vec![("api".into(), "router-pass".into())],
        ..SimConfig::default()
    })
    .await
    .unwrap();

    // The admin: a router record without a key, then a code for it.
    let (router_id, code) =
        support::router_awaiting_enrollment(&api, &admin, &json!(loc.id), "cafe-e1").await;

    // The technician: enroll, then run.
    let (config, data) = device(&dir.path().join("pi-1"), &sim);
    let (ok, out) = enroll(&server, &code, &config, &data);
    assert!(ok, "{out}");
    assert!(out.contains("enrolled as cafe-e1"), "{out}");
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(
        written.contains("password = \"router-pass\""),
        "router kept"
    );
    let mut run = Proc::spawn(bin("mtm-agent"), &["run", "--config", &config]).await;
    let status_url = format!("http://{}/status", run.line_after("status on ").await);
    wait_for(
        "the enrolled router online",
        Duration::from_secs(20),
        || is_online(&api, &admin),
    )
    .await;

    // The code is spent; another device cannot use it.
    let (config2, data2) = device(&dir.path().join("thief"), &sim);
    let (ok, out) = enroll(&server, &code, &config2, &data2);
    assert!(!ok && out.contains("used"), "{out}");
    // An expired code is refused.
    store
        .create_enrollment_code(
            uuid::Uuid::parse_str(&router_id).unwrap(),
            &enrollment_code_hash("OLDC-ODE2"),
            now_ms() - 1,
            "root",
            now_ms(),
        )
        .await
        .unwrap();
    let (ok, out) = enroll(&server, "OLDC-ODE2", &config2, &data2);
    assert!(!ok && out.contains("expired"), "{out}");

    // Revocation: the open session is dropped, the broker refuses the login, and anything signed
    // with the key is rejected.
    let (user, password) = mqtt_creds(&config);
    assert!(
        mqtt_login(&server, &user, &password).await,
        "login works before"
    );
    // That login took over the agent's client id; it reconnects.
    wait_for(
        "the agent connected again",
        Duration::from_secs(20),
        || async { support::http_get_json(&status_url).await["mqtt_connected"] == true },
    )
    .await;
    let _: Value = api
        .post(
            &admin,
            &format!("/api/routers/{router_id}/revoke"),
            json!({}),
        )
        .await;
    assert!(
        !mqtt_login(&server, &user, &password).await,
        "login refused"
    );
    wait_for(
        "the revoked agent's session dropped",
        Duration::from_secs(10),
        || async { support::http_get_json(&status_url).await["mqtt_connected"] == false },
    )
    .await;
    let revoked_key = std::fs::read_to_string(Path::new(&data).join("agent.key")).unwrap();
    let revoked_key = mtm_common::keys::parse_secret_key(&revoked_key).unwrap();
    // Someone with another broker login publishes as the revoked agent.
    store
        .create_router(NewRouter {
            location_id: loc.id,
            name: "Other".into(),
            agent_id: "other-1".into(),
            public_key_hex: mtm_common::keys::public_key_hex(
                &mtm_common::keys::generate_signing_key().verifying_key(),
            ),
            mqtt_password: "other-password".into(),
        })
        .await
        .unwrap();
    // What the agent sent just before its revocation may still be on its way through ingest,
    // and is refused as `bad_key` when it gets there. Ingest takes the broker's messages in
    // order, so once a message published now has been refused, all of that has been counted.
    let mismatch = reject_count(&server, "sender_mismatch").await;
    publish_as(
        &server,
        "other-1",
        "other-password",
        "other-1",
        hello(&revoked_key, 499),
    )
    .await;
    wait_for(
        "the agent's earlier messages through ingest",
        Duration::from_secs(10),
        || async { reject_count(&server, "sender_mismatch").await > mismatch },
    )
    .await;
    // The broker drops it (not its login's topic); the same envelope on its own topic reaches
    // ingest, which refuses it, so the first would have been counted before.
    let bad_key = reject_count(&server, "bad_key").await;
    let mismatch = reject_count(&server, "sender_mismatch").await;
    publish_as(
        &server,
        "other-1",
        "other-password",
        "cafe-e1",
        hello(&revoked_key, 500),
    )
    .await;
    publish_as(
        &server,
        "other-1",
        "other-password",
        "other-1",
        hello(&revoked_key, 500),
    )
    .await;
    wait_for(
        "the message on the other login's topic rejected",
        Duration::from_secs(10),
        || async { reject_count(&server, "sender_mismatch").await > mismatch },
    )
    .await;
    assert_eq!(
        reject_count(&server, "bad_key").await,
        bad_key,
        "the broker passed a publish on another agent's topic"
    );
    run.kill().await;

    // A replacement device enrolls with a new code and runs.
    let code_path = format!("/api/routers/{router_id}/enrollment-code");
    let issued: Value = api.post(&admin, &code_path, json!({"ttl_s": 600})).await;
    let code = issued["code"].as_str().unwrap().to_owned();
    let (config3, data3) = device(&dir.path().join("pi-2"), &sim);
    let (ok, out) = enroll(&server, &code, &config3, &data3);
    assert!(ok, "{out}");
    let mut run3 = Proc::spawn(bin("mtm-agent"), &["run", "--config", &config3]).await;
    wait_for("the replacement online", Duration::from_secs(20), || {
        is_online(&api, &admin)
    })
    .await;
    let r = store.router_by_agent("cafe-e1").await.unwrap().unwrap();
    assert_ne!(
        r.public_key_hex,
        mtm_common::keys::public_key_hex(&revoked_key.verifying_key())
    );
    // The old key, even with working broker credentials, no longer counts.
    let (user3, password3) = mqtt_creds(&config3);
    let bad_sig = reject_count(&server, "bad_signature").await;
    publish_as(
        &server,
        &user3,
        &password3,
        "cafe-e1",
        hello(&revoked_key, 1_000_000),
    )
    .await;
    wait_for(
        "the old key's message rejected",
        Duration::from_secs(10),
        || async { reject_count(&server, "bad_signature").await > bad_sig },
    )
    .await;
    assert!(!mqtt_login(&server, &user, &password).await, "old password");
    let r = store.router_by_agent("cafe-e1").await.unwrap().unwrap();
    assert!(r.last_seq < 1_000_000, "the forged seq was not applied");

    run3.kill().await;
    sim.shutdown().await;
    server.shutdown().await;
}
