//! Store suite cases for several agents' messages applied in one transaction
//! (`IngestStore::apply_up_many`), on every backend.

use crate::store::suite_expiry::replace_device;
use crate::store::*;
use crate::testutil::{fixture, Fixture, TestDb};
use mtm_common::{Health, UpMessage};
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
