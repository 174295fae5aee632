//! Store suite case for vouchers' usage totals, run against every backend by `store_suite!`:
//! the running total kept on the voucher row is what summing its usage rows gives.

use crate::store::suite::item;
use crate::store::*;
use crate::testutil::{fixture, TestDb};
use mtm_common::{UpMessage, Usage, UsageReport};
use rstest::rstest;

/// A usage report of `token` alone, its counters and deltas alike.
pub(crate) fn usage(
    token: &Token,
    uptime: u64,
    bytes_in: u64,
    bytes_out: u64,
    reset: bool,
) -> UpMessage {
    UpMessage::Usage(UsageReport {
        entries: vec![Usage {
            token_id: Some(token.id),
            username: token.code.clone(),
            active: true,
            uptime_s: uptime,
            delta_uptime_s: uptime,
            delta_bytes_in: bytes_in,
            delta_bytes_out: bytes_out,
            counters_reset: reset,
            ..Default::default()
        }],
        issued_here: Vec::new(),
    })
}

/// Deltas count whatever order the reports arrive in, after a counter reset, and from a router
/// that does not carry the voucher (its rows are stored, so they count), never twice for a
/// replay; what the checks read is the running total.
#[rstest]
#[tokio::test]
async fn a_vouchers_usage_total_is_the_sum_of_its_rows(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let (t, _) = f.issue().await;
    let key = mtm_common::keys::generate_signing_key();
    s.create_router(NewRouter {
        location_id: f.location.id,
        name: "other".into(),
        agent_id: "agent-2".into(),
        public_key_hex: mtm_common::keys::public_key_hex(&key.verifying_key()),
        mqtt_password: "other-password".into(),
    })
    .await
    .unwrap();

    s.apply_up("agent-1", &[item(1, usage(&t, 60, 100, 200, false))], 10)
        .await
        .unwrap();
    s.apply_up("agent-1", &[item(3, usage(&t, 30, 10, 20, true))], 20)
        .await
        .unwrap();
    // Seq 2 arrives late, and seq 3 again.
    s.apply_up(
        "agent-1",
        &[
            item(2, usage(&t, 15, 1, 2, false)),
            item(3, usage(&t, 30, 10, 20, true)),
        ],
        30,
    )
    .await
    .unwrap();
    s.apply_up("agent-2", &[item(1, usage(&t, 5, 7, 8, false))], 40)
        .await
        .unwrap();

    let on_router = s.issued_tokens(f.router.id, &[t.id], &[]).await.unwrap();
    let mine = on_router.iter().find(|x| x.token_id == t.id).unwrap();
    assert_eq!(
        (mine.used_uptime_s, mine.used_bytes),
        (60 + 30 + 15 + 5, 300 + 30 + 3 + 15)
    );
}
