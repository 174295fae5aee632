//! A flood: one agent publishes 20,000 signed messages as fast as its connection takes them
//! (what a router cut off for a long time, or a broken agent, could send), over the embedded
//! broker, while a second agent sends one message a second. Every flooded message is stored
//! once and acknowledged within the limit, so are the quiet agent's, and the server stays
//! ready. Both clients republish what is not acknowledged after 20 s, as the agent does
//! (`resend_after_s`): the server drops what exceeds its ingest queue rather than wait, and
//! leaves it unacknowledged.
//!
//! Ingest is fair between agents: a quiet agent's message sent while thousands of flooded
//! messages wait is applied before most of them (each agent has its own queue and they take
//! turns). The test asserts that order, not a time: when the quiet agent's message is
//! acknowledged, at least [`STILL_WAITING`] of the flooded messages published before it are
//! still unacknowledged. How long the quiet agent waited is reported.
//!
//! `MTM_FAULT_FLOOD` (default 20000) sets how many messages the flooding agent sends.

use ed25519_dalek::SigningKey;
use mtm_common::{keys, topics, DownMessage, Envelope, Health, UpMessage};
use mtm_control_plane::store::{NewLocation, NewRouter};
use mtm_control_plane::{start, MqttConfig, ServerConfig};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long the flood may take to be stored and acknowledged.
const LIMIT: Duration = Duration::from_secs(180);

/// After how long an unacknowledged message is published again (the agent's default).
const RESEND_AFTER: Duration = Duration::from_secs(20);

/// A quiet message counts as sent during the flood when at least this many flooded messages
/// were published and not yet acknowledged.
const BACKLOG: u64 = 2_000;

/// How many of those must still wait when the quiet message is acknowledged: first come, first
/// served would have applied them all first.
const STILL_WAITING: u64 = 1_000;

enum Seen {
    Subscribed,
    Acked(Vec<u64>),
}

/// A client logged in as agent `id`, subscribed to its down topic; what it hears goes to the
/// returned channel.
async fn connect(
    addr: std::net::SocketAddr,
    id: &str,
    cp: ed25519_dalek::VerifyingKey,
) -> (AsyncClient, mpsc::UnboundedReceiver<Seen>) {
    let mut opts = MqttOptions::new(topics::client_id(id), addr.ip().to_string(), addr.port());
    opts.set_credentials(id, format!("{id}-password"));
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut el) = AsyncClient::new(opts, 256);
    let (tx, rx) = mpsc::unbounded_channel();
    let me = id.to_owned();
    tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = tx.send(Seen::Subscribed);
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let Ok(env) = Envelope::from_bytes(&p.payload) else {
                        continue;
                    };
                    if let Ok(DownMessage::AckSeqs { seqs, .. }) = env.open(&cp, &me) {
                        let _ = tx.send(Seen::Acked(seqs));
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
    (client, rx)
}

/// Take the flood's acknowledgements heard so far, without waiting.
fn drain(seen: &mut mpsc::UnboundedReceiver<Seen>, acked: &mut BTreeSet<u64>) {
    while let Ok(s) = seen.try_recv() {
        if let Seen::Acked(seqs) = s {
            acked.extend(seqs);
        }
    }
}

/// Wait (polling, at most 60 s) until `done` holds.
async fn wait_for_count(done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the flood did not start"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn health(key: &SigningKey, id: &str, seq: u64) -> Vec<u8> {
    let msg = UpMessage::Health(Health {
        active_sessions: (seq % 1000) as u32,
        ..Default::default()
    });
    Envelope::seal(key, id, "cp", seq, mtm_control_plane::store::now_ms(), &msg)
        .unwrap()
        .to_bytes()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_agent_is_stored_once_and_starves_no_one() {
    let total: u64 = std::env::var("MTM_FAULT_FLOOD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
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
    let mut agents = Vec::new();
    for id in ["flood", "quiet"] {
        let key = keys::generate_signing_key();
        store
            .create_router(NewRouter {
                location_id: loc.id,
                name: id.into(),
                agent_id: id.into(),
                public_key_hex: keys::public_key_hex(&key.verifying_key()),
                mqtt_password: format!("{id}-password"),
            })
            .await
            .unwrap();
        agents.push(key);
    }
    let addr = server.mqtt_addr();
    let (flood, mut flood_seen) = connect(addr, "flood", cp).await;
    let (quiet, mut quiet_seen) = connect(addr, "quiet", cp).await;
    for seen in [&mut flood_seen, &mut quiet_seen] {
        loop {
            let heard = tokio::time::timeout(Duration::from_secs(30), seen.recv()).await;
            if let Ok(Some(Seen::Subscribed)) = heard {
                break;
            }
            assert!(heard.is_ok(), "not subscribed within 30 s");
        }
    }

    // The flood, from its own task: every message handed to the connection without waiting
    // for any ack.
    let started = Instant::now();
    let flood_key = agents[0].clone();
    let flood_again = flood.clone();
    let published = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = published.clone();
    let publisher = tokio::spawn(async move {
        for seq in 1..=total {
            counted.store(seq - 1, std::sync::atomic::Ordering::SeqCst);
            flood
                .publish(
                    topics::up("flood"),
                    QoS::AtLeastOnce,
                    false,
                    health(&flood_key, "flood", seq),
                )
                .await
                .unwrap();
        }
        counted.store(total, std::sync::atomic::Ordering::SeqCst);
    });
    let published_now = || published.load(std::sync::atomic::Ordering::SeqCst);
    // The quiet agent starts once the flood is well under way.
    let backlog_at_start = BACKLOG.min(total / 4);
    wait_for_count(|| published_now() >= backlog_at_start).await;
    // Meanwhile the quiet agent sends one message a second and waits for its ack.
    let mut acked: BTreeSet<u64> = BTreeSet::new();
    let mut quiet_worst = Duration::ZERO;
    let mut quiet_seq = 0;
    // Per quiet message sent during the flood: flooded messages published before it, and
    // flooded messages acknowledged when it was.
    let mut during_flood: Vec<(u64, u64, u64)> = Vec::new();
    let deadline = tokio::time::Instant::now() + LIMIT;
    while (acked.len() as u64) < total {
        if quiet_seq < 10 {
            quiet_seq += 1;
            drain(&mut flood_seen, &mut acked);
            let published_before = published_now();
            let backlog = published_before.saturating_sub(acked.len() as u64);
            let sent = Instant::now();
            quiet
                .publish(
                    topics::up("quiet"),
                    QoS::AtLeastOnce,
                    false,
                    health(&agents[1], "quiet", quiet_seq),
                )
                .await
                .unwrap();
            let mut due = tokio::time::Instant::now() + RESEND_AFTER;
            loop {
                match tokio::time::timeout_at(due.min(deadline), quiet_seen.recv()).await {
                    Ok(Some(Seen::Acked(seqs))) if seqs.contains(&quiet_seq) => break,
                    Ok(Some(_)) => {}
                    Err(_) if tokio::time::Instant::now() < deadline => {
                        quiet
                            .publish(
                                topics::up("quiet"),
                                QoS::AtLeastOnce,
                                false,
                                health(&agents[1], "quiet", quiet_seq),
                            )
                            .await
                            .unwrap();
                        due = tokio::time::Instant::now() + RESEND_AFTER;
                    }
                    _ => panic!("the quiet agent's message {quiet_seq} was never acknowledged"),
                }
            }
            quiet_worst = quiet_worst.max(sent.elapsed());
            drain(&mut flood_seen, &mut acked);
            if backlog >= BACKLOG {
                during_flood.push((quiet_seq, published_before, acked.len() as u64));
            }
        }
        let wait = if quiet_seq < 10 {
            tokio::time::Instant::now() + Duration::from_secs(1)
        } else {
            (tokio::time::Instant::now() + RESEND_AFTER).min(deadline)
        };
        loop {
            match tokio::time::timeout_at(wait, flood_seen.recv()).await {
                Ok(Some(Seen::Acked(seqs))) => {
                    acked.extend(seqs);
                    if acked.len() as u64 >= total {
                        break;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        if quiet_seq >= 10 && publisher.is_finished() && (acked.len() as u64) < total {
            // Quiet for a while: what the flood still misses goes out again, oldest first.
            for seq in (1..=total).filter(|s| !acked.contains(s)) {
                let again = health(&agents[0], "flood", seq);
                flood_again
                    .publish(topics::up("flood"), QoS::AtLeastOnce, false, again)
                    .await
                    .unwrap();
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "after {LIMIT:?} only {} of {total} flooded messages acknowledged",
            acked.len()
        );
    }
    let took = started.elapsed();
    publisher.await.unwrap();
    if total >= 4 * BACKLOG {
        assert!(
            !during_flood.is_empty(),
            "no quiet message was sent while the flood waited"
        );
    }
    for &(seq, published_before, acked_then) in &during_flood {
        assert!(
            acked_then + STILL_WAITING <= published_before,
            "the quiet agent's message {seq} waited behind the flood: {published_before} \
             flooded messages published before it, {acked_then} acknowledged when it was"
        );
    }

    let db =
        sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("mtm.db").display()))
            .await
            .unwrap();
    let rows: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM router_health h JOIN routers r ON r.id = h.router_id
         WHERE r.agent_id = 'flood'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(rows as u64, total, "each flooded message stored once");
    assert_eq!(acked.len() as u64, total);
    let ready = reqwest::get(format!("http://{}/readyz", server.http_addr()))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200, "still connected and subscribed");
    eprintln!(
        "flood: {total} messages from one agent stored once and acknowledged in {:.1} s ({:.0}/s); \
         the quiet agent's acks took at most {:?} meanwhile; sent during the flood \
         (quiet seq, flooded published before it, flooded acknowledged when it was): {:?}",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        quiet_worst,
        during_flood
    );
    server.shutdown().await;
}
