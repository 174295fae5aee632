//! What the database itself guarantees, on each database: append-only tables refuse changes,
//! tampering is named, usernames are unique whatever their case, and stored numbers out of range
//! read as `Corrupt`.
use super::Dialect;
use crate::store::{AdminStore, AlertStore, CatalogStore, PeopleStore, SalesStore};
use crate::testutil::{sql_store, TestDb};
use rstest::rstest;
use sqlx::Row;

/// Statements that change an append-only table, as this database spells them.
fn changes(dialect: Dialect, table: &str, set: &str) -> Vec<String> {
    let mut sql = vec![
        format!("UPDATE {table} SET {set}"),
        format!("DELETE FROM {table}"),
    ];
    if dialect == Dialect::Postgres {
        sql.push(format!("TRUNCATE {table} CASCADE"));
    }
    sql
}

#[rstest]
#[tokio::test]
async fn ledger_and_audit_refuse_changes_and_tampering_is_named(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let (store, _dir) = sql_store(db).await;
    let f = crate::testutil::seed(store.clone()).await;
    f.issue().await;
    f.issue().await;
    let pool = store.pool();
    let dialect = store.dialect();
    let mut sql = changes(dialect, "token_ledger", "event = 'x'");
    sql.extend(changes(dialect, "audit_log", "actor = 'x'"));
    for sql in sql {
        let err = sqlx::query(&sql).execute(pool).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    // Someone with the rights drops the trigger and edits row 2: verify names it.
    let drop = match dialect {
        Dialect::Sqlite => "DROP TRIGGER token_ledger_no_update",
        Dialect::Postgres => "DROP TRIGGER token_ledger_no_update ON token_ledger",
    };
    sqlx::query(drop).execute(pool).await.unwrap();
    sqlx::query("UPDATE token_ledger SET actor = 'someone' WHERE id = 2")
        .execute(pool)
        .await
        .unwrap();
    let reports = store.verify_chains().await.unwrap();
    assert_eq!(reports[0].first_bad_row, Some(2));
    assert_eq!(reports[1].first_bad_row, None);
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM token_ledger")
        .fetch_one(pool)
        .await
        .unwrap()
        .get("n");
    assert_eq!(n, 2);
}

#[rstest]
#[tokio::test]
async fn reports_and_sign_offs_refuse_changes(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let (store, _dir) = sql_store(db).await;
    let f = crate::testutil::seed(store.clone()).await;
    let new = crate::store::NewDailyReport {
        location_id: f.location.id,
        business_date: "2026-01-01".into(),
        window_start_ms: 0,
        window_end_ms: 1,
        body_json: "{}".into(),
        content_sha256: "x".into(),
    };
    let r = store.insert_daily_report(&new, 1).await.unwrap();
    assert!(!r.intact, "a hash that does not match is shown as such");
    store.sign_off_report(r.id, "", "manager", 2).await.unwrap();
    let dialect = store.dialect();
    let mut sql = changes(dialect, "daily_reports", "body = '{\"x\":1}'");
    sql.extend(changes(dialect, "daily_report_signoffs", "signed_by = 'x'"));
    for sql in sql {
        let err = sqlx::query(&sql).execute(store.pool()).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}

#[rstest]
#[tokio::test]
async fn usernames_are_unique_regardless_of_case_in_the_database_itself(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    use crate::store::{NewUser, Role, StoreError};
    let (store, _dir) = sql_store(db).await;
    let user = |name: &str| NewUser {
        username: name.into(),
        password: "a long password 1".into(),
        role: Role::Staff,
        location_ids: vec![],
    };
    store.create_user(user("Maria")).await.unwrap();
    let again = store.create_user(user("MARIA")).await;
    assert!(
        matches!(again, Err(StoreError::RefusedConflict(_))),
        "{again:?}"
    );
    // Past the store's own check (another writer racing it): the index refuses.
    let insert = "INSERT INTO users (id, username, password_hash, role, created_at) \
                  VALUES ($1, $2, 'x', 'staff', $3)";
    let err = sqlx::query(insert)
        .bind(uuid::Uuid::new_v4().to_string())
        .bind("maria")
        .bind(i64::MAX)
        .execute(store.pool())
        .await
        .unwrap_err();
    let refusal = match store.dialect() {
        Dialect::Sqlite => "UNIQUE",
        Dialect::Postgres => "users_username_lower",
    };
    assert!(err.to_string().contains(refusal), "{err}");

    // A database from before the index, holding a case twin: the migration renames the younger.
    sqlx::query("DROP INDEX users_username_lower")
        .execute(store.pool())
        .await
        .unwrap();
    let twin = uuid::Uuid::new_v4().to_string();
    sqlx::query(insert)
        .bind(&twin)
        .bind("maria")
        .bind(i64::MAX)
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::raw_sql(match store.dialect() {
        Dialect::Sqlite => {
            include_str!("../../../../migrations/sqlite/0170_username_lower_unique.sql")
        }
        Dialect::Postgres => {
            include_str!("../../../../migrations/postgres/0170_username_lower_unique.sql")
        }
    })
    .execute(store.pool())
    .await
    .unwrap();
    let names: Vec<String> = sqlx::query_scalar("SELECT username FROM users ORDER BY created_at")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(names, ["Maria".to_owned(), format!("maria~{}", &twin[..8])]);
    let kept = store.check_password("maria", "a long password 1").await;
    assert_eq!(kept.unwrap().unwrap().username, "Maria");
}

#[rstest]
#[tokio::test]
async fn a_count_out_of_range_in_the_database_is_corrupt_not_wrapped(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let (store, _dir) = sql_store(db).await;
    let f = crate::testutil::seed(store.clone()).await;
    let (token, _) = f.issue().await;
    let pool = store.pool();
    fn corrupt<T>(r: crate::store::StoreResult<T>, what: &str) {
        match r {
            Err(crate::store::StoreError::Corrupt(m)) => assert!(m.contains(what), "{m}"),
            Err(e) => panic!("{what}: {e}"),
            Ok(_) => panic!("{what}: read as a number"),
        }
    }
    sqlx::query("UPDATE tokens SET uptime_s = -1 WHERE id = $1")
        .bind(token.id.to_string())
        .execute(pool)
        .await
        .unwrap();
    corrupt(store.token(token.id).await, "uptime_s");
    sqlx::query("UPDATE routers SET last_seq = -5 WHERE id = $1")
        .bind(f.router.id.to_string())
        .execute(pool)
        .await
        .unwrap();
    corrupt(store.router(f.router.id).await, "last_seq");
    sqlx::query("UPDATE packages SET shared_users = 5000000000 WHERE id = $1")
        .bind(f.package.id.to_string())
        .execute(pool)
        .await
        .unwrap();
    corrupt(store.list_packages().await, "shared_users");
}
