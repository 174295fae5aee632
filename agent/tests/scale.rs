//! A busy router: 1,000 hotspot users. Inventories are large messages; usage reports only carry
//! the users that changed.

mod common;

use common::*;
use mtm_common::UpMessage;
use mtm_routeros::{Client, ClientConfig, NewHotspotUser};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_users_inventory_and_usage() {
    let router = sim().await;
    let client = Client::connect(&ClientConfig::plain(
        router.addr().to_string(),
        "admin",
        "pw",
    ))
    .await
    .unwrap();
    for i in 0..1000 {
        client
            .add_hotspot_user(&NewHotspotUser {
                name: format!("BULK{i:04}"),
                password: Some("1234".into()),
                comment: Some(mtm_common::router_comment(uuid::Uuid::new_v4())),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    assert_eq!(router.users().len(), 1000);

    let dir = tempfile::tempdir().unwrap();
    let id = unique_id("scale");
    let agent_key = mtm_agent::load_or_create_key(dir.path()).unwrap();
    let cp = Cp::start(MOSQUITTO, &id, agent_key.verifying_key()).await;
    let mut cfg = agent_config(&id, dir.path(), &cp.public_hex(), MOSQUITTO, router.addr());
    cfg.intervals.inventory_s = 3600; // the first tick is at start
    let agent = mtm_agent::Agent::start(cfg).await.unwrap();
    wait_until(60, "inventory of 1000", || {
        cp.count(|m| matches!(m, UpMessage::Inventory(i) if i.users.len() >= 1000)) == 1
    })
    .await;

    for i in 0..50 {
        router.use_traffic(&format!("BULK{i:04}"), 10, 20);
    }
    wait_until(30, "usage for the 50", || {
        cp.collect(|m| match m {
            UpMessage::Usage(r) => Some(r.entries.clone()),
            _ => None,
        })
        .into_iter()
        .flatten()
        .filter(|e| e.delta_bytes_out == 20)
        .count()
            == 50
    })
    .await;
    // Only changed users are reported: no entry for the 950 untouched ones.
    let untouched = cp
        .collect(|m| match m {
            UpMessage::Usage(r) => Some(r.entries.clone()),
            _ => None,
        })
        .into_iter()
        .flatten()
        .filter(|e| e.bytes_out == 0)
        .count();
    assert_eq!(untouched, 0);
    wait_until(20, "acked", || agent.status().outbox_len == 0).await;
    agent.shutdown().await;
    router.shutdown().await;
    forget_session(MOSQUITTO, &id).await;
}
