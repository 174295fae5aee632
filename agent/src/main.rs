//! `mtm-agent`: run the agent, make its key, check its configuration, or read its status.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use mtm_agent::{load_or_create_key, Agent, AgentConfig};

#[derive(Parser)]
#[command(
    name = "mtm-agent",
    version,
    about = "mtm edge agent for a MikroTik router"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the agent until SIGINT/SIGTERM.
    Run {
        /// TOML configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Create the agent key if missing and print its public key (hex).
    Keygen {
        /// Data directory holding agent.key.
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Validate the configuration and try the router login and the broker connection.
    Check {
        /// TOML configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Print the status of a running agent.
    Status {
        /// The agent's status endpoint, host:port.
        #[arg(long, default_value = "127.0.0.1:9469")]
        addr: String,
    },
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        b.json().init();
    } else {
        b.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(real_main(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn real_main(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Run { config } => {
            let cfg = AgentConfig::load(&config)?;
            init_logs(cfg.log_json);
            let handle = Agent::start(cfg).await?;
            if let Some(addr) = handle.status_addr() {
                println!("status on {addr}");
            }
            wait_for_signal().await;
            handle.shutdown().await;
            Ok(())
        }
        Cmd::Keygen { data_dir } => {
            let key = load_or_create_key(&data_dir)?;
            println!("{}", mtm_common::keys::public_key_hex(&key.verifying_key()));
            Ok(())
        }
        Cmd::Check { config } => check(&config).await,
        Cmd::Status { addr } => {
            let (code, body) = mtm_agent::status::get(&addr, "/status")
                .await
                .with_context(|| format!("cannot reach the status endpoint at {addr}"))?;
            if code != 200 {
                bail!("status endpoint answered {code}: {body}");
            }
            let v: serde_json::Value = serde_json::from_str(&body).context("status is not JSON")?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn check(path: &std::path::Path) -> anyhow::Result<()> {
    let cfg = AgentConfig::load(path)?;
    println!("config: ok ({})", path.display());
    let mut failed = false;

    let rc = mtm_agent::router::client_config(&cfg.router).map_err(anyhow::Error::msg)?;
    match mtm_routeros::Client::connect(&rc).await {
        Ok(c) => match c.system_resource().await {
            Ok(r) => println!(
                "router: ok ({} as {}, RouterOS {}, {})",
                cfg.router.addr, cfg.router.username, r.version, r.board_name
            ),
            Err(e) => {
                failed = true;
                println!(
                    "router: logged in at {} but /system/resource failed: {e}",
                    cfg.router.addr
                );
            }
        },
        Err(e) => {
            failed = true;
            println!(
                "router: FAILED to log in at {} as {}: {e}",
                cfg.router.addr, cfg.router.username
            );
        }
    }

    let opts = mtm_agent::mqtt::options(&cfg.mqtt, &format!("{}-check", cfg.agent_id))?;
    let mut opts = opts;
    opts.set_clean_session(true);
    let (client, mut el) = rumqttc::AsyncClient::new(opts, 8);
    let res = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match el.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(a))) => {
                    return if a.code == rumqttc::ConnectReturnCode::Success {
                        Ok(())
                    } else {
                        Err(format!("broker refused: {:?}", a.code))
                    };
                }
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await
    .unwrap_or_else(|_| Err("timed out after 10 s".into()));
    let _ = client.try_disconnect();
    match res {
        Ok(()) => println!("broker: ok ({}:{})", cfg.mqtt.host, cfg.mqtt.port),
        Err(e) => {
            failed = true;
            println!("broker: FAILED at {}:{}: {e}", cfg.mqtt.host, cfg.mqtt.port);
        }
    }
    if failed {
        bail!("check failed");
    }
    Ok(())
}
