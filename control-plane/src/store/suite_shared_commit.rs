//! Store suite cases for several agents' messages applied in one transaction
//! (`IngestStore::apply_up_many`), with some writes held back to its end, on every backend.

use crate::store::suite::item;
use crate::store::suite_expiry::replace_device;
use crate::store::*;
use crate::testutil::{fixture, Fixture, TestDb};
use mtm_common::{Health, TokenExpired, UpMessage};
use rstest::rstest;

fn health(seq: u64, sessions: u32) -> UpItem {
    UpItem {
        seq,
        at: now_ms(),
        message: UpMessage::Health(Health {
            active_sessions: sessions,
            ..Default::default()
        }),
    }
}

/// A second router, `agent-2`, at the fixture's location; its key (hex).
async fn second_router(f: &Fixture) -> String {
    let key = mtm_common::keys::generate_signing_key();
    let hex = mtm_common::keys::public_key_hex(&key.verifying_key());
    f.store
        .create_router(NewRouter {
            location_id: f.location.id,
            name: "Router Two".into(),
            agent_id: "agent-2".into(),
            public_key_hex: hex.clone(),
            mqtt_password: "agent-two-secret".into(),
        })
        .await
        .unwrap();
    hex
}

fn share<'a>(agent_id: &'a str, signed_by: &'a str, items: &'a [UpItem]) -> SignedBatch<'a> {
    SignedBatch {
        agent_id,
        signed_by,
        items,
    }
}

async fn last_seq(f: &Fixture, agent: &str) -> u64 {
    f.store
        .router_by_agent(agent)
        .await
        .unwrap()
        .unwrap()
        .last_seq
}

#[rstest]
#[tokio::test]
async fn several_agents_are_applied_in_one_call_each_with_its_own_outcome(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let key1 = f.router.public_key_hex.clone();
    let key2 = second_router(&f).await;
    let one = [health(1, 1), health(2, 2)];
    let two = [health(7, 3)];
    let batches = [share("agent-1", &key1, &one), share("agent-2", &key2, &two)];
    let out = f.store.apply_up_many(&batches, now_ms()).await.unwrap();
    let out: Vec<_> = out.into_iter().map(Result::unwrap).collect();
    assert_eq!((out[0].applied, out[0].last_seq), (2, 2));
    assert_eq!((out[1].applied, out[1].last_seq), (1, 7));
    assert_eq!(last_seq(&f, "agent-1").await, 2);
    assert_eq!(last_seq(&f, "agent-2").await, 7);
    // The same batch again: every message a duplicate, for each agent on its own.
    let again = f.store.apply_up_many(&batches, now_ms()).await.unwrap();
    let dups: Vec<_> = again
        .into_iter()
        .map(|o| o.unwrap())
        .map(|o| (o.applied, o.duplicates))
        .collect();
    assert_eq!(dups, vec![(0, 2), (0, 1)]);
}

#[rstest]
#[tokio::test]
async fn an_agent_whose_device_was_replaced_is_refused_alone(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let old_key = f.router.public_key_hex.clone();
    let key2 = second_router(&f).await;
    replace_device(&f, "AAAA-BBBB").await;
    let one = [health(5, 1)];
    let two = [health(3, 2)];
    let batches = [
        share("agent-1", &old_key, &one),
        share("agent-2", &key2, &two),
    ];
    let out = f.store.apply_up_many(&batches, now_ms()).await.unwrap();
    assert!(matches!(out[0], Err(StoreError::KeyReplaced)), "{out:?}");
    assert_eq!(out[1].as_ref().unwrap().applied, 1);
    assert_eq!(last_seq(&f, "agent-1").await, 0);
    assert_eq!(last_seq(&f, "agent-2").await, 3);
}

#[rstest]
#[tokio::test]
async fn a_share_the_store_refuses_fails_the_call_and_nothing_is_applied(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let key1 = f.router.public_key_hex.clone();
    let one = [health(4, 1)];
    let batches = [
        share("agent-1", &key1, &one),
        share("agent-gone", &key1, &one),
    ];
    let out = f.store.apply_up_many(&batches, now_ms()).await;
    assert!(matches!(out, Err(StoreError::NotFound(_))), "{out:?}");
    // agent-1's share came first and was rolled back with the rest.
    assert_eq!(last_seq(&f, "agent-1").await, 0);
}

fn used(token: &Token, uptime: u64, bytes_in: u64) -> UpMessage {
    crate::store::suite_usage_totals::usage(token, uptime, bytes_in, 0, false)
}

/// The usage `token` has counted, as its router's checks read it: (uptime seconds, bytes).
async fn counted(f: &Fixture, token: &Token) -> (u64, u64) {
    let on_router = f
        .store
        .issued_tokens(f.router.id, &[token.id], &[])
        .await
        .unwrap();
    let mine = on_router.iter().find(|x| x.token_id == token.id).unwrap();
    (mine.used_uptime_s, mine.used_bytes)
}

/// The usage a check of `agent`'s report `seq` judges against, for `token`.
async fn usage_before(f: &Fixture, agent: &str, seq: u64, token: &Token) -> (u64, u64) {
    let pending = f
        .store
        .pending_checks(&[agent], i64::MAX, 100)
        .await
        .unwrap();
    let check = pending.iter().find(|c| c.seq == seq).unwrap();
    match &check.evidence {
        CheckEvidence::Usage { before, .. } => before[&token.id],
        other => panic!("not usage evidence: {other:?}"),
    }
}

/// Writes a call holds back until its end read as written: a report's checks count the usage
/// another agent reported earlier in the call, and the counters, totals and progress stored
/// are those of every message.
#[rstest]
#[tokio::test]
async fn what_one_agent_reported_counts_for_the_next_in_the_same_call(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let key1 = f.router.public_key_hex.clone();
    let key2 = second_router(&f).await;
    let (t, _) = f.issue().await;
    // Router two reports the voucher router one carries, before router one does.
    let two = [item(4, used(&t, 30, 500))];
    let one = [item(1, used(&t, 60, 1000))];
    let batches = [share("agent-2", &key2, &two), share("agent-1", &key1, &one)];
    let out = f.store.apply_up_many(&batches, now_ms()).await.unwrap();
    assert!(out.iter().all(Result::is_ok), "{out:?}");
    assert_eq!(usage_before(&f, "agent-2", 4, &t).await, (0, 0));
    assert_eq!(usage_before(&f, "agent-1", 1, &t).await, (30, 500));
    let stored = f.store.token(t.id).await.unwrap().unwrap();
    assert_eq!(stored.state, TokenState::InUse);
    assert_eq!(stored.uptime_s, 60, "only its router's counters");
    assert_eq!(counted(&f, &t).await, (90, 1500));
    assert_eq!(last_seq(&f, "agent-1").await, 1);
    assert_eq!(last_seq(&f, "agent-2").await, 4);
}

/// A message that moves a voucher after a usage report of the same agent in the same call is
/// not undone by the report's counters written later.
#[rstest]
#[tokio::test]
async fn an_expiry_after_a_usage_report_in_one_call_stands(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let key1 = f.router.public_key_hex.clone();
    let (t, _) = f.issue().await;
    let expired = UpMessage::TokenExpired(TokenExpired {
        token_id: t.id,
        expired_at: 2_000,
    });
    let one = [item(1, used(&t, 60, 1000)), item(2, expired)];
    let out = f
        .store
        .apply_up_many(&[share("agent-1", &key1, &one)], now_ms())
        .await
        .unwrap();
    assert_eq!(out[0].as_ref().unwrap().applied, 2);
    let stored = f.store.token(t.id).await.unwrap().unwrap();
    assert_eq!(stored.state, TokenState::Expired);
    assert_eq!(stored.uptime_s, 60, "the report's counters");
    // A later report of the same call reads what came before it.
    let more = [item(3, used(&t, 90, 1500)), item(4, used(&t, 95, 1600))];
    f.store
        .apply_up_many(&[share("agent-1", &key1, &more)], now_ms())
        .await
        .unwrap();
    assert_eq!(usage_before(&f, "agent-1", 4, &t).await, (150, 2500));
    let stored = f.store.token(t.id).await.unwrap().unwrap();
    assert_eq!((stored.state, stored.uptime_s), (TokenState::Expired, 95));
}

/// One agent's two shares in one call (as under two keys the same moment): the second sees
/// the first's progress, so neither is applied twice when sent again.
#[rstest]
#[tokio::test]
async fn an_agent_twice_in_one_call_is_applied_once(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let key1 = f.router.public_key_hex.clone();
    let (t, _) = f.issue().await;
    let first = [item(1, used(&t, 60, 1000))];
    let second = [item(2, used(&t, 90, 1500))];
    let batches = [
        share("agent-1", &key1, &first),
        share("agent-1", &key1, &second),
    ];
    let out = f.store.apply_up_many(&batches, now_ms()).await.unwrap();
    assert!(
        out.iter().all(|o| o.as_ref().unwrap().applied == 1),
        "{out:?}"
    );
    assert_eq!(last_seq(&f, "agent-1").await, 2);
    let again = f
        .store
        .apply_up_many(&batches[..1], now_ms())
        .await
        .unwrap();
    assert_eq!(again[0].as_ref().unwrap().duplicates, 1);
    assert_eq!(counted(&f, &t).await, (150, 2500));
}

/// The events of the ledger from `after` on, oldest first: (event, token id).
async fn ledger_since(f: &Fixture, after: usize) -> Vec<(String, String)> {
    let mut rows = f.store.list_log(LogTable::Ledger, 1000, 0).await.unwrap();
    rows.reverse();
    rows.into_iter()
        .skip(after)
        .map(|r| (r.action, r.target))
        .collect()
}

/// Both chains verify from their first row to their last.
async fn assert_chains_hold(f: &Fixture) {
    for report in f.store.verify_chains().await.unwrap() {
        assert_eq!(report.first_bad_row, None, "{report:?}");
    }
}

/// Ledger entries a usage report owes are appended at the end of the call, yet the chain
/// keeps the order the messages were applied in: a later message's own entry follows them.
#[rstest]
#[tokio::test]
async fn ledger_entries_owed_by_usage_keep_the_order_of_the_messages(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let key1 = f.router.public_key_hex.clone();
    let (a, _) = f.issue().await;
    let (b, _) = f.issue().await;
    let before = ledger_since(&f, 0).await.len();
    let expired = UpMessage::TokenExpired(TokenExpired {
        token_id: a.id,
        expired_at: 2_000,
    });
    let reset = crate::store::suite_usage_totals::usage(&b, 5, 10, 0, true);
    let one = [
        item(1, used(&a, 60, 1000)),
        item(2, used(&b, 60, 1000)),
        item(3, expired),
        item(4, reset),
    ];
    let out = f
        .store
        .apply_up_many(&[share("agent-1", &key1, &one)], now_ms())
        .await
        .unwrap();
    assert_eq!(out[0].as_ref().unwrap().applied, 4);
    let (a, b) = (a.id.to_string(), b.id.to_string());
    assert_eq!(
        ledger_since(&f, before).await,
        [
            ("first_use".to_owned(), a.clone()),
            ("first_use".to_owned(), b.clone()),
            ("expired".to_owned(), a),
            ("counters_reset".to_owned(), b),
        ]
    );
    assert_chains_hold(&f).await;
}

/// Sales appending to the ledger while ingest appends the entries usage owes, at once (on
/// PostgreSQL the ingest does not wait for the process's writer): every entry is in the chain
/// once, and the chain holds.
#[rstest]
#[tokio::test]
async fn sales_and_usage_appending_at_once_leave_one_intact_chain(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let key1 = f.router.public_key_hex.clone();
    let mut sold = Vec::new();
    for _ in 0..12 {
        sold.push(f.issue().await.0);
    }
    let before = ledger_since(&f, 0).await.len();
    let usage = async {
        for (i, t) in sold.iter().enumerate() {
            let one = [item(i as u64 + 1, used(t, 60, 1000))];
            f.store
                .apply_up_many(&[share("agent-1", &key1, &one)], now_ms())
                .await
                .unwrap();
        }
    };
    let sales = async {
        for _ in 0..12 {
            f.issue().await;
        }
    };
    tokio::join!(usage, sales);
    let events = ledger_since(&f, before).await;
    let first_uses: std::collections::BTreeSet<&String> = events
        .iter()
        .filter(|(e, _)| e == "first_use")
        .map(|(_, t)| t)
        .collect();
    assert_eq!(first_uses.len(), sold.len(), "{events:?}");
    assert_eq!(events.iter().filter(|(e, _)| e == "issued").count(), 12);
    assert_chains_hold(&f).await;
}

/// The time a voucher was used up, as the checks read it with the voucher, is its ledger's
/// `used_up` entry: from a report in a call of several, and from an older report that arrives
/// after a newer one (whose counters are not written).
#[rstest]
#[tokio::test]
async fn when_a_voucher_was_used_up_is_read_with_it_as_its_ledger_has_it(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let key1 = f.router.public_key_hex.clone();
    let (a, _) = f.issue().await;
    let (b, _) = f.issue().await;
    // The package allows an hour.
    let mut over = item(1, used(&a, 3_600, 1000));
    over.at = 5_000;
    let mut under = item(2, used(&b, 60, 1000));
    under.at = 6_000;
    f.store
        .apply_up_many(&[share("agent-1", &key1, &[over, under])], now_ms())
        .await
        .unwrap();
    // b: a newer report (seq 4) first, then an older one (seq 3) proving it used up earlier.
    let mut newer = item(4, used(&b, 100, 1000));
    newer.at = 8_000;
    let mut older = item(3, used(&b, 3_700, 1000));
    older.at = 7_000;
    f.store
        .apply_up_many(&[share("agent-1", &key1, &[newer])], now_ms())
        .await
        .unwrap();
    f.store
        .apply_up_many(&[share("agent-1", &key1, &[older])], now_ms())
        .await
        .unwrap();
    let read = f
        .store
        .issued_tokens(f.router.id, &[a.id, b.id], &[])
        .await
        .unwrap();
    let at = |t: &Token| read.iter().find(|x| x.token_id == t.id).unwrap().used_up_at;
    assert_eq!((at(&a), at(&b)), (Some(5_000), Some(7_000)));
    let ledger = f.store.list_log(LogTable::Ledger, 1000, 0).await.unwrap();
    let used_up: Vec<(String, i64)> = ledger
        .iter()
        .filter(|r| r.action == "used_up")
        .map(|r| (r.target.clone(), r.at))
        .collect();
    assert_eq!(used_up.len(), 2, "{used_up:?}");
    assert!(used_up.contains(&(a.id.to_string(), 5_000)));
    assert!(used_up.contains(&(b.id.to_string(), 7_000)));
}
