//! The world the fraud scenarios run in: the server in-process, three locations, each with a
//! simulated router, the real agent and a staff member; HTTP helpers and alert waiting.

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
    pub async fn start() -> World {
        let dir = tempfile::tempdir().unwrap();
        let server = start(ServerConfig {
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
        cfg.mqtt.host = server.mqtt_addr().ip().to_string();
        cfg.mqtt.port = server.mqtt_addr().port();
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

/// Now, for measuring detection times.
pub fn now() -> i64 {
    now_ms()
}
