//! What one replica sees of another's commit while it waited for a router's row lock
//! (PostgreSQL; SQLite has one writer at a time).

use crate::store::{now_ms, IngestStore, SignedBatch, UpItem};
use crate::testutil::{sql_store, TestDb};
use mtm_common::{Health, UpMessage};
use std::time::Duration;

#[tokio::test]
async fn a_seq_another_replica_applied_while_this_one_waited_for_the_lock_is_a_duplicate() {
    let (store, _dir) = sql_store(TestDb::Postgres).await;
    let f = crate::testutil::seed(store.clone()).await;
    let rid = f.router.id.to_string();
    let pool = store.pool();
    // The other replica: holds agent-1's row lock, as its ingest does while applying seq 5
    // (above the floor, so only the applied ranges record it).
    let mut other = pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM routers WHERE agent_id = 'agent-1' FOR UPDATE")
        .execute(&mut *other)
        .await
        .unwrap();
    let items = [UpItem {
        seq: 5,
        at: now_ms(),
        message: UpMessage::Health(Health::default()),
    }];
    let key = f.router.public_key_hex.clone();
    let this = {
        let store = store.clone();
        tokio::spawn(async move {
            let batch = [SignedBatch {
                agent_id: "agent-1",
                signed_by: &key,
                items: &items,
            }];
            store.apply_up_many(&batch, now_ms()).await
        })
    };
    // Until this replica's read of the router is waiting for the lock.
    let waiting = "SELECT COUNT(*) FROM pg_stat_activity
                   WHERE wait_event_type = 'Lock' AND query LIKE '%FROM routers WHERE agent_id IN%'";
    let mut waited = false;
    for _ in 0..500 {
        let n: i64 = sqlx::query_scalar(waiting).fetch_one(pool).await.unwrap();
        if n > 0 {
            waited = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(waited, "the apply never waited for the row lock");
    sqlx::query("INSERT INTO up_seen (router_id, seq, hi) VALUES ($1, 5, 5)")
        .bind(&rid)
        .execute(&mut *other)
        .await
        .unwrap();
    sqlx::query("UPDATE routers SET last_seq = 5 WHERE id = $1")
        .bind(&rid)
        .execute(&mut *other)
        .await
        .unwrap();
    other.commit().await.unwrap();
    let out = this.await.unwrap().unwrap().pop().unwrap().unwrap();
    assert_eq!(
        (out.applied, out.duplicates),
        (0, 1),
        "seq 5 was applied by the other replica"
    );
}
