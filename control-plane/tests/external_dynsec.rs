//! External Mosquitto with Dynamic Security: a private `mosquitto` on a free port,
//! its dynsec file made by `mosquitto_ctrl dynsec init` with the server's account as admin, and
//! the server in process on SQLite with `mqtt_dynsec = true`. An agent enrolled over the API logs
//! in with the issued credentials, is ingested, and is confined to its own topics; revoking it
//! drops its open session at once and its login is refused afterwards.
//!
//! Needs the `mosquitto` package (broker, `mosquitto_ctrl`, dynsec plugin); fails, never skips,
//! without it.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use mtm_common::{keys, topics, DownMessage, Envelope, Health, UpMessage};
use mtm_control_plane::store::{now_ms, LogTable};
use mtm_control_plane::{start, MqttConfig, ServerConfig};
use rumqttc::{AsyncClient, ConnectReturnCode, Event, LastWill, MqttOptions, Packet, QoS};
use serde_json::{json, Value};
use support::wait_for;
use tokio::sync::mpsc;

const SERVER_USER: &str = "mtm-server";
const LIMIT: Duration = Duration::from_secs(20);

/// The dynsec plugin in the usual library folders; the test fails loudly without it.
fn dynsec_plugin() -> PathBuf {
    let multiarch = format!("/usr/lib/{}-linux-gnu", std::env::consts::ARCH);
    let dirs = [
        multiarch.as_str(),
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib/arm-linux-gnueabihf",
        "/usr/lib/mosquitto",
        "/usr/lib",
        "/usr/local/lib",
    ];
    dirs.iter()
        .map(|d| Path::new(d).join("mosquitto_dynamic_security.so"))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("mosquitto_dynamic_security.so not found in {dirs:?}: install the mosquitto package")
        })
}

/// `name` on PATH or in the sbin folders (Debian puts `mosquitto` in /usr/sbin).
fn program(name: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists());
    found.unwrap_or_else(|| panic!("{name} not found: install the mosquitto package"))
}

/// A private Mosquitto with dynsec on a free loopback port; killed on drop. `user root` keeps a
/// broker started by root from dropping to `mosquitto`, which could not write the dynsec file in
/// this private temporary folder (a broker started by anyone else ignores it).
struct Mosquitto {
    child: tokio::process::Child,
    port: u16,
}

async fn start_mosquitto(dir: &Path, server_password: &str) -> Mosquitto {
    let dynsec = dir.join("dynamic-security.json");
    let out = std::process::Command::new(program("mosquitto_ctrl"))
        .args(["dynsec", "init"])
        .arg(&dynsec)
        .args([SERVER_USER, server_password])
        .output()
        .expect("running mosquitto_ctrl");
    assert!(
        out.status.success(),
        "mosquitto_ctrl dynsec init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "user root\nlistener {port} 127.0.0.1\nallow_anonymous false\nplugin {}\nplugin_opt_config_file {}\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\n",
            dynsec_plugin().display(),
            dynsec.display()
        ),
    )
    .unwrap();
    let child = tokio::process::Command::new(program("mosquitto"))
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawning mosquitto");
    wait_for("mosquitto listening", LIMIT, || async move {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
    })
    .await;
    Mosquitto { child, port }
}

/// What a test MQTT connection saw.
#[derive(Debug)]
enum Seen {
    Connected,
    SubAck(Vec<bool>),
    Message(String, Vec<u8>),
    /// The connection ended (`refused` when the broker turned the login down).
    Down {
        refused: bool,
    },
}

/// Connect with `opts` and forward what happens; keeps reconnecting like a real agent does.
fn connect(opts: MqttOptions) -> (AsyncClient, mpsc::UnboundedReceiver<Seen>) {
    let (client, mut el) = AsyncClient::new(opts, 64);
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let seen = match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => Seen::Connected,
                Ok(Event::Incoming(Packet::SubAck(a))) => Seen::SubAck(
                    a.return_codes
                        .iter()
                        .map(|c| matches!(c, rumqttc::SubscribeReasonCode::Success(_)))
                        .collect(),
                ),
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    Seen::Message(p.topic.clone(), p.payload.to_vec())
                }
                Ok(_) => continue,
                Err(e) => {
                    let refused = matches!(e, rumqttc::ConnectionError::ConnectionRefused(_));
                    if tx.send(Seen::Down { refused }).is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            if tx.send(seen).is_err() {
                return;
            }
        }
    });
    (client, rx)
}

/// The next event that `pick` accepts (others are skipped), failing after [`LIMIT`].
async fn next<T>(
    rx: &mut mpsc::UnboundedReceiver<Seen>,
    what: &str,
    pick: impl Fn(Seen) -> Option<T>,
) -> T {
    let found = tokio::time::timeout(LIMIT, async {
        while let Some(s) = rx.recv().await {
            if let Some(t) = pick(s) {
                return Some(t);
            }
        }
        None
    })
    .await;
    found
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("timed out waiting for {what}"))
}

/// One login attempt with a fresh connection: true if the broker accepted it.
async fn login_accepted(port: u16, client_id: &str, user: &str, password: &str) -> bool {
    let mut o = MqttOptions::new(client_id, "127.0.0.1", port);
    o.set_credentials(user, password);
    let (client, mut el) = AsyncClient::new(o, 4);
    let accepted = tokio::time::timeout(LIMIT, async {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(a))) => {
                    return a.code == ConnectReturnCode::Success
                }
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    })
    .await
    .expect("the broker answers a login");
    let _ = client.try_disconnect();
    accepted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynsec_accounts_follow_enrollment_and_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let server_password = uuid::Uuid::new_v4().simple().to_string();
    let broker = start_mosquitto(dir.path(), &server_password).await;
    let data = dir.path().join("data");
    let server = start(ServerConfig {
        data_dir: data,
        http_bind: "127.0.0.1:0".parse().unwrap(),
        mqtt: MqttConfig::External {
            host: "127.0.0.1".into(),
            port: broker.port,
            username: Some(SERVER_USER.into()),
            password: Some(server_password.clone()),
        },
        mqtt_dynsec: true,
        ..Default::default()
    })
    .await
    .expect("server starts and sets up its dynsec roles");
    let cp = keys::parse_public_key(&server.control_plane_public_key_hex()).unwrap();
    let (api, admin) = support::root_on(&server).await;

    // The admin makes a location, a router record and a code; the device redeems it.
    let loc: Value = api
        .post(
            &admin,
            "/api/locations",
            json!({"name": "Cafe", "timezone": "UTC"}),
        )
        .await;
    let agent_id = "cafe-dyn-1";
    let (router_id, code) =
        support::router_awaiting_enrollment(&api, &admin, &loc["id"], agent_id).await;
    let key = keys::generate_signing_key();
    let reply = reqwest::Client::new()
        .post(format!("http://{}/api/enroll", server.http_addr()))
        .json(&json!({"code": code, "agent_version": "test",
                      "public_key_hex": keys::public_key_hex(&key.verifying_key())}))
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_success(), "enroll: {}", reply.status());
    let enrolled: Value = reply.json().await.unwrap();
    let password = enrolled["mqtt_password"].as_str().unwrap().to_owned();
    assert_eq!(enrolled["mqtt_username"], agent_id);
    assert_eq!(enrolled["mqtt_port"], broker.port);

    // A watcher on the server's account sees every up message that gets through.
    let mut wo = MqttOptions::new("test-watcher", "127.0.0.1", broker.port);
    wo.set_credentials(SERVER_USER, server_password.as_str());
    let (watcher, mut watched) = connect(wo);
    watcher
        .subscribe("mtm/v1/up/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    let ok = next(&mut watched, "watcher suback", |s| match s {
        Seen::SubAck(c) => Some(c),
        _ => None,
    })
    .await;
    assert_eq!(ok, [true]);

    // The device logs in like mtm-agent: its client id, a last will on its status topic.
    let mut ao = MqttOptions::new(format!("mtm-agent-{agent_id}"), "127.0.0.1", broker.port);
    ao.set_credentials(agent_id, password.as_str());
    ao.set_keep_alive(Duration::from_secs(5));
    ao.set_last_will(LastWill::new(
        topics::status(agent_id),
        topics::OFFLINE.to_vec(),
        QoS::AtLeastOnce,
        true,
    ));
    let (agent, mut seen) = connect(ao);
    next(&mut seen, "the agent's login", |s| match s {
        Seen::Connected => Some(()),
        Seen::Down { refused: true } => panic!("the issued login was refused"),
        _ => None,
    })
    .await;
    agent
        .subscribe(topics::down(agent_id), QoS::AtLeastOnce)
        .await
        .unwrap();
    let own = next(&mut seen, "suback for its own down topic", |s| match s {
        Seen::SubAck(c) => Some(c),
        _ => None,
    })
    .await;
    assert_eq!(own, [true], "an agent may read its own commands");
    agent
        .subscribe(topics::down("cafe-dyn-other"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let other = next(&mut seen, "suback for another's down topic", |s| match s {
        Seen::SubAck(c) => Some(c),
        _ => None,
    })
    .await;
    assert_eq!(other, [false], "an agent may not read another's commands");

    // What it sends on its own topics is ingested; the server answers on its down topic.
    agent
        .publish(
            topics::status(agent_id),
            QoS::AtLeastOnce,
            true,
            topics::ONLINE.to_vec(),
        )
        .await
        .unwrap();
    let health = |seq: u64| {
        let msg = UpMessage::Health(Health {
            active_sessions: 7,
            ..Default::default()
        });
        Envelope::seal(&key, agent_id, "cp", seq, now_ms(), &msg)
            .unwrap()
            .to_bytes()
            .unwrap()
    };
    agent
        .publish(topics::up(agent_id), QoS::AtLeastOnce, false, health(1))
        .await
        .unwrap();
    let acked = next(
        &mut seen,
        "the server's ack on the agent's down topic",
        |s| match s {
            Seen::Message(t, p) if t == topics::down(agent_id) => {
                match Envelope::from_bytes(&p).ok()?.open(&cp, agent_id).ok()? {
                    DownMessage::AckSeqs { seqs, .. } => Some(seqs),
                    _ => None,
                }
            }
            _ => None,
        },
    )
    .await;
    assert_eq!(acked, [1]);
    let routers_url = "/api/routers";
    wait_for("the router online with its health", LIMIT, || {
        let api = &api;
        let admin = &admin;
        async move {
            let list: Vec<Value> = api.get(admin, routers_url).await;
            list.iter().any(|r| {
                r["agent_id"] == agent_id && r["online"] == true && r["active_sessions"] == 7
            })
        }
    })
    .await;

    // Publishing as another agent is dropped by the broker: the watcher sees the agent's next
    // own message but never the forged one sent before it.
    agent
        .publish(
            topics::up("cafe-dyn-other"),
            QoS::AtLeastOnce,
            false,
            b"forged".to_vec(),
        )
        .await
        .unwrap();
    // Sealed once: each seal carries the time it was made.
    let second = health(2);
    agent
        .publish(
            topics::up(agent_id),
            QoS::AtLeastOnce,
            false,
            second.clone(),
        )
        .await
        .unwrap();
    let own_up = topics::up(agent_id);
    let until_seq2 = next(&mut watched, "seq 2 at the watcher", |s| match s {
        Seen::Message(t, p) if t.starts_with("mtm/v1/up/") => {
            assert_eq!(t, own_up, "the broker let the agent publish on {t}");
            (p == second).then_some(())
        }
        _ => None,
    });
    until_seq2.await;

    // Revoking deletes the dynsec client: the open session ends at once and logging in again
    // is refused.
    let revoked: Value = api
        .post(
            &admin,
            &format!("/api/routers/{router_id}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!(revoked["public_key_hex"], "");
    next(
        &mut seen,
        "the revoked agent's session to end",
        |s| match s {
            Seen::Down { .. } => Some(()),
            _ => None,
        },
    )
    .await;
    next(
        &mut seen,
        "the revoked agent's reconnect to be refused",
        |s| match s {
            Seen::Connected => panic!("the revoked login was accepted again"),
            Seen::Down { refused: true } => Some(()),
            _ => None,
        },
    )
    .await;
    assert!(
        !login_accepted(
            broker.port,
            &format!("mtm-agent-{agent_id}"),
            agent_id,
            &password
        )
        .await,
        "a new login with the revoked credentials is refused"
    );
    drop(agent);

    // With the broker gone, revoking still revokes in mtm but tells the admin, in words, that the
    // broker login could not be removed, and audits that.
    let mut broker = broker;
    broker.child.kill().await.unwrap();
    let r = reqwest::Client::new()
        .post(format!(
            "http://{}/api/routers/{router_id}/revoke",
            server.http_addr()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("broker did not remove its login")
            && message.contains("no answer to deleteClient,deleteRole"),
        "{message}"
    );
    let audit = server
        .store()
        .list_log(LogTable::Audit, 20, 0)
        .await
        .unwrap();
    let failed = audit
        .iter()
        .find(|row| row.action == "router.broker_account_failed")
        .expect("the failure is audited");
    assert_eq!(failed.actor, "root");
    assert_eq!(failed.target, router_id);
    assert!(
        failed.detail.contains("\"operation\":\"revoke\""),
        "{}",
        failed.detail
    );
    assert!(!failed.detail.contains(&password));
    server.shutdown().await;
}
