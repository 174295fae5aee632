//! After-sales made through mtm explain what the router shows; the same change made on the
//! router by hand is still tampering.

use super::*;
use serde_json::json;

fn findings(u: RouterUser, t: &IssuedToken) -> Vec<Finding> {
    inventory_findings(&inventory(vec![u], vec![]), std::slice::from_ref(t))
}

#[test]
fn an_extension_explains_the_old_and_the_new_limit_but_nothing_else() {
    let mut t = token(1, "ABCD2345");
    // Extended by 30 minutes; the router has not confirmed yet.
    t.limit_uptime_s = Some(HOUR + 1800);
    t.confirmed_limit_uptime_s = Some(HOUR);
    let mut before = user_for(&t);
    before.limit_uptime_s = Some(HOUR);
    assert!(findings(before, &t).is_empty(), "not applied yet");
    assert!(findings(user_for(&t), &t).is_empty(), "applied");
    // Confirmed: the old limit no longer explains anything, and a hand-made one never did.
    t.confirmed_limit_uptime_s = Some(HOUR + 1800);
    let mut back = user_for(&t);
    back.limit_uptime_s = Some(HOUR);
    let f = only(findings(back, &t));
    assert_eq!(f.kind, AlertKind::TamperedToken);
    let mut more = user_for(&t);
    more.limit_uptime_s = Some(24 * HOUR);
    let f = only(findings(more, &t));
    assert_eq!(
        f.evidence["differences"],
        json!([{ "field": "limit_uptime_s", "expected": HOUR + 1800, "found": 24 * HOUR }])
    );
}

#[test]
fn a_voided_or_disabled_voucher_is_explained_until_someone_enables_it_by_hand() {
    let mut voided = token(1, "ABCD2345");
    voided.state = TokenState::Removed;
    voided.ended_at = Some(NOW_MS - 3_600_000);
    let inv = inventory(vec![], vec![]);
    assert!(inventory_findings(&inv, std::slice::from_ref(&voided)).is_empty());
    assert!(
        check_missing(&router(), &inv, NOW_MS, std::slice::from_ref(&voided)).is_empty(),
        "a voided voucher gone from the router is not missing"
    );
    let mut disabled = token(2, "EFGH2345");
    disabled.state = TokenState::Disabled;
    disabled.ended_at = Some(NOW_MS - 3_600_000);
    let mut off = user_for(&disabled);
    off.disabled = true;
    assert!(findings(off, &disabled).is_empty());
    let f = only(findings(user_for(&disabled), &disabled));
    assert_eq!(
        f.evidence["differences"],
        json!([{ "field": "disabled", "expected": true, "found": false }])
    );
}
