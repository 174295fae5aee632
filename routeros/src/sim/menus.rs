//! Command dispatch for the simulated menus: argument validation, exact error texts,
//! add/set/remove/enable/disable/print and the hotspot-specific verbs.

use std::collections::BTreeMap;

use super::customers;
use super::query::{matches, parse_query_word, project, QueryWord};
use super::state::{fmt_id, RouterState, Table, User};
use super::Row;
use crate::values::{parse_bool, parse_duration};

/// A request after parsing the sentence (words as Latin-1 strings).
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Command word, e.g. `/ip/hotspot/user/add`.
    pub command: String,
    /// `=k=v` attributes (later duplicates win).
    pub attrs: BTreeMap<String, String>,
    /// `?` words in order.
    pub query: Vec<QueryWord>,
}

impl Request {
    /// Splits words into command, attributes and query words (`.tag` is handled by the caller).
    pub fn parse(words: &[String]) -> Request {
        let mut req = Request {
            command: words.first().cloned().unwrap_or_default(),
            ..Default::default()
        };
        for w in words.iter().skip(1) {
            if let Some(rest) = w.strip_prefix('=') {
                let (k, v) = rest.split_once('=').unwrap_or((rest, ""));
                req.attrs.insert(k.to_string(), v.to_string());
            } else if let Some(q) = parse_query_word(w) {
                req.query.push(q);
            }
        }
        req
    }
}

/// One reply sentence before the tag is added: reply word and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Out {
    /// `!re`, `!done`, `!trap`, `!empty`.
    pub word: &'static str,
    /// Attributes in order.
    pub attrs: Vec<(String, String)>,
}

/// What a command produced.
pub enum Exec {
    /// A finished command.
    Done(Vec<Out>),
    /// A streaming command: initial rows, then changes of `table` until cancelled.
    Stream(StreamSpec),
}

/// Parameters of a running `listen` / `print =follow=`.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    pub table: Table,
    pub query: Vec<QueryWord>,
    pub proplist: Option<Vec<String>>,
    pub initial: Vec<Out>,
    /// `listen` reports removals as `.dead`; follow does too.
    pub listen: bool,
}

fn re(row: Row) -> Out {
    Out {
        word: "!re",
        attrs: row.into_iter().collect(),
    }
}

fn done() -> Out {
    Out {
        word: "!done",
        attrs: vec![],
    }
}

fn done_ret(ret: String) -> Out {
    Out {
        word: "!done",
        attrs: vec![("ret".into(), ret)],
    }
}

/// `!trap` with a message (and category), then `!done`.
pub fn trap(message: impl Into<String>, category: Option<u32>) -> Vec<Out> {
    let mut attrs = Vec::new();
    if let Some(c) = category {
        attrs.push(("category".into(), c.to_string()));
    }
    attrs.push(("message".into(), message.into()));
    vec![
        Out {
            word: "!trap",
            attrs,
        },
        done(),
    ]
}

const DIRS: &[&str] = &[
    "",
    "ip",
    "ip/hotspot",
    "ip/hotspot/user",
    "ip/hotspot/user/profile",
    "ip/hotspot/active",
    "ip/hotspot/cookie",
    "system",
    "system/resource",
    "system/identity",
    "system/clock",
];

/// Runs one command against the router state.
pub fn execute(st: &mut RouterState, req: &Request, emit_empty: bool) -> Exec {
    let Some(path) = req.command.strip_prefix('/') else {
        return Exec::Done(trap("no such command prefix", None));
    };
    let (menu, verb) = path.rsplit_once('/').unwrap_or(("", path));
    if !DIRS.contains(&menu) {
        let mut prefix = String::new();
        for seg in menu.split('/') {
            let next = if prefix.is_empty() {
                seg.to_string()
            } else {
                format!("{prefix}/{seg}")
            };
            if !DIRS.contains(&next.as_str()) {
                let mut out = trap(format!("no such command or directory ({seg})"), Some(0));
                out.pop();
                out.extend(trap("no such command prefix", None));
                return Exec::Done(out);
            }
            prefix = next;
        }
    }
    let verb = if verb == "getall" { "print" } else { verb };
    let table = match menu {
        "ip/hotspot/user" => Some(Table::Users),
        "ip/hotspot/user/profile" => Some(Table::Profiles),
        "ip/hotspot/active" => Some(Table::Active),
        "ip/hotspot/cookie" => Some(Table::Cookies),
        _ => None,
    };
    if let Some(table) = table {
        return table_command(st, table, verb, req, emit_empty);
    }
    let out = match (menu, verb) {
        ("system/resource", "print") => {
            let row = st.resource_row();
            print_rows(vec![row], req, emit_empty)
        }
        ("system/identity", "print") => {
            let row = Row::from([("name".to_string(), st.identity.clone())]);
            print_rows(vec![row], req, emit_empty)
        }
        ("system/identity", "set") => match req.attrs.get("name") {
            Some(n) if !n.is_empty() => {
                st.identity = n.clone();
                vec![done()]
            }
            _ => trap("failure: identity name can not be empty", None),
        },
        ("system/clock", "print") => print_rows(vec![customers::clock_row(st)], req, emit_empty),
        ("ip/hotspot", "print") => {
            let row = super::state::props(&[
                (".id", "*1"),
                ("name", "hotspot1"),
                ("interface", "bridge"),
                ("profile", "default"),
                ("address-pool", "hs-pool-1"),
                ("idle-timeout", "5m"),
                ("keepalive-timeout", "none"),
                ("login-timeout", "none"),
                ("addresses-per-mac", "2"),
                ("disabled", "false"),
                ("invalid", "false"),
                ("HTTPS", "false"),
            ]);
            print_rows(vec![row], req, emit_empty)
        }
        _ => trap("no such command", None),
    };
    Exec::Done(out)
}

fn proplist(req: &Request) -> Option<Vec<String>> {
    req.attrs.get(".proplist").map(|p| {
        p.split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    })
}

/// Applies query, `.proplist` and `count-only` to rows and builds the reply.
fn print_rows(rows: Vec<Row>, req: &Request, emit_empty: bool) -> Vec<Out> {
    let props = proplist(req);
    let selected: Vec<Row> = rows
        .into_iter()
        .filter(|r| matches(r, &req.query))
        .collect();
    if req.attrs.contains_key("count-only") {
        return vec![done_ret(selected.len().to_string())];
    }
    let mut out: Vec<Out> = selected
        .into_iter()
        .map(|r| re(project(r, props.as_deref())))
        .collect();
    if out.is_empty() && emit_empty {
        out.push(Out {
            word: "!empty",
            attrs: vec![],
        });
    }
    out.push(done());
    out
}

fn table_command(
    st: &mut RouterState,
    table: Table,
    verb: &str,
    req: &Request,
    emit_empty: bool,
) -> Exec {
    if verb == "print"
        && (req.attrs.contains_key("follow") || req.attrs.contains_key("follow-only"))
    {
        let initial = if req.attrs.contains_key("follow-only") {
            vec![]
        } else {
            let rows = st.rows(table).into_iter().map(|(_, r)| r).collect();
            let mut out = print_rows(rows, req, false);
            out.pop();
            out
        };
        return Exec::Stream(StreamSpec {
            table,
            query: req.query.clone(),
            proplist: proplist(req),
            initial,
            listen: false,
        });
    }
    if verb == "listen" {
        return Exec::Stream(StreamSpec {
            table,
            query: req.query.clone(),
            proplist: proplist(req),
            initial: vec![],
            listen: true,
        });
    }
    if verb == "print" {
        let rows = st.rows(table).into_iter().map(|(_, r)| r).collect();
        return Exec::Done(print_rows(rows, req, emit_empty));
    }
    let out = match (table, verb) {
        (Table::Users, "add") => add_user(st, req),
        (Table::Profiles, "add") => add_profile(st, req),
        (Table::Users | Table::Profiles, "set") => set_items(st, table, req),
        (Table::Users, "comment") => set_items(st, table, req),
        (Table::Users, "enable" | "disable") => {
            let mut r = req.clone();
            r.attrs
                .insert("disabled".into(), (verb == "disable").to_string());
            set_items(st, table, &r)
        }
        (Table::Users, "reset-counters") => with_ids(st, table, req, |st, ids| {
            for u in st.users.iter_mut().filter(|u| ids.contains(&u.id)) {
                u.uptime = Default::default();
                u.bytes_in = 0;
                u.bytes_out = 0;
                u.packets_in = 0;
                u.packets_out = 0;
            }
            vec![done()]
        }),
        (_, "remove") => remove_items(st, table, req),
        (Table::Active, "login") => {
            let user = req.attrs.get("user").cloned().unwrap_or_default();
            let pass = req.attrs.get("password").cloned().unwrap_or_default();
            let mac = req
                .attrs
                .get("mac-address")
                .cloned()
                .unwrap_or_else(|| "02:00:00:00:00:01".into());
            match customers::login(st, &user, &pass, &mac, "http-pap") {
                Ok(_) => vec![done()],
                Err(e) => trap(e, None),
            }
        }
        _ => trap("no such command", None),
    };
    Exec::Done(out)
}

/// Resolves `.id` / `numbers` (comma list of `*HEX` ids or names) to ids.
fn resolve(st: &RouterState, table: Table, req: &Request) -> Result<Vec<u32>, Vec<Out>> {
    let Some(list) = req.attrs.get(".id").or_else(|| req.attrs.get("numbers")) else {
        return Err(trap("no such item", None));
    };
    let rows = st.rows(table);
    let mut ids = Vec::new();
    for item in list.split(',').filter(|s| !s.is_empty()) {
        let id = if let Some(hex) = item.strip_prefix('*') {
            let Ok(id) = u32::from_str_radix(hex, 16) else {
                return Err(trap("invalid internal item number", None));
            };
            rows.iter().find(|(i, _)| *i == id).map(|(i, _)| *i)
        } else {
            rows.iter()
                .find(|(_, r)| r.get("name").is_some_and(|n| n == item))
                .map(|(i, _)| *i)
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

fn with_ids(
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
    attrs: &BTreeMap<String, String>,
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
            | "status-autorefresh" => match parse_duration(v) {
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
            "idle-timeout" if v == "none" => v.clone(),
            "idle-timeout" => match parse_duration(v) {
                Ok(d) => crate::values::format_duration(d),
                Err(_) => {
                    return Err(trap(
                        format!("invalid time value for argument {k}"),
                        Some(1),
                    ))
                }
            },
            "limit-bytes-in" | "limit-bytes-out" | "limit-bytes-total" => {
                match crate::values::parse_bytes(v) {
                    Ok(n) => n.to_string(),
                    Err(_) => return Err(trap(format!("invalid value for argument {k}"), Some(1))),
                }
            }
            "shared-users" if v == "unlimited" => v.clone(),
            "shared-users" => match v.parse::<u32>() {
                Ok(n) if n > 0 => n.to_string(),
                _ => return Err(trap(format!("invalid value for argument {k}"), Some(1))),
            },
            "disabled" | "add-mac-cookie" | "transparent-proxy" | "advertise" => {
                match parse_bool(v) {
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
                if st.profile_by_name(v).is_none() {
                    return Err(trap("input does not match any value of profile", Some(1)));
                }
                v.clone()
            }
            "server" if v != "all" && v != "hotspot1" => {
                return Err(trap("input does not match any value of server", Some(1)));
            }
            _ => v.clone(),
        };
        out.insert(k.clone(), value);
    }
    Ok(out)
}

const DUP_USER: &str = "failure: already have user with this name for this server";
const DUP_PROFILE: &str = "failure: already have profile with such name";

fn add_user(st: &mut RouterState, req: &Request) -> Vec<Out> {
    let props = match validate(st, Table::Users, &req.attrs) {
        Ok(p) => p,
        Err(t) => return t,
    };
    let name = props.get("name").cloned().unwrap_or_default();
    if name.is_empty() {
        return trap("failure: name must be set", None);
    }
    if st.user_by_name(&name).is_some() {
        return trap(DUP_USER, None);
    }
    let id = st.alloc_id();
    let mut all = super::state::props(&[
        ("server", "all"),
        ("profile", "default"),
        ("disabled", "false"),
    ]);
    all.extend(props);
    st.users.push(User {
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

fn add_profile(st: &mut RouterState, req: &Request) -> Vec<Out> {
    let props = match validate(st, Table::Profiles, &req.attrs) {
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

fn set_items(st: &mut RouterState, table: Table, req: &Request) -> Vec<Out> {
    let ids = match resolve(st, table, req) {
        Ok(ids) => ids,
        Err(t) => return t,
    };
    let props = match validate(st, table, &req.attrs) {
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
        let target = match table {
            Table::Users => st
                .users
                .iter_mut()
                .find(|u| u.id == id)
                .map(|u| &mut u.props),
            _ => st
                .profiles
                .iter_mut()
                .find(|p| p.id == id)
                .map(|p| &mut p.props),
        };
        if let Some(p) = target {
            for (k, v) in &props {
                p.insert(k.clone(), v.clone());
            }
        }
        st.notify(table, id, false);
    }
    vec![done()]
}

fn remove_items(st: &mut RouterState, table: Table, req: &Request) -> Vec<Out> {
    let ids = match resolve(st, table, req) {
        Ok(ids) => ids,
        Err(t) => return t,
    };
    match table {
        Table::Users => {
            if st.users.iter().any(|u| u.builtin && ids.contains(&u.id)) {
                return trap("default trial user can not be removed", None);
            }
            st.users.retain(|u| !ids.contains(&u.id));
        }
        Table::Profiles => {
            if st.profiles.iter().any(|p| p.builtin && ids.contains(&p.id)) {
                return trap("failure: default profile can not be removed", None);
            }
            st.profiles.retain(|p| !ids.contains(&p.id));
        }
        Table::Active => {
            for id in &ids {
                customers::logout_session(st, *id);
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
