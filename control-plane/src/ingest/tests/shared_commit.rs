//! A batch carrying several agents' messages is stored in one transaction; a share the store
//! refuses costs only its own agent a resend, and a seq no store can hold is refused.

use super::*;
use crate::store::sql::SqlStore;
use crate::store::{IngestStore, NewRouter};
use mtm_common::Health;

fn health(sessions: u32) -> UpMessage {
    UpMessage::Health(Health {
        active_sessions: sessions,
        ..Default::default()
    })
}

/// A rig on its own SQLite file (reachable with SQL too) and a second router, `agent-2`.
async fn two_router_rig() -> (Rig, Arc<SqlStore>, SigningKey, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/mtm.db", dir.path().display());
    let sql = Arc::new(SqlStore::open(&url).await.unwrap());
    let f = crate::testutil::seed(sql.clone()).await;
    let key2 = mtm_common::keys::generate_signing_key();
    f.store
        .create_router(NewRouter {
            location_id: f.location.id,
            name: "Router Two".into(),
            agent_id: "agent-2".into(),
            public_key_hex: mtm_common::keys::public_key_hex(&key2.verifying_key()),
            mqtt_password: "agent-two-secret".into(),
        })
        .await
        .unwrap();
    (rig_on(f), sql, key2, dir)
}

async fn last_seq(rig: &Rig, agent: &str) -> u64 {
    let r = rig.f.store.router_by_agent(agent).await.unwrap().unwrap();
    r.last_seq
}

fn acks_to(rig: &Rig, agent: &str) -> Vec<u64> {
    rig.rec
        .down_to(agent, &rig.cp.verifying_key())
        .into_iter()
        .filter_map(|(_, m)| match m {
            DownMessage::AckSeqs { highest_seen, .. } => Some(highest_seen),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn two_agents_in_one_batch_are_both_stored_and_each_acked() {
    let (rig, _sql, key2, _dir) = two_router_rig().await;
    let batch = vec![
        up("agent-2", sealed(&key2, "agent-2", 4, &health(1))),
        up(
            "agent-1",
            sealed(&rig.f.agent_key, "agent-1", 1, &health(2)),
        ),
        up("agent-2", sealed(&key2, "agent-2", 5, &health(3))),
    ];
    rig.ingest.handle_batch(batch).await;
    assert_eq!(acks_to(&rig, "agent-1"), vec![1]);
    assert_eq!(acks_to(&rig, "agent-2"), vec![5]);
    assert_eq!(
        (
            last_seq(&rig, "agent-1").await,
            last_seq(&rig, "agent-2").await
        ),
        (1, 5)
    );
    assert_eq!(rig.metrics.ingest_applied.load(Ordering::Relaxed), 3);
}

#[tokio::test]
async fn a_share_the_store_refuses_leaves_the_others_stored_and_its_agent_asked_again() {
    let (rig, sql, key2, _dir) = two_router_rig().await;
    let router2 = rig
        .f
        .store
        .router_by_agent("agent-2")
        .await
        .unwrap()
        .unwrap();
    // The database refuses agent-2's health rows, as it would a row breaking a constraint.
    sqlx::query(&format!(
        "CREATE TRIGGER refuse_agent_two BEFORE INSERT ON router_health
         WHEN NEW.router_id = '{}' BEGIN SELECT RAISE(ABORT, 'refused'); END",
        router2.id
    ))
    .execute(sql.pool())
    .await
    .unwrap();
    let batch = vec![
        up(
            "agent-1",
            sealed(&rig.f.agent_key, "agent-1", 1, &health(1)),
        ),
        up("agent-2", sealed(&key2, "agent-2", 7, &health(2))),
    ];
    rig.ingest.handle_batch(batch).await;
    assert_eq!(
        acks_to(&rig, "agent-1"),
        vec![1],
        "the other agent's share is stored"
    );
    assert_eq!(last_seq(&rig, "agent-1").await, 1);
    assert!(
        acks_to(&rig, "agent-2").is_empty(),
        "nothing stored, nothing acked"
    );
    assert_eq!(last_seq(&rig, "agent-2").await, 0);
    assert_eq!(rig.metrics.ingest_failed_batches.load(Ordering::Relaxed), 1);
    // The refused agent is asked to send again from its lowest seq in that batch.
    rig.ingest.settle().await;
    let resend: Vec<u64> = rig
        .rec
        .down_to("agent-2", &rig.cp.verifying_key())
        .into_iter()
        .filter_map(|(_, m)| match m {
            DownMessage::Resend { from_seq } => Some(from_seq),
            _ => None,
        })
        .collect();
    assert_eq!(resend, vec![7]);
}

#[tokio::test]
async fn a_seq_beyond_what_the_store_holds_is_refused_and_the_rest_stored() {
    let rig = rig().await;
    let too_far = u64::try_from(i64::MAX).unwrap() + 1;
    let batch = vec![
        up(
            "agent-1",
            sealed(&rig.f.agent_key, "agent-1", too_far, &health(1)),
        ),
        up(
            "agent-1",
            sealed(&rig.f.agent_key, "agent-1", 2, &health(2)),
        ),
    ];
    rig.ingest.handle_batch(batch).await;
    assert_eq!(rig.rejects("seq"), 1, "{:?}", rig.metrics.rejects());
    assert_eq!(rig.acks(), vec![2]);
    assert_eq!(last_seq(&rig, "agent-1").await, 2);
}

/// On PostgreSQL a batch's agents are stored by several writers side by side: every agent's
/// messages are stored and acked, whichever writer took them.
#[tokio::test]
async fn on_postgres_several_writers_store_every_agent_of_a_batch() {
    let sql = Arc::new(crate::testutil::postgres_store_raw().await);
    assert!(
        sql.ingest_writers() > 1,
        "PostgreSQL stores with several writers"
    );
    let f = crate::testutil::seed(sql.clone()).await;
    let mut keys = vec![("agent-1".to_owned(), f.agent_key.clone())];
    for n in 2..=7 {
        let key = mtm_common::keys::generate_signing_key();
        let agent = format!("agent-{n}");
        f.store
            .create_router(NewRouter {
                location_id: f.location.id,
                name: format!("Router {n}"),
                agent_id: agent.clone(),
                public_key_hex: mtm_common::keys::public_key_hex(&key.verifying_key()),
                mqtt_password: format!("agent-{n}-secret"),
            })
            .await
            .unwrap();
        keys.push((agent, key));
    }
    let rig = rig_on(f);
    let mut batch = Vec::new();
    for (i, (agent, key)) in keys.iter().enumerate().rev() {
        for seq in 1..=(i as u64 + 1) {
            batch.push(up(agent, sealed(key, agent, seq, &health(1))));
        }
    }
    rig.ingest.handle_batch(batch).await;
    for (i, (agent, _)) in keys.iter().enumerate() {
        let highest = i as u64 + 1;
        assert_eq!(acks_to(&rig, agent), vec![highest], "{agent}");
        assert_eq!(last_seq(&rig, agent).await, highest, "{agent}");
    }
    assert_eq!(rig.metrics.ingest_applied.load(Ordering::Relaxed), 28);
}
