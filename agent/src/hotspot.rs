//! Hotspot operations on the router that both the command runner ([`crate::commands`]) and
//! telemetry ([`crate::telemetry`]) use: a full inventory, logging a user's sessions out, and
//! the router profile of a package.

use std::time::Duration;

use mtm_common::{profile_name, ActiveSession, Inventory, PackageSpec, RouterUser};
use mtm_routeros::{Client, Error, UserProfile};
use sha2::{Digest, Sha256};

/// A full picture of the router's hotspot users and sessions.
pub async fn inventory(client: &Client) -> Result<Inventory, Error> {
    let users = client.hotspot_users().await?;
    let sessions = client.active_sessions().await?;
    Ok(Inventory {
        users: users
            .into_iter()
            .map(|u| RouterUser {
                password_sha256: u
                    .password
                    .as_ref()
                    .map(|p| hex::encode(Sha256::digest(p.as_bytes()))),
                router_id: u.id,
                name: u.name,
                profile: u.profile,
                comment: u.comment,
                limit_uptime_s: u.limit_uptime.map(|d| d.as_secs()),
                limit_bytes_total: u.limit_bytes_total,
                uptime_s: u.uptime.as_secs(),
                bytes_in: u.bytes_in,
                bytes_out: u.bytes_out,
                disabled: u.disabled,
                mac_address: u.mac_address,
            })
            .collect(),
        sessions: sessions
            .into_iter()
            .map(|s| ActiveSession {
                router_id: s.id,
                user: s.user,
                address: s.address,
                mac_address: s.mac_address,
                uptime_s: s.uptime.as_secs(),
                bytes_in: s.bytes_in,
                bytes_out: s.bytes_out,
            })
            .collect(),
        logins: Vec::new(),
        // The store vouches for mtm's own vouchers when the inventory is queued.
        issued_here: Vec::new(),
    })
}

/// Remove one active session; one that ended between print and remove is not an error.
pub async fn remove_session(client: &Client, id: &str) -> Result<(), Error> {
    match client.remove_active_session(id).await {
        Err(Error::Trap { message, .. }) if message.contains("no such item") => Ok(()),
        r => r,
    }
}

/// Log out every session of `name`; returns how many.
pub async fn logout_user(client: &Client, name: &str) -> Result<usize, Error> {
    let mut n = 0;
    for s in client.active_sessions().await? {
        if s.user == name {
            remove_session(client, &s.id).await?;
            n += 1;
        }
    }
    Ok(n)
}

/// The router profile for a catalog entry.
pub fn user_profile(p: &PackageSpec) -> UserProfile {
    UserProfile {
        id: String::new(),
        name: profile_name(&p.slug),
        rate_limit: p.rate_limit.clone(),
        shared_users: Some(p.shared_users.max(1)),
        session_timeout: p.session_timeout_s.map(Duration::from_secs),
    }
}
