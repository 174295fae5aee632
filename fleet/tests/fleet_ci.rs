//! The bounded fleet runs CI does, against a real server in this process: simulated agents, each
//! enrolled through the API with its own key and on its own MQTT connection, report usage every
//! second while staff sell vouchers through the API and agents drop their connections, restart
//! and run their clocks off. Once on the embedded broker with SQLite, once on a private
//! Mosquitto (Dynamic Security: every agent's login made by the server at enrollment) with
//! PostgreSQL.
//!
//! They assert correctness, not speed: every command the server issued is done, every voucher is
//! on its own router and no other, every usage entry an agent had acknowledged is stored exactly
//! once (counts and sums per router), and each voucher's stored counters equal its stored deltas.
//!
//! `MTM_FLEET_CI_AGENTS` and `MTM_FLEET_CI_SELL_S` make the run larger (default 20 agents, 4 s
//! of selling).

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mtm_control_plane::{start, MqttConfig, ServerConfig, ServerHandle};
use mtm_fleet::dispense::Clerk;
use mtm_fleet::setup::{enroll_sites, Api};
use mtm_fleet::{AgentSettings, Fault, Fleet};
use support::{wait_for, Db};

const CLERKS: usize = 2;
/// Generous: the machines running CI share their cores and their PostgreSQL with other suites.
const LIMIT: Duration = Duration::from_secs(300);

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_on_embedded_broker_and_sqlite() {
    support::logs();
    let dir = tempfile::tempdir().unwrap();
    let server = start(ServerConfig {
        data_dir: dir.path().to_owned(),
        http_bind: "127.0.0.1:0".parse().unwrap(),
        mqtt: MqttConfig::Embedded {
            bind: "127.0.0.1:0".parse().unwrap(),
        },
        ..Default::default()
    })
    .await
    .expect("the server starts");
    let db = format!("sqlite://{}", dir.path().join("mtm.db").display());
    run_fleet(&server, Db::connect(&db).await, "emb").await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_on_mosquitto_dynsec_and_postgres() {
    support::logs();
    let dir = tempfile::tempdir().unwrap();
    let server_password = uuid::Uuid::new_v4().simple().to_string();
    let broker = support::start_mosquitto(dir.path(), &server_password).await;
    let (schema, db) = support::postgres_schema().await;
    let server = start(ServerConfig {
        data_dir: dir.path().join("data"),
        database_url: db.clone(),
        http_bind: "127.0.0.1:0".parse().unwrap(),
        mqtt: MqttConfig::External {
            host: "127.0.0.1".into(),
            port: broker.port,
            username: Some(support::SERVER_USER.into()),
            password: Some(server_password),
        },
        mqtt_dynsec: true,
        ..Default::default()
    })
    .await
    .expect("the server starts and sets up its dynsec roles");
    run_fleet(&server, Db::connect(&db).await, "mos").await;
    server.shutdown().await;
    support::drop_schema(&schema).await;
}

/// Enroll the fleet on `server`, sell and inject faults for a while, let every outbox drain,
/// and compare what the agents were told with what `db` holds.
async fn run_fleet(server: &ServerHandle, db: Db, prefix: &str) {
    let agents = usize::try_from(env_or("MTM_FLEET_CI_AGENTS", 20)).unwrap();
    let selling = Duration::from_secs(env_or("MTM_FLEET_CI_SELL_S", 4));
    support::root(server).await;
    let base = format!("http://{}", server.http_addr());
    let admin = Api::login(&base, "root", support::ROOT_PASSWORD)
        .await
        .unwrap();

    let sites = enroll_sites(&admin, prefix, agents, 8).await.unwrap();
    let package = admin.package(&format!("{prefix}-1h"), 500).await.unwrap();
    let settings = AgentSettings {
        usage_every: Duration::from_secs(1),
        health_every: Duration::from_secs(5),
        inventory_every: Duration::from_secs(10),
        extra_users: 2,
        resend_after: Duration::from_secs(10),
        customers: mtm_routeros::CustomerProfile {
            login_chance: 0.5,
            ..Default::default()
        },
        ..Default::default()
    };
    let fleet = Fleet::start(
        sites.iter().map(|s| s.identity.clone()).collect(),
        &settings,
    );
    fleet.online(LIMIT).await.unwrap_or_else(|| {
        panic!(
            "every agent online with its hello acknowledged: {} connected, {} greeted, {} \
                 waiting in outboxes of {agents}: {:?}",
            fleet.connected(),
            fleet.greeted(),
            fleet.outbox_total(),
            fleet.stats.summary()
        )
    });

    let mut clerks = Vec::new();
    for (i, site) in sites.iter().take(CLERKS).enumerate() {
        let name = format!("{prefix}-clerk{i}");
        clerks.push(
            Clerk::on_shift(&admin, &name, &site.location_id)
                .await
                .unwrap(),
        );
    }
    let until = Instant::now() + selling;
    let clicks = Arc::new(Mutex::new(Vec::new()));
    let sellers: Vec<_> = clerks
        .into_iter()
        .map(|c| {
            let (clicks, package) = (clicks.clone(), package.clone());
            tokio::spawn(async move {
                c.sell_until(&package, Duration::from_millis(200), until, clicks)
                    .await
            })
        })
        .collect();
    // Faults while selling: a connection dropped (at a selling site first), a restart, a clock
    // a few seconds off.
    let mut faults = tokio::time::interval(Duration::from_millis(700));
    let mut n = 0;
    while Instant::now() < until {
        faults.tick().await;
        let pick = |k: usize| &fleet.agents[k % agents];
        let _ = pick(n)
            .faults
            .send(Fault::Disconnect(Duration::from_millis(800)));
        let _ = pick(n * 7 + 3).faults.send(Fault::Restart);
        let _ = pick(n * 11 + 5).faults.send(Fault::ClockSkew(3_000));
        n += 1;
    }
    for s in sellers {
        s.await.unwrap().unwrap();
    }
    let clicks = clicks.lock().unwrap().clone();
    assert!(
        clicks.len() >= CLERKS,
        "staff sold only {} vouchers",
        clicks.len()
    );

    // No new reports from here on, so what was sent can be compared with what was stored.
    fleet.inject_all(Fault::Quiet);
    // Every command the server issued (catalog and vouchers) is carried out and answered.
    wait_for("every command done", LIMIT, || async {
        db.int(
            "SELECT COUNT(*) FROM agent_commands WHERE state <> 'done'",
            &[],
        )
        .await
            == 0
    })
    .await;
    fleet.settled(LIMIT).await.expect("every outbox drained");
    let commands = db.int("SELECT COUNT(*) FROM agent_commands", &[]).await;
    assert!(
        usize::try_from(commands).unwrap() >= clicks.len() + agents,
        "{commands} commands"
    );

    // Every voucher is on the router of the location it was sold at, and on no other.
    let location_of: HashMap<&str, usize> = sites
        .iter()
        .enumerate()
        .map(|(i, s)| (s.location_id.as_str(), i))
        .collect();
    let mut held: HashMap<uuid::Uuid, Vec<usize>> = HashMap::new();
    for (i, a) in fleet.agents.iter().enumerate() {
        for t in a.view.router().vouchers() {
            held.entry(t).or_default().push(i);
        }
    }
    for c in &clicks {
        let want = location_of[c.location_id.as_str()];
        assert_eq!(
            held.get(&c.token_id),
            Some(&vec![want]),
            "voucher {} sold at router {want}",
            c.token_id
        );
        assert!(fleet.stats.applied_at(c.token_id).is_some());
    }
    assert_eq!(held.len(), clicks.len(), "no voucher nobody sold");
    let tokens = db.int("SELECT COUNT(*) FROM tokens", &[]).await;
    assert_eq!(usize::try_from(tokens).unwrap(), clicks.len());
    let unapplied = db
        .int("SELECT COUNT(*) FROM tokens WHERE applied_at IS NULL", &[])
        .await;
    assert_eq!(unapplied, 0, "the server knows every sale as applied");

    let summary = fleet.stats.summary();
    assert_eq!(summary.enqueued, summary.acked, "{summary:?}");
    assert_eq!(summary.usage_entries, summary.usage_entries_acked);
    assert_eq!(summary.down_refused, 0, "{summary:?}");
    assert!(summary.disconnects > 0, "faults were injected: {summary:?}");
    // Every connection that ended was ended by the agent itself (the faults): the broker cut
    // none, not even a connection made again at once after one just dropped.
    assert!(
        summary.disconnect_reasons.is_empty(),
        "connections ended by the broker: {summary:?}"
    );

    // Every acknowledged usage entry stored once: counts and sums per router are exact.
    let mut entries = 0;
    for (site, agent) in sites.iter().zip(&fleet.agents) {
        let want = agent.view.acked_usage();
        let sum = |col: &str| {
            format!(
                "SELECT CAST(COALESCE(SUM({col}), 0) AS BIGINT) FROM usage WHERE router_id = $1"
            )
        };
        let r = [site.router_id.as_str()];
        let got = (
            db.int("SELECT COUNT(*) FROM usage WHERE router_id = $1", &r)
                .await as u64,
            db.int(&sum("delta_uptime_s"), &r).await as u64,
            db.int(&sum("delta_bytes_in"), &r).await as u64,
            db.int(&sum("delta_bytes_out"), &r).await as u64,
        );
        assert_eq!(
            got,
            (want.entries, want.uptime_s, want.bytes_in, want.bytes_out),
            "usage of {}",
            agent.agent_id
        );
        entries += want.entries;
    }
    assert_eq!(entries, summary.usage_entries);
    assert!(
        usize::try_from(entries).unwrap() >= 2 * agents,
        "only {entries} usage entries"
    );
    eprintln!(
        "{prefix}: {agents} agents, {} vouchers, {commands} commands, {entries} usage entries: {}",
        clicks.len(),
        serde_json::to_string(&summary).unwrap_or_default()
    );

    // Each voucher's stored counters are the sum of its stored deltas (no counter reset).
    let off = db
        .int(
            "SELECT COUNT(*) FROM tokens t WHERE t.bytes_out <>
               (SELECT CAST(COALESCE(SUM(u.delta_bytes_out), 0) AS BIGINT)
                  FROM usage u WHERE u.token_id = t.id)",
            &[],
        )
        .await;
    assert_eq!(off, 0, "voucher totals differ from their usage");
    fleet.stop().await;
}
