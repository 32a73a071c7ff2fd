//! The command line (clap derive): AWS CLI conventions, every flag documented.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Proves, from an EC2 instance, that S3 is reachable — and shows the evidence.
///
/// vpce-probe learns the instance's context from IMDSv2, finds credentials the way the AWS SDKs
/// do, and runs real signed S3 requests (head, list, put, get, delete) against each bucket,
/// with timings, request ids and the peer address actually used. Failures come with a hint
/// naming what to fix.
///
/// Endpoints and credentials come from the standard AWS environment: AWS_REGION, AWS_PROFILE,
/// AWS_ACCESS_KEY_ID..., AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3,
/// AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_DISABLED.
///
/// Exit codes: 0 every check passed; 1 a check failed; 2 bad input or configuration;
/// 3 the report could not be written; 4 the probe could not run; 130 / 143 stopped by SIGINT /
/// SIGTERM (the object written was deleted, the partial report marked "interrupted").
#[derive(Debug, Parser)]
#[command(
    name = "vpce-probe",
    version = env!("VPCE_PROBE_LONG_VERSION"),
    about,
    long_about,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// More log output on stderr (-v info, -vv debug, -vvv trace; VPCE_PROBE_LOG overrides);
    /// with -v the table also shows every request's phase timings (else only slow ones, >= 1 s).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "VPCE_PROBE_LOG_FORMAT")]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe one or more buckets and report what works, with evidence.
    Check(Box<CheckArgs>),
    /// Print a shell completion script (e.g. `vpce-probe completions bash >
    /// /usr/share/bash-completion/completions/vpce-probe`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff) on stdout: vpce-probe(1), or that of a subcommand
    /// (`vpce-probe man check` → vpce-probe-check(1)).
    Man {
        /// check, iam-policy, completions or man.
        page: Option<String>,
    },
    /// Explain a finding code: what it means, what usually causes it, and the fix — offline.
    /// Without CODE, list every code.
    Explain {
        /// A finding code, e.g. `gateway_endpoint_not_on_route_table` (as in a report).
        code: Option<String>,
    },
    /// Print the least-privilege IAM policy (JSON) that `check` needs for these buckets,
    /// ready for `aws iam put-role-policy --policy-document file://policy.json`.
    IamPolicy(IamPolicyArgs),
}

#[derive(Debug, Args)]
pub struct IamPolicyArgs {
    /// Bucket the probe will check (repeat for several).
    #[arg(short, long = "bucket", value_name = "NAME", required = true)]
    pub buckets: Vec<String>,

    /// The probe's key prefix (as `check --prefix`).
    #[arg(long, value_name = "PFX", default_value = ".vpce-probe/")]
    pub prefix: String,

    /// For `check --read-only`: no write or delete permissions.
    #[arg(long)]
    pub read_only: bool,

    /// For `check --key KEY`: read access to that object.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,

    /// Leave out the EC2 reads of the path analysis (the path verdict is then unknown).
    #[arg(long)]
    pub no_path_evidence: bool,

    /// Leave out s3:GetBucketPolicy (the bucket_policy check is then skipped).
    #[arg(long)]
    pub no_bucket_policy: bool,

    /// Include what this sink needs (as `check --sink`; repeat for several).
    #[arg(long = "sink", value_enum, value_name = "SINK")]
    pub sinks: Vec<SinkArg>,

    /// The CloudWatch namespace the metrics sink writes to.
    #[arg(long, value_name = "NS", default_value = "VpceProbe")]
    pub namespace: String,

    /// The log group the logs sink writes to.
    #[arg(long, value_name = "GROUP", default_value = "/vpce-probe")]
    pub log_group: String,
}

/// Log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// An aligned table for people (colour only on a terminal).
    Human,
    /// The JSON report (schema vpce-probe/report/v1, see docs/report-schema.md).
    Json,
    /// Prometheus text exposition (node_exporter textfile collector).
    Prometheus,
}

/// A path verdict to expect (`--expect-path`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum ExpectPath {
    GatewayEndpoint,
    InterfaceEndpoint,
    InternetGateway,
    NatGateway,
    Other,
    NoRoute,
}

/// An access outcome to expect (`--expect-access`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExpectAccess {
    Allow,
    Deny,
}

/// A report sink (`--sink`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SinkArg {
    CloudwatchMetrics,
    CloudwatchLogs,
}

/// When to colour the human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Bucket to probe (repeat for several; probed concurrently). Replaces the config file's
    /// [[target]] list.
    #[arg(short, long = "bucket", value_name = "NAME")]
    pub buckets: Vec<String>,

    /// Config file (TOML); flags override its values [default: /etc/vpce-probe/config.toml
    /// when it exists].
    #[arg(short, long, value_name = "FILE", env = "VPCE_PROBE_CONFIG")]
    pub config: Option<std::path::PathBuf>,

    /// AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile, then IMDS).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Named profile from the shared config/credentials files (only that profile is used).
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,

    /// Key prefix under which the put probe writes (never outside it) [default: .vpce-probe/].
    #[arg(long, value_name = "PFX")]
    pub prefix: Option<String>,

    /// Write nothing: no put and no delete (list, and get with --key, still run).
    #[arg(long)]
    pub read_only: bool,

    /// Probe GET on this existing object (first 1 KiB only) instead of the probe object.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,

    /// Report format [default: human].
    #[arg(short, long, value_enum, env = "VPCE_PROBE_OUTPUT")]
    pub output: Option<OutputFormat>,

    /// Deadline for the whole run, in seconds; every step takes what is left of it [default: 10].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<String>,

    /// Deadline for opening one connection, in seconds [default: 3].
    #[arg(long, value_name = "SECS")]
    pub connect_timeout: Option<String>,

    /// Deadline for one IMDS call, in seconds [default: 1].
    #[arg(long, value_name = "SECS")]
    pub imds_timeout: Option<String>,

    /// Attempts per S3 or EC2 API request (1 = no retry) [default: 2]. EC2 retries only
    /// throttling and server errors, and only while the backoff fits in the deadline.
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,

    /// Resolve names with this DNS server (IP or IP:PORT) instead of /etc/resolv.conf's.
    #[arg(long, value_name = "IP[:PORT]")]
    pub dns_server: Option<String>,

    /// Use path-style S3 addressing (https://s3.REGION.amazonaws.com/BUCKET).
    #[arg(long)]
    pub path_style: bool,

    /// Fail the run (exit 1) unless every bucket's path verdict is this one.
    #[arg(long, value_enum, value_name = "VERDICT")]
    pub expect_path: Option<ExpectPath>,

    /// Fail the run unless the probe's S3 requests are allowed (allow) or denied (deny).
    /// With `deny` met, the denials themselves pass.
    #[arg(long, value_enum, value_name = "ACCESS")]
    pub expect_access: Option<ExpectAccess>,

    /// Also send the report to a sink (repeat for several): CloudWatch metrics (PutMetricData)
    /// or CloudWatch Logs (one EMF event per run). A failed delivery is spooled under the state
    /// directory and re-sent by the next run.
    #[arg(long = "sink", value_enum, value_name = "SINK")]
    pub sinks: Vec<SinkArg>,

    /// CloudWatch namespace of the metrics [default: VpceProbe].
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,

    /// Add an InstanceId dimension (the instance id, else the host name) to every metric.
    #[arg(long)]
    pub instance_dimension: bool,

    /// CloudWatch Logs group [default: /vpce-probe]; created if missing (when allowed).
    #[arg(long, value_name = "GROUP")]
    pub log_group: Option<String>,

    /// CloudWatch Logs stream [default: the instance id, else the host name].
    #[arg(long, value_name = "STREAM")]
    pub log_stream: Option<String>,

    /// Deadline for delivering to all sinks, in seconds, after the probe's own [default: 5].
    #[arg(long, value_name = "SECS")]
    pub sink_timeout: Option<String>,

    /// Also write the Prometheus exposition to this file, atomically (for node_exporter's
    /// textfile collector), whatever --output is.
    #[arg(long, value_name = "FILE")]
    pub prometheus_textfile: Option<std::path::PathBuf>,

    /// Colour in the human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Probe again and again, a cycle every SECS seconds [default: 5], and print what changes
    /// (path verdicts, check statuses, findings) with its time, and how long after the first
    /// failure things recovered. On a terminal one screen redrawn in place, else one line per
    /// cycle; with `--output json` one report per line. Ctrl-C prints the summary of every
    /// transition and exits with the last finished cycle's code (0, 1, or 2 when it could not
    /// run; 130 when none finished). Not with `--output prometheus` (`--prometheus-textfile` is
    /// rewritten each cycle).
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "5")]
    pub watch: Option<String>,
}
