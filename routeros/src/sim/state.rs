//! The simulated router's data: hotspot users, profiles, sessions, cookies, system figures.
//!
//! Strings hold the wire bytes as Latin-1 (one char per byte), so any byte sequence a client
//! sends is stored and echoed unchanged.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use super::Row;
use crate::values::{format_bool, format_duration, parse_duration};

/// Which table a change belongs to (for `listen` / `=follow=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `/ip/hotspot/user`.
    Users,
    /// `/ip/hotspot/user/profile`.
    Profiles,
    /// `/ip/hotspot/active`.
    Active,
    /// `/ip/hotspot/cookie`.
    Cookies,
}

/// One change notification.
#[derive(Debug, Clone)]
pub struct Change {
    /// The table.
    pub table: Table,
    /// Item id.
    pub id: u32,
    /// The item was removed.
    pub dead: bool,
}

/// A hotspot user; `props` holds the settable properties as the wire shows them.
#[derive(Debug, Clone)]
pub struct User {
    /// Internal id (`*N` on the wire).
    pub id: u32,
    /// Settable properties by wire name.
    pub props: BTreeMap<String, String>,
    /// Time logged in so far.
    pub uptime: Duration,
    /// Bytes received from the client.
    pub bytes_in: u64,
    /// Bytes sent to the client.
    pub bytes_out: u64,
    /// Packets received from the client.
    pub packets_in: u64,
    /// Packets sent to the client.
    pub packets_out: u64,
    /// The built-in `default-trial` entry.
    pub builtin: bool,
}

/// A user profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Internal id (`*N` on the wire).
    pub id: u32,
    /// Settable properties by wire name.
    pub props: BTreeMap<String, String>,
    /// The built-in `default` profile.
    pub builtin: bool,
}

/// An active session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Internal id (`*N` on the wire).
    pub id: u32,
    /// The hotspot user logged in.
    pub user: String,
    /// Client IP address.
    pub address: String,
    /// Client MAC address.
    pub mac: String,
    /// How the client logged in (`http-chap`, `cookie`, ...).
    pub login_by: String,
    /// Time since login.
    pub uptime: Duration,
    /// Bytes received from the client.
    pub bytes_in: u64,
    /// Bytes sent to the client.
    pub bytes_out: u64,
}

/// A MAC cookie.
#[derive(Debug, Clone)]
pub struct Cookie {
    /// Internal id (`*N` on the wire).
    pub id: u32,
    /// The hotspot user it logs in.
    pub user: String,
    /// The MAC address it belongs to.
    pub mac: String,
    /// Time until it lapses.
    pub expires_in: Duration,
}

/// Everything the router knows.
#[derive(Debug)]
pub struct RouterState {
    /// Hotspot users.
    pub users: super::users::Users,
    /// User profiles.
    pub profiles: Vec<Profile>,
    /// Active sessions.
    pub sessions: Vec<Session>,
    /// MAC cookies.
    pub cookies: Vec<Cookie>,
    next_id: u32,
    /// `/system identity` name.
    pub identity: String,
    /// RouterOS version reported.
    pub version: String,
    /// Board name reported.
    pub board_name: String,
    /// When the simulated router started.
    pub started: Instant,
    /// Simulated time added by `advance`, on top of wall-clock time since start.
    pub advanced: Duration,
    /// Next client address to hand out.
    pub next_address: u32,
    /// Every change, for `listen` streams.
    pub changes: broadcast::Sender<Change>,
    /// State of the deterministic random numbers.
    pub rng_state: u64,
    /// The memory log (`/log`).
    pub log: super::log::Log,
    /// Items of the plainer menus (`/system/script`, `/queue/simple`, ...).
    pub generic: super::generic::Menus,
}

/// Properties from name/value pairs.
pub fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Formats an id as the API shows it (`*1A`).
pub fn fmt_id(id: u32) -> String {
    format!("*{id:X}")
}

impl RouterState {
    /// A fresh router with the built-in `default` profile and `default-trial` user.
    pub fn new(identity: String, version: String, board_name: String) -> Self {
        let (changes, _) = broadcast::channel(1024);
        let default_profile = Profile {
            id: 0,
            builtin: true,
            props: props(&[
                ("name", "default"),
                ("idle-timeout", "none"),
                ("keepalive-timeout", "2m"),
                ("status-autorefresh", "1m"),
                ("shared-users", "1"),
                ("add-mac-cookie", "true"),
                ("mac-cookie-timeout", "3d"),
                ("address-list", ""),
                ("transparent-proxy", "false"),
                ("open-status-page", "always"),
                ("advertise", "false"),
            ]),
        };
        let trial = User {
            id: 0,
            builtin: true,
            props: props(&[
                ("name", "default-trial"),
                ("server", "all"),
                ("profile", "default"),
                ("comment", "counters and limits for trial users"),
                ("disabled", "false"),
            ]),
            uptime: Duration::ZERO,
            bytes_in: 0,
            bytes_out: 0,
            packets_in: 0,
            packets_out: 0,
        };
        RouterState {
            users: {
                let mut u = super::users::Users::default();
                u.insert(trial);
                u
            },
            profiles: vec![default_profile],
            sessions: Vec::new(),
            cookies: Vec::new(),
            next_id: 1,
            identity,
            version,
            board_name,
            started: Instant::now(),
            advanced: Duration::ZERO,
            next_address: 10,
            changes,
            rng_state: 0x9E37_79B9_7F4A_7C15,
            log: Default::default(),
            generic: Default::default(),
        }
    }

    /// A new item id (shared counter, as ids are unique per menu anyway).
    pub fn alloc_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Tells `listen`/`follow` streams about a change.
    pub fn notify(&self, table: Table, id: u32, dead: bool) {
        let _ = self.changes.send(Change { table, id, dead });
    }

    /// Cheap deterministic pseudo-random numbers (xorshift) for moving figures.
    pub fn rand(&mut self) -> u64 {
        let mut x = self.rng_state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng_state = x;
        x
    }

    /// System uptime: wall-clock since start plus simulated advances.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed() + self.advanced
    }

    /// The user named `name`.
    pub fn user_by_name(&self, name: &str) -> Option<&User> {
        self.users.by_name(name)
    }

    /// The profile named `name`.
    pub fn profile_by_name(&self, name: &str) -> Option<&Profile> {
        self.profiles
            .iter()
            .find(|p| p.props.get("name").is_some_and(|n| n == name))
    }

    /// The user's profile `session-timeout`, if set and non-zero.
    pub fn session_timeout_for(&self, user: &User) -> Option<Duration> {
        let profile = user
            .props
            .get("profile")
            .map(String::as_str)
            .unwrap_or("default");
        self.profile_by_name(profile)
            .and_then(|p| p.props.get("session-timeout"))
            .and_then(|v| parse_duration(v).ok())
            .filter(|d| !d.is_zero())
    }

    /// Time a session may still run, when a time limit applies.
    pub fn time_left(&self, s: &Session) -> Option<Duration> {
        let user = self.user_by_name(&s.user)?;
        let by_limit = user_limit(user, "limit-uptime")
            .map(|l| Duration::from_millis(l).saturating_sub(user.uptime));
        let by_timeout = self
            .session_timeout_for(user)
            .map(|t| t.saturating_sub(s.uptime));
        match (by_limit, by_timeout) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A user as `print` shows it.
    pub fn user_row(&self, u: &User) -> Row {
        let mut row: Row = u
            .props
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        row.insert(".id".into(), fmt_id(u.id));
        row.insert("uptime".into(), format_duration(u.uptime));
        row.insert("bytes-in".into(), u.bytes_in.to_string());
        row.insert("bytes-out".into(), u.bytes_out.to_string());
        row.insert("packets-in".into(), u.packets_in.to_string());
        row.insert("packets-out".into(), u.packets_out.to_string());
        row.insert("dynamic".into(), "false".into());
        row.insert("default".into(), format_bool(u.builtin).into());
        row
    }

    /// A profile as `print` shows it.
    pub fn profile_row(&self, p: &Profile) -> Row {
        let mut row: Row = p
            .props
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        row.insert(".id".into(), fmt_id(p.id));
        row.insert("default".into(), format_bool(p.builtin).into());
        row
    }

    /// An active session as `print` shows it.
    pub fn session_row(&self, s: &Session) -> Row {
        let mut row = Row::new();
        row.insert(".id".into(), fmt_id(s.id));
        row.insert("server".into(), "hotspot1".into());
        row.insert("user".into(), s.user.clone());
        row.insert("address".into(), s.address.clone());
        row.insert("mac-address".into(), s.mac.clone());
        row.insert("login-by".into(), s.login_by.clone());
        row.insert("uptime".into(), format_duration(s.uptime));
        row.insert("idle-time".into(), "0s".into());
        row.insert("keepalive-timeout".into(), "2m".into());
        row.insert("bytes-in".into(), s.bytes_in.to_string());
        row.insert("bytes-out".into(), s.bytes_out.to_string());
        row.insert("packets-in".into(), (s.bytes_in / 1000).to_string());
        row.insert("packets-out".into(), (s.bytes_out / 1000).to_string());
        row.insert("radius".into(), "false".into());
        row.insert("blocked".into(), "false".into());
        if let Some(left) = self.time_left(s) {
            row.insert("session-time-left".into(), format_duration(left));
        }
        if let Some(user) = self.user_by_name(&s.user) {
            if let Some(l) = user_limit(user, "limit-bytes-total") {
                let used = user.bytes_in + user.bytes_out;
                row.insert(
                    "limit-bytes-total".into(),
                    l.saturating_sub(used).to_string(),
                );
            }
        }
        row
    }

    /// A cookie as `print` shows it.
    pub fn cookie_row(&self, c: &Cookie) -> Row {
        let mut row = Row::new();
        row.insert(".id".into(), fmt_id(c.id));
        row.insert("user".into(), c.user.clone());
        row.insert("domain".into(), String::new());
        row.insert("mac-address".into(), c.mac.clone());
        row.insert("expires-in".into(), format_duration(c.expires_in));
        row.retain(|_, v| !v.is_empty());
        row
    }

    /// Rows of a table, in id order.
    pub fn rows(&self, table: Table) -> Vec<(u32, Row)> {
        self.rows_keyed(table, None)
    }

    /// Rows whose key property (`name` for users and profiles, `user` for sessions and
    /// cookies) equals `key`, or all rows; lets `?name=X` skip rendering every other item.
    pub fn rows_keyed(&self, table: Table, key: Option<&str>) -> Vec<(u32, Row)> {
        let hit = |v: Option<&String>| key.is_none_or(|k| v.is_some_and(|v| v == k));
        match table {
            Table::Users => match key {
                Some(k) => self
                    .users
                    .by_name(k)
                    .map(|u| (u.id, self.user_row(u)))
                    .into_iter()
                    .collect(),
                None => self
                    .users
                    .iter()
                    .map(|u| (u.id, self.user_row(u)))
                    .collect(),
            },
            Table::Profiles => self
                .profiles
                .iter()
                .filter(|p| hit(p.props.get("name")))
                .map(|p| (p.id, self.profile_row(p)))
                .collect(),
            Table::Active => self
                .sessions
                .iter()
                .filter(|s| hit(Some(&s.user)))
                .map(|s| (s.id, self.session_row(s)))
                .collect(),
            Table::Cookies => self
                .cookies
                .iter()
                .filter(|c| hit(Some(&c.user)))
                .map(|c| (c.id, self.cookie_row(c)))
                .collect(),
        }
    }

    /// One row by id.
    pub fn row(&self, table: Table, id: u32) -> Option<Row> {
        match table {
            Table::Users => self.users.get(id).map(|u| self.user_row(u)),
            Table::Profiles => self
                .profiles
                .iter()
                .find(|p| p.id == id)
                .map(|p| self.profile_row(p)),
            Table::Active => self
                .sessions
                .iter()
                .find(|s| s.id == id)
                .map(|s| self.session_row(s)),
            Table::Cookies => self
                .cookies
                .iter()
                .find(|c| c.id == id)
                .map(|c| self.cookie_row(c)),
        }
    }
}

/// A numeric limit (limit-uptime in milliseconds, limit-bytes-* in bytes) when set and non-zero.
pub fn user_limit(u: &User, key: &str) -> Option<u64> {
    let v = u.props.get(key)?;
    let n = if key == "limit-uptime" {
        u64::try_from(parse_duration(v).ok()?.as_millis()).unwrap_or(u64::MAX)
    } else {
        v.parse().ok()?
    };
    (n > 0).then_some(n)
}
