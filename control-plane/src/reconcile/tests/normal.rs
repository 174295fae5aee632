//! What happens on a normal day must raise nothing.

use super::*;

fn day_tokens() -> Vec<IssuedToken> {
    vec![
        token(1, "ABCD2345"),
        token(2, "EFGH6789"),
        token(3, "JKMN2345"),
    ]
}

#[test]
fn a_normal_day_raises_nothing() {
    let mut tokens = day_tokens();
    // Customer on token 1 is online now; token 2 is used up (router disabled nothing: the
    // limit stops logins); token 3 was sold but not used yet.
    tokens[0].state = TokenState::InUse;
    tokens[1].state = TokenState::UsedUp;
    let mut users: Vec<RouterUser> = tokens.iter().map(user_for).collect();
    users[0].uptime_s = 1200;
    users[1].uptime_s = HOUR;
    let inv = inventory(users, vec![session("ABCD2345", 10)]);
    assert_eq!(inventory_findings(&inv, &tokens), vec![]);

    // Token 1 used 20 minutes so far; token 2 hit its hour, overshooting by one poll.
    tokens[0].used_uptime_s = 600;
    tokens[1].used_uptime_s = HOUR - 60;
    let r = report(vec![
        usage(&tokens[0], 600, 1200),
        usage(&tokens[1], HOUR - 60, HOUR + 50),
    ]);
    assert_eq!(usage_findings(&r, &tokens), vec![]);

    let close = ShiftClose {
        shift_id: shift(),
        staff_id: staff(),
        location_id: location(),
        opened_at: MORNING_MS,
        closed_at: MORNING_MS + 8 * 3_600_000,
        opening_float_minor: 2_000,
        expected_revenue_minor: 1_500,
        tokens_sold: 3,
        declared_cash_minor: 3_500,
        threshold_minor: 100,
        currency: "NGN".into(),
        closed_by: None,
    };
    let out = check_shift_close(&close);
    assert_eq!(out.finding, None);
    assert_eq!(
        (
            out.expected_cash_minor,
            out.variance_minor,
            out.confirmed_revenue_minor
        ),
        (3_500, 0, 1_500)
    );

    let attempt = DispenseAttempt {
        staff_id: staff(),
        location_id: location(),
        at: MORNING_MS,
        package_slug: "1h".into(),
        open_shift: Some(OpenShift {
            shift_id: shift(),
            location_id: location(),
        }),
        staff_location_ids: vec![location()],
    };
    assert_eq!(check_dispense(&attempt), Ok(shift()));

    assert_eq!(
        check_router_silent(
            &router(),
            MORNING_MS + 60_000,
            Some(MORNING_MS),
            300_000,
            true
        ),
        None
    );
}

#[test]
fn counters_that_stay_equal_between_polls_raise_nothing() {
    let mut t = token(1, "ABCD2345");
    t.state = TokenState::InUse;
    t.used_uptime_s = 900;
    t.used_bytes = 900 * 110;
    let mut u = usage(&t, 900, 900);
    u.active = false;
    assert_eq!(usage_findings(&report(vec![u]), &[t]), vec![]);
}

#[test]
fn a_token_whose_token_applied_is_in_flight_is_not_rogue() {
    // The ledger stores the token before queuing CreateToken, so the comment names a known id
    // even while the agent's TokenApplied has not arrived.
    let mut t = token(1, "ABCD2345");
    t.state = TokenState::Issued;
    t.applied_at = None;
    t.router_user_id = None;
    let mut user = user_for(&t);
    user.router_id = "*7".into();
    let inv = inventory(vec![user], vec![session("ABCD2345", 3)]);
    assert_eq!(inventory_findings(&inv, std::slice::from_ref(&t)), vec![]);
    assert_eq!(
        usage_findings(&report(vec![usage(&t, 0, 60)]), &[t]),
        vec![]
    );
}

#[test]
fn a_token_in_use_before_its_confirmation_arrived_is_not_missing_from_an_older_inventory() {
    // The agent made the user while its disk was full: its TokenApplied waits for the command
    // to be repeated, and a usage report moved the token to `in_use` first. An inventory taken
    // before the first login, checked after that report, says nothing about the user.
    let mut t = token(1, "ABCD2345");
    t.state = TokenState::InUse;
    t.applied_at = None;
    t.router_user_id = None;
    t.first_login_at = Some(NOW_MS + 4_000);
    let empty = inventory(vec![], vec![]);
    assert_eq!(inventory_findings(&empty, std::slice::from_ref(&t)), vec![]);
    // Used before the inventory was taken and gone from it: deleted, and still caught.
    t.first_login_at = Some(NOW_MS - 60_000);
    let f = only(inventory_findings(&empty, std::slice::from_ref(&t)));
    assert_eq!(f.kind, AlertKind::TamperedToken);
    assert_eq!(
        f.evidence["differences"],
        serde_json::json!([{ "field": "present", "expected": true, "found": false }])
    );
}

#[test]
fn an_issued_token_not_yet_on_the_router_is_not_missing() {
    let mut t = token(1, "ABCD2345");
    t.state = TokenState::Issued;
    let removed = {
        let mut r = token(2, "EFGH6789");
        r.state = TokenState::Removed;
        r
    };
    assert_eq!(
        inventory_findings(&inventory(vec![], vec![]), &[t, removed]),
        vec![]
    );
}

#[test]
fn the_built_in_default_trial_user_is_not_rogue() {
    let trial = RouterUser {
        router_id: "*0".into(),
        name: DEFAULT_TRIAL_USER.into(),
        profile: Some("default".into()),
        ..RouterUser::default()
    };
    assert_eq!(
        inventory_findings(&inventory(vec![trial.clone()], vec![]), &[]),
        vec![]
    );
    let u = Usage {
        username: DEFAULT_TRIAL_USER.into(),
        ..Usage::default()
    };
    assert_eq!(usage_findings(&report(vec![u]), &[]), vec![]);

    // Where a location allows trial logins, their sessions are normal too.
    let config = ReconcileConfig {
        allow_trial_sessions: true,
        ..ReconcileConfig::default()
    };
    let inv = inventory(vec![trial], vec![session("T-34:12:F9:8A:21:0C", 12)]);
    assert_eq!(
        check_inventory(&router(), &inv, NOW_MS, &IssuedIndex::default(), &config),
        vec![]
    );
}

#[test]
fn a_session_of_a_token_removed_between_inventories_is_not_rogue() {
    let mut t = token(1, "ABCD2345");
    t.state = TokenState::Removed;
    let inv = inventory(vec![], vec![session("ABCD2345", 4)]);
    assert_eq!(inventory_findings(&inv, &[t]), vec![]);
}

#[test]
fn router_normalisations_are_not_tampering() {
    // No password: the agent may send nothing or the hash of "". Unlimited bytes: 0 or absent.
    let mut t = token(1, "ABCD2345");
    t.password_sha256 = None;
    t.limit_bytes_total = None;
    let mut u = user_for(&t);
    u.password_sha256 =
        Some("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855".into());
    u.limit_bytes_total = Some(0);
    assert_eq!(
        inventory_findings(
            &inventory(vec![u.clone()], vec![]),
            std::slice::from_ref(&t)
        ),
        vec![]
    );
    // An agent that cannot read passwords reports none: nothing to compare, nothing raised.
    let t2 = token(2, "EFGH6789");
    let mut u2 = user_for(&t2);
    u2.password_sha256 = None;
    assert_eq!(
        inventory_findings(&inventory(vec![u, u2], vec![]), &[t, t2]),
        vec![]
    );
}

#[test]
fn an_expired_token_disabled_by_the_agent_is_fine() {
    let mut t = token(1, "ABCD2345");
    t.state = TokenState::Expired;
    t.expired_at = Some(NOW_MS - 3_600_000);
    t.used_uptime_s = 1800;
    let mut u = user_for(&t);
    u.disabled = true;
    assert_eq!(
        inventory_findings(&inventory(vec![u], vec![]), std::slice::from_ref(&t)),
        vec![]
    );
    // A poll's worth of uptime after the end is the router's reaction time, not reuse.
    assert_eq!(
        usage_findings(&report(vec![usage(&t, 1800, 1860)]), &[t]),
        vec![]
    );
}

#[test]
fn observations_taken_before_the_ledger_caught_up_raise_nothing() {
    // The control plane may apply a batch [Inventory, Usage, TokenExpired, TokenApplied] before
    // checking it: what the router showed before the expiry or the add is no evidence.
    let mut expired = token(1, "ABCD2345");
    expired.state = TokenState::Expired;
    expired.expired_at = Some(NOW_MS - 30_000);
    let mut late = token(2, "EFGH6789");
    late.applied_at = Some(NOW_MS + 5_000);
    let inv = inventory(vec![user_for(&expired)], vec![session("ABCD2345", 1)]);
    assert_eq!(inventory_findings(&inv, &[expired.clone(), late]), vec![]);
    // The report covering the minutes before the disable, taken just after it.
    let r = report(vec![usage(&expired, 0, 1800)]);
    assert_eq!(usage_findings(&r, std::slice::from_ref(&expired)), vec![]);
    // A disabled token whose end time the store did not record: nothing to judge by.
    let mut disabled = token(3, "JKMN2345");
    disabled.state = TokenState::Disabled;
    let inv = inventory(vec![user_for(&disabled)], vec![]);
    assert_eq!(
        inventory_findings(&inv, std::slice::from_ref(&disabled)),
        vec![]
    );
    assert_eq!(
        usage_findings(&report(vec![usage(&disabled, 0, 900)]), &[disabled]),
        vec![]
    );
}

#[test]
fn cash_within_the_threshold_and_quiet_routers_without_shifts_raise_nothing() {
    let close = ShiftClose {
        shift_id: shift(),
        staff_id: staff(),
        location_id: location(),
        opened_at: 0,
        closed_at: 1,
        opening_float_minor: 1_000,
        expected_revenue_minor: 5_000,
        tokens_sold: 10,
        declared_cash_minor: 5_950,
        threshold_minor: 50,
        currency: "NGN".into(),
        closed_by: None,
    };
    assert_eq!(check_shift_close(&close).finding, None);
    assert_eq!(
        check_router_silent(&router(), MORNING_MS, Some(0), 300_000, false),
        None
    );
    assert_eq!(
        check_router_silent(&router(), MORNING_MS, None, 300_000, false),
        None
    );
}
