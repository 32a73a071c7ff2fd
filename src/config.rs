//! Flags and defaults merged in one place into a validated [`Config`]; every mistake is a
//! [`ConfigError`] with one clear line, which `main` turns into exit code 2.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::cli::{CheckArgs, ColorChoice, ExpectAccess, ExpectPath, OutputFormat};
use crate::diagnose::path::Verdict;
use crate::diagnose::{Access, Expectations};

/// What to probe in one bucket, with its own expectations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetConfig {
    pub bucket: String,
    /// Always ends with `/`.
    pub prefix: String,
    pub read_only: bool,
    pub key: Option<String>,
    pub expect: Expectations,
}

/// A validated run configuration: built-in defaults, then the config file, then flags.
#[derive(Debug, Clone)]
pub struct Config {
    pub targets: Vec<TargetConfig>,
    /// The region if configured; the rest of the region chain is resolved at run time.
    pub region: Option<String>,
    /// The region came from the config file (not `--region`).
    pub region_from_file: bool,
    pub profile: Option<String>,
    pub output: OutputFormat,
    pub color: ColorChoice,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub imds_timeout: Duration,
    pub max_attempts: u32,
    pub path_style: bool,
    /// How many buckets are probed at once.
    pub concurrency: usize,
    /// `VPCE_PROBE_RUN_ID`, validated; else generated at run time.
    pub run_id: Option<String>,
    /// `--prometheus-textfile`.
    pub prometheus_textfile: Option<PathBuf>,
    /// `--dns-server`: ask this server instead of `/etc/resolv.conf`'s.
    pub dns_server: Option<std::net::SocketAddr>,
    /// `AWS_CA_BUNDLE`: extra trusted CA certificates (PEM), read and checked at load.
    pub ca_bundle: Option<Vec<u8>>,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// The state directory (prefix-list cache, sink spool), resolved once here.
    pub state_dir: Option<PathBuf>,
    /// Where reports go besides stdout.
    pub sinks: crate::report::sink::SinkConfig,
}

/// The probe's state directory: `$VPCE_PROBE_STATE_DIR`, systemd's `$STATE_DIRECTORY`, else
/// `$XDG_STATE_HOME/vpce-probe` or `~/.local/state/vpce-probe` (prefix-list cache, sink spool).
pub fn state_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("VPCE_PROBE_STATE_DIR")
        .or_else(|| {
            env("STATE_DIRECTORY").map(|d| {
                // systemd may pass several, colon-separated
                PathBuf::from(d.to_string_lossy().split(':').next().unwrap_or_default())
            })
        })
        .or_else(|| env("XDG_STATE_HOME").map(|d| d.join("vpce-probe")))
        .or_else(|| env("HOME").map(|h| h.join(".local/state/vpce-probe")))
}

/// The default config file, read when it exists.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/vpce-probe/config.toml";

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

/// The config file (TOML), as written; every key optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    region: Option<String>,
    profile: Option<String>,
    timeout: Option<f64>,
    connect_timeout: Option<f64>,
    imds_timeout: Option<f64>,
    max_attempts: Option<u32>,
    dns_server: Option<String>,
    path_style: Option<bool>,
    output: Option<String>,
    prometheus_textfile: Option<PathBuf>,
    concurrency: Option<usize>,
    /// `["cloudwatch-metrics", "cloudwatch-logs"]`.
    sinks: Option<Vec<String>>,
    namespace: Option<String>,
    log_group: Option<String>,
    log_stream: Option<String>,
    sink_timeout: Option<f64>,
    instance_dimension: Option<bool>,
    /// Defaults for every `[[target]]`.
    defaults: Option<FileTarget>,
    #[serde(default, rename = "target")]
    targets: Vec<FileTarget>,
}

/// One `[[target]]` (or `[defaults]`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTarget {
    bucket: Option<String>,
    prefix: Option<String>,
    read_only: Option<bool>,
    key: Option<String>,
    expect_path: Option<String>,
    expect_access: Option<String>,
}

/// Read and parse a config file; errors name the file, the line and the key.
pub fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
    parse_file(&text).map_err(|m| ConfigError(format!("{}:{m}", path.display())))
}

/// Parse config text; the error starts with the line number.
pub fn parse_file(text: &str) -> Result<FileConfig, String> {
    toml::from_str(text).map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(0);
        format!("{line}: {}", e.message().trim())
    })
}

fn expect_path(s: &str, at: &str) -> Result<Verdict, ConfigError> {
    Ok(match s {
        "gateway_endpoint" => Verdict::GatewayEndpoint,
        "interface_endpoint" => Verdict::InterfaceEndpoint,
        "internet_gateway" => Verdict::InternetGateway,
        "nat_gateway" => Verdict::NatGateway,
        "other" => Verdict::Other,
        "no_route" => Verdict::NoRoute,
        _ => {
            return err(format!(
                "{at}expect_path: '{s}' is not one of gateway_endpoint, interface_endpoint, internet_gateway, nat_gateway, other, no_route"
            ));
        }
    })
}

fn expect_access(s: &str, at: &str) -> Result<Access, ConfigError> {
    match s {
        "allow" => Ok(Access::Allow),
        "deny" => Ok(Access::Deny),
        _ => err(format!("{at}expect_access: '{s}' is not allow or deny")),
    }
}

impl Config {
    /// Merge built-in defaults, the config file (`--config`, else the default file if it
    /// exists) and `check` flags (which win), and validate the result. `VPCE_PROBE_RUN_ID`
    /// and `AWS_CA_BUNDLE` come from the environment.
    pub fn from_check_args(a: CheckArgs) -> Result<Self, ConfigError> {
        let (file, config_file) = match &a.config {
            Some(p) => (read_file(p)?, Some(p.clone())),
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => (
                read_file(Path::new(DEFAULT_CONFIG_FILE))?,
                Some(PathBuf::from(DEFAULT_CONFIG_FILE)),
            ),
            None => (FileConfig::default(), None),
        };
        let src = |flag: &str, key: &str| match &config_file {
            Some(p) => format!("{flag} (or {} key {key})", p.display()),
            None => flag.to_string(),
        };
        // Where a file value sits, for error messages: "FILE: key".
        let in_file = |key: &str| -> String {
            match &config_file {
                Some(p) => format!("{}: {key}", p.display()),
                None => key.to_string(),
            }
        };

        // Run-wide settings: flag, else file, else built-in.
        let region = a.region.clone().or(file.region.clone());
        if let Some(r) = &region {
            validate_region(r).map_err(|e| match a.region {
                Some(_) => e,
                None => ConfigError(format!("{}: {e}", in_file("region"))),
            })?;
        }
        let profile = a.profile.clone().or(file.profile.clone());
        if let Some(p) = &profile
            && p.trim().is_empty()
        {
            return err(format!(
                "{}: the profile name is empty",
                src("--profile", "profile")
            ));
        }
        let secs = |flag: &str,
                    key: &str,
                    cli: &Option<String>,
                    file: Option<f64>,
                    default: f64,
                    min: f64,
                    max: f64|
         -> Result<Duration, ConfigError> {
            match (cli, file) {
                (Some(v), _) => parse_secs(flag, v, min, max),
                (None, Some(v)) => parse_secs(&in_file(key), &v.to_string(), min, max),
                (None, None) => Ok(Duration::from_secs_f64(default)),
            }
        };
        let timeout = secs(
            "--timeout",
            "timeout",
            &a.timeout,
            file.timeout,
            10.0,
            0.1,
            3600.0,
        )?;
        let connect_timeout = secs(
            "--connect-timeout",
            "connect_timeout",
            &a.connect_timeout,
            file.connect_timeout,
            3.0,
            0.01,
            600.0,
        )?;
        let imds_timeout = secs(
            "--imds-timeout",
            "imds_timeout",
            &a.imds_timeout,
            file.imds_timeout,
            1.0,
            0.01,
            60.0,
        )?;
        let max_attempts = a.max_attempts.or(file.max_attempts).unwrap_or(2);
        if !(1..=10).contains(&max_attempts) {
            return err(format!(
                "{}: {max_attempts} is out of range (1 to 10)",
                src("--max-attempts", "max_attempts")
            ));
        }
        let concurrency = file.concurrency.unwrap_or(4);
        if !(1..=64).contains(&concurrency) {
            return err(format!(
                "{}: {concurrency} is out of range (1 to 64)",
                in_file("concurrency")
            ));
        }
        let dns_server = match (&a.dns_server, &file.dns_server) {
            (Some(s), _) => Some(parse_dns_server(s)?),
            (None, Some(s)) => Some(
                parse_dns_server(s)
                    .map_err(|e| ConfigError(format!("{}: {e}", in_file("dns_server"))))?,
            ),
            (None, None) => None,
        };
        let output = match (a.output, &file.output) {
            (Some(o), _) => o,
            (None, Some(o)) => match o.as_str() {
                "human" => OutputFormat::Human,
                "json" => OutputFormat::Json,
                "prometheus" => OutputFormat::Prometheus,
                _ => {
                    return err(format!(
                        "{}: '{o}' is not human, json or prometheus",
                        in_file("output")
                    ));
                }
            },
            (None, None) => OutputFormat::Human,
        };
        let prometheus_textfile = a
            .prometheus_textfile
            .clone()
            .or(file.prometheus_textfile.clone());
        if let Some(p) = &prometheus_textfile {
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !dir.is_dir() {
                return err(format!(
                    "{} {}: directory {} does not exist",
                    src("--prometheus-textfile", "prometheus_textfile"),
                    p.display(),
                    dir.display()
                ));
            }
        }

        // Targets: the flags' buckets, else the file's; per field, flag > target > defaults.
        let defaults = file.defaults.clone().unwrap_or_default();
        if defaults.bucket.is_some() {
            return err(format!(
                "{}: [defaults] cannot name a bucket: use [[target]]",
                in_file("defaults")
            ));
        }
        let from_flags = !a.buckets.is_empty();
        let listed: Vec<(String, FileTarget)> = if from_flags {
            a.buckets
                .iter()
                .map(|b| (b.clone(), FileTarget::default()))
                .collect()
        } else {
            file.targets
                .iter()
                .enumerate()
                .map(|(i, t)| match &t.bucket {
                    Some(b) => Ok((b.clone(), t.clone())),
                    None => err(format!(
                        "{}: bucket is missing",
                        in_file(&format!("target[{}]", i + 1))
                    )),
                })
                .collect::<Result<_, _>>()?
        };
        if listed.is_empty() {
            return err(match &config_file {
                Some(p) => format!(
                    "no bucket to probe: pass --bucket or add a [[target]] to {}",
                    p.display()
                ),
                None => format!(
                    "no bucket to probe: pass --bucket, or list [[target]]s in {DEFAULT_CONFIG_FILE} (or --config FILE)"
                ),
            });
        }
        let mut targets: Vec<TargetConfig> = Vec::new();
        for (i, (bucket, t)) in listed.into_iter().enumerate() {
            let at = if from_flags {
                String::new()
            } else {
                format!("{}: ", in_file(&format!("target[{}]", i + 1)))
            };
            validate_bucket_name(&bucket).map_err(|e| ConfigError(format!("{at}{e}")))?;
            if targets.iter().any(|x| x.bucket == bucket) {
                continue;
            }
            let prefix = a
                .prefix
                .clone()
                .or(t.prefix.clone())
                .or(defaults.prefix.clone())
                .unwrap_or_else(|| ".vpce-probe/".into());
            let prefix = normalize_prefix(&prefix).map_err(|e| ConfigError(format!("{at}{e}")))?;
            let key = a.key.clone().or(t.key.clone()).or(defaults.key.clone());
            if let Some(k) = &key {
                validate_key(k).map_err(|e| ConfigError(format!("{at}{e}")))?;
            }
            let read_only = a.read_only || t.read_only.or(defaults.read_only).unwrap_or(false);
            let path = match a.expect_path {
                Some(p) => Some(flag_path(p)),
                None => match t.expect_path.as_ref().or(defaults.expect_path.as_ref()) {
                    Some(s) => Some(expect_path(s, &at)?),
                    None => None,
                },
            };
            let access = match a.expect_access {
                Some(ExpectAccess::Allow) => Some(Access::Allow),
                Some(ExpectAccess::Deny) => Some(Access::Deny),
                None => match t.expect_access.as_ref().or(defaults.expect_access.as_ref()) {
                    Some(s) => Some(expect_access(s, &at)?),
                    None => None,
                },
            };
            targets.push(TargetConfig {
                bucket,
                prefix,
                read_only,
                key,
                expect: Expectations { path, access },
            });
        }

        // Sinks: flags replace the file's list.
        let sink_kinds: Vec<crate::evidence::SinkKind> = if !a.sinks.is_empty() {
            a.sinks
                .iter()
                .map(|k| match k {
                    crate::cli::SinkArg::CloudwatchMetrics => {
                        crate::evidence::SinkKind::CloudwatchMetrics
                    }
                    crate::cli::SinkArg::CloudwatchLogs => {
                        crate::evidence::SinkKind::CloudwatchLogs
                    }
                })
                .collect()
        } else {
            file.sinks
                .iter()
                .flatten()
                .map(|k| match k.as_str() {
                    "cloudwatch-metrics" => Ok(crate::evidence::SinkKind::CloudwatchMetrics),
                    "cloudwatch-logs" => Ok(crate::evidence::SinkKind::CloudwatchLogs),
                    other => err(format!(
                        "{}: '{other}' is not cloudwatch-metrics or cloudwatch-logs",
                        in_file("sinks")
                    )),
                })
                .collect::<Result<_, _>>()?
        };
        let sink_timeout = secs(
            "--sink-timeout",
            "sink_timeout",
            &a.sink_timeout,
            file.sink_timeout,
            5.0,
            0.1,
            600.0,
        )?;
        let namespace = a
            .namespace
            .clone()
            .or(file.namespace.clone())
            .unwrap_or_else(|| "VpceProbe".into());
        if namespace.is_empty()
            || namespace.len() > 255
            || namespace.starts_with(':')
            || namespace.starts_with("AWS/")
        {
            return err(format!(
                "{}: '{namespace}' is not a usable CloudWatch namespace",
                src("--namespace", "namespace")
            ));
        }
        let log_group = a
            .log_group
            .clone()
            .or(file.log_group.clone())
            .unwrap_or_else(|| "/vpce-probe".into());
        if log_group.is_empty()
            || log_group.len() > 512
            || !log_group
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-/.#".contains(c))
        {
            return err(format!(
                "{}: '{log_group}' is not a valid log group name",
                src("--log-group", "log_group")
            ));
        }
        let log_stream = a.log_stream.clone().or(file.log_stream.clone());
        if let Some(st) = &log_stream
            && (st.is_empty() || st.len() > 512 || st.contains(':') || st.contains('*'))
        {
            return err(format!(
                "{}: '{st}' is not a valid log stream name",
                src("--log-stream", "log_stream")
            ));
        }
        let state_dir = state_dir();
        let sinks = crate::report::sink::SinkConfig {
            sinks: sink_kinds,
            namespace,
            log_group,
            log_stream,
            timeout: sink_timeout,
            state_dir: state_dir.clone(),
            instance_dimension: a.instance_dimension || file.instance_dimension.unwrap_or(false),
        };

        let run_id = match std::env::var("VPCE_PROBE_RUN_ID") {
            Ok(id) if !id.is_empty() => Some(validate_run_id(&id)?),
            _ => None,
        };
        let ca_bundle = match std::env::var_os("AWS_CA_BUNDLE") {
            Some(p) if !p.is_empty() => Some(read_ca_bundle(Path::new(&p))?),
            _ => None,
        };
        Ok(Self {
            targets,
            region_from_file: a.region.is_none() && region.is_some(),
            region,
            profile,
            output,
            color: a.color,
            timeout,
            connect_timeout,
            imds_timeout,
            max_attempts,
            path_style: a.path_style || file.path_style.unwrap_or(false),
            concurrency,
            run_id,
            prometheus_textfile,
            dns_server,
            ca_bundle,
            config_file,
            state_dir,
            sinks,
        })
    }

    /// The expectations of every target, in order.
    pub fn expectations(&self) -> Vec<Expectations> {
        self.targets.iter().map(|t| t.expect.clone()).collect()
    }
}

fn flag_path(p: ExpectPath) -> Verdict {
    match p {
        ExpectPath::GatewayEndpoint => Verdict::GatewayEndpoint,
        ExpectPath::InterfaceEndpoint => Verdict::InterfaceEndpoint,
        ExpectPath::InternetGateway => Verdict::InternetGateway,
        ExpectPath::NatGateway => Verdict::NatGateway,
        ExpectPath::Other => Verdict::Other,
        ExpectPath::NoRoute => Verdict::NoRoute,
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
        metrics_namespace: a
            .sinks
            .contains(&crate::cli::SinkArg::CloudwatchMetrics)
            .then(|| a.namespace.clone()),
        log_group: a
            .sinks
            .contains(&crate::cli::SinkArg::CloudwatchLogs)
            .then(|| a.log_group.clone()),
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

#[cfg(test)]
mod file_tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

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
        let text = include_str!("../packaging/config.example.toml");
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
            ("timeout = \"ten\"\n", vec![":1:"]),
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
}
