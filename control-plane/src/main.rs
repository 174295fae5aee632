//! `mtm-server`: serve, migrate, create the first admin, verify the audit chains, run the demo.

use anyhow::Context;
use clap::{Parser, Subcommand};
use mtm_control_plane::store::{NewUser, Role};
use mtm_control_plane::{demo, server, ServerConfig};
use std::io::Read;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "mtm-server", version, about = "mtm control plane")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Args)]
struct ConfigArg {
    /// TOML configuration file; `MTM_*` environment variables override it.
    #[arg(long, env = "MTM_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server.
    Serve(ConfigArg),
    /// Create or upgrade the database schema, then exit.
    Migrate(ConfigArg),
    /// Create a super admin.
    CreateAdmin {
        #[command(flatten)]
        config: ConfigArg,
        /// Username.
        #[arg(long)]
        username: String,
        /// Read the password from standard input (preferred: keeps it out of `ps`).
        #[arg(long, conflicts_with = "password")]
        password_stdin: bool,
        /// The password.
        #[arg(long)]
        password: Option<String>,
    },
    /// Audit log and token ledger.
    Audit {
        #[command(subcommand)]
        command: AuditCmd,
    },
    /// Run a self-contained demo (server, simulated routers and agents).
    Demo(demo::DemoArgs),
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Verify the hash chains; exits non-zero and names the first bad row if one is broken.
    Verify(ConfigArg),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,rumqttd=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Cmd::Serve(c) => {
            let cfg = ServerConfig::load(c.config.as_deref())?;
            let handle = server::start(cfg).await?;
            println!("http on http://{}", handle.http_addr());
            println!("mqtt on {}", handle.mqtt_addr());
            println!(
                "control plane key {}",
                handle.control_plane_public_key_hex()
            );
            tokio::signal::ctrl_c()
                .await
                .context("waiting for Ctrl-C")?;
            handle.shutdown().await;
        }
        Cmd::Migrate(c) => {
            let cfg = ServerConfig::load(c.config.as_deref())?;
            server::open_store(&cfg).await?;
            println!("database is up to date");
        }
        Cmd::CreateAdmin {
            config,
            username,
            password_stdin,
            password,
        } => {
            let password = match (password_stdin, password) {
                (true, _) => {
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s)?;
                    s.trim_end_matches(['\r', '\n']).to_owned()
                }
                (false, Some(p)) => p,
                (false, None) => anyhow::bail!("give --password-stdin or --password"),
            };
            let cfg = ServerConfig::load(config.config.as_deref())?;
            let store = server::open_store(&cfg).await?;
            let user = store
                .create_user(NewUser {
                    username,
                    password,
                    role: Role::SuperAdmin,
                    location_ids: vec![],
                })
                .await?;
            let entry = mtm_control_plane::store::AuditEntry {
                actor: "cli".into(),
                action: "user.create".into(),
                target: user.id.to_string(),
                detail: serde_json::json!({"username": user.username, "role": user.role}),
            };
            store
                .audit(entry, mtm_control_plane::store::now_ms())
                .await?;
            println!("created super admin {} ({})", user.username, user.id);
        }
        Cmd::Audit {
            command: AuditCmd::Verify(c),
        } => {
            let cfg = ServerConfig::load(c.config.as_deref())?;
            let store = server::open_store(&cfg).await?;
            let mut ok = true;
            for r in store.verify_chains().await? {
                match r.first_bad_row {
                    None => println!("{}: {} rows, chain intact", r.table, r.rows),
                    Some(id) => {
                        ok = false;
                        println!("{}: chain broken at row {id}", r.table);
                    }
                }
            }
            if !ok {
                std::process::exit(2);
            }
        }
        Cmd::Demo(args) => demo::run(args).await?,
    }
    Ok(())
}
