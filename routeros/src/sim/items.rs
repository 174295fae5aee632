//! Item commands: reference resolution, property validation, add/set/remove, exact error texts.

use std::collections::BTreeMap;

use super::customers;
use super::menus::{done, done_ret, trap, Out, Request};
use super::state::{fmt_id, RouterState, Table, User};
use crate::values::{parse_bool, parse_duration};

/// Resolves `.id` / `numbers` (comma list of `*HEX` ids or names) to ids.
pub(crate) fn resolve(st: &RouterState, table: Table, req: &Request) -> Result<Vec<u32>, Vec<Out>> {
    let Some(list) = req.attrs.get(".id").or_else(|| req.attrs.get("numbers")) else {
        return Err(trap("no such item", None));
    };
    let mut ids = Vec::new();
    for item in list.split(',').filter(|s| !s.is_empty()) {
        let id = if let Some(hex) = item.strip_prefix('*') {
            let Ok(id) = u32::from_str_radix(hex, 16) else {
                return Err(trap("invalid internal item number", None));
            };
            exists(st, table, id).then_some(id)
        } else {
            by_name(st, table, item)
        };
        match id {
            Some(id) => ids.push(id),
            None => return Err(trap("no such item", None)),
        }
    }
    if ids.is_empty() {
        return Err(trap("no such item", None));
    }
    Ok(ids)
}

fn exists(st: &RouterState, table: Table, id: u32) -> bool {
    match table {
        Table::Users => st.users.get(id).is_some(),
        Table::Profiles => st.profiles.iter().any(|p| p.id == id),
        Table::Active => st.sessions.iter().any(|s| s.id == id),
        Table::Cookies => st.cookies.iter().any(|c| c.id == id),
    }
}

/// Items referenced by name: users and profiles only.
fn by_name(st: &RouterState, table: Table, name: &str) -> Option<u32> {
    match table {
        Table::Users => st.users.by_name(name).map(|u| u.id),
        Table::Profiles => st.profile_by_name(name).map(|p| p.id),
        Table::Active | Table::Cookies => None,
    }
}

pub(crate) fn with_ids(
    st: &mut RouterState,
    table: Table,
    req: &Request,
    f: impl FnOnce(&mut RouterState, &[u32]) -> Vec<Out>,
) -> Vec<Out> {
    match resolve(st, table, req) {
        Ok(ids) => f(st, &ids),
        Err(t) => t,
    }
}

const USER_KEYS: &[&str] = &[
    "name",
    "password",
    "profile",
    "server",
    "limit-uptime",
    "limit-bytes-in",
    "limit-bytes-out",
    "limit-bytes-total",
    "address",
    "mac-address",
    "email",
    "comment",
    "routes",
    "disabled",
];
const PROFILE_KEYS: &[&str] = &[
    "name",
    "rate-limit",
    "shared-users",
    "session-timeout",
    "idle-timeout",
    "keepalive-timeout",
    "status-autorefresh",
    "add-mac-cookie",
    "mac-cookie-timeout",
    "address-pool",
    "address-list",
    "on-login",
    "on-logout",
    "transparent-proxy",
    "advertise",
    "advertise-url",
    "advertise-interval",
    "advertise-timeout",
    "incoming-filter",
    "outgoing-filter",
    "incoming-packet-mark",
    "outgoing-packet-mark",
    "parent-queue",
    "queue-type",
    "insert-queue-before",
    "open-status-page",
];

/// Validates and normalises settable properties; `Err` is the trap to send.
fn validate(
    st: &RouterState,
    table: Table,
    attrs: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Vec<Out>> {
    let keys = if table == Table::Users {
        USER_KEYS
    } else {
        PROFILE_KEYS
    };
    let mut out = BTreeMap::new();
    for (k, v) in attrs {
        if k == ".id" || k == "numbers" || k.starts_with('.') {
            continue;
        }
        if !keys.contains(&k.as_str()) {
            return Err(trap(format!("unknown parameter {k}"), None));
        }
        let value = match k.as_str() {
            "limit-uptime" | "session-timeout" | "mac-cookie-timeout" | "keepalive-timeout"
            | "status-autorefresh" => match parse_duration(&v) {
                Ok(d) if !(k == "session-timeout" && v.is_empty()) => {
                    crate::values::format_duration(d)
                }
                _ => {
                    return Err(trap(
                        format!("invalid time value for argument {k}"),
                        Some(1),
                    ))
                }
            },
            "idle-timeout" if v == "none" => v,
            "idle-timeout" => match parse_duration(&v) {
                Ok(d) => crate::values::format_duration(d),
                Err(_) => {
                    return Err(trap(
                        format!("invalid time value for argument {k}"),
                        Some(1),
                    ))
                }
            },
            "limit-bytes-in" | "limit-bytes-out" | "limit-bytes-total" => {
                match crate::values::parse_bytes(&v) {
                    Ok(n) => n.to_string(),
                    Err(_) => return Err(trap(format!("invalid value for argument {k}"), Some(1))),
                }
            }
            // RouterOS prints MACs upper case and refuses anything else.
            "mac-address" => match crate::hotspot::normalize_mac(&v) {
                Some(m) => m,
                None => {
                    return Err(trap(
                        format!("invalid value of {k}, MAC address required"),
                        Some(1),
                    ))
                }
            },
            "shared-users" if v == "unlimited" => v,
            "shared-users" => match v.parse::<u32>() {
                Ok(n) if n > 0 => n.to_string(),
                _ => return Err(trap(format!("invalid value for argument {k}"), Some(1))),
            },
            "disabled" | "add-mac-cookie" | "transparent-proxy" | "advertise" => {
                match parse_bool(&v) {
                    Ok(b) => b.to_string(),
                    Err(_) => {
                        return Err(trap(
                            format!("input does not match any value of {k}"),
                            Some(1),
                        ))
                    }
                }
            }
            "profile" => {
                if st.profile_by_name(&v).is_none() {
                    return Err(trap("input does not match any value of profile", Some(1)));
                }
                v
            }
            "server" if v != "all" && v != "hotspot1" => {
                return Err(trap("input does not match any value of server", Some(1)));
            }
            _ => v,
        };
        out.insert(k, value);
    }
    Ok(out)
}

const DUP_USER: &str = "failure: already have user with this name for this server";
const DUP_PROFILE: &str = "failure: already have profile with such name";

pub(crate) fn add_user(st: &mut RouterState, req: &mut Request) -> Vec<Out> {
    let props = match validate(st, Table::Users, std::mem::take(&mut req.attrs)) {
        Ok(p) => p,
        Err(t) => return t,
    };
    match props.get("name") {
        None => return trap("failure: name must be set", None),
        Some(n) if n.is_empty() => return trap("failure: name must be set", None),
        Some(n) if st.user_by_name(n).is_some() => return trap(DUP_USER, None),
        Some(_) => {}
    }
    let id = st.alloc_id();
    let mut all = props;
    for (k, v) in [
        ("server", "all"),
        ("profile", "default"),
        ("disabled", "false"),
    ] {
        if !all.contains_key(k) {
            all.insert(k.to_string(), v.to_string());
        }
    }
    st.users.insert(User {
        id,
        props: all,
        uptime: Default::default(),
        bytes_in: 0,
        bytes_out: 0,
        packets_in: 0,
        packets_out: 0,
        builtin: false,
    });
    st.notify(Table::Users, id, false);
    vec![done_ret(fmt_id(id))]
}

pub(crate) fn add_profile(st: &mut RouterState, req: &mut Request) -> Vec<Out> {
    let props = match validate(st, Table::Profiles, std::mem::take(&mut req.attrs)) {
        Ok(p) => p,
        Err(t) => return t,
    };
    let name = props.get("name").cloned().unwrap_or_default();
    if name.is_empty() {
        return trap("failure: name must be set", None);
    }
    if st.profile_by_name(&name).is_some() {
        return trap(DUP_PROFILE, None);
    }
    let id = st.alloc_id();
    let mut all = st.profiles[0].props.clone();
    all.extend(props);
    st.profiles.push(super::state::Profile {
        id,
        props: all,
        builtin: false,
    });
    st.notify(Table::Profiles, id, false);
    vec![done_ret(fmt_id(id))]
}

pub(crate) fn set_items(st: &mut RouterState, table: Table, req: &mut Request) -> Vec<Out> {
    let ids = match resolve(st, table, req) {
        Ok(ids) => ids,
        Err(t) => return t,
    };
    let props = match validate(st, table, std::mem::take(&mut req.attrs)) {
        Ok(p) => p,
        Err(t) => return t,
    };
    if let Some(name) = props.get("name") {
        let clash = match table {
            Table::Users => st.user_by_name(name).map(|u| u.id),
            _ => st.profile_by_name(name).map(|p| p.id),
        };
        if clash.is_some_and(|c| !ids.contains(&c)) || (ids.len() > 1) {
            return trap(
                if table == Table::Users {
                    DUP_USER
                } else {
                    DUP_PROFILE
                },
                None,
            );
        }
    }
    for &id in &ids {
        if table == Table::Users {
            for (k, v) in &props {
                st.users.set_prop(id, k, v);
            }
            st.notify(table, id, false);
            continue;
        }
        let target = st
            .profiles
            .iter_mut()
            .find(|p| p.id == id)
            .map(|p| &mut p.props);
        let mut renamed = None;
        if let Some(p) = target {
            for (k, v) in &props {
                if let Some(old) = p.insert(k.clone(), v.clone()) {
                    if k == "name" && old != *v {
                        renamed = Some((old, v.clone()));
                    }
                }
            }
        }
        st.notify(table, id, false);
        // RouterOS keeps a reference to the profile, not its name: users follow a rename.
        if let Some((old, new)) = renamed {
            follow_profile(st, &old, &new);
        }
    }
    vec![done()]
}

pub(crate) fn remove_items(st: &mut RouterState, table: Table, req: &Request) -> Vec<Out> {
    let ids = match resolve(st, table, req) {
        Ok(ids) => ids,
        Err(t) => return t,
    };
    match table {
        Table::Users => {
            if st.users.iter().any(|u| u.builtin && ids.contains(&u.id)) {
                return trap("default trial user can not be removed", None);
            }
            for id in &ids {
                st.users.remove(*id);
            }
        }
        Table::Profiles => {
            if st.profiles.iter().any(|p| p.builtin && ids.contains(&p.id)) {
                return trap("failure: default profile can not be removed", None);
            }
            let gone: Vec<(u32, String)> = st
                .profiles
                .iter()
                .filter(|p| ids.contains(&p.id))
                .filter_map(|p| Some((p.id, p.props.get("name")?.clone())))
                .collect();
            st.profiles.retain(|p| !ids.contains(&p.id));
            // Users keep pointing at the removed item, shown by its internal id as RouterOS
            // shows any reference to a removed item; they log in with the default profile.
            for (id, name) in gone {
                follow_profile(st, &name, &fmt_id(id));
            }
        }
        Table::Active => {
            for id in &ids {
                customers::logout_session(st, *id, "admin reset");
            }
            return vec![done()];
        }
        Table::Cookies => st.cookies.retain(|c| !ids.contains(&c.id)),
    }
    for id in ids {
        st.notify(table, id, true);
    }
    vec![done()]
}

/// Points every user of profile `old` at `new` (a new name, or a removed profile's `*id`).
fn follow_profile(st: &mut RouterState, old: &str, new: &str) {
    let ids: Vec<u32> = st
        .users
        .iter()
        .filter(|u| u.props.get("profile").is_some_and(|p| p == old))
        .map(|u| u.id)
        .collect();
    for id in ids {
        st.users.set_prop(id, "profile", new);
        st.notify(Table::Users, id, false);
    }
}
