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

use crate::store::{NewLocation, NewPackage, NewRouter, NewUser, Role};
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

/// Run the demo until Ctrl-C.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    if args.data_dir.exists() {
        std::fs::remove_dir_all(&args.data_dir)
            .with_context(|| format!("emptying {}", args.data_dir.display()))?;
    }
    std::fs::create_dir_all(&args.data_dir)?;
    let data_dir = args.data_dir.canonicalize()?;

    let cfg = ServerConfig {
        data_dir: data_dir.clone(),
        database_url: format!("sqlite://{}", data_dir.join("mtm.db").display()),
        http_bind: SocketAddr::from(([127, 0, 0, 1], args.http_port)),
        mqtt: MqttConfig::Embedded {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        },
        ..ServerConfig::default()
    };
    let server = crate::start(cfg).await.context("starting the server")?;
    let store = server.store();

    let mut sims: Vec<SimHandle> = Vec::new();
    let mut agents: Vec<AgentHandle> = Vec::new();
    let mut location_ids = Vec::new();
    for (name, slug) in SITES {
        let location = store
            .create_location(NewLocation {
                name: name.to_string(),
                timezone: "UTC".to_string(),
            })
            .await?;
        location_ids.push(location.id);

        let sim = Simulator::start(SimConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            logins: vec![("mtm-agent".into(), "router-demo-pass".into())],
            identity: format!("{slug}-gw"),
            customers: Some(CustomerProfile {
                tick: Duration::from_secs(1),
                login_chance: 0.2,
                bytes_per_tick: (40_000, 400_000),
            }),
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
                usage_poll_s: 5,
                health_s: 10,
                inventory_s: 60,
            },
            ..AgentConfig::default()
        };
        agents.push(Agent::start(agent_cfg).await?);
        sims.push(sim);
    }

    for (slug, name, price, uptime) in [
        ("30m", "30 minutes", 300, 1800u64),
        ("1h", "1 hour", 500, 3600),
        ("1d", "1 day", 2000, 86_400),
    ] {
        store
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
            })
            .await?;
    }

    for (username, password, role) in ACCOUNTS {
        let location_ids = if role == Role::Staff {
            vec![location_ids[0]]
        } else {
            vec![]
        };
        store
            .create_user(NewUser {
                username: username.into(),
                password: password.into(),
                role,
                location_ids,
            })
            .await?;
    }

    let url = format!("http://{}", server.http_addr());
    println!("mtm demo is running at {url}");
    println!("  data folder: {}", data_dir.display());
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
    println!("Press Ctrl-C to stop.");

    tokio::signal::ctrl_c().await?;
    println!("stopping");
    for agent in agents {
        agent.shutdown().await;
    }
    for sim in sims {
        sim.shutdown().await;
    }
    server.shutdown().await;
    Ok(())
}
