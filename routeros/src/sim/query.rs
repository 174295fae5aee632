//! The `print` query stack engine (API-NOTES §2.4) and `.proplist` filtering.

use std::cmp::Ordering;

use super::Row;

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

fn compare(a: &str, b: &str) -> Ordering {
    match (a.parse::<i128>(), b.parse::<i128>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
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
            QueryWord::Eq(k, v) => row.get(k).is_some_and(|x| x == v),
            QueryWord::Lt(k, v) => row.get(k).is_some_and(|x| compare(x, v).is_lt()),
            QueryWord::Gt(k, v) => row.get(k).is_some_and(|x| compare(x, v).is_gt()),
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
}
