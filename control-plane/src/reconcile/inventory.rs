//! Checks on an agent's `Inventory`: rogue users and sessions, tampered and missing tokens.

use super::tokens::is_empty_password_hash;
use super::{
    lost, AlertKind, Finding, IssuedToken, ReconcileConfig, RouterRef, Severity, TokenLookup,
    TokenState,
};
use mtm_common::{
    profile_name, token_id_from_comment, ActiveSession, Inventory, IssuedHere, LoggedLogin,
    RouterUser,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

/// What to load from the store before [`check_inventory`]: the token ids the users' `mtm:`
/// comments name and every user and session name (a name may be an issued code whose comment
/// was removed, or whose user was deleted between inventories).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryKeys {
    /// Token ids from well-formed `mtm:` comments, sorted, without repeats.
    pub token_ids: Vec<Uuid>,
    /// Hotspot user names and session user names, sorted, without repeats.
    pub codes: Vec<String>,
}

impl InventoryKeys {
    /// The keys an inventory refers to.
    pub fn of(inventory: &Inventory) -> InventoryKeys {
        let mut token_ids: Vec<Uuid> = inventory
            .users
            .iter()
            .filter_map(|u| u.comment.as_deref().and_then(token_id_from_comment))
            .collect();
        token_ids.sort();
        token_ids.dedup();
        let mut codes: Vec<String> = inventory
            .users
            .iter()
            .map(|u| u.name.clone())
            .chain(inventory.sessions.iter().map(|s| s.user.clone()))
            .chain(inventory.logins.iter().map(|l| l.user.clone()))
            .collect();
        codes.sort();
        codes.dedup();
        InventoryKeys { token_ids, codes }
    }
}

/// Every rogue and tampered token an inventory shows.
///
/// Call it for each `Inventory` an agent sends, with `taken_at` the envelope's `at` (the agent's
/// clock, which also stamps `applied_at` and `expired_at`) and `issued` holding at least the
/// tokens [`InventoryKeys::of`] names. Users and sessions that are fine produce nothing.
pub fn check_inventory(
    router: &RouterRef,
    inventory: &Inventory,
    taken_at: i64,
    issued: &dyn TokenLookup,
    config: &ReconcileConfig,
) -> Vec<Finding> {
    let obs = Observation {
        router,
        taken_at,
        config,
    };
    let mut findings = Vec::new();
    // Rogue findings by user name, so sessions of a rogue user join its evidence.
    let mut rogue_by_name: BTreeMap<String, usize> = BTreeMap::new();
    let mut names: HashSet<&str> = HashSet::new();

    for user in &inventory.users {
        names.insert(user.name.as_str());
        if let Some(f) = check_user(&obs, user, issued, &inventory.issued_here) {
            if f.kind == AlertKind::RogueToken {
                rogue_by_name.insert(user.name.clone(), findings.len());
            }
            findings.push(f);
        }
    }

    for session in &inventory.sessions {
        if let Some(&i) = rogue_by_name.get(&session.user) {
            if let Some(list) = findings[i].evidence["sessions"].as_array_mut() {
                list.push(session_json(session));
            }
            continue;
        }
        let builtin = config.builtin_users.iter().any(|b| b == &session.user);
        let trial = builtin || is_trial_session(&session.user);
        if trial {
            if !config.allow_trial_sessions {
                let f = rogue_session(router, session, "trial_session");
                rogue_by_name.insert(session.user.clone(), findings.len());
                findings.push(f);
            }
            continue;
        }
        if names.contains(session.user.as_str()) {
            continue;
        }
        // A user created and deleted between two inventories leaves only its session behind.
        // A known code is a token whose user the agent removed (or will add): not rogue.
        if issued.by_code(&router.agent_id, &session.user).is_none() {
            if let Some(i) = lost::vouched(&inventory.issued_here, None, &session.user) {
                findings.push(lost::lost_from_ledger(router, i, "session"));
                continue;
            }
            let f = rogue_session(router, session, "session_without_user");
            rogue_by_name.insert(session.user.clone(), findings.len());
            findings.push(f);
        }
    }

    // The router's log remembers sessions of users the inventory no longer shows: one made,
    // used and removed between two inventories, or while the agent was down.
    for login in &inventory.logins {
        if let Some(&i) = rogue_by_name.get(&login.user) {
            if let Some(list) = findings[i].evidence["log"].as_array_mut() {
                list.push(login_json(login));
            }
            continue;
        }
        let builtin = config.builtin_users.iter().any(|b| b == &login.user);
        let trial = builtin || is_trial_session(&login.user);
        let explained = if trial {
            config.allow_trial_sessions
        } else {
            names.contains(login.user.as_str())
                || issued.by_code(&router.agent_id, &login.user).is_some()
        };
        if explained {
            continue;
        }
        if let Some(i) = lost::vouched(&inventory.issued_here, None, &login.user) {
            findings.push(lost::lost_from_ledger(router, i, "router_log"));
            continue;
        }
        let reason = if trial {
            "trial_session"
        } else {
            "seen_in_router_log"
        };
        let f = rogue_logged(router, login, reason);
        rogue_by_name.insert(login.user.clone(), findings.len());
        findings.push(f);
    }
    findings
}

/// Tokens the ledger says this router carries but its inventory does not show.
///
/// `expected` are the tokens issued for this router whose user must exist now (states
/// `applied`, `in_use`, `used_up`, `expired`, `disabled`; others are skipped, so passing more
/// is harmless). A token whose `RemoveToken` is queued must be passed as `removed`. Tokens
/// first known on the router after `taken_at` (the inventory envelope's `at`) are skipped: the
/// inventory may have been taken before their user existed. A token is known there from its
/// `TokenApplied`, or, when that has not arrived (the agent's disk was full when it made the
/// user, so it repeats the command later), from its first login or its end as the router
/// reported them; a token with none of these is not judged by this inventory.
pub fn check_missing(
    router: &RouterRef,
    inventory: &Inventory,
    taken_at: i64,
    expected: &[IssuedToken],
) -> Vec<Finding> {
    let ids: HashSet<Uuid> = inventory
        .users
        .iter()
        .filter_map(|u| u.comment.as_deref().and_then(token_id_from_comment))
        .collect();
    let names: HashSet<&str> = inventory.users.iter().map(|u| u.name.as_str()).collect();
    expected
        .iter()
        .filter(|t| t.agent_id == router.agent_id)
        .filter(|t| !matches!(t.state, TokenState::Issued | TokenState::Removed))
        .filter(|t| known_on_router_at(t).is_some_and(|at| at <= taken_at))
        .filter(|t| !ids.contains(&t.token_id) && !names.contains(t.code.as_str()))
        .map(|t| {
            let diff = vec![difference("present", json!(true), json!(false))];
            tampered(router, t, diff, Severity::Warning, None)
        })
        .collect()
}

/// When the ledger first knew `t`'s user to be on its router, on the agent's clock like an
/// inventory's `taken_at`: its confirmation, else the earliest use or end the router reported.
fn known_on_router_at(t: &IssuedToken) -> Option<i64> {
    t.applied_at.or_else(|| {
        [t.first_login_at, t.used_up_at, t.expired_at]
            .into_iter()
            .flatten()
            .min()
    })
}

/// True for the user names RouterOS gives trial logins: `T-` and the client's MAC address.
fn is_trial_session(user: &str) -> bool {
    user.strip_prefix("T-").is_some_and(|mac| {
        mac.len() == 17
            && mac
                .split(':')
                .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
    })
}

/// One inventory being checked.
struct Observation<'a> {
    router: &'a RouterRef,
    taken_at: i64,
    config: &'a ReconcileConfig,
}

fn check_user(
    obs: &Observation<'_>,
    user: &RouterUser,
    issued: &dyn TokenLookup,
    vouched: &[IssuedHere],
) -> Option<Finding> {
    let (router, config) = (obs.router, obs.config);
    let claimed = user.comment.as_deref().and_then(token_id_from_comment);
    let Some(token_id) = claimed else {
        if config.builtin_users.iter().any(|b| b == &user.name) {
            return None;
        }
        // A sold token whose comment was edited away is still that token: tampered, not rogue.
        if let Some(t) = issued.by_code(&router.agent_id, &user.name) {
            let diff = vec![difference(
                "comment",
                json!(mtm_common::router_comment(t.token_id)),
                json!(user.comment),
            )];
            return Some(tampered(router, t, diff, Severity::Critical, Some(user)));
        }
        if let Some(i) = lost::vouched(vouched, None, &user.name) {
            return Some(lost::lost_from_ledger(router, i, "inventory"));
        }
        let reason = match user.comment.as_deref() {
            Some(c) if c.starts_with(mtm_common::COMMENT_PREFIX) => "malformed_mtm_comment",
            _ => "no_mtm_comment",
        };
        return Some(rogue_user(router, user, reason, None));
    };
    let Some(token) = issued.by_id(token_id) else {
        if let Some(i) = lost::vouched(vouched, Some(token_id), &user.name) {
            return Some(lost::lost_from_ledger(router, i, "inventory"));
        }
        return Some(rogue_user(router, user, "unknown_token", None));
    };
    if token.agent_id != router.agent_id {
        let mut f = rogue_user(router, user, "token_for_another_router", Some(token));
        f.evidence["token_agent_id"] = json!(token.agent_id);
        return Some(f);
    }
    if token.code != user.name {
        let mut f = rogue_user(router, user, "code_mismatch", Some(token));
        f.evidence["token_code"] = json!(token.code);
        return Some(f);
    }
    let diff = differences(obs, token, user);
    if diff.is_empty() {
        return None;
    }
    // A recreated user is only suspicious by itself; changed limits or profile mean money.
    let severity = if diff.iter().all(|d| d["field"] == "router_id") {
        Severity::Warning
    } else {
        Severity::Critical
    };
    Some(tampered(router, token, diff, severity, Some(user)))
}

/// What on the router differs from what the ledger issued, as `{field, expected, found}`.
fn differences(obs: &Observation<'_>, token: &IssuedToken, user: &RouterUser) -> Vec<Value> {
    let mut diff = Vec::new();
    let profile = profile_name(&token.package_slug);
    if user.profile.as_deref() != Some(profile.as_str()) {
        diff.push(difference("profile", json!(profile), json!(user.profile)));
    }
    let unlimited_zero = |v: Option<u64>| v.filter(|&n| n != 0);
    // An extension made through mtm explains the router showing either the limit it last
    // confirmed or the new one; any other value is a change nobody made through mtm.
    let explained = |expected: Option<u64>, confirmed: Option<u64>, found: Option<u64>| {
        let found = unlimited_zero(found);
        unlimited_zero(expected) == found
            || (confirmed.is_some() && unlimited_zero(confirmed) == found)
    };
    if !explained(
        token.limit_uptime_s,
        token.confirmed_limit_uptime_s,
        user.limit_uptime_s,
    ) {
        diff.push(difference(
            "limit_uptime_s",
            json!(token.limit_uptime_s),
            json!(user.limit_uptime_s),
        ));
    }
    if !explained(
        token.limit_bytes_total,
        token.confirmed_limit_bytes_total,
        user.limit_bytes_total,
    ) {
        diff.push(difference(
            "limit_bytes_total",
            json!(token.limit_bytes_total),
            json!(user.limit_bytes_total),
        ));
    }
    // Only a reported hash can be compared (an agent without the `sensitive` policy cannot read
    // passwords). Hashes stay out of the evidence: a short numeric password is easy to recover.
    if let Some(found) = user.password_sha256.as_deref() {
        let same = match token.password_sha256.as_deref() {
            Some(expected) => expected.eq_ignore_ascii_case(found),
            None => is_empty_password_hash(found),
        };
        if !same {
            diff.push(difference("password", json!("as issued"), json!("changed")));
        }
    }
    // Ended a poll interval before the inventory was taken: the agent has disabled it by then.
    let must_be_disabled = matches!(token.state, TokenState::Expired | TokenState::Disabled)
        && token.ended_before(obs.taken_at, obs.config.grace_ms());
    if must_be_disabled && !user.disabled {
        diff.push(difference("disabled", json!(true), json!(false)));
    }
    if let Some(bound) = bound_mac_due(obs, token) {
        if user.mac_address.as_deref() != Some(bound) {
            diff.push(difference(
                "mac_address",
                json!(bound),
                json!(user.mac_address),
            ));
        }
    }
    if let Some(applied_id) = token.router_user_id.as_deref() {
        if applied_id != user.router_id {
            diff.push(difference(
                "router_id",
                json!(applied_id),
                json!(user.router_id),
            ));
        }
    }
    diff
}

/// The MAC a lock-to-first-device token must show in this inventory: the one mtm bound it to,
/// once the inventory was taken after the agent reported the binding. Before that, whatever
/// the router shows is the agent's binding on its way (or a device set before the first login,
/// which gives nobody free use): never a finding, so mtm's own binding accuses no one.
fn bound_mac_due<'t>(obs: &Observation<'_>, token: &'t IssuedToken) -> Option<&'t str> {
    let reported_before = token.mac_bound_at.is_some_and(|at| at < obs.taken_at);
    (token.lock_to_mac && reported_before)
        .then_some(token.bound_mac.as_deref())
        .flatten()
}

fn difference(field: &str, expected: Value, found: Value) -> Value {
    json!({ "field": field, "expected": expected, "found": found })
}

fn tampered(
    router: &RouterRef,
    token: &IssuedToken,
    diff: Vec<Value>,
    severity: Severity,
    user: Option<&RouterUser>,
) -> Finding {
    let fields: Vec<&str> = diff.iter().filter_map(|d| d["field"].as_str()).collect();
    let key = format!("tampered_token:{}:{}", token.token_id, fields.join(","));
    let summary = format!(
        "token {} on router {} differs from the ledger: {}",
        token.code,
        router.agent_id,
        fields.join(", ")
    );
    let message = json!({ "code": token.code, "router": router.agent_id, "fields": fields });
    let mut f = router
        .finding(
            AlertKind::TamperedToken,
            severity,
            key,
            summary,
            json!({
                "user": token.code,
                "router_user_id": user.map(|u| u.router_id.clone()),
                "package_slug": token.package_slug,
                "token_state": token.state,
                "differences": diff,
            }),
        )
        .with_message("alert-msg-tampered", message);
    f.token_id = Some(token.token_id);
    f.staff_id = token.staff_id;
    f.shift_id = token.shift_id;
    f
}

fn rogue_user(
    router: &RouterRef,
    user: &RouterUser,
    reason: &str,
    claimed: Option<&IssuedToken>,
) -> Finding {
    let summary = format!(
        "hotspot user {} on router {} was not issued by mtm ({})",
        user.name,
        router.agent_id,
        reason.replace('_', " ")
    );
    let message = json!({ "user": user.name, "router": router.agent_id, "reason": reason });
    let mut f = router
        .finding(
            AlertKind::RogueToken,
            Severity::Critical,
            format!("rogue_token:{}:{}", router.agent_id, user.name),
            summary,
            json!({
                "user": user.name,
                "reason": reason,
                "router_user_id": user.router_id,
                "comment": user.comment,
                "profile": user.profile,
                "limit_uptime_s": user.limit_uptime_s,
                "limit_bytes_total": user.limit_bytes_total,
                "uptime_s": user.uptime_s,
                "bytes_in": user.bytes_in,
                "bytes_out": user.bytes_out,
                "disabled": user.disabled,
                "sessions": [],
            }),
        )
        .with_message("alert-msg-rogue-user", message);
    f.token_id = claimed.map(|t| t.token_id);
    f
}

fn rogue_session(router: &RouterRef, session: &ActiveSession, reason: &str) -> Finding {
    let summary = format!(
        "session of {} on router {} has no issued token ({})",
        session.user,
        router.agent_id,
        reason.replace('_', " ")
    );
    router
        .finding(
            AlertKind::RogueToken,
            Severity::Critical,
            format!("rogue_token:{}:{}", router.agent_id, session.user),
            summary,
            json!({
                "user": session.user,
                "reason": reason,
                "sessions": [session_json(session)],
            }),
        )
        .with_message(
            "alert-msg-rogue-session",
            json!({ "user": session.user, "router": router.agent_id, "reason": reason }),
        )
}

fn rogue_logged(router: &RouterRef, login: &LoggedLogin, reason: &str) -> Finding {
    let summary = format!(
        "router {} logged a session of {}, which mtm did not issue ({})",
        router.agent_id,
        login.user,
        reason.replace('_', " ")
    );
    router
        .finding(
            AlertKind::RogueToken,
            Severity::Critical,
            format!("rogue_token:{}:{}", router.agent_id, login.user),
            summary,
            json!({
                "user": login.user,
                "reason": reason,
                "sessions": [],
                "log": [login_json(login)],
            }),
        )
        .with_message(
            "alert-msg-rogue-logged",
            json!({ "user": login.user, "router": router.agent_id, "reason": reason }),
        )
}

fn login_json(l: &LoggedLogin) -> Value {
    json!({
        "address": l.address,
        "event": l.event,
        "router_time": l.router_time,
    })
}

fn session_json(s: &ActiveSession) -> Value {
    json!({
        "router_id": s.router_id,
        "address": s.address,
        "mac_address": s.mac_address,
        "uptime_s": s.uptime_s,
        "bytes_in": s.bytes_in,
        "bytes_out": s.bytes_out,
    })
}
