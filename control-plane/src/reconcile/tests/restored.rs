//! A database restored from an older backup: the routers carry vouchers it no longer knows.
//! Those the agent vouches for are the database's loss, never a rogue user against the staff.

use super::*;
use mtm_common::{IssuedHere, LoggedLogin};

fn vouched_for(t: &IssuedToken) -> IssuedHere {
    IssuedHere {
        token_id: t.token_id,
        code: t.code.clone(),
        issued_at: NOW_MS - 3_600_000,
    }
}

fn is_loss(f: &Finding, code: &str) -> bool {
    f.kind == AlertKind::WitnessMismatch
        && f.severity == Severity::Critical
        && f.staff_id.is_none()
        && f.evidence["code"] == code
}

#[test]
fn a_voucher_the_agent_made_but_the_ledger_lacks_is_the_databases_loss() {
    let t = token(1, "LOST2345");
    // The ledger does not know it: restored from a backup older than the sale.
    let mut inv = inventory(vec![user_for(&t)], vec![session(&t.code, 3)]);
    assert_eq!(
        only(inventory_findings(&inv, &[])).kind,
        AlertKind::RogueToken,
        "without the agent's word it is rogue"
    );
    inv.issued_here = vec![vouched_for(&t)];
    let f = only(inventory_findings(&inv, &[]));
    assert!(is_loss(&f, "LOST2345"), "{f:?}");
    assert_eq!(f.router_id, router().router_id);

    let mut r = report(vec![usage(&t, 0, 600)]);
    assert_eq!(only(usage_findings(&r, &[])).kind, AlertKind::RogueToken);
    r.issued_here = vec![vouched_for(&t)];
    let g = only(usage_findings(&r, &[]));
    assert!(is_loss(&g, "LOST2345"), "{g:?}");
    // Inventory and usage raise one alert per router and day of issue, not one each.
    assert_eq!(f.dedup_key, g.dedup_key);
}

#[test]
fn a_removed_voucher_in_the_router_log_is_the_databases_loss_too() {
    let t = token(2, "GONE2345");
    let mut inv = inventory(vec![], vec![]);
    inv.logins = vec![LoggedLogin {
        user: t.code.clone(),
        event: "logged in".into(),
        ..Default::default()
    }];
    assert_eq!(
        only(inventory_findings(&inv, &[])).kind,
        AlertKind::RogueToken
    );
    inv.issued_here = vec![vouched_for(&t)];
    assert!(is_loss(&only(inventory_findings(&inv, &[])), "GONE2345"));
}

#[test]
fn the_agents_word_covers_only_the_voucher_it_names() {
    let t = token(3, "REAL2345");
    let forged = token(4, "FAKE2345");
    // A user claiming the vouched token id under another name stays rogue.
    let mut copy = user_for(&forged);
    copy.comment = Some(mtm_common::router_comment(t.token_id));
    let mut inv = inventory(vec![copy], vec![]);
    inv.issued_here = vec![vouched_for(&t)];
    let f = only(inventory_findings(&inv, &[]));
    assert_eq!(f.kind, AlertKind::RogueToken);
    assert_eq!(f.evidence["reason"], "unknown_token");
}
