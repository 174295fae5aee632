//! The ingest's stages (verify, store and ack, alert checks) running side by side, and the
//! online/offline notices recorded after the reports stored with them.

use super::*;
use crate::link::ingest_queue;
use mtm_common::{Inventory, RouterUser};

fn status(online: bool) -> Incoming {
    Incoming {
        topic: topics::status("agent-1"),
        payload: if online {
            topics::ONLINE
        } else {
            topics::OFFLINE
        }
        .to_vec(),
        ack: None,
    }
}

fn health(rig: &Rig, seq: u64) -> Incoming {
    let h = UpMessage::Health(Default::default());
    up("agent-1", sealed(&rig.f.agent_key, "agent-1", seq, &h))
}

async fn online(rig: &Rig) -> bool {
    let r = rig.f.store.router_by_agent("agent-1").await.unwrap();
    r.unwrap().online
}

#[tokio::test]
async fn an_offline_notice_after_a_report_in_one_batch_leaves_the_router_offline() {
    let rig = rig().await;
    rig.ingest
        .handle_batch(vec![health(&rig, 1), status(false)])
        .await;
    assert_eq!(rig.acks(), vec![1], "the report is stored");
    assert!(!online(&rig).await, "the notice came after the report");
}

#[tokio::test]
async fn a_report_after_an_offline_notice_in_one_batch_leaves_the_router_online() {
    let rig = rig().await;
    rig.ingest
        .handle_batch(vec![status(false), health(&rig, 1)])
        .await;
    assert_eq!(rig.acks(), vec![1]);
    assert!(online(&rig).await, "the report came after the notice");
}

#[tokio::test]
async fn the_stages_store_every_batch_in_order_and_run_its_checks_before_the_loop_ends() {
    let rig = rig().await;
    let dispatcher = Arc::new(Dispatcher::new(
        rig.f.store.clone(),
        rig.rec.clone(),
        rig.cp.clone(),
        rig.metrics.clone(),
    ));
    let ingest = Arc::new(Ingest::new(
        rig.f.store.clone(),
        dispatcher,
        rig.metrics.clone(),
    ));
    let (tx, rx) = ingest_queue(64 << 20, rig.metrics.clone());
    // More than one batch holds, so the stages overlap: health reports, then an inventory
    // with a user mtm never made, then the router going away.
    let reports = MAX_BATCH as u64 + 40;
    for seq in 1..=reports {
        assert!(tx.offer(health(&rig, seq)));
    }
    let rogue = RouterUser {
        router_id: "*9".into(),
        name: "HANDMADE".into(),
        ..Default::default()
    };
    let inventory = UpMessage::Inventory(Inventory {
        users: vec![rogue],
        sessions: vec![],
        logins: vec![],
        issued_here: Vec::new(),
    });
    let last = reports + 1;
    let sealed_inv = sealed(&rig.f.agent_key, "agent-1", last, &inventory);
    assert!(tx.offer(up("agent-1", sealed_inv)));
    assert!(tx.offer(status(false)));
    drop(tx);
    // Returns once the queue is closed and every stage has finished what it was handed.
    ingest.run(rx).await;

    let r = rig.f.store.router_by_agent("agent-1").await.unwrap();
    let r = r.unwrap();
    assert_eq!(r.last_seq, last, "every report stored");
    assert!(!r.online, "the notice that came last holds");
    assert_eq!(rig.acks().last(), Some(&last));
    let ingested = rig.metrics.ingest_applied.load(Ordering::Relaxed);
    assert_eq!(ingested, last, "each stored once");
    let owed = rig
        .f
        .store
        .pending_checks(&[], i64::MAX, 100)
        .await
        .unwrap();
    assert!(owed.is_empty(), "checks left pending: {}", owed.len());
    let alerts = rig.f.store.list_alerts(&Default::default()).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].kind.as_str(), "rogue_token");
}
