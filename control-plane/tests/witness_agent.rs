//! Agents as witnesses of the ledger and audit log: a control plane restored from an older
//! backup of its SQLite file (cp.key and all, as after a lost disk) hears from the agent, as soon
//! as it subscribes, the checkpoints the lost rows were counted in, logs the disagreement in
//! its metrics, and `mtm-server audit verify` names the missing rows and the agent that saw
//! them. Private Mosquitto, the real agent and router simulator, the server binary for the
//! verdict.

mod support;

use mtm_agent::{Agent, AgentConfig};
use mtm_common::checkpoint::{AUDIT_CHAIN, LEDGER_CHAIN};
use mtm_control_plane::{start, MqttConfig, ServerConfig, ServerHandle};
use mtm_routeros::sim::{SimConfig, Simulator};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use support::{wait_for, Api};
use tokio::process::{Child, Command};

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A private Mosquitto on `port` (never the shared one), up once it accepts connections.
async fn mosquitto(port: u16) -> Child {
    let child = Command::new("mosquitto")
        .args(["-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("mosquitto is installed (scripts/tools.txt)");
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_for("mosquitto listening", Duration::from_secs(10), || async {
        tokio::net::TcpStream::connect(addr).await.is_ok()
    })
    .await;
    child
}

async fn server_on(data: &Path, mqtt_port: u16) -> ServerHandle {
    start(ServerConfig {
        data_dir: data.to_owned(),
        http_bind: "127.0.0.1:0".parse().unwrap(),
        mqtt: MqttConfig::External {
            host: "127.0.0.1".into(),
            port: mqtt_port,
            username: None,
            password: None,
        },
        checkpoint_every_s: 1,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Sell one voucher and wait until it is on the router; its code.
async fn sell(api: &Api, staff: &str, package: &Value) -> String {
    let token: Value = api
        .post(
            staff,
            "/api/tokens/generate",
            json!({"package_id": package["id"]}),
        )
        .await;
    let path = format!("/api/tokens/{}", token["id"].as_str().unwrap());
    wait_for(
        "the voucher on the router",
        Duration::from_secs(30),
        || async { api.get::<Value>(staff, &path).await["state"] == "applied" },
    )
    .await;
    token["code"].as_str().unwrap().to_owned()
}

/// Rows in each chain of the SQLite file at `db`.
async fn chain_rows(db: &Path) -> (u64, u64) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let mut rows = [0u64; 2];
    for (i, table) in [LEDGER_CHAIN, AUDIT_CHAIN].into_iter().enumerate() {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        rows[i] = n as u64;
    }
    pool.close().await;
    (rows[0], rows[1])
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_older_backup_is_named_by_what_the_agent_witnessed() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _broker = mosquitto(port).await;
    let first = dir.path().join("server");
    let server = server_on(&first, port).await;
    let (api, admin) = support::root_on(&server).await;

    let agent_dir = dir.path().join("agent");
    std::fs::create_dir_all(&agent_dir).unwrap();
    let key = mtm_agent::load_or_create_key(&agent_dir).unwrap();
    let agent_pub = mtm_common::keys::public_key_hex(&key.verifying_key());
    let support::Cafe {
        package, router, ..
    } = support::one_cafe(&api, &admin, &agent_pub).await;
    let sim = Simulator::start(SimConfig {
        logins: vec![("api".into(), "routerpass".into())],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut cfg = AgentConfig {
        agent_id: "r1".into(),
        data_dir: agent_dir,
        control_plane_key: server.control_plane_public_key_hex(),
        ..Default::default()
    };
    // Inventories often, so the restored server soon sees the vouchers it lost.
    cfg.intervals.inventory_s = 1;
    cfg.mqtt.host = "127.0.0.1".into();
    cfg.mqtt.port = port;
    cfg.mqtt.username = Some("r1".into());
    cfg.mqtt.password = router["mqtt_password"].as_str().map(str::to_owned);
    cfg.router.addr = sim.addr().to_string();
    cfg.router.username = "api".into();
    cfg.router.password = "routerpass".into();
    let agent = Agent::start(cfg).await.unwrap();

    let staff = api.login("sam", "staff-pass-123").await;
    api.post::<Value>(
        &staff,
        "/api/shifts/clock-in",
        json!({"opening_float_minor": 1000}),
    )
    .await;
    sell(&api, &staff, &package).await;
    sell(&api, &staff, &package).await;

    // The nightly backup, taken the way docs/deploy.md says (consistent while serving).
    let db = first.join("mtm.db");
    let backup = dir.path().join("backup.db");
    let out = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg(format!(".backup '{}'", backup.display()))
        .output()
        .expect("sqlite3 is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (backup_ledger, backup_audit) = chain_rows(&backup).await;

    // The day goes on after the backup: three more sales, witnessed by the agent.
    let mut lost = Vec::new();
    for _ in 0..3 {
        lost.push(sell(&api, &staff, &package).await);
    }
    let store = server.store();
    let ledger = store.chain_head(LEDGER_CHAIN).await.unwrap().rows;
    let audit = store.chain_head(AUDIT_CHAIN).await.unwrap().rows;
    assert!(ledger > backup_ledger && audit > backup_audit);
    let after = mtm_control_plane::store::now_ms();
    wait_for(
        "a checkpoint signed after the sales kept by the agent",
        Duration::from_secs(30),
        || async {
            agent
                .status()
                .newest_checkpoint_at
                .is_some_and(|at| at > after)
        },
    )
    .await;
    drop(store);
    server.shutdown().await;

    // The disk is lost; the server comes back on another machine from the backup, with the
    // same key (docs/deploy.md keeps cp.key with the backups).
    let second = dir.path().join("restored");
    std::fs::create_dir_all(&second).unwrap();
    for entry in std::fs::read_dir(&first).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_file() && !name.starts_with("mtm.db") {
            std::fs::copy(&path, second.join(&name)).unwrap();
        }
    }
    std::fs::copy(&backup, second.join("mtm.db")).unwrap();
    let server = server_on(&second, port).await;

    // On subscribing it asks every agent for its checkpoints; the agent's answer disagrees.
    let metrics = format!("http://{}/metrics", server.http_addr());
    wait_for(
        "the agent's checkpoints found at odds with the database",
        Duration::from_secs(30),
        || async {
            let text = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
            metric(&text, "mtm_witness_disagreements_total") > 0
        },
    )
    .await;
    let witnessed = server.store().witnessed_checkpoints().await.unwrap();
    let counted = |chain: &str| {
        witnessed
            .iter()
            .filter(|(w, c)| w == "r1" && c.chain == chain)
            .map(|(_, c)| c.rows)
            .max()
            .unwrap_or(0)
    };
    let (seen_ledger, seen_audit) = (counted(LEDGER_CHAIN), counted(AUDIT_CHAIN));
    assert!(seen_ledger >= ledger, "{seen_ledger} < {ledger}");
    assert!(seen_audit >= audit, "{seen_audit} < {audit}");
    // Raised as alerts too, which reach the notification channels: one per chain, naming
    // the rows, however many times the agent answers; and the vouchers sold after the backup,
    // which the router still carries and the agent vouches for, as the database's loss. Not
    // one of them is a rogue voucher blamed on sam, whose shift the backup shows open.
    // Read from the store: a login through the API would add an audit row of its own.
    let store = server.store();
    let all_alerts = || async {
        store
            .list_alerts(&mtm_control_plane::store::AlertFilter::default())
            .await
            .unwrap()
    };
    wait_for(
        "the lost vouchers reported from an inventory",
        Duration::from_secs(30),
        || async {
            all_alerts()
                .await
                .iter()
                .any(|a| lost.iter().any(|c| a.evidence["code"] == c.as_str()))
        },
    )
    .await;
    let alerts = all_alerts().await;
    for a in &alerts {
        assert_eq!(
            a.kind.as_str(),
            "witness_mismatch",
            "nothing else is alerted: {alerts:?}"
        );
        assert_eq!(a.severity.as_str(), "critical");
        assert!(a.staff_id.is_none(), "{a:?}");
    }
    let missing = alerts
        .iter()
        .filter(|a| a.summary.contains("missing"))
        .count();
    assert_eq!(missing, 2, "{alerts:?}");
    drop(store);
    server.shutdown().await;

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mtm-server"))
        .args(["audit", "verify"])
        .env_remove("MTM_DATABASE_URL")
        .env_remove("MTM_CHECKPOINT_DIR")
        .env("MTM_DATA_DIR", &second)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    // Both chains are intact as far as they go; what the backup never had is named.
    assert!(
        text.contains(&format!("token_ledger: {backup_ledger} rows, chain intact")),
        "{text}"
    );
    let missing = format!(
        "token_ledger: rows {}–{seen_ledger} missing",
        backup_ledger + 1
    );
    assert!(text.contains(&missing), "{text}");
    let missing = format!("audit_log: rows {}–{seen_audit} missing", backup_audit + 1);
    assert!(text.contains(&missing), "{text}");
    assert!(text.contains("(agent r1)"), "{text}");

    agent.shutdown().await;
    sim.shutdown().await;
}
