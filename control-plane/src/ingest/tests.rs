use super::*;
use crate::mqtt::testing::Recorder;
use crate::store::TokenState;
use crate::testutil::{sqlite_fixture, Fixture};
use ed25519_dalek::SigningKey;
use mtm_common::{CommandKind, DownMessage, Hello, TokenApplied};
use std::sync::atomic::Ordering;

struct Rig {
    f: Fixture,
    rec: Arc<Recorder>,
    cp: SigningKey,
    metrics: Arc<Metrics>,
    ingest: Ingest,
}

async fn rig() -> Rig {
    rig_on(sqlite_fixture().await)
}

/// A rig over a fixture the test seeded itself (e.g. on a store it also reaches with SQL).
fn rig_on(f: Fixture) -> Rig {
    let rec = Arc::new(Recorder::default());
    let cp = mtm_common::keys::generate_signing_key();
    let metrics = Arc::new(Metrics::default());
    let dispatcher = Arc::new(Dispatcher::new(
        f.store.clone(),
        rec.clone(),
        cp.clone(),
        metrics.clone(),
    ));
    let ingest = Ingest::new(f.store.clone(), dispatcher, metrics.clone());
    Rig {
        f,
        rec,
        cp,
        metrics,
        ingest,
    }
}

fn up(topic_agent: &str, payload: Vec<u8>) -> Incoming {
    Incoming {
        topic: topics::up(topic_agent),
        payload,
        ack: None,
    }
}

fn sealed(key: &SigningKey, from: &str, seq: u64, msg: &UpMessage) -> Vec<u8> {
    Envelope::seal(key, from, "cp", seq, now_ms(), msg)
        .unwrap()
        .to_bytes()
        .unwrap()
}

impl Rig {
    fn acks(&self) -> Vec<u64> {
        self.rec
            .down_to("agent-1", &self.cp.verifying_key())
            .into_iter()
            .filter_map(|(_, m)| match m {
                DownMessage::AckSeqs { highest_seen, .. } => Some(highest_seen),
                _ => None,
            })
            .collect()
    }

    fn rejects(&self, reason: &str) -> u64 {
        self.metrics.rejects().get(reason).copied().unwrap_or(0)
    }

    async fn assert_refused(&self, msg: Incoming, reason: &str) {
        let before = self.rec.sent.lock().unwrap().len();
        self.ingest.handle_batch(vec![msg]).await;
        assert_eq!(self.rejects(reason), 1, "{:?}", self.metrics.rejects());
        assert_eq!(
            self.rec.sent.lock().unwrap().len(),
            before,
            "nothing is acked"
        );
        let r = self
            .f
            .store
            .router_by_agent("agent-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.last_seq, 0, "nothing is applied");
    }
}

#[tokio::test]
async fn good_message_is_stored_then_acked_and_replay_is_acked_not_applied() {
    let rig = rig().await;
    let (token, cmd) = rig.f.issue().await;
    let applied = UpMessage::TokenApplied(TokenApplied {
        command_id: cmd.id,
        token_id: token.id,
        router_user_id: "*5".into(),
        already_present: false,
    });
    let payload = sealed(&rig.f.agent_key, "agent-1", 1, &applied);
    rig.ingest
        .handle_batch(vec![up("agent-1", payload.clone())])
        .await;
    let t = rig.f.store.token(token.id).await.unwrap().unwrap();
    assert_eq!(t.state, TokenState::Applied);
    assert_eq!(rig.acks(), vec![1]);
    assert_eq!(rig.metrics.ingest_applied.load(Ordering::Relaxed), 1);
    rig.ingest.handle_batch(vec![up("agent-1", payload)]).await;
    assert_eq!(rig.acks(), vec![1, 1], "a replay is acknowledged again");
    assert_eq!(rig.metrics.ingest_applied.load(Ordering::Relaxed), 1);
    assert_eq!(rig.metrics.ingest_duplicates.load(Ordering::Relaxed), 1);
    assert!(rig.metrics.rejects().is_empty());
}

#[tokio::test]
async fn batch_of_several_messages_is_acked_once_up_to_the_highest_seq() {
    let rig = rig().await;
    let h = UpMessage::Health(Default::default());
    let batch = (1..=3)
        .map(|seq| up("agent-1", sealed(&rig.f.agent_key, "agent-1", seq, &h)))
        .collect();
    rig.ingest.handle_batch(batch).await;
    assert_eq!(rig.acks(), vec![3]);
    let r = rig
        .f
        .store
        .router_by_agent("agent-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.last_seq, 3);
}

#[tokio::test]
async fn unknown_sender_is_refused() {
    let rig = rig().await;
    let other = mtm_common::keys::generate_signing_key();
    let msg = UpMessage::Health(Default::default());
    let m = up("agent-9", sealed(&other, "agent-9", 1, &msg));
    rig.assert_refused(m, "unknown_sender").await;
}

#[tokio::test]
async fn bad_signature_is_refused() {
    let rig = rig().await;
    let other = mtm_common::keys::generate_signing_key();
    let msg = UpMessage::Health(Default::default());
    let m = up("agent-1", sealed(&other, "agent-1", 1, &msg));
    rig.assert_refused(m, "bad_signature").await;
}

#[tokio::test]
async fn sender_topic_mismatch_is_refused() {
    let rig = rig().await;
    let msg = UpMessage::Health(Default::default());
    let m = up("agent-1", sealed(&rig.f.agent_key, "agent-2", 1, &msg));
    rig.assert_refused(m, "sender_mismatch").await;
}

#[tokio::test]
async fn oversized_payload_is_refused_before_decoding() {
    let rig = rig().await;
    let m = up("agent-1", vec![0u8; MAX_ENVELOPE_BYTES + 1]);
    rig.assert_refused(m, "oversized").await;
}

#[tokio::test]
async fn malformed_envelope_is_refused() {
    let rig = rig().await;
    rig.assert_refused(up("agent-1", b"\xffnot cbor".to_vec()), "malformed")
        .await;
}

#[tokio::test]
async fn signed_body_of_the_wrong_type_is_refused() {
    let rig = rig().await;
    let env = Envelope::seal(&rig.f.agent_key, "agent-1", "cp", 1, now_ms(), &"hello").unwrap();
    let m = up("agent-1", env.to_bytes().unwrap());
    rig.assert_refused(m, "malformed_body").await;
}

#[tokio::test]
async fn online_status_and_hello_resend_open_commands_with_fresh_seq() {
    let rig = rig().await;
    let (_, cmd) = rig.f.issue().await;
    rig.ingest
        .handle_batch(vec![Incoming {
            topic: topics::status("agent-1"),
            payload: topics::ONLINE.to_vec(),
            ack: None,
        }])
        .await;
    rig.ingest.settle().await;
    assert!(
        rig.f
            .store
            .router_by_agent("agent-1")
            .await
            .unwrap()
            .unwrap()
            .online
    );
    let hello = UpMessage::Hello(Hello {
        agent_version: "t".into(),
        last_cp_seq: 0,
        catalog_version: None,
    });
    let m = up("agent-1", sealed(&rig.f.agent_key, "agent-1", 1, &hello));
    rig.ingest.handle_batch(vec![m]).await;
    rig.ingest.settle().await;
    let sent = rig.rec.down_to("agent-1", &rig.cp.verifying_key());
    let cmds: Vec<(u64, uuid::Uuid)> = sent
        .iter()
        .filter_map(|(seq, m)| match m {
            DownMessage::Command(c) if matches!(c.kind, CommandKind::CreateToken(_)) => {
                Some((*seq, c.id))
            }
            _ => None,
        })
        .collect();
    // The hello reported no catalog, so the current one was queued too.
    let catalogs: Vec<_> = sent
        .iter()
        .filter_map(|(_, m)| match m {
            DownMessage::Command(c) => match &c.kind {
                CommandKind::ApplyCatalog(cat) => Some(cat.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(catalogs.len(), 1);
    assert_eq!(catalogs[0].packages[0].slug, "1h");
    assert_eq!(catalogs[0].version, rig.f.package.created_at as u64);
    assert_eq!(cmds.len(), 2, "sent on online and again on hello");
    assert!(cmds.iter().all(|(_, id)| *id == cmd.id));
    assert!(cmds[1].0 > cmds[0].0, "each send is sealed with a new seq");
    let open = rig.f.store.open_commands("agent-1").await.unwrap();
    assert_eq!(open[0].attempts, 2);
    // A hello that reports the current catalog queues nothing more.
    let hello = UpMessage::Hello(Hello {
        agent_version: "t".into(),
        last_cp_seq: 0,
        catalog_version: Some(catalogs[0].version),
    });
    let m = up("agent-1", sealed(&rig.f.agent_key, "agent-1", 2, &hello));
    rig.ingest.handle_batch(vec![m]).await;
    rig.ingest.settle().await;
    let open = rig.f.store.open_commands("agent-1").await.unwrap();
    assert_eq!(open.len(), 2, "the token and the one catalog");
    rig.ingest
        .handle_batch(vec![Incoming {
            topic: topics::status("agent-1"),
            payload: topics::OFFLINE.to_vec(),
            ack: None,
        }])
        .await;
    assert!(
        !rig.f
            .store
            .router_by_agent("agent-1")
            .await
            .unwrap()
            .unwrap()
            .online
    );
}

#[tokio::test]
async fn a_finished_catalog_records_the_routers_version_and_is_not_queued_again() {
    let rig = rig().await;
    let hello = UpMessage::Hello(Hello {
        agent_version: "t".into(),
        last_cp_seq: 0,
        catalog_version: None,
    });
    let m = up("agent-1", sealed(&rig.f.agent_key, "agent-1", 1, &hello));
    rig.ingest.handle_batch(vec![m]).await;
    rig.ingest.settle().await;
    let open = rig.f.store.open_commands("agent-1").await.unwrap();
    let [cmd] = &open[..] else { panic!("{open:?}") };
    let CommandKind::ApplyCatalog(cat) = &cmd.kind else {
        panic!("{cmd:?}")
    };
    let dispatcher = Dispatcher::new(
        rig.f.store.clone(),
        rig.rec.clone(),
        rig.cp.clone(),
        rig.metrics.clone(),
    );
    let again = crate::catalog::sync_catalog(&*rig.f.store, &dispatcher, "agent-1")
        .await
        .unwrap();
    assert!(!again, "the same catalog is not queued twice");
    let done = UpMessage::CommandDone(mtm_common::CommandDone {
        command_id: cmd.id,
        detail: "ok".into(),
    });
    let m = up("agent-1", sealed(&rig.f.agent_key, "agent-1", 2, &done));
    rig.ingest.handle_batch(vec![m]).await;
    let r = rig
        .f
        .store
        .router_by_agent("agent-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.catalog_version, Some(cat.version));
    assert!(rig
        .f
        .store
        .open_commands("agent-1")
        .await
        .unwrap()
        .is_empty());
    let again = crate::catalog::sync_catalog(&*rig.f.store, &dispatcher, "agent-1")
        .await
        .unwrap();
    assert!(!again, "the router is up to date");
}

#[tokio::test]
async fn an_inventory_with_a_hand_made_user_raises_a_rogue_alert_and_the_issued_one_nothing() {
    let rig = rig().await;
    let (token, cmd) = rig.f.issue().await;
    let applied = UpMessage::TokenApplied(TokenApplied {
        command_id: cmd.id,
        token_id: token.id,
        router_user_id: "*1".into(),
        already_present: false,
    });
    let issued_user = mtm_common::RouterUser {
        router_id: "*1".into(),
        name: token.code.clone(),
        profile: Some("mtm-1h".into()),
        comment: Some(mtm_common::router_comment(token.id)),
        limit_uptime_s: Some(3600),
        ..Default::default()
    };
    let rogue = mtm_common::RouterUser {
        router_id: "*2".into(),
        name: "HANDMADE".into(),
        profile: Some("mtm-1h".into()),
        ..Default::default()
    };
    let inventory = |users| {
        UpMessage::Inventory(mtm_common::Inventory {
            users,
            sessions: vec![],
            logins: vec![],
            issued_here: Vec::new(),
        })
    };
    let batch = vec![
        up("agent-1", sealed(&rig.f.agent_key, "agent-1", 1, &applied)),
        up(
            "agent-1",
            sealed(
                &rig.f.agent_key,
                "agent-1",
                2,
                &inventory(vec![issued_user.clone()]),
            ),
        ),
    ];
    rig.ingest.handle_batch(batch).await;
    let none = rig.f.store.list_alerts(&Default::default()).await.unwrap();
    assert!(
        none.is_empty(),
        "a normal inventory raises nothing: {none:?}"
    );
    let m = up(
        "agent-1",
        sealed(
            &rig.f.agent_key,
            "agent-1",
            3,
            &inventory(vec![issued_user.clone(), rogue.clone()]),
        ),
    );
    rig.ingest.handle_batch(vec![m]).await;
    let alerts = rig.f.store.list_alerts(&Default::default()).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].kind.as_str(), "rogue_token");
    assert_eq!(alerts[0].agent_id.as_deref(), Some("agent-1"));
    assert_eq!(alerts[0].location_id, Some(rig.f.location.id));
    // The same evidence in the next inventory raises nothing new.
    let m = up(
        "agent-1",
        sealed(
            &rig.f.agent_key,
            "agent-1",
            4,
            &inventory(vec![issued_user, rogue]),
        ),
    );
    rig.ingest.handle_batch(vec![m]).await;
    assert_eq!(
        rig.f
            .store
            .list_alerts(&Default::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

mod pipeline;
mod shared_commit;
mod usage;

#[tokio::test]
async fn a_message_from_a_clock_far_off_is_dated_by_its_arrival() {
    let rig = rig().await;
    let report = UpMessage::Usage(mtm_common::UsageReport {
        entries: vec![mtm_common::Usage {
            token_id: None,
            username: crate::reconcile::DEFAULT_TRIAL_USER.into(),
            active: true,
            first_login_at: None,
            uptime_s: 5,
            bytes_in: 1,
            bytes_out: 1,
            delta_uptime_s: 5,
            delta_bytes_in: 1,
            delta_bytes_out: 1,
            counters_reset: false,
        }],
        issued_here: Vec::new(),
    });
    let at = |seq: u64, at: i64| {
        Envelope::seal(&rig.f.agent_key, "agent-1", "cp", seq, at, &report)
            .unwrap()
            .to_bytes()
            .unwrap()
    };
    let last_usage = || async {
        let routers = rig.f.store.list_routers().await.unwrap();
        routers[0].last_usage_at.unwrap_or(0)
    };
    let now = now_ms();
    // Two days ahead: acknowledged, not left in the agent's outbox until the date comes.
    rig.ingest
        .handle_batch(vec![up("agent-1", at(1, now + 2 * 24 * 3600 * 1000))])
        .await;
    assert_eq!(rig.acks(), vec![1]);
    assert!((now..now + 60_000).contains(&last_usage().await));
    // A clock reset to the epoch: the same.
    rig.ingest.handle_batch(vec![up("agent-1", at(2, 0))]).await;
    assert_eq!(rig.acks(), vec![1, 2]);
    assert!(last_usage().await >= now);
    assert_eq!(rig.metrics.ingest_redated.load(Ordering::Relaxed), 2);
    assert!(
        rig.metrics.rejects().is_empty(),
        "{:?}",
        rig.metrics.rejects()
    );
    // Queued during a long (but not absurd) outage: kept under its own date.
    let week_ago = now - 7 * 24 * 3600 * 1000;
    rig.ingest
        .handle_batch(vec![up("agent-1", at(3, week_ago))])
        .await;
    assert_eq!(rig.acks(), vec![1, 2, 3]);
    assert_eq!(rig.metrics.ingest_redated.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn an_up_message_sealed_for_someone_else_is_refused() {
    let rig = rig().await;
    let h = UpMessage::Health(Default::default());
    let env = Envelope::seal(&rig.f.agent_key, "agent-1", "agent-2", 1, now_ms(), &h).unwrap();
    rig.assert_refused(up("agent-1", env.to_bytes().unwrap()), "wrong_recipient")
        .await;
}

#[tokio::test]
async fn unsigned_online_is_a_hint_and_resends_at_most_once_a_minute() {
    let rig = rig().await;
    rig.f.issue().await;
    let online = || Incoming {
        topic: topics::status("agent-1"),
        payload: topics::ONLINE.to_vec(),
        ack: None,
    };
    for _ in 0..5 {
        rig.ingest.handle_batch(vec![online()]).await;
    }
    rig.ingest.settle().await;
    let r = rig
        .f
        .store
        .router_by_agent("agent-1")
        .await
        .unwrap()
        .unwrap();
    assert!(r.online);
    assert_eq!(r.last_seen, None, "a status is not a sign of life");
    let sends = rig
        .rec
        .down_to("agent-1", &rig.cp.verifying_key())
        .into_iter()
        .filter(|(_, m)| matches!(m, DownMessage::Command(_)))
        .count();
    assert_eq!(sends, 1, "five onlines, one resend");
}
