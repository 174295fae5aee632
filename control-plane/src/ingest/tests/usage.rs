//! Usage reports are checked as they arrive: reused and rogue tokens raise alerts, normal use
//! (several reports in one batch included) raises nothing.

use super::*;
use mtm_common::{Usage, UsageReport};

fn entry(token: Option<&crate::store::Token>, name: &str, uptime: u64, delta: u64) -> Usage {
    Usage {
        token_id: token.map(|t| t.id),
        username: name.into(),
        active: true,
        first_login_at: Some(now_ms()),
        uptime_s: uptime,
        bytes_in: 0,
        bytes_out: 0,
        delta_uptime_s: delta,
        delta_bytes_in: 0,
        delta_bytes_out: 0,
        counters_reset: false,
    }
}

fn usage(entries: Vec<Usage>) -> UpMessage {
    UpMessage::Usage(UsageReport {
        entries,
        issued_here: Vec::new(),
    })
}

/// A voucher issued and applied on agent-1's router through the ingest (its seq 1).
async fn applied_token(rig: &Rig) -> crate::store::Token {
    let (token, applied) = issued(rig).await;
    let m = up("agent-1", sealed(&rig.f.agent_key, "agent-1", 1, &applied));
    rig.ingest.handle_batch(vec![m]).await;
    token
}

/// A voucher issued, and the agent's message that it is applied.
async fn issued(rig: &Rig) -> (crate::store::Token, UpMessage) {
    let (token, cmd) = rig.f.issue().await;
    let applied = UpMessage::TokenApplied(TokenApplied {
        command_id: cmd.id,
        token_id: token.id,
        router_user_id: "*1".into(),
        already_present: false,
    });
    (token, applied)
}

async fn kinds(rig: &Rig) -> Vec<(String, serde_json::Value)> {
    let alerts = rig.f.store.list_alerts(&Default::default()).await.unwrap();
    alerts
        .into_iter()
        .map(|a| (a.kind.as_str().to_owned(), a.evidence))
        .collect()
}

#[tokio::test]
async fn usage_within_the_package_in_one_batch_raises_nothing() {
    let rig = rig().await;
    let token = applied_token(&rig).await;
    let code = token.code.clone();
    // Two reports of 1,800 s each reach the package's 3,600 s exactly: counting the batch's
    // own deltas twice would make it look like 5,400 s.
    let batch = vec![
        up(
            "agent-1",
            sealed(
                &rig.f.agent_key,
                "agent-1",
                2,
                &usage(vec![entry(Some(&token), &code, 1800, 1800)]),
            ),
        ),
        up(
            "agent-1",
            sealed(
                &rig.f.agent_key,
                "agent-1",
                3,
                &usage(vec![entry(Some(&token), &code, 3600, 1800)]),
            ),
        ),
    ];
    rig.ingest.handle_batch(batch).await;
    assert_eq!(kinds(&rig).await, vec![]);
}

#[tokio::test]
async fn counters_reset_and_use_beyond_the_package_raise_reused_token() {
    let rig = rig().await;
    let token = applied_token(&rig).await;
    let code = token.code.clone();
    let first = usage(vec![entry(Some(&token), &code, 3000, 3000)]);
    let m = up("agent-1", sealed(&rig.f.agent_key, "agent-1", 2, &first));
    rig.ingest.handle_batch(vec![m]).await;
    assert_eq!(kinds(&rig).await, vec![]);

    // Someone reset the counters and sold it again: the router shows 900 s fresh, 3,900 s in all.
    let mut reset = entry(Some(&token), &code, 900, 900);
    reset.counters_reset = true;
    let m = up(
        "agent-1",
        sealed(&rig.f.agent_key, "agent-1", 3, &usage(vec![reset])),
    );
    rig.ingest.handle_batch(vec![m]).await;
    let found = kinds(&rig).await;
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|(k, _)| k == "reused_token"));
    let mut reasons: Vec<_> = found
        .iter()
        .map(|(_, e)| e["reason"].as_str().unwrap_or("").to_string())
        .collect();
    reasons.sort();
    assert_eq!(reasons, vec!["beyond_package", "counters_reset"]);
    let alerts = rig.f.store.list_alerts(&Default::default()).await.unwrap();
    assert!(alerts.iter().all(|a| a.token_id == Some(token.id)
        && a.staff_id == Some(rig.f.staff.id)
        && a.location_id == Some(rig.f.location.id)));
}

#[tokio::test]
async fn a_user_seen_only_in_usage_is_rogue_once() {
    let rig = rig().await;
    let _ = applied_token(&rig).await;
    let report = usage(vec![entry(None, "SOLDCASH", 60, 60)]);
    for seq in [2, 3] {
        let m = up("agent-1", sealed(&rig.f.agent_key, "agent-1", seq, &report));
        rig.ingest.handle_batch(vec![m]).await;
    }
    let found = kinds(&rig).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "rogue_token");
    assert_eq!(found[0].1["user"], "SOLDCASH");
    // Run from what the batches stored, and forgotten once run.
    let store = &rig.f.store;
    assert!(store
        .pending_checks(&[], i64::MAX, 10)
        .await
        .unwrap()
        .is_empty());
}

/// Once a server's first pass has picked up what a stopped one left, each batch's checks are
/// the ones it stored, handed on in memory: a check another server committed and never ran
/// is not read by them but by the sweeper.
#[tokio::test]
async fn a_batch_runs_its_own_checks_and_the_sweeper_what_others_left() {
    let rig = rig().await;
    let store = rig.f.store.clone();
    let _ = applied_token(&rig).await;
    // Another replica's commit, whose checks it never ran.
    let left = usage(vec![entry(None, "LEFTOVER", 60, 60)]);
    store
        .apply_up("agent-1", &[item(2, left)], now_ms())
        .await
        .unwrap();
    let own = usage(vec![entry(None, "SOLDCASH", 60, 60)]);
    let m = up("agent-1", sealed(&rig.f.agent_key, "agent-1", 3, &own));
    rig.ingest.handle_batch(vec![m]).await;
    let found = kinds(&rig).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1["user"], "SOLDCASH");
    let pending = store.pending_checks(&[], i64::MAX, 10).await.unwrap();
    assert_eq!(pending.iter().map(|p| p.seq).collect::<Vec<_>>(), vec![2]);
    // The sweeper's pass.
    let pass = crate::checks::run_pending(&*store, &[], i64::MAX)
        .await
        .unwrap();
    assert_eq!(pass, crate::checks::Pass { raised: 1, left: 0 });
    assert_eq!(kinds(&rig).await.len(), 2);
}

fn item(seq: u64, message: UpMessage) -> crate::store::UpItem {
    crate::store::UpItem {
        seq,
        at: now_ms(),
        message,
    }
}

#[tokio::test]
async fn a_counters_reset_committed_just_before_a_crash_is_still_raised() {
    let rig = rig().await;
    let store = rig.f.store.clone();
    let token = applied_token(&rig).await;
    let code = token.code.clone();
    let first = usage(vec![entry(Some(&token), &code, 3000, 3000)]);
    let m = up("agent-1", sealed(&rig.f.agent_key, "agent-1", 2, &first));
    rig.ingest.handle_batch(vec![m]).await;
    assert!(store
        .pending_checks(&[], i64::MAX, 10)
        .await
        .unwrap()
        .is_empty());

    // The reset report commits and the server dies before its checks run; a later report
    // commits the same way. Only usage shows the reset: no inventory will repeat it.
    let mut reset = entry(Some(&token), &code, 900, 900);
    reset.counters_reset = true;
    store
        .apply_up("agent-1", &[item(3, usage(vec![reset]))], now_ms())
        .await
        .unwrap();
    let later = usage(vec![entry(Some(&token), &code, 1000, 100)]);
    store
        .apply_up("agent-1", &[item(4, later)], now_ms())
        .await
        .unwrap();
    assert_eq!(kinds(&rig).await, vec![]);

    // The next server's sweep finds what the dead one owed.
    let raised = crate::checks::run_pending(&*store, &[], i64::MAX)
        .await
        .unwrap()
        .raised;
    assert_eq!(raised, 2);
    let found = kinds(&rig).await;
    let reset = found
        .iter()
        .find(|(_, e)| e["reason"] == "counters_reset")
        .expect("counters_reset alert");
    // Judged against the usage before the reset report, not what came after it.
    assert_eq!(reset.1["used_uptime_s_before"], 3000, "{reset:?}");
    assert!(found.iter().any(|(_, e)| e["reason"] == "beyond_package"));
    assert!(store
        .pending_checks(&[], i64::MAX, 10)
        .await
        .unwrap()
        .is_empty());
    // Running again (another replica, a second sweep) raises nothing twice.
    assert_eq!(
        crate::checks::run_pending(&*store, &[], i64::MAX)
            .await
            .unwrap()
            .raised,
        0
    );
    assert_eq!(kinds(&rig).await.len(), 2);
}

#[tokio::test]
async fn the_sweeper_leaves_fresh_checks_to_the_ingest_that_committed_them() {
    let rig = rig().await;
    let store = rig.f.store.clone();
    // Stored by a server that stopped before its checks ran; this one has not run any yet.
    let (token, applied) = issued(&rig).await;
    store
        .apply_up("agent-1", &[item(1, applied)], now_ms())
        .await
        .unwrap();
    let mut reset = entry(Some(&token), &token.code, 900, 900);
    reset.counters_reset = true;
    store
        .apply_up("agent-1", &[item(2, usage(vec![reset]))], now_ms())
        .await
        .unwrap();
    let sweep_from = now_ms() - crate::checks::SWEEP_AFTER_MS;
    assert_eq!(
        crate::checks::run_pending(&*store, &[], sweep_from)
            .await
            .unwrap()
            .raised,
        0
    );
    // A server's first pass for the agent runs what was left over before it started.
    let health = UpMessage::Health(Default::default());
    let m = up("agent-1", sealed(&rig.f.agent_key, "agent-1", 3, &health));
    rig.ingest.handle_batch(vec![m]).await;
    let found = kinds(&rig).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1["reason"], "counters_reset");
}
