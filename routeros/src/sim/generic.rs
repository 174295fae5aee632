//! The plainer menus Mikhmon and similar tools read besides the hotspot: `/system/scheduler`,
//! `/system/script`, `/queue/simple`, `/ip/pool` and `/interface`, as lists of items with
//! print/add/set/remove/enable/disable/comment. Values are stored as given (durations
//! normalised); nothing runs (a script's `run` only counts).

use std::collections::BTreeMap;

use super::menus::{done, done_ret, trap, Out, Request};
use super::state::{fmt_id, RouterState};
use super::Row;
use crate::values::{format_duration, parse_bool, parse_duration};

/// One item of a plain menu.
#[derive(Debug, Clone)]
pub struct Item {
    /// Item id.
    pub id: u32,
    /// Properties as the wire shows them.
    pub props: BTreeMap<String, String>,
}

/// The items of every plain menu, by menu path (`system/script`, ...).
#[derive(Debug, Clone, Default)]
pub struct Menus {
    items: BTreeMap<&'static str, Vec<Item>>,
    seeded: bool,
}

/// What a plain menu accepts.
struct Spec {
    path: &'static str,
    /// Settable properties.
    keys: &'static [&'static str],
    /// Properties read as durations.
    durations: &'static [&'static str],
    /// Properties read as booleans.
    bools: &'static [&'static str],
    /// Name given to an item added without one (`script1`, ...); `None`: name required.
    auto_name: Option<&'static str>,
    /// Properties that must be set on `add`.
    required: &'static [&'static str],
    /// Items can be added and removed (`/interface` has only its ports).
    can_add: bool,
}

const POLICY: &str = "ftp,reboot,read,write,policy,test,password,sniff,sensitive,romon";

const SPECS: &[Spec] = &[
    Spec {
        path: "system/scheduler",
        keys: &[
            "name",
            "start-date",
            "start-time",
            "interval",
            "on-event",
            "policy",
            "comment",
            "disabled",
        ],
        durations: &["interval"],
        bools: &["disabled"],
        auto_name: Some("schedule"),
        required: &[],
        can_add: true,
    },
    Spec {
        path: "system/script",
        keys: &[
            "name",
            "source",
            "owner",
            "policy",
            "comment",
            "dont-require-permissions",
        ],
        durations: &[],
        bools: &["dont-require-permissions"],
        auto_name: Some("script"),
        required: &[],
        can_add: true,
    },
    Spec {
        path: "queue/simple",
        keys: &[
            "name",
            "target",
            "parent",
            "max-limit",
            "limit-at",
            "priority",
            "queue",
            "burst-limit",
            "burst-threshold",
            "burst-time",
            "packet-marks",
            "dst",
            "comment",
            "disabled",
        ],
        durations: &[],
        bools: &["disabled"],
        auto_name: Some("queue"),
        required: &["target"],
        can_add: true,
    },
    Spec {
        path: "ip/pool",
        keys: &["name", "ranges", "next-pool", "comment"],
        durations: &[],
        bools: &[],
        auto_name: Some("pool"),
        required: &["ranges"],
        can_add: true,
    },
    Spec {
        path: "interface",
        keys: &["name", "mtu", "comment", "disabled"],
        durations: &[],
        bools: &["disabled"],
        auto_name: None,
        required: &[],
        can_add: false,
    },
];

/// True when `menu` is one of the plain menus.
pub fn is_menu(menu: &str) -> bool {
    SPECS.iter().any(|s| s.path == menu)
}

fn spec(menu: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.path == menu)
}

/// The built-in ports of a small hotspot router: `ether1` uplink, `ether2`..`ether5` in `bridge`.
fn seed_interfaces(st: &mut RouterState) {
    let mut items = Vec::new();
    for (i, (name, kind)) in [
        ("ether1", "ether"),
        ("ether2", "ether"),
        ("ether3", "ether"),
        ("ether4", "ether"),
        ("ether5", "ether"),
        ("bridge", "bridge"),
    ]
    .into_iter()
    .enumerate()
    {
        let id = st.alloc_id();
        let mac = format!("48:A9:8A:10:20:{:02X}", 0x30 + i);
        let slave = kind == "ether" && name != "ether1";
        let props: BTreeMap<String, String> = [
            ("name", name),
            ("default-name", if kind == "ether" { name } else { "" }),
            ("type", kind),
            ("mtu", "1500"),
            ("actual-mtu", "1500"),
            ("l2mtu", "1598"),
            ("mac-address", &mac),
            ("running", "true"),
            ("disabled", "false"),
            ("dynamic", "false"),
            ("slave", if slave { "true" } else { "false" }),
            ("link-downs", "0"),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        items.push(Item { id, props });
    }
    st.generic.items.insert("interface", items);
}

fn items_mut<'a>(st: &'a mut RouterState, menu: &'static str) -> &'a mut Vec<Item> {
    if !st.generic.seeded {
        st.generic.seeded = true;
        seed_interfaces(st);
    }
    st.generic.items.entry(menu).or_default()
}

/// Rows for `print`, with the read-only figures each menu shows.
fn rows(st: &mut RouterState, spec: &'static Spec) -> Vec<Row> {
    let uptime = st.uptime().as_secs();
    let items = items_mut(st, spec.path).clone();
    items
        .into_iter()
        .map(|it| {
            let mut row: Row = it.props.into_iter().collect();
            row.insert(".id".into(), fmt_id(it.id));
            if spec.path == "interface" {
                // Counters that move with the router's uptime, as a live port's do.
                let bytes = uptime * 12_000 + u64::from(it.id) * 1_000;
                row.insert("rx-byte".into(), bytes.to_string());
                row.insert("tx-byte".into(), (bytes * 3).to_string());
                row.insert("rx-packet".into(), (bytes / 800).to_string());
                row.insert("tx-packet".into(), (bytes * 3 / 1200).to_string());
            }
            row
        })
        .collect()
}

/// Validates and normalises settable properties; `Err` is the trap to send.
fn validate(
    spec: &Spec,
    attrs: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, Vec<Out>> {
    let mut out = Vec::new();
    for (k, v) in attrs {
        if k == ".id" || k == "numbers" || k.starts_with('.') {
            continue;
        }
        if !spec.keys.contains(&k.as_str()) {
            return Err(trap(format!("unknown parameter {k}"), None));
        }
        let value = if spec.durations.contains(&k.as_str()) {
            match parse_duration(v) {
                Ok(d) => format_duration(d),
                Err(_) => {
                    return Err(trap(
                        format!("invalid time value for argument {k}"),
                        Some(1),
                    ))
                }
            }
        } else if spec.bools.contains(&k.as_str()) {
            match parse_bool(v) {
                Ok(b) => b.to_string(),
                Err(_) => {
                    return Err(trap(
                        format!("input does not match any value of {k}"),
                        Some(1),
                    ))
                }
            }
        } else {
            v.clone()
        };
        out.push((k.clone(), value));
    }
    Ok(out)
}

/// Resolves `.id` / `numbers` (ids or names) to ids.
fn resolve(items: &[Item], req: &Request) -> Result<Vec<u32>, Vec<Out>> {
    let Some(list) = req.attrs.get(".id").or_else(|| req.attrs.get("numbers")) else {
        return Err(trap("no such item", None));
    };
    let mut ids = Vec::new();
    for part in list.split(',').filter(|s| !s.is_empty()) {
        let found = match part.strip_prefix('*') {
            Some(hex) => match u32::from_str_radix(hex, 16) {
                Ok(id) => items.iter().find(|i| i.id == id),
                Err(_) => return Err(trap("invalid internal item number", None)),
            },
            None => items
                .iter()
                .find(|i| i.props.get("name").is_some_and(|n| n == part)),
        };
        match found {
            Some(i) => ids.push(i.id),
            None => return Err(trap("no such item", None)),
        }
    }
    if ids.is_empty() {
        return Err(trap("no such item", None));
    }
    Ok(ids)
}

const DUP_NAME: &str = "failure: item with such name already exists";

/// Runs `verb` on plain menu `menu`; `print` goes through `print` (query, proplist,
/// count-only) given by the caller.
pub fn command(
    st: &mut RouterState,
    menu: &str,
    verb: &str,
    req: &Request,
    print: impl FnOnce(Vec<Row>) -> Vec<Out>,
) -> Vec<Out> {
    let Some(spec) = spec(menu) else {
        return trap("no such command", None);
    };
    match verb {
        "print" => print(rows(st, spec)),
        "add" if spec.can_add => add(st, spec, req),
        "set" => set(st, spec, req, Vec::new()),
        "comment" => set(st, spec, req, Vec::new()),
        "enable" | "disable" if spec.bools.contains(&"disabled") => set(
            st,
            spec,
            req,
            vec![("disabled".into(), (verb == "disable").to_string())],
        ),
        "remove" if spec.can_add => {
            let items = items_mut(st, spec.path);
            match resolve(items, req) {
                Ok(ids) => {
                    items.retain(|i| !ids.contains(&i.id));
                    vec![done()]
                }
                Err(t) => t,
            }
        }
        "run" if spec.path == "system/script" => {
            let items = items_mut(st, spec.path);
            match resolve(items, req) {
                Ok(ids) => {
                    for it in items.iter_mut().filter(|i| ids.contains(&i.id)) {
                        let n: u64 = it
                            .props
                            .get("run-count")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        it.props.insert("run-count".into(), (n + 1).to_string());
                    }
                    vec![done()]
                }
                Err(t) => t,
            }
        }
        _ => trap("no such command", None),
    }
}

fn add(st: &mut RouterState, spec: &'static Spec, req: &Request) -> Vec<Out> {
    let props = match validate(spec, &req.attrs) {
        Ok(p) => p,
        Err(t) => return t,
    };
    let mut all: BTreeMap<String, String> = props.into_iter().collect();
    for key in spec.required {
        if all.get(*key).is_none_or(|v| v.is_empty()) {
            return trap(format!("failure: {key} must be set"), None);
        }
    }
    let now = super::log::clock_secs(st);
    let iso = super::server::version_at_least(&st.version, 7, 10);
    let id = st.alloc_id();
    let items = items_mut(st, spec.path);
    let name = match all.get("name").filter(|n| !n.is_empty()) {
        Some(n) => n.clone(),
        None => {
            let prefix = spec.auto_name.unwrap_or("item");
            (1..)
                .map(|n| format!("{prefix}{n}"))
                .find(|c| !items.iter().any(|i| i.props.get("name") == Some(c)))
                .unwrap_or_else(|| format!("{prefix}{id}"))
        }
    };
    if items
        .iter()
        .any(|i| i.props.get("name").is_some_and(|n| *n == name))
    {
        return trap(DUP_NAME, None);
    }
    all.insert("name".into(), name);
    let t = now % 86_400;
    let date = crate::values::date_from_days((now / 86_400) as i64);
    let date = if iso {
        crate::values::format_date(date)
    } else {
        crate::values::format_date_legacy(date)
    };
    let time = format!("{:02}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60);
    let defaults: &[(&str, &str)] = match spec.path {
        "system/scheduler" => &[
            ("start-date", date.as_str()),
            ("start-time", time.as_str()),
            ("interval", "0s"),
            ("on-event", ""),
            ("owner", "admin"),
            ("policy", POLICY),
            ("run-count", "0"),
            ("disabled", "false"),
        ],
        "system/script" => &[
            ("owner", "admin"),
            ("policy", POLICY),
            ("dont-require-permissions", "false"),
            ("run-count", "0"),
            ("source", ""),
            ("invalid", "false"),
        ],
        "queue/simple" => &[
            ("parent", "none"),
            ("max-limit", "0/0"),
            ("limit-at", "0/0"),
            ("priority", "8/8"),
            ("queue", "default-small/default-small"),
            ("burst-limit", "0/0"),
            ("burst-threshold", "0/0"),
            ("burst-time", "0s/0s"),
            ("bytes", "0/0"),
            ("packets", "0/0"),
            ("rate", "0/0"),
            ("dynamic", "false"),
            ("invalid", "false"),
            ("disabled", "false"),
        ],
        "ip/pool" => &[("next-pool", "none")],
        _ => &[],
    };
    for (k, v) in defaults {
        all.entry(k.to_string()).or_insert_with(|| v.to_string());
    }
    all.retain(|k, v| !v.is_empty() || k == "source" || k == "on-event");
    items.push(Item { id, props: all });
    vec![done_ret(fmt_id(id))]
}

fn set(
    st: &mut RouterState,
    spec: &'static Spec,
    req: &Request,
    mut extra: Vec<(String, String)>,
) -> Vec<Out> {
    let mut props = match validate(spec, &req.attrs) {
        Ok(p) => p,
        Err(t) => return t,
    };
    props.append(&mut extra);
    let items = items_mut(st, spec.path);
    let ids = match resolve(items, req) {
        Ok(ids) => ids,
        Err(t) => return t,
    };
    if let Some((_, name)) = props.iter().find(|(k, _)| k == "name") {
        let clash = items
            .iter()
            .any(|i| !ids.contains(&i.id) && i.props.get("name") == Some(name));
        if clash || ids.len() > 1 {
            return trap(DUP_NAME, None);
        }
    }
    for it in items.iter_mut().filter(|i| ids.contains(&i.id)) {
        for (k, v) in &props {
            if v.is_empty() && k == "comment" {
                it.props.remove(k);
            } else {
                it.props.insert(k.clone(), v.clone());
            }
        }
    }
    vec![done()]
}
