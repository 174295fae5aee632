//! External-broker mode against the Mosquitto on this machine (127.0.0.1:1883, anonymous): two
//! replicas on one PostgreSQL database share ingest through `$share/mtm/mtm/v1/up/+`, and every
//! message is stored exactly once. Fails (never skips) when Mosquitto or PostgreSQL is down.

use mtm_common::{keys, topics, DownMessage, Envelope, Health, UpMessage};
use mtm_control_plane::store::sql::SqlStore;
use mtm_control_plane::store::{now_ms, NewLocation, NewRouter};
use mtm_control_plane::{start, MqttConfig, ServerConfig};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::collections::BTreeSet;
use std::time::Duration;

const N: u64 = 40;

fn pg_url() -> String {
    std::env::var("MTM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

async fn applied_total(http: &reqwest::Client, addr: std::net::SocketAddr) -> u64 {
    let text = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("mtm_ingest_applied_total "))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_ingest_and_store_each_message_once() {
    // Named like the store suite's schemas (`mtm_test_{secs}_{random}`) so its cleanup of
    // schemas over an hour old removes this one too.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let schema = format!("mtm_test_{secs}_{}", uuid::Uuid::new_v4().simple());
    // Create and migrate the schema, so both replicas find it ready.
    drop(
        SqlStore::open_in_schema(&pg_url(), &schema)
            .await
            .expect("PostgreSQL is required"),
    );
    let sep = if pg_url().contains('?') { '&' } else { '?' };
    let db = format!("{}{sep}options[search_path]={schema}", pg_url());
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServerConfig {
        data_dir: dir.path().to_owned(),
        database_url: db,
        http_bind: "127.0.0.1:0".parse().unwrap(),
        mqtt: MqttConfig::External {
            host: "127.0.0.1".into(),
            port: 1883,
            username: None,
            password: None,
        },
        ..Default::default()
    };
    let a = start(cfg.clone()).await.unwrap();
    let b = start(cfg).await.unwrap();
    assert_eq!(
        a.control_plane_public_key_hex(),
        b.control_plane_public_key_hex(),
        "replicas share the key"
    );
    let cp = keys::parse_public_key(&a.control_plane_public_key_hex()).unwrap();
    let store = a.store();
    let loc = store
        .create_location(NewLocation {
            name: "L".into(),
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
    let agent_id = format!("ext-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let key = keys::generate_signing_key();
    store
        .create_router(NewRouter {
            location_id: loc.id,
            name: "R".into(),
            agent_id: agent_id.clone(),
            public_key_hex: keys::public_key_hex(&key.verifying_key()),
            mqtt_password: "unused-on-anonymous-mosquitto".into(),
        })
        .await
        .unwrap();

    let mut opts = MqttOptions::new(agent_id.clone(), "127.0.0.1", 1883);
    opts.set_keep_alive(Duration::from_secs(5));
    let (client, mut el) = AsyncClient::new(opts, 128);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = tx.send(None);
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let _ = tx.send(Some(p.payload.to_vec()));
                }
                Ok(_) => {}
                Err(e) => panic!("agent connection: {e}"),
            }
        }
    });
    client
        .subscribe(topics::down(&agent_id), QoS::AtLeastOnce)
        .await
        .unwrap();
    assert!(tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap()
        .is_none());

    let send = |seq: u64| {
        let msg = UpMessage::Health(Health {
            active_sessions: u32::try_from(seq).unwrap(),
            ..Default::default()
        });
        Envelope::seal(&key, &agent_id, "cp", seq, now_ms(), &msg)
            .unwrap()
            .to_bytes()
            .unwrap()
    };
    for seq in 1..=N {
        client
            .publish(topics::up(&agent_id), QoS::AtLeastOnce, false, send(seq))
            .await
            .unwrap();
    }
    // Like the real agent, resend what is not acknowledged yet until everything is. An ack
    // names exactly what its replica committed, so once every seq is acked all are stored.
    let mut acked = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while (acked.len() as u64) < N {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {N} acked",
            acked.len()
        );
        match tokio::time::timeout(Duration::from_secs(3), rx.recv()).await {
            Ok(Some(Some(payload))) => {
                let env = Envelope::from_bytes(&payload).unwrap();
                if let DownMessage::AckSeqs { seqs, .. } = env.open(&cp, &agent_id).unwrap() {
                    acked.extend(seqs);
                }
            }
            Ok(_) => {}
            Err(_) => {
                for seq in (1..=N).filter(|s| !acked.contains(s)) {
                    client
                        .publish(topics::up(&agent_id), QoS::AtLeastOnce, false, send(seq))
                        .await
                        .unwrap();
                }
            }
        }
    }
    // Each message stored exactly once, whichever replica took it.
    let pg = SqlStore::open_in_schema(&pg_url(), &schema).await.unwrap();
    let seqs: Vec<i64> = sqlx::query_scalar(
        "SELECT h.active_sessions FROM router_health h JOIN routers r ON r.id = h.router_id WHERE r.agent_id = $1",
    )
    .bind(&agent_id)
    .fetch_all(pg.pool())
    .await
    .unwrap();
    assert_eq!(seqs.len() as u64, N, "stored once each");
    assert_eq!(
        seqs.iter().copied().collect::<BTreeSet<_>>().len() as u64,
        N
    );
    let http = reqwest::Client::new();
    let (na, nb) = (
        applied_total(&http, a.http_addr()).await,
        applied_total(&http, b.http_addr()).await,
    );
    assert_eq!(na + nb, N, "applied {na} + {nb}");
    assert!(na > 0 && nb > 0, "both replicas took part: {na} + {nb}");
    a.shutdown().await;
    b.shutdown().await;
}
