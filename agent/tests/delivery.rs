//! Delivery guarantees across broker outages, and the embedded rumqttd broker.

mod common;

use common::*;
use mtm_common::UpMessage;

fn usage_sums(cp: &Cp, user: &str) -> (u64, u64, u64) {
    cp.collect(|m| match m {
        UpMessage::Usage(r) => Some(r.entries.clone()),
        _ => None,
    })
    .into_iter()
    .flatten()
    .filter(|e| e.username == user)
    .fold((0, 0, 0), |a, e| {
        (
            a.0 + e.delta_uptime_s,
            a.1 + e.delta_bytes_in,
            a.2 + e.delta_bytes_out,
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_during_a_mosquitto_outage_arrives_exactly_once() {
    usage_during_a_broker_outage_arrives_exactly_once(MOSQUITTO).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_during_an_embedded_rumqttd_outage_arrives_exactly_once() {
    usage_during_a_broker_outage_arrives_exactly_once(start_rumqttd()).await;
}

/// The broker on `broker_port` is cut off (through a proxy) while vouchers are used, then back.
async fn usage_during_a_broker_outage_arrives_exactly_once(broker_port: u16) {
    let proxy = Proxy::start(broker_port).await;
    let rig = rig_split("outage", broker_port, proxy.port, true).await;
    let (router, cp, agent) = (&rig.router, &rig.cp, &rig.agent);
    cp.command(&create_token("USAGE222")).await;
    wait_until(20, "TokenApplied", || {
        cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 1
    })
    .await;
    router
        .customer_login("USAGE222", "1234", "AA:BB:CC:DD:EE:01")
        .unwrap();
    router.use_traffic("USAGE222", 1000, 2000);
    wait_until(20, "first usage", || usage_sums(cp, "USAGE222").1 == 1000).await;

    proxy.set_up(false);
    wait_until(30, "agent offline", || !agent.status().mqtt_connected).await;
    for i in 1..=4u64 {
        let before = agent.status().next_seq;
        router.use_traffic("USAGE222", 100 * i, 200 * i);
        router.advance(std::time::Duration::from_secs(7));
        wait_until(20, "usage queued while offline", || {
            agent.status().next_seq > before
        })
        .await;
    }
    // Unsent reports were coalesced: one row holds the whole outage's usage.
    let queued = agent.status().outbox_len;
    assert!(queued <= 3, "outbox holds {queued} rows");
    assert_eq!(usage_sums(cp, "USAGE222").1, 1000, "nothing passed the cut");

    proxy.set_up(true);
    let u = router
        .users()
        .into_iter()
        .find(|u| u.name == "USAGE222")
        .unwrap();
    assert_eq!(u.bytes_in, 2000);
    let want = (u.uptime.as_secs(), u.bytes_in, u.bytes_out);
    wait_until(60, "all usage delivered and acked", || {
        usage_sums(cp, "USAGE222") == want && agent.status().outbox_len == 0
    })
    .await;
    let out_of_order = cp.seen.lock().unwrap().out_of_order;
    assert_eq!(out_of_order, 0, "resend kept seq order");
    rig.stop().await;
}

// A current-thread runtime, as a plain `#[tokio::test]` in another crate would use.
#[tokio::test]
async fn works_over_embedded_rumqttd() {
    let port = start_rumqttd();
    let rig = rig("rumqttd", port, true).await;
    let (router, cp, agent) = (&rig.router, &rig.cp, &rig.agent);
    cp.command(&create_token("RUMQTT22")).await;
    wait_until(20, "TokenApplied", || {
        cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 1
    })
    .await;
    assert_eq!(router.users().len(), 1);
    wait_until(20, "acked", || agent.status().outbox_len == 0).await;
    rig.stop().await;
}
