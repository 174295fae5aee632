//! Checks on an agent's `Usage` report: reused tokens and usage by users mtm did not make.

use super::{
    lost, AlertKind, Finding, IssuedToken, ReconcileConfig, RouterRef, Severity, TokenLookup,
};
use mtm_common::{Usage, UsageReport};
use serde_json::json;

/// Every reused or rogue token a usage report shows.
///
/// Call it for each `Usage` report an agent sends, before adding the report's deltas to the
/// store, with `taken_at` the envelope's `at` and each token's `used_uptime_s`/`used_bytes` as
/// they were before this report.
/// `issued` must hold the tokens the entries' `token_id`s name and, for entries without one,
/// the tokens with those codes on this router.
pub fn check_usage(
    router: &RouterRef,
    report: &UsageReport,
    taken_at: i64,
    issued: &dyn TokenLookup,
    config: &ReconcileConfig,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for usage in &report.entries {
        if config.builtin_users.iter().any(|b| b == &usage.username) {
            continue;
        }
        let Some(token_id) = usage.token_id else {
            // A sold token that lost its comment is reported by the inventory check as tampered.
            if issued.by_code(&router.agent_id, &usage.username).is_none() {
                findings.push(
                    match lost::vouched(&report.issued_here, None, &usage.username) {
                        Some(i) => lost::lost_from_ledger(router, i, "usage"),
                        None => rogue(router, usage, "no_mtm_comment", None),
                    },
                );
            }
            continue;
        };
        let Some(token) = issued.by_id(token_id) else {
            findings.push(
                match lost::vouched(&report.issued_here, Some(token_id), &usage.username) {
                    Some(i) => lost::lost_from_ledger(router, i, "usage"),
                    None => rogue(router, usage, "unknown_token", None),
                },
            );
            continue;
        };
        if token.agent_id != router.agent_id {
            findings.push(rogue(
                router,
                usage,
                "token_for_another_router",
                Some(token),
            ));
            continue;
        }
        if token.code != usage.username {
            findings.push(rogue(router, usage, "code_mismatch", Some(token)));
            continue;
        }
        findings.extend(check_token_usage(router, token, usage, taken_at, config));
    }
    findings
}

/// The reuse rules for one issued token's usage entry.
fn check_token_usage(
    router: &RouterRef,
    token: &IssuedToken,
    usage: &Usage,
    taken_at: i64,
    config: &ReconcileConfig,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let counters = json!({
        "uptime_s": usage.uptime_s,
        "bytes_in": usage.bytes_in,
        "bytes_out": usage.bytes_out,
        "delta_uptime_s": usage.delta_uptime_s,
        "delta_bytes_in": usage.delta_bytes_in,
        "delta_bytes_out": usage.delta_bytes_out,
    });

    if usage.counters_reset {
        findings.push(
            reused(
                router,
                token,
                format!(
                    "reused_token:{}:counters_reset:{}:{}:{}",
                    token.token_id, usage.uptime_s, usage.bytes_in, usage.bytes_out
                ),
                format!(
                    "token {} had its counters reset on router {}",
                    token.code, router.agent_id
                ),
                json!({
                    "user": token.code,
                    "reason": "counters_reset",
                    "used_uptime_s_before": token.used_uptime_s,
                    "used_bytes_before": token.used_bytes,
                    "router_counters": counters,
                }),
            )
            .with_message(
                "alert-msg-counters-reset",
                json!({ "code": token.code, "router": router.agent_id }),
            ),
        );
    }

    // Lifetime use is what the ledger summed plus this report, or the router's own cumulative
    // figure if that is higher; a reset zeroes the router's figure but not the ledger's.
    let uptime = (token.used_uptime_s + usage.delta_uptime_s).max(usage.uptime_s);
    let bytes = (token.used_bytes + usage.delta_bytes_in + usage.delta_bytes_out)
        .max(usage.bytes_in + usage.bytes_out);
    let mut beyond = Vec::new();
    if let Some(limit) = token.limit_uptime_s.filter(|&l| l > 0) {
        let tolerance = config.uptime_tolerance_s;
        if uptime > limit.saturating_add(tolerance) {
            beyond.push(json!({ "field": "uptime_s", "limit": limit, "used": uptime, "tolerance": tolerance }));
        }
    }
    if let Some(limit) = token.limit_bytes_total.filter(|&l| l > 0) {
        let tolerance = bytes_tolerance(limit, config);
        if bytes > limit.saturating_add(tolerance) {
            beyond.push(json!({ "field": "bytes_total", "limit": limit, "used": bytes, "tolerance": tolerance }));
        }
    }
    if !beyond.is_empty() {
        findings.push(
            reused(
                router,
                token,
                format!("reused_token:{}:beyond_package", token.token_id),
                format!(
                    "token {} was used beyond its package {}",
                    token.code, token.package_slug
                ),
                json!({
                    "user": token.code,
                    "reason": "beyond_package",
                    "package_slug": token.package_slug,
                    "beyond": beyond,
                    "router_counters": counters,
                }),
            )
            .with_message(
                "alert-msg-beyond-package",
                json!({ "code": token.code, "package": token.package_slug }),
            ),
        );
    }

    // A validity window the agent should have closed: use a poll interval past its deadline.
    let first_login = token.first_login_at.or(usage.first_login_at);
    if let (Some(validity), Some(first), false) =
        (token.validity_s, first_login, token.state.is_ended())
    {
        let deadline =
            first.saturating_add(i64::try_from(validity.saturating_mul(1000)).unwrap_or(i64::MAX));
        if taken_at > deadline.saturating_add(config.grace_ms())
            && usage.delta_uptime_s > config.uptime_tolerance_s
        {
            findings.push(
                reused(
                    router,
                    token,
                    format!("reused_token:{}:beyond_validity", token.token_id),
                    format!(
                        "token {} was used after its validity window closed",
                        token.code
                    ),
                    json!({
                        "user": token.code,
                        "reason": "beyond_validity",
                        "first_login_at": first,
                        "validity_s": validity,
                        "deadline": deadline,
                        "report_taken_at": taken_at,
                        "router_counters": counters,
                    }),
                )
                .with_message("alert-msg-beyond-validity", json!({ "code": token.code })),
            );
        }
    }

    // Only a report taken a poll interval after the end can hold use after it: an earlier one
    // may carry the last minutes before the agent disabled the user.
    if token.ended_before(taken_at, config.grace_ms()) {
        let after_bytes = usage.delta_bytes_in + usage.delta_bytes_out;
        if usage.delta_uptime_s > config.uptime_tolerance_s
            || after_bytes > config.bytes_tolerance_min
        {
            findings.push(
                reused(
                    router,
                    token,
                    format!("reused_token:{}:after_end", token.token_id),
                    format!(
                        "token {} was used on router {} after it was {}",
                        token.code,
                        router.agent_id,
                        token.state.as_str()
                    ),
                    json!({
                        "user": token.code,
                        "reason": "used_after_end",
                        "token_state": token.state,
                        "expired_at": token.expired_at,
                        "ended_at": token.ended_at,
                        "report_taken_at": taken_at,
                        "router_counters": counters,
                    }),
                )
                .with_message(
                    "alert-msg-after-end",
                    json!({
                        "code": token.code,
                        "router": router.agent_id,
                        "state": token.state.as_str(),
                    }),
                ),
            );
        }
    }
    findings
}

/// Bytes a token may go past its data limit: the router counts the packet that crosses it.
fn bytes_tolerance(limit: u64, config: &ReconcileConfig) -> u64 {
    (limit / 1000)
        .saturating_mul(config.bytes_tolerance_permille)
        .max(config.bytes_tolerance_min)
}

fn reused(
    router: &RouterRef,
    token: &IssuedToken,
    key: String,
    summary: String,
    evidence: serde_json::Value,
) -> Finding {
    let mut f = router.finding(
        AlertKind::ReusedToken,
        Severity::Critical,
        key,
        summary,
        evidence,
    );
    f.token_id = Some(token.token_id);
    f.staff_id = token.staff_id;
    f.shift_id = token.shift_id;
    f
}

/// Same dedup key as the inventory check's, so one hand-made user raises one alert.
fn rogue(
    router: &RouterRef,
    usage: &Usage,
    reason: &str,
    claimed: Option<&IssuedToken>,
) -> Finding {
    let mut f = router
        .finding(
            AlertKind::RogueToken,
            Severity::Critical,
            format!("rogue_token:{}:{}", router.agent_id, usage.username),
            format!(
                "hotspot user {} on router {} is in use but was not issued by mtm ({})",
                usage.username,
                router.agent_id,
                reason.replace('_', " ")
            ),
            json!({
                "user": usage.username,
                "reason": reason,
                "claimed_token_id": usage.token_id,
                "token_code": claimed.map(|t| t.code.clone()),
                "active": usage.active,
                "first_login_at": usage.first_login_at,
                "uptime_s": usage.uptime_s,
                "bytes_in": usage.bytes_in,
                "bytes_out": usage.bytes_out,
            }),
        )
        .with_message(
            "alert-msg-rogue-in-use",
            json!({ "user": usage.username, "router": router.agent_id, "reason": reason }),
        );
    f.token_id = claimed.map(|t| t.token_id);
    f
}
