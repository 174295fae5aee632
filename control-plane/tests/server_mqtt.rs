//! The server started for real (embedded broker, HTTP on port 0) with a hand-driven agent:
//! per-agent MQTT logins, a dispensed token reaching the agent as a signed command, the agent's
//! result applied and acknowledged, the token turning active over HTTP.

use ed25519_dalek::SigningKey;
use mtm_common::{keys, topics, DownMessage, Envelope, TokenApplied, UpMessage};
use mtm_control_plane::store::{now_ms, NewLocation, NewPackage, NewRouter, NewUser, Role};
use mtm_control_plane::{start, MqttConfig, ServerConfig};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc;

const PASSWORD: &str = "correct horse battery";

enum AgentEvent {
    Connected,
    Refused,
    Subscribed,
    Down(Vec<u8>),
}

fn agent(
    addr: SocketAddr,
    user: &str,
    pass: &str,
) -> (AsyncClient, mpsc::UnboundedReceiver<AgentEvent>) {
    // The broker lets an agent's login use its own client id only.
    let mut opts = MqttOptions::new(topics::client_id(user), addr.ip().to_string(), addr.port());
    opts.set_credentials(user, pass);
    opts.set_keep_alive(Duration::from_secs(5));
    let (client, mut el) = AsyncClient::new(opts, 32);
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let ev = match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => AgentEvent::Connected,
                Ok(Event::Incoming(Packet::SubAck(_))) => AgentEvent::Subscribed,
                Ok(Event::Incoming(Packet::Publish(p))) => AgentEvent::Down(p.payload.to_vec()),
                Ok(_) => continue,
                Err(_) => {
                    let _ = tx.send(AgentEvent::Refused);
                    return;
                }
            };
            if tx.send(ev).is_err() {
                return;
            }
        }
    });
    (client, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<AgentEvent>) -> AgentEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("timed out waiting for the broker")
        .expect("agent loop ended")
}

async fn next_down(
    rx: &mut mpsc::UnboundedReceiver<AgentEvent>,
    cp: &ed25519_dalek::VerifyingKey,
) -> DownMessage {
    loop {
        if let AgentEvent::Down(p) = next(rx).await {
            let env = Envelope::from_bytes(&p).unwrap();
            assert_eq!(env.from, mtm_common::CONTROL_PLANE_ID);
            return env.open(cp, &env.to).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispensed_token_reaches_the_agent_and_its_result_comes_back_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServerConfig {
        data_dir: dir.path().to_owned(),
        http_bind: "127.0.0.1:0".parse().unwrap(),
        mqtt: MqttConfig::Embedded {
            bind: "127.0.0.1:0".parse().unwrap(),
        },
        ..Default::default()
    };
    let server = start(cfg).await.unwrap();
    let store = server.store();
    let cp = keys::parse_public_key(&server.control_plane_public_key_hex()).unwrap();
    let loc = store
        .create_location(NewLocation {
            name: "L".into(),
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
    let agent_key: SigningKey = keys::generate_signing_key();
    store
        .create_router(NewRouter {
            location_id: loc.id,
            name: "R".into(),
            agent_id: "agent-7".into(),
            public_key_hex: keys::public_key_hex(&agent_key.verifying_key()),
            mqtt_password: "agent-7-password".into(),
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
            rate_limit: None,
            shared_users: 1,
            validity_s: None,
            uses_password: false,
            lock_to_mac: false,
        })
        .await
        .unwrap();

    // Wrong MQTT credentials are refused by the broker.
    let (_bad, mut bad_rx) = agent(server.mqtt_addr(), "agent-7", "wrong");
    assert!(matches!(next(&mut bad_rx).await, AgentEvent::Refused));

    // Staff dispenses while the agent is away.
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
    let r = http
        .post(format!("{base}/api/shifts/clock-in"))
        .bearer_auth(&jwt)
        .json(&json!({"opening_float_minor": 0}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
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
    assert_eq!(token["state"], "issued");
    let token_id: uuid::Uuid = token["id"].as_str().unwrap().parse().unwrap();

    // The agent connects with its own credentials, subscribes, says it is online.
    let (client, mut rx) = agent(server.mqtt_addr(), "agent-7", "agent-7-password");
    assert!(matches!(next(&mut rx).await, AgentEvent::Connected));
    client
        .subscribe(topics::down("agent-7"), QoS::AtLeastOnce)
        .await
        .unwrap();
    assert!(matches!(next(&mut rx).await, AgentEvent::Subscribed));
    client
        .publish(
            topics::status("agent-7"),
            QoS::AtLeastOnce,
            true,
            topics::ONLINE.to_vec(),
        )
        .await
        .unwrap();

    // The waiting command arrives, signed by the control plane.
    let cmd = match next_down(&mut rx, &cp).await {
        DownMessage::Command(c) => c,
        other => panic!("{other:?}"),
    };
    assert!(matches!(&cmd.kind, mtm_common::CommandKind::CreateToken(c) if c.token_id == token_id));

    // The agent reports the result; the control plane acks after committing it.
    let applied = UpMessage::TokenApplied(TokenApplied {
        command_id: cmd.id,
        token_id,
        router_user_id: "*1".into(),
        already_present: false,
    });
    let env = Envelope::seal(&agent_key, "agent-7", "cp", 1, now_ms(), &applied).unwrap();
    client
        .publish(
            topics::up("agent-7"),
            QoS::AtLeastOnce,
            false,
            env.to_bytes().unwrap(),
        )
        .await
        .unwrap();
    loop {
        match next_down(&mut rx, &cp).await {
            DownMessage::AckSeqs { seqs, highest_seen } => {
                assert_eq!((seqs, highest_seen), (vec![1], 1));
                break;
            }
            DownMessage::Ack { .. } => panic!("ingest acknowledges exact seqs"),
            DownMessage::Command(_)
            | DownMessage::Resend { .. }
            | DownMessage::Checkpoints(_)
            | DownMessage::SendCheckpoints => continue,
        }
    }
    let t: Value = http
        .get(format!("{base}/api/tokens/{token_id}"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(t["state"], "applied");
    assert_eq!(t["state_label"], "active on router");
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("mtm_ingest_applied_total 1"), "{metrics}");
    assert!(metrics.contains("mtm_commands_pending 0"), "{metrics}");
    server.shutdown().await;
}

/// An unsigned `online` published every half second by someone holding the agent's broker login
/// (or by a taken-over broker) is a hint only: it never refreshes `last_seen`, so the
/// router-silent alert still fires during the open shift, and it buys at most one resend of the
/// open commands a minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_online_never_keeps_a_silent_router_alive() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServerConfig {
        data_dir: dir.path().to_owned(),
        http_bind: "127.0.0.1:0".parse().unwrap(),
        mqtt: MqttConfig::Embedded {
            bind: "127.0.0.1:0".parse().unwrap(),
        },
        router_silent_after_s: 2,
        ..Default::default()
    };
    let server = start(cfg).await.unwrap();
    let store = server.store();
    let cp = keys::parse_public_key(&server.control_plane_public_key_hex()).unwrap();
    let loc = store
        .create_location(NewLocation {
            name: "L".into(),
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
    let agent_key: SigningKey = keys::generate_signing_key();
    store
        .create_router(NewRouter {
            location_id: loc.id,
            name: "R".into(),
            agent_id: "agent-9".into(),
            public_key_hex: keys::public_key_hex(&agent_key.verifying_key()),
            mqtt_password: "agent-9-password".into(),
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
            rate_limit: None,
            shared_users: 1,
            validity_s: None,
            uses_password: false,
            lock_to_mac: false,
        })
        .await
        .unwrap();
    // A shift opens and a voucher is sold, so the router has an open command.
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
    let r = http
        .post(format!("{base}/api/shifts/clock-in"))
        .bearer_auth(&jwt)
        .json(&json!({"opening_float_minor": 0}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = http
        .post(format!("{base}/api/tokens/generate"))
        .bearer_auth(&jwt)
        .json(&json!({"package_id": pkg.id}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());

    let (client, mut rx) = agent(server.mqtt_addr(), "agent-9", "agent-9-password");
    assert!(matches!(next(&mut rx).await, AgentEvent::Connected));
    client
        .subscribe(topics::down("agent-9"), QoS::AtLeastOnce)
        .await
        .unwrap();
    assert!(matches!(next(&mut rx).await, AgentEvent::Subscribed));
    // One signed message: the router was heard from, then went silent.
    let health = Envelope::seal(
        &agent_key,
        "agent-9",
        "cp",
        1,
        now_ms(),
        &UpMessage::Health(Default::default()),
    )
    .unwrap();
    client
        .publish(
            topics::up("agent-9"),
            QoS::AtLeastOnce,
            false,
            health.to_bytes().unwrap(),
        )
        .await
        .unwrap();
    while !matches!(next_down(&mut rx, &cp).await, DownMessage::AckSeqs { .. }) {}
    let heard = store
        .router_by_agent("agent-9")
        .await
        .unwrap()
        .unwrap()
        .last_seen
        .expect("a signed message is a sign of life");
    let mut commands = 0;
    let mut onlines = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let alerted = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no silent alert while unsigned onlines kept coming"
        );
        client
            .publish(
                topics::status("agent-9"),
                QoS::AtLeastOnce,
                true,
                topics::ONLINE.to_vec(),
            )
            .await
            .unwrap();
        onlines += 1;
        // Whatever the server sends down meanwhile, for at most half a second.
        let until = tokio::time::Instant::now() + Duration::from_millis(500);
        while let Ok(Some(ev)) = tokio::time::timeout_at(until, rx.recv()).await {
            if let AgentEvent::Down(p) = ev {
                let env = Envelope::from_bytes(&p).unwrap();
                if matches!(env.open(&cp, "agent-9"), Ok(DownMessage::Command(_))) {
                    commands += 1;
                }
            }
        }
        let alerts = store
            .list_alerts(&mtm_control_plane::store::AlertFilter::default())
            .await
            .unwrap();
        // The silence that began at the signed message (not an earlier "never reported").
        let key = format!("router_silent:agent-9:{heard}");
        if let Some(a) = alerts.into_iter().find(|a| a.dedup_key == key) {
            break a;
        }
    };
    assert_eq!(alerted.agent_id.as_deref(), Some("agent-9"));
    assert!(onlines >= 3, "the alert came despite {onlines} onlines");
    let router = store.router_by_agent("agent-9").await.unwrap().unwrap();
    assert!(router.online, "the hint is recorded for display");
    assert_eq!(router.last_seen, Some(heard), "onlines are no sign of life");
    assert_eq!(commands, 1, "one resend for {onlines} unsigned onlines");
    server.shutdown().await;
}
