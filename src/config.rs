//! Flags and defaults merged in one place into a validated [`Config`]; every mistake is a
//! [`ConfigError`] with one clear line, which `main` turns into exit code 2.

use std::time::Duration;

use crate::cli::{CheckArgs, ColorChoice, ExpectAccess, ExpectPath, OutputFormat};
use crate::diagnose::path::Verdict;
use crate::diagnose::{Access, Expectations};

/// A validated run configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub buckets: Vec<String>,
    /// `--region`; the rest of the region chain is resolved at run time.
    pub region: Option<String>,
    pub profile: Option<String>,
    /// Always ends with `/`.
    pub prefix: String,
    pub read_only: bool,
    pub key: Option<String>,
    pub output: OutputFormat,
    pub color: ColorChoice,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub imds_timeout: Duration,
    pub max_attempts: u32,
    pub path_style: bool,
    /// `VPCE_PROBE_RUN_ID`, validated; else generated at run time.
    pub run_id: Option<String>,
    /// `--expect-path`, `--expect-access`.
    pub expect: Expectations,
    /// `--prometheus-textfile`.
    pub prometheus_textfile: Option<std::path::PathBuf>,
    /// `--dns-server`: ask this server instead of `/etc/resolv.conf`'s.
    pub dns_server: Option<std::net::SocketAddr>,
    /// `AWS_CA_BUNDLE`: extra trusted CA certificates (PEM), read and checked at load.
    pub ca_bundle: Option<Vec<u8>>,
}

/// A configuration mistake: what is wrong and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

impl Config {
    /// Validate `check` arguments (plus `VPCE_PROBE_RUN_ID` from the environment).
    pub fn from_check_args(a: CheckArgs) -> Result<Self, ConfigError> {
        for b in &a.buckets {
            validate_bucket_name(b)?;
        }
        let mut seen = std::collections::HashSet::new();
        let mut buckets = a.buckets.clone();
        buckets.retain(|b| seen.insert(b.clone()));
        if let Some(r) = &a.region {
            validate_region(r)?;
        }
        if let Some(p) = &a.profile
            && p.trim().is_empty()
        {
            return err("--profile: the profile name is empty");
        }
        let prefix = normalize_prefix(&a.prefix)?;
        if let Some(k) = &a.key {
            validate_key(k)?;
        }
        let timeout = parse_secs("--timeout", &a.timeout, 0.1, 3600.0)?;
        let connect_timeout = parse_secs("--connect-timeout", &a.connect_timeout, 0.01, 600.0)?;
        let imds_timeout = parse_secs("--imds-timeout", &a.imds_timeout, 0.01, 60.0)?;
        if !(1..=10).contains(&a.max_attempts) {
            return err(format!(
                "--max-attempts: {} is out of range (1 to 10)",
                a.max_attempts
            ));
        }
        let run_id = match std::env::var("VPCE_PROBE_RUN_ID") {
            Ok(id) if !id.is_empty() => Some(validate_run_id(&id)?),
            _ => None,
        };
        let ca_bundle = match std::env::var_os("AWS_CA_BUNDLE") {
            Some(p) if !p.is_empty() => Some(read_ca_bundle(std::path::Path::new(&p))?),
            _ => None,
        };
        let dns_server = match &a.dns_server {
            Some(s) => Some(parse_dns_server(s)?),
            None => None,
        };
        let expect = Expectations {
            path: a.expect_path.map(|p| match p {
                ExpectPath::GatewayEndpoint => Verdict::GatewayEndpoint,
                ExpectPath::InterfaceEndpoint => Verdict::InterfaceEndpoint,
                ExpectPath::InternetGateway => Verdict::InternetGateway,
                ExpectPath::NatGateway => Verdict::NatGateway,
                ExpectPath::Other => Verdict::Other,
                ExpectPath::NoRoute => Verdict::NoRoute,
            }),
            access: a.expect_access.map(|x| match x {
                ExpectAccess::Allow => Access::Allow,
                ExpectAccess::Deny => Access::Deny,
            }),
        };
        if let Some(p) = &a.prometheus_textfile {
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            if !dir.is_dir() {
                return err(format!(
                    "--prometheus-textfile {}: directory {} does not exist",
                    p.display(),
                    dir.display()
                ));
            }
        }
        Ok(Self {
            prometheus_textfile: a.prometheus_textfile.clone(),
            expect,
            dns_server,
            ca_bundle,
            buckets,
            region: a.region,
            profile: a.profile,
            prefix,
            read_only: a.read_only,
            key: a.key,
            output: a.output,
            color: a.color,
            timeout,
            connect_timeout,
            imds_timeout,
            max_attempts: a.max_attempts,
            path_style: a.path_style,
            run_id,
        })
    }
}

/// Validate `iam-policy` arguments into the policy's input.
pub fn iam_policy_input(
    a: crate::cli::IamPolicyArgs,
) -> Result<crate::iam_policy::PolicyInput, ConfigError> {
    for b in &a.buckets {
        validate_bucket_name(b)?;
    }
    let mut seen = std::collections::HashSet::new();
    let mut buckets = a.buckets.clone();
    buckets.retain(|b| seen.insert(b.clone()));
    if let Some(k) = &a.key {
        validate_key(k)?;
    }
    Ok(crate::iam_policy::PolicyInput {
        buckets,
        prefix: normalize_prefix(&a.prefix)?,
        read_only: a.read_only,
        key: a.key,
        path_evidence: !a.no_path_evidence,
        bucket_policy: !a.no_bucket_policy,
    })
}

/// Parse a positive number of seconds (decimals allowed) within `[min, max]`.
pub fn parse_secs(flag: &str, s: &str, min: f64, max: f64) -> Result<Duration, ConfigError> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| ConfigError(format!("{flag}: '{s}' is not a number of seconds")))?;
    if !v.is_finite() || v < min || v > max {
        return err(format!(
            "{flag}: {s} is out of range ({min} to {max} seconds)"
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

/// S3 bucket naming rules for general purpose buckets.
pub fn validate_bucket_name(b: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| err(format!("invalid bucket name '{b}': {why}"));
    if b.len() < 3 || b.len() > 63 {
        return bad("must be 3 to 63 characters long");
    }
    if !b
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
    {
        return bad("only lowercase letters, digits, dots and hyphens are allowed");
    }
    let first = b.as_bytes()[0];
    let last = b.as_bytes()[b.len() - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return bad("must begin and end with a letter or digit");
    }
    if b.contains("..") || b.contains(".-") || b.contains("-.") {
        return bad("dots may not be adjacent to each other or to a hyphen");
    }
    if b.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("must not be formatted as an IP address");
    }
    for p in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if b.starts_with(p) {
            return bad(&format!("must not start with '{p}'"));
        }
    }
    for s in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if b.ends_with(s) {
            return bad(&format!("must not end with '{s}'"));
        }
    }
    Ok(())
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, ...
pub fn validate_region(r: &str) -> Result<(), ConfigError> {
    let parts: Vec<&str> = r.split('-').collect();
    let ok = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u16>().is_ok_and(|n| n < 100)
        && parts[0].len() == 2;
    if ok {
        Ok(())
    } else {
        err(format!(
            "invalid region '{r}': expected a region code such as us-east-1"
        ))
    }
}

pub fn normalize_prefix(p: &str) -> Result<String, ConfigError> {
    if p.is_empty() || p == "/" {
        return err("--prefix: must not be empty: the put probe writes only under its own prefix");
    }
    if p.starts_with('/') {
        return err(format!("--prefix '{p}': must not start with '/'"));
    }
    if p.len() > 512 {
        return err("--prefix: longer than 512 bytes");
    }
    if p.chars().any(|c| c.is_control()) {
        return err("--prefix: control characters are not allowed");
    }
    Ok(if p.ends_with('/') {
        p.to_string()
    } else {
        format!("{p}/")
    })
}

pub fn validate_key(k: &str) -> Result<(), ConfigError> {
    if k.is_empty() {
        return err("--key: must not be empty");
    }
    if k.len() > 1024 {
        return err("--key: longer than 1024 bytes (the S3 limit)");
    }
    if k.chars().any(|c| c.is_control()) {
        return err("--key: control characters are not allowed");
    }
    Ok(())
}

/// `IP`, `IP:PORT`, `[IPv6]:PORT`; port 53 by default.
pub fn parse_dns_server(s: &str) -> Result<std::net::SocketAddr, ConfigError> {
    use std::net::{IpAddr, SocketAddr};
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    if let Ok(ip) = s.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    err(format!(
        "--dns-server '{s}': expected IP or IP:PORT (e.g. 10.0.0.2 or 127.0.0.1:5353)"
    ))
}

fn read_ca_bundle(path: &std::path::Path) -> Result<Vec<u8>, ConfigError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let shown = path.display();
    let pem =
        std::fs::read(path).map_err(|e| ConfigError(format!("AWS_CA_BUNDLE {shown}: {e}")))?;
    // Check it exactly as the TLS stack will load it, so a bad bundle is a clear error here
    // rather than a failure deep inside the HTTP client.
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| {
            ConfigError(format!(
                "AWS_CA_BUNDLE {shown}: not a valid PEM certificate: {e:?}"
            ))
        })?;
        roots.add(cert).map_err(|e| {
            ConfigError(format!("AWS_CA_BUNDLE {shown}: unusable certificate: {e}"))
        })?;
    }
    if roots.is_empty() {
        return err(format!(
            "AWS_CA_BUNDLE {shown}: no PEM certificate in the file"
        ));
    }
    Ok(pem)
}

fn validate_run_id(id: &str) -> Result<String, ConfigError> {
    if id.len() > 64
        || !id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
        || id.starts_with('.')
    {
        return err(format!(
            "VPCE_PROBE_RUN_ID '{id}': use 1 to 64 letters, digits, '-', '_' or '.'"
        ));
    }
    Ok(id.to_string())
}

#[cfg(test)]
mod tests {
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
}
