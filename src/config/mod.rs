//! Flags and defaults merged in one place into a validated [`Config`]; every mistake is a
//! [`ConfigError`] with one clear line, which `main` turns into exit code 2.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{CheckArgs, ColorChoice, ExpectAccess, ExpectPath, OutputFormat};
use crate::diagnose::path::Verdict;
use crate::diagnose::{Access, Expectations};

mod file;
mod state;
mod validate;

pub use file::{FileConfig, FileTarget, parse_file, read_file};
pub use state::state_dir;
pub use validate::{
    normalize_prefix, parse_dns_server, parse_secs, validate_bucket_name, validate_key,
    validate_region,
};
use validate::{read_ca_bundle, validate_run_id};

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

#[cfg(test)]
mod tests;

#[cfg(test)]
mod file_tests;
