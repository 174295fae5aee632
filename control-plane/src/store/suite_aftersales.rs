//! Store suite cases for voucher after-sales, run against every backend by `store_suite!`.

use crate::store::*;
use crate::testutil::{fixture, Fixture, TestDb};
use mtm_common::{CommandDone, CommandKind, UpMessage};
use rstest::rstest;

fn ask(f: &Fixture, token: Uuid, kind: AfterSaleKind, approver: bool) -> AfterSaleRequest {
    AfterSaleRequest {
        id: Uuid::new_v4(),
        token_id: token,
        kind,
        reason: "customer asked".into(),
        refund_minor: 0,
        extra_uptime_s: 0,
        extra_bytes_total: 0,
        actor_id: if approver { f.manager.id } else { f.staff.id },
        actor_name: if approver { "manager" } else { "staff" }.into(),
        approver,
        replacement: None,
    }
}

async fn done(f: &Fixture, seq: u64, cmd: &StoredCommand) {
    let msg = UpMessage::CommandDone(CommandDone {
        command_id: cmd.id,
        detail: "ok".into(),
    });
    let item = UpItem {
        seq,
        at: now_ms(),
        message: msg,
    };
    f.store
        .apply_up("agent-1", &[item], now_ms())
        .await
        .unwrap();
}

async fn issued(f: &Fixture, id: Uuid) -> crate::reconcile::IssuedToken {
    let all = f
        .store
        .issued_tokens(f.router.id, &[id], &[])
        .await
        .unwrap();
    all.into_iter().find(|t| t.token_id == id).unwrap()
}

/// A staff refund above the threshold waits, a manager approves it once; the refund comes off
/// the staff member's till; bad requests are refused.
#[rstest]
#[tokio::test]
async fn refunds_wait_for_a_manager_and_leave_the_till(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let (t, _) = f.issue().await;
    let mut bad = ask(&f, t.id, AfterSaleKind::Void, false);
    bad.reason = "  ".into();
    assert!(matches!(
        s.after_sale(bad).await,
        Err(StoreError::Refused(_))
    ));
    let mut bad = ask(&f, t.id, AfterSaleKind::Void, false);
    bad.refund_minor = t.price_minor + 1;
    assert!(matches!(
        s.after_sale(bad).await,
        Err(StoreError::Refused(_))
    ));
    let enable = ask(&f, t.id, AfterSaleKind::Enable, false);
    assert!(matches!(
        s.after_sale(enable).await,
        Err(StoreError::RefusedConflict(_))
    ));

    let mut req = ask(&f, t.id, AfterSaleKind::Void, false);
    req.refund_minor = 300;
    let out = s.after_sale(req).await.unwrap();
    assert_eq!(out.sale.state, AfterSaleState::Requested);
    assert!(out.commands.is_empty());
    assert_eq!(
        s.token(t.id).await.unwrap().unwrap().state,
        TokenState::Issued
    );
    let waiting = s
        .list_after_sales(&AfterSaleFilter {
            state: Some(AfterSaleState::Requested),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].code, t.code);
    let approved = s
        .decide_after_sale(AfterSaleDecision {
            id: out.sale.id,
            approve: true,
            note: "ok".into(),
            actor_name: "manager".into(),
        })
        .await
        .unwrap();
    assert_eq!(approved.sale.state, AfterSaleState::Done);
    assert_eq!(approved.sale.decided_by_name.as_deref(), Some("manager"));
    assert!(
        matches!(approved.commands[..], [StoredCommand { kind: CommandKind::RemoveToken { token_id }, .. }] if token_id == t.id)
    );
    let again = s
        .decide_after_sale(AfterSaleDecision {
            id: out.sale.id,
            approve: false,
            note: String::new(),
            actor_name: "manager".into(),
        })
        .await;
    assert!(matches!(again, Err(StoreError::RefusedConflict(_))));
    assert_eq!(
        s.token(t.id).await.unwrap().unwrap().state,
        TokenState::Removed
    );
    // Float 1000 + sale 500 - refund 300.
    let closed = s.close_shift(f.staff.id, 1200, "staff").await.unwrap();
    assert_eq!(closed.expected_cash_minor, Some(1200));
    assert_eq!(closed.variance_minor, Some(0));

    // Within a threshold staff need nobody.
    let change = LocationSettingsChange {
        refund_approval_minor: Some(500),
        ..Default::default()
    };
    let set = s
        .update_location_settings(f.location.id, &change, "admin", 5)
        .await
        .unwrap();
    assert_eq!(set.refund_approval_minor, 500);
    let (t2, _) = f.issue().await;
    let mut req = ask(&f, t2.id, AfterSaleKind::Void, false);
    req.refund_minor = 500;
    let out = s.after_sale(req).await.unwrap();
    assert_eq!(out.sale.state, AfterSaleState::Done);
    assert!(out.sale.shift_id.is_some());
    // A refused request changes nothing.
    let (t3, _) = f.issue().await;
    let mut req = ask(&f, t3.id, AfterSaleKind::Void, false);
    req.refund_minor = t3.price_minor;
    let change = LocationSettingsChange {
        refund_approval_minor: Some(0),
        ..Default::default()
    };
    s.update_location_settings(f.location.id, &change, "admin", 6)
        .await
        .unwrap();
    let out = s.after_sale(req).await.unwrap();
    let refused = s
        .decide_after_sale(AfterSaleDecision {
            id: out.sale.id,
            approve: false,
            note: "no".into(),
            actor_name: "manager".into(),
        })
        .await
        .unwrap();
    assert_eq!(refused.sale.state, AfterSaleState::Rejected);
    assert!(refused.commands.is_empty());
    assert_eq!(
        s.token(t3.id).await.unwrap().unwrap().state,
        TokenState::Issued
    );
}

/// Replace moves the sale; extend, disable and reprint change what the router checks expect,
/// and the router's confirmation moves it again.
#[rstest]
#[tokio::test]
async fn replace_extend_disable_and_what_the_checks_expect(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let (t, _) = f.issue().await;
    let mut req = ask(&f, t.id, AfterSaleKind::Replace, false);
    req.replacement = Some(ReplacementCode {
        id: Uuid::new_v4(),
        code: mtm_common::token_code::generate(8),
        password: None,
    });
    let new_id = req.replacement.as_ref().unwrap().id;
    let out = s.after_sale(req).await.unwrap();
    assert_eq!(out.sale.new_token_id, Some(new_id));
    assert_eq!(out.commands.len(), 2);
    let new = s.token(new_id).await.unwrap().unwrap();
    assert_eq!(
        (new.replaces, new.price_minor, new.shift_id),
        (Some(t.id), t.price_minor, t.shift_id)
    );
    assert_eq!(
        s.token(t.id).await.unwrap().unwrap().state,
        TokenState::Removed
    );

    let mut ext = ask(&f, new_id, AfterSaleKind::Extend, false);
    ext.extra_uptime_s = 1800;
    let out = s.after_sale(ext).await.unwrap();
    let expected = issued(&f, new_id).await;
    assert_eq!(expected.limit_uptime_s, Some(5400));
    assert_eq!(
        expected.confirmed_limit_uptime_s,
        Some(3600),
        "the router still has the old limit"
    );
    done(&f, 1, &out.commands[0]).await;
    assert_eq!(
        issued(&f, new_id).await.confirmed_limit_uptime_s,
        Some(5400)
    );

    let out = s
        .after_sale(ask(&f, new_id, AfterSaleKind::Disable, true))
        .await
        .unwrap();
    assert_eq!(issued(&f, new_id).await.ended_at, None, "not yet confirmed");
    done(&f, 2, &out.commands[0]).await;
    assert!(issued(&f, new_id).await.ended_at.is_some());
    s.after_sale(ask(&f, new_id, AfterSaleKind::Enable, true))
        .await
        .unwrap();
    let back = issued(&f, new_id).await;
    assert_eq!(
        (back.state, back.ended_at),
        (crate::reconcile::TokenState::Issued, None)
    );
    let out = s
        .after_sale(ask(&f, new_id, AfterSaleKind::Reprint, false))
        .await
        .unwrap();
    assert!(out.commands.is_empty());
    assert_eq!(s.token(new_id).await.unwrap().unwrap().reprints, 1);
    let mine = s
        .list_after_sales(&AfterSaleFilter {
            token_id: Some(new_id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.len(), 4);
    // The shift sold one voucher, once: float 1000 + 500.
    let closed = s.close_shift(f.staff.id, 1500, "staff").await.unwrap();
    assert_eq!(closed.variance_minor, Some(0));
    let chains = s.verify_chains().await.unwrap();
    assert!(
        chains.iter().all(|c| c.first_bad_row.is_none()),
        "{chains:?}"
    );
}
