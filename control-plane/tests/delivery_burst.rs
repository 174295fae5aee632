//! A burst: 300 agents each publish 8 messages at once over the embedded broker. Every message
//! is stored once and acknowledged within a minute, and the server stays ready. (The server's
//! MQTT client once deadlocked here: its event loop waited on a full ingest queue while ingest
//! waited on the full publish queue only that event loop drains.)

use ed25519_dalek::SigningKey;
use mtm_common::{keys, topics, DownMessage, Envelope, Health, UpMessage};
use mtm_control_plane::store::{NewLocation, NewRouter};
use mtm_control_plane::{start, MqttConfig, ServerConfig};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const AGENTS: usize = 300;
const EACH: u64 = 8;

enum Seen {
    Subscribed(usize),
    Acked(usize, Vec<u64>),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_from_300_agents_is_stored_and_acknowledged_within_a_minute() {
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
    .unwrap();
    let store = server.store();
    let cp = keys::parse_public_key(&server.control_plane_public_key_hex()).unwrap();
    let loc = store
        .create_location(NewLocation {
            name: "L".into(),
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
    let mut agents: Vec<(String, SigningKey)> = Vec::new();
    for i in 0..AGENTS {
        let id = format!("burst-{i}");
        let key = keys::generate_signing_key();
        store
            .create_router(NewRouter {
                location_id: loc.id,
                name: id.clone(),
                agent_id: id.clone(),
                public_key_hex: keys::public_key_hex(&key.verifying_key()),
                mqtt_password: format!("{id}-password"),
            })
            .await
            .unwrap();
        agents.push((id, key));
    }

    let addr = server.mqtt_addr();
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let mut clients = Vec::new();
    for (i, (id, _)) in agents.iter().enumerate() {
        let me = id.clone();
        let mut opts = MqttOptions::new(topics::client_id(id), addr.ip().to_string(), addr.port());
        opts.set_credentials(id.clone(), format!("{id}-password"));
        opts.set_keep_alive(Duration::from_secs(30));
        let (client, mut el) = AsyncClient::new(opts, 64);
        let tx = seen_tx.clone();
        tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = tx.send(Seen::Subscribed(i));
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let Ok(env) = Envelope::from_bytes(&p.payload) else {
                            continue;
                        };
                        if let Ok(DownMessage::AckSeqs { seqs, .. }) = env.open(&cp, &me) {
                            let _ = tx.send(Seen::Acked(i, seqs));
                        }
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        });
        client
            .subscribe(topics::down(id), QoS::AtLeastOnce)
            .await
            .unwrap();
        clients.push(client);
    }
    let mut subscribed = BTreeSet::new();
    while subscribed.len() < AGENTS {
        match tokio::time::timeout(Duration::from_secs(60), seen.recv()).await {
            Ok(Some(Seen::Subscribed(i))) => {
                subscribed.insert(i);
            }
            Ok(_) => {}
            Err(_) => panic!("only {} agents subscribed", subscribed.len()),
        }
    }

    // Everything at once: each agent queues its 8 messages without waiting for anything.
    let started = Instant::now();
    for (i, (id, key)) in agents.iter().enumerate() {
        for seq in 1..=EACH {
            let msg = UpMessage::Health(Health {
                active_sessions: u32::try_from(seq).unwrap(),
                ..Default::default()
            });
            let bytes =
                Envelope::seal(key, id, "cp", seq, mtm_control_plane::store::now_ms(), &msg)
                    .unwrap()
                    .to_bytes()
                    .unwrap();
            clients[i]
                .publish(topics::up(id), QoS::AtLeastOnce, false, bytes)
                .await
                .unwrap();
        }
    }
    let mut acked: HashMap<usize, BTreeSet<u64>> = HashMap::new();
    let mut complete = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while complete < AGENTS {
        match tokio::time::timeout_at(deadline, seen.recv()).await {
            Ok(Some(Seen::Acked(i, seqs))) => {
                let set = acked.entry(i).or_default();
                let before = set.len();
                set.extend(seqs);
                if before < usize::try_from(EACH).unwrap()
                    && set.len() == usize::try_from(EACH).unwrap()
                {
                    complete += 1;
                }
            }
            Ok(_) => {}
            Err(_) => {
                let total: usize = acked.values().map(BTreeSet::len).sum();
                panic!(
                    "after 60 s only {complete} of {AGENTS} agents fully acknowledged \
                     ({total} of {} messages)",
                    AGENTS as u64 * EACH
                );
            }
        }
    }
    let took = started.elapsed();
    eprintln!(
        "burst: {} messages from {AGENTS} agents stored and acknowledged in {:.1} s",
        AGENTS as u64 * EACH,
        took.as_secs_f64()
    );

    let db =
        sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("mtm.db").display()))
            .await
            .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM router_health")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(
        rows as u64,
        AGENTS as u64 * EACH,
        "each message stored once"
    );
    let ready = reqwest::get(format!("http://{}/readyz", server.http_addr()))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200, "still connected and subscribed");
    server.shutdown().await;
}
