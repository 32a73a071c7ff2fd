//! Plain data gathered by the collectors: what was asked, what came back, how long it took.
//!
//! Nothing here decides pass or fail; that is the job of [`crate::diagnose`].

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// Where in the life of a request something went wrong (after dog's `src/output.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Local configuration (bad endpoint URL, unreadable profile, ...).
    Config,
    /// Finding or loading credentials.
    Credentials,
    /// Resolving a name.
    Dns,
    /// Opening the TCP connection.
    Connect,
    /// The TLS handshake.
    Tls,
    /// Sending the request / waiting for the answer.
    Request,
    /// The service answered with an error, or an answer we could not read.
    Response,
    /// The answer arrived but did not hold what we sent (bytes, checksum).
    Verify,
}

/// A failed step, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// Where it failed.
    pub phase: Phase,
    /// The service's error code (`NoSuchBucket`, `AccessDenied`, ...) or one of ours
    /// (`timeout`, `connect_error`, `dns_error`, `checksum_mismatch`, ...).
    pub code: String,
    /// Human-readable message, never containing secrets.
    pub message: String,
    /// HTTP status of the answer, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
}

impl ErrorInfo {
    /// A new error without an HTTP status.
    pub fn new(phase: Phase, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            phase,
            code: code.into(),
            message: message.into(),
            http_status: None,
        }
    }

    /// True for failures that say nothing reached the service: DNS, connect, TLS, or a
    /// timeout before any answer.
    pub fn is_network(&self) -> bool {
        matches!(self.phase, Phase::Dns | Phase::Connect | Phase::Tls)
            || (self.code == "timeout" && self.http_status.is_none())
    }
}

/// What the transport saw of one SDK operation (filled by [`crate::aws::ResponseRecorder`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseMeta {
    /// HTTP status of the last attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// `x-amz-request-id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// `x-amz-id-2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_request_id: Option<String>,
    /// The remote address the connection really went to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<SocketAddr>,
    /// The local address of that connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<SocketAddr>,
    /// `x-amz-bucket-region`, when S3 sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_region: Option<String>,
    /// How many attempts the SDK made (retries included).
    pub attempts: u32,
}

/// How the instance context was learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContextSource {
    /// From the instance metadata service (IMDSv2).
    Imds,
    /// Not learned: not on EC2, IMDS disabled or unreachable.
    None,
}

/// Who this instance is, as IMDSv2 tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceContext {
    pub region: Option<String>,
    pub instance_id: Option<String>,
    pub availability_zone: Option<String>,
    pub availability_zone_id: Option<String>,
    pub account_id: Option<String>,
    pub local_ipv4: Option<String>,
    pub mac: Option<String>,
    pub vpc_id: Option<String>,
    pub subnet_id: Option<String>,
    pub vpc_cidrs: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub iam_role: Option<String>,
}

/// The outcome of asking IMDS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextEvidence {
    pub source: ContextSource,
    /// The IMDS endpoint that was (or would have been) asked.
    pub endpoint: String,
    /// `AWS_EC2_METADATA_DISABLED` was set.
    pub disabled: bool,
    #[serde(skip)]
    pub duration: Duration,
    pub instance: Option<InstanceContext>,
    pub error: Option<ErrorInfo>,
}

/// Where the region came from, in AWS precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionSource {
    Flag,
    /// The config file's `region`.
    Config,
    Env,
    Profile,
    Imds,
}

/// One credential provider asked, in chain order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderAttempt {
    /// Stable provider name: `environment`, `profile`, `web_identity`, `container`,
    /// `instance_profile`.
    pub provider: String,
    /// `found`, `not_configured`, `error` or `skipped`.
    pub outcome: String,
    /// Why (never a secret).
    pub message: String,
    pub duration_ms: u64,
}

/// The outcome of looking for credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsEvidence {
    /// The provider that supplied them.
    pub provider: Option<String>,
    /// When they expire (temporary credentials), RFC 3339.
    pub expires_at: Option<String>,
    /// Every provider asked, in order.
    pub tried: Vec<ProviderAttempt>,
    #[serde(skip)]
    pub duration: Duration,
    pub error: Option<ErrorInfo>,
}

/// The S3 operations the probe performs, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum S3Op {
    HeadBucket,
    List,
    Put,
    Get,
    Delete,
}

impl S3Op {
    /// Every operation, in the order the probe runs them.
    pub const ALL: [S3Op; 5] = [
        S3Op::HeadBucket,
        S3Op::List,
        S3Op::Put,
        S3Op::Get,
        S3Op::Delete,
    ];

    /// The check name in the report.
    pub fn check_name(self) -> &'static str {
        match self {
            S3Op::HeadBucket => "s3_head_bucket",
            S3Op::List => "s3_list",
            S3Op::Put => "s3_put",
            S3Op::Get => "s3_get",
            S3Op::Delete => "s3_delete",
        }
    }

    /// The IAM action this operation needs.
    pub fn iam_action(self) -> &'static str {
        match self {
            S3Op::HeadBucket | S3Op::List => "s3:ListBucket",
            S3Op::Put => "s3:PutObject",
            S3Op::Get => "s3:GetObject",
            S3Op::Delete => "s3:DeleteObject",
        }
    }
}

/// Why an operation was not attempted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum SkipReason {
    /// `--read-only`.
    ReadOnly,
    /// No credentials were found.
    NoCredentials,
    /// An earlier step could not reach S3 at all.
    Unreachable { after: String },
    /// The bucket does not exist.
    BucketMissing,
    /// Nothing was written by this run, so nothing to read back or delete.
    NothingWritten,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::ReadOnly => f.write_str("--read-only: nothing is written"),
            SkipReason::NoCredentials => f.write_str("no credentials"),
            SkipReason::Unreachable { after } => write!(f, "S3 unreachable (see {after})"),
            SkipReason::BucketMissing => f.write_str("the bucket does not exist"),
            SkipReason::NothingWritten => f.write_str("this run wrote no object"),
        }
    }
}

/// How one operation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpOutcome {
    Ok,
    Failed(ErrorInfo),
    Skipped(SkipReason),
}

/// Everything learned from one S3 operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpEvidence {
    pub op: S3Op,
    #[serde(default)]
    pub duration: Duration,
    pub outcome: OpOutcome,
    #[serde(default)]
    pub meta: ResponseMeta,
    /// Operation-specific facts (key, bytes, checksum, key count, ...).
    #[serde(default)]
    pub detail: serde_json::Map<String, serde_json::Value>,
}

impl OpEvidence {
    /// An operation that was not attempted.
    pub fn skipped(op: S3Op, reason: SkipReason) -> Self {
        Self {
            op,
            duration: Duration::ZERO,
            outcome: OpOutcome::Skipped(reason),
            meta: ResponseMeta::default(),
            detail: serde_json::Map::new(),
        }
    }

    /// The error, if the operation failed.
    pub fn error(&self) -> Option<&ErrorInfo> {
        match &self.outcome {
            OpOutcome::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// Everything learned about one bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetEvidence {
    pub bucket: String,
    /// The region the probe's requests were signed for.
    pub region: String,
    /// The bucket's own region, when S3 told us.
    pub bucket_region: Option<String>,
    pub prefix: String,
    /// The probe object's key (written unless read-only).
    pub probe_key: String,
    /// `--key`: an existing object to read.
    pub user_key: Option<String>,
    pub read_only: bool,
    pub ops: Vec<OpEvidence>,
    #[serde(default)]
    pub dns: Option<DnsEvidence>,
    #[serde(default)]
    pub bucket_policy: Option<BucketPolicyEvidence>,
}

/// Everything one run learned (serializable, so diagnose can be tested from fixture files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub run_id: String,
    #[serde(default = "epoch")]
    pub started_at: SystemTime,
    #[serde(default)]
    pub duration: Duration,
    pub region: String,
    pub region_source: RegionSource,
    pub context: ContextEvidence,
    pub credentials: CredentialsEvidence,
    pub targets: Vec<TargetEvidence>,
    /// What the EC2 API says about the network; `None` off EC2.
    #[serde(default)]
    pub network: Option<NetworkEvidence>,
    /// Every DNS answer the probe's resolver gave during the run.
    #[serde(default)]
    pub dns: Vec<crate::net::DnsAnswer>,
}

fn epoch() -> SystemTime {
    SystemTime::UNIX_EPOCH
}

/// One route, as the EC2 API described it (raw: `diagnose::path` interprets it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteEvidence {
    /// A CIDR (IPv4 or IPv6) or a prefix-list id.
    pub destination: String,
    /// `local`, `vpce-…`, `igw-…`, `nat-…`, `eni-…`, ...
    pub target: String,
    /// `active` or `blackhole`.
    pub state: String,
}

/// The route table that governs the instance's subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTableEvidence {
    pub id: String,
    /// True when the subnet has no explicit association and uses the VPC's main table.
    pub main: bool,
    pub routes: Vec<RouteEvidence>,
}

/// Where the S3 prefix list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrefixListSource {
    /// `DescribeManagedPrefixLists` + `GetManagedPrefixListEntries`.
    Ec2,
    /// AWS's published ip-ranges (service S3, the region): may differ from the prefix list.
    IpRanges,
    /// The last good list this host saw (see `age_seconds`).
    Cache,
    /// None could be had.
    None,
}

/// The region's S3 managed prefix list (`com.amazonaws.<region>.s3`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixListEvidence {
    pub source: PrefixListSource,
    pub id: Option<String>,
    pub name: String,
    pub cidrs: Vec<String>,
    /// Age of the cached copy, when `source` is `cache`.
    pub age_seconds: Option<u64>,
    /// Why the EC2 API (and any fallback) could not be used.
    pub errors: Vec<ErrorInfo>,
}

/// A VPC endpoint for S3 in the instance's VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointEvidence {
    pub id: String,
    /// `Gateway` or `Interface`.
    pub endpoint_type: String,
    pub service_name: String,
    /// As the API says it (`available`, ...), lower-cased.
    pub state: String,
    pub policy: Option<String>,
    pub route_table_ids: Vec<String>,
    pub private_dns_enabled: Option<bool>,
}

/// What the EC2 API says about the instance's network (run-wide).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkEvidence {
    pub prefix_list: PrefixListEvidence,
    pub route_table: Option<RouteTableEvidence>,
    pub route_table_error: Option<ErrorInfo>,
    /// CIDRs of every other prefix list the route table refers to.
    #[serde(default)]
    pub other_prefix_lists: std::collections::BTreeMap<String, Vec<String>>,
    pub endpoints: Vec<EndpointEvidence>,
    pub endpoints_error: Option<ErrorInfo>,
    #[serde(default)]
    pub duration: Duration,
}

/// The bucket policy, if it could be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketPolicyEvidence {
    /// The policy document; `None` with no error means the bucket has no policy.
    pub policy: Option<String>,
    /// A denial or failure reading it (itself evidence, never fatal).
    pub error: Option<ErrorInfo>,
    #[serde(default)]
    pub duration: Duration,
}

/// DNS for one bucket: the names the S3 client uses, A and AAAA, with TTLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsEvidence {
    pub servers: Vec<String>,
    /// The names the S3 client will connect to (regional and virtual-hosted, or the host of
    /// an endpoint override). Empty when the endpoint is an IP address.
    pub names: Vec<String>,
    pub lookups: Vec<crate::net::resolver::TypedLookup>,
    #[serde(default)]
    pub duration: Duration,
}
