//! A voucher's counters held to the end of an ingest run do not undo a state set in between
//! (a staff member's disable committed by another transaction): the report's new state is
//! written only if the state it found still holds; its counters are written either way.

use super::deferred::Deferred;
use super::token_usage::{apply_token_usage, named_tokens};
use crate::store::*;
use crate::testutil::{seed, sql_store, TestDb};
use mtm_common::Usage;
use rstest::rstest;

fn in_use(token: &Token, uptime: u64) -> Usage {
    Usage {
        token_id: Some(token.id),
        username: token.code.clone(),
        active: true,
        uptime_s: uptime,
        delta_uptime_s: uptime,
        ..Default::default()
    }
}

#[rstest]
#[tokio::test]
async fn a_state_set_between_the_read_and_the_write_stands(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let (sql, _dir) = sql_store(db).await;
    let f = seed(sql.clone()).await;
    let (kept, _) = f.issue().await;
    let (moved, _) = f.issue().await;
    let entries = [in_use(&kept, 60), in_use(&moved, 90)];
    let rid = f.router.id.to_string();

    let mut tx = sql.begin_write().await.unwrap();
    let mut named = named_tokens(&mut tx, &rid, &entries, sql.dialect())
        .await
        .unwrap();
    let mut deferred = Deferred::new(sql.dialect());
    deferred.counters().add_deltas(&entries);
    for u in &entries {
        let id = u.token_id.unwrap();
        let token = named.carried.get_mut(&id).unwrap();
        apply_token_usage(&mut tx, &f.router, 1_000, 1, u, id, token, &mut deferred)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE tokens SET state = 'disabled' WHERE id = $1")
        .bind(moved.id.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    deferred.write(&mut tx).await.unwrap();
    tx.commit().await.unwrap();

    let kept = sql.token(kept.id).await.unwrap().unwrap();
    assert_eq!((kept.state, kept.uptime_s), (TokenState::InUse, 60));
    let moved = sql.token(moved.id).await.unwrap().unwrap();
    assert_eq!((moved.state, moved.uptime_s), (TokenState::Disabled, 90));
}
