//! Customers at the hotspot: logins with a voucher, traffic, simulated time and the limits
//! that log sessions out.

use std::time::Duration;

use super::log::TOPICS_HOTSPOT;
use super::state::{user_limit, Cookie, RouterState, Session, Table};
use super::Row;
use crate::values::{date_from_days, format_date, parse_duration};

/// Logs a customer in, as the hotspot login page would (at `ip`, or the next free address);
/// returns the session id. The attempt and its outcome go to the log as RouterOS writes them.
pub fn login(
    st: &mut RouterState,
    user: &str,
    password: &str,
    mac: &str,
    ip: Option<&str>,
    login_by: &str,
) -> Result<u32, String> {
    // The next pool address is taken only by a login that succeeds.
    let host = st.next_address;
    let address = match ip {
        Some(a) => a.to_string(),
        None => format!("10.5.50.{host}"),
    };
    st.log_hotspot(
        TOPICS_HOTSPOT,
        user,
        &address,
        &format!("trying to log in by {login_by}"),
    );
    match check_login(st, user, password, mac, &address) {
        Ok((add_cookie, cookie_ttl)) => {
            if ip.is_none() {
                st.next_address = if host >= 254 { 10 } else { host + 1 };
            }
            let id = st.alloc_id();
            st.sessions.push(Session {
                id,
                user: user.to_string(),
                address: address.clone(),
                mac: mac.to_uppercase(),
                login_by: login_by.to_string(),
                uptime: Duration::ZERO,
                bytes_in: 0,
                bytes_out: 0,
            });
            st.notify(Table::Active, id, false);
            if add_cookie {
                st.cookies
                    .retain(|c| !(c.user == user && c.mac.eq_ignore_ascii_case(mac)));
                let cid = st.alloc_id();
                st.cookies.push(Cookie {
                    id: cid,
                    user: user.to_string(),
                    mac: mac.to_uppercase(),
                    expires_in: cookie_ttl,
                });
                st.notify(Table::Cookies, cid, false);
            }
            st.log_hotspot(TOPICS_HOTSPOT, user, &address, "logged in");
            Ok(id)
        }
        Err(e) => {
            st.log_hotspot(
                TOPICS_HOTSPOT,
                user,
                &address,
                &format!("login failed: {e}"),
            );
            Err(e)
        }
    }
}

/// Whether `user` may log in now; `Ok` carries the profile's cookie settings.
fn check_login(
    st: &RouterState,
    user: &str,
    password: &str,
    mac: &str,
    address: &str,
) -> Result<(bool, Duration), String> {
    let Some(u) = st.user_by_name(user).filter(|u| !u.builtin) else {
        return Err("invalid username or password".into());
    };
    if u.props.get("password").map(String::as_str).unwrap_or("") != password {
        return Err("invalid username or password".into());
    }
    if u.props.get("disabled").is_some_and(|d| d == "true") {
        return Err("user is disabled".into());
    }
    if let Some(allowed) = u.props.get("mac-address") {
        if allowed != "00:00:00:00:00:00" && !allowed.eq_ignore_ascii_case(mac) {
            return Err("your MAC address is not allowed".into());
        }
    }
    if let Some(l) = user_limit(u, "limit-uptime") {
        if u.uptime.as_millis() >= u128::from(l) {
            return Err(format!("user {user} has reached uptime limit"));
        }
    }
    if bytes_exhausted(u) {
        return Err(format!("user {user} has reached traffic limit"));
    }
    let profile = u
        .props
        .get("profile")
        .cloned()
        .unwrap_or_else(|| "default".into());
    let shared = st
        .profile_by_name(&profile)
        .and_then(|p| p.props.get("shared-users").cloned())
        .unwrap_or_else(|| "1".into());
    let add_cookie = st
        .profile_by_name(&profile)
        .is_none_or(|p| p.props.get("add-mac-cookie").is_none_or(|v| v == "true"));
    let cookie_ttl = st
        .profile_by_name(&profile)
        .and_then(|p| p.props.get("mac-cookie-timeout"))
        .and_then(|v| parse_duration(v).ok())
        .unwrap_or(Duration::from_secs(3 * 86_400));
    let in_use = st.sessions.iter().filter(|s| s.user == user).count();
    if let Ok(max) = shared.parse::<usize>() {
        if in_use >= max {
            return Err(format!("no more sessions are allowed for user {user}"));
        }
    }
    if st.sessions.iter().any(|s| s.mac.eq_ignore_ascii_case(mac)) {
        return Err("already logged in from this MAC address".into());
    }
    if st.sessions.iter().any(|s| s.address == address) {
        return Err("already logged in from this IP address".into());
    }
    Ok((add_cookie, cookie_ttl))
}

fn bytes_exhausted(u: &super::state::User) -> bool {
    let over = |key: &str, used: u64| user_limit(u, key).is_some_and(|l| used >= l);
    over("limit-bytes-in", u.bytes_in)
        || over("limit-bytes-out", u.bytes_out)
        || over("limit-bytes-total", u.bytes_in + u.bytes_out)
}

/// Ends a session by id (API `remove`, limits, customer logout), logging `cause` as RouterOS
/// does (`user request`, `admin reset`, `uptime limit reached`, ...).
pub fn logout_session(st: &mut RouterState, id: u32, cause: &str) {
    let Some(pos) = st.sessions.iter().position(|s| s.id == id) else {
        return;
    };
    let s = st.sessions.remove(pos);
    st.notify(Table::Active, id, true);
    st.log_hotspot(
        TOPICS_HOTSPOT,
        &s.user,
        &s.address,
        &format!("logged out: {cause}"),
    );
}

/// Ends every session of a user.
pub fn logout_user(st: &mut RouterState, user: &str, cause: &str) {
    let ids: Vec<u32> = st
        .sessions
        .iter()
        .filter(|s| s.user == user)
        .map(|s| s.id)
        .collect();
    for id in ids {
        logout_session(st, id, cause);
    }
}

/// Adds traffic to a user's session(s) and totals; logs out when a byte limit is reached.
pub fn use_traffic(st: &mut RouterState, user: &str, bytes_in: u64, bytes_out: u64) {
    if st.users.by_name(user).is_none() {
        return;
    }
    if let Some(s) = st.sessions.iter_mut().find(|s| s.user == user) {
        s.bytes_in += bytes_in;
        s.bytes_out += bytes_out;
    }
    let exhausted = match st.users.by_name_mut(user) {
        Some(u) => {
            u.bytes_in += bytes_in;
            u.bytes_out += bytes_out;
            u.packets_in += bytes_in.div_ceil(1000);
            u.packets_out += bytes_out.div_ceil(1000);
            bytes_exhausted(u)
        }
        None => false,
    };
    if exhausted {
        logout_user(st, user, "traffic limit reached");
    }
}

/// Moves simulated time: session and user uptimes grow, cookies age, and sessions that reach
/// `limit-uptime` or `session-timeout` are logged out at that moment.
pub fn advance(st: &mut RouterState, d: Duration) {
    st.advanced += d;
    let mut expired = Vec::new();
    for i in 0..st.sessions.len() {
        let left = st.time_left(&st.sessions[i]);
        let step = left.map_or(d, |l| l.min(d));
        let user = st.sessions[i].user.clone();
        st.sessions[i].uptime += step;
        if let Some(u) = st.users.by_name_mut(&user) {
            u.uptime += step;
        }
        if left.is_some_and(|l| l <= d) {
            let cause = match st.users.by_name(&user) {
                Some(u)
                    if user_limit(u, "limit-uptime")
                        .is_some_and(|l| u.uptime.as_millis() >= u128::from(l)) =>
                {
                    "uptime limit reached"
                }
                _ => "session timeout",
            };
            expired.push((st.sessions[i].id, cause));
        }
    }
    for (id, cause) in expired {
        logout_session(st, id, cause);
    }
    let mut gone = Vec::new();
    for c in &mut st.cookies {
        c.expires_in = c.expires_in.saturating_sub(d);
        if c.expires_in.is_zero() {
            gone.push(c.id);
        }
    }
    st.cookies.retain(|c| !gone.contains(&c.id));
    for id in gone {
        st.notify(Table::Cookies, id, true);
    }
}

/// One tick of simulated customers: time passes, some unused vouchers get used, every
/// session moves some bytes.
pub fn tick(st: &mut RouterState, profile: &super::CustomerProfile) {
    advance(st, profile.tick);
    let unused: Vec<(String, String)> = st
        .users
        .iter()
        .filter(|u| !u.builtin && u.uptime.is_zero() && u.bytes_in == 0)
        .filter(|u| u.props.get("disabled").is_none_or(|d| d != "true"))
        .filter_map(|u| {
            Some((
                u.props.get("name")?.clone(),
                u.props.get("password").cloned().unwrap_or_default(),
            ))
        })
        .collect();
    for (name, pass) in unused {
        if st.sessions.iter().any(|s| s.user == name) {
            continue;
        }
        let roll = (st.rand() % 1_000_000) as f64 / 1_000_000.0;
        if roll < profile.login_chance {
            let [a, b, c, d, e, ..] = st.rand().to_le_bytes();
            let mac = format!("02:{a:02X}:{b:02X}:{c:02X}:{d:02X}:{e:02X}");
            let _ = login(st, &name, &pass, &mac, None, "http-chap");
        }
    }
    let users: Vec<String> = st.sessions.iter().map(|s| s.user.clone()).collect();
    for u in users {
        let jitter = st.rand() % 3;
        let (bin, bout) = profile.bytes_per_tick;
        use_traffic(st, &u, bin * (jitter + 1) / 2, bout * (jitter + 1) / 2);
    }
}

/// `/system/clock` row from the host clock plus simulated advances.
pub fn clock_row(st: &RouterState) -> Row {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        + st.advanced;
    let secs = now.as_secs();
    let day = secs / 86_400;
    let t = secs % 86_400;
    let mut row = Row::new();
    row.insert(
        "time".into(),
        format!("{:02}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60),
    );
    row.insert("date".into(), format_date(date_from_days(day as i64)));
    row.insert("time-zone-autodetect".into(), "false".into());
    row.insert("time-zone-name".into(), "UTC".into());
    row.insert("gmt-offset".into(), "+00:00".into());
    row.insert("dst-active".into(), "false".into());
    row
}
