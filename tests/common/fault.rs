//! What every test of the fault catalogue (docs/faults.md) asserts besides its verdict: the exit
//! code, a wall time bounded by the run's `--timeout` (with a margin for process start and the
//! report), no panic or backtrace, and no credential on stdout or stderr. Each call also appends
//! the measured wall time to `$CARGO_TARGET_TMPDIR/fault-times.tsv` (test, elapsed, timeout), so
//! the worst ratio across the catalogue can be read off one `make test`.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::Run;

/// Every credential the harness hands out (the IMDS emulator's role credentials and
/// `Probe::env_keys`): none may appear in any output or file the probe writes.
pub const SECRETS: &[&str] = &[
    "ASIAEMULATEDIMDSKEY0",
    "emulated-imds-secret-key",
    "emulated-imds-session-token",
    "AKIAVPCEPROBETEST01",
    "vpce-probe-test-secret-do-not-print",
];

/// The probe's default `--timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Margin over `--timeout`: process start, the report, the sinks' own (bounded) time.
pub const MARGIN: Duration = Duration::from_millis(2500);

/// Assert the exit code, the wall time (≤ `timeout` + [`MARGIN`]), no panic or backtrace and no
/// secret in the output of `run`; record the wall time.
pub fn assert_sound(run: &Run, code: i32, timeout: Duration) {
    let ctx = || format!("stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(run.code, code, "exit code\n{}", ctx());
    assert!(
        run.elapsed <= timeout + MARGIN,
        "took {:?}, more than --timeout {:?} + {:?}\n{}",
        run.elapsed,
        timeout,
        MARGIN,
        ctx()
    );
    for text in [&run.stdout, &run.stderr] {
        for bad in ["panicked at", "stack backtrace", "RUST_BACKTRACE"] {
            assert!(!text.contains(bad), "{bad:?} in the output\n{}", ctx());
        }
    }
    assert_no_secret("stdout", &run.stdout);
    assert_no_secret("stderr", &run.stderr);
    record(run.elapsed, timeout);
}

/// Assert that no credential appears in `text` (named `what` in the failure).
pub fn assert_no_secret(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "the credential {s:?} appears in {what}");
    }
}

/// Assert that no file under `dir` (a state or spool directory) holds a credential.
pub fn assert_no_secret_in_dir(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            assert_no_secret_in_dir(&p);
        } else if let Ok(bytes) = std::fs::read(&p) {
            assert_no_secret(&p.display().to_string(), &String::from_utf8_lossy(&bytes));
        }
    }
}

fn record(elapsed: Duration, timeout: Duration) {
    let test = std::thread::current()
        .name()
        .unwrap_or("unknown")
        .to_string();
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fault-times.tsv");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(
            f,
            "{}::{test}\t{:.3}\t{:.3}",
            env!("CARGO_CRATE_NAME"),
            elapsed.as_secs_f64(),
            timeout.as_secs_f64()
        );
    }
}
