//! Each router-side fraud the reconciliation looks for, performed the way a dishonest staff
//! member would, is caught with its evidence.

use super::*;
use serde_json::json;

fn hand_made(name: &str, comment: Option<&str>) -> RouterUser {
    RouterUser {
        router_id: "*F1".into(),
        name: name.into(),
        profile: Some("mtm-1d".into()),
        comment: comment.map(str::to_string),
        limit_uptime_s: Some(24 * HOUR),
        uptime_s: 400,
        ..RouterUser::default()
    }
}

#[test]
fn rogue_user_added_by_hand_without_a_comment() {
    let t = token(1, "ABCD2345");
    let inv = inventory(
        vec![user_for(&t), hand_made("FREEWIFI", None)],
        vec![session("FREEWIFI", 5), session("ABCD2345", 6)],
    );
    let f = only(inventory_findings(&inv, &[t]));
    assert_eq!(
        (f.kind, f.severity),
        (AlertKind::RogueToken, Severity::Critical)
    );
    assert_eq!(f.agent_id.as_deref(), Some(AGENT));
    assert_eq!(f.location_id, Some(location()));
    assert_eq!(f.token_id, None);
    assert_eq!(f.evidence["user"], "FREEWIFI");
    assert_eq!(f.evidence["reason"], "no_mtm_comment");
    assert_eq!(f.evidence["profile"], "mtm-1d");
    assert_eq!(f.evidence["limit_uptime_s"], 24 * HOUR);
    // Its live session joins the evidence.
    let sessions = f.evidence["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["mac_address"], "34:12:F9:8A:21:05");
    assert_eq!(f.dedup_key, format!("rogue_token:{AGENT}:FREEWIFI"));
}

#[test]
fn rogue_user_with_a_forged_or_unknown_comment() {
    let forged = hand_made("FORGED22", Some(&router_comment(Uuid::from_u128(0xdead))));
    let malformed = hand_made("BADCMT22", Some("mtm:not-a-uuid"));
    let findings = inventory_findings(&inventory(vec![forged, malformed], vec![]), &[]);
    let reasons: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| {
            (
                f.evidence["user"].as_str().unwrap(),
                f.evidence["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("FORGED22", "unknown_token"),
            ("BADCMT22", "malformed_mtm_comment")
        ]
    );
    assert!(findings.iter().all(|f| f.kind == AlertKind::RogueToken));
}

#[test]
fn rogue_user_copying_a_real_tokens_comment() {
    // A second user with a sold token's comment: the ledger's code does not match.
    let t = token(1, "ABCD2345");
    let mut copy = user_for(&t);
    copy.router_id = "*F2".into();
    copy.name = "COPY2345".into();
    let f = only(inventory_findings(
        &inventory(vec![user_for(&t), copy], vec![]),
        std::slice::from_ref(&t),
    ));
    assert_eq!(f.kind, AlertKind::RogueToken);
    assert_eq!(f.evidence["reason"], "code_mismatch");
    assert_eq!(f.evidence["user"], "COPY2345");
    assert_eq!(f.evidence["token_code"], "ABCD2345");
    assert_eq!(f.token_id, Some(t.token_id));
}

#[test]
fn rogue_copy_of_a_token_on_another_router() {
    let mut t = token(1, "ABCD2345");
    t.agent_id = OTHER_AGENT.into();
    let f = only(inventory_findings(
        &inventory(vec![user_for(&t)], vec![]),
        &[],
    ));
    assert_eq!(f.kind, AlertKind::RogueToken);
    // Not in the index: unknown. With the ledger's token loaded: another router's.
    assert_eq!(f.evidence["reason"], "unknown_token");
    let index = IssuedIndex::new([t.clone()]);
    let inv = inventory(vec![user_for(&t)], vec![]);
    let f = only(check_inventory(
        &router(),
        &inv,
        NOW_MS,
        &index,
        &ReconcileConfig::default(),
    ));
    assert_eq!(f.evidence["reason"], "token_for_another_router");
    assert_eq!(f.evidence["token_agent_id"], OTHER_AGENT);
}

#[test]
fn rogue_user_created_and_deleted_between_inventories_is_seen_in_sessions() {
    let inv = inventory(vec![], vec![session("GHOST234", 9)]);
    let f = only(inventory_findings(&inv, &[]));
    assert_eq!(f.kind, AlertKind::RogueToken);
    assert_eq!(f.evidence["reason"], "session_without_user");
    assert_eq!(f.evidence["sessions"][0]["address"], "10.5.50.9");
    assert_eq!(f.dedup_key, format!("rogue_token:{AGENT}:GHOST234"));
}

#[test]
fn trial_sessions_are_rogue_where_trial_is_not_allowed() {
    let inv = inventory(
        vec![],
        vec![
            session("T-34:12:F9:8A:21:0C", 12),
            session(DEFAULT_TRIAL_USER, 13),
        ],
    );
    let findings = inventory_findings(&inv, &[]);
    assert_eq!(findings.len(), 2);
    assert!(findings
        .iter()
        .all(|f| f.evidence["reason"] == "trial_session"));
}

#[test]
fn rogue_user_in_usage_has_the_same_dedup_key_as_in_inventory() {
    let u = Usage {
        username: "FREEWIFI".into(),
        uptime_s: 400,
        delta_uptime_s: 60,
        active: true,
        ..Usage::default()
    };
    let f = only(usage_findings(&report(vec![u]), &[]));
    assert_eq!(f.kind, AlertKind::RogueToken);
    assert_eq!(f.evidence["reason"], "no_mtm_comment");
    assert_eq!(f.evidence["uptime_s"], 400);
    let inv_f = only(inventory_findings(
        &inventory(vec![hand_made("FREEWIFI", None)], vec![]),
        &[],
    ));
    assert_eq!(f.dedup_key, inv_f.dedup_key);
}

fn tampered_one(t: &IssuedToken, edit: impl FnOnce(&mut RouterUser)) -> Finding {
    let mut u = user_for(t);
    edit(&mut u);
    let f = only(inventory_findings(
        &inventory(vec![u], vec![]),
        std::slice::from_ref(t),
    ));
    assert_eq!(f.kind, AlertKind::TamperedToken);
    assert_eq!(f.token_id, Some(t.token_id));
    assert_eq!(f.staff_id, Some(staff()));
    assert_eq!(f.shift_id, Some(shift()));
    assert_eq!(f.evidence["user"], t.code);
    f
}

#[test]
fn tampered_profile_bigger_package_than_paid_for() {
    let t = token(1, "ABCD2345");
    let f = tampered_one(&t, |u| u.profile = Some("mtm-1d".into()));
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        f.evidence["differences"],
        json!([{ "field": "profile", "expected": "mtm-1h", "found": "mtm-1d" }])
    );
}

#[test]
fn tampered_limits() {
    let t = token(1, "ABCD2345");
    let f = tampered_one(&t, |u| {
        u.limit_uptime_s = Some(24 * HOUR);
        u.limit_bytes_total = Some(5_000_000_000);
    });
    assert_eq!(
        f.evidence["differences"],
        json!([
            { "field": "limit_uptime_s", "expected": HOUR, "found": 24 * HOUR },
            { "field": "limit_bytes_total", "expected": null, "found": 5_000_000_000u64 },
        ])
    );
    assert_eq!(
        f.dedup_key,
        format!(
            "tampered_token:{}:limit_uptime_s,limit_bytes_total",
            t.token_id
        )
    );
}

#[test]
fn tampered_password_without_the_hash_in_the_evidence() {
    let t = token(1, "ABCD2345");
    let new_hash = password_sha256(Some("1234")).unwrap();
    let f = tampered_one(&t, |u| u.password_sha256 = Some(new_hash.clone()));
    assert_eq!(
        f.evidence["differences"],
        json!([{ "field": "password", "expected": "as issued", "found": "changed" }])
    );
    assert!(!f.evidence.to_string().contains(&new_hash));
    assert!(!f.dedup_key.contains(&new_hash));
}

#[test]
fn tampered_expired_token_enabled_again_for_resale() {
    let mut t = token(1, "ABCD2345");
    t.state = TokenState::Expired;
    t.expired_at = Some(NOW_MS - 3_600_000);
    let f = tampered_one(&t, |u| u.disabled = false);
    assert_eq!(
        f.evidence["differences"],
        json!([{ "field": "disabled", "expected": true, "found": false }])
    );
}

#[test]
fn tampered_comment_removed_from_a_sold_token() {
    let t = token(1, "ABCD2345");
    let f = tampered_one(&t, |u| u.comment = Some("vip".into()));
    assert_eq!(f.evidence["differences"][0]["field"], "comment");
    assert_eq!(f.evidence["differences"][0]["found"], "vip");
}

#[test]
fn tampered_user_deleted_and_recreated_by_hand() {
    let t = token(1, "ABCD2345");
    let f = tampered_one(&t, |u| u.router_id = "*2F".into());
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(
        f.evidence["differences"],
        json!([{ "field": "router_id", "expected": "*1", "found": "*2F" }])
    );
}

#[test]
fn a_sold_token_missing_from_the_router() {
    let t = token(1, "ABCD2345");
    let f = only(inventory_findings(
        &inventory(vec![], vec![]),
        std::slice::from_ref(&t),
    ));
    assert_eq!(
        (f.kind, f.severity),
        (AlertKind::TamperedToken, Severity::Warning)
    );
    assert_eq!(
        f.evidence["differences"],
        json!([{ "field": "present", "expected": true, "found": false }])
    );
}

#[test]
fn reused_counters_reset_on_the_router() {
    let mut t = token(1, "ABCD2345");
    t.used_uptime_s = 3000;
    let mut u = usage(&t, 0, 120);
    u.counters_reset = true;
    let f = only(usage_findings(&report(vec![u]), std::slice::from_ref(&t)));
    assert_eq!(
        (f.kind, f.severity),
        (AlertKind::ReusedToken, Severity::Critical)
    );
    assert_eq!(f.token_id, Some(t.token_id));
    assert_eq!(f.evidence["reason"], "counters_reset");
    assert_eq!(f.evidence["used_uptime_s_before"], 3000);
    assert_eq!(f.evidence["router_counters"]["uptime_s"], 120);
}

#[test]
fn reused_beyond_its_package_even_when_the_reset_was_not_flagged() {
    // The hour was used up, the counters were reset by hand, and a second customer used 10 min.
    let mut t = token(1, "ABCD2345");
    t.state = TokenState::UsedUp;
    t.used_uptime_s = HOUR;
    let f = only(usage_findings(
        &report(vec![usage(&t, 0, 600)]),
        std::slice::from_ref(&t),
    ));
    assert_eq!(f.kind, AlertKind::ReusedToken);
    assert_eq!(f.evidence["reason"], "beyond_package");
    assert_eq!(
        f.evidence["beyond"],
        json!([{ "field": "uptime_s", "limit": HOUR, "used": HOUR + 600, "tolerance": 120 }])
    );
    assert_eq!(
        f.dedup_key,
        format!("reused_token:{}:beyond_package", t.token_id)
    );
}

#[test]
fn reused_beyond_its_data_limit() {
    let mut t = token(1, "ABCD2345");
    t.limit_uptime_s = None;
    t.limit_bytes_total = Some(100_000_000);
    t.used_bytes = 99_000_000;
    let mut u = usage(&t, 0, 0);
    u.bytes_out = 5_000_000;
    u.delta_bytes_out = 5_000_000;
    let f = only(usage_findings(&report(vec![u]), &[t]));
    assert_eq!(f.evidence["beyond"][0]["field"], "bytes_total");
    assert_eq!(f.evidence["beyond"][0]["used"], 104_000_000u64);
    assert_eq!(f.evidence["beyond"][0]["tolerance"], 1_048_576);
}

#[test]
fn reused_after_it_expired() {
    let mut t = token(1, "ABCD2345");
    t.state = TokenState::Expired;
    t.expired_at = Some(MORNING_MS);
    t.used_uptime_s = 1200;
    let f = only(usage_findings(
        &report(vec![usage(&t, 1200, 2400)]),
        std::slice::from_ref(&t),
    ));
    assert_eq!(f.kind, AlertKind::ReusedToken);
    assert_eq!(f.evidence["reason"], "used_after_end");
    assert_eq!(f.evidence["token_state"], "expired");
    assert_eq!(f.evidence["router_counters"]["delta_uptime_s"], 1200);
}

#[test]
fn the_same_evidence_gives_the_same_dedup_keys() {
    let t = token(1, "ABCD2345");
    let mut u = user_for(&t);
    u.profile = Some("mtm-1d".into());
    let inv = inventory(
        vec![u, hand_made("FREEWIFI", None)],
        vec![session("GHOST234", 1)],
    );
    let keys = |f: Vec<Finding>| f.into_iter().map(|f| f.dedup_key).collect::<Vec<_>>();
    let first = keys(inventory_findings(&inv, std::slice::from_ref(&t)));
    assert_eq!(first.len(), 3);
    assert_eq!(first, keys(inventory_findings(&inv, &[t])));
}

#[test]
fn reused_after_its_validity_window_when_the_agent_did_not_expire_it() {
    let mut t = token(1, "ABCD2345");
    t.state = TokenState::InUse;
    t.validity_s = Some(HOUR);
    t.first_login_at = Some(NOW_MS - 3 * 3_600_000);
    t.used_uptime_s = 600;
    let f = only(usage_findings(
        &report(vec![usage(&t, 600, 1200)]),
        std::slice::from_ref(&t),
    ));
    assert_eq!(f.evidence["reason"], "beyond_validity");
    assert_eq!(f.evidence["deadline"], NOW_MS - 2 * 3_600_000);
    // Within the window, or a poll's worth past it, is normal.
    t.first_login_at = Some(NOW_MS - 3_600_000 - 60_000);
    assert_eq!(
        usage_findings(&report(vec![usage(&t, 600, 1200)]), &[t]),
        vec![]
    );
}

#[test]
fn a_user_only_the_router_log_remembers_is_rogue() {
    let tokens = vec![token(1, "ABCD2345")];
    let users: Vec<RouterUser> = tokens.iter().map(user_for).collect();
    let line = |user: &str| mtm_common::LoggedLogin {
        user: user.into(),
        address: Some("10.5.50.12".into()),
        event: "logged in".into(),
        router_time: "12:00:00".into(),
    };
    let mut inv = inventory(users, vec![]);
    // Sessions of the sold voucher are normal.
    inv.logins = vec![line("ABCD2345"), line("ABCD2345")];
    assert_eq!(inventory_findings(&inv, &tokens), vec![]);
    inv.logins.push(line("CASH1234"));
    inv.logins.push(line("CASH1234"));
    let f = only(inventory_findings(&inv, &tokens));
    assert_eq!(f.kind, AlertKind::RogueToken);
    assert_eq!(f.evidence["reason"], "seen_in_router_log");
    assert_eq!(f.evidence["log"].as_array().map(Vec::len), Some(2));
    assert_eq!(f.dedup_key, format!("rogue_token:{AGENT}:CASH1234"));
}
