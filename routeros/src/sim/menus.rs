//! Command dispatch for the simulated menus: argument validation, exact error texts,
//! add/set/remove/enable/disable/print and the hotspot-specific verbs.

use std::collections::BTreeMap;

use super::customers;
use super::items::{add_profile, add_user, remove_items, set_items, with_ids};
use super::query::{matches, parse_query_word, project, QueryWord};
use super::server::l1;
use super::state::{RouterState, Table};
use super::Row;
use crate::proto::split_attribute;

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
    /// Splits wire words into command, attributes and query words (`.tag` is handled by the
    /// caller); bytes become Latin-1 strings.
    pub fn from_words(words: &[Vec<u8>]) -> Request {
        let mut req = Request {
            command: words.first().map(|w| l1(w)).unwrap_or_default(),
            ..Default::default()
        };
        for w in words.iter().skip(1) {
            if let Some((k, v)) = split_attribute(w) {
                req.attrs.insert(l1(k), l1(v));
            } else if w.starts_with(b"?") {
                if let Some(q) = parse_query_word(&l1(w)) {
                    req.query.push(q);
                }
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
    /// The menu followed.
    pub table: Table,
    /// Which rows it reports.
    pub query: Vec<QueryWord>,
    /// Which properties it reports (all when absent).
    pub proplist: Option<Vec<String>>,
    /// Rows sent before the first change (`print =follow=`).
    pub initial: Vec<Out>,
    /// `listen` reports removals as `.dead`; follow does too.
    pub listen: bool,
}

pub(crate) fn re(row: Row) -> Out {
    Out {
        word: "!re",
        attrs: row.into_iter().collect(),
    }
}

pub(crate) fn done() -> Out {
    Out {
        word: "!done",
        attrs: vec![],
    }
}

pub(crate) fn done_ret(ret: String) -> Out {
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
    "system/scheduler",
    "system/script",
    "log",
    "queue",
    "queue/simple",
    "ip/pool",
    "interface",
];

/// Runs one command against the router state.
pub fn execute(st: &mut RouterState, req: &mut Request, emit_empty: bool) -> Exec {
    // The command word is copied so that `req` can be handed on mutably.
    let command = req.command.clone();
    let Some(path) = command.strip_prefix('/') else {
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
    if super::generic::is_menu(menu) {
        let out = super::generic::command(st, menu, verb, req, |rows| {
            print_rows(rows, req, emit_empty)
        });
        return Exec::Done(out);
    }
    let out = match (menu, verb) {
        ("log", "print") => print_rows(st.log_rows(), req, emit_empty),
        // `/log/info =message=...` (and the other levels), as scripts write to the log.
        ("log", level @ ("info" | "warning" | "error" | "debug")) => {
            match req.attrs.get("message") {
                Some(m) => {
                    st.log(&format!("script,{level}"), m.clone());
                    vec![done()]
                }
                None => trap("missing value(s) of argument(s) message", Some(1)),
            }
        }
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

/// The value of a key-property equality (`?name=X`) that every selected row must satisfy:
/// only when the query is a plain AND of conditions (no `?#` operations).
fn key_filter(table: Table, query: &[QueryWord]) -> Option<&str> {
    let key = match table {
        Table::Users | Table::Profiles => "name",
        Table::Active | Table::Cookies => "user",
    };
    if query.iter().any(|q| matches!(q, QueryWord::Ops(_))) {
        return None;
    }
    query.iter().find_map(|q| match q {
        QueryWord::Eq(k, v) if k == key => Some(v.as_str()),
        _ => None,
    })
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
    req: &mut Request,
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
        let rows = st
            .rows_keyed(table, key_filter(table, &req.query))
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        return Exec::Done(print_rows(rows, req, emit_empty));
    }
    let out = match (table, verb) {
        (Table::Users, "add") => add_user(st, req),
        (Table::Profiles, "add") => add_profile(st, req),
        (Table::Users | Table::Profiles, "set") => set_items(st, table, req),
        (Table::Users, "comment") => set_items(st, table, req),
        (Table::Users, "enable" | "disable") => {
            req.attrs
                .insert("disabled".into(), (verb == "disable").to_string());
            set_items(st, table, req)
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
            // `ip`: the client's address, as the hotspot's own login page would pass it.
            let ip = req.attrs.get("ip").filter(|a| !a.is_empty()).cloned();
            match customers::login(st, &user, &pass, &mac, ip.as_deref(), "http-pap") {
                Ok(_) => vec![done()],
                Err(e) => trap(e, None),
            }
        }
        _ => trap("no such command", None),
    };
    Exec::Done(out)
}
