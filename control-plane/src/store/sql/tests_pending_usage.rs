//! A usage report's pending check names the report's usage rows instead of copying it: read
//! back, the report is the one applied, every field of every entry, in order; checks stored
//! whole by older servers still read; and rows gone missing are an error, not a report with
//! entries silently dropped.

use crate::store::*;
use crate::testutil::{seed, sql_store, TestDb};
use mtm_common::{IssuedHere, UpMessage, Usage, UsageReport};
use rstest::rstest;
use std::collections::BTreeMap;

/// Token id to (uptime seconds, bytes) before a report.
type Before = BTreeMap<Uuid, (u64, u64)>;

fn report(token: &Token) -> UsageReport {
    UsageReport {
        entries: vec![
            Usage {
                token_id: Some(token.id),
                username: token.code.clone(),
                active: true,
                first_login_at: Some(1_234),
                uptime_s: 600,
                bytes_in: 1 << 20,
                bytes_out: 9 << 20,
                delta_uptime_s: 60,
                delta_bytes_in: 4_000,
                delta_bytes_out: 70_000,
                counters_reset: true,
            },
            Usage {
                token_id: None,
                username: "HANDMADE".into(),
                active: false,
                uptime_s: 5,
                delta_uptime_s: 5,
                ..Default::default()
            },
        ],
        issued_here: vec![IssuedHere {
            token_id: uuid::Uuid::new_v4(),
            code: "HANDMADE".into(),
            issued_at: 777,
        }],
    }
}

fn item(seq: u64, at: i64, report: &UsageReport) -> UpItem {
    UpItem {
        seq,
        at,
        message: UpMessage::Usage(report.clone()),
    }
}

#[rstest]
#[tokio::test]
async fn a_pending_usage_check_reads_back_the_report_it_names(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let (sql, _dir) = sql_store(db).await;
    let f = seed(sql.clone()).await;
    let (token, _) = f.issue().await;
    let first = report(&token);
    let mut second = report(&token);
    second.entries.reverse();
    second.entries[0].username = "OTHERHAND".into();
    second.issued_here.clear();
    // Two reports taken in the same millisecond, told apart by their seq.
    let applied = [item(7, 5_000, &first), item(8, 5_000, &second)];
    sql.apply_up("agent-1", &applied, 6_000).await.unwrap();

    let pending = sql.pending_checks(&[], i64::MAX, 10).await.unwrap();
    let reports: Vec<(u64, &UsageReport, &Before)> = pending
        .iter()
        .map(|c| match &c.evidence {
            CheckEvidence::Usage { report, before } => (c.seq, report, before),
            other => panic!("not usage: {other:?}"),
        })
        .collect();
    assert_eq!(reports.len(), 2);
    assert_eq!((reports[0].0, reports[0].1), (7, &first));
    assert_eq!((reports[1].0, reports[1].1), (8, &second));
    assert_eq!(reports[0].2.get(&token.id), Some(&(0, 0)));
    assert_eq!(reports[1].2.get(&token.id), Some(&(60, 74_000)));

    // What the row holds is the report's name and the figures only the apply knew.
    let stored: Vec<String> = sqlx::query_scalar("SELECT evidence FROM pending_checks")
        .fetch_all(&sql.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    for json in &stored {
        assert!(!json.contains("OTHERHAND"), "{json}");
        assert!(json.contains("usage_rows"), "{json}");
    }
    assert!(
        stored.iter().any(|j| j.contains("HANDMADE")),
        "issued_here kept"
    );
}

#[rstest]
#[tokio::test]
async fn a_usage_check_stored_whole_by_an_older_server_still_reads(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let (sql, _dir) = sql_store(db).await;
    let f = seed(sql.clone()).await;
    let (token, _) = f.issue().await;
    let whole = CheckEvidence::Usage {
        report: report(&token),
        before: BTreeMap::from([(token.id, (30, 300))]),
    };
    sqlx::query(
        "INSERT INTO pending_checks (router_id, seq, at, evidence, created_at)
         VALUES ($1, 3, 4000, $2, 4000)",
    )
    .bind(f.router.id.to_string())
    .bind(serde_json::to_string(&whole).unwrap())
    .execute(&sql.pool)
    .await
    .unwrap();
    let pending = sql.pending_checks(&[], i64::MAX, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].evidence, whole);
}

#[rstest]
#[tokio::test]
async fn a_usage_check_whose_rows_are_missing_is_an_error(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let (sql, _dir) = sql_store(db).await;
    let f = seed(sql.clone()).await;
    let (token, _) = f.issue().await;
    sql.apply_up("agent-1", &[item(2, 3_000, &report(&token))], 4_000)
        .await
        .unwrap();
    sqlx::query("DELETE FROM usage WHERE token_id IS NULL")
        .execute(&sql.pool)
        .await
        .unwrap();
    match sql.pending_checks(&[], i64::MAX, 10).await {
        Err(StoreError::Corrupt(m)) => assert!(m.contains("1 of its 2 rows"), "{m}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}
