//! Unit tests of the config file merged with `check` flags.

use clap::Parser;

use super::*;
use crate::cli::{Cli, Command};
use crate::diagnose::Access;
use crate::diagnose::path::Verdict;

fn args(argv: &[&str]) -> CheckArgs {
    let mut full = vec!["vpce-probe", "check"];
    full.extend_from_slice(argv);
    match Cli::try_parse_from(full).unwrap().command {
        Command::Check(a) => *a,
        _ => unreachable!(),
    }
}

fn with_file(text: &str, argv: &[&str]) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    let p = path.to_str().unwrap().to_string();
    let mut v = vec!["--config", p.as_str()];
    v.extend_from_slice(argv);
    Config::from_check_args(args(&v))
}

#[test]
fn the_example_config_is_valid() {
    let text = include_str!("../../packaging/config.example.toml");
    let cfg = with_file(text, &[]).unwrap();
    assert_eq!(cfg.targets.len(), 2);
    assert_eq!(cfg.targets[0].bucket, "my-data-bucket");
    assert_eq!(cfg.targets[0].expect.path, Some(Verdict::GatewayEndpoint));
    assert!(cfg.targets[1].read_only);
    assert_eq!(cfg.targets[1].key.as_deref(), Some("reports/latest.csv"));
    assert_eq!(cfg.output, OutputFormat::Json);
    assert_eq!(cfg.concurrency, 4);
}

#[test]
fn flags_override_file_values() {
    let text = "timeout = 20\noutput = \"json\"\n[defaults]\nread_only = false\nexpect_access = \"allow\"\n[[target]]\nbucket = \"file-bucket\"\nprefix = \"p1/\"\n";
    let cfg = with_file(text, &[]).unwrap();
    assert_eq!(cfg.timeout, Duration::from_secs(20));
    assert_eq!(cfg.targets[0].prefix, "p1/");
    assert_eq!(cfg.targets[0].expect.access, Some(Access::Allow));
    let cfg = with_file(
        text,
        &[
            "--timeout",
            "5",
            "--output",
            "human",
            "--read-only",
            "--expect-access",
            "deny",
            "--prefix",
            "p2",
        ],
    )
    .unwrap();
    assert_eq!(cfg.timeout, Duration::from_secs(5));
    assert_eq!(cfg.output, OutputFormat::Human);
    assert!(cfg.targets[0].read_only);
    assert_eq!(cfg.targets[0].prefix, "p2/");
    assert_eq!(cfg.targets[0].expect.access, Some(Access::Deny));
    // --bucket replaces the file's targets
    let cfg = with_file(text, &["--bucket", "flag-bucket"]).unwrap();
    assert_eq!(cfg.targets.len(), 1);
    assert_eq!(cfg.targets[0].bucket, "flag-bucket");
}

#[test]
fn mistakes_name_the_file_line_and_key() {
    for (text, needles) in [
        ("timeout = 10\nbogus = 1\n", vec![":2:", "bogus"]),
        (
            "[[target]]\nbucket = \"Bad_Name\"\n",
            vec!["target[1]", "invalid bucket name"],
        ),
        (
            "[[target]]\nprefix = \"x/\"\n",
            vec!["target[1]", "bucket is missing"],
        ),
        (
            "timeout = 0\n[[target]]\nbucket = \"ok-bucket\"\n",
            vec!["timeout", "out of range"],
        ),
        (
            "[[target]]\nbucket = \"ok-bucket\"\nexpect_path = \"vpn\"\n",
            vec!["target[1]", "expect_path", "vpn"],
        ),
        (
            "output = \"yaml\"\n[[target]]\nbucket = \"ok-bucket\"\n",
            vec!["output", "yaml"],
        ),
        (
            "region = \"mars\"\n[[target]]\nbucket = \"ok-bucket\"\n",
            vec!["region", "invalid region"],
        ),
        ("timeout = \"ten\"\n", vec![":1: timeout: invalid type"]),
        (
            "region = \"us-east-1\"\n[[target]]\nbucket = \"a-bucket\"\n[[target]]\nbucket = \"b-bucket\"\nread_only = \"yes\"\n",
            vec![":6: target[2].read_only: invalid type"],
        ),
        (
            "[defaults]\nprefix = 5\n",
            vec![":2: defaults.prefix: invalid type"],
        ),
        (
            "sinks = [\n  \"cloudwatch-logs\",\n  7,\n]\n",
            vec![":3: sinks: invalid type"],
        ),
        ("region = \"us-east-1\n", vec![":1:"]),
        ("", vec!["no bucket to probe", "[[target]]"]),
    ] {
        let e = with_file(text, &[]).unwrap_err().to_string();
        assert!(e.contains("config.toml"), "{text:?}: {e}");
        for n in needles {
            assert!(e.contains(n), "{text:?}: {e} (wants {n})");
        }
        assert_eq!(e.lines().count(), 1, "one line: {e}");
    }
}

#[test]
fn an_explicit_missing_file_is_an_error() {
    let e = Config::from_check_args(args(&[
        "--config",
        "/nonexistent/vpce.toml",
        "--bucket",
        "b-1",
    ]))
    .unwrap_err()
    .to_string();
    assert!(e.contains("/nonexistent/vpce.toml"), "{e}");
}
