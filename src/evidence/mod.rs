//! Plain data gathered by the collectors: what was asked, what came back, how long it took.
//!
//! Nothing here decides pass or fail; that is the job of `diagnose`. This layer imports nothing
//! else of the crate: collectors fill it, diagnose and report read it.

pub mod clock;
pub mod dns;
pub mod error;
pub mod lifecycle;
pub mod names;
pub mod network;
pub mod proxy;
pub mod runtime;
pub mod s3;
pub mod sink;
pub mod timing;

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

pub use clock::ClockSample;
pub use dns::{DnsAnswer, DnsEvidence, DnsRecord, RecordType, TypedLookup};
pub use error::{ErrorCode, ErrorInfo, Phase, is_throttling_code};
pub use lifecycle::{STALE_AFTER, STALE_MAX_PER_RUN, StaleCleanup, StaleObject, StopSignal};
pub use network::{
    EndpointEvidence, EndpointType, NetworkAclEntry, NetworkAclEvidence, NetworkEvidence,
    PortRange, PrefixListEvidence, PrefixListSource, RouteEvidence, RouteTableEvidence,
    SecurityGroupEvidence, SecurityGroupRule,
};
pub use proxy::{ProxyEvidence, ProxySetting, ResolverEvidence, ResolverSource, UnsignedEvidence};
pub use runtime::{ContainerSign, ContainerSignKind, RuntimeEvidence};
pub use s3::{
    AttemptError, BucketEncryptionEvidence, BucketListing, BucketPolicyEvidence, OpDetail,
    OpEvidence, OpOutcome, ResponseMeta, S3Op, SkipReason, TargetEvidence,
};
pub use sink::{SPOOL_MAX_FILES, SinkKind, SinkOutcome};
pub use timing::{PhaseTimings, RequestPhase, RequestTiming};

crate::wire_enum! {
    /// How the instance context was learned.
    pub enum ContextSource {
        /// From the instance metadata service (IMDSv2).
        Imds => "imds",
        /// Not learned: not on EC2, IMDS disabled or unreachable.
        None => "none",
    }
}

crate::wire_enum! {
    /// The step of the IMDSv2 exchange that failed.
    pub enum ImdsStep {
        /// `PUT /latest/api/token`: the session token.
        Token => "token",
        /// A metadata `GET` after the token, or the context collection as a whole.
        Metadata => "metadata",
    }
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
    /// Which step failed, when one did: `token` = the token request itself (its error's code
    /// says how: `imds_timeout` = connected, no answer in time), else `metadata`.
    #[serde(default)]
    pub failed_step: Option<ImdsStep>,
    /// Where the probe runs (container signs, default gateway): gathered whatever IMDS said.
    #[serde(default)]
    pub runtime: RuntimeEvidence,
}

impl ContextEvidence {
    /// The IMDSv2 token request connected and got no answer in time: what a metadata hop limit
    /// too low for the probe's network position looks like (the answer dies in transit).
    pub fn token_timed_out(&self) -> bool {
        self.failed_step == Some(ImdsStep::Token)
            && self
                .error
                .as_ref()
                .is_some_and(|e| e.code == ErrorCode::ImdsTimeout)
    }
}

crate::wire_enum! {
    /// Where the region came from, in AWS precedence order.
    pub enum RegionSource {
        Flag => "flag",
        /// The config file's `region`.
        Config => "config",
        Env => "env",
        Profile => "profile",
        Imds => "imds",
        /// No region anywhere: only when IMDS was there but its token answer vanished (the
        /// run reports instead of stopping; `region` is then empty and no bucket is probed).
        None => "none",
    }
}

crate::wire_enum! {
    /// The credential providers of the AWS default chain, in chain order.
    pub enum CredentialProvider {
        Environment => "environment",
        Profile => "profile",
        WebIdentity => "web_identity",
        Container => "container",
        InstanceProfile => "instance_profile",
    }
}

crate::wire_enum! {
    /// What asking one provider gave.
    pub enum ProviderOutcome {
        Found => "found",
        NotConfigured => "not_configured",
        Error => "error",
        Skipped => "skipped",
    }
}

/// One credential provider asked, in chain order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderAttempt {
    pub provider: CredentialProvider,
    pub outcome: ProviderOutcome,
    /// Why (never a secret).
    pub message: String,
    pub duration_ms: u64,
}

crate::wire_enum! {
    /// What kind of access key the credentials carry (from its id's prefix; the id itself is
    /// never kept).
    pub enum KeyKind {
        /// `AKIA…`: an IAM user's long-term access key.
        LongTerm => "long_term",
        /// `ASIA…`: temporary credentials from STS (a role, a session).
        Temporary => "temporary",
    }
}

impl KeyKind {
    /// The kind of an access key id.
    pub fn of(access_key_id: &str) -> Option<KeyKind> {
        if access_key_id.starts_with("AKIA") {
            Some(KeyKind::LongTerm)
        } else if access_key_id.starts_with("ASIA") {
            Some(KeyKind::Temporary)
        } else {
            None
        }
    }
}

/// The outcome of looking for credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsEvidence {
    /// The provider that supplied them.
    pub provider: Option<CredentialProvider>,
    /// When they expire (temporary credentials), RFC 3339.
    pub expires_at: Option<String>,
    /// The kind of access key (long-term `AKIA…` or temporary `ASIA…`), when recognised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_kind: Option<KeyKind>,
    /// Where the provider found them, for people (a variable or a file and profile; never a
    /// secret), when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Every provider asked, in order.
    pub tried: Vec<ProviderAttempt>,
    #[serde(skip)]
    pub duration: Duration,
    pub error: Option<ErrorInfo>,
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
    /// A first run without a named bucket: what ListBuckets gave (the targets are its
    /// buckets, probed read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing: Option<BucketListing>,
    /// What the EC2 API says about the network; `None` off EC2.
    #[serde(default)]
    pub network: Option<NetworkEvidence>,
    /// Every DNS answer the probe's resolver gave during the run.
    #[serde(default)]
    pub dns: Vec<DnsAnswer>,
    /// The HTTP proxy the environment configures; `None` when no proxy variable is set.
    #[serde(default)]
    pub proxy: Option<ProxyEvidence>,
    /// The DNS servers the resolver asks, and where they came from.
    #[serde(default)]
    pub resolver: Option<ResolverEvidence>,
    /// The signal that stopped the run before it finished (its evidence is partial).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<StopSignal>,
    /// How many CA certificates `AWS_CA_BUNDLE` adds to the system's roots (`None`: it is not
    /// set), so a certificate from an unknown issuer can be told apart from a missing bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle_certificates: Option<usize>,
    /// The HTTP requests of the collectors that are not S3 operations (those carry theirs in
    /// `meta.phases`), with their phases.
    #[serde(default)]
    pub requests: RunRequests,
}

/// The requests of the run's non-S3 collectors, each with its phase timings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRequests {
    /// IMDSv2: the token `PUT` and the metadata `GET`s of the instance context.
    #[serde(default)]
    pub imds: Vec<RequestTiming>,
    /// The credential chain (IMDS role credentials, STS web identity, ...).
    #[serde(default)]
    pub credentials: Vec<RequestTiming>,
    /// The EC2 API calls (with their `action`) and the ip-ranges fallback.
    #[serde(default)]
    pub network: Vec<RequestTiming>,
}

impl Evidence {
    /// The instance context, when IMDS gave one.
    pub fn instance(&self) -> Option<&InstanceContext> {
        self.context.instance.as_ref()
    }

    /// The region of this VPC and its gateway endpoints: the instance's (IMDS), else the run's.
    /// It differs from `region` when the configured region is not the instance's.
    pub fn vpc_region(&self) -> &str {
        self.instance()
            .and_then(|i| i.region.as_deref())
            .filter(|r| !r.is_empty())
            .unwrap_or(&self.region)
    }

    /// The caller's ARN as S3 sees it, when the evidence names it: the instance role's session
    /// (`arn:<partition>:sts::<account>:assumed-role/<role>/<instance-id>`) when the credentials
    /// came from the instance profile. `None` otherwise (policies naming principals are then
    /// "conditional", never guessed).
    pub fn caller_arn(&self) -> Option<String> {
        if self.credentials.provider != Some(CredentialProvider::InstanceProfile) {
            return None;
        }
        let i = self.instance()?;
        let partition = if self.region.starts_with("cn-") {
            "aws-cn"
        } else if self.region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        };
        Some(format!(
            "arn:{partition}:sts::{}:assumed-role/{}/{}",
            i.account_id.as_deref()?,
            i.iam_role.as_deref()?,
            i.instance_id.as_deref()?
        ))
    }
}

fn epoch() -> SystemTime {
    SystemTime::UNIX_EPOCH
}
