//! The field-operations proof, end to end against a running server (in process,
//! embedded broker, SQLite), the real `mtm-agent` binary and a simulated router:
//!
//! 1. an admin makes a router record and a one-time code; the technician's `mtm-agent enroll`
//!    redeems it on the device (pinning the control plane's key and the release key the
//!    server holds in `releases/release.pub`), and `mtm-agent run` brings the router online;
//! 2. an admin adds a package and then edits it: the signed catalog reaches the router as a
//!    hotspot user profile, with the edit, and the console shows the router converged;
//! 3. a release signed offline (`mtm-server release sign`) of a second, really different build of
//!    the agent (stamped `MTM_AGENT_VERSION=0.1.1`, built into its own target dir) is rolled out:
//!    the agent downloads it with its MQTT credentials, verifies it, swaps its binary, re-execs
//!    (`run --exec-on-update`) and reports 0.1.1; its trial is committed;
//! 4. a release signed with another key is refused at upload; a tampered download and a forged
//!    signature put into the server's storage are refused by the agent with the reason, and the
//!    running version keeps working (online, vouchers reach the router);
//! 5. a trial past its deadline is rolled back to the previous build at the next start.
//!
//! Needs the binaries built (`cargo build --workspace --bins`); builds the second agent itself
//! when it is not current. Fails, never skips.

mod support;

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use mtm_control_plane::store::NewLocation;
use mtm_routeros::sim::{SimConfig, SimHandle, Simulator};
use serde_json::{json, Value};
use support::{bin, next_agent_bin, wait_for, Api, Proc, NEXT_AGENT_VERSION};

const AGENT: &str = "cafe-r1";

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

/// The `POST /api/releases` body for `binary` signed as `signed` says.
fn upload_body(signed: &Value, binary: &[u8]) -> Value {
    json!({
        "version": signed["version"], "target": signed["target"],
        "signature_hex": signed["signature_hex"],
        "binary_base64": base64::engine::general_purpose::STANDARD.encode(binary),
    })
}

async fn upload(api: &Api, admin: &str, signed: &Value, binary: &[u8]) -> String {
    let r: Value = api
        .post(admin, "/api/releases", upload_body(signed, binary))
        .await;
    r["id"].as_str().unwrap().to_owned()
}

async fn router_field(api: &Api, admin: &str, field: &str) -> Value {
    let routers: Vec<Value> = api.get(admin, "/api/routers").await;
    routers
        .iter()
        .find(|r| r["agent_id"] == AGENT)
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
            json!({"agent_ids": [AGENT]}),
        )
        .await;
    let cmd = r["commands"][0]["command_id"].as_str().unwrap().to_owned();
    wait_for("the update refused", Duration::from_secs(60), || async {
        let (state, result) = command_outcome(db_url, &cmd).await;
        state == "failed" && result.unwrap_or_default().contains(why)
    })
    .await;
}

/// A profile's property on the simulated router, if the profile is there.
fn profile_prop(sim: &SimHandle, profile: &str, prop: &str) -> Option<String> {
    sim.with_state(|st| {
        st.profile_by_name(profile)
            .and_then(|p| p.props.get(prop).cloned())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enroll_push_a_package_and_update_the_agent() {
    let next = next_agent_bin();
    let dir = tempfile::tempdir().unwrap();
    let cp_dir = dir.path().join("cp");
    let (server, api, admin) = support::embedded_server(&cp_dir).await;
    let db_url = format!("sqlite://{}", cp_dir.join("mtm.db").display());
    let store = server.store();
    let loc = store
        .create_location(NewLocation {
            name: "Cafe".into(),
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
    let sim = Simulator::start(SimConfig {
        logins: vec![("api".into(), "router-pass".into())],
        ..SimConfig::default()
    })
    .await
    .unwrap();

    // The release key lives with the admin, offline. Its public half goes into the server's
    // releases folder (uploads are checked against it, and enrolling devices pin it).
    let release_key = dir.path().join("release.key");
    let release_pub = run(
        &bin("mtm-server"),
        &["release", "keygen", "--out", release_key.to_str().unwrap()],
    );
    std::fs::create_dir_all(cp_dir.join("releases")).unwrap();
    std::fs::write(cp_dir.join("releases").join("release.pub"), &release_pub).unwrap();

    // 1. Enrollment. The admin: a router record without a key, then a code for it.
    let (_, code) = support::router_awaiting_enrollment(&api, &admin, &json!(loc.id), AGENT).await;

    // The technician: the agent binary in its own directory (so an update can replace it), a
    // config with only the router part, then `enroll` and `run`.
    let dev = dir.path().join("device");
    let data = dev.join("data");
    std::fs::create_dir_all(&dev).unwrap();
    let exe = dev.join("mtm-agent");
    std::fs::copy(bin("mtm-agent"), &exe).unwrap();
    let original = std::fs::read(&exe).unwrap();
    let config = dev.join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "status_listen = \"127.0.0.1:0\"\n\
             [router]\naddr = \"{sim}\"\nusername = \"api\"\npassword = \"router-pass\"\n\
             [intervals]\nusage_poll_s = 1\nhealth_s = 1\n",
            sim = sim.addr(),
        ),
    )
    .unwrap();
    let out = run(
        &exe,
        &[
            "enroll",
            "--server",
            &format!("http://{}", server.http_addr()),
            "--code",
            &code,
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
    );
    assert!(out.contains(&format!("enrolled as {AGENT}")), "{out}");
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(
        written.contains(&format!("release_key = \"{}\"", release_pub.trim())),
        "the release key pinned at enrollment: {written}"
    );
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
    let base_version = mtm_agent::version::VERSION;
    assert_ne!(base_version, NEXT_AGENT_VERSION);
    wait_for("the router online", Duration::from_secs(30), || async {
        router_field(&api, &admin, "online").await == true
            && router_field(&api, &admin, "agent_version").await == base_version
    })
    .await;

    // 2. Packages. Added, then edited: the router's profile follows, and the console shows the
    // router on the current catalog version.
    let package: Value = api
        .post(
            &admin,
            "/api/packages",
            json!({"slug": "1h", "name": "One hour", "price_minor": 500, "currency": "USD",
                   "limit_uptime_s": 3600, "shared_users": 1, "uses_password": false}),
        )
        .await;
    wait_for(
        "profile mtm-1h on the router",
        Duration::from_secs(30),
        || async { profile_prop(&sim, "mtm-1h", "shared-users").as_deref() == Some("1") },
    )
    .await;
    let edited: Value = api
        .put(
            &admin,
            &format!("/api/packages/{}", package["id"].as_str().unwrap()),
            json!({"name": "One hour", "price_minor": 600, "limit_uptime_s": 3600,
                   "limit_bytes_total": null, "rate_limit": "2M/4M", "shared_users": 2,
                   "validity_s": null, "active": true}),
        )
        .await;
    assert_eq!(edited["price_minor"], 600);
    wait_for(
        "the edit on the router",
        Duration::from_secs(30),
        || async {
            profile_prop(&sim, "mtm-1h", "rate-limit").as_deref() == Some("2M/4M")
                && profile_prop(&sim, "mtm-1h", "shared-users").as_deref() == Some("2")
        },
    )
    .await;
    let version = mtm_control_plane::catalog::current_catalog(&*store)
        .await
        .unwrap()
        .version;
    wait_for(
        "the router reports the catalog",
        Duration::from_secs(30),
        || async { router_field(&api, &admin, "catalog_version").await == version },
    )
    .await;

    // 3. A signed release of the second build, rolled out to the router: installed, restarted
    // in place, reported.
    let next_bytes = std::fs::read(&next).unwrap();
    assert_ne!(next_bytes, original, "the second build differs");
    let signed = sign(&release_key, NEXT_AGENT_VERSION, &next);
    let id = upload(&api, &admin, &signed, &next_bytes).await;
    let listed: Vec<Value> = api.get(&admin, "/api/releases").await;
    assert_eq!(listed[0]["sha256_hex"], signed["sha256_hex"]);
    let r: Value = api
        .post(
            &admin,
            &format!("/api/releases/{id}/rollout"),
            json!({"agent_ids": [AGENT]}),
        )
        .await;
    let cmd = r["commands"][0]["command_id"].as_str().unwrap().to_owned();
    wait_for(
        "the new version reported",
        Duration::from_secs(60),
        || async {
            router_field(&api, &admin, "agent_version").await == NEXT_AGENT_VERSION
                && router_field(&api, &admin, "online").await == true
        },
    )
    .await;
    assert_eq!(
        std::fs::read(&exe).unwrap(),
        next_bytes,
        "the new build in place"
    );
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

    // 4. Tampered in storage (or on the way): the hash differs, refused, nothing installed.
    let signed = sign(&release_key, "0.1.2", &next);
    let bad = upload(&api, &admin, &signed, &next_bytes).await;
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
    let forged = sign(&other_key, "0.1.2", &next);
    // The server, holding release.pub, refuses it at upload...
    let r = reqwest::Client::new()
        .post(format!("http://{}/api/releases", server.http_addr()))
        .bearer_auth(&admin)
        .json(&upload_body(&forged, &next_bytes))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("signature"));
    // ...and an agent does not rely on that: a forged signature put into the server's storage
    // (a stolen server) is refused by the agent itself.
    let genuine = sign(&release_key, "0.1.2", &next);
    let bad = upload(&api, &admin, &genuine, &next_bytes).await;
    let meta_path = cp_dir.join("releases").join(format!("{bad}.json"));
    let mut meta: Value =
        serde_json::from_str(&std::fs::read_to_string(&meta_path).unwrap()).unwrap();
    meta["signature_hex"] = forged["signature_hex"].clone();
    std::fs::write(&meta_path, meta.to_string()).unwrap();
    refused(&api, &admin, &db_url, &bad, "signature").await;

    // The running version keeps working: same binary, same version, online, applying vouchers.
    assert_eq!(std::fs::read(&exe).unwrap(), next_bytes);
    assert_eq!(agent.pid(), pid);
    assert_eq!(
        router_field(&api, &admin, "agent_version").await,
        NEXT_AGENT_VERSION
    );
    assert_eq!(router_field(&api, &admin, "online").await, true);
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
        || async {
            sim.users()
                .iter()
                .any(|u| u.name == code && u.profile.as_deref() == Some("mtm-1h"))
        },
    )
    .await;

    // 5. A trial whose deadline passed while the new version never proved healthy (here: the
    // agent was down past it): the next start puts the previous build back, which reports its
    // own version.
    agent.kill().await;
    // As an install leaves it: the previous binary beside the new one (copy keeps its mode).
    std::fs::copy(bin("mtm-agent"), dev.join("mtm-agent.prev")).unwrap();
    let pending = mtm_agent::update::Pending {
        from_version: base_version.into(),
        to_version: NEXT_AGENT_VERSION.into(),
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
        "rolled back to the first build",
        Duration::from_secs(60),
        || async {
            router_field(&api, &admin, "agent_version").await == base_version
                && router_field(&api, &admin, "online").await == true
        },
    )
    .await;
    assert_eq!(std::fs::read(&exe).unwrap(), original);
    assert!(!data.join(mtm_agent::update::PENDING_FILE).exists());
    assert!(!dev.join("mtm-agent.prev").exists());

    agent.kill().await;
    sim.shutdown().await;
    server.shutdown().await;
}
