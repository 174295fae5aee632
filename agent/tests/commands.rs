//! Commands end to end: simulator router, system Mosquitto, fake control plane.

mod common;

use common::*;
use mtm_common::{
    keys, token_id_from_comment, Catalog, Command, CommandKind, DownMessage, UpMessage,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_token_is_applied_once_and_a_repeat_is_answered() {
    let rig = rig("cmd", MOSQUITTO, true).await;
    let (router, cp, agent) = (&rig.router, &rig.cp, &rig.agent);

    let cmd = create_token("ABCD2345");
    cp.command(&cmd).await;
    wait_until(20, "TokenApplied", || {
        cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 1
    })
    .await;
    let users = router.users();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].name, "ABCD2345");
    // The `mtm-1h` profile was not on this router: the agent made it from the command.
    assert_eq!(users[0].profile.as_deref(), Some("mtm-1h"));
    let rate = router.with_state(|s| {
        s.profile_by_name("mtm-1h")
            .and_then(|p| p.props.get("rate-limit").cloned())
    });
    assert_eq!(rate.as_deref(), Some("2M/5M"));
    let mtm_common::CommandKind::CreateToken(ct) = &cmd.kind else {
        unreachable!()
    };
    assert_eq!(
        users[0].comment.as_deref().and_then(token_id_from_comment),
        Some(ct.token_id)
    );

    // The same command again (a control-plane resend): answered from the inbox, not applied.
    cp.command(&cmd).await;
    wait_until(20, "second answer", || {
        cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 2
    })
    .await;
    let answers = cp.collect(|m| match m {
        UpMessage::TokenApplied(t) => Some(t.clone()),
        _ => None,
    });
    assert_eq!(answers[0], answers[1]);
    assert!(!answers[0].already_present);
    assert_eq!(router.users().len(), 1);
    assert_eq!(agent.status().commands_applied, 1);
    wait_until(10, "outbox acked", || agent.status().outbox_len == 0).await;
    rig.stop().await;
}

/// A command from a server that does not describe the profile, sold before the catalog reached
/// the router: the voucher is never made with another profile, and the commands queued behind
/// it (the catalog among them) are not held up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voucher_without_its_profile_waits_for_the_catalog() {
    let rig = rig("cmdwait", MOSQUITTO, true).await;
    let (router, cp) = (&rig.router, &rig.cp);

    let mut cmd = create_token("WAIT2345");
    let CommandKind::CreateToken(ct) = &mut cmd.kind else {
        unreachable!()
    };
    ct.profile = None;
    cp.command(&cmd).await;
    let resync = Command {
        id: uuid::Uuid::new_v4(),
        issued_at: now_ms(),
        kind: CommandKind::Resync,
    };
    cp.command(&resync).await;
    wait_until(20, "the resync behind the waiting voucher", || {
        cp.count(|m| matches!(m, UpMessage::CommandDone(d) if d.command_id == resync.id)) == 1
    })
    .await;
    assert!(router.users().is_empty(), "{:?}", router.users());
    assert_eq!(cp.count(|m| matches!(m, UpMessage::TokenApplied(_))), 0);

    let catalog = Command {
        id: uuid::Uuid::new_v4(),
        issued_at: now_ms(),
        kind: CommandKind::ApplyCatalog(Catalog {
            version: 7,
            packages: vec![spec_1h()],
        }),
    };
    cp.command(&catalog).await;
    wait_until(30, "TokenApplied after the catalog", || {
        cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 1
    })
    .await;
    let users = router.users();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].profile.as_deref(), Some("mtm-1h"));
    assert_eq!(cp.count(|m| matches!(m, UpMessage::CommandFailed(_))), 0);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_or_stale_commands_are_refused() {
    let rig = rig("refuse", MOSQUITTO, true).await;
    let (router, cp, agent) = (&rig.router, &rig.cp, &rig.agent);

    let wrong_key = keys::generate_signing_key();
    cp.send_with(
        &wrong_key,
        now_ms(),
        &DownMessage::Command(create_token("FORGED22")),
    )
    .await;
    let old = now_ms() - 2 * 86_400_000;
    cp.send_with(
        &cp.key.clone(),
        old,
        &DownMessage::Command(create_token("STALE222")),
    )
    .await;
    // A command issued two days ago but re-sealed now (the control plane's resend after a long
    // outage) is fresh; only the envelope time counts.
    let mut resent = create_token("RESENT22");
    resent.issued_at = old;
    cp.command(&resent).await;
    // Once the good ones are applied, the bad ones were seen and dropped.
    wait_until(20, "good command", || {
        cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 1
    })
    .await;
    let names: Vec<String> = router.users().into_iter().map(|u| u.name).collect();
    assert_eq!(names, vec!["RESENT22".to_string()]);
    assert_eq!(agent.status().commands_applied, 1);
    rig.stop().await;
}

/// Two agents pinning one control plane: a command and an ack sealed for A, captured and
/// republished on B's down topic, are refused by B; B's router, outbox and counters stay as
/// they were, while A carried the same command out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_or_ack_sealed_for_another_agent_is_refused() {
    let cp_key = keys::generate_signing_key();
    let a = rig_keyed("xa", MOSQUITTO, true, cp_key.clone()).await;
    // B is never acknowledged, so its outbox (the Hello at least) shows any ack it believed.
    let b = rig_keyed("xb", MOSQUITTO, false, cp_key).await;

    let cmd = a.cp.seal(&DownMessage::Command(create_token("MOVED222")));
    let ack = a.cp.seal(&DownMessage::AckSeqs {
        seqs: (1..=50).collect(),
        highest_seen: 1_000_000,
    });
    a.cp.publish_raw(mtm_common::topics::down(&a.id), cmd.clone())
        .await;
    wait_until(20, "A applied its command", || {
        a.cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 1
    })
    .await;

    let before = b.agent.status();
    assert!(before.outbox_len >= 1, "{before:?}");
    b.cp.publish_raw(mtm_common::topics::down(&b.id), cmd).await;
    b.cp.publish_raw(mtm_common::topics::down(&b.id), ack).await;
    wait_until(20, "B refused both", || b.agent.status().down_refused >= 2).await;
    // A command really sealed for B, sent after the replays, is carried out: B is listening,
    // and everything before it on the topic has been handled.
    b.cp.command(&create_token("OWNB2222")).await;
    wait_until(20, "B applied its own command", || {
        b.cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 1
    })
    .await;

    let names: Vec<String> = b.router.users().into_iter().map(|u| u.name).collect();
    assert_eq!(names, vec!["OWNB2222".to_string()]);
    let after = b.agent.status();
    assert_eq!(after.down_refused, 2, "{after:?}");
    assert_eq!(after.last_acked_seq, before.last_acked_seq);
    assert!(
        after.outbox_len > before.outbox_len,
        "nothing dropped: {after:?}"
    );
    assert!(
        after.next_seq < 1_000,
        "seq not moved by the ack: {after:?}"
    );
    assert_eq!(after.commands_applied, 1);
    let a_names: Vec<String> = a.router.users().into_iter().map(|u| u.name).collect();
    assert_eq!(a_names, vec!["MOVED222".to_string()]);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_empties_the_outbox_and_without_it_nothing_is_dropped() {
    let rig = rig("ack", MOSQUITTO, false).await;
    let (cp, agent) = (&rig.cp, &rig.agent);
    for i in 0..3 {
        cp.command(&create_token(&format!("ACKTEST{i}"))).await;
    }
    wait_until(20, "three results", || {
        cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 3
    })
    .await;
    let st = agent.status();
    assert!(st.outbox_len >= 4, "hello + 3 results kept: {st:?}");
    let up_to = cp.seen.lock().unwrap().last_committed;
    cp.send(&DownMessage::Ack { up_to_seq: up_to }).await;
    wait_until(10, "outbox emptied", || {
        let s = agent.status();
        s.last_acked_seq == up_to && s.outbox_len == s.next_seq - 1 - up_to
    })
    .await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_wait_for_an_unreachable_router_and_apply_once() {
    let rig = rig("unreach", MOSQUITTO, true).await;
    let (router, cp, agent) = (&rig.router, &rig.cp, &rig.agent);
    wait_until(20, "router reachable", || agent.status().router_reachable).await;
    router.set_reachable(false);
    wait_until(20, "router unreachable", || {
        !agent.status().router_reachable
    })
    .await;
    let cmds: Vec<_> = (0..3)
        .map(|i| create_token(&format!("QUEUED2{i}")))
        .collect();
    for c in &cmds {
        cp.command(c).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(agent.status().commands_applied, 0);
    router.set_reachable(true);
    wait_until(30, "three applied", || {
        cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 3
    })
    .await;
    let mut names: Vec<String> = router.users().into_iter().map(|u| u.name).collect();
    names.sort();
    assert_eq!(names, vec!["QUEUED20", "QUEUED21", "QUEUED22"]);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_since_the_last_poll_is_reported_before_a_removal() {
    // Polls far apart: only the removal itself can report the traffic.
    let rig = rig_with("remove", MOSQUITTO, MOSQUITTO, true, |c| {
        c.intervals.usage_poll_s = 3600;
    })
    .await;
    let (router, cp) = (&rig.router, &rig.cp);
    let create = create_token("REMOVE22");
    let mtm_common::CommandKind::CreateToken(ct) = &create.kind else {
        unreachable!()
    };
    let token_id = ct.token_id;
    cp.command(&create).await;
    wait_until(20, "TokenApplied", || {
        cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 1
    })
    .await;
    router
        .customer_login("REMOVE22", "1234", "AA:BB:CC:DD:EE:07")
        .unwrap();
    router.use_traffic("REMOVE22", 1500, 2500);
    router.advance(std::time::Duration::from_secs(30));
    let remove = mtm_common::Command {
        id: uuid::Uuid::new_v4(),
        issued_at: now_ms(),
        kind: mtm_common::CommandKind::RemoveToken { token_id },
    };
    cp.command(&remove).await;
    wait_until(20, "CommandDone", || {
        cp.count(|m| matches!(m, UpMessage::CommandDone(d) if d.command_id == remove.id)) == 1
    })
    .await;
    assert!(router.users().is_empty());
    let usage_seqs = cp.seqs(|m| matches!(m, UpMessage::Usage(_)));
    let done_seq =
        cp.seqs(|m| matches!(m, UpMessage::CommandDone(d) if d.command_id == remove.id))[0];
    let entries: Vec<mtm_common::Usage> = cp
        .collect(|m| match m {
            UpMessage::Usage(r) => Some(r.entries.clone()),
            _ => None,
        })
        .into_iter()
        .flatten()
        .filter(|e| e.username == "REMOVE22")
        .collect();
    let sum = entries.iter().fold((0, 0, 0), |a, e| {
        (
            a.0 + e.delta_uptime_s,
            a.1 + e.delta_bytes_in,
            a.2 + e.delta_bytes_out,
        )
    });
    assert_eq!((sum.1, sum.2), (1500, 2500), "{entries:?}");
    assert!(sum.0 >= 30, "{entries:?}");
    assert!(entries.iter().all(|e| e.token_id == Some(token_id)));
    assert!(
        usage_seqs.iter().any(|s| *s < done_seq),
        "usage before the result"
    );
    rig.stop().await;
}
