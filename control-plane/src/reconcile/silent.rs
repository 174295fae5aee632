//! The router-silent check, run on a timer.

use super::{AlertKind, Finding, RouterRef, Severity};
use serde_json::json;

/// A router that sent nothing for longer than `threshold_ms` while its location has an open
/// shift: vouchers may be sold there that nobody watches.
///
/// Call it periodically (e.g. every minute) for every router, with `last_seen` the time of the
/// agent's last verified message. One silence raises one alert: the dedup key names the
/// `last_seen` it started from.
pub fn check_router_silent(
    router: &RouterRef,
    now: i64,
    last_seen: Option<i64>,
    threshold_ms: i64,
    location_has_open_shift: bool,
) -> Option<Finding> {
    if !location_has_open_shift {
        return None;
    }
    let silent_ms = match last_seen {
        Some(t) if now.saturating_sub(t) <= threshold_ms => return None,
        Some(t) => Some(now.saturating_sub(t)),
        None => None,
    };
    let since = last_seen.map_or_else(|| "never".to_string(), |t| t.to_string());
    let message = if silent_ms.is_some() {
        "alert-msg-router-silent"
    } else {
        "alert-msg-router-never-reported"
    };
    let summary = match silent_ms {
        Some(ms) => format!(
            "router {} silent for {} s during an open shift",
            router.agent_id,
            ms / 1000
        ),
        None => format!(
            "router {} has never reported, during an open shift",
            router.agent_id
        ),
    };
    Some(
        router
            .finding(
                AlertKind::RouterSilent,
                Severity::Warning,
                format!("router_silent:{}:{since}", router.agent_id),
                summary,
                json!({
                    "last_seen": last_seen,
                    "now": now,
                    "silent_ms": silent_ms,
                    "threshold_ms": threshold_ms,
                }),
            )
            .with_message(
                message,
                json!({ "router": router.agent_id, "seconds": silent_ms.map(|ms| ms / 1000) }),
            ),
    )
}
