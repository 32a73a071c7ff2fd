//! Unit tests of the single-value validators.

use super::*;

#[test]
fn bucket_names() {
    for ok in ["my-bucket", "a.b.c", "abc", "bucket123", &"a".repeat(63)] {
        assert!(validate_bucket_name(ok).is_ok(), "{ok} should be valid");
    }
    for bad in [
        "ab",
        "My-Bucket",
        "-abc",
        "abc-",
        "a..b",
        "a.-b",
        "192.168.1.1",
        "xn--abc",
        "abc-s3alias",
        "under_score",
        &"a".repeat(64),
    ] {
        assert!(
            validate_bucket_name(bad).is_err(),
            "{bad} should be invalid"
        );
    }
}

#[test]
fn regions() {
    for ok in ["us-east-1", "eu-central-2", "us-gov-west-1", "cn-north-1"] {
        assert!(validate_region(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "useast1",
        "us-east",
        "US-EAST-1",
        "us-east-1a",
        "mars-north-1",
    ] {
        assert!(validate_region(bad).is_err(), "{bad}");
    }
}

#[test]
fn prefixes() {
    assert_eq!(normalize_prefix("probe").unwrap(), "probe/");
    assert_eq!(normalize_prefix(".vpce-probe/").unwrap(), ".vpce-probe/");
    assert!(normalize_prefix("").is_err());
    assert!(normalize_prefix("/abs").is_err());
}

#[test]
fn seconds() {
    assert_eq!(
        parse_secs("--timeout", "2.5", 0.1, 10.0).unwrap(),
        Duration::from_millis(2500)
    );
    assert!(parse_secs("--timeout", "0", 0.1, 10.0).is_err());
    assert!(parse_secs("--timeout", "abc", 0.1, 10.0).is_err());
    assert!(parse_secs("--timeout", "NaN", 0.1, 10.0).is_err());
}

#[test]
fn dns_servers() {
    assert_eq!(
        parse_dns_server("10.0.0.2").unwrap().to_string(),
        "10.0.0.2:53"
    );
    assert_eq!(
        parse_dns_server("127.0.0.1:5353").unwrap().to_string(),
        "127.0.0.1:5353"
    );
    assert_eq!(
        parse_dns_server("[::1]:53").unwrap().to_string(),
        "[::1]:53"
    );
    assert_eq!(
        parse_dns_server("fd00::2").unwrap().to_string(),
        "[fd00::2]:53"
    );
    assert!(parse_dns_server("dns.example").is_err());
}

#[test]
fn run_ids() {
    assert!(validate_run_id("20261127T101010Z-ab12").is_ok());
    assert!(validate_run_id("../etc").is_err());
    assert!(validate_run_id("a/b").is_err());
}

#[test]
fn regions_from_the_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(env_region_from(env(&[])).unwrap(), None);
    assert_eq!(
        env_region_from(env(&[
            ("AWS_REGION", " eu-west-1 "),
            ("AWS_DEFAULT_REGION", "us-east-1")
        ]))
        .unwrap(),
        Some(("eu-west-1".to_string(), RegionSource::Env))
    );
    assert_eq!(
        env_region_from(env(&[
            ("AWS_REGION", " "),
            ("AWS_DEFAULT_REGION", "us-east-2")
        ]))
        .unwrap(),
        Some(("us-east-2".to_string(), RegionSource::Env))
    );
    let e = env_region_from(env(&[("AWS_DEFAULT_REGION", "mars")])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "AWS_DEFAULT_REGION: invalid region 'mars': expected a region code such as us-east-1"
    );
}
