//! Tests of the reconciliation rules: a normal day raises nothing; each fraud the
//! reconciliation looks for is caught with its evidence.

mod aftersales;
mod daily;
mod frauds;
mod mac_lock;
mod normal;
mod restored;
mod till;
mod zones;

use super::*;
use mtm_common::{
    profile_name, router_comment, ActiveSession, Inventory, RouterUser, Usage, UsageReport,
};
use uuid::Uuid;

pub(super) const AGENT: &str = "cafe-a-r1";
pub(super) const OTHER_AGENT: &str = "cafe-b-r1";
pub(super) const HOUR: u64 = 3600;
/// 2026-11-25 09:00 UTC (10:00 at the cafe, UTC+01:00).
pub(super) const MORNING_MS: i64 = 1_795_597_200_000;
/// When the inventories and usage reports of the tests were taken: four hours later.
pub(super) const NOW_MS: i64 = MORNING_MS + 4 * 3_600_000;

pub(super) fn location() -> Uuid {
    Uuid::from_u128(0x10)
}

pub(super) fn staff() -> Uuid {
    Uuid::from_u128(0x20)
}

pub(super) fn shift() -> Uuid {
    Uuid::from_u128(0x30)
}

pub(super) fn router() -> RouterRef {
    RouterRef {
        agent_id: AGENT.to_string(),
        router_id: Some(Uuid::from_u128(0x40)),
        location_id: Some(location()),
    }
}

/// A one-hour token, applied on the router as `*{n}`, with password `pw{n}`.
pub(super) fn token(n: u128, code: &str) -> IssuedToken {
    let mut t = IssuedToken::new(Uuid::from_u128(0x1000 + n), code, "1h", AGENT);
    t.limit_uptime_s = Some(HOUR);
    t.password_sha256 = password_sha256(Some(&format!("pw{n}")));
    t.state = TokenState::Applied;
    t.issued_at = MORNING_MS + i64::try_from(n).unwrap() * 60_000;
    t.applied_at = Some(t.issued_at + 2_000);
    t.staff_id = Some(staff());
    t.shift_id = Some(shift());
    t.location_id = Some(location());
    t.router_user_id = Some(format!("*{n}"));
    t.price_minor = 500;
    t.currency = "NGN".to_string();
    t
}

/// The hotspot user the agent makes for a token: exactly what was issued.
pub(super) fn user_for(t: &IssuedToken) -> RouterUser {
    RouterUser {
        router_id: t
            .router_user_id
            .clone()
            .unwrap_or_else(|| "*99".to_string()),
        name: t.code.clone(),
        profile: Some(profile_name(&t.package_slug)),
        comment: Some(router_comment(t.token_id)),
        limit_uptime_s: t.limit_uptime_s,
        limit_bytes_total: t.limit_bytes_total,
        password_sha256: t.password_sha256.clone(),
        ..RouterUser::default()
    }
}

pub(super) fn session(user: &str, n: u32) -> ActiveSession {
    ActiveSession {
        router_id: format!("*A{n}"),
        user: user.to_string(),
        address: Some(format!("10.5.50.{n}")),
        mac_address: Some(format!("34:12:F9:8A:21:{n:02X}")),
        uptime_s: 300,
        bytes_in: 1_000,
        bytes_out: 9_000,
    }
}

/// A usage entry for a token whose router counters went from `before` to `now` seconds.
pub(super) fn usage(t: &IssuedToken, before: u64, now: u64) -> Usage {
    Usage {
        token_id: Some(t.token_id),
        username: t.code.clone(),
        active: true,
        first_login_at: Some(t.issued_at + 60_000),
        uptime_s: now,
        bytes_in: now * 10,
        bytes_out: now * 100,
        delta_uptime_s: now - before,
        delta_bytes_in: (now - before) * 10,
        delta_bytes_out: (now - before) * 100,
        counters_reset: false,
    }
}

pub(super) fn report(entries: Vec<Usage>) -> UsageReport {
    UsageReport {
        entries,
        issued_here: Vec::new(),
    }
}

pub(super) fn inventory(users: Vec<RouterUser>, sessions: Vec<ActiveSession>) -> Inventory {
    Inventory {
        users,
        sessions,
        logins: vec![],
        issued_here: Vec::new(),
    }
}

/// Run both router-side checks the control plane runs on an inventory.
pub(super) fn inventory_findings(inv: &Inventory, tokens: &[IssuedToken]) -> Vec<Finding> {
    let index = IssuedIndex::new(tokens.iter().cloned());
    let mut f = check_inventory(&router(), inv, NOW_MS, &index, &ReconcileConfig::default());
    f.extend(check_missing(&router(), inv, NOW_MS, tokens));
    f
}

pub(super) fn usage_findings(r: &UsageReport, tokens: &[IssuedToken]) -> Vec<Finding> {
    let index = IssuedIndex::new(tokens.iter().cloned());
    check_usage(&router(), r, NOW_MS, &index, &ReconcileConfig::default())
}

/// The only finding, or a panic that shows them all.
pub(super) fn only(findings: Vec<Finding>) -> Finding {
    assert_eq!(findings.len(), 1, "expected one finding, got {findings:#?}");
    findings.into_iter().next().unwrap()
}
