//! `mtm-server demo`: the whole product on one machine in one command. It starts the server on
//! SQLite in a data folder with the embedded broker on a free port, three simulated routers
//! (`routeros-sim` as a library) with simulated customers, an agent for each (`mtm-agent` as a
//! library), seeds an admin, a manager and a staff account, and prints where to log in.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use mtm_agent::{Agent, AgentConfig, AgentHandle};
use mtm_routeros::sim::{CustomerProfile, SimConfig, SimHandle, Simulator};
use uuid::Uuid;

use crate::store::{
    IssueToken, Location, NewLocation, NewPackage, NewRouter, NewUser, Package, Role,
};
use crate::ServerHandle;
use crate::{MqttConfig, ServerConfig};

/// Options of `mtm-server demo`.
#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Folder for the demo's database and keys; emptied at start so each demo begins fresh.
    #[arg(long, default_value = "demo-data")]
    pub data_dir: PathBuf,
    /// HTTP port for the web pages and API (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub http_port: u16,
}

/// The demo accounts, printed at start. They exist only in the demo's own database.
const ACCOUNTS: [(&str, &str, Role); 3] = [
    ("admin", "admin-demo-pass", Role::SuperAdmin),
    ("manager", "manager-demo-pass", Role::Manager),
    ("staff", "staff-demo-pass", Role::Staff),
];

const SITES: [(&str, &str); 3] = [
    ("Cafe Central", "central"),
    ("Cafe Harbour", "harbour"),
    ("Cafe Market", "market"),
];

/// What a demo needs besides its folder.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Folder for the database and keys; emptied first.
    pub data_dir: PathBuf,
    /// HTTP port (0 picks a free one).
    pub http_port: u16,
    /// How many locations, each with one router and agent (at most three).
    pub sites: usize,
    /// Whether simulated customers use the vouchers by themselves.
    pub customers: bool,
    /// The agents' usage poll interval.
    pub usage_poll_s: u64,
    /// The agents' inventory interval (60 s in the demo; tests shorten it to cover many
    /// reconciliations quickly).
    pub inventory_s: u64,
    /// The database (`postgres://...`); `None` is SQLite in `data_dir`.
    pub database_url: Option<String>,
}

/// A running demo: the server, the simulated routers and their agents, and what was seeded.
pub struct Demo {
    /// The folder holding the database, keys and agent state.
    pub data_dir: PathBuf,
    /// The server.
    pub server: ServerHandle,
    /// One simulated router per location, in the order of `locations`.
    pub routers: Vec<SimHandle>,
    /// One agent per router.
    pub agents: Vec<AgentHandle>,
    /// The seeded locations.
    pub locations: Vec<Location>,
    /// The seeded packages.
    pub packages: Vec<Package>,
}

/// Password of the demo's staff account (also printed at start).
pub const STAFF_PASSWORD: &str = ACCOUNTS[2].1;
/// Password of the demo's manager account.
pub const MANAGER_PASSWORD: &str = ACCOUNTS[1].1;
/// Password of the demo's admin account.
pub const ADMIN_PASSWORD: &str = ACCOUNTS[0].1;

impl Demo {
    /// The base URL of the pages.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.http_addr())
    }

    /// Stop agents, routers and server.
    pub async fn stop(self) {
        for agent in self.agents {
            agent.shutdown().await;
        }
        for sim in self.routers {
            sim.shutdown().await;
        }
        self.server.shutdown().await;
    }
    /// Start everything and seed it, in a data folder that is empty, missing, or a demo's.
    pub async fn start(opts: DemoOptions) -> anyhow::Result<Demo> {
        let args = &opts;
        let customers = opts.customers.then_some(CustomerProfile {
            tick: Duration::from_secs(1),
            login_chance: 0.2,
            bytes_per_tick: (40_000, 400_000),
        });
        clear_demo_dir(&args.data_dir)?;
        std::fs::create_dir_all(&args.data_dir)?;
        std::fs::write(args.data_dir.join(DEMO_MARKER), "made by mtm-server demo\n")?;
        let data_dir = args.data_dir.canonicalize()?;

        let cfg = ServerConfig {
            data_dir: data_dir.clone(),
            database_url: opts
                .database_url
                .clone()
                .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("mtm.db").display())),
            http_bind: SocketAddr::from(([127, 0, 0, 1], args.http_port)),
            mqtt: MqttConfig::Embedded {
                bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            },
            ..ServerConfig::default()
        };
        let server = crate::start(cfg).await.context("starting the server")?;
        let store = server.store();

        let mut sims: Vec<SimHandle> = Vec::new();
        let mut agent_configs: Vec<AgentConfig> = Vec::new();
        let mut locations = Vec::new();
        for (name, slug) in SITES.into_iter().take(opts.sites.clamp(1, SITES.len())) {
            let location = store
                .create_location(NewLocation {
                    name: name.to_string(),
                    timezone: "UTC".to_string(),
                })
                .await?;
            locations.push(location.clone());

            let sim = Simulator::start(SimConfig {
                bind: SocketAddr::from(([127, 0, 0, 1], 0)),
                logins: vec![("mtm-agent".into(), "router-demo-pass".into())],
                identity: format!("{slug}-gw"),
                customers: customers.clone(),
                ..SimConfig::default()
            })
            .await?;

            let agent_id = format!("{slug}-r1");
            let agent_dir = data_dir.join("agents").join(&agent_id);
            std::fs::create_dir_all(&agent_dir)?;
            let key = mtm_agent::load_or_create_key(&agent_dir)?;
            let mqtt_password = mtm_common::token_code::generate(16);
            store
                .create_router(NewRouter {
                    location_id: location.id,
                    name: format!("{name} gateway"),
                    agent_id: agent_id.clone(),
                    public_key_hex: mtm_common::keys::public_key_hex(&key.verifying_key()),
                    mqtt_password: mqtt_password.clone(),
                })
                .await?;

            let agent_cfg = AgentConfig {
                agent_id: agent_id.clone(),
                data_dir: agent_dir,
                control_plane_key: server.control_plane_public_key_hex(),
                mqtt: mtm_agent::MqttConfig {
                    host: server.mqtt_addr().ip().to_string(),
                    port: server.mqtt_addr().port(),
                    username: Some(agent_id),
                    password: Some(mqtt_password),
                    ..Default::default()
                },
                router: mtm_agent::RouterConfig {
                    addr: sim.addr().to_string(),
                    username: "mtm-agent".into(),
                    password: "router-demo-pass".into(),
                    ..Default::default()
                },
                intervals: mtm_agent::Intervals {
                    usage_poll_s: opts.usage_poll_s,
                    health_s: 10,
                    inventory_s: opts.inventory_s,
                },
                ..AgentConfig::default()
            };
            agent_configs.push(agent_cfg);
            sims.push(sim);
        }

        let mut packages = Vec::new();
        for (slug, name, price, uptime) in [
            ("30m", "30 minutes", 300, 1800u64),
            ("1h", "1 hour", 500, 3600),
            ("1d", "1 day", 2000, 86_400),
        ] {
            let package = store
                .create_package(NewPackage {
                    slug: slug.into(),
                    name: name.into(),
                    price_minor: price,
                    currency: "USD".into(),
                    limit_uptime_s: Some(uptime),
                    limit_bytes_total: None,
                    rate_limit: Some("2M/5M".into()),
                    shared_users: 1,
                    validity_s: Some(7 * 86_400),
                    uses_password: false,
                    lock_to_mac: false,
                })
                .await?;
            packages.push(package);
        }

        for (username, password, role) in ACCOUNTS {
            let location_ids = if role == Role::Staff {
                vec![locations[0].id]
            } else {
                vec![]
            };
            let user = store
                .create_user(NewUser {
                    username: username.into(),
                    password: password.into(),
                    role,
                    location_ids,
                })
                .await?;
            if role == Role::Staff && opts.customers {
                // A lively demo: the staff member's shift is open and a few vouchers are already
                // sold, so simulated customers have something to use and dashboards move.
                store
                    .open_shift(user.id, locations[0].id, 2_000, username)
                    .await?;
                for package in packages.iter().take(2).cycle().take(4) {
                    store
                        .issue_token(IssueToken {
                            id: Uuid::new_v4(),
                            code: mtm_common::token_code::generate(8),
                            password: None,
                            package_id: package.id,
                            staff_id: user.id,
                            staff_username: username.into(),
                            command_id: Uuid::new_v4(),
                            sale_key: None,
                        })
                        .await?;
                }
            }
        }

        // Agents start last, so vouchers sold above reach their routers through the ordinary
        // path: the control plane resends open commands when an agent says hello.
        let mut agents: Vec<AgentHandle> = Vec::new();
        for cfg in agent_configs {
            agents.push(Agent::start(cfg).await?);
        }

        Ok(Demo {
            data_dir,
            server,
            routers: sims,
            agents,
            locations,
            packages,
        })
    }
}

/// One line, rewritten in place every few seconds: routers online, vouchers today, open alerts.
async fn status_line(store: std::sync::Arc<dyn crate::store::Store>) {
    use std::io::Write;
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        let routers = store.list_routers().await.unwrap_or_default();
        let online = routers.iter().filter(|r| r.router.online).count();
        let vouchers = store
            .list_tokens(&crate::store::TokenFilter {
                from: Some(crate::web::start_of_today(crate::store::now_ms())),
                limit: Some(1),
                ..Default::default()
            })
            .await
            .map_or(0, |p| p.total);
        let alerts: u64 = store
            .alert_counts(&crate::store::AlertFilter {
                state: Some(crate::store::AlertState::Open),
                ..Default::default()
            })
            .await
            .map_or(0, |c| c.iter().map(|(_, n)| n).sum());
        print!(
            "\r  status: routers online {online}/{} · vouchers today {vouchers} · open alerts {alerts}   ",
            routers.len()
        );
        let _ = std::io::stdout().flush();
    }
}

/// Run the demo until Ctrl-C.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let demo = Demo::start(DemoOptions {
        data_dir: args.data_dir,
        http_port: args.http_port,
        sites: SITES.len(),
        customers: true,
        usage_poll_s: 5,
        inventory_s: 60,
        database_url: None,
    })
    .await?;
    let server = &demo.server;
    let sims = &demo.routers;
    println!("mtm demo is running at {}", demo.url());
    println!("  data folder: {}", demo.data_dir.display());
    println!("  MQTT broker: {}", server.mqtt_addr());
    for (i, sim) in sims.iter().enumerate() {
        println!(
            "  router {} ({}): RouterOS API on {}",
            i + 1,
            SITES[i].0,
            sim.addr()
        );
    }
    println!("  logins:");
    for (username, password, role) in ACCOUNTS {
        println!("    {username:<8} / {password:<18} ({role:?})");
    }
    println!("Only warnings and errors are logged here (RUST_LOG=info shows everything).");
    println!("Press Ctrl-C to stop.");

    let status = tokio::spawn(status_line(server.store()));
    tokio::signal::ctrl_c().await?;
    status.abort();
    println!("\nstopping");
    demo.stop().await;
    Ok(())
}

/// The file that marks a folder as a demo's, so `demo` may empty it on the next run.
pub const DEMO_MARKER: &str = ".mtm-demo";

/// Empty `dir` for a new demo, but only if it is missing, empty or marked as a demo's: a typo
/// for the production data folder must not delete its keys and database.
pub fn clear_demo_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    let mut entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    if entries.next().is_none() {
        return Ok(());
    }
    if !dir.join(DEMO_MARKER).is_file() {
        anyhow::bail!(
            "{} is not empty and is not a demo's folder (no {DEMO_MARKER} in it); \
             refusing to delete it. Choose another --data-dir, or delete it yourself",
            dir.display()
        );
    }
    std::fs::remove_dir_all(dir).with_context(|| format!("emptying {}", dir.display()))
}

#[cfg(test)]
mod dir_tests {
    use super::*;

    #[test]
    fn a_folder_that_is_not_a_demos_is_never_emptied() {
        let root = tempfile::tempdir().unwrap();
        let prod = root.path().join("prod");
        std::fs::create_dir_all(&prod).unwrap();
        std::fs::write(prod.join("cp.key"), "secret").unwrap();
        assert!(clear_demo_dir(&prod).is_err());
        assert!(prod.join("cp.key").exists(), "the key is still there");

        let demo = root.path().join("demo");
        std::fs::create_dir_all(&demo).unwrap();
        std::fs::write(demo.join(DEMO_MARKER), "").unwrap();
        std::fs::write(demo.join("cp.key"), "demo").unwrap();
        clear_demo_dir(&demo).unwrap();
        assert!(!demo.exists());

        let empty = root.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        clear_demo_dir(&empty).unwrap();
        clear_demo_dir(&root.path().join("missing")).unwrap();
    }
}
