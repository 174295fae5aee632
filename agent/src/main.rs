//! `mtm-agent`: run the agent, make its key, check its configuration, read its status, enroll
//! it with a one-time code, or print a site's RouterOS scripts.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use mtm_agent::{load_or_create_key, Agent};

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
        /// After installing an update, replace this process with the new binary (exec) instead
        /// of exiting with status 75 for the supervisor to restart it.
        #[arg(long)]
        exec_on_update: bool,
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
    /// Enroll with a one-time code: make the key here, send only its public half, and write
    /// the identity the server returns into the config (other settings are kept).
    Enroll(EnrollArgs),
    /// Print the RouterOS scripts of firmware-config/ filled in for one site.
    RouterScript(RouterScriptArgs),
    /// For the supervisor after the service ended (systemd `ExecStopPost=`, which sets
    /// SERVICE_RESULT, EXIT_CODE and EXIT_STATUS): if an update is on trial and the service
    /// failed, put the previous binary back. Run it from another copy of the agent than the one
    /// on trial.
    RollbackIfFailed {
        /// The binary the service runs (its `.prev` is put back).
        #[arg(long)]
        exe: PathBuf,
        /// The agent's data directory (holds the trial marker).
        #[arg(long, env = "MTM_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[derive(clap::Args)]
struct EnrollArgs {
    /// The control plane's URL, e.g. https://mtm.example.com
    #[arg(long, env = "MTM_ENROLL_SERVER")]
    server: String,
    /// The one-time enrollment code from the console.
    #[arg(long, env = "MTM_ENROLL_CODE", hide_env_values = true)]
    code: String,
    /// Config file to update or create (mode 0600); without it the identity goes to
    /// DATA_DIR/enrollment.toml, which `run` reads over its config.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Data directory for agent.key (default: MTM_DATA_DIR, the config's data_dir, or
    /// /var/lib/mtm-agent).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// PEM file with the CA of the server's certificate (default: the system's CA store).
    #[arg(long)]
    ca: Option<PathBuf>,
}

#[derive(clap::Args)]
struct RouterScriptArgs {
    /// Site name (for the header).
    #[arg(long)]
    site: String,
    /// IPv4 address the agent connects from (172.17.0.2 in a container, the Pi's address).
    #[arg(long)]
    agent_address: String,
    /// The agent's RouterOS account and group.
    #[arg(long, default_value = "mtm-agent")]
    api_user: String,
    /// Its password (default: a fresh random one, printed in api-user.rsc).
    #[arg(long, env = "MTM_ROUTER_PASSWORD", hide_env_values = true)]
    api_password: Option<String>,
    /// Rate limit of the baseline hotspot profiles.
    #[arg(long, default_value = "2M/5M")]
    rate_limit: String,
    /// Also print the container set-up (the agent runs on the router).
    #[arg(long)]
    container: bool,
    /// RouterOS version, for the container syntax: 7.19 (7.4-7.19) or 7.20 (7.20 and later).
    #[arg(long, default_value = "7.19")]
    routeros: mtm_agent::router_script::RouterOs,
    /// Router storage for the container.
    #[arg(long, default_value = "usb1")]
    disk: String,
    /// Registry holding the agent image.
    #[arg(long, default_value = "https://ghcr.io")]
    registry_url: String,
    /// Agent image and tag.
    #[arg(long, default_value = "")]
    image: String,
    /// The control plane's URL (the container enrolls at its first start).
    #[arg(long, default_value = "")]
    server: String,
    /// One-time enrollment code for this router (container).
    #[arg(long, default_value = "")]
    code: String,
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
    // Read before anything can replace the file (see update::exe_path).
    let _ = mtm_agent::update::exe_path();
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
        Ok(Some(exec)) => {
            drop(rt);
            restart(exec)
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// After an update: exec the new binary in place, or exit for the supervisor.
fn restart(exec: bool) -> ExitCode {
    if exec {
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            let exe = mtm_agent::update::exe_path();
            let err = std::process::Command::new(exe)
                .args(std::env::args_os().skip(1))
                .exec();
            eprintln!("error: cannot exec {}: {err}", exe.display());
        }
    }
    ExitCode::from(mtm_agent::update::EXIT_RESTART)
}

async fn real_main(cli: Cli) -> anyhow::Result<Option<bool>> {
    match cli.cmd {
        Cmd::Run {
            config,
            exec_on_update,
        } => {
            // Reads DATA_DIR/enrollment.toml over the file, and enrolls first from
            // MTM_ENROLL_SERVER/MTM_ENROLL_CODE when there is no identity yet (containers).
            let cfg = mtm_agent::enroll::load_config(&config).await?;
            init_logs(cfg.log_json);
            let handle = Agent::start(cfg).await?;
            if let Some(addr) = handle.status_addr() {
                println!("status on {addr}");
            }
            let restart = tokio::select! {
                _ = wait_for_signal() => false,
                _ = handle.restart_requested() => true,
            };
            handle.shutdown().await;
            Ok(restart.then_some(exec_on_update))
        }
        Cmd::Keygen { data_dir } => {
            let key = load_or_create_key(&data_dir)?;
            println!("{}", mtm_common::keys::public_key_hex(&key.verifying_key()));
            Ok(None)
        }
        Cmd::Check { config } => check(&config).await.map(|()| None),
        Cmd::Enroll(a) => enroll(a).await.map(|()| None),
        Cmd::RouterScript(a) => router_script(a).map(|()| None),
        Cmd::RollbackIfFailed { exe, data_dir } => {
            let var = |k: &str| std::env::var(k).unwrap_or_default();
            let exit = mtm_agent::update::ServiceExit {
                result: var("SERVICE_RESULT"),
                code: var("EXIT_CODE"),
                status: var("EXIT_STATUS"),
            };
            let rolled = mtm_agent::update::rollback_if_failed(&data_dir, &exe, &exit)
                .with_context(|| format!("putting back {}.prev", exe.display()))?;
            if rolled {
                eprintln!(
                    "mtm-agent: the binary on trial failed ({} {} {}); the previous one is back",
                    exit.result, exit.code, exit.status
                );
            }
            Ok(None)
        }
        Cmd::Status { addr } => {
            let (code, body) = mtm_agent::status::get(&addr, "/status")
                .await
                .with_context(|| format!("cannot reach the status endpoint at {addr}"))?;
            if code != 200 {
                bail!("status endpoint answered {code}: {body}");
            }
            let v: serde_json::Value = serde_json::from_str(&body).context("status is not JSON")?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(None)
        }
    }
}

async fn enroll(a: EnrollArgs) -> anyhow::Result<()> {
    let opts = mtm_agent::enroll::EnrollOptions {
        server: a.server,
        code: a.code,
        config: a.config,
        data_dir: a.data_dir,
        ca_file: a.ca,
    };
    let done = mtm_agent::enroll::enroll(&opts).await?;
    println!(
        "enrolled as {} (broker {}:{}); identity written to {}; key in {}",
        done.identity.enrolled.agent_id,
        done.identity.enrolled.mqtt_host,
        done.identity.enrolled.mqtt_port,
        done.written_to.display(),
        done.data_dir.display()
    );
    println!("public key {}", done.public_key_hex);
    Ok(())
}

fn router_script(a: RouterScriptArgs) -> anyhow::Result<()> {
    let v = mtm_agent::router_script::SiteValues {
        site: a.site,
        agent_address: a.agent_address,
        api_user: a.api_user,
        api_password: a
            .api_password
            .unwrap_or_else(mtm_agent::router_script::random_password),
        rate_limit: a.rate_limit,
        container: a.container,
        routeros: a.routeros,
        disk: a.disk,
        registry_url: a.registry_url,
        image: a.image,
        server_url: a.server,
        enroll_code: a.code,
    };
    print!("{}", mtm_agent::router_script::render(&v)?);
    Ok(())
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
    let cfg = mtm_agent::enroll::load_config(path).await?;
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
