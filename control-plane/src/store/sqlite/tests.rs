//! The store suite and the append-only checks against this backend.
use crate::store::suite::store_suite;
use crate::testutil::sqlite_fixture;
use sqlx::Row;

store_suite!(sqlite_fixture().await);

#[tokio::test]
async fn ledger_and_audit_refuse_update_and_delete_and_tampering_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/mtm.db", dir.path().display());
    let store = std::sync::Arc::new(super::SqliteStore::open(&url).await.unwrap());
    let f = crate::testutil::seed(store.clone()).await;
    f.issue().await;
    f.issue().await;
    let pool = store.pool();
    for sql in [
        "UPDATE token_ledger SET event = 'x'",
        "DELETE FROM token_ledger",
        "UPDATE audit_log SET actor = 'x'",
        "DELETE FROM audit_log",
    ] {
        let err = sqlx::query(sql).execute(pool).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    // Someone with file access drops the trigger and edits row 2: verify names it.
    sqlx::query("DROP TRIGGER token_ledger_no_update")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE token_ledger SET actor = 'someone' WHERE id = 2")
        .execute(pool)
        .await
        .unwrap();
    let reports = crate::store::Store::verify_chains(&*store).await.unwrap();
    assert_eq!(reports[0].first_bad_row, Some(2));
    assert_eq!(reports[1].first_bad_row, None);
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM token_ledger")
        .fetch_one(pool)
        .await
        .unwrap()
        .get("n");
    assert_eq!(n, 2);
}
