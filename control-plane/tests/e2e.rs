//! The spine, end to end, with the real binaries over loopback: `routeros-sim`, `mtm-agent` and
//! `mtm-server` run as separate processes; the test logs in as staff, dispenses a voucher, and
//! checks the router's user list (through the RouterOS API), the agent's outbox and the server's
//! record of usage.
//!
//! The binaries must be built first (`cargo build --workspace --bins`, which `scripts/test.sh`
//! does); the test fails, never skips, when one is missing.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{bin, wait_for, Proc};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voucher_from_staff_click_to_router_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let agent_dir = dir.path().join("agent");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&agent_dir).unwrap();

    // A router with simulated customers who log in as soon as a voucher exists.
    let mut sim = Proc::spawn(
        bin("routeros-sim"),
        &[
            "--listen",
            "127.0.0.1:0",
            "--login",
            "api:routerpass",
            "--customers",
            "--tick-ms",
            "200",
            "--login-chance",
            "1.0",
        ],
    )
    .await;
    let sim_addr = sim.line_after("listening on ").await;

    // The server, on SQLite in a temp dir, with the embedded broker on a free port.
    let server_toml = data.join("server.toml");
    std::fs::write(
        &server_toml,
        format!(
            "data_dir = {:?}\nhttp_bind = \"127.0.0.1:0\"\n[mqtt]\nmode = \"embedded\"\nbind = \"127.0.0.1:0\"\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    let cfg = server_toml.to_str().unwrap();
    let status = std::process::Command::new(bin("mtm-server"))
        .args([
            "create-admin",
            "--config",
            cfg,
            "--username",
            "root",
            "--password",
            "root-pass-123",
        ])
        .status()
        .unwrap();
    assert!(status.success(), "create-admin failed");
    let mut server = Proc::spawn(bin("mtm-server"), &["serve", "--config", cfg]).await;
    let http = server.line_after("http on ").await;
    let http = http.trim_end_matches('/').to_string();

    let api = support::Api::new(&http);
    let admin = api.login("root", "root-pass-123").await;
    let location: Value = api
        .post(
            &admin,
            "/api/locations",
            json!({"name": "Cafe One", "timezone": "UTC"}),
        )
        .await;
    let location_id = location["id"].clone();
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
               "location_ids": [location_id]}),
    )
    .await;

    // Enroll the agent by hand: its key is made on the "device", only the public key travels.
    let out = std::process::Command::new(bin("mtm-agent"))
        .args(["keygen", "--data-dir", agent_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let agent_pub = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let router: Value = api
        .post(
            &admin,
            "/api/routers",
            json!({"location_id": location_id, "name": "R1", "agent_id": "r1",
                   "public_key_hex": agent_pub}),
        )
        .await;
    let info: Value = api.get(&admin, "/api/system/info").await;
    let mqtt_addr = info["mqtt_addr"].as_str().unwrap().to_string();
    let (mqtt_host, mqtt_port) = mqtt_addr.rsplit_once(':').unwrap();
    let agent_toml = agent_dir.join("agent.toml");
    std::fs::write(
        &agent_toml,
        format!(
            r#"agent_id = "r1"
data_dir = {data:?}
control_plane_key = {cpk:?}
status_listen = "127.0.0.1:0"
[mqtt]
host = {host:?}
port = {port}
username = "r1"
password = {pw:?}
[router]
addr = {sim:?}
username = "api"
password = "routerpass"
[intervals]
usage_poll_s = 1
health_s = 2
inventory_s = 5
"#,
            data = agent_dir.display().to_string(),
            cpk = info["control_plane_public_key"].as_str().unwrap(),
            host = mqtt_host,
            port = mqtt_port,
            pw = router["mqtt_password"].as_str().unwrap(),
            sim = sim_addr,
        ),
    )
    .unwrap();
    let mut agent = Proc::spawn(
        bin("mtm-agent"),
        &["run", "--config", agent_toml.to_str().unwrap()],
    )
    .await;
    let agent_status_addr = agent.line_after("status on ").await;

    // The router shows online once the agent has said hello.
    wait_for("router online", Duration::from_secs(30), || async {
        let routers: Value = api.get(&admin, "/api/routers").await;
        routers.as_array().is_some_and(|rs| {
            rs.iter()
                .any(|r| r["agent_id"] == "r1" && r["online"] == true)
        })
    })
    .await;

    // Staff: log in, clock in, dispense.
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
    let token_id = token["id"].as_str().unwrap().to_string();
    let code = token["code"].as_str().unwrap().to_string();

    // The agent applies it: the server sees it applied...
    wait_for("token applied", Duration::from_secs(30), || async {
        let t: Value = api.get(&staff, &format!("/api/tokens/{token_id}")).await;
        t["state"] != "issued"
    })
    .await;

    // ...and the router really holds the user, with the mtm comment.
    let client = mtm_routeros::Client::connect(&mtm_routeros::ClientConfig::plain(
        sim_addr.clone(),
        "api",
        "routerpass",
    ))
    .await
    .unwrap();
    let users = client.hotspot_users().await.unwrap();
    let ours: Vec<_> = users.iter().filter(|u| u.name == code).collect();
    assert_eq!(
        ours.len(),
        1,
        "exactly one hotspot user for the voucher: {users:?}"
    );
    assert_eq!(
        ours[0].comment.as_deref(),
        Some(format!("mtm:{token_id}").as_str())
    );
    assert_eq!(ours[0].profile.as_deref(), Some("mtm-1h"));

    // The control plane's Ack closes the agent's outbox.
    wait_for("agent outbox empty", Duration::from_secs(30), || async {
        let st = support::http_get_json(&format!("http://{agent_status_addr}/status")).await;
        st["outbox_len"] == 0 && st["last_acked_seq"].as_u64().unwrap_or(0) > 0
    })
    .await;

    // A simulated customer uses the voucher; usage reaches the server.
    wait_for(
        "usage reaches the server",
        Duration::from_secs(60),
        || async {
            let t: Value = api.get(&staff, &format!("/api/tokens/{token_id}")).await;
            t["bytes_out"].as_u64().unwrap_or(0) > 0 && t["uptime_s"].as_u64().unwrap_or(0) > 0
        },
    )
    .await;

    // The server's database holds the ledger entries for the voucher (read directly, not via the API).
    agent.kill().await;
    server.kill().await;
    sim.kill().await;
    let db = format!("sqlite://{}", data.join("mtm.db").display());
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let ledger: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM token_ledger WHERE token_id = ?")
        .bind(&token_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        ledger >= 2,
        "ledger records issue and application, found {ledger}"
    );
}
