//! `routeros-sim`: run the hotspot router simulator from the command line.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use mtm_routeros::{CustomerProfile, SimConfig, Simulator};

/// A MikroTik hotspot router simulator speaking the RouterOS API.
#[derive(Parser, Debug)]
#[command(name = "routeros-sim", disable_version_flag = true)]
struct Args {
    /// Plain API listen address.
    #[arg(long, default_value = "127.0.0.1:8728")]
    listen: SocketAddr,
    /// API-SSL listen address (self-signed certificate, generated at start).
    #[arg(long)]
    tls_listen: Option<SocketAddr>,
    /// API account as user:password (repeatable). Default admin with an empty password.
    #[arg(long = "login")]
    logins: Vec<String>,
    /// RouterOS version to emulate (7.18+ sends !empty; below 6.43 challenge login only).
    #[arg(long, default_value = "7.15.3 (stable)")]
    version: String,
    /// Accept the legacy MD5 challenge login response.
    #[arg(long)]
    legacy_auth: bool,
    /// Board name reported by /system/resource.
    #[arg(long, default_value = "hAP ax^3")]
    board_name: String,
    /// System identity.
    #[arg(long, default_value = "MikroTik")]
    identity: String,
    /// Enable simulated customers who use vouchers.
    #[arg(long)]
    customers: bool,
    /// Customer tick length in milliseconds (simulated time advances by this much per tick).
    #[arg(long, default_value_t = 1000)]
    tick_ms: u64,
    /// Chance per tick that an unused voucher is used.
    #[arg(long, default_value_t = 0.05)]
    login_chance: f64,
    /// Write the API-SSL CA certificate (PEM) to this file.
    #[arg(long)]
    ca_out: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let mut logins = Vec::new();
    for l in &args.logins {
        let (u, p) = l
            .split_once(':')
            .with_context(|| format!("--login {l:?}: expected user:password"))?;
        logins.push((u.to_string(), p.to_string()));
    }
    let mut cfg = SimConfig {
        bind: args.listen,
        tls_bind: args.tls_listen,
        version: args.version,
        legacy_auth: args.legacy_auth,
        board_name: args.board_name,
        identity: args.identity,
        ..SimConfig::default()
    };
    if !logins.is_empty() {
        cfg.logins = logins;
    }
    if args.customers {
        cfg.customers = Some(CustomerProfile {
            tick: Duration::from_millis(args.tick_ms.max(1)),
            login_chance: args.login_chance,
            ..CustomerProfile::default()
        });
    }
    let sim = Simulator::start(cfg).await.context("starting simulator")?;
    println!("listening on {}", sim.addr());
    if let Some(a) = sim.tls_addr() {
        println!("tls on {a}");
    }
    if let (Some(path), Some(pem)) = (&args.ca_out, sim.tls_ca_pem()) {
        std::fs::write(path, pem).with_context(|| format!("writing {}", path.display()))?;
    }
    use std::io::Write;
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
