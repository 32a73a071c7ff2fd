//! Flags and defaults merged in one place into a validated [`Config`]; every mistake is a
//! [`ConfigError`] with one clear line, which `main` turns into exit code 2.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{CheckArgs, ColorChoice, OutputFormat};
use crate::diagnose::Expectations;
use crate::evidence::RegionSource;

mod file;
mod sinks;
mod state;
mod targets;
mod validate;

pub use file::{FileConfig, FileTarget, parse_file, read_file};
pub use state::state_dir;
pub use validate::{
    normalize_prefix, parse_dns_server, parse_secs, shown, shown_line, validate_bucket_name,
    validate_key, validate_region,
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
    /// The buckets to probe; empty on a first run without `--bucket` or config file: the
    /// probe then discovers them (`Config::discover`).
    pub targets: Vec<TargetConfig>,
    /// The region if configured (`--region` or the file); else see `env_region`.
    pub region: Option<String>,
    /// The region came from the config file (not `--region`).
    pub region_from_file: bool,
    /// Without a configured region: `AWS_REGION`, else `AWS_DEFAULT_REGION`, validated. The
    /// profile and IMDS fallbacks are resolved at run time.
    pub env_region: Option<(String, RegionSource)>,
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
    /// `--watch [SECS]`: probe in a loop, a cycle started every this long.
    pub watch: Option<Duration>,
}

/// The probe's prefix when none is given.
pub const DEFAULT_PREFIX: &str = ".vpce-probe/";

/// At most this many discovered buckets are probed.
pub const DISCOVER_MAX: usize = 10;

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

/// Where settings come from, for error messages: the config file that was read, if any.
struct Origin<'a> {
    file: Option<&'a Path>,
}

impl Origin<'_> {
    /// A setting that is a flag or a file key: "FLAG (or FILE key KEY)".
    fn src(&self, flag: &str, key: &str) -> String {
        match self.file {
            Some(p) => format!("{flag} (or {} key {key})", p.display()),
            None => flag.to_string(),
        }
    }

    /// Where a file value sits: "FILE: key".
    fn in_file(&self, key: &str) -> String {
        match self.file {
            Some(p) => format!("{}: {key}", p.display()),
            None => key.to_string(),
        }
    }

    /// A number of seconds: the flag, else the file, else the built-in default.
    fn secs(
        &self,
        flag: &str,
        key: &str,
        cli: &Option<String>,
        file: Option<f64>,
        limits: Secs,
    ) -> Result<Duration, ConfigError> {
        match (cli, file) {
            (Some(v), _) => parse_secs(flag, v, limits.min, limits.max),
            (None, Some(v)) => {
                parse_secs(&self.in_file(key), &v.to_string(), limits.min, limits.max)
            }
            (None, None) => Ok(Duration::from_secs_f64(limits.default)),
        }
    }
}

/// A duration setting's default and allowed range, in seconds.
#[derive(Clone, Copy)]
struct Secs {
    default: f64,
    min: f64,
    max: f64,
}

const TIMEOUT: Secs = Secs {
    default: 10.0,
    min: 0.1,
    max: 3600.0,
};
const CONNECT_TIMEOUT: Secs = Secs {
    default: 3.0,
    min: 0.01,
    max: 600.0,
};
const IMDS_TIMEOUT: Secs = Secs {
    default: 1.0,
    min: 0.01,
    max: 60.0,
};
const SINK_TIMEOUT: Secs = Secs {
    default: 5.0,
    min: 0.1,
    max: 600.0,
};

/// The config file to read: `--config`, else the default file if it exists, else none.
fn load_file(a: &CheckArgs) -> Result<(FileConfig, Option<PathBuf>), ConfigError> {
    Ok(match &a.config {
        Some(p) => (read_file(p)?, Some(p.clone())),
        None if Path::new(DEFAULT_CONFIG_FILE).is_file() => (
            read_file(Path::new(DEFAULT_CONFIG_FILE))?,
            Some(PathBuf::from(DEFAULT_CONFIG_FILE)),
        ),
        None => (FileConfig::default(), None),
    })
}

impl Config {
    /// No bucket was named: list the buckets of the instance's region and probe them
    /// read-only (at most [`DISCOVER_MAX`]).
    pub fn discover(&self) -> bool {
        self.targets.is_empty()
    }

    /// Merge built-in defaults, the config file (`--config`, else the default file if it
    /// exists) and `check` flags (which win), and validate the result. `VPCE_PROBE_RUN_ID`,
    /// `AWS_CA_BUNDLE` and (without `--region` or a file `region`) `AWS_REGION` or
    /// `AWS_DEFAULT_REGION` come from the environment.
    pub fn from_check_args(a: CheckArgs) -> Result<Self, ConfigError> {
        let (file, config_file) = load_file(&a)?;
        let o = Origin {
            file: config_file.as_deref(),
        };

        // Run-wide settings: flag, else file, else built-in.
        let region = region(&a, &file, &o)?;
        let profile = a.profile.clone().or(file.profile.clone());
        if let Some(p) = &profile
            && p.trim().is_empty()
        {
            return err(format!(
                "{}: the profile name is empty",
                o.src("--profile", "profile")
            ));
        }
        let timeout = o.secs("--timeout", "timeout", &a.timeout, file.timeout, TIMEOUT)?;
        let connect_timeout = o.secs(
            "--connect-timeout",
            "connect_timeout",
            &a.connect_timeout,
            file.connect_timeout,
            CONNECT_TIMEOUT,
        )?;
        let imds_timeout = o.secs(
            "--imds-timeout",
            "imds_timeout",
            &a.imds_timeout,
            file.imds_timeout,
            IMDS_TIMEOUT,
        )?;
        let max_attempts = a.max_attempts.or(file.max_attempts).unwrap_or(2);
        if !(1..=10).contains(&max_attempts) {
            return err(format!(
                "{}: {max_attempts} is out of range (1 to 10)",
                o.src("--max-attempts", "max_attempts")
            ));
        }
        let concurrency = file.concurrency.unwrap_or(4);
        if !(1..=64).contains(&concurrency) {
            return err(format!(
                "{}: {concurrency} is out of range (1 to 64)",
                o.in_file("concurrency")
            ));
        }
        let dns_server = match (&a.dns_server, &file.dns_server) {
            (Some(s), _) => Some(parse_dns_server(s)?),
            (None, Some(s)) => Some(
                parse_dns_server(s)
                    .map_err(|e| ConfigError(format!("{}: {e}", o.in_file("dns_server"))))?,
            ),
            (None, None) => None,
        };
        let output = output(&a, &file, &o)?;
        let watch = watch(&a, output)?;
        let prometheus_textfile = prometheus_textfile(&a, &file, &o)?;

        let targets = targets::targets(&a, &file, &o)?;
        let state_dir = state_dir();
        let sinks = sinks::sinks(&a, &file, &o, state_dir.clone())?;

        // From the environment.
        let run_id = match std::env::var("VPCE_PROBE_RUN_ID") {
            Ok(id) if !id.is_empty() => Some(validate_run_id(&id)?),
            _ => None,
        };
        let ca_bundle = match std::env::var_os("AWS_CA_BUNDLE") {
            Some(p) if !p.is_empty() => Some(read_ca_bundle(Path::new(&p))?),
            _ => None,
        };
        // Checked last, as it was when the run resolved it.
        let env_region = match region {
            Some(_) => None,
            None => env_region()?,
        };
        Ok(Self {
            targets,
            region_from_file: a.region.is_none() && region.is_some(),
            region,
            env_region,
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
            watch,
        })
    }

    /// The expectations of every target, in order.
    pub fn expectations(&self) -> Vec<Expectations> {
        self.targets.iter().map(|t| t.expect.clone()).collect()
    }
}

/// `--region`, else the file's `region`, validated; the rest of the chain is resolved later.
fn region(a: &CheckArgs, file: &FileConfig, o: &Origin) -> Result<Option<String>, ConfigError> {
    let region = a.region.clone().or(file.region.clone());
    if let Some(r) = &region {
        validate_region(r).map_err(|e| match a.region {
            Some(_) => e,
            None => ConfigError(format!("{}: {e}", o.in_file("region"))),
        })?;
    }
    Ok(region)
}

/// `AWS_REGION`, else `AWS_DEFAULT_REGION` (blank counts as unset), validated.
fn env_region() -> Result<Option<(String, RegionSource)>, ConfigError> {
    env_region_from(|var| std::env::var(var).ok())
}

fn env_region_from(
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<(String, RegionSource)>, ConfigError> {
    for var in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if let Some(r) = env(var)
            && !r.trim().is_empty()
        {
            validate_region(r.trim()).map_err(|e| ConfigError(format!("{var}: {e}")))?;
            return Ok(Some((r.trim().to_string(), RegionSource::Env)));
        }
    }
    Ok(None)
}

fn output(a: &CheckArgs, file: &FileConfig, o: &Origin) -> Result<OutputFormat, ConfigError> {
    Ok(match (a.output, &file.output) {
        (Some(out), _) => out,
        (None, Some(out)) => match out.as_str() {
            "human" => OutputFormat::Human,
            "json" => OutputFormat::Json,
            "prometheus" => OutputFormat::Prometheus,
            _ => {
                return err(format!(
                    "{}: '{out}' is not human, json or prometheus",
                    o.in_file("output")
                ));
            }
        },
        (None, None) => OutputFormat::Human,
    })
}

/// `--watch [SECS]`: 1 to 86400 seconds; not with Prometheus on stdout (a stream of
/// expositions is not something a scraper reads: `--prometheus-textfile` is, rewritten each
/// cycle).
fn watch(a: &CheckArgs, output: OutputFormat) -> Result<Option<Duration>, ConfigError> {
    let Some(v) = &a.watch else {
        return Ok(None);
    };
    let every = parse_secs("--watch", v, 1.0, 86_400.0)?;
    if output == OutputFormat::Prometheus {
        return err(
            "--watch with --output prometheus: a stream of expositions is not something a \
             scraper reads; use --prometheus-textfile FILE (rewritten each cycle) with --output \
             human or json",
        );
    }
    Ok(Some(every))
}

/// `--prometheus-textfile`, else the file's; its directory must exist.
fn prometheus_textfile(
    a: &CheckArgs,
    file: &FileConfig,
    o: &Origin,
) -> Result<Option<PathBuf>, ConfigError> {
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
                o.src("--prometheus-textfile", "prometheus_textfile"),
                p.display(),
                dir.display()
            ));
        }
    }
    Ok(prometheus_textfile)
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
