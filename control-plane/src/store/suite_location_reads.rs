//! Store suite cases for what a location's own figures read (its daily report above all), run
//! against every backend: its routers and its alerts of a day, without the rest of the fleet.

use crate::reconcile::{AlertKind, Finding, Severity};
use crate::store::*;
use crate::testutil::{fixture, TestDb};
use rstest::rstest;

/// `n` rogue findings at `location`, their keys starting with `tag`.
fn findings(location: Uuid, tag: &str, n: usize) -> Vec<Finding> {
    (0..n)
        .map(|i| Finding {
            kind: AlertKind::RogueToken,
            severity: Severity::Warning,
            agent_id: None,
            router_id: None,
            location_id: Some(location),
            staff_id: None,
            shift_id: None,
            token_id: None,
            dedup_key: format!("{tag}-{i}"),
            summary: format!("rogue user {tag}-{i}"),
            evidence: serde_json::json!({}),
        })
        .collect()
}

/// A second location, "Other".
async fn other_location(s: &dyn Store) -> Location {
    s.create_location(NewLocation {
        name: "Other".into(),
        timezone: "UTC".into(),
    })
    .await
    .unwrap()
}

/// A location's alerts of one day are all read, each once, even when more than a page share
/// one instant; the days around it and the other locations' are left out.
#[rstest]
#[tokio::test]
async fn a_locations_alerts_of_a_day_are_read_whole_and_alone(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let other = other_location(&**s).await;
    let here = f.location.id;
    s.raise_alerts(&findings(here, "before", 3), 1_000)
        .await
        .unwrap();
    // More than a page, all raised at one instant: paging goes on by id within it.
    s.raise_alerts(&findings(here, "day", 1_203), 2_000)
        .await
        .unwrap();
    s.raise_alerts(&findings(other.id, "elsewhere", 4), 2_500)
        .await
        .unwrap();
    s.raise_alerts(&findings(here, "day-late", 2), 2_999)
        .await
        .unwrap();
    s.raise_alerts(&findings(here, "after", 5), 3_000)
        .await
        .unwrap();

    let day = AlertFilter {
        location_id: Some(here),
        from: Some(2_000),
        to: Some(3_000),
        ..Default::default()
    };
    let read = every_alert(&**s, &day).await.unwrap();
    assert_eq!(read.len(), 1_205);
    let keys: std::collections::HashSet<&str> = read.iter().map(|a| a.dedup_key.as_str()).collect();
    assert_eq!(keys.len(), 1_205, "an alert read twice");
    assert!(keys.iter().all(|k| k.starts_with("day-")));
    assert!(read.windows(2).all(|w| w[0].created_at >= w[1].created_at));
    assert_eq!(read[0].created_at, 2_999, "newest first");

    // The page query honours the same window.
    let page = s
        .list_alerts(&AlertFilter {
            limit: Some(10),
            ..day.clone()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 10);
    assert!(page.iter().all(|a| (2_000..3_000).contains(&a.created_at)));
    let everything = every_alert(&**s, &AlertFilter::default()).await.unwrap();
    assert_eq!(everything.len(), 3 + 1_203 + 4 + 2 + 5);
}

/// A location's routers are its own; a location is found by its id.
#[rstest]
#[tokio::test]
async fn a_locations_routers_are_its_own(#[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb) {
    let f = fixture(db).await;
    let s = &f.store;
    let other = other_location(&**s).await;
    let key = mtm_common::keys::generate_signing_key();
    let there = s
        .create_router(NewRouter {
            location_id: other.id,
            name: "there".into(),
            agent_id: "agent-there".into(),
            public_key_hex: mtm_common::keys::public_key_hex(&key.verifying_key()),
            mqtt_password: "there-password".into(),
        })
        .await
        .unwrap();

    let here: Vec<Uuid> = s
        .routers_at(f.location.id)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(here, vec![f.router.id]);
    let theirs = s.routers_at(other.id).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].id, there.id);
    assert_eq!(theirs[0].agent_id, "agent-there");
    assert!(s.routers_at(Uuid::new_v4()).await.unwrap().is_empty());

    assert_eq!(
        s.location(other.id).await.unwrap().map(|l| l.name),
        Some("Other".into())
    );
    assert!(s.location(Uuid::new_v4()).await.unwrap().is_none());
}
