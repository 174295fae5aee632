//! The world the fraud scenarios run in: the server in-process, three locations, each with a
//! simulated router, the real agent and a staff member; HTTP helpers and alert waiting.

pub mod smtp;

use mtm_agent::{Agent, AgentConfig, AgentHandle};
use mtm_control_plane::store::{
    now_ms, Alert, Location, NewLocation, NewPackage, NewRouter, NewUser, Package, Role, Store,
    User,
};
use mtm_control_plane::{start, MqttConfig, ServerConfig, ServerHandle};
use mtm_routeros::sim::{SimConfig, SimHandle, Simulator};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery";
/// Agents poll usage every second and send an inventory every `INVENTORY_S`.
pub const INVENTORY_S: u64 = 2;
/// What "within one telemetry interval" allows on top of the interval: the batch's trip through
/// MQTT, ingest and the check on a 2-core machine running three agents.
pub const SLACK_MS: i64 = 3000;
/// The router-silent threshold the server runs with here.
pub const SILENT_AFTER_S: u64 = 4;
const ROUTER_LOGIN: (&str, &str) = ("mtm", "router-pass");

/// One location with its router, agent and staff member.
pub struct Site {
    pub location: Location,
    pub sim: SimHandle,
    pub agent: Option<AgentHandle>,
    pub agent_id: String,
    pub router_id: Uuid,
    pub staff: User,
    /// The agent's broker connection, as someone on the path sees it.
    pub wire: Arc<Wire>,
}

/// Everything a scenario drives.
pub struct World {
    _dir: tempfile::TempDir,
    pub server: ServerHandle,
    pub store: Arc<dyn Store>,
    pub http: reqwest::Client,
    pub base: String,
    pub sites: Vec<Site>,
    /// 30 minutes for 300, one hour for 500.
    pub packages: Vec<Package>,
    /// What the server mails reaches this SMTP receiver (the server's `smtp_url`).
    mailbox: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<smtp::Mail>>>,
}

/// Wait for `f` with a deadline, polling; panics naming `what` on timeout.
pub async fn poll<F, Fut>(what: &str, secs: u64, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl World {
    /// The SMTP receiver's messages (once).
    pub fn take_mailbox(&self) -> tokio::sync::mpsc::UnboundedReceiver<smtp::Mail> {
        self.mailbox
            .lock()
            .unwrap()
            .take()
            .expect("the mailbox is taken once")
    }

    pub async fn start() -> World {
        let dir = tempfile::tempdir().unwrap();
        let (smtp_url, mailbox) = smtp::receiver().await;
        let server = start(ServerConfig {
            smtp_url: Some(smtp_url),
            smtp_from: Some("mtm <alerts@mtm.test>".into()),
            data_dir: dir.path().join("cp"),
            http_bind: "127.0.0.1:0".parse().unwrap(),
            mqtt: MqttConfig::Embedded {
                bind: "127.0.0.1:0".parse().unwrap(),
            },
            router_silent_after_s: SILENT_AFTER_S,
            ..Default::default()
        })
        .await
        .unwrap();
        let store = server.store();
        let mut packages = Vec::new();
        for (slug, price, uptime) in [("30m", 300, 1800u64), ("1h", 500, 3600)] {
            let p = store
                .create_package(NewPackage {
                    slug: slug.into(),
                    name: slug.into(),
                    price_minor: price,
                    currency: "USD".into(),
                    limit_uptime_s: Some(uptime),
                    limit_bytes_total: None,
                    rate_limit: Some("2M/5M".into()),
                    shared_users: 1,
                    validity_s: None,
                    uses_password: false,
                    lock_to_mac: false,
                })
                .await
                .unwrap();
            packages.push(p);
        }
        for (name, role) in [("admin", Role::SuperAdmin), ("manager", Role::Manager)] {
            store
                .create_user(NewUser {
                    username: name.into(),
                    password: PASSWORD.into(),
                    role,
                    location_ids: vec![],
                })
                .await
                .unwrap();
        }
        let mut sites = Vec::new();
        for i in 0..3 {
            sites.push(Self::site(&server, dir.path(), i).await);
        }
        let world = World {
            _dir: dir,
            store,
            http: reqwest::Client::new(),
            base: format!("http://{}", server.http_addr()),
            server,
            sites,
            packages,
            mailbox: std::sync::Mutex::new(Some(mailbox)),
        };
        for site in &world.sites {
            let store = world.store.clone();
            let agent = site.agent_id.clone();
            poll("the catalog on every router", 60, || {
                let store = store.clone();
                let agent = agent.clone();
                async move {
                    let r = store.router_by_agent(&agent).await.unwrap().unwrap();
                    r.online && r.catalog_version.is_some()
                }
            })
            .await;
        }
        world
    }

    async fn site(server: &ServerHandle, dir: &std::path::Path, i: usize) -> Site {
        let store = server.store();
        let location = store
            .create_location(NewLocation {
                name: format!("Cafe {i}"),
                timezone: "UTC".into(),
            })
            .await
            .unwrap();
        let staff = store
            .create_user(NewUser {
                username: format!("staff{i}"),
                password: PASSWORD.into(),
                role: Role::Staff,
                location_ids: vec![location.id],
            })
            .await
            .unwrap();
        let sim = Simulator::start(SimConfig {
            logins: vec![(ROUTER_LOGIN.0.into(), ROUTER_LOGIN.1.into())],
            ..SimConfig::default()
        })
        .await
        .unwrap();
        let agent_id = format!("cafe{i}-r1");
        let agent_dir = dir.join(&agent_id);
        std::fs::create_dir_all(&agent_dir).unwrap();
        let key = mtm_agent::load_or_create_key(&agent_dir).unwrap();
        let mqtt_password = format!("mqtt-pass-for-{agent_id}");
        let router = store
            .create_router(NewRouter {
                location_id: location.id,
                name: format!("R{i}"),
                agent_id: agent_id.clone(),
                public_key_hex: mtm_common::keys::public_key_hex(&key.verifying_key()),
                mqtt_password: mqtt_password.clone(),
            })
            .await
            .unwrap();
        let mut cfg = AgentConfig {
            agent_id: agent_id.clone(),
            data_dir: agent_dir,
            control_plane_key: server.control_plane_public_key_hex(),
            ..Default::default()
        };
        let (wire, wire_addr) = Wire::start(server.mqtt_addr()).await;
        cfg.mqtt.host = wire_addr.ip().to_string();
        cfg.mqtt.port = wire_addr.port();
        cfg.mqtt.username = Some(agent_id.clone());
        cfg.mqtt.password = Some(mqtt_password);
        cfg.router.addr = sim.addr().to_string();
        cfg.router.username = ROUTER_LOGIN.0.into();
        cfg.router.password = ROUTER_LOGIN.1.into();
        cfg.intervals.usage_poll_s = 1;
        cfg.intervals.health_s = 1;
        cfg.intervals.inventory_s = INVENTORY_S;
        let agent = Agent::start(cfg).await.unwrap();
        Site {
            location,
            sim,
            agent: Some(agent),
            agent_id,
            router_id: router.id,
            staff,
            wire,
        }
    }

    /// A bearer token for `username`.
    pub async fn login(&self, username: &str) -> String {
        let (_, v) = self
            .call(
                "POST",
                None,
                "/api/auth/login",
                Some(json!({"username": username, "password": PASSWORD})),
            )
            .await;
        v["token"].as_str().unwrap_or_default().to_owned()
    }

    /// One JSON request; the status and the body (`null` if none).
    pub async fn call(
        &self,
        method: &str,
        jwt: Option<&str>,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(j) = jwt {
            req = req.bearer_auth(j);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Sell a voucher as `jwt`'s staff member and wait until it is on the router.
    pub async fn sell(&self, jwt: &str, package: usize) -> Value {
        let body = json!({"package_id": self.packages[package].id});
        let (status, token) = self
            .call("POST", Some(jwt), "/api/tokens/generate", Some(body))
            .await;
        assert_eq!(status, 200, "{token}");
        let id: Uuid = token["id"].as_str().unwrap().parse().unwrap();
        let store = self.store.clone();
        poll("the voucher on its router", 30, || {
            let store = store.clone();
            async move {
                let t = store.token(id).await.unwrap().unwrap();
                t.applied_at.is_some()
            }
        })
        .await;
        token
    }

    /// A RouterOS API session on a site's router, as a staff member with the password would.
    pub async fn ros(&self, site: usize) -> mtm_routeros::Client {
        let cfg = mtm_routeros::ClientConfig::plain(
            self.sites[site].sim.addr().to_string(),
            ROUTER_LOGIN.0,
            ROUTER_LOGIN.1,
        );
        mtm_routeros::Client::connect(&cfg).await.unwrap()
    }

    pub async fn alerts(&self) -> Vec<Alert> {
        self.store.list_alerts(&Default::default()).await.unwrap()
    }

    /// Wait until every router has sent `n` more messages than now: enough for inventories and
    /// usage reports of what happened before to be checked.
    pub async fn settle(&self, n: u64) {
        for site in &self.sites {
            if site.agent.is_none() {
                continue;
            }
            let start = self.last_seq(&site.agent_id).await;
            let store = self.store.clone();
            let agent = site.agent_id.clone();
            poll("the routers to report", 60, || {
                let store = store.clone();
                let agent = agent.clone();
                async move {
                    let r = store.router_by_agent(&agent).await.unwrap().unwrap();
                    r.last_seq >= start + n
                }
            })
            .await;
        }
    }

    async fn last_seq(&self, agent: &str) -> u64 {
        let r = self.store.router_by_agent(agent).await.unwrap().unwrap();
        r.last_seq
    }

    /// Wait for a new alert matching `pred` (none of `known`), and return it with the time from
    /// `act_ms` to its being stored.
    pub async fn caught(
        &self,
        name: &str,
        act_ms: i64,
        budget_ms: i64,
        known: &[Uuid],
        pred: impl Fn(&Alert) -> bool,
    ) -> (Alert, i64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let found = self
                .alerts()
                .await
                .into_iter()
                .find(|a| !known.contains(&a.id) && pred(a));
            if let Some(a) = found {
                let took = a.created_at - act_ms;
                println!("detection {name}: {took} ms (budget {budget_ms} ms)");
                assert!(
                    took <= budget_ms,
                    "{name} took {took} ms, more than {budget_ms} ms"
                );
                return (a, took);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name}: no alert; alerts: {:?}",
                self.alerts().await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Ids of the alerts stored so far.
    pub async fn known(&self) -> Vec<Uuid> {
        self.alerts().await.into_iter().map(|a| a.id).collect()
    }

    pub async fn stop(mut self) {
        for site in &mut self.sites {
            if let Some(a) = site.agent.take() {
                a.shutdown().await;
            }
        }
        for site in self.sites {
            site.sim.shutdown().await;
        }
        self.server.shutdown().await;
    }
}

/// A man in the middle on one agent's (plain MQTT) broker connection: it records every PUBLISH
/// the broker sends the agent and can slip one of its own into that stream. That is what whoever
/// runs the broker host or sits on the network path can do; the broker's own rules (which keep
/// an agent's login to its own topics) do not stop them.
pub struct Wire {
    seen: std::sync::Mutex<Vec<(String, Vec<u8>)>>,
    inject: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<Vec<u8>>>>,
}

impl Wire {
    /// Listen on a loopback port relaying to `broker`; the agent is pointed at the port.
    pub async fn start(broker: std::net::SocketAddr) -> (Arc<Wire>, std::net::SocketAddr) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let wire = Arc::new(Wire {
            seen: std::sync::Mutex::new(Vec::new()),
            inject: std::sync::Mutex::new(None),
        });
        let w = wire.clone();
        tokio::spawn(async move {
            while let Ok((agent, _)) = l.accept().await {
                let Ok(broker) = tokio::net::TcpStream::connect(broker).await else {
                    continue;
                };
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                *w.inject.lock().unwrap() = Some(tx);
                tokio::spawn(w.clone().relay(agent, broker, rx));
            }
        });
        (wire, addr)
    }

    async fn relay(
        self: Arc<Self>,
        agent: tokio::net::TcpStream,
        broker: tokio::net::TcpStream,
        mut inject: tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut ar, mut aw) = agent.into_split();
        let (mut br, mut bw) = broker.into_split();
        let up = tokio::spawn(async move {
            let _ = tokio::io::copy(&mut ar, &mut bw).await;
        });
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        'relay: loop {
            tokio::select! {
                n = br.read(&mut chunk) => {
                    let n = match n {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&chunk[..n]);
                    // Whole frames only, so an injected one never lands inside another.
                    while let Some(len) = frame_len(&buf) {
                        let frame: Vec<u8> = buf.drain(..len).collect();
                        if let Some(p) = parse_publish(&frame) {
                            self.seen.lock().unwrap().push(p);
                        }
                        if aw.write_all(&frame).await.is_err() {
                            break 'relay;
                        }
                    }
                }
                Some(frame) = inject.recv() => {
                    if aw.write_all(&frame).await.is_err() {
                        break;
                    }
                }
            }
        }
        up.abort();
    }

    /// Payloads the broker sent the agent on `topic`, in order.
    pub fn seen_on(&self, topic: &str) -> Vec<Vec<u8>> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| t == topic)
            .map(|(_, p)| p.clone())
            .collect()
    }

    /// Deliver `payload` to the agent as if the broker sent it on `topic` (QoS 0).
    pub fn inject(&self, topic: &str, payload: &[u8]) {
        let tx = self
            .inject
            .lock()
            .unwrap()
            .clone()
            .expect("agent connected");
        tx.send(publish_frame(topic, payload)).unwrap();
    }
}

/// Length of the first complete MQTT frame in `buf`, if it has one.
fn frame_len(buf: &[u8]) -> Option<usize> {
    let (mut len, mut mult) = (0usize, 1usize);
    for i in 1..5 {
        let b = *buf.get(i)?;
        len += usize::from(b & 0x7f) * mult;
        if b & 0x80 == 0 {
            let total = 1 + i + len;
            return (buf.len() >= total).then_some(total);
        }
        mult *= 128;
    }
    None
}

/// Topic and payload of a PUBLISH frame (MQTT 3.1.1).
fn parse_publish(frame: &[u8]) -> Option<(String, Vec<u8>)> {
    if frame.first()? >> 4 != 3 {
        return None;
    }
    let qos = (frame[0] >> 1) & 3;
    let mut i = 1;
    while frame.get(i)? & 0x80 != 0 {
        i += 1;
    }
    i += 1;
    let tlen = usize::from(u16::from_be_bytes([*frame.get(i)?, *frame.get(i + 1)?]));
    i += 2;
    let topic = String::from_utf8(frame.get(i..i + tlen)?.to_vec()).ok()?;
    i += tlen;
    if qos > 0 {
        i += 2;
    }
    Some((topic, frame.get(i..)?.to_vec()))
}

/// A QoS 0 PUBLISH frame.
fn publish_frame(topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(2 + topic.len() + payload.len());
    body.extend_from_slice(&u16::try_from(topic.len()).unwrap().to_be_bytes());
    body.extend_from_slice(topic.as_bytes());
    body.extend_from_slice(payload);
    let mut frame = vec![0x30];
    let mut n = body.len();
    loop {
        let mut b = u8::try_from(n % 128).unwrap();
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        frame.push(b);
        if n == 0 {
            break;
        }
    }
    frame.extend_from_slice(&body);
    frame
}

/// Now, for measuring detection times.
pub fn now() -> i64 {
    now_ms()
}
