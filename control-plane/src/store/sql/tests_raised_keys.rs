//! Alert keys remembered as raised by one replica, on every database: each replica knows what
//! the other raised (from the database, not from its own memory), and neither raises a key twice.

use crate::reconcile::{AlertKind, Finding, Severity};
use crate::store::AlertStore;
use crate::testutil::{sql_replicas, TestDb};
use rstest::rstest;
use std::collections::HashSet;

fn rogue(user: &str) -> Finding {
    Finding {
        kind: AlertKind::RogueToken,
        severity: Severity::Critical,
        agent_id: Some("agent-1".into()),
        router_id: None,
        location_id: None,
        staff_id: None,
        shift_id: None,
        token_id: None,
        dedup_key: format!("rogue_token:agent-1:{user}"),
        summary: format!("user {user} on the router was not issued"),
        evidence: serde_json::json!({ "user": user }),
    }
}

fn keys<'a>(findings: &'a [&Finding]) -> Vec<&'a str> {
    findings.iter().map(|f| f.dedup_key.as_str()).collect()
}

fn set(findings: &[&Finding]) -> HashSet<String> {
    findings.iter().map(|f| f.dedup_key.clone()).collect()
}

#[rstest]
#[tokio::test]
async fn each_replica_knows_what_the_other_raised_and_neither_raises_it_again(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let (one, two, _dir) = sql_replicas(db).await;
    let (a, b, c) = (rogue("AAA"), rogue("BBB"), rogue("CCC"));
    let all = [&a, &b, &c];
    assert!(one.raised_alert_keys(&keys(&all)).await.unwrap().is_empty());
    // Replica one raises A; replica two, which never saw it, knows it from the database.
    assert_eq!(
        one.raise_alerts(std::slice::from_ref(&a), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        two.raised_alert_keys(&keys(&all)).await.unwrap(),
        set(&[&a])
    );
    let new = two.raise_alerts(&[a.clone(), b.clone()], 11).await.unwrap();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].dedup_key, b.dedup_key);
    // Replica one remembered A itself and reads B, raised by the other, from the database.
    assert_eq!(
        one.raised_alert_keys(&keys(&all)).await.unwrap(),
        set(&[&a, &b])
    );
    assert!(one
        .raise_alerts(&[a.clone(), b.clone()], 12)
        .await
        .unwrap()
        .is_empty());
    // A key never raised is never reported as raised, by either.
    for store in [&one, &two] {
        let known = store.raised_alert_keys(&keys(&[&c])).await.unwrap();
        assert!(known.is_empty(), "{known:?}");
    }
    let only_c = [c.clone()];
    let both = [one.raise_alerts(&only_c, 13), two.raise_alerts(&only_c, 13)];
    let raised: usize = futures::future::join_all(both)
        .await
        .into_iter()
        .map(|r| r.unwrap().len())
        .sum();
    assert_eq!(raised, 1, "C raised once by the two replicas at once");
}
