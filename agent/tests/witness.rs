//! The agent as a witness of the control plane's hash chains: it keeps the signed checkpoints it
//! is sent, through a restart, and returns exactly those when asked. Simulator router, system
//! Mosquitto, fake control plane.

mod common;

use common::*;
use mtm_common::checkpoint::{AUDIT_CHAIN, LEDGER_CHAIN};
use mtm_common::{keys, Checkpoint, Checkpoints, DownMessage, UpMessage};

const HEAD: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

fn answers(cp: &Cp) -> Vec<Vec<Checkpoint>> {
    cp.collect(|m| match m {
        UpMessage::Checkpoints(c) => Some(c.checkpoints.clone()),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_returns_the_checkpoints_it_was_given_even_after_a_restart() {
    let rig = rig("witness", MOSQUITTO, true).await;
    let cp = &rig.cp;

    // Nothing witnessed yet: the answer is empty, not missing.
    cp.send(&DownMessage::SendCheckpoints).await;
    wait_until(20, "first answer", || answers(cp).len() == 1).await;
    assert!(answers(cp)[0].is_empty());

    let now = now_ms();
    let given = vec![
        Checkpoint::sign(&cp.key, LEDGER_CHAIN, 100, HEAD, now - 600_000),
        Checkpoint::sign(&cp.key, AUDIT_CHAIN, 10, HEAD, now - 600_000),
        Checkpoint::sign(&cp.key, LEDGER_CHAIN, 120, HEAD, now),
    ];
    // One signed by another key rides along: it is not kept.
    let stranger = keys::generate_signing_key();
    let mut sent = given.clone();
    sent.push(Checkpoint::sign(&stranger, AUDIT_CHAIN, 99, HEAD, now));
    cp.send(&DownMessage::Checkpoints(Checkpoints { checkpoints: sent }))
        .await;
    cp.send(&DownMessage::SendCheckpoints).await;
    wait_until(20, "second answer", || answers(cp).len() == 2).await;
    let mut expected = given.clone();
    // Kept by chain, then by signing time.
    expected.sort_by(|a, b| (&a.chain, a.at).cmp(&(&b.chain, b.at)));
    assert_eq!(answers(cp)[1], expected);

    // A restart keeps them: they live in the agent's redb store.
    rig.agent.shutdown().await;
    let cfg = agent_config(
        &rig.id,
        rig.dir.path(),
        &cp.public_hex(),
        MOSQUITTO,
        rig.router.addr(),
    );
    let agent = mtm_agent::Agent::start(cfg).await.unwrap();
    wait_until(20, "hello again", || {
        cp.count(|m| matches!(m, UpMessage::Hello(_))) >= 2
    })
    .await;
    cp.send(&DownMessage::SendCheckpoints).await;
    wait_until(20, "answer after the restart", || answers(cp).len() == 3).await;
    assert_eq!(answers(cp)[2], expected);
    assert!(answers(cp)[2]
        .iter()
        .all(|c| c.verify(&cp.key.verifying_key()).is_ok()));

    agent.shutdown().await;
    rig.router.shutdown().await;
    forget_session(MOSQUITTO, &rig.id).await;
}
