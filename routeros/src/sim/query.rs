//! The `print` query stack engine (API-NOTES §2.4) and `.proplist` filtering.

use std::cmp::Ordering;

use super::Row;
use crate::values::{parse_bool, parse_duration};

/// One parsed query word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryWord {
    /// `?name`: the item has the property.
    Has(String),
    /// `?-name`: the item lacks the property.
    Lacks(String),
    /// `?name=x` / `?=name=x`.
    Eq(String, String),
    /// `?<name=x`.
    Lt(String, String),
    /// `?>name=x`.
    Gt(String, String),
    /// `?#ops`.
    Ops(String),
}

/// Parses a word that starts with `?`; `None` for anything else.
pub fn parse_query_word(word: &str) -> Option<QueryWord> {
    let q = word.strip_prefix('?')?;
    let kv = |s: &str| match s.split_once('=') {
        Some((k, v)) => (k.to_string(), v.to_string()),
        None => (s.to_string(), String::new()),
    };
    Some(if let Some(ops) = q.strip_prefix('#') {
        QueryWord::Ops(ops.to_string())
    } else if let Some(r) = q.strip_prefix('=') {
        let (k, v) = kv(r);
        QueryWord::Eq(k, v)
    } else if let Some(r) = q.strip_prefix('<') {
        let (k, v) = kv(r);
        QueryWord::Lt(k, v)
    } else if let Some(r) = q.strip_prefix('>') {
        let (k, v) = kv(r);
        QueryWord::Gt(k, v)
    } else if let Some(r) = q.strip_prefix('-') {
        QueryWord::Lacks(r.to_string())
    } else if q.contains('=') {
        let (k, v) = kv(q);
        QueryWord::Eq(k, v)
    } else {
        QueryWord::Has(q.to_string())
    })
}

/// Properties RouterOS keeps as durations: a query value is read as one, so Mikhmon's
/// `?uptime=00:00:00` finds the users whose `uptime` prints as `0s`.
const DURATION_PROPS: &[&str] = &[
    "uptime",
    "limit-uptime",
    "session-timeout",
    "idle-timeout",
    "keepalive-timeout",
    "idle-time",
    "session-time-left",
    "login-timeout",
    "mac-cookie-timeout",
    "status-autorefresh",
    "interval",
    "lease-time",
    "run-time",
    "time-left",
];

/// Properties RouterOS keeps as booleans (`yes`/`no` and `true`/`false` are the same value).
const BOOL_PROPS: &[&str] = &[
    "disabled",
    "dynamic",
    "default",
    "running",
    "invalid",
    "blocked",
    "radius",
    "bypassed",
    "slave",
    "transparent-proxy",
    "add-mac-cookie",
    "open-status-page",
];

/// Compares a stored value with a query value as RouterOS does: by the property's type
/// (durations, booleans, numbers), and as text when either side is not of that type.
fn compare(key: &str, stored: &str, query: &str) -> Ordering {
    if DURATION_PROPS.contains(&key) {
        if let (Ok(x), Ok(y)) = (parse_duration(stored), parse_duration(query)) {
            return x.cmp(&y);
        }
    }
    if BOOL_PROPS.contains(&key) {
        if let (Ok(x), Ok(y)) = (parse_bool(stored), parse_bool(query)) {
            return x.cmp(&y);
        }
    }
    match (stored.parse::<i128>(), query.parse::<i128>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => stored.cmp(query),
    }
}

/// A stack that behaves as if it had infinitely many `true` below its bottom.
struct Stack(Vec<bool>);

impl Stack {
    fn pop(&mut self) -> bool {
        self.0.pop().unwrap_or(true)
    }
    fn get(&self, index: usize) -> bool {
        let len = self.0.len();
        if index < len {
            self.0[len - 1 - index]
        } else {
            true
        }
    }
}

fn apply_ops(stack: &mut Stack, ops: &str) {
    let b = ops.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let index: usize = ops[start..i].parse().unwrap_or(usize::MAX);
            let v = stack.get(index);
            if i == b.len() {
                stack.0 = vec![v];
                return;
            }
            stack.0.push(v);
            if b[i] == b'.' {
                i += 1;
            }
            continue;
        }
        match c {
            b'!' => {
                let v = stack.pop();
                stack.0.push(!v);
            }
            b'&' => {
                let (x, y) = (stack.pop(), stack.pop());
                stack.0.push(x && y);
            }
            b'|' => {
                let (x, y) = (stack.pop(), stack.pop());
                stack.0.push(x || y);
            }
            b'.' => {
                let v = stack.get(0);
                stack.0.push(v);
            }
            _ => {}
        }
        i += 1;
    }
}

/// True if `row` is selected by `query` (an empty query selects everything).
pub fn matches(row: &Row, query: &[QueryWord]) -> bool {
    let mut stack = Stack(Vec::new());
    for q in query {
        let v = match q {
            QueryWord::Has(k) => row.contains_key(k),
            QueryWord::Lacks(k) => !row.contains_key(k),
            QueryWord::Eq(k, v) => row
                .get(k)
                .is_some_and(|x| x == v || compare(k, x, v).is_eq()),
            QueryWord::Lt(k, v) => row.get(k).is_some_and(|x| compare(k, x, v).is_lt()),
            QueryWord::Gt(k, v) => row.get(k).is_some_and(|x| compare(k, x, v).is_gt()),
            QueryWord::Ops(ops) => {
                apply_ops(&mut stack, ops);
                continue;
            }
        };
        stack.0.push(v);
    }
    stack.0.iter().all(|&b| b)
}

/// Keeps only the listed properties (`.proplist=a,b`); `None` keeps everything.
pub fn project(row: Row, proplist: Option<&[String]>) -> Row {
    match proplist {
        None => row,
        Some(keep) => row
            .into_iter()
            .filter(|(k, _)| keep.iter().any(|p| p == k))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> Row {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn q(words: &[&str]) -> Vec<QueryWord> {
        words.iter().filter_map(|w| parse_query_word(w)).collect()
    }

    #[test]
    fn stack_semantics() {
        let ether = row(&[("type", "ether"), ("mtu", "1500")]);
        let vlan = row(&[("type", "vlan"), ("mtu", "1400")]);
        let wlan = row(&[("type", "wlan")]);
        let or = q(&["?type=ether", "?type=vlan", "?#|"]);
        assert!(matches(&ether, &or) && matches(&vlan, &or) && !matches(&wlan, &or));
        let not = q(&["?=type=ether", "?#!"]);
        assert!(!matches(&ether, &not) && matches(&vlan, &not));
        let and = q(&["?type=ether", "?mtu=1500"]);
        assert!(matches(&ether, &and) && !matches(&vlan, &and));
        assert!(matches(&wlan, &q(&["?-mtu"])) && !matches(&ether, &q(&["?-mtu"])));
        assert!(matches(&ether, &q(&["?mtu"])));
        assert!(matches(&ether, &q(&["?>mtu=1400"])) && !matches(&vlan, &q(&["?>mtu=1400"])));
        assert!(matches(&vlan, &q(&["?<mtu=1500"])));
        // numeric, not lexicographic: 900 < 1400
        assert!(matches(&row(&[("mtu", "900")]), &q(&["?<mtu=1400"])));
        let three = q(&["?type=ether", "?type=vlan", "?type=wlan", "?#||"]);
        assert!(matches(&wlan, &three) && matches(&ether, &three));
        // index copy then replace: "?#0" leaves only the top
        let only_top = q(&["?type=wlan", "?type=ether", "?#0"]);
        assert!(matches(&ether, &only_top) && !matches(&wlan, &only_top));
        // "1.": copy index 1 (no-op dot); then & with top
        let copy = q(&["?type=ether", "?mtu=1500", "?#1.&"]);
        assert!(matches(&ether, &copy));
    }

    #[test]
    fn values_are_compared_as_their_property_type() {
        let unused = row(&[("name", "A"), ("uptime", "0s"), ("disabled", "false")]);
        let used = row(&[("name", "B"), ("uptime", "1h2m"), ("disabled", "true")]);
        // Mikhmon's "remove unused vouchers" query.
        let mikhmon = q(&["?uptime=00:00:00"]);
        assert!(matches(&unused, &mikhmon) && !matches(&used, &mikhmon));
        assert!(matches(&unused, &q(&["?uptime=0s"])));
        assert!(matches(&used, &q(&["?uptime=01:02:00"])));
        assert!(matches(&used, &q(&["?uptime=3720"])));
        assert!(matches(&used, &q(&["?>uptime=1h"])) && !matches(&unused, &q(&["?>uptime=1h"])));
        assert!(matches(&used, &q(&["?<uptime=1d"])));
        assert!(
            matches(&used, &q(&["?disabled=yes"])) && !matches(&unused, &q(&["?disabled=yes"]))
        );
        assert!(matches(&unused, &q(&["?=disabled=no"])));
        // Text properties stay text: a name is not a duration.
        let named = row(&[("name", "1h")]);
        assert!(!matches(&named, &q(&["?name=01:00:00"])));
        // A value that is not of the property's type matches nothing but itself.
        assert!(!matches(&unused, &q(&["?uptime=never"])));
    }
}
