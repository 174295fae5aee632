//! A sale and the close of its shift racing on two replicas of one PostgreSQL database (on
//! PostgreSQL sales also run side by side within one server). Whichever comes first, the close's
//! expected cash holds every sale stored against the shift: a sale lost between the two would
//! show as a cash variance the staff member never caused.
//!
//! Two sales on two replicas racing for the hash chains are appended one after the other.
//!
//! Each test holds one of the hash chains' locks from a third connection, so that the first
//! writer stops just before its commit, still holding its shift lock, while the second arrives.

use crate::store::{AdminStore, IssueToken, SalesStore, StoreError};
use crate::testutil::{seed, sql_replicas, Fixture, TestDb};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

fn sale(f: &Fixture) -> IssueToken {
    IssueToken {
        id: Uuid::new_v4(),
        code: mtm_common::token_code::generate(8),
        password: None,
        package_id: f.package.id,
        staff_id: f.staff.id,
        staff_username: f.staff.username.clone(),
        command_id: Uuid::new_v4(),
        sale_key: None,
    }
}

/// Until `n` connections that hold this test's `shifts` table (the sale's and the close's
/// reads of their shift lock it) wait for a lock. Told apart by the table, not by their
/// statements: the chains' advisory locks are the whole database's, so tests running beside
/// this one in other schemas wait on them too.
async fn until_waiting(pool: &sqlx::AnyPool, n: i64) {
    let sql = "SELECT COUNT(DISTINCT a.pid) FROM pg_locks l
               JOIN pg_stat_activity a ON a.pid = l.pid
               WHERE l.relation = 'shifts'::regclass AND l.granted
                 AND a.wait_event_type = 'Lock'";
    for _ in 0..1000 {
        let waiting: i64 = sqlx::query_scalar(sql).fetch_one(pool).await.unwrap();
        if waiting >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("fewer than {n} of this test's writers ever waited on a lock");
}

/// A third connection holding chain `table`'s lock until the returned transaction ends.
async fn hold_chain(pool: &sqlx::AnyPool, table: &str) -> sqlx::Transaction<'static, sqlx::Any> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(format!("mtm:{table}"))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

#[tokio::test]
async fn a_close_waits_for_a_sale_in_flight_on_another_replica_and_counts_it() {
    let (one, two, _dir) = sql_replicas(TestDb::Postgres).await;
    let f = seed(one.clone()).await;
    let shift = one
        .open_shift(f.staff.id, f.location.id, 1_000, "staff")
        .await
        .unwrap();
    // The sale stops at its ledger entry, the last thing before its commit.
    let chain = hold_chain(one.pool(), "token_ledger").await;
    let selling = {
        let (one, req) = (one.clone(), sale(&f));
        tokio::spawn(async move { one.issue_token(req).await })
    };
    until_waiting(one.pool(), 1).await;
    let closing = {
        let (two, staff) = (Arc::clone(&two), f.staff.id);
        tokio::spawn(async move { two.close_shift(staff, 1_000 + 500, "staff").await })
    };
    until_waiting(one.pool(), 2).await;
    chain.rollback().await.unwrap();
    let (token, _) = selling.await.unwrap().unwrap();
    let closed = closing.await.unwrap().unwrap();
    assert_eq!(token.shift_id, Some(shift.id));
    assert_eq!(
        closed.expected_cash_minor,
        Some(1_000 + f.package.price_minor),
        "the close counts the sale it waited for"
    );
    assert_eq!(
        closed.variance_minor,
        Some(500 - f.package.price_minor),
        "no variance from a sale the close did not see"
    );
}

#[tokio::test]
async fn a_sale_that_waited_for_its_shift_to_close_is_refused() {
    let (one, two, _dir) = sql_replicas(TestDb::Postgres).await;
    let f = seed(one.clone()).await;
    one.open_shift(f.staff.id, f.location.id, 1_000, "staff")
        .await
        .unwrap();
    // The close stops at its audit row, the last thing before its commit.
    let chain = hold_chain(one.pool(), "audit_log").await;
    let closing = {
        let (two, staff) = (Arc::clone(&two), f.staff.id);
        tokio::spawn(async move { two.close_shift(staff, 1_000, "staff").await })
    };
    until_waiting(one.pool(), 1).await;
    let selling = {
        let (one, req) = (one.clone(), sale(&f));
        tokio::spawn(async move { one.issue_token(req).await })
    };
    until_waiting(one.pool(), 2).await;
    chain.rollback().await.unwrap();
    let closed = closing.await.unwrap().unwrap();
    match selling.await.unwrap() {
        Err(StoreError::Refused(r)) => assert_eq!(r.id, "err-clock-in-first"),
        other => panic!("a sale on a closed shift: {other:?}"),
    }
    assert_eq!(closed.expected_cash_minor, Some(1_000));
    let sold: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tokens WHERE shift_id = $1")
        .bind(closed.id.to_string())
        .fetch_one(one.pool())
        .await
        .unwrap();
    assert_eq!(sold, 0, "nothing stored against the closed shift");
}

/// Two sales on two replicas both waiting for the chains' locks: the one let through second
/// reads the chains' heads the first committed, not those of before its wait, so both are
/// stored and both chains hold.
#[tokio::test]
async fn sales_on_two_replicas_that_waited_for_the_chains_append_one_after_the_other() {
    let (one, two, _dir) = sql_replicas(TestDb::Postgres).await;
    let f = seed(one.clone()).await;
    one.open_shift(f.staff.id, f.location.id, 1_000, "staff")
        .await
        .unwrap();
    let chain = hold_chain(one.pool(), "token_ledger").await;
    let first = {
        let (one, req) = (one.clone(), sale(&f));
        tokio::spawn(async move { one.issue_token(req).await })
    };
    until_waiting(one.pool(), 1).await;
    let second = {
        let (two, req) = (Arc::clone(&two), sale(&f));
        tokio::spawn(async move { two.issue_token(req).await })
    };
    until_waiting(one.pool(), 2).await;
    chain.rollback().await.unwrap();
    first.await.unwrap().unwrap();
    second.await.unwrap().unwrap();
    for report in two.verify_chains().await.unwrap() {
        assert_eq!(report.first_bad_row, None, "{report:?}");
    }
    let issued: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM token_ledger WHERE event = 'issued'")
            .fetch_one(one.pool())
            .await
            .unwrap();
    assert_eq!(issued, 2);
}
