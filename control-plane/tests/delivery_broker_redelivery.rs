//! The broker keeps what the server received but had not stored: a server with a persistent
//! session (`mqtt_client_id`) acknowledges a message to the broker (MQTT PUBACK) only once
//! ingest is done with it, so a server killed in between gets the message again from the
//! broker when it comes back on the same client id.
//!
//! A private Mosquitto and the real `mtm-server serve` (SQLite) run as processes. The agent is a
//! plain MQTT client in this test that publishes signed usage reports once and never again (it
//! ignores `Resend` and republishes nothing), so only the broker can bring a message back. One
//! report in the middle carries a bad signature: it is refused, and acknowledged all the same
//! (or the broker would hold it, and in-order acknowledgements would hold everything after it).
//!
//! Another connection holds SQLite's write lock, so ingest receives the reports but cannot
//! commit them; the server is killed (SIGKILL to its PID) while it waits, the lock released and
//! the server started again on the same config. Every report must then be stored once: each
//! token's counters and the sum of its usage deltas equal the counters the agent reported, to
//! the byte, and every seq is acknowledged to the agent.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use mtm_common::{keys, topics, DownMessage, Envelope, UpMessage, Usage, UsageReport};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{json, Value};
use sqlx::Connection;
use support::stack::{create_admin, dispense, free_port, mosquitto, serve, server_config};
use support::{wait_for, Api};
use tokio::sync::mpsc;
use uuid::Uuid;

/// Usage reports the agent sends, one of them forged.
const REPORTS: u64 = 12;
/// The seq of the report sealed with a key that is not the agent's.
const FORGED: u64 = 6;
const VOUCHERS: usize = 3;

async fn metric(http: &str, name: &str) -> u64 {
    let Ok(r) = reqwest::get(format!("http://{http}/metrics")).await else {
        return 0;
    };
    r.text()
        .await
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

async fn ready(http: &str) {
    wait_for("server ready", Duration::from_secs(30), || async {
        reqwest::get(format!("http://{http}/readyz"))
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
}

/// The router's counters for voucher `i` after report `k`: bytes in, bytes out, uptime.
fn counters(k: u64, i: usize) -> (u64, u64, u64) {
    (k * (1_000 + i as u64), 2_500 * k, 10 * k)
}

/// Report `k`: every voucher's counters after `k` rounds, and what changed since report `k-1`.
fn report(key: &SigningKey, seq: u64, vouchers: &[(Uuid, String)]) -> Vec<u8> {
    let entries = vouchers
        .iter()
        .enumerate()
        .map(|(i, (id, code))| {
            let (bin, bout, up) = counters(seq, i);
            let (pin, pout, pup) = counters(seq - 1, i);
            Usage {
                token_id: Some(*id),
                username: code.clone(),
                active: true,
                first_login_at: Some(mtm_control_plane::store::now_ms() - 60_000),
                uptime_s: up,
                bytes_in: bin,
                bytes_out: bout,
                delta_uptime_s: up - pup,
                delta_bytes_in: bin - pin,
                delta_bytes_out: bout - pout,
                counters_reset: false,
            }
        })
        .collect();
    let msg = UpMessage::Usage(UsageReport {
        entries,
        ..Default::default()
    });
    let now = mtm_control_plane::store::now_ms();
    Envelope::seal(key, "r1", mtm_common::CONTROL_PLANE_ID, seq, now, &msg)
        .unwrap()
        .to_bytes()
        .unwrap()
}

/// A client logged in as agent `r1`, subscribed to its down topic; the seqs the server
/// acknowledges go to the returned channel. It answers nothing.
async fn agent(
    port: u16,
    cp: ed25519_dalek::VerifyingKey,
) -> (AsyncClient, mpsc::UnboundedReceiver<Vec<u64>>) {
    let mut opts = MqttOptions::new(topics::client_id("r1"), "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut el) = AsyncClient::new(opts, 64);
    let (tx, rx) = mpsc::unbounded_channel();
    let (sub_tx, mut subscribed) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = sub_tx.send(());
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let Ok(env) = Envelope::from_bytes(&p.payload) else {
                        continue;
                    };
                    if let Ok(DownMessage::AckSeqs { seqs, .. }) = env.open(&cp, "r1") {
                        let _ = tx.send(seqs);
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    });
    client
        .subscribe(topics::down("r1"), QoS::AtLeastOnce)
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), subscribed.recv())
        .await
        .expect("agent subscribed");
    (client, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_before_storing_gets_the_messages_again_from_the_broker() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _broker = mosquitto(port).await;
    let data = dir.path().join("server");
    let http = format!("127.0.0.1:{}", free_port());
    let config = server_config(&data, &http, port, "mqtt_client_id = \"mtm-acks-test\"", "");
    create_admin(&config);
    let mut server = serve(&config).await;
    ready(&http).await;

    let api = Api::new(&http);
    let admin = api.login("root", "root-pass-123").await;
    let key = keys::generate_signing_key();
    let cafe = support::one_cafe(&api, &admin, &keys::public_key_hex(&key.verifying_key())).await;
    let info: Value = api.get(&admin, "/api/system/info").await;
    let cp = keys::parse_public_key(info["control_plane_public_key"].as_str().unwrap()).unwrap();
    let staff = api.login("sam", "staff-pass-123").await;
    api.post::<Value>(
        &staff,
        "/api/shifts/clock-in",
        json!({"opening_float_minor": 1000}),
    )
    .await;
    let vouchers: Vec<(Uuid, String)> = dispense(&api, &staff, &cafe.package["id"], VOUCHERS)
        .await
        .into_iter()
        .map(|(id, code)| (Uuid::parse_str(&id).unwrap(), code))
        .collect();
    let (client, mut acked_rx) = agent(port, cp).await;

    // Ingest cannot commit while another connection holds the write lock.
    let db = format!("sqlite://{}", data.join("mtm.db").display());
    let mut locker = sqlx::SqliteConnection::connect(&db).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut locker)
        .await
        .unwrap();
    let forger = keys::generate_signing_key();
    for seq in 1..=REPORTS {
        let signer = if seq == FORGED { &forger } else { &key };
        client
            .publish(
                topics::up("r1"),
                QoS::AtLeastOnce,
                false,
                report(signer, seq, &vouchers),
            )
            .await
            .unwrap();
    }
    wait_for(
        "the server received every report",
        Duration::from_secs(10),
        || async { metric(&http, "mtm_mqtt_received_total").await >= REPORTS },
    )
    .await;
    // Received, and nothing stored or acknowledged: the forged report is refused already, but
    // its PUBACK waits for those received before it.
    assert_eq!(metric(&http, "mtm_ingest_applied_total").await, 0);
    assert_eq!(metric(&http, "mtm_mqtt_acked_total").await, 0);
    server.kill().await;
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    drop(locker);
    let killed = std::time::Instant::now();

    let mut server = serve(&config).await;
    let mut acked = BTreeSet::new();
    let want: BTreeSet<u64> = (1..=REPORTS).filter(|s| *s != FORGED).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !want.is_subset(&acked) {
        let got = tokio::time::timeout_at(deadline, acked_rx.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "reports never acknowledged after the restart: {:?}",
                    want.difference(&acked)
                )
            })
            .unwrap();
        acked.extend(got);
    }
    let took = killed.elapsed();
    assert!(!acked.contains(&FORGED), "the forged report was refused");

    let store = mtm_control_plane::store::open(&db).await.unwrap();
    for (i, (id, code)) in vouchers.iter().enumerate() {
        let t = store.token(*id).await.unwrap().unwrap();
        let (bin, bout, up) = counters(REPORTS, i);
        assert_eq!(
            (t.bytes_in, t.bytes_out, t.uptime_s),
            (bin, bout, up),
            "voucher {code}: counters"
        );
        let sums = store
            .named_tokens(t.router_id, &[*id], &[])
            .await
            .unwrap()
            .into_iter()
            .next()
            .unwrap();
        // The forged report's deltas never arrive, so its counters' change is missing from the
        // sums; the next report's cumulative counters carry the tokens forward.
        let (fin, fout, fup) = counters(FORGED, i);
        let (pin, pout, pup) = counters(FORGED - 1, i);
        let missing_bytes = (fin - pin) + (fout - pout);
        assert_eq!(
            (sums.used_uptime_s, sums.used_bytes),
            (up - (fup - pup), bin + bout - missing_bytes),
            "voucher {code}: usage deltas stored once each"
        );
    }
    // Every message the restarted server received, the refused one included, was acknowledged
    // to the broker.
    wait_for(
        "every redelivery acknowledged",
        Duration::from_secs(10),
        || async {
            let received = metric(&http, "mtm_mqtt_received_total").await;
            received >= REPORTS && metric(&http, "mtm_mqtt_acked_total").await == received
        },
    )
    .await;
    eprintln!(
        "server killed with {REPORTS} reports received and none stored; the broker delivered \
         them again: all {} valid ones stored once and acknowledged {:.1} s after the kill, the \
         forged one refused and acknowledged; {} messages redelivered",
        want.len(),
        took.as_secs_f64(),
        metric(&http, "mtm_mqtt_received_total").await,
    );
    server.kill().await;
}
