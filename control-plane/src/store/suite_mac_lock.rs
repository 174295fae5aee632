//! Store suite cases for lock to first device, run against every backend by `store_suite!`.

use crate::store::*;
use crate::testutil::{fixture, Fixture, TestDb};
use mtm_common::{CommandKind, MacBound, UpMessage};
use rstest::rstest;

async fn bound(f: &Fixture, seq: u64, at: i64, token: &Token, mac: &str) {
    let item = UpItem {
        seq,
        at,
        message: UpMessage::MacBound(MacBound {
            token_id: token.id,
            username: token.code.clone(),
            mac_address: mac.into(),
            bound_at: at,
        }),
    };
    f.store
        .apply_up("agent-1", &[item], now_ms())
        .await
        .unwrap();
}

/// A package's lock is copied onto each token sold from it and into its `CreateToken`; the
/// agent's first binding of a locked token is recorded (upper case) and in the ledger, a
/// second one and one for an unlocked token change nothing, and the checks see the binding.
#[rstest]
#[tokio::test]
async fn a_locked_token_records_its_first_binding_only(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let (open, _) = f.issue().await;
    assert!(!open.lock_to_mac);
    bound(&f, 1, 5_000, &open, "02:00:00:00:00:0A").await;
    assert_eq!(s.token(open.id).await.unwrap().unwrap().bound_mac, None);

    let p = &f.package;
    let change = PackageChange {
        name: p.name.clone(),
        price_minor: p.price_minor,
        limit_uptime_s: p.limit_uptime_s,
        limit_bytes_total: p.limit_bytes_total,
        rate_limit: p.rate_limit.clone(),
        shared_users: p.shared_users,
        validity_s: p.validity_s,
        active: true,
        lock_to_mac: true,
    };
    s.update_package(p.id, &change, "admin", now_ms())
        .await
        .unwrap();
    let (locked, cmd) = f.issue().await;
    assert!(locked.lock_to_mac);
    match &cmd.kind {
        CommandKind::CreateToken(ct) => assert!(ct.lock_to_mac),
        other => panic!("not a create: {other:?}"),
    }

    bound(&f, 2, 6_000, &locked, "02:00:00:00:00:0b").await;
    bound(&f, 3, 7_000, &locked, "02:00:00:00:00:0C").await;
    let t = s.token(locked.id).await.unwrap().unwrap();
    assert_eq!(t.bound_mac.as_deref(), Some("02:00:00:00:00:0B"));
    assert_eq!(t.mac_bound_at, Some(6_000));
    let issued = s
        .issued_tokens(f.router.id, &[locked.id], &[])
        .await
        .unwrap();
    let it = issued.iter().find(|i| i.token_id == locked.id).unwrap();
    assert!(it.lock_to_mac);
    assert_eq!(it.bound_mac.as_deref(), Some("02:00:00:00:00:0B"));
    assert_eq!(it.mac_bound_at, Some(6_000));

    let ledger = s.list_log(LogTable::Ledger, 50, 0).await.unwrap();
    let bindings: Vec<_> = ledger.iter().filter(|l| l.action == "mac_bound").collect();
    assert_eq!(bindings.len(), 1, "{ledger:?}");
    assert_eq!(bindings[0].target, locked.id.to_string());
    assert!(bindings[0].detail.contains("02:00:00:00:00:0B"));
    assert_eq!(bindings[0].actor, "agent-1");
}
