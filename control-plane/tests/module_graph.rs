//! The control plane's modules import one way: features use the layers below them and never
//! each other in a circle. Only the assembly (`app`, which holds the shared state and error type
//! and merges every feature's routes) is imported by features it also imports. The agent's
//! modules (read from `../agent/src`) import one way with no exception.
//!
//! Read from the sources: a module `a` uses `b` when a non-test file under `src/a` names
//! `crate::b` (in a path or a `use crate::{...}` list); comments and test modules are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The control plane's modules that assemble the others and so may be part of a cycle.
const ASSEMBLY: &[&str] = &["app"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn is_test_file(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    rel.contains("/tests/")
        || name == "tests.rs"
        || name.starts_with("tests_")
        || name.starts_with("suite")
        || name == "testutil.rs"
}

/// The text of a source file without comments and without its `#[cfg(test)] mod x { ... }`.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if let Some(at) = out.find("#[cfg(test)]\nmod tests {") {
        out.truncate(at);
    }
    out
}

/// Every identifier following `crate::`, and those listed in `use crate::{...}`.
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(list) = rest.strip_prefix('{') {
            let end = list.find('}').unwrap_or(list.len());
            for item in list[..end].split(',') {
                names.insert(ident(item.trim()));
            }
        } else {
            names.insert(ident(rest));
        }
    }
    names
}

/// Which top-level module of the crate in `src` uses which.
fn graph_of(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let src = src.to_path_buf();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            let name = name.strip_suffix(".rs").unwrap_or(&name).to_owned();
            (name != "lib" && name != "main").then_some(name)
        })
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let top = rel
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_owned();
        if !modules.contains(&top) || is_test_file(&rel) {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        for used in named_modules(&code) {
            if used != top && modules.contains(&used) {
                edges.entry(top.clone()).or_default().insert(used);
            }
        }
    }
    edges
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    graph_of(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

/// A path from `from` back to itself, avoiding `assembly`, if there is one.
fn cycle_through(
    from: &str,
    edges: &BTreeMap<String, BTreeSet<String>>,
    assembly: &[&str],
) -> Option<Vec<String>> {
    let mut stack = vec![(from.to_owned(), vec![from.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in edges.get(&at).into_iter().flatten() {
            if assembly.contains(&next.as_str()) {
                continue;
            }
            if next == from {
                let mut cycle = path.clone();
                cycle.push(from.to_owned());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

/// Every cycle of `edges` that does not pass through `assembly`, one line each.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>, assembly: &[&str]) -> Vec<String> {
    edges
        .keys()
        .filter(|m| !assembly.contains(&m.as_str()))
        .filter_map(|m| cycle_through(m, edges, assembly))
        .map(|c| c.join(" -> "))
        .collect()
}

#[test]
fn modules_import_one_way_outside_the_assembly() {
    let edges = graph();
    assert!(
        edges.len() > 20,
        "the source walk found too few modules: {edges:?}"
    );
    let found = cycles(&edges, ASSEMBLY);
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn the_agents_modules_import_one_way() {
    let edges = graph_of(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent/src"));
    assert!(
        edges.len() > 10,
        "the source walk found too few agent modules: {edges:?}"
    );
    let found = cycles(&edges, &[]);
    assert!(
        found.is_empty(),
        "agent import cycles:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_reader_finds_a_known_use() {
    // `tokens` sells through the store: if the walk missed that, it would miss cycles too.
    assert!(graph()["tokens"].contains("store"));
}
