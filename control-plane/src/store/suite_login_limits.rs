//! Store suite cases for the shared login limits, run against every backend by `store_suite!`.

use crate::testutil::{fixture, TestDb};
use rstest::rstest;

/// Failures count per key within a window, both keys of one attempt land together, clearing
/// one key leaves the other, and pruning drops only rows older than the cut-off.
#[rstest]
#[tokio::test]
async fn login_failures_count_per_key_clear_and_prune(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let (acct, addr) = ("account:staff", "address:10.0.0.9");
    assert_eq!(s.login_failures(acct, 0).await.unwrap(), 0);
    s.record_login_failure(&[acct, addr], 1_000).await.unwrap();
    s.record_login_failure(&[acct, addr], 2_000).await.unwrap();
    s.record_login_failure(&["account:other", addr], 3_000)
        .await
        .unwrap();
    assert_eq!(s.login_failures(acct, 0).await.unwrap(), 2);
    assert_eq!(s.login_failures(addr, 0).await.unwrap(), 3);
    // `since` is inclusive: an attempt exactly at the window's start still counts.
    assert_eq!(s.login_failures(acct, 2_000).await.unwrap(), 1);
    assert_eq!(s.login_failures(addr, 2_001).await.unwrap(), 1);
    assert_eq!(s.login_failures("account:nobody", 0).await.unwrap(), 0);

    // A success clears the account only: the address keeps counting its guesses.
    s.clear_login_failures(acct).await.unwrap();
    assert_eq!(s.login_failures(acct, 0).await.unwrap(), 0);
    assert_eq!(s.login_failures(addr, 0).await.unwrap(), 3);
    assert_eq!(s.login_failures("account:other", 0).await.unwrap(), 1);

    // Pruning removes rows strictly older than the cut-off, under every key.
    assert_eq!(s.prune_login_failures(2_000).await.unwrap(), 1);
    assert_eq!(s.login_failures(addr, 0).await.unwrap(), 2);
    assert_eq!(s.prune_login_failures(10_000).await.unwrap(), 3);
    assert_eq!(s.login_failures(addr, 0).await.unwrap(), 0);
    assert_eq!(s.login_failures("account:other", 0).await.unwrap(), 0);
}

/// A reservation is checked and recorded in one step, counts like a failure, and releasing it
/// takes back exactly its rows (and clears the named keys).
#[rstest]
#[tokio::test]
async fn login_attempts_reserve_and_release(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    use crate::store::AttemptStats;
    let s = &f.store;
    let under_two = |st: &[AttemptStats]| st.iter().all(|x| x.count < 2);
    let keys = [("pair", 0), ("client", 0)];
    assert!(s
        .reserve_login_attempt(&keys, "a1", 10, &under_two)
        .await
        .unwrap());
    assert!(s
        .reserve_login_attempt(&keys, "a2", 20, &under_two)
        .await
        .unwrap());
    assert!(!s
        .reserve_login_attempt(&keys, "a3", 30, &under_two)
        .await
        .unwrap());
    assert_eq!(s.login_failures("pair", 0).await.unwrap(), 2);
    let seen = std::sync::Mutex::new(Vec::new());
    let record = |st: &[AttemptStats]| {
        seen.lock().unwrap().extend_from_slice(st);
        false
    };
    assert!(!s
        .reserve_login_attempt(&keys, "a4", 40, &record)
        .await
        .unwrap());
    assert_eq!(
        seen.lock().unwrap()[0],
        AttemptStats {
            count: 2,
            last_at: Some(20)
        }
    );
    s.release_login_attempt("a2", &[]).await.unwrap();
    assert_eq!(s.login_failures("pair", 0).await.unwrap(), 1);
    assert_eq!(s.login_failures("client", 0).await.unwrap(), 1);
    s.release_login_attempt("nothing", &["pair"]).await.unwrap();
    assert_eq!(s.login_failures("pair", 0).await.unwrap(), 0);
    assert_eq!(s.login_failures("client", 0).await.unwrap(), 1);
}
