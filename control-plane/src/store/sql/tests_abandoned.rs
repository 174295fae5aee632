//! A write its caller gives up on half-way (an HTTP client that disconnects, which drops the
//! request's future; a timeout) must never leave SQLite's write lock behind.
use crate::store::{now_ms, AdminStore};
use crate::testutil::{abandon_after, test_audit_entry as entry};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_abandoned_at_any_moment_never_leaves_the_write_lock_held() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/mtm.db", dir.path().display());
    let store = super::SqlStore::open(&url).await.unwrap();
    for i in 0..400u32 {
        let pause = Duration::from_micros(u64::from(i % 5) * 50);
        abandon_after(store.audit(entry(i), now_ms()), 1 + i % 8, pause).await;
    }
    // Another connection (another process, say) gets the write lock: whatever was abandoned has
    // been rolled back. Its busy timeout covers rollbacks still on their way.
    let mut other = SqliteConnectOptions::from_str(&url)
        .unwrap()
        .busy_timeout(Duration::from_secs(3))
        .connect()
        .await
        .unwrap();
    let begun = sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await;
    assert!(
        begun.is_ok(),
        "an abandoned write left the write lock held: {begun:?}"
    );
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    other.close().await.unwrap();
    // And the store itself still writes, on whichever of its connections.
    for i in 0..16 {
        let written = tokio::time::timeout(Duration::from_secs(5), store.audit(entry(i), now_ms()))
            .await
            .expect("a write after the abandoned ones is not stuck");
        assert!(written.is_ok(), "{written:?}");
    }
    let chains = store.verify_chains().await.unwrap();
    assert!(
        chains.iter().all(|c| c.first_bad_row.is_none()),
        "{chains:?}"
    );
}
