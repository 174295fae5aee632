//! Typed helpers for the hotspot and system menus the agent uses.

use std::time::Duration;

use crate::client::Client;
use crate::error::Error;
use crate::values::{format_duration, parse_bool, parse_bytes, parse_duration};
use crate::Row;

mod system;
pub use system::{HotspotCookie, SystemClock, SystemResource};

/// A `/ip/hotspot/user` entry (a voucher).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HotspotUser {
    /// `.id`, e.g. `*1A`.
    pub id: String,
    /// Login name (the voucher code).
    pub name: String,
    /// Password, when the API account may read it.
    pub password: Option<String>,
    /// User profile name.
    pub profile: Option<String>,
    /// Free text; mtm stores `mtm:<token id>` here.
    pub comment: Option<String>,
    /// Total prepaid time.
    pub limit_uptime: Option<Duration>,
    /// Total byte quota (in + out).
    pub limit_bytes_total: Option<u64>,
    /// Cumulative time used.
    pub uptime: Duration,
    /// Cumulative bytes from the customer.
    pub bytes_in: u64,
    /// Cumulative bytes to the customer.
    pub bytes_out: u64,
    /// Whether the entry is disabled.
    pub disabled: bool,
    /// The only device allowed to log in as this user (`mac-address`, upper case); `None` when
    /// any device may (unset, or `00:00:00:00:00:00`).
    pub mac_address: Option<String>,
}

/// `mac-address` of a hotspot user that any device may use.
pub const ANY_MAC: &str = "00:00:00:00:00:00";

/// What [`Client::add_hotspot_user`] sends.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NewHotspotUser {
    /// Login name.
    pub name: String,
    /// Password (omitted when `None`).
    pub password: Option<String>,
    /// User profile (router default `default`).
    pub profile: Option<String>,
    /// Comment.
    pub comment: Option<String>,
    /// Total prepaid time.
    pub limit_uptime: Option<Duration>,
    /// Total byte quota.
    pub limit_bytes_total: Option<u64>,
}

/// A `/ip/hotspot/active` entry: a logged-in customer.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ActiveSession {
    /// `.id` of the session.
    pub id: String,
    /// Hotspot user name.
    pub user: String,
    /// Customer IP address.
    pub address: Option<String>,
    /// Customer MAC address.
    pub mac_address: Option<String>,
    /// Time in this session.
    pub uptime: Duration,
    /// Bytes from the customer in this session.
    pub bytes_in: u64,
    /// Bytes to the customer in this session.
    pub bytes_out: u64,
    /// Remaining time, when a time limit applies.
    pub session_time_left: Option<Duration>,
}

/// A `/ip/hotspot/user/profile` entry.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UserProfile {
    /// `.id` (ignored by [`Client::upsert_user_profile`], which matches by name).
    pub id: String,
    /// Profile name.
    pub name: String,
    /// e.g. `512k/2M`.
    pub rate_limit: Option<String>,
    /// Simultaneous sessions per user.
    pub shared_users: Option<u32>,
    /// Per-session time limit.
    pub session_timeout: Option<Duration>,
}

const USER_PROPS: &str = ".id,name,password,profile,comment,limit-uptime,limit-bytes-total,uptime,\
     bytes-in,bytes-out,disabled,mac-address";
const ACTIVE_PROPS: &str =
    ".id,user,address,mac-address,uptime,bytes-in,bytes-out,session-time-left";

pub(crate) fn opt(row: &Row, k: &str) -> Option<String> {
    row.get(k).filter(|v| !v.is_empty()).cloned()
}

pub(crate) fn req(row: &Row, k: &str) -> Result<String, Error> {
    row.get(k)
        .cloned()
        .ok_or_else(|| Error::Protocol(format!("reply row lacks {k:?}")))
}

pub(crate) fn dur(row: &Row, k: &str) -> Result<Option<Duration>, Error> {
    match row.get(k).filter(|v| !v.is_empty() && *v != "none") {
        None => Ok(None),
        Some(v) => parse_duration(v)
            .map(Some)
            .map_err(|e| Error::Protocol(format!("{k}: {e}"))),
    }
}

pub(crate) fn num(row: &Row, k: &str) -> Result<Option<u64>, Error> {
    match row.get(k).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => parse_bytes(v)
            .map(Some)
            .map_err(|e| Error::Protocol(format!("{k}: {e}"))),
    }
}

impl HotspotUser {
    /// Builds a user from a print row.
    pub fn from_row(row: &Row) -> Result<Self, Error> {
        Ok(HotspotUser {
            id: req(row, ".id")?,
            name: req(row, "name")?,
            password: opt(row, "password"),
            profile: opt(row, "profile"),
            comment: opt(row, "comment"),
            limit_uptime: dur(row, "limit-uptime")?.filter(|d| !d.is_zero()),
            limit_bytes_total: num(row, "limit-bytes-total")?.filter(|&n| n > 0),
            uptime: dur(row, "uptime")?.unwrap_or_default(),
            bytes_in: num(row, "bytes-in")?.unwrap_or(0),
            bytes_out: num(row, "bytes-out")?.unwrap_or(0),
            disabled: row
                .get("disabled")
                .map(|v| parse_bool(v).unwrap_or(false))
                .unwrap_or(false),
            mac_address: row
                .get("mac-address")
                .and_then(|m| normalize_mac(m))
                .filter(|m| m != ANY_MAC),
        })
    }
}

/// A MAC address as RouterOS prints it (upper case, colon-separated), `None` if `mac` is not
/// one.
pub fn normalize_mac(mac: &str) -> Option<String> {
    let parts: Vec<&str> = mac.trim().split([':', '-']).collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    ok.then(|| parts.join(":").to_ascii_uppercase())
}

impl ActiveSession {
    /// Builds a session from a print row.
    pub fn from_row(row: &Row) -> Result<Self, Error> {
        Ok(ActiveSession {
            id: req(row, ".id")?,
            user: req(row, "user")?,
            address: opt(row, "address"),
            mac_address: opt(row, "mac-address"),
            uptime: dur(row, "uptime")?.unwrap_or_default(),
            bytes_in: num(row, "bytes-in")?.unwrap_or(0),
            bytes_out: num(row, "bytes-out")?.unwrap_or(0),
            session_time_left: dur(row, "session-time-left")?,
        })
    }
}

impl UserProfile {
    /// Builds a profile from a print row.
    pub fn from_row(row: &Row) -> Result<Self, Error> {
        Ok(UserProfile {
            id: req(row, ".id")?,
            name: req(row, "name")?,
            rate_limit: opt(row, "rate-limit"),
            shared_users: row.get("shared-users").and_then(|v| v.parse().ok()),
            session_timeout: dur(row, "session-timeout")?.filter(|d| !d.is_zero()),
        })
    }
}

/// Attribute words for the optional fields of a user.
fn user_fields(user: &NewHotspotUser) -> Vec<String> {
    let mut words = Vec::new();
    if let Some(p) = &user.password {
        words.push(format!("=password={p}"));
    }
    if let Some(p) = &user.profile {
        words.push(format!("=profile={p}"));
    }
    if let Some(c) = &user.comment {
        words.push(format!("=comment={c}"));
    }
    if let Some(d) = user.limit_uptime {
        words.push(format!("=limit-uptime={}", format_duration(d)));
    }
    if let Some(b) = user.limit_bytes_total {
        words.push(format!("=limit-bytes-total={b}"));
    }
    words
}

impl Client {
    async fn users_where(&self, query: Option<String>) -> Result<Vec<HotspotUser>, Error> {
        let props = format!("=.proplist={USER_PROPS}");
        let mut words = vec!["/ip/hotspot/user/print", props.as_str()];
        if let Some(q) = &query {
            words.push(q);
        }
        let reply = self.command(&words).await?;
        reply.rows.iter().map(HotspotUser::from_row).collect()
    }

    /// All hotspot users.
    pub async fn hotspot_users(&self) -> Result<Vec<HotspotUser>, Error> {
        self.users_where(None).await
    }

    /// The first user whose comment equals `comment`.
    pub async fn hotspot_user_by_comment(
        &self,
        comment: &str,
    ) -> Result<Option<HotspotUser>, Error> {
        let q = format!("?comment={comment}");
        Ok(self.users_where(Some(q)).await?.into_iter().next())
    }

    /// The user named `name`.
    pub async fn hotspot_user_by_name(&self, name: &str) -> Result<Option<HotspotUser>, Error> {
        let q = format!("?name={name}");
        Ok(self.users_where(Some(q)).await?.into_iter().next())
    }

    /// Adds a user and returns its `.id` (the `=ret=` of `!done`).
    pub async fn add_hotspot_user(&self, user: &NewHotspotUser) -> Result<String, Error> {
        let mut words = vec![
            "/ip/hotspot/user/add".to_string(),
            format!("=name={}", user.name),
        ];
        words.extend(user_fields(user));
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let reply = self.command(&refs).await?;
        reply
            .ret()
            .map(str::to_string)
            .ok_or_else(|| Error::Protocol("add returned no =ret= id".into()))
    }

    /// Sets the given fields on an existing user (`None` fields are left unchanged; `name`
    /// is changed only when non-empty).
    pub async fn set_hotspot_user(&self, id: &str, user: &NewHotspotUser) -> Result<(), Error> {
        let mut words = vec!["/ip/hotspot/user/set".to_string(), format!("=.id={id}")];
        if !user.name.is_empty() {
            words.push(format!("=name={}", user.name));
        }
        words.extend(user_fields(user));
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        self.command(&refs).await?;
        Ok(())
    }

    /// Allows only the device with this MAC address to log in as user `id` (`None`: any
    /// device again). A value that is not a MAC address is refused before it reaches the router.
    pub async fn set_hotspot_user_mac(&self, id: &str, mac: Option<&str>) -> Result<(), Error> {
        let mac = match mac {
            Some(m) => normalize_mac(m)
                .ok_or_else(|| Error::Invalid(format!("{m:?} is not a MAC address")))?,
            None => ANY_MAC.to_string(),
        };
        self.command(&[
            "/ip/hotspot/user/set",
            &format!("=.id={id}"),
            &format!("=mac-address={mac}"),
        ])
        .await?;
        Ok(())
    }

    /// The active session of a hotspot user, if logged in.
    pub async fn active_session_by_user(&self, user: &str) -> Result<Option<ActiveSession>, Error> {
        let props = format!("=.proplist={ACTIVE_PROPS}");
        let q = format!("?user={user}");
        let reply = self
            .command(&["/ip/hotspot/active/print", &props, &q])
            .await?;
        reply.rows.first().map(ActiveSession::from_row).transpose()
    }

    /// Enables or disables a user.
    pub async fn set_hotspot_user_disabled(&self, id: &str, disabled: bool) -> Result<(), Error> {
        let cmd = if disabled {
            "/ip/hotspot/user/disable"
        } else {
            "/ip/hotspot/user/enable"
        };
        self.command(&[cmd, &format!("=.id={id}")]).await?;
        Ok(())
    }

    /// Removes a user.
    pub async fn remove_hotspot_user(&self, id: &str) -> Result<(), Error> {
        self.command(&["/ip/hotspot/user/remove", &format!("=.id={id}")])
            .await?;
        Ok(())
    }

    /// Zeroes a user's uptime and byte counters.
    pub async fn reset_hotspot_user_counters(&self, id: &str) -> Result<(), Error> {
        self.command(&["/ip/hotspot/user/reset-counters", &format!("=.id={id}")])
            .await?;
        Ok(())
    }

    /// All active sessions.
    pub async fn active_sessions(&self) -> Result<Vec<ActiveSession>, Error> {
        let props = format!("=.proplist={ACTIVE_PROPS}");
        let reply = self.command(&["/ip/hotspot/active/print", &props]).await?;
        reply.rows.iter().map(ActiveSession::from_row).collect()
    }

    /// Logs a session out.
    pub async fn remove_active_session(&self, id: &str) -> Result<(), Error> {
        self.command(&["/ip/hotspot/active/remove", &format!("=.id={id}")])
            .await?;
        Ok(())
    }

    /// All user profiles.
    pub async fn user_profiles(&self) -> Result<Vec<UserProfile>, Error> {
        let reply = self.command(&["/ip/hotspot/user/profile/print"]).await?;
        reply.rows.iter().map(UserProfile::from_row).collect()
    }

    /// Adds the profile by name, or sets the given fields on the existing one.
    pub async fn upsert_user_profile(&self, p: &UserProfile) -> Result<(), Error> {
        let q = format!("?name={}", p.name);
        let existing = self
            .command(&["/ip/hotspot/user/profile/print", "=.proplist=.id", &q])
            .await?;
        let mut words = Vec::new();
        match existing.rows.first().and_then(|r| r.get(".id")) {
            Some(id) => {
                words.push("/ip/hotspot/user/profile/set".to_string());
                words.push(format!("=.id={id}"));
            }
            None => {
                words.push("/ip/hotspot/user/profile/add".to_string());
                words.push(format!("=name={}", p.name));
            }
        }
        if let Some(r) = &p.rate_limit {
            words.push(format!("=rate-limit={r}"));
        }
        if let Some(s) = p.shared_users {
            words.push(format!("=shared-users={s}"));
        }
        if let Some(d) = p.session_timeout {
            words.push(format!("=session-timeout={}", format_duration(d)));
        }
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        self.command(&refs).await?;
        Ok(())
    }

    /// Removes a profile.
    pub async fn remove_user_profile(&self, id: &str) -> Result<(), Error> {
        self.command(&["/ip/hotspot/user/profile/remove", &format!("=.id={id}")])
            .await?;
        Ok(())
    }
}
