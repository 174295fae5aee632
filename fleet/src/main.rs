//! `mtm-fleet`: run a fleet of simulated agents against a real server, and the two reference
//! measurements the ingest benchmark sets beside it (raw inserts, ed25519 verifies).

mod fill;
mod load;
mod measure;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use mtm_fleet::dispense::{latencies, Clerk};
use mtm_fleet::setup::{enroll_sites, Api, Site};
use mtm_fleet::{AgentSettings, Fault, Fleet};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(
    name = "mtm-fleet",
    about = "Simulated mtm agents for soak tests and benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Enroll N agents on a server, run them, optionally sell vouchers and inject faults, and
    /// print what was sent, acknowledged and how long it took (one JSON object on stdout).
    Run(RunArgs),
    /// ed25519 verifications per second on one core, of a typical usage envelope.
    VerifyRate {
        /// How long to measure.
        #[arg(long, default_value_t = 3)]
        seconds: u64,
    },
    /// Insert usage rows straight into an mtm database, as ingest stores them, in
    /// transactions of `batch`: the ceiling ingest is measured against.
    RawInsert {
        /// `sqlite://...` or `postgres://...` of a database an mtm server made.
        #[arg(long)]
        database_url: String,
        /// Rows to insert.
        #[arg(long, default_value_t = 200_000)]
        rows: u64,
        /// Rows per transaction.
        #[arg(long, default_value_t = 256)]
        batch: u64,
        /// Rows per INSERT statement (ingest writes each report's rows in one).
        #[arg(long, default_value_t = 1)]
        per_statement: u64,
    },
    /// Fill a new database with a chain's history (default: 45 locations, 1,000,000 vouchers,
    /// 20,000,000 usage rows, 20,000 alerts over 365 days) for the page benchmark.
    FillDb(fill::FillArgs),
    /// Managers at once against a server's manager pages and CSV exports; p50/p95 per page.
    PageLoad(load::LoadArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// The server's HTTP base URL.
    #[arg(long)]
    server: String,
    /// An admin account on it.
    #[arg(long, default_value = "root")]
    admin_user: String,
    /// Its password.
    #[arg(long, env = "MTM_FLEET_ADMIN_PASSWORD")]
    admin_password: String,
    /// Agents to enroll and run.
    #[arg(long, default_value_t = 10)]
    agents: usize,
    /// Agent ids are `{prefix}-{i}`.
    #[arg(long, default_value = "fleet")]
    prefix: String,
    /// Enrollments in flight at once.
    #[arg(long, default_value_t = 8)]
    enroll_parallel: usize,
    /// Usage report interval, seconds.
    #[arg(long, default_value_t = 30.0)]
    usage_s: f64,
    /// Health interval, seconds.
    #[arg(long, default_value_t = 60.0)]
    health_s: f64,
    /// Inventory interval, seconds.
    #[arg(long, default_value_t = 300.0)]
    inventory_s: f64,
    /// Hotspot users per router not made by mtm, always online (usage entries per report).
    #[arg(long, default_value_t = 0)]
    extra_users: usize,
    /// Chance per second that a sold voucher is first used.
    #[arg(long, default_value_t = 0.2)]
    login_chance: f64,
    /// Wait this long after all agents are online before measuring.
    #[arg(long, default_value_t = 3.0)]
    warmup_s: f64,
    /// Measure for this long.
    #[arg(long, default_value_t = 30.0)]
    duration_s: f64,
    /// Staff selling at once (one per location, the first N routers).
    #[arg(long, default_value_t = 0)]
    staff: usize,
    /// Each of them sells one voucher this often, milliseconds.
    #[arg(long, default_value_t = 1000)]
    sell_every_ms: u64,
    /// After the run: one clerk at the first location sells this many vouchers in one batch
    /// (at most 5,000); time until the answer, until all are on the router, and to fetch
    /// every print part as A4 sheets and as 58 mm strips.
    #[arg(long, default_value_t = 0)]
    batch: u32,
    /// Before the warm-up: a clerk at every location sells this many vouchers in one batch, so
    /// the routers' reports name vouchers mtm issued (with `--login-chance 1`, all in use), as
    /// in a real chain, rather than only users made on the router.
    #[arg(long, default_value_t = 0)]
    vouchers_each: u32,
    /// After the run: edit the package and time until every router reports the new catalog.
    #[arg(long)]
    catalog_edit: bool,
    /// After the run: every agent drops its connection at once and reconnects; time until all
    /// are back with their outboxes drained.
    #[arg(long)]
    storm: bool,
    /// Every this many seconds, one random agent drops its connection for a second.
    #[arg(long)]
    flap_every_s: Option<f64>,
    /// Run every agent's clock this many milliseconds off.
    #[arg(long, default_value_t = 0)]
    clock_skew_ms: i64,
    /// The server's process id (same machine): its resident memory and CPU over the window
    /// are reported.
    #[arg(long)]
    server_pid: Option<u32>,
    /// At the end, wait at most this long for every outbox to drain.
    #[arg(long, default_value_t = 120.0)]
    drain_s: f64,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().cmd {
        Cmd::Run(a) => run(a).await,
        Cmd::FillDb(a) => fill::fill(&a).await,
        Cmd::PageLoad(a) => load::load(&a).await,
        Cmd::VerifyRate { seconds } => {
            let rate = measure::verify_rate(Duration::from_secs(seconds))?;
            println!("{}", json!({"ed25519_verifies_per_s_one_core": rate}));
            Ok(())
        }
        Cmd::RawInsert {
            database_url,
            rows,
            batch,
            per_statement,
        } => {
            let rate = measure::raw_insert(&database_url, rows, batch, per_statement).await?;
            println!(
                "{}",
                json!({"raw_usage_inserts_per_s": rate, "rows": rows, "batch": batch,
                    "per_statement": per_statement})
            );
            Ok(())
        }
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.001))
}

async fn run(a: RunArgs) -> Result<()> {
    let admin = Api::login(&a.server, &a.admin_user, &a.admin_password).await?;
    let t = Instant::now();
    let sites = enroll_sites(&admin, &a.prefix, a.agents, a.enroll_parallel).await?;
    eprintln!(
        "enrolled {} agents in {:.1} s",
        sites.len(),
        t.elapsed().as_secs_f64()
    );
    let package_id = if a.staff > 0 || a.catalog_edit || a.batch > 0 || a.vouchers_each > 0 {
        Some(admin.package(&format!("{}-1h", a.prefix), 500).await?)
    } else {
        None
    };
    let settings = AgentSettings {
        usage_every: secs(a.usage_s),
        health_every: secs(a.health_s),
        inventory_every: secs(a.inventory_s),
        extra_users: a.extra_users,
        customers: mtm_routeros::CustomerProfile {
            login_chance: a.login_chance,
            ..Default::default()
        },
        // Selling thousands of vouchers under the full report load would measure the load.
        start_quiet: a.vouchers_each > 0,
        ..Default::default()
    };
    let fleet = Fleet::start(
        sites.iter().map(|s| s.identity.clone()).collect(),
        &settings,
    );
    if a.clock_skew_ms != 0 {
        fleet.inject_all(Fault::ClockSkew(a.clock_skew_ms));
    }
    let online = fleet
        .online(Duration::from_secs(300))
        .await
        .context("agents did not all come online")?;
    eprintln!(
        "{} agents online in {:.1} s",
        a.agents,
        online.as_secs_f64()
    );
    let mut clerks = Vec::new();
    if package_id.is_some() {
        for (i, site) in sites.iter().take(a.staff).enumerate() {
            clerks.push(
                Clerk::on_shift(&admin, &format!("{}-clerk{i}", a.prefix), &site.location_id)
                    .await?,
            );
        }
        // The catalog reaches every router before the first sale.
        fleet.settled(Duration::from_secs(300)).await;
    }
    if let (n @ 1.., Some(pid)) = (a.vouchers_each, &package_id) {
        let t = Instant::now();
        sell_everywhere(&admin, &a.prefix, &sites, pid, n).await?;
        fleet
            .holding(n as usize, Duration::from_secs(600))
            .await
            .context("the vouchers did not all reach their routers")?;
        eprintln!(
            "{n} vouchers on each of {} routers in {:.1} s",
            sites.len(),
            t.elapsed().as_secs_f64()
        );
    }
    fleet.inject_all(Fault::Speak);
    let batch_clerk = match (a.batch, sites.first()) {
        (0, _) | (_, None) => None,
        (_, Some(site)) => {
            Some(Clerk::on_shift(&admin, &format!("{}-batch", a.prefix), &site.location_id).await?)
        }
    };
    tokio::time::sleep(secs(a.warmup_s)).await;

    let before = fleet.stats.summary();
    let cpu_before = a.server_pid.and_then(measure::cpu_ticks);
    let stages_before = measure::ingest_stage_seconds(&a.server).await;
    let started = Instant::now();
    let until = started + secs(a.duration_s);
    let clicks = Arc::new(Mutex::new(Vec::new()));
    let mut sellers = Vec::new();
    for clerk in clerks {
        let (clicks, pid) = (clicks.clone(), package_id.clone().unwrap_or_default());
        let every = Duration::from_millis(a.sell_every_ms);
        sellers.push(tokio::spawn(async move {
            clerk.sell_until(&pid, every, until, clicks).await
        }));
    }
    let flapper = a.flap_every_s.map(|every| {
        let faults: Vec<_> = fleet.agents.iter().map(|x| x.faults.clone()).collect();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(secs(every));
            tick.tick().await;
            while Instant::now() < until {
                tick.tick().await;
                let i = rand::random::<usize>() % faults.len().max(1);
                if let Some(f) = faults.get(i) {
                    let _ = f.send(Fault::Disconnect(Duration::from_secs(1)));
                }
            }
        })
    });
    tokio::time::sleep_until(until.into()).await;
    let window = started.elapsed().as_secs_f64();
    let after = fleet.stats.summary();
    // Each ingest stage's busy share of the window: the one near 1 is what holds ingest back.
    let stage_busy: BTreeMap<String, f64> = measure::ingest_stage_seconds(&a.server)
        .await
        .into_iter()
        .map(|(stage, t)| {
            let t0 = stages_before.get(&stage).copied().unwrap_or(0.0);
            (stage, (t - t0) / window)
        })
        .collect();
    let server_cpu_percent = match (cpu_before, a.server_pid.and_then(measure::cpu_ticks)) {
        // Kernel clock ticks are 1/100 s on Linux.
        (Some(b), Some(e)) => Some((e - b) as f64 / window),
        _ => None,
    };
    let server_rss_mib = a
        .server_pid
        .and_then(measure::rss_kib)
        .map(|k| k as f64 / 1024.0);
    for s in sellers {
        s.await?.context("selling")?;
    }
    if let Some(f) = flapper {
        let _ = f.await;
    }
    let drained = fleet.settled(secs(a.drain_s)).await;
    let clicks = clicks.lock().map(|c| c.clone()).unwrap_or_default();
    let (to_router, http, not_applied) = latencies(&clicks, &fleet.stats);

    let mut out = json!({
        "agents": a.agents,
        "online_after_s": online.as_secs_f64(),
        "window_s": window,
        "usage_entries_acked_per_s": (after.usage_entries_acked - before.usage_entries_acked) as f64 / window,
        "messages_acked_per_s": (after.acked - before.acked) as f64 / window,
        "vouchers_sold": clicks.len(),
        "vouchers_not_on_router": not_applied,
        "click_to_router_ms": to_router,
        "dispense_http_ms": http,
        "drained_after_s": drained.map(|d| d.as_secs_f64()),
        "server_cpu_percent": server_cpu_percent,
        "server_rss_mib": server_rss_mib,
        "ingest_stage_busy": stage_busy,
        "fleet": fleet.stats.summary(),
    });
    if let (Some(clerk), Some(agent)) = (batch_clerk, fleet.agents.first()) {
        let pid = package_id.clone().unwrap_or_default();
        let before = agent.view.router().vouchers().len();
        let t = Instant::now();
        let (batch_id, answered) = clerk.batch(&pid, a.batch).await?;
        let want = before + a.batch as usize;
        while agent.view.router().vouchers().len() < want {
            if t.elapsed() > Duration::from_secs(600) {
                bail!("the batch did not reach the router in 600 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let on_router = t.elapsed();
        let a4 = clerk.print_batch(batch_id, a.batch, "a4").await?;
        let strips = clerk.print_batch(batch_id, a.batch, "58").await?;
        out["batch"] = json!({"count": a.batch, "answered_s": answered.as_secs_f64(),
                              "on_router_s": on_router.as_secs_f64(),
                              "print_a4_s": a4.as_secs_f64(),
                              "print_strips_58mm_s": strips.as_secs_f64()});
    }
    if a.catalog_edit {
        let pid = package_id.clone().unwrap_or_default();
        out["catalog_convergence_s"] = json!(catalog_convergence(&admin, &pid).await?);
    }
    if a.storm {
        let t = Instant::now();
        fleet.inject_all(Fault::Restart);
        // Wait until they have noticed, then until every one is back and drained.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let back = fleet.settled(Duration::from_secs(600)).await;
        out["reconnect_storm_s"] = json!(back.map(|_| t.elapsed().as_secs_f64()));
    }
    fleet.stop().await;
    println!("{out}");
    if drained.is_none() {
        bail!("outboxes not drained within {} s", a.drain_s);
    }
    Ok(())
}

/// A clerk at every site's location sells `each` vouchers of `package_id` in one batch, a few
/// sites at a time.
async fn sell_everywhere(
    admin: &Api,
    prefix: &str,
    sites: &[Site],
    package_id: &str,
    each: u32,
) -> Result<()> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    stream::iter(sites.iter().enumerate())
        .map(|(i, site)| async move {
            let clerk =
                Clerk::on_shift(admin, &format!("{prefix}-seller{i}"), &site.location_id).await?;
            clerk.batch(package_id, each).await.map(|_| ())
        })
        .buffer_unordered(8)
        .try_collect::<()>()
        .await
}

/// Edit the package (a new rate limit) and time until the server shows every router on the
/// new catalog version.
async fn catalog_convergence(admin: &Api, package_id: &str) -> Result<f64> {
    let before = admin.get("/api/catalog/convergence").await?["catalog_version"].clone();
    let t = Instant::now();
    admin
        .call(
            reqwest::Method::PUT,
            &format!("/api/packages/{package_id}"),
            Some(
                json!({"name": "Package edited", "price_minor": 500, "limit_uptime_s": 3600,
                        "rate_limit": format!("{}M/10M", 1 + rand::random::<u8>() % 9),
                        "shared_users": 1, "active": true}),
            ),
        )
        .await?;
    loop {
        let c: Value = admin.get("/api/catalog/convergence").await?;
        if c["catalog_version"] != before && c["stragglers"] == 0 {
            return Ok(t.elapsed().as_secs_f64());
        }
        if t.elapsed() > Duration::from_secs(600) {
            bail!("catalog did not converge in 600 s: {}", c["stragglers"]);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
