//! Silent routers: a router that stops reporting while its location has an open shift raises a
//! `router_silent` alert (checked every minute by [`silent_loop`]), and a health report showing
//! that the agent watched the router through the silence resolves it (ingest calls
//! [`explain_silence`]), since then only the uplink was down.

use crate::store::now_ms;

/// How long a router may stay quiet during an open shift before it is an alert: five health
/// intervals of the agent's default minute.
pub const SILENT_AFTER_MS: i64 = 5 * 60 * 1000;

/// Raise a router-silent alert for every router that has not reported for `silent_after_ms`
/// while its location has an open shift. Returns how many alerts were new.
///
/// `heard` tells when this server last received a message from an agent that ingest may not
/// have stored yet: a router whose reports wait behind a busy database is not silent.
pub async fn check_silent_routers(
    store: &dyn crate::store::Store,
    heard: Option<&crate::ingest_queue::Heard>,
    now: i64,
    silent_after_ms: i64,
) -> Result<usize, crate::store::StoreError> {
    use crate::reconcile::{check_router_silent, RouterRef};
    let open = store.open_shift_locations().await?;
    let mut raised = 0;
    for status in store.list_routers().await? {
        let r = status.router;
        let who = RouterRef {
            agent_id: r.agent_id.clone(),
            router_id: Some(r.id),
            location_id: Some(r.location_id),
        };
        let has_shift = open.contains(&r.location_id);
        let arrived = heard.and_then(|h| h.last(&r.agent_id));
        let last_seen = match (r.last_seen, arrived) {
            (Some(s), Some(a)) => Some(s.max(a)),
            (s, a) => s.or(a),
        };
        if let Some(mut f) = check_router_silent(&who, now, last_seen, silent_after_ms, has_shift) {
            // The agent's own time for the last thing it said before the silence: what a later
            // health report is measured against (`explain_silence`).
            f.evidence["last_health_at"] = status.last_health_at.into();
            raised += crate::checks::raise(store, &[f], now).await?.len();
        }
    }
    Ok(raised)
}

/// Slack for the time a health report spends between the agent and this check, and for the
/// two clocks' drift over a silence.
const EXPLAIN_SLACK_MS: i64 = 5_000;

/// Resolve the open `router_silent` alerts of `agent`'s router that its agent watched through,
/// given a health report the agent made at `at` (its clock) and that arrived `now` (ours).
///
/// The alert holds the agent's time of its last health report before the silence
/// (`last_health_at`, agent clock) and when the router was last heard (`last_seen`, ours). The
/// silence is explained when one agent process ran from before that report (`watching_since`
/// at or before it) until after the silence ended: the report was made no earlier than
/// `last_health_at + (now - last_seen)` less a little slack. Only durations on one clock are
/// compared, so skew between the clocks cancels; a report made before the silence ended
/// (one buffered before the agent was killed and sent after its restart, or a replay) is too
/// early and explains nothing. The agent kept polling the router the whole time and its
/// buffered reports cover the gap, so the silence was the uplink's. A restart inside the
/// silence leaves the alert standing; so does a report from an agent that predates the field.
/// Returns how many alerts were resolved; each is recorded with its note in the audit log.
pub async fn explain_silence(
    store: &dyn crate::store::Store,
    agent: &str,
    health: &mtm_common::Health,
    at: i64,
    now: i64,
) -> Result<usize, crate::store::StoreError> {
    use crate::store::{AlertFilter, AlertState};
    let Some(since) = health.watching_since else {
        return Ok(0);
    };
    let Some(router) = store.router_by_agent(agent).await? else {
        return Ok(0);
    };
    let filter = AlertFilter {
        state: Some(AlertState::Open),
        location_id: Some(router.location_id),
        ..Default::default()
    };
    let mut resolved = 0;
    for a in crate::store::every_alert(store, &filter).await? {
        if a.kind != crate::reconcile::AlertKind::RouterSilent || a.router_id != Some(router.id) {
            continue;
        }
        let (Some(last_seen), Some(before)) = (
            a.evidence["last_seen"].as_i64(),
            a.evidence["last_health_at"].as_i64(),
        ) else {
            continue;
        };
        let silent_ms = now.saturating_sub(last_seen);
        let ran_through = since <= before;
        let made_after = at
            >= before
                .saturating_add(silent_ms)
                .saturating_sub(EXPLAIN_SLACK_MS);
        if !(ran_through && made_after) {
            continue;
        }
        let note = format!(
            "explained: the uplink was down for {} s; the agent watched the router without a \
             break ({} s) and its reports from the silence have arrived",
            silent_ms / 1000,
            at.saturating_sub(since) / 1000
        );
        store
            .set_alert_state(a.id, AlertState::Resolved, &note, "mtm", now)
            .await?;
        resolved += 1;
    }
    Ok(resolved)
}

/// Whether the server itself has been listening long enough to call a router silent: it has
/// been subscribed without a break for more than `silent_after_ms` (counted from
/// `LinkStatus::listening_since`, which after a lost link also leaves agents the time their
/// reconnect backoff takes). While the broker or this server was down no router could be heard,
/// so its silence is not the router's.
pub fn listened_long_enough(listening_since: Option<i64>, now: i64, silent_after_ms: i64) -> bool {
    listening_since.is_some_and(|since| now.saturating_sub(since) > silent_after_ms)
}

/// Run [`check_silent_routers`] with a threshold of `silent_after_s`, forever, while `link`
/// (the server's broker client) has been listening long enough (see [`listened_long_enough`]).
pub async fn silent_loop(
    store: std::sync::Arc<dyn crate::store::Store>,
    silent_after_s: u64,
    link: std::sync::Arc<crate::link::LinkStatus>,
    heard: std::sync::Arc<crate::ingest_queue::Heard>,
) {
    let after_s = silent_after_s.max(1);
    let after_ms = i64::try_from(after_s.saturating_mul(1000)).unwrap_or(i64::MAX);
    // Checking every quarter of the threshold bounds detection at 1.25 times it.
    let every = std::time::Duration::from_millis((after_s * 250).clamp(250, 60_000));
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let now = now_ms();
        if !listened_long_enough(link.listening_since(), now, after_ms) {
            continue;
        }
        if let Err(e) = check_silent_routers(&*store, Some(&heard), now, after_ms).await {
            tracing::warn!(error = %e, "router silence check failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AlertFilter;
    use crate::testutil::sqlite_fixture;

    #[test]
    fn silence_is_judged_only_after_listening_longer_than_the_threshold() {
        let now = 10_000_000;
        assert!(!listened_long_enough(None, now, 1000), "not subscribed");
        assert!(!listened_long_enough(Some(now - 1000), now, 1000));
        assert!(listened_long_enough(Some(now - 1001), now, 1000));
    }

    #[tokio::test]
    async fn a_router_whose_reports_wait_to_be_stored_is_not_silent() {
        let f = sqlite_fixture().await;
        f.store
            .open_shift(f.staff.id, f.location.id, 0, "staff")
            .await
            .unwrap();
        let now = now_ms();
        let health = crate::store::UpItem {
            seq: 1,
            at: now - 1000,
            message: mtm_common::UpMessage::Health(Default::default()),
        };
        f.store
            .apply_up("agent-1", &[health], now - 1000)
            .await
            .unwrap();
        let later = now + SILENT_AFTER_MS + 1;
        let heard = crate::ingest_queue::Heard::default();
        heard.note("agent-2", later - 1000);
        heard.note("agent-1", now);
        assert_eq!(
            check_silent_routers(&*f.store, Some(&heard), later, SILENT_AFTER_MS)
                .await
                .unwrap(),
            1,
            "heard nothing newer than what is stored: silent"
        );
        let heard = crate::ingest_queue::Heard::default();
        heard.note("agent-1", later - 1000);
        let again = later + 60_000;
        heard.note("agent-1", again - 1000);
        assert_eq!(
            check_silent_routers(&*f.store, Some(&heard), again, SILENT_AFTER_MS)
                .await
                .unwrap(),
            0,
            "a message arrived a second ago, not yet stored: not silent"
        );
    }

    #[tokio::test]
    async fn a_quiet_router_during_an_open_shift_raises_one_alert() {
        let f = sqlite_fixture().await;
        let now = now_ms();
        assert_eq!(
            check_silent_routers(&*f.store, None, now, SILENT_AFTER_MS)
                .await
                .unwrap(),
            0,
            "no shift, no alert"
        );
        f.store
            .open_shift(f.staff.id, f.location.id, 0, "staff")
            .await
            .unwrap();
        // Only a verified message is a sign of life; an unsigned `online` is not.
        f.store.set_router_online("agent-1", true).await.unwrap();
        assert_eq!(
            check_silent_routers(&*f.store, None, now, SILENT_AFTER_MS)
                .await
                .unwrap(),
            1,
            "never heard from: an online status does not count"
        );
        let health = crate::store::UpItem {
            seq: 1,
            at: now - 1000,
            message: mtm_common::UpMessage::Health(Default::default()),
        };
        f.store
            .apply_up("agent-1", &[health], now - 1000)
            .await
            .unwrap();
        assert_eq!(
            check_silent_routers(&*f.store, None, now, SILENT_AFTER_MS)
                .await
                .unwrap(),
            0,
            "heard from recently"
        );
        let later = now + SILENT_AFTER_MS + 1;
        f.store.set_router_online("agent-1", true).await.unwrap();
        assert_eq!(
            check_silent_routers(&*f.store, None, later, SILENT_AFTER_MS)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            check_silent_routers(&*f.store, None, later + 60_000, SILENT_AFTER_MS)
                .await
                .unwrap(),
            0,
            "one silence, one alert"
        );
        let alerts = f.store.list_alerts(&AlertFilter::default()).await.unwrap();
        assert_eq!(alerts[0].kind.as_str(), "router_silent");
        assert_eq!(alerts[0].agent_id.as_deref(), Some("agent-1"));
    }

    #[tokio::test]
    async fn a_silence_the_agent_watched_through_is_explained_and_a_restart_is_not() {
        use crate::store::AlertState;
        let f = sqlite_fixture().await;
        let now = now_ms();
        f.store
            .open_shift(f.staff.id, f.location.id, 0, "staff")
            .await
            .unwrap();
        let heard = now - SILENT_AFTER_MS - 10_000;
        // The agent's clock is ten minutes off; only durations on one clock are compared.
        let skew = 600_000;
        let started = heard + skew - 60_000;
        let health = |seq, at, since| crate::store::UpItem {
            seq,
            at,
            message: mtm_common::UpMessage::Health(mtm_common::Health {
                watching_since: since,
                ..Default::default()
            }),
        };
        f.store
            .apply_up("agent-1", &[health(1, heard + skew, Some(started))], heard)
            .await
            .unwrap();
        assert_eq!(
            check_silent_routers(&*f.store, None, now, SILENT_AFTER_MS)
                .await
                .unwrap(),
            1
        );
        let back = now + 2_000;
        let explain = |since: Option<i64>, at: i64| {
            let h = mtm_common::Health {
                watching_since: since,
                ..Default::default()
            };
            let store = f.store.clone();
            async move {
                explain_silence(&*store, "agent-1", &h, at, back)
                    .await
                    .unwrap()
            }
        };
        // An agent that predates the field, or one (re)started after the silence began, did
        // not watch it: the alert stands.
        assert_eq!(explain(None, back + skew).await, 0);
        assert_eq!(explain(Some(back + skew - 1_000), back + skew).await, 0);
        // A report the same process made during the silence, buffered and delivered only now
        // (the agent may have been killed after making it), says nothing about the rest.
        assert_eq!(explain(Some(started), heard + skew + 30_000).await, 0);
        // Made after the silence by the process that ran before it: the uplink was down and
        // the router was watched.
        assert_eq!(explain(Some(started), back + skew).await, 1);
        let alerts = f.store.list_alerts(&AlertFilter::default()).await.unwrap();
        assert_eq!(alerts[0].state, AlertState::Resolved);
        assert!(alerts[0].note.as_deref().unwrap().starts_with("explained:"));
    }
}
