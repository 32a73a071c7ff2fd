//! docs/faults.md stays true: every row names a test (`file::function`) that exists in
//! `tests/<file>.rs`, is a test, and calls `assert_sound` (the four assertions of
//! `tests/common/fault.rs`) or, for the parsers' property tests, `prop_assert`; the catalogue
//! holds at least 30 faults.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `(line, file, function)` of every row of docs/faults.md's tables.
fn rows() -> Vec<(usize, String, String)> {
    let doc = std::fs::read_to_string(repo().join("docs/faults.md")).expect("docs/faults.md");
    let mut out = Vec::new();
    for (i, line) in doc.lines().enumerate() {
        let line = line.trim();
        if !line.starts_with('|') || line.starts_with("|---") || line.starts_with("| Fault |") {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let test = cells.last().copied().unwrap_or_default().trim_matches('`');
        let (file, func) = test.split_once("::").unwrap_or_else(|| {
            panic!(
                "docs/faults.md:{}: the last cell must be `file::test`, not {test:?}",
                i + 1
            )
        });
        out.push((i + 1, file.to_string(), func.to_string()));
    }
    out
}

/// The body of `fn name(` in `src` (up to the next line that is a lone `}`), if it is a test.
fn test_body<'a>(src: &'a str, name: &str) -> Option<&'a str> {
    let at = src.find(&format!("fn {name}("))?;
    // the attributes and doc comments right above the function must include a test attribute
    let above = &src[..src[..at].rfind('\n').unwrap_or(0)];
    let is_test = above
        .lines()
        .rev()
        .map(str::trim)
        .take_while(|l| l.starts_with("#[") || l.starts_with("///"))
        .any(|l| l.starts_with("#[test]") || l.starts_with("#[tokio::test"));
    if !is_test {
        return None;
    }
    let rest = &src[at..];
    let end = rest.find("\n}\n").map(|e| e + 3).unwrap_or(rest.len());
    Some(&rest[..end])
}

#[test]
fn every_row_names_a_test_that_asserts_soundness() {
    let rows = rows();
    let mut bad = Vec::new();
    for (line, file, func) in &rows {
        let path = repo().join("tests").join(format!("{file}.rs"));
        let Ok(src) = std::fs::read_to_string(&path) else {
            bad.push(format!("docs/faults.md:{line}: no file tests/{file}.rs"));
            continue;
        };
        match test_body(&src, func) {
            None => bad.push(format!(
                "docs/faults.md:{line}: no test fn {func} in tests/{file}.rs"
            )),
            Some(body) if !body.contains("assert_sound") && !body.contains("prop_assert") => bad
                .push(format!(
                    "docs/faults.md:{line}: {file}::{func} calls neither assert_sound nor \
                     prop_assert (a property test)"
                )),
            Some(_) => {}
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_catalogue_lists_at_least_30_faults() {
    let rows = rows();
    let faults: BTreeSet<usize> = rows.iter().map(|r| r.0).collect();
    assert!(
        faults.len() >= 30,
        "docs/faults.md lists {} faults; the catalogue promises at least 30",
        faults.len()
    );
}

#[test]
fn the_checker_rejects_what_it_should() {
    let src = "#[test]\nfn a() {\n    assert_sound(&r, 0, T);\n}\n\nfn b() {\n}\n";
    assert!(test_body(src, "a").is_some_and(|b| b.contains("assert_sound")));
    assert!(test_body(src, "b").is_none(), "b is not a test");
    assert!(test_body(src, "c").is_none());
}
