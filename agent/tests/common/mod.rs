//! Test harness: brokers (embedded rumqttd, system Mosquitto behind a switchable proxy), a
//! fake control plane that verifies envelopes and signs commands, and agent configs.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ed25519_dalek::{SigningKey, VerifyingKey};
use mtm_agent::{AgentConfig, Intervals, MqttConfig, RouterConfig};
use mtm_common::{
    keys, topics, Command, CommandKind, CreateToken, DownMessage, Envelope, PackageSpec, UpMessage,
};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use uuid::Uuid;

pub const MOSQUITTO: u16 = 1883;

/// Poll `f` until it is true or `secs` pass.
pub async fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn unique_id(prefix: &str) -> String {
    format!("{prefix}-{}", &Uuid::new_v4().simple().to_string()[..12])
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start an embedded rumqttd on a free port; it lives until the test process exits.
pub fn start_rumqttd() -> u16 {
    let port = free_port();
    let text = format!(
        r#"
id = 0
[router]
id = 0
max_connections = 100
max_outgoing_packet_count = 200
max_segment_size = 104857600
max_segment_count = 10
[v4.1]
name = "v4-1"
listen = "127.0.0.1:{port}"
next_connection_delay_ms = 1
[v4.1.connections]
connection_timeout_ms = 60000
max_payload_size = 5000000
max_inflight_count = 100
dynamic_filters = true
"#
    );
    let cfg: rumqttd::Config = toml::from_str(&text).unwrap();
    std::thread::spawn(move || {
        let mut broker = rumqttd::Broker::new(cfg);
        let _ = broker.start();
    });
    let end = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < end, "rumqttd did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    port
}

/// A TCP proxy that can be cut (all connections dropped, new ones refused) and restored.
pub struct Proxy {
    pub port: u16,
    up: watch::Sender<bool>,
}

impl Proxy {
    pub async fn start(target: u16) -> Proxy {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let (tx, rx) = watch::channel(true);
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = l.accept().await else {
                    continue;
                };
                if !*rx.borrow() {
                    drop(inbound);
                    continue;
                }
                let mut rx = rx.clone();
                tokio::spawn(async move {
                    let Ok(mut out) = TcpStream::connect(("127.0.0.1", target)).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut out) => {}
                        _ = async { while *rx.borrow_and_update() { if rx.changed().await.is_err() { break } } } => {}
                    }
                });
            }
        });
        Proxy { port, up: tx }
    }

    pub fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

/// What the fake control plane saw, in arrival order, deduplicated by `seq` like the real one.
#[derive(Default)]
pub struct Seen {
    pub messages: BTreeMap<u64, UpMessage>,
    pub duplicates: u64,
    pub last_committed: u64,
    pub out_of_order: u64,
    /// How many times each `seq` arrived.
    pub received: BTreeMap<u64, u32>,
}

/// A fake control plane for one agent.
pub struct Cp {
    pub key: SigningKey,
    client: AsyncClient,
    agent_id: String,
    seq: AtomicU64,
    pub auto_ack: Arc<AtomicBool>,
    pub seen: Arc<Mutex<Seen>>,
}

impl Cp {
    pub async fn start(port: u16, agent_id: &str, agent_key: VerifyingKey) -> Cp {
        Cp::start_keyed(port, agent_id, agent_key, keys::generate_signing_key()).await
    }

    /// Like [`Cp::start`], signing with `key` (several agents pinning one control plane).
    pub async fn start_keyed(
        port: u16,
        agent_id: &str,
        agent_key: VerifyingKey,
        key: SigningKey,
    ) -> Cp {
        let mut opts = MqttOptions::new(unique_id("cp"), "127.0.0.1", port);
        opts.set_max_packet_size(8 << 20, 8 << 20);
        opts.set_keep_alive(Duration::from_secs(5));
        let (client, mut el) = AsyncClient::new(opts, 1000);
        let seen = Arc::new(Mutex::new(Seen::default()));
        let auto_ack = Arc::new(AtomicBool::new(true));
        let (sub_tx, mut sub_rx) = watch::channel(false);
        {
            let seen = seen.clone();
            let auto_ack = auto_ack.clone();
            let client = client.clone();
            let key = key.clone();
            let aid = agent_id.to_owned();
            tokio::spawn(async move {
                let mut ack_seq = 1_000_000u64;
                loop {
                    match el.poll().await {
                        Ok(Event::Incoming(Packet::SubAck(_))) => {
                            sub_tx.send_replace(true);
                        }
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            let env = Envelope::from_bytes(&p.payload).unwrap();
                            assert_eq!(env.from, aid);
                            let msg: UpMessage =
                                env.open(&agent_key, "cp").expect("agent signature");
                            let mut s = seen.lock().unwrap();
                            *s.received.entry(env.seq).or_default() += 1;
                            if env.seq <= s.last_committed {
                                s.duplicates += 1;
                                // A seq below the committed one that was never seen would be
                                // lost by the real control plane: the agent sent out of order.
                                if !s.messages.contains_key(&env.seq) {
                                    s.out_of_order += 1;
                                }
                            } else {
                                s.last_committed = env.seq;
                                s.messages.insert(env.seq, msg);
                            }
                            let up_to = s.last_committed;
                            drop(s);
                            if auto_ack.load(Ordering::Relaxed) {
                                ack_seq += 1;
                                let e = Envelope::seal(
                                    &key,
                                    "cp",
                                    &aid,
                                    ack_seq,
                                    now_ms(),
                                    &DownMessage::Ack { up_to_seq: up_to },
                                )
                                .unwrap();
                                let _ = client.try_publish(
                                    topics::down(&aid),
                                    QoS::AtLeastOnce,
                                    false,
                                    e.to_bytes().unwrap(),
                                );
                            }
                        }
                        Ok(_) => {}
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
            });
        }
        client
            .subscribe(topics::up(agent_id), QoS::AtLeastOnce)
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(10), sub_rx.wait_for(|v| *v))
            .await
            .expect("cp subscribed")
            .unwrap();
        Cp {
            key,
            client,
            agent_id: agent_id.to_owned(),
            seq: AtomicU64::new(1),
            auto_ack,
            seen,
        }
    }

    pub fn public_hex(&self) -> String {
        keys::public_key_hex(&self.key.verifying_key())
    }

    /// A down-message sealed for this agent, not published (what an attacker captures).
    pub fn seal(&self, msg: &DownMessage) -> Vec<u8> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        Envelope::seal(&self.key, "cp", &self.agent_id, seq, now_ms(), msg)
            .unwrap()
            .to_bytes()
            .unwrap()
    }

    /// Publish raw bytes on any topic (a replay through the broker).
    pub async fn publish_raw(&self, topic: String, payload: Vec<u8>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
    }

    /// Seal and publish a down-message with `key` and time `at`.
    pub async fn send_with(&self, key: &SigningKey, at: i64, msg: &DownMessage) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let e = Envelope::seal(key, "cp", &self.agent_id, seq, at, msg).unwrap();
        self.client
            .publish(
                topics::down(&self.agent_id),
                QoS::AtLeastOnce,
                false,
                e.to_bytes().unwrap(),
            )
            .await
            .unwrap();
    }

    pub async fn send(&self, msg: &DownMessage) {
        let key = self.key.clone();
        self.send_with(&key, now_ms(), msg).await;
    }

    pub async fn command(&self, c: &Command) {
        self.send(&DownMessage::Command(c.clone())).await;
    }

    /// Messages matching `f`, in seq order.
    pub fn collect<T>(&self, f: impl Fn(&UpMessage) -> Option<T>) -> Vec<T> {
        self.seen
            .lock()
            .unwrap()
            .messages
            .values()
            .filter_map(f)
            .collect()
    }

    /// How many times `seq` arrived.
    pub fn received(&self, seq: u64) -> u32 {
        self.seen
            .lock()
            .unwrap()
            .received
            .get(&seq)
            .copied()
            .unwrap_or(0)
    }

    /// The `seq`s of the messages matching `f`.
    pub fn seqs(&self, f: impl Fn(&UpMessage) -> bool) -> Vec<u64> {
        self.seen
            .lock()
            .unwrap()
            .messages
            .iter()
            .filter(|(_, m)| f(m))
            .map(|(s, _)| *s)
            .collect()
    }

    /// Whether a message matching `then` arrived with a seq after the first matching `first`
    /// (what a result announces, such as a resync's inventory, goes out after the result).
    pub fn seen_after(
        &self,
        first: impl Fn(&UpMessage) -> bool,
        then: impl Fn(&UpMessage) -> bool,
    ) -> bool {
        let first = self.seqs(first).first().copied();
        let then = self.seqs(then).last().copied();
        matches!((first, then), (Some(f), Some(t)) if t > f)
    }

    pub fn count(&self, f: impl Fn(&UpMessage) -> bool) -> usize {
        self.seen
            .lock()
            .unwrap()
            .messages
            .values()
            .filter(|m| f(m))
            .count()
    }
}

/// The real time (the control plane's clock), whatever the agent's clock says.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The `1h` package as the catalog and `CreateToken.profile` describe it.
pub fn spec_1h() -> PackageSpec {
    PackageSpec {
        slug: "1h".into(),
        name: "One hour".into(),
        rate_limit: Some("2M/5M".into()),
        shared_users: 1,
        session_timeout_s: None,
        lock_to_mac: false,
    }
}

/// A `CreateToken` for the `1h` package, describing its profile as the server does.
pub fn create_token(code: &str) -> Command {
    Command {
        id: Uuid::new_v4(),
        issued_at: now_ms(),
        kind: CommandKind::CreateToken(CreateToken {
            token_id: Uuid::new_v4(),
            code: code.into(),
            password: Some("1234".into()),
            package_slug: "1h".into(),
            limit_uptime_s: Some(3600),
            limit_bytes_total: None,
            validity_s: None,
            profile: Some(Box::new(spec_1h())),
            lock_to_mac: false,
        }),
    }
}

/// An agent config for tests: fast polls, the given broker port and router.
pub fn agent_config(
    agent_id: &str,
    data_dir: &Path,
    cp_hex: &str,
    mqtt_port: u16,
    router: SocketAddr,
) -> AgentConfig {
    AgentConfig {
        agent_id: agent_id.into(),
        data_dir: data_dir.into(),
        control_plane_key: cp_hex.into(),
        mqtt: MqttConfig {
            host: "127.0.0.1".into(),
            port: mqtt_port,
            keep_alive_s: 5,
            ..Default::default()
        },
        router: RouterConfig {
            addr: router.to_string(),
            username: "admin".into(),
            password: "pw".into(),
            ..Default::default()
        },
        intervals: Intervals {
            usage_poll_s: 1,
            health_s: 3600,
            inventory_s: 3600,
        },
        ..Default::default()
    }
}

/// Logs for a failing test: `RUST_LOG=mtm_agent=debug cargo test ...`.
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

pub async fn sim() -> mtm_routeros::SimHandle {
    logs();
    mtm_routeros::Simulator::start(mtm_routeros::SimConfig {
        logins: vec![("admin".into(), "pw".into())],
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Everything one test needs: a router, a data dir, a control plane and a started agent that
/// has said hello (so it is subscribed and commands reach it).
pub struct Rig {
    pub router: mtm_routeros::SimHandle,
    pub dir: tempfile::TempDir,
    pub id: String,
    pub cp: Cp,
    pub agent: mtm_agent::AgentHandle,
    pub agent_port: u16,
}

pub async fn rig(prefix: &str, mqtt_port: u16, auto_ack: bool) -> Rig {
    rig_split(prefix, mqtt_port, mqtt_port, auto_ack).await
}

/// Like [`rig`], with the agent reaching the broker on `agent_port` (e.g. through a [`Proxy`]).
pub async fn rig_split(prefix: &str, mqtt_port: u16, agent_port: u16, auto_ack: bool) -> Rig {
    rig_with(prefix, mqtt_port, agent_port, auto_ack, |_| {}).await
}

/// Like [`rig`], with the control plane signing with `cp_key` (several rigs, one control plane).
pub async fn rig_keyed(prefix: &str, mqtt_port: u16, auto_ack: bool, cp_key: SigningKey) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    rig_full(prefix, mqtt_port, mqtt_port, auto_ack, dir, cp_key, |_| {}).await
}

/// Like [`rig_split`], with the agent's config adjusted by `tweak` before it starts.
pub async fn rig_with(
    prefix: &str,
    mqtt_port: u16,
    agent_port: u16,
    auto_ack: bool,
    tweak: impl FnOnce(&mut AgentConfig),
) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let key = keys::generate_signing_key();
    rig_full(prefix, mqtt_port, agent_port, auto_ack, dir, key, tweak).await
}

/// Like [`rig_with`] (acknowledging, one broker port), with the data directory made inside
/// `parent` (e.g. a small tmpfs).
pub async fn rig_in(
    parent: &Path,
    prefix: &str,
    mqtt_port: u16,
    tweak: impl FnOnce(&mut AgentConfig),
) -> Rig {
    let dir = tempfile::tempdir_in(parent).unwrap();
    let key = keys::generate_signing_key();
    rig_full(prefix, mqtt_port, mqtt_port, true, dir, key, tweak).await
}

async fn rig_full(
    prefix: &str,
    mqtt_port: u16,
    agent_port: u16,
    auto_ack: bool,
    dir: tempfile::TempDir,
    cp_key: SigningKey,
    tweak: impl FnOnce(&mut AgentConfig),
) -> Rig {
    let router = sim().await;
    let id = unique_id(prefix);
    let agent_key = mtm_agent::load_or_create_key(dir.path()).unwrap();
    let cp = Cp::start_keyed(mqtt_port, &id, agent_key.verifying_key(), cp_key).await;
    cp.auto_ack.store(auto_ack, Ordering::Relaxed);
    let mut cfg = agent_config(&id, dir.path(), &cp.public_hex(), agent_port, router.addr());
    tweak(&mut cfg);
    let agent = mtm_agent::Agent::start(cfg).await.unwrap();
    wait_until(20, "hello", || {
        cp.count(|m| matches!(m, UpMessage::Hello(_))) >= 1
    })
    .await;
    Rig {
        router,
        dir,
        id,
        cp,
        agent,
        agent_port,
    }
}

impl Rig {
    pub async fn stop(self) {
        self.agent.shutdown().await;
        self.router.shutdown().await;
        forget_session(self.agent_port, &self.id).await;
    }
}

/// Drop the persistent MQTT session an agent left on a shared broker (it connects with
/// `clean_session = false`), so test runs do not pile sessions up in the system Mosquitto.
pub async fn forget_session(port: u16, agent_id: &str) {
    let mut opts = MqttOptions::new(format!("mtm-agent-{agent_id}"), "127.0.0.1", port);
    opts.set_clean_session(true);
    let (client, mut el) = AsyncClient::new(opts, 10);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = client.try_disconnect();
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    })
    .await;
}
