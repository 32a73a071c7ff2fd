//! Build script: the long version (`vpce-probe --version`) names the git commit and the target
//! triple the binary was built for, so a report or a bug can be tied to an exact build.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    // A release tarball has no .git: the commit is then "unknown". VPCE_PROBE_GIT_COMMIT wins.
    let commit = std::env::var("VPCE_PROBE_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some();
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!(
        "cargo:rustc-env=VPCE_PROBE_LONG_VERSION={} (commit {commit}{}, {target})",
        std::env::var("CARGO_PKG_VERSION").unwrap_or_default(),
        if dirty { "+dirty" } else { "" }
    );
    println!("cargo:rerun-if-env-changed=VPCE_PROBE_GIT_COMMIT");
    // Rebuild when HEAD moves (worktrees keep HEAD elsewhere: ask git where).
    if let Some(p) = git(&["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={p}");
    }
    if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(p) = git(&["rev-parse", "--git-path", &head])
    {
        println!("cargo:rerun-if-changed={p}");
    }
}
