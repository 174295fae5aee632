//! The server with the real agent and the router simulator (as libraries): the catalog becomes
//! router profiles, a voucher sold over HTTP appears on the router with its `mtm:` comment, turns
//! active, and a customer's usage comes back to the token. The integrator's e2e tests drive the
//! binaries; this one keeps the control plane honest against the agent while it changes.

use mtm_agent::{Agent, AgentConfig};
use mtm_control_plane::store::{NewLocation, NewPackage, NewRouter, NewUser, Role};
use mtm_control_plane::{start, MqttConfig, ServerConfig};
use mtm_routeros::sim::{SimConfig, Simulator};
use serde_json::{json, Value};
use std::time::Duration;

const PASSWORD: &str = "correct horse battery";

async fn poll<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voucher_goes_to_the_simulated_router_and_usage_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(ServerConfig {
        data_dir: dir.path().join("cp"),
        http_bind: "127.0.0.1:0".parse().unwrap(),
        mqtt: MqttConfig::Embedded {
            bind: "127.0.0.1:0".parse().unwrap(),
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let store = server.store();
    let loc = store
        .create_location(NewLocation {
            name: "L".into(),
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
    store
        .create_user(NewUser {
            username: "staff".into(),
            password: PASSWORD.into(),
            role: Role::Staff,
            location_ids: vec![loc.id],
        })
        .await
        .unwrap();
    let pkg = store
        .create_package(NewPackage {
            slug: "1h".into(),
            name: "One hour".into(),
            price_minor: 500,
            currency: "USD".into(),
            limit_uptime_s: Some(3600),
            limit_bytes_total: None,
            rate_limit: Some("2M/5M".into()),
            shared_users: 1,
            validity_s: None,
            uses_password: false,
        })
        .await
        .unwrap();
    let sim = Simulator::start(SimConfig {
        logins: vec![("mtm".into(), "router-pass".into())],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let agent_dir = dir.path().join("agent");
    std::fs::create_dir_all(&agent_dir).unwrap();
    let key = mtm_agent::load_or_create_key(&agent_dir).unwrap();
    store
        .create_router(NewRouter {
            location_id: loc.id,
            name: "R".into(),
            agent_id: "cafe-r1".into(),
            public_key_hex: mtm_common::keys::public_key_hex(&key.verifying_key()),
            mqtt_password: "mqtt-pass-for-cafe-r1".into(),
        })
        .await
        .unwrap();
    let mut cfg = AgentConfig {
        agent_id: "cafe-r1".into(),
        data_dir: agent_dir,
        control_plane_key: server.control_plane_public_key_hex(),
        ..Default::default()
    };
    cfg.mqtt.host = server.mqtt_addr().ip().to_string();
    cfg.mqtt.port = server.mqtt_addr().port();
    cfg.mqtt.username = Some("cafe-r1".into());
    cfg.mqtt.password = Some("mqtt-pass-for-cafe-r1".into());
    cfg.router.addr = sim.addr().to_string();
    cfg.router.username = "mtm".into();
    cfg.router.password = "router-pass".into();
    cfg.intervals.usage_poll_s = 1;
    cfg.intervals.health_s = 1;
    cfg.intervals.inventory_s = 1;
    let agent = Agent::start(cfg).await.unwrap();

    // The agent's hello brings the catalog down; the router gets the profile.
    poll("the catalog on the router", || {
        let store = store.clone();
        async move {
            let r = store.router_by_agent("cafe-r1").await.unwrap().unwrap();
            r.online && r.catalog_version.is_some()
        }
    })
    .await;

    let http = reqwest::Client::new();
    let base = format!("http://{}", server.http_addr());
    let login: Value = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": "staff", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = login["token"].as_str().unwrap().to_owned();
    http.post(format!("{base}/api/shifts/clock-in"))
        .bearer_auth(&jwt)
        .json(&json!({"opening_float_minor": 0}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let token: Value = http
        .post(format!("{base}/api/tokens/generate"))
        .bearer_auth(&jwt)
        .json(&json!({"package_id": pkg.id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = token["id"].as_str().unwrap().to_owned();
    let code = token["code"].as_str().unwrap().to_owned();

    let get = |http: reqwest::Client, url: String, jwt: String| async move {
        http.get(url)
            .bearer_auth(jwt)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let url = format!("{base}/api/tokens/{id}");
    poll("active on router", || {
        let f = get(http.clone(), url.clone(), jwt.clone());
        async move { f.await["state"] == "applied" }
    })
    .await;
    let user = sim
        .users()
        .into_iter()
        .find(|u| u.name == code)
        .expect("the voucher is on the router");
    assert_eq!(user.comment.as_deref(), Some(format!("mtm:{id}").as_str()));
    assert_eq!(user.profile.as_deref(), Some("mtm-1h"));

    // A customer logs in and uses the voucher; the usage reaches the token.
    sim.customer_login(&code, "", "AA:BB:CC:DD:EE:01").unwrap();
    sim.use_traffic(&code, 10_000, 50_000);
    poll("usage on the token", || {
        let f = get(http.clone(), url.clone(), jwt.clone());
        async move {
            let t = f.await;
            t["state"] == "in_use" && t["bytes_out"].as_u64().unwrap_or(0) >= 50_000
        }
    })
    .await;
    poll("the outbox drained by acks", || {
        let s = agent.status();
        async move { s.outbox_len == 0 && s.last_acked_seq > 0 }
    })
    .await;
    // Inventories of a normal router raise no alert; a user made by hand on the router does.
    poll("an inventory after the usage", || {
        let store = store.clone();
        async move {
            let r = store.router_by_agent("cafe-r1").await.unwrap().unwrap();
            r.last_seq > 8
        }
    })
    .await;
    let alerts = store.list_alerts(&Default::default()).await.unwrap();
    assert!(alerts.is_empty(), "false alarm: {alerts:?}");
    // A dishonest staff member adds a user with a RouterOS client, as they would by hand.
    let ros = mtm_routeros::Client::connect(&mtm_routeros::ClientConfig::plain(
        sim.addr().to_string(),
        "mtm",
        "router-pass",
    ))
    .await
    .unwrap();
    ros.command(&["/ip/hotspot/user/add", "=name=HANDMADE1", "=profile=mtm-1h"])
        .await
        .unwrap();
    poll("the rogue alert", || {
        let store = store.clone();
        async move {
            let alerts = store.list_alerts(&Default::default()).await.unwrap();
            alerts.iter().any(|a| a.kind == "rogue_token")
        }
    })
    .await;
    agent.shutdown().await;
    sim.shutdown().await;
    server.shutdown().await;
}
