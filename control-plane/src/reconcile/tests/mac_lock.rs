//! Lock to first device: the MAC mtm bound a voucher to must stay on the router; mtm's own
//! binding, seen before its report arrives, is never a finding.

use super::*;
use serde_json::json;

const BOUND: &str = "34:12:F9:8A:21:0A";

fn locked(bound_at: Option<i64>) -> IssuedToken {
    let mut t = token(1, "ABCD2345");
    t.lock_to_mac = true;
    t.bound_mac = bound_at.map(|_| BOUND.to_string());
    t.mac_bound_at = bound_at;
    t
}

fn with_mac(t: &IssuedToken, mac: Option<&str>) -> RouterUser {
    RouterUser {
        mac_address: mac.map(str::to_string),
        ..user_for(t)
    }
}

fn findings(u: RouterUser, t: &IssuedToken) -> Vec<Finding> {
    inventory_findings(&inventory(vec![u], vec![]), std::slice::from_ref(t))
}

#[test]
fn the_bound_mac_on_the_router_is_fine() {
    let t = locked(Some(NOW_MS - 60_000));
    assert!(findings(with_mac(&t, Some(BOUND)), &t).is_empty());
}

#[test]
fn a_bound_voucher_moved_to_another_device_is_tampering() {
    let t = locked(Some(NOW_MS - 60_000));
    let f = only(findings(with_mac(&t, Some("34:12:F9:8A:21:0B")), &t));
    assert_eq!(f.kind, AlertKind::TamperedToken);
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.token_id, Some(t.token_id));
    assert_eq!(f.evidence["user"], "ABCD2345");
    assert_eq!(
        f.evidence["differences"],
        json!([{ "field": "mac_address", "expected": BOUND, "found": "34:12:F9:8A:21:0B" }])
    );
    assert_eq!(
        f.dedup_key,
        format!("tampered_token:{}:mac_address", t.token_id)
    );
}

#[test]
fn a_bound_voucher_whose_mac_was_cleared_is_tampering() {
    let t = locked(Some(NOW_MS - 60_000));
    let f = only(findings(with_mac(&t, None), &t));
    assert_eq!(
        f.evidence["differences"],
        json!([{ "field": "mac_address", "expected": BOUND, "found": null }])
    );
}

#[test]
fn an_inventory_taken_before_the_binding_was_reported_accuses_nobody() {
    // Reported in the same millisecond or after the inventory: the router may not show it.
    for at in [NOW_MS, NOW_MS + 1] {
        let t = locked(Some(at));
        assert!(findings(with_mac(&t, None), &t).is_empty());
    }
}

#[test]
fn a_mac_on_a_voucher_not_bound_yet_or_not_locked_is_no_finding() {
    // The agent's binding on its way to the server.
    let t = locked(None);
    assert!(findings(with_mac(&t, Some(BOUND)), &t).is_empty());
    // A package without the lock: mtm expects no MAC and accuses nobody for one.
    let open = token(2, "OPEN2345");
    assert!(findings(with_mac(&open, Some(BOUND)), &open).is_empty());
}
