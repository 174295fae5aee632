//! Store suite cases for validity expiry seen on the router, run against every backend by
//! `store_suite!`.

use crate::store::*;
use crate::testutil::{fixture, Fixture, TestDb};
use mtm_common::{Inventory, RouterUser, TokenExpired, UpMessage, Usage, UsageReport};
use rstest::rstest;

/// One agent's messages verified with `key`, applied as the ingest applies a batch.
async fn apply_signed(f: &Fixture, key: &str, items: &[UpItem]) -> StoreResult<ApplyOutcome> {
    let share = SignedBatch {
        agent_id: "agent-1",
        signed_by: key,
        items,
    };
    let mut out = f.store.apply_up_many(&[share], now_ms()).await?;
    out.pop().expect("one result per share")
}

async fn up(f: &Fixture, seq: u64, at: i64, message: UpMessage) {
    let item = UpItem { seq, at, message };
    f.store
        .apply_up("agent-1", &[item], now_ms())
        .await
        .unwrap();
}

/// Enroll a new device (a new key) on the fixture's router with the one-time `code`; its key.
pub(crate) async fn replace_device(f: &Fixture, code: &str) -> String {
    let now = now_ms();
    let key = mtm_common::keys::generate_signing_key();
    let hex = mtm_common::keys::public_key_hex(&key.verifying_key());
    let hash = enrollment_code_hash(code);
    f.store
        .create_enrollment_code(f.router.id, &hash, now + 60_000, "admin", now)
        .await
        .unwrap();
    let out = f
        .store
        .redeem_enrollment_code(&hash, &hex, "pw", "0.1.0", now)
        .await
        .unwrap();
    assert!(matches!(out, Redeemed::Enrolled(_)), "{out:?}");
    hex
}

fn shown(t: &Token, disabled: bool) -> RouterUser {
    RouterUser {
        router_id: "*1".into(),
        name: t.code.clone(),
        profile: Some(mtm_common::profile_name(&t.package_slug)),
        comment: Some(format!("mtm:{}", t.id)),
        disabled,
        ..Default::default()
    }
}

fn inventory(users: Vec<RouterUser>) -> UpMessage {
    UpMessage::Inventory(Inventory {
        users,
        ..Default::default()
    })
}

async fn expired_events(f: &Fixture, t: &Token) -> Vec<String> {
    f.store
        .list_log(LogTable::Ledger, 500, 0)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.target == t.id.to_string() && r.action == "expired")
        .map(|r| r.detail)
        .collect()
}

/// A replaced device neither sends the old one's unsent `TokenExpired` nor knows the windows of
/// vouchers sold before it came. A voucher past its window that the router shows disabled is
/// recorded as expired from the inventory, once; one still inside its window, or past it but
/// enabled, or never used, is left as it is; a late `TokenExpired` adds nothing.
#[rstest]
#[tokio::test]
async fn a_voucher_disabled_past_its_window_is_expired_from_the_inventory(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let validity_ms = i64::try_from(f.package.validity_s.unwrap()).unwrap() * 1000;
    let (past, _) = f.issue().await;
    let (inside, _) = f.issue().await;
    let (enabled, _) = f.issue().await;
    let (unused, _) = f.issue().await;
    let t0 = 1_000_000;
    let used = |t: &Token, first: i64| Usage {
        token_id: Some(t.id),
        username: t.code.clone(),
        first_login_at: Some(first),
        uptime_s: 60,
        ..Default::default()
    };
    let report = UpMessage::Usage(UsageReport {
        entries: vec![
            used(&past, t0),
            used(&inside, t0 + validity_ms),
            used(&enabled, t0),
        ],
        issued_here: Vec::new(),
    });
    up(&f, 1, t0 + 1_000, report).await;
    let now = t0 + validity_ms + 5_000;
    let users = vec![
        shown(&past, true),
        shown(&inside, true),
        shown(&enabled, false),
        shown(&unused, true),
    ];
    up(&f, 2, now, inventory(users.clone())).await;
    let state = |t: &Token| {
        let id = t.id;
        async move { s.token(id).await.unwrap().unwrap() }
    };
    let p = state(&past).await;
    assert_eq!(p.state, TokenState::Expired);
    // Dated when seen disabled: use between the window's end and the agent's disabling is not
    // use after expiry.
    assert_eq!(p.expired_at, Some(now));
    assert_eq!(expired_events(&f, &past).await.len(), 1);
    for t in [&inside, &enabled] {
        assert_eq!(state(t).await.state, TokenState::InUse, "{}", t.code);
    }
    assert_eq!(state(&unused).await.state, TokenState::Issued);
    // Again, and the old device's report arriving after all: nothing more.
    up(&f, 3, now + 2_000, inventory(users)).await;
    let late = UpMessage::TokenExpired(TokenExpired {
        token_id: past.id,
        expired_at: now,
    });
    up(&f, 4, now + 3_000, late).await;
    assert_eq!(expired_events(&f, &past).await.len(), 1);
    assert_eq!(state(&past).await.expired_at, Some(now));
    let chains = s.verify_chains().await.unwrap();
    assert!(chains.iter().all(|c| c.first_bad_row.is_none()));
}

fn windows_queued(open: &[StoredCommand]) -> Vec<Vec<mtm_common::ValidityWindow>> {
    open.iter()
        .filter_map(|c| match &c.kind {
            mtm_common::CommandKind::TrackValidity(t) => Some(t.windows.clone()),
            _ => None,
        })
        .collect()
}

/// A new device starts with an empty store. Enrolling it queues the validity windows of every
/// voucher on its router that still has one to end (used or not, with the ledger's first
/// login), and none for a voucher already expired; enrolling yet another device replaces the
/// windows queued for the one before.
#[rstest]
#[tokio::test]
async fn a_new_device_is_sent_the_windows_of_vouchers_sold_before_it(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let validity_s = f.package.validity_s.unwrap();
    let (used, _) = f.issue().await;
    let (unused, _) = f.issue().await;
    let (over, _) = f.issue().await;
    let t0 = 1_000_000;
    let login = |t: &Token| Usage {
        token_id: Some(t.id),
        username: t.code.clone(),
        first_login_at: Some(t0),
        uptime_s: 60,
        ..Default::default()
    };
    let report = UpMessage::Usage(UsageReport {
        entries: vec![login(&used), login(&over)],
        issued_here: Vec::new(),
    });
    up(&f, 1, t0 + 1_000, report).await;
    let expired = UpMessage::TokenExpired(TokenExpired {
        token_id: over.id,
        expired_at: t0 + 2_000,
    });
    up(&f, 2, t0 + 2_000, expired).await;
    assert_eq!(
        s.token(over.id).await.unwrap().unwrap().state,
        TokenState::Expired
    );

    replace_device(&f, "AAAA-BBBB").await;
    let queued = windows_queued(&s.open_commands("agent-1").await.unwrap());
    assert_eq!(queued.len(), 1, "one command for a few windows");
    let mut got = queued[0].clone();
    got.sort_by_key(|w| w.code.clone());
    let mut want = vec![
        mtm_common::ValidityWindow {
            token_id: used.id,
            code: used.code.clone(),
            validity_s,
            first_login_at: Some(t0),
        },
        mtm_common::ValidityWindow {
            token_id: unused.id,
            code: unused.code.clone(),
            validity_s,
            first_login_at: None,
        },
    ];
    want.sort_by_key(|w| w.code.clone());
    assert_eq!(got, want);

    replace_device(&f, "CCCC-DDDD").await;
    let queued = windows_queued(&s.open_commands("agent-1").await.unwrap());
    assert_eq!(
        queued.len(),
        1,
        "the earlier device's windows are superseded"
    );
    assert_eq!(queued[0].len(), 2);
}

/// A batch the old device signed, verified before its replacement committed and stored after
/// it, is refused whole: its seqs would otherwise mark the new device's own as duplicates.
#[rstest]
#[tokio::test]
async fn a_batch_verified_before_the_device_was_replaced_is_not_applied(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let old_key = f.router.public_key_hex.clone();
    let health = |n| {
        UpMessage::Health(mtm_common::Health {
            active_sessions: n,
            ..Default::default()
        })
    };
    let item = |seq, n| UpItem {
        seq,
        at: now_ms(),
        message: health(n),
    };
    let out = apply_signed(&f, &old_key, &[item(900, 1)]).await.unwrap();
    assert_eq!(out.applied, 1);
    let new_hex = replace_device(&f, "EEEE-FFFF").await;
    let late = apply_signed(&f, &old_key, &[item(901, 2)]).await;
    assert!(matches!(late, Err(StoreError::KeyReplaced)), "{late:?}");
    // The new device counts from 1, up to and past the old device's last seq.
    let out = apply_signed(&f, &new_hex, &[item(1, 3), item(901, 4)])
        .await
        .unwrap();
    assert_eq!((out.applied, out.duplicates, out.last_seq), (2, 0, 901));
}
