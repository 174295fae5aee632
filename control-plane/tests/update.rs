//! Signed agent updates end to end (issue #8): the server in process, the real `mtm-agent`
//! binary copied into a temp dir and run from there (so an update can replace it), a simulated
//! router. An admin uploads a release signed offline with `mtm-server release sign`, rolls it out
//! to the router; the agent downloads it with its MQTT credentials, verifies it, swaps its binary,
//! re-execs (`run --exec-on-update`), and reports the new version; its trial is committed once
//! its Hello is acknowledged. A tampered download and a release signed with another key are
//! refused with the reason, and the running version keeps working (online, applying vouchers).
//! A trial past its deadline is rolled back at the next start.
//!
//! The "second build" is the same bytes signed as version 0.1.1: building a really different
//! agent binary would need a second full build (minutes on a 2-core runner, or disturbing the
//! shared target dir). The agent reports the version of the signed release it installed (a
//! `.release.json` beside the binary, believed only when its SHA-256 matches the running bytes).
//!
//! Needs the binaries built (`cargo build -p mtm-agent`); fails, never skips, without them.

mod support;

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use mtm_control_plane::store::{NewLocation, NewUser, Role};
use mtm_control_plane::{start, MqttConfig, ServerConfig};
use mtm_routeros::sim::{SimConfig, Simulator};
use serde_json::{json, Value};
use support::{bin, wait_for, Api, Proc};

fn run(path: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(path)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Sign `binary` as `version` with `key`; the signature JSON `release sign` prints.
fn sign(key: &Path, version: &str, binary: &Path) -> Value {
    let target = mtm_agent::update::this_target();
    let out = run(
        &bin("mtm-server"),
        &[
            "release",
            "sign",
            "--key",
            key.to_str().unwrap(),
            "--target",
            &target,
            "--version",
            version,
            binary.to_str().unwrap(),
        ],
    );
    serde_json::from_str(&out).unwrap()
}

async fn upload(api: &Api, admin: &str, signed: &Value, binary: &[u8]) -> String {
    let body = json!({
        "version": signed["version"], "target": signed["target"],
        "signature_hex": signed["signature_hex"],
        "binary_base64": base64::engine::general_purpose::STANDARD.encode(binary),
    });
    let r: Value = api.post(admin, "/api/releases", body).await;
    r["id"].as_str().unwrap().to_owned()
}

async fn router_field(api: &Api, admin: &str, field: &str) -> Value {
    let routers: Vec<Value> = api.get(admin, "/api/routers").await;
    routers
        .iter()
        .find(|r| r["agent_id"] == "r1")
        .map(|r| r[field].clone())
        .unwrap_or(Value::Null)
}

/// The stored outcome of one command: (state, result).
async fn command_outcome(db_url: &str, id: &str) -> (String, Option<String>) {
    use sqlx::Row;
    let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
    let row = sqlx::query("SELECT state, result FROM agent_commands WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    let out = (row.get("state"), row.get("result"));
    pool.close().await;
    out
}

async fn refused(api: &Api, admin: &str, db_url: &str, release: &str, why: &str) {
    let r: Value = api
        .post(
            admin,
            &format!("/api/releases/{release}/rollout"),
            json!({"agent_ids": ["r1"]}),
        )
        .await;
    let cmd = r["commands"][0]["command_id"].as_str().unwrap().to_owned();
    wait_for("the update refused", Duration::from_secs(60), || async {
        let (state, result) = command_outcome(db_url, &cmd).await;
        state == "failed" && result.unwrap_or_default().contains(why)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_update_installs_restarts_and_tampering_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cp_dir = dir.path().join("cp");
    let server = start(ServerConfig {
        data_dir: cp_dir.clone(),
        http_bind: "127.0.0.1:0".parse().unwrap(),
        mqtt: MqttConfig::Embedded {
            bind: "127.0.0.1:0".parse().unwrap(),
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let db_url = format!("sqlite://{}", cp_dir.join("mtm.db").display());
    let store = server.store();
    let loc = store
        .create_location(NewLocation {
            name: "Cafe".into(),
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
    store
        .create_user(NewUser {
            username: "root".into(),
            password: "admin-pass-123".into(),
            role: Role::SuperAdmin,
            location_ids: vec![],
        })
        .await
        .unwrap();
    let sim = Simulator::start(SimConfig {
        logins: vec![("api".into(), "router-pass".into())],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let api = Api::new(&server.http_addr().to_string());
    let admin = api.login("root", "admin-pass-123").await;

    // The device: the agent binary in its own directory, its key, and a router record.
    let dev = dir.path().join("device");
    let data = dev.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let exe = dev.join("mtm-agent");
    std::fs::copy(bin("mtm-agent"), &exe).unwrap();
    let original = std::fs::read(&exe).unwrap();
    let agent_pub = run(&exe, &["keygen", "--data-dir", data.to_str().unwrap()]);
    let router: Value = api
        .post(
            &admin,
            "/api/routers",
            json!({"location_id": loc.id, "name": "R1", "agent_id": "r1",
                   "public_key_hex": agent_pub.trim()}),
        )
        .await;
    // The release key lives with the admin, not the server; agents pin its public half.
    let release_key = dir.path().join("release.key");
    let release_pub = run(
        &bin("mtm-server"),
        &["release", "keygen", "--out", release_key.to_str().unwrap()],
    );
    let info: Value = api.get(&admin, "/api/system/info").await;
    let mqtt = server.mqtt_addr();
    let config = dev.join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "agent_id = \"r1\"\ndata_dir = {data:?}\ncontrol_plane_key = {cpk:?}\nstatus_listen = \"127.0.0.1:0\"\n\
             release_key = {rk:?}\nupdate_server = \"http://{http}\"\n\
             [mqtt]\nhost = \"{mh}\"\nport = {mp}\nusername = \"r1\"\npassword = {pw:?}\n\
             [router]\naddr = \"{sim}\"\nusername = \"api\"\npassword = \"router-pass\"\n\
             [intervals]\nusage_poll_s = 1\nhealth_s = 1\n",
            data = data.display().to_string(),
            cpk = info["control_plane_public_key"].as_str().unwrap(),
            rk = release_pub.trim(),
            http = server.http_addr(),
            mh = mqtt.ip(),
            mp = mqtt.port(),
            pw = router["mqtt_password"].as_str().unwrap(),
            sim = sim.addr(),
        ),
    )
    .unwrap();
    let mut agent = Proc::spawn(
        exe.clone(),
        &[
            "run",
            "--config",
            config.to_str().unwrap(),
            "--exec-on-update",
        ],
    )
    .await;
    agent.line_after("status on ").await;
    let pid = agent.pid();
    wait_for("r1 online at 0.1.0", Duration::from_secs(30), || async {
        router_field(&api, &admin, "online").await == true
            && router_field(&api, &admin, "agent_version").await == "0.1.0"
    })
    .await;

    // A signed 0.1.1, rolled out to r1: installed, restarted in place, reported.
    let signed = sign(&release_key, "0.1.1", &exe);
    let id = upload(&api, &admin, &signed, &original).await;
    let listed: Vec<Value> = api.get(&admin, "/api/releases").await;
    assert_eq!(listed[0]["sha256_hex"], signed["sha256_hex"]);
    let r: Value = api
        .post(
            &admin,
            &format!("/api/releases/{id}/rollout"),
            json!({"agent_ids": ["r1"]}),
        )
        .await;
    let cmd = r["commands"][0]["command_id"].as_str().unwrap().to_owned();
    wait_for("r1 reports 0.1.1", Duration::from_secs(60), || async {
        router_field(&api, &admin, "agent_version").await == "0.1.1"
            && router_field(&api, &admin, "online").await == true
    })
    .await;
    assert_eq!(
        agent.pid(),
        pid,
        "re-exec keeps the process (and supervisor)"
    );
    wait_for("the update done", Duration::from_secs(30), || async {
        command_outcome(&db_url, &cmd).await.0 == "done"
    })
    .await;
    // The trial passed (its Hello was acknowledged): marker and backup gone.
    wait_for("the trial committed", Duration::from_secs(30), || async {
        !data.join(mtm_agent::update::PENDING_FILE).exists() && !dev.join("mtm-agent.prev").exists()
    })
    .await;

    // Tampered in storage (or on the way): the hash differs, refused, nothing installed.
    let signed = sign(&release_key, "0.1.2", &exe);
    let bad = upload(&api, &admin, &signed, &original).await;
    let stored = cp_dir.join("releases").join(format!("{bad}.bin"));
    let mut bytes = std::fs::read(&stored).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&stored, &bytes).unwrap();
    refused(&api, &admin, &db_url, &bad, "SHA-256").await;

    // Signed with another key: refused by signature.
    let other_key = dir.path().join("other.key");
    run(
        &bin("mtm-server"),
        &["release", "keygen", "--out", other_key.to_str().unwrap()],
    );
    let forged = sign(&other_key, "0.1.2", &exe);
    let bad = upload(&api, &admin, &forged, &original).await;
    refused(&api, &admin, &db_url, &bad, "signature").await;

    // The old version keeps running: same binary, same version, online, applying vouchers.
    assert_eq!(std::fs::read(&exe).unwrap(), original);
    assert_eq!(agent.pid(), pid);
    assert_eq!(router_field(&api, &admin, "agent_version").await, "0.1.1");
    assert_eq!(router_field(&api, &admin, "online").await, true);
    let package: Value = api
        .post(
            &admin,
            "/api/packages",
            json!({"slug": "1h", "name": "One hour", "price_minor": 500, "currency": "USD",
                   "limit_uptime_s": 3600, "shared_users": 1, "uses_password": false}),
        )
        .await;
    api.post::<Value>(
        &admin,
        "/api/auth/register",
        json!({"username": "sam", "password": "staff-pass-123", "role": "staff",
               "location_ids": [loc.id]}),
    )
    .await;
    let staff = api.login("sam", "staff-pass-123").await;
    api.post::<Value>(
        &staff,
        "/api/shifts/clock-in",
        json!({"opening_float_minor": 1000}),
    )
    .await;
    let token: Value = api
        .post(
            &staff,
            "/api/tokens/generate",
            json!({"package_id": package["id"]}),
        )
        .await;
    let code = token["code"].as_str().unwrap().to_owned();
    wait_for(
        "the voucher on the router",
        Duration::from_secs(30),
        || async { sim.users().iter().any(|u| u.name == code) },
    )
    .await;

    // A trial whose deadline passed while the new version never proved healthy (here: the
    // agent was down past it): the next start puts the previous binary and its version back.
    agent.kill().await;
    std::fs::copy(&exe, dev.join("mtm-agent.prev")).unwrap();
    std::fs::write(dev.join("mtm-agent.release.json.prev"), "").unwrap();
    let pending = mtm_agent::update::Pending {
        from_version: "0.1.0".into(),
        to_version: "0.1.1".into(),
        deadline_ms: mtm_control_plane::store::now_ms() - 1,
    };
    mtm_agent::update::write_pending(&data, &pending).unwrap();
    let mut agent = Proc::spawn(
        exe.clone(),
        &[
            "run",
            "--config",
            config.to_str().unwrap(),
            "--exec-on-update",
        ],
    )
    .await;
    wait_for(
        "r1 rolled back to 0.1.0",
        Duration::from_secs(60),
        || async {
            router_field(&api, &admin, "agent_version").await == "0.1.0"
                && router_field(&api, &admin, "online").await == true
        },
    )
    .await;
    assert!(!data.join(mtm_agent::update::PENDING_FILE).exists());
    assert!(!dev.join("mtm-agent.prev").exists());

    agent.kill().await;
    sim.shutdown().await;
    server.shutdown().await;
}
