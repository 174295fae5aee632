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
            lock_to_mac: false,
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
            alerts.iter().any(|a| a.kind.as_str() == "rogue_token")
        }
    })
    .await;
    agent.shutdown().await;
    sim.shutdown().await;
    server.shutdown().await;
}

/// A voucher sold while its package's profile is not on the router (a router restored from a
/// backup that predates the catalog, whose agent still reports the current catalog version, and
/// vouchers sold before a new router's agent first connects) is made with its package's profile,
/// and the inventories after it raise no alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voucher_sold_before_the_catalog_reaches_the_router_gets_its_profile() {
    use mtm_control_plane::store::IssueToken;
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
    let staff = store
        .create_user(NewUser {
            username: "staff".into(),
            password: PASSWORD.into(),
            role: Role::Staff,
            location_ids: vec![loc.id],
        })
        .await
        .unwrap();
    let mut pkgs = Vec::new();
    for (slug, rate) in [("1h", "2M/5M"), ("1d", "4M/8M")] {
        pkgs.push(
            store
                .create_package(NewPackage {
                    slug: slug.into(),
                    name: slug.into(),
                    price_minor: 500,
                    currency: "USD".into(),
                    limit_uptime_s: Some(3600),
                    limit_bytes_total: None,
                    rate_limit: Some(rate.into()),
                    shared_users: 1,
                    validity_s: Some(86_400),
                    uses_password: false,
                    lock_to_mac: false,
                })
                .await
                .unwrap(),
        );
    }
    let sim = Simulator::start(SimConfig {
        logins: vec![("mtm".into(), "router-pass".into())],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let agent_dir = dir.path().join("agent");
    std::fs::create_dir_all(&agent_dir).unwrap();
    let key = mtm_agent::load_or_create_key(&agent_dir).unwrap();
    let router = store
        .create_router(NewRouter {
            location_id: loc.id,
            name: "R".into(),
            agent_id: "cafe-r2".into(),
            public_key_hex: mtm_common::keys::public_key_hex(&key.verifying_key()),
            mqtt_password: "mqtt-pass-for-cafe-r2".into(),
        })
        .await
        .unwrap();
    store
        .open_shift(staff.id, loc.id, 0, "staff")
        .await
        .unwrap();
    let sell = |package_id| IssueToken {
        id: uuid::Uuid::new_v4(),
        code: mtm_common::token_code::generate(8),
        password: None,
        package_id,
        staff_id: staff.id,
        staff_username: "staff".into(),
        command_id: uuid::Uuid::new_v4(),
        sale_key: None,
    };
    // Sold before the router's agent ever connected: the commands wait in the store and are
    // resent at its hello, with the catalog.
    let (early, _) = store.issue_token(sell(pkgs[0].id)).await.unwrap();

    let mut cfg = AgentConfig {
        agent_id: "cafe-r2".into(),
        data_dir: agent_dir,
        control_plane_key: server.control_plane_public_key_hex(),
        ..Default::default()
    };
    cfg.mqtt.host = server.mqtt_addr().ip().to_string();
    cfg.mqtt.port = server.mqtt_addr().port();
    cfg.mqtt.username = Some("cafe-r2".into());
    cfg.mqtt.password = Some("mqtt-pass-for-cafe-r2".into());
    cfg.router.addr = sim.addr().to_string();
    cfg.router.username = "mtm".into();
    cfg.router.password = "router-pass".into();
    cfg.intervals.usage_poll_s = 1;
    cfg.intervals.health_s = 1;
    cfg.intervals.inventory_s = 1;
    let agent = Agent::start(cfg).await.unwrap();
    poll(
        "the early voucher applied and the catalog converged",
        || {
            let store = store.clone();
            async move {
                let t = store.token(early.id).await.unwrap().unwrap();
                let r = store.router_by_agent("cafe-r2").await.unwrap().unwrap();
                t.applied_at.is_some() && r.catalog_version.is_some()
            }
        },
    )
    .await;

    // The router is restored from a backup made before the catalog: its profiles are gone, yet
    // the agent (and so the server) still believe it carries the current catalog.
    let ros = mtm_routeros::Client::connect(&mtm_routeros::ClientConfig::plain(
        sim.addr().to_string(),
        "mtm",
        "router-pass",
    ))
    .await
    .unwrap();
    for p in ros.user_profiles().await.unwrap() {
        if p.name == "mtm-1d" {
            ros.remove_user_profile(&p.id).await.unwrap();
        }
    }
    // Sold at the counter (the HTTP path, which sends the command at once).
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
    let sold: Value = http
        .post(format!("{base}/api/tokens/generate"))
        .bearer_auth(&jwt)
        .json(&json!({"package_id": pkgs[1].id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let late_id: uuid::Uuid = sold["id"].as_str().unwrap().parse().unwrap();
    poll("the late voucher applied", || {
        let store = store.clone();
        async move {
            let t = store.token(late_id).await.unwrap().unwrap();
            t.applied_at.is_some()
        }
    })
    .await;
    let late = store.token(late_id).await.unwrap().unwrap();
    let users = sim.users();
    let profile_of = |code: &str| {
        users
            .iter()
            .find(|u| u.name == code)
            .and_then(|u| u.profile.clone())
    };
    assert_eq!(profile_of(&early.code).as_deref(), Some("mtm-1h"));
    assert_eq!(profile_of(&late.code).as_deref(), Some("mtm-1d"));
    let rate = ros
        .user_profiles()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == "mtm-1d")
        .and_then(|p| p.rate_limit);
    assert_eq!(rate.as_deref(), Some("4M/8M"));

    // Two inventories taken after both vouchers were on the router: nothing to alert.
    let after = mtm_control_plane::store::now_ms();
    for n in 0..2 {
        poll(&format!("inventory {n} after the sale"), || {
            let store = store.clone();
            async move {
                matches!(store.inventory_times(router.id).await.unwrap(),
                    Some((at, _)) if at > after + n * 1000)
            }
        })
        .await;
    }
    let alerts = store.list_alerts(&Default::default()).await.unwrap();
    assert!(alerts.is_empty(), "false alarm: {alerts:?}");
    agent.shutdown().await;
    sim.shutdown().await;
    server.shutdown().await;
}

/// A hotspot user made, used and removed on the router while its agent was down leaves only
/// the router's log behind; the agent reads the log when it comes back and the server raises
/// the rogue alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rogue_user_made_and_removed_while_the_agent_was_down_is_found_in_the_log() {
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
    let sim = Simulator::start(SimConfig {
        logins: vec![("mtm".into(), "router-pass".into())],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let agent_dir = dir.path().join("agent");
    std::fs::create_dir_all(&agent_dir).unwrap();
    let key = mtm_agent::load_or_create_key(&agent_dir).unwrap();
    let router = store
        .create_router(NewRouter {
            location_id: loc.id,
            name: "R".into(),
            agent_id: "cafe-r3".into(),
            public_key_hex: mtm_common::keys::public_key_hex(&key.verifying_key()),
            mqtt_password: "mqtt-pass-for-cafe-r3".into(),
        })
        .await
        .unwrap();
    let mut cfg = AgentConfig {
        agent_id: "cafe-r3".into(),
        data_dir: agent_dir,
        control_plane_key: server.control_plane_public_key_hex(),
        ..Default::default()
    };
    cfg.mqtt.host = server.mqtt_addr().ip().to_string();
    cfg.mqtt.port = server.mqtt_addr().port();
    cfg.mqtt.username = Some("cafe-r3".into());
    cfg.mqtt.password = Some("mqtt-pass-for-cafe-r3".into());
    cfg.router.addr = sim.addr().to_string();
    cfg.router.username = "mtm".into();
    cfg.router.password = "router-pass".into();
    cfg.intervals.usage_poll_s = 1;
    cfg.intervals.health_s = 1;
    cfg.intervals.inventory_s = 1;
    let agent = Agent::start(cfg.clone()).await.unwrap();
    poll("a first inventory", || {
        let store = store.clone();
        async move { store.inventory_times(router.id).await.unwrap().is_some() }
    })
    .await;
    poll("the outbox drained", || {
        let s = agent.status();
        async move { s.outbox_len == 0 }
    })
    .await;
    agent.shutdown().await;
    let (before, _) = store.inventory_times(router.id).await.unwrap().unwrap();

    // While the agent is down: a user typed in by hand, sold, used, and removed again.
    let ros = mtm_routeros::Client::connect(&mtm_routeros::ClientConfig::plain(
        sim.addr().to_string(),
        "mtm",
        "router-pass",
    ))
    .await
    .unwrap();
    let id = ros
        .command(&["/ip/hotspot/user/add", "=name=CASH1234", "=password=77"])
        .await
        .unwrap()
        .ret()
        .unwrap()
        .to_string();
    sim.customer_login("CASH1234", "77", "AA:BB:CC:DD:EE:09")
        .unwrap();
    sim.use_traffic("CASH1234", 5_000, 90_000);
    sim.customer_logout("CASH1234");
    ros.command(&["/ip/hotspot/user/remove", &format!("=.id={id}")])
        .await
        .unwrap();
    assert!(sim.users().iter().all(|u| u.name != "CASH1234"));

    let agent = Agent::start(cfg).await.unwrap();
    poll("an inventory after the restart", || {
        let store = store.clone();
        async move {
            matches!(store.inventory_times(router.id).await.unwrap(), Some((at, _)) if at > before)
        }
    })
    .await;
    poll("the rogue alert from the router's log", || {
        let store = store.clone();
        async move {
            let alerts = store.list_alerts(&Default::default()).await.unwrap();
            alerts.iter().any(|a| {
                a.kind.as_str() == "rogue_token"
                    && a.evidence["user"] == "CASH1234"
                    && a.evidence["reason"] == "seen_in_router_log"
            })
        }
    })
    .await;
    let alerts = store.list_alerts(&Default::default()).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let log = alerts[0].evidence["log"].as_array().unwrap();
    assert!(log.iter().any(|l| l["event"] == "logged in"), "{log:?}");
    agent.shutdown().await;
    sim.shutdown().await;
    server.shutdown().await;
}
