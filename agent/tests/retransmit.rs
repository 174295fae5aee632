//! Retransmission inside one broker session, against the system Mosquitto: a message the
//! control plane does not acknowledge is published again without a reconnect, a `Resend`
//! request republishes from the `seq` it names, and no more than `max_in_flight` messages are
//! out at once.

mod common;

use common::*;
use mtm_common::{DownMessage, UpMessage};

fn is_hello(m: &UpMessage) -> bool {
    matches!(m, UpMessage::Hello(_))
}

fn is_applied(m: &UpMessage) -> bool {
    matches!(m, UpMessage::TokenApplied(_))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_request_republishes_from_that_seq() {
    // Timers far away: only the request makes anything go out twice.
    let rig = rig_with("resend", MOSQUITTO, MOSQUITTO, false, |c| {
        c.mqtt.resend_after_s = 3600;
    })
    .await;
    let (cp, agent) = (&rig.cp, &rig.agent);
    let hello = cp.seqs(is_hello)[0];
    cp.command(&create_token("RESEND22")).await;
    wait_until(20, "TokenApplied", || cp.count(is_applied) == 1).await;
    let applied = cp.seqs(is_applied)[0];
    assert!(applied > hello);
    assert_eq!(cp.received(applied), 1);

    cp.send(&DownMessage::Resend { from_seq: applied }).await;
    wait_until(20, "TokenApplied published again", || {
        cp.received(applied) == 2
    })
    .await;
    assert_eq!(cp.received(hello), 1, "nothing below from_seq went again");

    cp.send(&DownMessage::Resend { from_seq: hello }).await;
    wait_until(20, "everything from the hello published again", || {
        cp.received(hello) == 2 && cp.received(applied) == 3
    })
    .await;

    // Acknowledged messages are gone: a later request has nothing to send.
    let all: Vec<u64> = cp.seen.lock().unwrap().received.keys().copied().collect();
    let highest = *all.iter().max().unwrap();
    cp.send(&DownMessage::AckSeqs {
        seqs: all,
        highest_seen: highest,
    })
    .await;
    wait_until(20, "outbox empty", || agent.status().outbox_len == 0).await;
    cp.send(&DownMessage::Resend { from_seq: 0 }).await;
    cp.command(&create_token("RESEND33")).await;
    wait_until(20, "second TokenApplied", || cp.count(is_applied) == 2).await;
    assert_eq!(cp.received(hello), 2);
    assert_eq!(cp.received(applied), 3);
    assert!(agent.status().mqtt_connected);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_message_is_published_again_while_connected() {
    let rig = rig_with("retransmit", MOSQUITTO, MOSQUITTO, false, |c| {
        c.mqtt.resend_after_s = 1;
    })
    .await;
    let (cp, agent) = (&rig.cp, &rig.agent);
    let hello = cp.seqs(is_hello)[0];
    // Sent at once, then after 1 s and 2 s more: the control plane "lost" the first two.
    wait_until(20, "hello published three times", || {
        cp.received(hello) >= 3
    })
    .await;
    // Every (re)connect enqueues a new Hello; there is still only the one.
    assert_eq!(cp.count(is_hello), 1, "the agent did not reconnect");
    assert!(agent.status().mqtt_connected);
    assert!(agent.status().outbox_len >= 1);

    // The control plane recovers and acknowledges what it now receives.
    cp.auto_ack
        .store(true, std::sync::atomic::Ordering::Relaxed);
    wait_until(30, "outbox acknowledged", || agent.status().outbox_len == 0).await;
    assert_eq!(cp.seen.lock().unwrap().out_of_order, 0);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_than_max_in_flight_are_out_at_once() {
    let rig = rig_with("inflight", MOSQUITTO, MOSQUITTO, true, |c| {
        c.mqtt.resend_after_s = 1;
        c.mqtt.max_in_flight = 2;
    })
    .await;
    let (cp, agent) = (&rig.cp, &rig.agent);
    // Start from an empty outbox, then stop acknowledging.
    wait_until(20, "start-up messages acknowledged", || {
        agent.status().outbox_len == 0
    })
    .await;
    cp.auto_ack
        .store(false, std::sync::atomic::Ordering::Relaxed);
    for code in ["INFLT222", "INFLT333", "INFLT444"] {
        cp.command(&create_token(code)).await;
    }
    wait_until(20, "three commands applied", || {
        agent.status().commands_applied == 3
    })
    .await;
    wait_until(20, "two results published", || cp.count(is_applied) == 2).await;
    let first = cp.seqs(is_applied)[0];
    // Two retransmission rounds after all three results were queued, and still only two out.
    let before = cp.received(first);
    wait_until(20, "first result published twice more", || {
        cp.received(first) >= before + 2
    })
    .await;
    assert_eq!(
        cp.count(is_applied),
        2,
        "only max_in_flight messages are out"
    );
    assert!(agent.status().outbox_len >= 3);

    cp.auto_ack
        .store(true, std::sync::atomic::Ordering::Relaxed);
    wait_until(30, "everything delivered", || {
        agent.status().outbox_len == 0 && cp.count(is_applied) == 3
    })
    .await;
    rig.stop().await;
}
