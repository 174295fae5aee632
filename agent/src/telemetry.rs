//! What the router shows, turned into up-messages: usage deltas (only what changed, against a
//! persisted baseline), health, full inventories, validity-window expiry, and the binding of
//! lock-to-first-device vouchers on their first login.

use std::collections::{HashMap, HashSet};

use mtm_common::{token_id_from_comment, Health, LoggedLogin, TokenExpired, UpMessage, Usage};
use mtm_routeros::{Client, Error, HotspotUser};
use uuid::Uuid;

pub use crate::hotspot::inventory;
use crate::hotspot::logout_user;
use crate::store::{Baseline, Store, StoreError, Validity};

/// A telemetry cycle failed.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The router call failed.
    #[error("router: {0}")]
    Router(#[from] Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Hotspot session lines in the router's log after item number `after` (the last one already
/// reported), and the number of the newest line read. A log whose newest line is older than
/// `after` was cleared (the router rebooted): it is read from its start.
pub async fn logins_since(client: &Client, after: u64) -> Result<(Vec<LoggedLogin>, u64), Error> {
    let reply = client
        .command(&[
            "/log/print",
            "?topics=hotspot,info,debug",
            "=.proplist=.id,time,message",
        ])
        .await;
    let rows = match reply {
        Ok(r) => r.rows,
        // A router whose API user may not read the log: nothing to add, never an error.
        Err(Error::Trap { .. }) => return Ok((Vec::new(), after)),
        Err(e) => return Err(e),
    };
    let number = |r: &mtm_routeros::Row| {
        r.get(".id")
            .and_then(|id| id.strip_prefix('*'))
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
    };
    let newest = rows.iter().filter_map(number).max().unwrap_or(0);
    let after = if newest < after { 0 } else { after };
    let logins = rows
        .iter()
        .filter(|r| number(r).is_some_and(|n| n > after))
        .filter_map(|r| {
            LoggedLogin::parse(
                r.get("message").map(String::as_str).unwrap_or(""),
                r.get("time").map(String::as_str).unwrap_or(""),
            )
        })
        .collect();
    Ok((logins, newest.max(after)))
}

/// Health of the router (or just `router_reachable: false`) plus the outbox length.
pub async fn health(client: Result<&Client, Error>, outbox_len: u64) -> Health {
    let mut h = Health {
        outbox_len,
        ..Default::default()
    };
    let Ok(client) = client else {
        return h;
    };
    if let Ok(r) = client.system_resource().await {
        h.router_reachable = true;
        h.cpu_load = Some(r.cpu_load);
        h.free_memory = Some(r.free_memory);
        h.total_memory = Some(r.total_memory);
        h.uptime_s = Some(r.uptime.as_secs());
        h.routeros_version = Some(r.version);
        h.board_name = Some(r.board_name);
        if let Ok(s) = client.active_sessions().await {
            h.active_sessions = u32::try_from(s.len()).unwrap_or(u32::MAX);
        }
    }
    h
}

/// 2024-01-01 UTC. A clock before this has not been set yet (a Raspberry Pi has no RTC and boots
/// in 1970 until NTP answers): first logins are not stamped and nothing expires until it is.
pub const PLAUSIBLE_CLOCK_MS: i64 = 1_704_067_200_000;

/// The usage entries for users whose counters or active flag changed, and their new baselines.
/// `now_ms` is `None` while the clock is not plausible.
pub fn usage_diff(
    users: &[HotspotUser],
    active: &HashSet<String>,
    baselines: &HashMap<String, Baseline>,
    now_ms: Option<i64>,
) -> Vec<(Usage, Baseline)> {
    let mut out = Vec::new();
    for u in users {
        let prev = baselines.get(&u.name).cloned().unwrap_or_default();
        let is_active = active.contains(&u.name);
        let uptime = u.uptime.as_secs();
        let mut reset = false;
        // A counter below its baseline was reset on the router: count from zero, and say so.
        let mut delta = |cur: u64, old: u64| {
            if cur < old {
                reset = true;
                cur
            } else {
                cur - old
            }
        };
        let d_up = delta(uptime, prev.uptime_s);
        let d_in = delta(u.bytes_in, prev.bytes_in);
        let d_out = delta(u.bytes_out, prev.bytes_out);
        let used = is_active || uptime > 0 || u.bytes_in > 0 || u.bytes_out > 0;
        let first_login_at = prev.first_login_at.or(now_ms.filter(|_| used));
        let changed = d_up > 0
            || d_in > 0
            || d_out > 0
            || reset
            || is_active != prev.active
            || first_login_at != prev.first_login_at;
        if !changed {
            continue;
        }
        out.push((
            Usage {
                token_id: u.comment.as_deref().and_then(token_id_from_comment),
                username: u.name.clone(),
                active: is_active,
                first_login_at,
                uptime_s: uptime,
                bytes_in: u.bytes_in,
                bytes_out: u.bytes_out,
                delta_uptime_s: d_up,
                delta_bytes_in: d_in,
                delta_bytes_out: d_out,
                counters_reset: reset,
            },
            Baseline {
                uptime_s: uptime,
                bytes_in: u.bytes_in,
                bytes_out: u.bytes_out,
                active: is_active,
                first_login_at,
            },
        ));
    }
    out
}

/// Meta key set once the store has taken its first usage poll.
const USAGE_POLLED: &str = "usage_polled";

/// Baselines for a store's first usage poll: every user's counters as the router shows them.
///
/// A store that has never polled has no baseline, yet the router may already carry vouchers
/// whose use another device reported: a replaced device, or a data folder lost with its disk.
/// Counting from zero would report that use a second time, and the control plane would see a
/// voucher used twice over. So the first poll reports each user's counters (the token's figures)
/// with no delta, and deltas count from there. What the old device saw after its last delivered
/// report is not in the usage sums; the tokens' counters are exact.
pub fn first_poll_baselines(users: &[HotspotUser]) -> HashMap<String, Baseline> {
    users
        .iter()
        .map(|u| {
            let b = Baseline {
                uptime_s: u.uptime.as_secs(),
                bytes_in: u.bytes_in,
                bytes_out: u.bytes_out,
                active: false,
                first_login_at: None,
            };
            (u.name.clone(), b)
        })
        .collect()
}

/// One usage poll: report changes, enforce validity windows, and commit the report, the new
/// baselines and any expiry in one transaction. Returns how many usage entries were sent.
pub async fn usage_cycle(client: &Client, store: &Store) -> Result<usize, TelemetryError> {
    let users = client.hotspot_users().await?;
    let sessions = client.active_sessions().await?;
    let active: HashSet<String> = sessions.iter().map(|s| s.user.clone()).collect();
    let polled = store.meta(USAGE_POLLED)? != 0;
    let stored = store.baselines()?;
    // An agent from before this key existed has baselines: it has polled.
    let first_poll = !polled && stored.is_empty();
    let baselines = if first_poll {
        first_poll_baselines(&users)
    } else {
        stored
    };
    let now = crate::store::now_ms();
    let clock_ok = now >= PLAUSIBLE_CLOCK_MS;
    let changes = usage_diff(&users, &active, &baselines, clock_ok.then_some(now));
    let on_router: HashSet<&str> = users.iter().map(|u| u.name.as_str()).collect();
    let gone: Vec<String> = baselines
        .keys()
        .filter(|k| !on_router.contains(k.as_str()))
        .cloned()
        .collect();

    // Validity windows: start the clock at first login, expire at the deadline.
    let first_logins: HashMap<&str, i64> = changes
        .iter()
        .filter_map(|(u, b)| b.first_login_at.map(|t| (u.username.as_str(), t)))
        .chain(
            baselines
                .iter()
                .filter_map(|(k, b)| b.first_login_at.map(|t| (k.as_str(), t))),
        )
        .collect();
    let mut validity_updates: Vec<(Uuid, Validity)> = Vec::new();
    let mut expired: Vec<Uuid> = Vec::new();
    let validities = if clock_ok {
        store.validities()?
    } else {
        HashMap::new()
    };
    for (token, mut v) in validities {
        if v.expired_at.is_some() {
            continue;
        }
        let mut touched = false;
        if v.first_login_at.is_none() {
            if let Some(t) = first_logins.get(v.username.as_str()) {
                v.first_login_at = Some(*t);
                touched = true;
            }
        }
        if v.deadline_ms().is_some_and(|d| d <= now) {
            if let Some(u) = users.iter().find(|u| u.name == v.username) {
                if !u.disabled {
                    client.set_hotspot_user_disabled(&u.id, true).await?;
                }
                logout_user(client, &u.name).await?;
            }
            tracing::info!(%token, user = %v.username, "validity window over: token disabled");
            v.expired_at = Some(now);
            expired.push(token);
            touched = true;
        }
        if touched {
            validity_updates.push((token, v));
        }
    }

    // Lock to first device: bind vouchers whose first session is on now.
    let locks = store.mac_locks()?;
    let bound = if locks.values().any(|l| l.bound_mac.is_none()) {
        let due = crate::mac_lock::first_logins(&locks, &users, &sessions);
        crate::mac_lock::bind(client, due, now).await?
    } else {
        Vec::new()
    };

    if polled
        && changes.is_empty()
        && gone.is_empty()
        && validity_updates.is_empty()
        && bound.is_empty()
    {
        return Ok(0);
    }
    let n = changes.len();
    store.write(|t| {
        if !polled {
            t.set_meta(USAGE_POLLED, 1)?;
        }
        if first_poll {
            // Every user's, reported or not (an unset clock stamps no first login, so an idle
            // used voucher is not reported now), so the next poll counts from here too.
            for (name, b) in &baselines {
                t.set_baseline(name, b)?;
            }
        }
        for name in &gone {
            t.remove_baseline(name)?;
        }
        for (u, b) in &changes {
            t.set_baseline(&u.username, b)?;
        }
        if !changes.is_empty() {
            let report = t.usage_report(changes.iter().map(|(u, _)| u.clone()).collect())?;
            t.enqueue(&UpMessage::Usage(report))?;
        }
        for (token, v) in &validity_updates {
            t.set_validity(*token, v)?;
        }
        for token in &expired {
            t.enqueue(&UpMessage::TokenExpired(TokenExpired {
                token_id: *token,
                expired_at: now,
            }))?;
        }
        for (token, lock, msg) in &bound {
            t.set_mac_lock(*token, lock)?;
            t.enqueue(&UpMessage::MacBound(msg.clone()))?;
        }
        Ok(())
    })?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn user(name: &str, up: u64, bin: u64, bout: u64) -> HotspotUser {
        HotspotUser {
            id: format!("*{name}"),
            name: name.into(),
            uptime: Duration::from_secs(up),
            bytes_in: bin,
            bytes_out: bout,
            comment: Some(mtm_common::router_comment(Uuid::nil())),
            ..Default::default()
        }
    }

    #[test]
    fn only_changes_are_reported_and_deltas_add_up() {
        let mut base = HashMap::new();
        let active: HashSet<String> = ["A".to_string()].into();
        let users = vec![user("A", 10, 100, 1000), user("B", 0, 0, 0)];
        let r = usage_diff(&users, &active, &base, Some(5));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].0.delta_bytes_in, 100);
        assert_eq!(r[0].0.first_login_at, Some(5));
        assert_eq!(r[0].0.token_id, Some(Uuid::nil()));
        base.insert("A".into(), r[0].1.clone());
        // Nothing moved: nothing reported.
        assert!(usage_diff(&users, &active, &base, Some(6)).is_empty());
        let users = vec![user("A", 15, 150, 1000)];
        let r = usage_diff(&users, &active, &base, Some(7));
        assert_eq!(r[0].0.delta_bytes_in, 50);
        assert_eq!(r[0].0.delta_uptime_s, 5);
        assert_eq!(r[0].0.first_login_at, Some(5));
        assert!(!r[0].0.counters_reset);
    }

    #[test]
    fn a_first_poll_reports_counters_already_there_without_a_delta() {
        // A replaced device: the router already carries a used voucher and a fresh one.
        let users = vec![user("A", 10, 100, 1000), user("B", 0, 0, 0)];
        let active: HashSet<String> = ["A".to_string()].into();
        let base = first_poll_baselines(&users);
        let r = usage_diff(&users, &active, &base, Some(5));
        assert_eq!(r.len(), 1, "only the used voucher is reported");
        let u = &r[0].0;
        assert_eq!((u.uptime_s, u.bytes_in, u.bytes_out), (10, 100, 1000));
        assert_eq!(
            (u.delta_uptime_s, u.delta_bytes_in, u.delta_bytes_out),
            (0, 0, 0)
        );
        assert!(!u.counters_reset);
        // The next poll counts from what the first one saw.
        let mut base = base;
        base.insert("A".into(), r[0].1.clone());
        let users = vec![user("A", 12, 130, 1000), user("B", 1, 5, 7)];
        let r = usage_diff(&users, &active, &base, Some(6));
        let deltas: Vec<_> = r
            .iter()
            .map(|(u, _)| {
                (
                    u.username.as_str(),
                    u.delta_uptime_s,
                    u.delta_bytes_in,
                    u.delta_bytes_out,
                )
            })
            .collect();
        assert_eq!(deltas, [("A", 2, 30, 0), ("B", 1, 5, 7)]);
    }

    #[test]
    fn counters_going_backwards_are_flagged_and_counted_from_zero() {
        let mut base = HashMap::new();
        base.insert(
            "A".to_string(),
            Baseline {
                uptime_s: 100,
                bytes_in: 500,
                bytes_out: 500,
                active: false,
                first_login_at: Some(1),
            },
        );
        let r = usage_diff(&[user("A", 3, 40, 600)], &HashSet::new(), &base, Some(9));
        assert!(r[0].0.counters_reset);
        assert_eq!(r[0].0.delta_uptime_s, 3);
        assert_eq!(r[0].0.delta_bytes_in, 40);
        assert_eq!(r[0].0.delta_bytes_out, 100);
    }

    #[test]
    fn an_unset_clock_stamps_no_first_login() {
        let active: HashSet<String> = ["A".to_string()].into();
        let r = usage_diff(&[user("A", 1, 1, 1)], &active, &HashMap::new(), None);
        assert_eq!(r[0].0.first_login_at, None);
        assert_eq!(r[0].0.delta_bytes_in, 1);
    }

    #[test]
    fn logout_alone_is_a_change() {
        let mut base = HashMap::new();
        base.insert(
            "A".to_string(),
            Baseline {
                active: true,
                first_login_at: Some(1),
                ..Default::default()
            },
        );
        let r = usage_diff(&[user("A", 0, 0, 0)], &HashSet::new(), &base, Some(9));
        assert_eq!(r.len(), 1);
        assert!(!r[0].0.active);
    }
}
