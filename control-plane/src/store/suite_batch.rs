//! Store suite cases for batch dispensing, run against every backend by `store_suite!`.

use crate::store::*;
use crate::testutil::{fixture, Fixture, TestDb};
use mtm_common::{AppliedToken, CommandFailed, CommandKind, FailedToken, TokensApplied, UpMessage};
use rstest::rstest;

fn batch(f: &Fixture, n: usize) -> IssueBatch {
    IssueBatch {
        batch_id: Uuid::new_v4(),
        package_id: f.package.id,
        staff_id: f.staff.id,
        staff_username: "staff".into(),
        vouchers: (0..n)
            .map(|i| NewVoucher {
                id: Uuid::new_v4(),
                code: format!("B{i:07}"),
                password: None,
            })
            .collect(),
    }
}

async fn up(f: &Fixture, seq: u64, message: UpMessage) {
    let item = UpItem {
        seq,
        at: now_ms(),
        message,
    };
    f.store
        .apply_up("agent-1", &[item], now_ms())
        .await
        .unwrap();
}

/// A batch is stored whole or not at all; each voucher gets a ledger entry, a revenue record
/// and an audit row like a single sale, and the shift's expected cash counts every one; the
/// commands carry at most 500 vouchers; answers are applied once per voucher, refusals are in
/// the ledger, and the chains still verify.
#[rstest]
#[tokio::test]
async fn a_batch_is_stored_whole_and_applied_once(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let no_shift = s.issue_batch(batch(&f, 3)).await;
    assert!(
        matches!(no_shift, Err(StoreError::Refused(_))),
        "{no_shift:?}"
    );
    s.open_shift(f.staff.id, f.location.id, 1000, "staff")
        .await
        .unwrap();
    let before = s.verify_chains().await.unwrap();

    // A code already used anywhere in the batch: nothing of it is stored.
    let mut dup = batch(&f, 10);
    dup.vouchers[9].code = dup.vouchers[0].code.clone();
    assert!(matches!(
        s.issue_batch(dup.clone()).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(s.batch_progress(dup.batch_id).await.unwrap().is_none());
    assert!(s.issue_batch(batch(&f, 0)).await.is_err());
    assert!(s
        .issue_batch(batch(&f, crate::bounds::MAX_BATCH as usize + 1))
        .await
        .is_err());

    let req = batch(&f, 1200);
    let out = s.issue_batch(req.clone()).await.unwrap();
    assert_eq!(out.tokens.len(), 1200);
    let sizes: Vec<usize> = out
        .commands
        .iter()
        .map(|c| match &c.kind {
            CommandKind::CreateTokens(b) => b.tokens.len(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(sizes, vec![500, 500, 200]);
    assert_eq!(s.open_commands("agent-1").await.unwrap().len(), 3);
    let p = s.batch_progress(req.batch_id).await.unwrap().unwrap();
    assert_eq!((p.total, p.on_router, p.staff_id), (1200, 0, f.staff.id));
    let whole = s.batch_tokens(req.batch_id, 0, 5000).await.unwrap();
    assert_eq!(whole.len(), 1200);
    let mut parts = Vec::new();
    for from in [0, 500, 1000, 1500] {
        parts.extend(s.batch_tokens(req.batch_id, from, 500).await.unwrap());
    }
    assert_eq!(
        parts.iter().map(|t| t.id).collect::<Vec<_>>(),
        whole.iter().map(|t| t.id).collect::<Vec<_>>(),
        "the printed parts are the whole batch, in order, each voucher once"
    );
    let after = s.verify_chains().await.unwrap();
    assert_eq!(
        after[0].rows - before[0].rows,
        1200,
        "one ledger entry each"
    );
    assert_eq!(
        after[1].rows - before[1].rows,
        1201,
        "one audit row each, one for the batch"
    );

    // The first command: all but one on the router; the answer comes twice.
    let CommandKind::CreateTokens(first) = &out.commands[0].kind else {
        unreachable!()
    };
    let answer = UpMessage::TokensApplied(TokensApplied {
        command_id: out.commands[0].id,
        applied: first.tokens[1..]
            .iter()
            .map(|t| AppliedToken {
                token_id: t.token_id,
                router_user_id: format!("*{}", t.code),
                already_present: false,
            })
            .collect(),
        failed: vec![FailedToken {
            token_id: first.tokens[0].token_id,
            reason: "failure: already have user with this name".into(),
        }],
    });
    up(&f, 1, answer.clone()).await;
    up(&f, 2, answer).await;
    let p = s.batch_progress(req.batch_id).await.unwrap().unwrap();
    assert_eq!(p.on_router, 499);
    let t = s.token(first.tokens[1].token_id).await.unwrap().unwrap();
    assert_eq!(t.state, TokenState::Applied);
    // The whole third command refused.
    up(
        &f,
        3,
        UpMessage::CommandFailed(CommandFailed {
            command_id: out.commands[2].id,
            reason: "no such profile".into(),
            retryable: false,
        }),
    )
    .await;
    let open = s.open_commands("agent-1").await.unwrap();
    assert_eq!(open.len(), 1, "the second command is still open");
    let chains = s.verify_chains().await.unwrap();
    assert!(chains.iter().all(|c| c.first_bad_row.is_none()));
    assert_eq!(
        chains[0].rows - after[0].rows,
        499 + 1 + 200,
        "applied once each, the refused voucher and the refused command's vouchers"
    );

    // Revenue: the shift expects every voucher of the batch.
    let closed = s.close_shift(f.staff.id, 0, "staff").await.unwrap();
    let price = f.package.price_minor;
    assert_eq!(closed.expected_cash_minor, Some(1000 + 1200 * price));
}
