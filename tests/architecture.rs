//! The house rules, checked: imports between the top-level modules of `src/` run one way
//! (evidence ← collectors; evidence ← diagnose ← report), none runs back up a layer, there is
//! no import cycle, every src file stays under 600 lines and starts with a module doc comment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which top-level modules each module may import (test code excluded).
const ALLOWED: &[(&str, &[&str])] = &[
    // plain data: imports nothing of the crate
    ("evidence", &[]),
    ("deadline", &[]),
    // pure verdicts over the evidence
    ("diagnose", &["evidence"]),
    // one model rendered; the sinks deliver it through the SDK boundary
    ("report", &["evidence", "diagnose", "aws"]),
    // collectors: the only I/O, returning evidence
    ("net", &["evidence"]),
    ("aws", &["evidence", "net", "deadline"]),
    ("context", &["evidence", "aws"]),
    (
        "probe",
        &[
            "evidence", "deadline", "net", "aws", "context", "config", "signal",
        ],
    ),
    // settings: the command line and the config file merged once
    ("cli", &[]),
    (
        "config",
        &["cli", "evidence", "diagnose", "report", "iam_policy"],
    ),
    ("iam_policy", &[]),
    // stop signals, as a token the collectors and main act on
    ("signal", &["evidence"]),
    // check --watch: the loop over whole runs (the pure part is report::watch)
    (
        "watch",
        &[
            "evidence", "diagnose", "report", "probe", "config", "signal",
        ],
    ),
];

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`src/diagnose/checks/dns.rs` → `diagnose`).
fn module_of(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The top-level modules a file's non-test code names as `crate::<module>`, also inside
/// `use crate::{a, b::c}` groups.
fn imports(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let code = code.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let names: Vec<String> = if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end]
                .split(',')
                .map(|s| s.trim().split("::").next().unwrap_or("").to_string())
                .collect()
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            vec![rest[..end].to_string()]
        };
        out.extend(names.into_iter().filter(|n| modules.contains(n)));
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(f))
        .filter(|m| m != "lib" && m != "main" && m != "testutil")
        .collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let m = module_of(f);
        if !modules.contains(&m) {
            continue;
        }
        let code = std::fs::read_to_string(f).unwrap();
        let deps = imports(&code, &modules);
        g.entry(m.clone())
            .or_default()
            .extend(deps.into_iter().filter(|d| *d != m));
    }
    g
}

#[test]
fn imports_run_one_way() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut bad = Vec::new();
    for (m, deps) in graph() {
        let Some(ok) = allowed.get(m.as_str()) else {
            bad.push(format!(
                "{m}: a new top-level module: add it to ALLOWED in tests/architecture.rs"
            ));
            continue;
        };
        for d in deps {
            if !ok.contains(&d.as_str()) {
                bad.push(format!("{m} imports {d}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "imports against the layering:\n  {}",
        bad.join("\n  ")
    );
}

#[test]
fn no_import_cycle() {
    let g = graph();
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for d in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in g.keys() {
        if let Some(c) = visit(n, &g, &mut vec![], &mut done) {
            panic!("import cycle: {}", c.join(" → "));
        }
    }
}

#[test]
fn files_are_small_and_documented() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut bad = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.strip_prefix(src()).unwrap().display().to_string();
        let lines = text.lines().count();
        if lines > 600 {
            bad.push(format!("{name}: {lines} lines (at most 600)"));
        }
        if !text.trim_start().starts_with("//!") {
            bad.push(format!("{name}: no //! module doc comment on top"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_checker_sees_imports() {
    let modules: BTreeSet<String> = ["evidence", "diagnose", "report"].map(String::from).into();
    let code = "use crate::evidence::X;\nuse crate::{diagnose::Y, report};\n#[cfg(test)]\nuse crate::probe;";
    let got = imports(code, &modules);
    assert_eq!(
        got,
        ["diagnose", "evidence", "report"].map(String::from).into()
    );
}
