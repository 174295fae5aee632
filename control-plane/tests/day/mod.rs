//! A compressed café day with the real binaries: `mtm-server serve` (SQLite, embedded broker, on
//! fixed ports so it can be killed and started again) and one `mtm-agent run` per site, each
//! behind its own [`Uplink`]; the routers are `routeros-sim`s in this process, so the test can
//! reboot them and play their customers. Some agents run under libfaketime with their clock
//! minutes off. The day's plan lives in the test; this module is the world it acts on.

pub mod checks;
pub mod uplink;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// How long and how wide the day is (`MTM_SOAK_SITES`, `MTM_SOAK_DAY_S`).
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Cafés, each with a router, an agent and a staff member.
    pub sites: usize,
    /// Seconds from opening to the last sale.
    pub day_s: u64,
}

impl Plan {
    /// The bounded form by default; larger from the environment (scripts/soak.sh).
    pub fn from_env() -> Plan {
        let get = |k: &str, d: u64| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d)
        };
        Plan {
            sites: get("MTM_SOAK_SITES", 5).max(5) as usize,
            day_s: get("MTM_SOAK_DAY_S", 80).max(40),
        }
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
    pub agent_id: String,
    pub staff: String,
    pub sim: SimHandle,
    pub uplink: Arc<Uplink>,
    agent: Mutex<Option<Proc>>,
    agent_toml: PathBuf,
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
        std::fs::write(
            &server_toml,
            format!(
                "data_dir = {data:?}\ndatabase_url = {db:?}\nhttp_bind = \"127.0.0.1:{http_port}\"\n\
                 router_silent_after_s = {SILENT_AFTER_S}\n\
                 [mqtt]\nmode = \"embedded\"\nbind = \"127.0.0.1:{mqtt_port}\"\n",
                data = data.display().to_string(),
                db = format!("sqlite://{}", data.join("mtm.db").display()),
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
            base: format!("http://127.0.0.1:{http_port}"),
            mqtt: SocketAddr::from(([127, 0, 0, 1], mqtt_port)),
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
            // Two agents live with a clock minutes off (a Pi without RTC, NTP not yet synced).
            let clock = match i {
                2 => Some("+5m"),
                3 => Some("-5m"),
                _ => None,
            };
            let customers = Arc::new(AtomicBool::new(true));
            tokio::spawn(play_customers(
                sim.clone(),
                profile.clone(),
                customers.clone(),
            ));
            self.sites.push(Site {
                location_id,
                agent_id,
                staff,
                sim,
                uplink,
                agent: Mutex::new(None),
                agent_toml,
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

    /// Log a staff member in (a fresh session, as after a restart of the browser).
    pub async fn staff_login(&self, site: usize) -> String {
        self.api
            .login(&self.sites[site].staff, STAFF_PASSWORD)
            .await
    }

    /// Sell one voucher of package `package` at `site`; the server may be down (a restart in
    /// progress), in which case nothing is sold and `None` is returned.
    pub async fn sell(&self, jwt: &str, site: usize, package: usize) -> Option<Sale> {
        let r = reqwest::Client::new()
            .post(format!("{}/api/tokens/generate", self.base))
            .bearer_auth(jwt)
            .json(&json!({"package_id": self.packages[package]["id"]}))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        let status = r.status();
        let body: Value = r.json().await.ok()?;
        assert!(
            status.is_success() || status.is_server_error(),
            "sale refused: {status} {body}"
        );
        if !status.is_success() {
            return None;
        }
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
        let url = format!(
            "sqlite://{}",
            self.dir.path().join("server").join("mtm.db").display()
        );
        mtm_control_plane::store::open(&url).await.unwrap()
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
        for s in self.sites {
            s.sim.shutdown().await;
        }
    }

    /// Where the day's files are.
    pub fn path(&self) -> &Path {
        self.dir.path()
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
