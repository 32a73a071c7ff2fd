//! End to end: faults of the machine the probe runs on, and bad input. A state directory that
//! is read-only or on a full disk (real tmpfs mounts: the tests run as root) makes the spool
//! fail: a finding, never a crash, and the report still reaches stdout. A config file that
//! cannot be read, is not TOML or holds a wrong type; arguments that are not UTF-8, that are
//! huge, bucket names at the length limits: exit 2 with one clear line.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::fault::{assert_no_secret_in_dir, assert_sound};
use common::*;
use tempfile::TempDir;

/// The runs against moto (slow when the machine is busy): an explicit, generous --timeout.
const TIMEOUT: Duration = Duration::from_secs(20);

/// A tmpfs mounted on a fresh directory for the test (`opts`: `ro`, `size=…`); unmounted on
/// drop.
struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    fn mount(opts: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "vpce-probe-test"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mount -t tmpfs -o {opts} (the tests run as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fill the file system up: write until it says ENOSPC.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.path().join("filler")).unwrap();
        let block = vec![0xa5u8; 4096];
        loop {
            match f.write_all(&block).and_then(|_| f.sync_all()) {
                Ok(()) => continue,
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(28), "ENOSPC expected: {e}");
                    break;
                }
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// A healthy bucket, and a probe whose CloudWatch metrics sink cannot be reached, with `state`
/// as its state directory.
async fn run_with_failing_sink(state: &Path) -> Run {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    moto.s3()
        .create_bucket()
        .bucket("local-bucket")
        .send()
        .await
        .unwrap();
    let closed = format!("http://127.0.0.1:{}", free_port());
    Probe::new()
        .moto(&moto)
        .imds(&imds)
        .env("VPCE_PROBE_STATE_DIR", state.to_str().unwrap())
        .env("AWS_ENDPOINT_URL_CLOUDWATCH", &closed)
        .args([
            "check",
            "--bucket",
            "local-bucket",
            "--output",
            "json",
            "--sink",
            "cloudwatch-metrics",
            "--sink-timeout",
            "2",
            "--timeout",
            "20",
            "-vvv",
        ])
        .run()
}

/// The S3 checks passed: the local fault touched only the spool.
fn s3_checks_pass(r: &serde_json::Value) {
    for name in ["s3_head_bucket", "s3_put", "s3_get", "s3_delete"] {
        assert_eq!(check(r, 0, name)["status"], "pass", "{name}");
    }
}

#[tokio::test]
async fn read_only_state_dir_the_spool_failure_is_a_finding() {
    let state = Tmpfs::mount("ro,size=1m");
    let run = run_with_failing_sink(state.path()).await;
    // the sink's time is on top of --timeout: --sink-timeout 2 fits in the margin
    assert_sound(&run, 1, TIMEOUT);
    let r = run.json(); // the report reached stdout, whole
    s3_checks_pass(&r);
    let sink = &r["sinks"][0];
    assert_eq!(sink["spooled"], false, "{sink}");
    let why = sink["spool_error"].as_str().expect("spool_error");
    assert!(why.contains("Read-only file system"), "{why}");
    let codes = finding_codes(&r);
    assert!(codes.contains(&"sink_failed".to_string()), "{codes:?}");
    let f = finding(&r, "spool_write_failed");
    assert_eq!(f["severity"], "error");
    assert!(
        f["hint"]
            .as_str()
            .unwrap()
            .contains(&state.path().display().to_string()),
        "{f}"
    );
    assert_no_secret_in_dir(state.path());
}

#[tokio::test]
async fn full_disk_the_spool_failure_is_a_finding_and_leaves_no_partial_file() {
    let state = Tmpfs::mount("size=64k");
    std::fs::create_dir_all(state.path().join("spool/cloudwatch_metrics")).unwrap();
    state.fill();
    let run = run_with_failing_sink(state.path()).await;
    assert_sound(&run, 1, TIMEOUT);
    let r = run.json();
    s3_checks_pass(&r);
    let why = r["sinks"][0]["spool_error"].as_str().expect("spool_error");
    assert!(why.contains("No space left on device"), "{why}");
    assert!(finding_codes(&r).contains(&"spool_write_failed".to_string()));
    let left: Vec<PathBuf> = std::fs::read_dir(state.path().join("spool/cloudwatch_metrics"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "a partial spool file remains: {left:?}");
    assert_no_secret_in_dir(state.path());
}

/// The binary, run as `nobody` (root reads any file), with a clean environment.
fn as_nobody(args: &[&OsStr]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
    ])
    .arg(env!("CARGO_BIN_EXE_vpce-probe"))
    .args(args)
    .env_clear()
    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
    .env("HOME", home.path())
    .stdin(Stdio::null());
    run_bounded(cmd)
}

/// The `--timeout` the bad-input runs are given (they end before it matters).
const BAD_INPUT_TIMEOUT: Duration = Duration::from_secs(5);

/// Nothing on stdout, and one line on stderr that contains every `needle` (after
/// `assert_sound(run, 2, …)`).
fn one_clear_line(run: &Run, needles: &[&str]) {
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);
    let err = run.stderr.trim_end();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.len() <= 400, "a short line: {} bytes", err.len());
    assert!(err.starts_with("vpce-probe: error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "{err:?} should name {n:?}");
    }
}

fn config_file(text: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn unreadable_config_file_exits_2_naming_the_file() {
    let (dir, path) = config_file("[[target]]\nbucket = \"abc\"\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let run = as_nobody(&[
        OsStr::new("check"),
        OsStr::new("--config"),
        path.as_os_str(),
        OsStr::new("--timeout"),
        OsStr::new("5"),
    ]);
    assert_sound(&run, 2, BAD_INPUT_TIMEOUT);
    one_clear_line(&run, &[&path.display().to_string(), "Permission denied"]);
}

#[test]
fn config_file_with_invalid_toml_exits_2_naming_the_file_and_line() {
    let (_dir, path) = config_file("region = \"us-east-1\"\n[[target]\nbucket = \"abc\"\n");
    let run = Probe::new()
        .args(["check", "--timeout", "5", "-vvv", "--config"])
        .arg_path(&path)
        .run();
    assert_sound(&run, 2, BAD_INPUT_TIMEOUT);
    one_clear_line(&run, &[&format!("{}:2:", path.display())]);
}

#[test]
fn config_file_with_wrong_types_exits_2_naming_the_file_line_and_key() {
    for (text, at) in [
        (
            "[[target]]\nbucket = \"abc\"\nread_only = \"yes\"\n",
            ":3: target[1].read_only: invalid type: string \"yes\", expected a boolean",
        ),
        ("timeout = \"ten\"\n", ":1: timeout: invalid type"),
        (
            "max_attempts = -1\n[[target]]\nbucket = \"abc\"\n",
            ":1: max_attempts: invalid value",
        ),
    ] {
        let (_dir, path) = config_file(text);
        let run = Probe::new()
            .args(["check", "--timeout", "5", "--config"])
            .arg_path(&path)
            .run();
        assert_sound(&run, 2, BAD_INPUT_TIMEOUT);
        one_clear_line(&run, &[&format!("{}{at}", path.display())]);
    }
}

#[test]
fn non_utf8_arguments_exit_2_with_one_line_naming_the_argument() {
    let bad = OsStr::from_bytes(b"buck\xffet");
    for (flag, n) in [("--bucket", "3"), ("--region", "3"), ("--key", "3")] {
        let run = Probe::new()
            .args([OsStr::new("check"), OsStr::new(flag), bad])
            .args(["--timeout", "5"])
            .run();
        assert_sound(&run, 2, BAD_INPUT_TIMEOUT);
        one_clear_line(
            &run,
            &[
                &format!("argument {n} (the value of {flag}) is not valid UTF-8"),
                "buck\u{FFFD}et",
            ],
        );
    }
}

#[test]
fn huge_arguments_exit_2_with_one_short_line() {
    // 100 000 bytes: under the kernel's limit for one argument (128 KiB), far over any of S3's
    let huge = "a".repeat(100_000);
    let digits = "9".repeat(100_000);
    let cases: [(Vec<&str>, &[&str]); 5] = [
        (
            vec!["--bucket", &huge],
            &["invalid bucket name 'aaaa", "… (100000 bytes)"],
        ),
        (
            vec!["--bucket", "abc", "--region", &huge],
            &["invalid region 'aaaa", "… (100000 bytes)"],
        ),
        (
            vec!["--bucket", "abc", "--key", &huge],
            &["--key: longer than 1024 bytes"],
        ),
        (
            vec!["--bucket", "abc", "--prefix", &huge],
            &["--prefix: longer than 512 bytes"],
        ),
        (
            vec!["--bucket", "abc", "--connect-timeout", &digits],
            &[
                "--connect-timeout: 9999",
                "… (100000 bytes) is out of range",
            ],
        ),
    ];
    for (args, needles) in cases {
        let run = Probe::new()
            .args(["check", "--timeout", "5"])
            .args(args)
            .run();
        assert_sound(&run, 2, BAD_INPUT_TIMEOUT);
        one_clear_line(&run, needles);
    }
}

#[tokio::test]
async fn bucket_names_at_the_length_limits() {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    let (three, sixty_three) = ("abc".to_string(), "b".repeat(63));
    for b in [&three, &sixty_three] {
        moto.s3().create_bucket().bucket(b).send().await.unwrap();
    }
    // 3 and 63 characters: valid, probed, and left empty
    for b in [&three, &sixty_three] {
        let run = Probe::new()
            .moto(&moto)
            .imds(&imds)
            .args([
                "check",
                "--bucket",
                b,
                "--output",
                "json",
                "--timeout",
                "20",
            ])
            .run();
        assert_sound(&run, 0, TIMEOUT);
        let r = run.json();
        assert_eq!(r["targets"][0]["bucket"], b.as_str());
        s3_checks_pass(&r);
        let left = moto.s3().list_objects_v2().bucket(b).send().await.unwrap();
        assert_eq!(left.key_count(), Some(0), "{b}");
    }
    // 2 and 64: one line each, before anything is asked
    for b in ["ab".to_string(), "c".repeat(64)] {
        let run = Probe::new()
            .moto(&moto)
            .imds(&imds)
            .args(["check", "--bucket", &b, "--timeout", "5"])
            .run();
        assert_sound(&run, 2, BAD_INPUT_TIMEOUT);
        one_clear_line(
            &run,
            &[
                &format!("invalid bucket name '{b}'"),
                "must be 3 to 63 characters long",
            ],
        );
    }
}
