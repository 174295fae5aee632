//! `mtm-server`: serve, migrate, create the first admin, verify the audit chains, run the demo
//! (with the `demo` feature, on by default; production builds leave it out).

use anyhow::Context;
use clap::{Parser, Subcommand};
#[cfg(feature = "demo")]
use mtm_control_plane::demo;
use mtm_control_plane::store::{NewUser, Role};
use mtm_control_plane::{server, witness, ServerConfig};
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
    #[cfg(feature = "demo")]
    Demo(demo::DemoArgs),
    /// Agent releases: the release key (kept off the server) and signing.
    Release {
        #[command(subcommand)]
        command: ReleaseCmd,
    },
}

#[derive(Subcommand)]
enum ReleaseCmd {
    /// Make a release key (mode 0600) and print its public half for agents' `release_key`.
    Keygen {
        /// Where to write the private key (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign an agent binary; prints the signature JSON to upload with it.
    Sign {
        /// The release private key file.
        #[arg(long)]
        key: PathBuf,
        /// Target, e.g. aarch64-linux (as the agent names its own).
        #[arg(long)]
        target: String,
        /// Version, MAJOR.MINOR.PATCH.
        #[arg(long)]
        version: String,
        /// The agent binary.
        binary: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Verify the hash chains, and compare them with the witnessed checkpoints (those agents
    /// returned, the files in `checkpoint_dir`, and any given here); exits non-zero naming the
    /// first bad row, the missing rows, or the forked row.
    Verify {
        #[command(flatten)]
        config: ConfigArg,
        /// A checkpoint file (JSON lines) or a directory of them, e.g. a copy kept elsewhere.
        #[arg(long = "checkpoints")]
        checkpoints: Vec<PathBuf>,
        /// Compare only checkpoints signed at or after this time (RFC 3339, e.g.
        /// `2026-12-03T12:00:00Z`): after a deliberate restore from a backup, the checkpoints
        /// from before it keep naming the rows that restore lost. Those left out are counted.
        #[arg(long, value_parser = parse_since)]
        since: Option<i64>,
    },
    /// Sign the chains' current heads, append them to `checkpoint_dir` (if set) and print them
    /// as JSON lines, e.g. for a cron job that ships them off the machine.
    Checkpoint(ConfigArg),
}

/// Return the password hashes' memory to the system when they finish. glibc raises its mmap
/// threshold after the first large free, so later 19 MiB argon2 blocks come from per-thread
/// arenas and stay resident, one per blocking thread that ever hashed: a burst of logins would
/// leave the server hundreds of MiB larger. A fixed threshold keeps such blocks mmapped.
fn release_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator tunable; called before any hashing starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Keep transparent huge pages off for the server, whatever the machine's setting. mimalloc
/// advises them on its memory, and the embedded broker sets aside queues and logs for every
/// connection that are mostly never written: in 2 MiB pages, the first write makes a whole
/// buffer resident (1,000 agents: about 600 MiB with them, 110 MiB without).
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl only sets a flag of this process (kernels before 3.15 refuse it, harmlessly).
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    release_large_allocations();
    no_transparent_huge_pages();
    let cli = Cli::parse();
    // The demo's terminal is for people trying it: the URL, logins and a status line, with only
    // warnings and errors from the log (RUST_LOG=info shows everything).
    #[cfg(feature = "demo")]
    let demo_terminal = matches!(cli.command, Cmd::Demo(_));
    #[cfg(not(feature = "demo"))]
    let demo_terminal = false;
    let default_filter = if demo_terminal {
        "warn,rumqttd=error"
    } else {
        "info,rumqttd=warn"
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        // One event, one line, whatever a field holds (JSON lines escape their own).
        .with_writer(mtm_control_plane::log_lines::OneLineStderr);
    // JSON lines for log collectors (compose, journald forwarding); text for people.
    if std::env::var("MTM_LOG_JSON").is_ok_and(|v| v == "true" || v == "1") {
        logs.json().init();
    } else {
        logs.init();
    }
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
            stop_requested().await?;
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
            command:
                AuditCmd::Verify {
                    config,
                    checkpoints,
                    since,
                },
        } => {
            let cfg = ServerConfig::load(config.config.as_deref())?;
            if !audit_verify(&cfg, &checkpoints, since).await? {
                std::process::exit(2);
            }
        }
        Cmd::Audit {
            command: AuditCmd::Checkpoint(c),
        } => {
            let cfg = ServerConfig::load(c.config.as_deref())?;
            let store = server::open_store(&cfg).await?;
            let key = cp_key(&cfg)?.context("no control-plane key (cp.key) in the data folder")?;
            let taken = witness::take(&*store, &key, cfg.checkpoint_dir.as_deref(), None).await?;
            for c in taken {
                println!("{}", serde_json::to_string(&c)?);
            }
        }
        #[cfg(feature = "demo")]
        Cmd::Demo(args) => demo::run(args).await?,
        Cmd::Release { command } => release(command)?,
    }
    Ok(())
}

/// The control plane's key, if the data folder has one (never made here: a new key would sign
/// checkpoints no agent trusts).
fn cp_key(cfg: &ServerConfig) -> anyhow::Result<Option<ed25519_dalek::SigningKey>> {
    if !cfg.data_dir.join("cp.key").exists() {
        return Ok(None);
    }
    Ok(Some(server::load_or_create_cp_key(&cfg.data_dir)?))
}

/// Check the chains and compare them with every witnessed checkpoint; prints one line per
/// chain and per finding, and returns whether everything holds.
async fn audit_verify(
    cfg: &ServerConfig,
    extra: &[PathBuf],
    since: Option<i64>,
) -> anyhow::Result<bool> {
    let store = server::open_store(cfg).await?;
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
    let mut witnessed: Vec<witness::verify::Witnessed> = store
        .witnessed_checkpoints()
        .await?
        .into_iter()
        .map(|(agent, checkpoint)| witness::verify::Witnessed {
            source: format!("agent {agent}"),
            checkpoint,
        })
        .collect();
    for path in cfg.checkpoint_dir.iter().chain(extra) {
        if !path.exists() && Some(path) == cfg.checkpoint_dir.as_ref() {
            continue;
        }
        let (found, unreadable) = witness::read_exported(path)?;
        if unreadable > 0 {
            println!("{}: {unreadable} lines are not checkpoints", path.display());
        }
        witnessed.extend(
            found
                .into_iter()
                .map(|(source, checkpoint)| witness::verify::Witnessed { source, checkpoint }),
        );
    }
    if let Some(since) = since {
        let before = witnessed.len();
        witnessed.retain(|w| w.checkpoint.at >= since);
        let left_out = before - witnessed.len();
        if left_out > 0 {
            println!("{left_out} witnessed checkpoints signed before --since not compared");
        }
    }
    if witnessed.is_empty() {
        println!(
            "no witnessed checkpoints: rows missing at the tail or an older backup cannot be \
             seen (set checkpoint_dir, or let the agents connect)"
        );
        return Ok(ok);
    }
    let Some(key) = cp_key(cfg)? else {
        println!("no control-plane key (cp.key) in the data folder: checkpoints cannot be checked");
        return Ok(false);
    };
    let report = witness::verify::compare(&*store, &key.verifying_key(), &witnessed).await?;
    for (chain, rows, agreed) in &report.agreed {
        println!("{chain}: {rows} rows agree with {agreed} witnessed checkpoints");
    }
    for f in &report.findings {
        ok = false;
        println!("{}", f.describe());
    }
    Ok(ok)
}

/// `--since`: an RFC 3339 time, as unix milliseconds.
fn parse_since(s: &str) -> Result<i64, String> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{s:?} is not an RFC 3339 time such as 2026-12-03T12:00:00Z: {e}"))?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).map_err(|_| "time out of range".into())
}

fn release(cmd: ReleaseCmd) -> anyhow::Result<()> {
    use mtm_control_plane::releases::SignedRelease;
    match cmd {
        ReleaseCmd::Keygen { out } => {
            let key = release_keygen(&out)?;
            println!("{}", mtm_common::keys::public_key_hex(&key.verifying_key()));
        }
        ReleaseCmd::Sign {
            key,
            target,
            version,
            binary,
        } => {
            let key = release_key(&key)?;
            let bytes =
                std::fs::read(&binary).with_context(|| format!("reading {}", binary.display()))?;
            let release = mtm_common::release::Release::describe(&version, &target, &bytes);
            mtm_common::release::is_newer(&version, "0.0.0")?;
            let signature_hex = release.sign(&key);
            let out = SignedRelease {
                release,
                signature_hex,
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(())
}

// The release key is made and used on an admin's machine, never on the server.
fn release_keygen(out: &std::path::Path) -> anyhow::Result<ed25519_dalek::SigningKey> {
    if out.exists() {
        anyhow::bail!("{} exists; not overwriting a release key", out.display());
    }
    let key = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    mtm_control_plane::server::write_private(out, &hex::encode(key.to_bytes()))
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(key)
}

fn release_key(path: &std::path::Path) -> anyhow::Result<ed25519_dalek::SigningKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .with_context(|| format!("{} must hold 32 bytes of hex", path.display()))?;
    Ok(ed25519_dalek::SigningKey::from_bytes(&bytes))
}

/// Resolves on Ctrl-C (a terminal) or SIGTERM (`systemctl stop`, `docker stop`), so both shut
/// the server down cleanly: the HTTP server drains and the broker connection closes.
async fn stop_requested() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
        _ = term.recv() => {}
    }
    tracing::info!("stopping");
    Ok(())
}
