//! A compressed café day with the real binaries: `mtm-server serve` (on fixed ports so it can be
//! killed and started again; SQLite or a private PostgreSQL cluster, the embedded broker or a
//! private Mosquitto, see [`backend`]) and one `mtm-agent run` per site, each behind its own
//! [`Uplink`]; the routers are `routeros-sim`s in this process, so the test can reboot them and
//! play their customers. Some agents run under libfaketime with their clock minutes off, some on
//! a small disk of their own ([`disk`]). The day's plan lives in the test; this module is the
//! world it acts on.

pub mod backend;
pub mod checks;
pub mod disk;
pub mod uplink;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backend::{Broker, Database, Db, Mosquitto};
use disk::SmallDisk;
use mtm_routeros::sim::{CustomerProfile, SimConfig, SimHandle, Simulator};
use serde_json::{json, Value};
use uplink::Uplink;

use crate::support::{bin, Api, Proc};

pub const ROOT_PASSWORD: &str = "soak root password 1";
pub const MANAGER_PASSWORD: &str = "soak manager password 1";
pub const STAFF_PASSWORD: &str = "soak staff password 1";
const ROUTER_LOGIN: (&str, &str) = ("mtm", "soak-router-pass");
/// Opening float of every shift, minor units.
pub const FLOAT: i64 = 5_000;
/// A router silent this long during an open shift raises `router_silent` (compressed like the
/// day: five minutes in production).
pub const SILENT_AFTER_S: u64 = 10;

/// How long and how wide the day is, and what its server stands on (`MTM_SOAK_SITES`,
/// `MTM_SOAK_DAY_S`, `MTM_SOAK_DB`, `MTM_SOAK_BROKER`).
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Cafés, each with a router, an agent and a staff member.
    pub sites: usize,
    /// Seconds from opening to the last sale.
    pub day_s: u64,
    /// The server's database.
    pub db: Db,
    /// The broker agents and server meet on.
    pub broker: Broker,
    /// Whether a device is replaced mid-day (on unless `MTM_SOAK_NEW_DEVICE=0`): the new
    /// device is handed the validity windows of the vouchers sold before it came.
    pub new_device: bool,
}

/// Which sites a kind of trouble strikes. The first five sites each have their part (the
/// bounded form); on a wider day every seventh site from the sixth on shares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The router reboots.
    Reboot,
    /// The agent is SIGKILLed and restarted.
    AgentKill,
    /// The café's line to the broker goes down for a long while.
    Outage,
    /// The agent's data disk fills up.
    DiskFull,
    /// The agent is enrolled again with its own key (a technician re-running enrollment).
    ReenrollSameKey,
    /// The agent's device is replaced: a new key, an empty data folder, a new code.
    ReenrollNewKey,
}

impl Plan {
    /// The bounded form by default; larger from the environment (scripts/soak.sh).
    pub fn from_env(db: Db, broker: Broker) -> Plan {
        let get = |k: &str, d: u64| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d)
        };
        Plan {
            sites: usize::try_from(get("MTM_SOAK_SITES", 5).max(5)).expect("a site count"),
            day_s: get("MTM_SOAK_DAY_S", 80).max(40),
            db: Db::from_env(db),
            broker: Broker::from_env(broker),
            new_device: std::env::var("MTM_SOAK_NEW_DEVICE").map_or(true, |v| v != "0"),
        }
    }

    /// The sites `role` strikes.
    pub fn sites_for(&self, role: Role) -> Vec<usize> {
        let (first, rest): (&[usize], usize) = match role {
            Role::Reboot => (&[0], 1),
            Role::AgentKill => (&[1], 2),
            Role::Outage => (&[2, 4], 0),
            Role::DiskFull => (&[3], 5),
            Role::ReenrollSameKey => (&[0], 6),
            Role::ReenrollNewKey => (&[1], 4),
        };
        let mut v = first.to_vec();
        v.extend((5..self.sites).filter(|i| i % 7 == rest));
        v
    }

    /// The libfaketime offset of site `i`'s agent clock: two of the first five, and every
    /// seventh site from the sixth on, live minutes off (a Pi without RTC, NTP not yet synced).
    fn clock(&self, i: usize) -> Option<&'static str> {
        match i {
            2 => Some("+5m"),
            3 => Some("-5m"),
            i if i >= 5 && i % 7 == 3 => Some(if i % 2 == 0 { "+5m" } else { "-5m" }),
            _ => None,
        }
    }

    /// How many agents live with a skewed clock.
    pub fn clock_skewed(&self) -> usize {
        (0..self.sites).filter(|&i| self.clock(i).is_some()).count()
    }

    /// How long staff wait between sales at `site`: about a second on a small day, slower on a
    /// wide one so the whole chain sells about a dozen vouchers a second.
    pub fn pace(&self, site: usize) -> Duration {
        let base = 900u64.max(self.sites as u64 * 80);
        Duration::from_millis(base + 40 * (site % 5) as u64)
    }
}

/// One voucher the test sold, as the API answered it.
#[derive(Clone, Debug)]
pub struct Sale {
    pub site: usize,
    pub token_id: String,
    pub code: String,
    pub price_minor: i64,
}

/// One café.
pub struct Site {
    pub location_id: String,
    pub router_id: String,
    pub agent_id: String,
    pub staff: String,
    pub sim: SimHandle,
    pub uplink: Arc<Uplink>,
    agent: Mutex<Option<Proc>>,
    agent_toml: PathBuf,
    /// The agent's data folder on a disk of its own that the day fills, if this site has one.
    pub disk: Option<SmallDisk>,
    /// libfaketime offset of this agent's clock (`+5m`), if any.
    pub clock: Option<&'static str>,
    /// Customers stop using vouchers when this is false.
    customers: Arc<AtomicBool>,
}

/// Everything the day acts on.
pub struct Day {
    pub dir: tempfile::TempDir,
    pub plan: Plan,
    server_toml: PathBuf,
    server: Mutex<Option<Proc>>,
    /// The server's database (a private PostgreSQL cluster is stopped with the day).
    pub database: Database,
    /// The private Mosquitto, when the day runs on one.
    pub mosquitto: Option<Mosquitto>,
    pub base: String,
    pub mqtt: SocketAddr,
    pub api: Api,
    pub root: String,
    pub manager: String,
    pub sites: Vec<Site>,
    pub packages: Vec<Value>,
    pub sold: Mutex<Vec<Sale>>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Day {
    /// Start the server, create the chain (packages, people, routers) through the API, and start
    /// every agent; returns once every router is online with the catalog.
    pub async fn open(plan: Plan) -> Day {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("server");
        std::fs::create_dir_all(&data).unwrap();
        let (http_port, mqtt_port) = (free_port(), free_port());
        let server_toml = data.join("server.toml");
        let database = Database::open(plan.db, &data);
        let mqtt = SocketAddr::from(([127, 0, 0, 1], mqtt_port));
        let (mqtt_section, mosquitto) = match plan.broker {
            Broker::Embedded => (
                format!("mode = \"embedded\"\nbind = \"127.0.0.1:{mqtt_port}\""),
                None,
            ),
            Broker::Mosquitto => (
                format!("mode = \"external\"\nhost = \"127.0.0.1\"\nport = {mqtt_port}"),
                Some(Mosquitto::start(mqtt).await),
            ),
        };
        std::fs::write(
            &server_toml,
            format!(
                "data_dir = {data:?}\ndatabase_url = {db:?}\nhttp_bind = \"127.0.0.1:{http_port}\"\n\
                 router_silent_after_s = {SILENT_AFTER_S}\n[mqtt]\n{mqtt_section}\n",
                data = data.display().to_string(),
                db = database.url(),
            ),
        )
        .unwrap();
        let cfg = server_toml.to_str().unwrap();
        let status = std::process::Command::new(bin("mtm-server"))
            .args(["create-admin", "--config", cfg, "--username", "root"])
            .args(["--password", ROOT_PASSWORD])
            .status()
            .unwrap();
        assert!(status.success(), "create-admin failed");
        let mut day = Day {
            dir,
            plan,
            server_toml,
            server: Mutex::new(None),
            database,
            mosquitto,
            base: format!("http://127.0.0.1:{http_port}"),
            mqtt,
            api: Api::new(&format!("http://127.0.0.1:{http_port}")),
            root: String::new(),
            manager: String::new(),
            sites: Vec::new(),
            packages: Vec::new(),
            sold: Mutex::new(Vec::new()),
        };
        day.start_server().await;
        day.root = day.api.login("root", ROOT_PASSWORD).await;
        day.seed().await;
        for site in &day.sites {
            day.start_agent(site).await;
        }
        for site in &day.sites {
            day.wait_online(site).await;
        }
        day
    }

    /// `mtm-server serve` on the fixed ports; returns once it answers `/readyz`.
    pub async fn start_server(&self) {
        let mut p = Proc::spawn(
            bin("mtm-server"),
            &["serve", "--config", self.server_toml.to_str().unwrap()],
        )
        .await;
        p.line_after("http on ").await;
        *self.server.lock().unwrap() = Some(p);
        let url = format!("{}/readyz", self.base);
        crate::support::wait_for("the server ready", Duration::from_secs(60), || {
            let url = url.clone();
            async move {
                reqwest::get(url)
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await;
    }

    /// SIGKILL the server (and with it the embedded broker).
    pub async fn kill_server(&self) {
        let p = self.server.lock().unwrap().take();
        if let Some(mut p) = p {
            p.kill().await;
        }
    }

    async fn seed(&mut self) {
        let api = &self.api;
        let root = &self.root;
        // Short limits, so the compressed day reaches them: an uptime limit, a data limit, a
        // validity that ends mid-day, and an ordinary day pass whose price is edited mid-day.
        for (slug, price, uptime, bytes, validity) in [
            ("quick", 100, Some(20), None, None),
            ("data", 200, None, Some(3_000_000u64), None),
            ("hour", 500, Some(3600), None, Some(40u64)),
            ("day", 2000, Some(86_400u64), None, None),
        ] {
            let p: Value = api
                .post(
                    root,
                    "/api/packages",
                    json!({"slug": slug, "name": slug, "price_minor": price, "currency": "USD",
                           "limit_uptime_s": uptime, "limit_bytes_total": bytes,
                           "validity_s": validity, "rate_limit": "2M/5M",
                           "shared_users": 1, "uses_password": false}),
                )
                .await;
            self.packages.push(p);
        }
        api.post::<Value>(
            root,
            "/api/auth/register",
            json!({"username": "manager", "password": MANAGER_PASSWORD, "role": "manager",
                   "location_ids": []}),
        )
        .await;
        self.manager = api.login("manager", MANAGER_PASSWORD).await;
        let profile = CustomerProfile {
            tick: Duration::from_millis(500),
            login_chance: 0.3,
            bytes_per_tick: (30_000, 150_000),
        };
        for i in 0..self.plan.sites {
            let location: Value = api
                .post(
                    root,
                    "/api/locations",
                    json!({"name": format!("Cafe {i}"), "timezone": "UTC"}),
                )
                .await;
            let location_id = location["id"].as_str().unwrap().to_owned();
            let staff = format!("staff{i}");
            api.post::<Value>(
                root,
                "/api/auth/register",
                json!({"username": staff, "password": STAFF_PASSWORD, "role": "staff",
                       "location_ids": [location_id]}),
            )
            .await;
            let sim = Simulator::start(SimConfig {
                logins: vec![(ROUTER_LOGIN.0.into(), ROUTER_LOGIN.1.into())],
                identity: format!("cafe{i}-gw"),
                ..SimConfig::default()
            })
            .await
            .unwrap();
            let agent_id = format!("cafe{i}-r1");
            let agent_dir = self.dir.path().join(&agent_id);
            std::fs::create_dir_all(&agent_dir).unwrap();
            let disk = if self.plan.sites_for(Role::DiskFull).contains(&i) {
                let disk = SmallDisk::mount(&agent_dir, "64m");
                if disk.is_none() {
                    println!("site {i}: cannot mount a tmpfs (needs root); no disk-full fault");
                }
                disk
            } else {
                None
            };
            let out = std::process::Command::new(bin("mtm-agent"))
                .args(["keygen", "--data-dir", agent_dir.to_str().unwrap()])
                .output()
                .unwrap();
            assert!(out.status.success());
            let public = String::from_utf8(out.stdout).unwrap().trim().to_owned();
            let router: Value = api
                .post(
                    root,
                    "/api/routers",
                    json!({"location_id": location_id, "name": format!("R{i}"),
                           "agent_id": agent_id, "public_key_hex": public}),
                )
                .await;
            let info: Value = api.get(root, "/api/system/info").await;
            let uplink = Uplink::start(self.mqtt).await;
            let agent_toml = agent_dir.join("agent.toml");
            std::fs::write(
                &agent_toml,
                format!(
                    "agent_id = {agent_id:?}\ndata_dir = {data:?}\ncontrol_plane_key = {cpk:?}\n\
                     status_listen = \"127.0.0.1:0\"\n\
                     [mqtt]\nhost = \"127.0.0.1\"\nport = {port}\nusername = {agent_id:?}\n\
                     password = {pw:?}\nkeep_alive_s = 5\n\
                     [router]\naddr = {sim:?}\nusername = {ru:?}\npassword = {rp:?}\n\
                     [intervals]\nusage_poll_s = 1\nhealth_s = 1\ninventory_s = 2\n",
                    data = agent_dir.display().to_string(),
                    cpk = info["control_plane_public_key"].as_str().unwrap(),
                    port = uplink.addr().port(),
                    pw = router["mqtt_password"].as_str().unwrap(),
                    sim = sim.addr().to_string(),
                    ru = ROUTER_LOGIN.0,
                    rp = ROUTER_LOGIN.1,
                ),
            )
            .unwrap();
            let clock = self.plan.clock(i);
            let customers = Arc::new(AtomicBool::new(true));
            tokio::spawn(play_customers(
                sim.clone(),
                profile.clone(),
                customers.clone(),
            ));
            self.sites.push(Site {
                location_id,
                router_id: router["router"]["id"].as_str().unwrap().to_owned(),
                agent_id,
                staff,
                sim,
                uplink,
                agent: Mutex::new(None),
                agent_toml,
                disk,
                clock,
                customers,
            });
        }
    }

    /// Start (or restart) a site's agent process.
    pub async fn start_agent(&self, site: &Site) {
        let agent = bin("mtm-agent");
        let config = site.agent_toml.to_str().unwrap();
        let mut p = match site.clock {
            None => Proc::spawn(agent, &["run", "--config", config]).await,
            Some(offset) => {
                // libfaketime moves the wall clock only; timers keep the real monotonic clock.
                // Preloaded straight into the agent (not through the `faketime` wrapper, which
                // forks) so that killing the process kills the agent itself.
                let agent = agent.to_string_lossy().to_string();
                let preload = format!("LD_PRELOAD={}", libfaketime().display());
                let clock = format!("FAKETIME={offset}");
                Proc::spawn(
                    PathBuf::from("/usr/bin/env"),
                    &[
                        &preload,
                        &clock,
                        "FAKETIME_DONT_FAKE_MONOTONIC=1",
                        &agent,
                        "run",
                        "--config",
                        config,
                    ],
                )
                .await
            }
        };
        p.line_after("status on ").await;
        *site.agent.lock().unwrap() = Some(p);
    }

    /// SIGKILL a site's agent.
    pub async fn kill_agent(&self, site: &Site) {
        let p = site.agent.lock().unwrap().take();
        if let Some(mut p) = p {
            p.kill().await;
        }
    }

    /// Enroll a site's agent again through the real enrollment path: an admin issues a one-time
    /// code for the router, the technician stops the agent, runs `mtm-agent enroll` and starts
    /// it again. With `new_key` the device is replaced: an empty data folder and so a new key
    /// (what the old device had not sent is lost with it, as with a dead SD card); otherwise the
    /// same device and key, its buffer kept.
    pub async fn reenroll(&self, site: &Site, new_key: bool) {
        let path = format!("/api/routers/{}/enrollment-code", site.router_id);
        let issued: Value = self
            .api
            .post(&self.root, &path, json!({"ttl_s": 600}))
            .await;
        let code = issued["code"].as_str().unwrap().to_owned();
        self.kill_agent(site).await;
        let mut data = site.agent_toml.parent().unwrap().to_owned();
        if new_key {
            data = self
                .dir
                .path()
                .join(format!("{}-replacement", site.agent_id));
            std::fs::create_dir_all(&data).unwrap();
        }
        let out = std::process::Command::new(bin("mtm-agent"))
            .args([
                "enroll", "--server", &self.base, "--code", &code, "--config",
            ])
            .arg(&site.agent_toml)
            .arg("--data-dir")
            .arg(&data)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "re-enrollment of {}: {}{}",
            site.agent_id,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // Enrollment writes the broker's own address; this café reaches it through its uplink.
        let text = std::fs::read_to_string(&site.agent_toml).unwrap();
        let text: String = text
            .lines()
            .map(|l| {
                if l.trim_start().starts_with("port = ") {
                    format!("port = {}\n", site.uplink.addr().port())
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(&site.agent_toml, text).unwrap();
        self.start_agent(site).await;
    }

    /// Wait until the router shows online with a catalog.
    pub async fn wait_online(&self, site: &Site) {
        let what = format!("{} online with the catalog", site.agent_id);
        crate::support::wait_for(&what, Duration::from_secs(60), || async {
            let routers: Value = self.api.get(&self.root, "/api/routers").await;
            routers.as_array().is_some_and(|rs| {
                rs.iter().any(|r| {
                    r["agent_id"] == site.agent_id.as_str()
                        && r["online"] == true
                        && !r["catalog_version"].is_null()
                })
            })
        })
        .await;
    }

    /// A router reboot: every session dropped, the API unreachable for `down`, then back.
    pub async fn reboot_router(&self, site: &Site, down: Duration) {
        site.sim.with_state(|st| {
            let ids: Vec<u32> = st.sessions.iter().map(|s| s.id).collect();
            for id in ids {
                mtm_routeros::sim::customers::logout_session(st, id, "reboot");
            }
        });
        site.sim.set_reachable(false);
        tokio::time::sleep(down).await;
        site.sim.set_reachable(true);
    }

    /// Customers at every site stop using vouchers (the café closes).
    pub fn close_doors(&self) {
        for s in &self.sites {
            s.customers.store(false, Ordering::Relaxed);
        }
    }

    /// Log a staff member in (a fresh session, as after a restart of the browser). When the
    /// whole chain opens at once the server may answer busy (503, password hashing is bounded)
    /// or be restarting; the till tries again after the `Retry-After` it was given.
    pub async fn staff_login(&self, site: usize) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
        let body = json!({"username": self.sites[site].staff, "password": STAFF_PASSWORD});
        loop {
            let r = reqwest::Client::new()
                .post(format!("{}/api/auth/login", self.base))
                .json(&body)
                .timeout(Duration::from_secs(30))
                .send()
                .await;
            let wait = match r {
                Ok(r) if r.status().is_success() => {
                    let v: Value = r.json().await.unwrap();
                    return v["token"].as_str().unwrap().to_owned();
                }
                Ok(r) => {
                    let status = r.status().as_u16();
                    assert!(
                        status == 503 || status == 429,
                        "login {}: {status}",
                        self.sites[site].staff
                    );
                    r.headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok()?.parse().ok())
                        .unwrap_or(2)
                }
                Err(_) => 1,
            };
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} could not log in for 180 s",
                self.sites[site].staff
            );
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
    }

    /// Sell one voucher of package `package` at `site` as a till does: a sale that gets no
    /// answer is sent again with the same sale key (`Idempotency-Key`), so it sells one voucher
    /// however often it is repeated. The server may be down (a restart in progress), in which
    /// case nothing may have been sold and `None` is returned.
    pub async fn sell(&self, jwt: &str, site: usize, package: usize) -> Option<Sale> {
        let key = uuid::Uuid::new_v4().to_string();
        let mut answer = None;
        for attempt in 0..3 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let Ok(r) = reqwest::Client::new()
                .post(format!("{}/api/tokens/generate", self.base))
                .bearer_auth(jwt)
                .header("idempotency-key", &key)
                .json(&json!({"package_id": self.packages[package]["id"]}))
                .timeout(Duration::from_secs(5))
                .send()
                .await
            else {
                continue;
            };
            let status = r.status();
            let Ok(body) = r.json::<Value>().await else {
                continue;
            };
            assert!(
                status.is_success() || status.is_server_error(),
                "sale refused: {status} {body}"
            );
            if status.is_success() {
                answer = Some(body);
                break;
            }
        }
        let body = answer?;
        let sale = Sale {
            site,
            token_id: body["id"].as_str()?.to_owned(),
            code: body["code"].as_str()?.to_owned(),
            price_minor: body["price_minor"].as_i64()?,
        };
        self.sold.lock().unwrap().push(sale.clone());
        Some(sale)
    }

    /// What staff do when a sale got no answer (the server was restarting, or answered after
    /// the till gave up): the voucher may exist all the same, so they look it up among today's
    /// vouchers and hand it to the customer who paid. Returns how many were found this way.
    pub async fn adopt_unanswered(&self, jwt: &str, site: usize) -> usize {
        let page: Value = self
            .api
            .get(jwt, "/api/tokens/my-tokens?from=0&limit=500")
            .await;
        let mut sold = self.sold.lock().unwrap();
        let mut found = 0;
        for t in page["items"].as_array().into_iter().flatten() {
            let Some(id) = t["id"].as_str() else { continue };
            if sold.iter().any(|s| s.token_id == id) {
                continue;
            }
            sold.push(Sale {
                site,
                token_id: id.to_owned(),
                code: t["code"].as_str().unwrap_or_default().to_owned(),
                price_minor: t["price_minor"].as_i64().unwrap_or_default(),
            });
            found += 1;
        }
        found
    }

    /// The database, opened beside the running server.
    pub async fn store(&self) -> Arc<dyn mtm_control_plane::store::Store> {
        mtm_control_plane::store::open(&self.database.url())
            .await
            .unwrap()
    }

    /// `mtm-server audit verify` on the day's database: its exit status and output.
    pub fn audit_verify(&self) -> (bool, String) {
        let out = std::process::Command::new(bin("mtm-server"))
            .args(["audit", "verify", "--config"])
            .arg(&self.server_toml)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Stop everything.
    pub async fn close(self) {
        for s in &self.sites {
            self.kill_agent(s).await;
        }
        self.kill_server().await;
        if let Some(m) = &self.mosquitto {
            m.stop().await;
        }
        for s in self.sites {
            s.sim.shutdown().await;
        }
    }
}

/// The program `name` on PATH; fails the test (never skips) when it is missing.
/// Debian's libfaketime (package `faketime`, installed by scripts/test.sh).
fn libfaketime() -> PathBuf {
    let lib = PathBuf::from(format!(
        "/usr/lib/{}-linux-gnu/faketime/libfaketime.so.1",
        std::env::consts::ARCH
    ));
    assert!(
        lib.exists(),
        "{} is missing: scripts/test.sh installs it (Debian package faketime)",
        lib.display()
    );
    lib
}

/// Customers at one router: every tick some unused vouchers get used and every session moves
/// bytes (the simulator's own customer model), until the doors close.
async fn play_customers(sim: SimHandle, profile: CustomerProfile, open: Arc<AtomicBool>) {
    let mut tick = tokio::time::interval(profile.tick);
    while open.load(Ordering::Relaxed) {
        tick.tick().await;
        sim.with_state(|st| mtm_routeros::sim::customers::tick(st, &profile));
    }
    // The day ends: everyone still online logs out.
    sim.with_state(|st| {
        let ids: Vec<u32> = st.sessions.iter().map(|s| s.id).collect();
        for id in ids {
            mtm_routeros::sim::customers::logout_session(st, id, "user request");
        }
    });
}
