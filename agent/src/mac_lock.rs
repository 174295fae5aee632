//! Lock to first device: a voucher sold with it is bound, on its first login, to the MAC
//! address of the device that logged in, by setting its hotspot user's `mac-address` (RouterOS
//! then lets only that device log in with it). The binding is reported to the server, which
//! records it and checks every later inventory against it.

use std::collections::HashMap;

use mtm_common::{normalize_mac, MacBound};
use mtm_routeros::{ActiveSession, Client, Error, HotspotUser};
use uuid::Uuid;

use crate::store::MacLock;

/// A voucher to bind now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The token.
    pub token_id: Uuid,
    /// The hotspot user's `.id`.
    pub router_user_id: String,
    /// The voucher code.
    pub username: String,
    /// The device of its first session.
    pub mac: String,
    /// The router already shows this MAC on the user (the agent set it and stopped before it
    /// could record that): nothing to set, only to record.
    pub already_set: bool,
}

/// The unbound locked vouchers that have a session now, each with the MAC of its oldest session
/// (the first device; with shared users several may be logged in at once).
pub fn first_logins(
    locks: &HashMap<Uuid, MacLock>,
    users: &[HotspotUser],
    sessions: &[ActiveSession],
) -> Vec<Binding> {
    let mut out = Vec::new();
    for (token_id, lock) in locks.iter().filter(|(_, l)| l.bound_mac.is_none()) {
        let Some(user) = users.iter().find(|u| u.name == lock.username) else {
            continue;
        };
        let first = sessions
            .iter()
            .filter(|s| s.user == lock.username)
            .filter_map(|s| {
                let mac = s.mac_address.as_deref().and_then(normalize_mac)?;
                Some((s.uptime, mac))
            })
            .max_by_key(|(uptime, _)| *uptime);
        let Some((_, mac)) = first else {
            continue;
        };
        out.push(Binding {
            token_id: *token_id,
            router_user_id: user.id.clone(),
            username: lock.username.clone(),
            already_set: user.mac_address.as_deref() == Some(mac.as_str()),
            mac,
        });
    }
    out.sort_by(|a, b| a.username.cmp(&b.username));
    out
}

/// Sets each binding's MAC on the router. Returns what was bound, as the lock to store and the
/// message to send; a voucher whose user went away meanwhile (a trap) is skipped and tried on
/// the next poll, a connection error ends the round.
pub async fn bind(
    client: &Client,
    bindings: Vec<Binding>,
    now_ms: i64,
) -> Result<Vec<(Uuid, MacLock, MacBound)>, Error> {
    let mut out = Vec::new();
    for b in bindings {
        if !b.already_set {
            match client
                .set_hotspot_user_mac(&b.router_user_id, Some(&b.mac))
                .await
            {
                Ok(()) => {}
                Err(e @ (Error::Trap { .. } | Error::Invalid(_))) => {
                    tracing::warn!(user = %b.username, error = %e, "voucher not bound to its device yet");
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        tracing::info!(token = %b.token_id, user = %b.username, mac = %b.mac,
            "voucher bound to the device of its first login");
        out.push((
            b.token_id,
            MacLock {
                username: b.username.clone(),
                bound_mac: Some(b.mac.clone()),
            },
            MacBound {
                token_id: b.token_id,
                username: b.username,
                mac_address: b.mac,
                bound_at: now_ms,
            },
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn lock(name: &str, bound: Option<&str>) -> MacLock {
        MacLock {
            username: name.into(),
            bound_mac: bound.map(str::to_string),
        }
    }

    fn user(name: &str, mac: Option<&str>) -> HotspotUser {
        HotspotUser {
            id: format!("*{name}"),
            name: name.into(),
            mac_address: mac.map(str::to_string),
            ..Default::default()
        }
    }

    fn session(name: &str, mac: &str, up: u64) -> ActiveSession {
        ActiveSession {
            id: format!("*S{name}{up}"),
            user: name.into(),
            mac_address: Some(mac.into()),
            uptime: Duration::from_secs(up),
            ..Default::default()
        }
    }

    #[test]
    fn the_oldest_session_of_an_unbound_locked_voucher_names_its_device() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let locks = HashMap::from([
            (a, lock("A", None)),
            (b, lock("B", Some("02:00:00:00:00:0B"))),
            (c, lock("C", None)),
        ]);
        let users = vec![
            user("A", None),
            user("B", Some("02:00:00:00:00:0B")),
            user("C", None),
        ];
        let sessions = vec![
            session("A", "02:00:00:00:00:a2", 5),
            session("A", "02:00:00:00:00:a1", 50),
            session("B", "02:00:00:00:00:0C", 9),
            session("FREE", "02:00:00:00:00:0D", 9),
        ];
        let got = first_logins(&locks, &users, &sessions);
        // B is bound already; C has no session yet; unlocked users are not looked at.
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].token_id, a);
        assert_eq!(got[0].mac, "02:00:00:00:00:A1");
        assert_eq!(got[0].router_user_id, "*A");
        assert!(!got[0].already_set);
    }

    #[test]
    fn a_mac_the_agent_set_before_a_crash_is_recorded_not_set_again() {
        let a = Uuid::from_u128(1);
        let locks = HashMap::from([(a, lock("A", None))]);
        let users = vec![user("A", Some("02:00:00:00:00:A1"))];
        let got = first_logins(&locks, &users, &[session("A", "02:00:00:00:00:a1", 3)]);
        assert!(got[0].already_set);
    }
}
