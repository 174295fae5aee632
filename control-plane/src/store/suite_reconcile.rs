//! Store suite cases for reconciliation, run against every backend by `store_suite!`.

use crate::store::*;
use crate::testutil::{fixture, TestDb};
use rstest::rstest;

/// Settings default, change (audited), refuse bad values; a manager closes a forgotten shift
/// once, with a note, revenue confirmed and the variance computed.
#[rstest]
#[tokio::test]
async fn location_settings_and_a_manager_closing_a_shift(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let lid = f.location.id;
    let d = s.location_settings(lid).await.unwrap().unwrap();
    assert_eq!(d.cash_threshold_minor, 0);
    assert_eq!(d.close_time, DEFAULT_CLOSE_TIME);
    assert_eq!(d.timezone, f.location.timezone);
    assert_eq!(d.updated_at, None);
    assert!(s.location_settings(Uuid::new_v4()).await.unwrap().is_none());

    let change = LocationSettingsChange {
        cash_threshold_minor: Some(250),
        close_time: Some("02:30".into()),
        ..Default::default()
    };
    let got = s
        .update_location_settings(lid, &change, "admin", 1000)
        .await
        .unwrap();
    assert_eq!(got.cash_threshold_minor, 250);
    assert_eq!(got.close_time, "02:30");
    let zone = LocationSettingsChange {
        timezone: Some("Africa/Lagos".into()),
        ..Default::default()
    };
    s.update_location_settings(lid, &zone, "admin", 2000)
        .await
        .unwrap();
    let now = s.location_settings(lid).await.unwrap().unwrap();
    assert_eq!(
        (
            now.timezone.as_str(),
            now.cash_threshold_minor,
            now.close_time.as_str()
        ),
        ("Africa/Lagos", 250, "02:30")
    );
    assert_eq!(now.updated_at, Some(2000));
    for bad in [
        LocationSettingsChange {
            cash_threshold_minor: Some(-1),
            ..Default::default()
        },
        LocationSettingsChange {
            close_time: Some("25:00".into()),
            ..Default::default()
        },
    ] {
        let e = s.update_location_settings(lid, &bad, "admin", 3000).await;
        assert!(matches!(e, Err(StoreError::Refused(_))), "{bad:?}: {e:?}");
    }
    let missing = s
        .update_location_settings(Uuid::new_v4(), &change, "admin", 3000)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))));
    let log = s.list_log(LogTable::Audit, 50, 0).await.unwrap();
    assert_eq!(
        log.iter()
            .filter(|r| r.action == "location.settings")
            .count(),
        2
    );

    // A forgotten shift with one sale: the manager counts the drawer and closes it.
    let (token, _) = f.issue().await;
    let shift = s.open_shift_of(f.staff.id).await.unwrap().unwrap();
    let e = s
        .close_shift_by_id(shift.id, 1000, "  ", "manager", 4000)
        .await;
    assert!(
        matches!(e, Err(StoreError::Refused(_))),
        "a note is required"
    );
    let closed = s
        .close_shift_by_id(
            shift.id,
            1000,
            "left at 6pm, drawer counted",
            "manager",
            4000,
        )
        .await
        .unwrap();
    let expected = shift.opening_float_minor + token.price_minor;
    assert_eq!(closed.expected_cash_minor, Some(expected));
    assert_eq!(closed.variance_minor, Some(1000 - expected));
    assert_eq!(closed.closed_at, Some(4000));
    assert!(s.open_shift_of(f.staff.id).await.unwrap().is_none());
    let found = s.shift(shift.id).await.unwrap().expect("by id");
    assert_eq!(found, closed);
    assert!(s.shift(Uuid::new_v4()).await.unwrap().is_none());
    let again = s
        .close_shift_by_id(shift.id, 1000, "again", "manager", 5000)
        .await;
    assert!(matches!(again, Err(StoreError::RefusedConflict(_))));
    let gone = s
        .close_shift_by_id(Uuid::new_v4(), 0, "x", "manager", 5000)
        .await;
    assert!(matches!(gone, Err(StoreError::NotFound(_))));
    let log = s.list_log(LogTable::Audit, 50, 0).await.unwrap();
    let row = log
        .iter()
        .find(|r| r.action == "shift.close_for_staff")
        .expect("audited");
    assert_eq!(row.actor, "manager");
    assert!(row.detail.contains("drawer counted"), "{}", row.detail);
}

/// A day's report is stored once per location and date, never changed (the database refuses),
/// and signed off once, audited.
#[rstest]
#[tokio::test]
async fn daily_reports_are_insert_only_and_signed_off_once(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    use sha2::{Digest, Sha256};
    let s = &f.store;
    let body = r#"{"format":1,"x":[1,2]}"#.to_string();
    let new = NewDailyReport {
        location_id: f.location.id,
        business_date: "2026-11-24".into(),
        window_start_ms: 1000,
        window_end_ms: 2000,
        content_sha256: hex::encode(Sha256::digest(body.as_bytes())),
        body_json: body,
    };
    let r = s.insert_daily_report(&new, 5000).await.unwrap();
    assert!(r.intact);
    assert_eq!(r.body["x"][1], 2);
    assert_eq!(r.signed_off_by, None);
    let again = s.insert_daily_report(&new, 6000).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let filter = ReportFilter {
        location_id: Some(f.location.id),
        date: Some("2026-11-24".into()),
        ..Default::default()
    };
    assert_eq!(s.daily_reports(&filter).await.unwrap(), vec![r.clone()]);
    let other = ReportFilter {
        date: Some("2026-11-23".into()),
        ..Default::default()
    };
    assert!(s.daily_reports(&other).await.unwrap().is_empty());

    let signed = s
        .sign_off_report(r.id, "counted and fine", "manager", 7000)
        .await
        .unwrap();
    assert_eq!(signed.signed_off_by.as_deref(), Some("manager"));
    assert_eq!(signed.signed_off_at, Some(7000));
    let twice = s.sign_off_report(r.id, "again", "manager", 8000).await;
    assert!(
        matches!(twice, Err(StoreError::RefusedConflict(_))),
        "{twice:?}"
    );
    let none = s
        .sign_off_report(Uuid::new_v4(), "x", "manager", 8000)
        .await;
    assert!(matches!(none, Err(StoreError::NotFound(_))));
    let log = s.list_log(LogTable::Audit, 50, 0).await.unwrap();
    assert!(log.iter().any(|l| l.action == "report.sign_off"));

    // Usage and tokens of the location's day come back for the report.
    let (token, _) = f.issue().await;
    let ids = s.day_token_ids(f.location.id, 0, i64::MAX).await.unwrap();
    assert!(ids.contains(&(f.router.id, token.id)), "{ids:?}");
    let named = s.named_tokens(f.router.id, &[token.id], &[]).await.unwrap();
    assert_eq!(named.len(), 1);
    assert_eq!(named[0].code, token.code);
    let by_code = s
        .named_tokens(f.router.id, &[], std::slice::from_ref(&token.code))
        .await
        .unwrap();
    assert_eq!(by_code.len(), 1);
    assert!(s
        .named_tokens(f.router.id, &[], &[])
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .usage_samples(f.location.id, 0, i64::MAX)
        .await
        .unwrap()
        .is_empty());
}

/// A package edit changes what is sold (audited), its `updated_at` grows past every other
/// package's, a retired package leaves the shop but stays listed, bad values are refused.
#[rstest]
#[tokio::test]
async fn packages_are_edited_retired_and_bump_the_catalog(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let p = f.package.clone();
    assert_eq!(p.updated_at, p.created_at);
    let mut change = PackageChange {
        name: "Two hours".into(),
        price_minor: 900,
        limit_uptime_s: Some(7200),
        limit_bytes_total: None,
        rate_limit: Some("4M/8M".into()),
        shared_users: 2,
        validity_s: Some(86_400),
        active: true,
        lock_to_mac: true,
    };
    // A clock behind the creation time still yields a newer version.
    let got = s.update_package(p.id, &change, "admin", 1).await.unwrap();
    assert_eq!((got.name.as_str(), got.price_minor), ("Two hours", 900));
    assert_eq!(got.rate_limit.as_deref(), Some("4M/8M"));
    assert!(got.lock_to_mac);
    assert!(
        got.spec().lock_to_mac,
        "the catalog carries the lock to the agents"
    );
    assert_eq!((got.shared_users, got.validity_s), (2, Some(86_400)));
    assert_eq!(
        (got.slug.as_str(), got.created_at),
        (p.slug.as_str(), p.created_at)
    );
    assert!(got.updated_at > p.updated_at);
    assert_eq!(s.list_packages().await.unwrap()[0].price_minor, 900);

    change.active = false;
    let retired = s.update_package(p.id, &change, "admin", 2).await.unwrap();
    assert!(retired.updated_at > got.updated_at);
    assert!(s
        .list_packages()
        .await
        .unwrap()
        .iter()
        .all(|x| x.id != p.id));
    let all = s.list_all_packages().await.unwrap();
    assert!(all.iter().any(|x| x.id == p.id && !x.active));

    change.price_minor = -1;
    let bad = s.update_package(p.id, &change, "admin", 3).await;
    assert!(matches!(bad, Err(StoreError::Refused(_))), "{bad:?}");
    change.price_minor = 1;
    let gone = s.update_package(Uuid::new_v4(), &change, "admin", 3).await;
    assert!(matches!(gone, Err(StoreError::NotFound(_))));
    let log = s.list_log(LogTable::Audit, 50, 0).await.unwrap();
    let rows: Vec<_> = log
        .iter()
        .filter(|r| r.action == "package.update")
        .collect();
    assert_eq!(rows.len(), 2, "one audit row per change");
    assert_eq!(rows[0].actor, "admin");
    assert!(rows[1].detail.contains("Two hours"), "{}", rows[1].detail);
}

/// Shifts open at some instant of a window: a closed one only if the window reaches into it,
/// an open one from its clock-in on, none from another location.
#[rstest]
#[tokio::test]
async fn shifts_overlapping_a_window_are_found(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let lid = f.location.id;
    s.open_shift(f.staff.id, lid, 0, "staff").await.unwrap();
    let first = s.close_shift(f.staff.id, 0, "staff").await.unwrap();
    let (opened, closed) = (first.opened_at, first.closed_at.unwrap());
    let ids = |v: Vec<Shift>| v.into_iter().map(|x| x.id).collect::<Vec<_>>();
    let inside = s.shifts_overlapping(lid, opened, opened).await.unwrap();
    assert_eq!(ids(inside), vec![first.id]);
    let around = s.shifts_overlapping(lid, opened - 10, closed + 10).await;
    assert_eq!(ids(around.unwrap()), vec![first.id]);
    let before = s.shifts_overlapping(lid, opened - 10, opened - 1).await;
    assert!(before.unwrap().is_empty());
    let after = s.shifts_overlapping(lid, closed + 1, closed + 10).await;
    assert!(after.unwrap().is_empty());
    let elsewhere = s.shifts_overlapping(Uuid::new_v4(), opened, closed).await;
    assert!(elsewhere.unwrap().is_empty());

    let second = s.open_shift(f.staff.id, lid, 0, "staff").await.unwrap();
    let later = second.opened_at + 86_400_000;
    let still_open = s.shifts_overlapping(lid, later, later).await.unwrap();
    assert_eq!(ids(still_open), vec![second.id]);
    let mut both = ids(s.shifts_overlapping(lid, opened, later).await.unwrap());
    let mut expected = vec![first.id, second.id];
    // Both may carry the same millisecond; the order between equal clock-ins is by id.
    both.sort();
    expected.sort();
    assert_eq!(both, expected);
}

/// Applying a usage report or an inventory records its pending alert check in the same
/// transaction, with each named token's usage summed before the report; a duplicate records
/// nothing, and a finished check is gone.
#[rstest]
#[tokio::test]
async fn pending_checks_hold_the_evidence_until_finished(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    use mtm_common::{Inventory, UpMessage, Usage, UsageReport};
    let s = &f.store;
    let (token, _) = f.issue().await;
    let report = |uptime: u64, delta: u64| {
        UpMessage::Usage(UsageReport {
            entries: vec![Usage {
                token_id: Some(token.id),
                username: token.code.clone(),
                active: true,
                first_login_at: None,
                uptime_s: uptime,
                bytes_in: 10,
                bytes_out: 5,
                delta_uptime_s: delta,
                delta_bytes_in: 10,
                delta_bytes_out: 5,
                counters_reset: false,
            }],
            issued_here: Vec::new(),
        })
    };
    let item = |seq, message| UpItem {
        seq,
        at: 1000 + seq as i64,
        message,
    };
    let batch = [
        item(1, report(60, 60)),
        item(2, report(100, 40)),
        item(3, UpMessage::Inventory(Inventory::default())),
        item(4, UpMessage::Usage(UsageReport::default())),
    ];
    s.apply_up("agent-1", &batch, 5000).await.unwrap();
    assert!(s.pending_checks(&[], 5000, 10).await.unwrap().is_empty());
    let pending = s.pending_checks(&["agent-1"], 5001, 10).await.unwrap();
    let seqs: Vec<u64> = pending.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3], "an empty usage report owes nothing");
    let befores: Vec<_> = pending
        .iter()
        .filter_map(|c| match &c.evidence {
            CheckEvidence::Usage { before, .. } => before.get(&token.id).copied(),
            CheckEvidence::Inventory { .. } => None,
        })
        .collect();
    assert_eq!(befores, vec![(0, 0), (60, 15)]);
    assert!(pending
        .iter()
        .all(|c| c.agent_id == "agent-1" && c.router_id == f.router.id));
    assert_eq!(pending[1].at, 1002);
    assert!(s
        .pending_checks(&["agent-2"], i64::MAX, 10)
        .await
        .unwrap()
        .is_empty());
    let done: Vec<(Uuid, u64)> = pending.iter().map(|c| (c.router_id, c.seq)).collect();
    s.finish_checks(&done).await.unwrap();
    s.apply_up("agent-1", &batch[..1], 6000).await.unwrap();
    assert!(s
        .pending_checks(&[], i64::MAX, 10)
        .await
        .unwrap()
        .is_empty());
}

/// A pass finishes its checks together, however many: more than one statement's worth are all
/// forgotten, and the checks of other seqs stay owed.
#[rstest]
#[tokio::test]
async fn a_pass_finishes_many_checks_at_once(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    use mtm_common::{Inventory, UpMessage};
    let f = fixture(db).await;
    let s = &f.store;
    let items: Vec<UpItem> = (1..=1_201)
        .map(|seq| UpItem {
            seq,
            at: 1000 + seq as i64,
            message: UpMessage::Inventory(Inventory::default()),
        })
        .collect();
    s.apply_up("agent-1", &items, 5000).await.unwrap();
    let owed = s.pending_checks(&[], i64::MAX, 10_000).await.unwrap();
    assert_eq!(owed.len(), 1_201);
    let done: Vec<(Uuid, u64)> = owed
        .iter()
        .filter(|c| c.seq != 700)
        .map(|c| (c.router_id, c.seq))
        .collect();
    s.finish_checks(&done).await.unwrap();
    let left: Vec<u64> = s
        .pending_checks(&[], i64::MAX, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|c| c.seq)
        .collect();
    assert_eq!(left, vec![700]);
}
