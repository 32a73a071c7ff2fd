//! The report: one serde model, rendered by every sink. Its JSON form is the public contract
//! `vpce-probe/report/v1`, documented in `docs/report-schema.md`; change it only additively.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::diagnose::path::PathVerdict;
use crate::diagnose::{
    Access, ActionDecision, CheckName, CheckVerdict, Diagnosis, Finding, Status,
};
use crate::evidence::{
    BucketListing, ContextEvidence, ContextSource, CredentialProvider, CredentialsEvidence,
    DnsAnswer, EndpointEvidence, ErrorCode, ErrorInfo, Evidence, ImdsStep, InstanceContext,
    KeyKind, NetworkAclEvidence, OpEvidence, OpOutcome, Phase, PrefixListEvidence, ProviderAttempt,
    ProxyEvidence, RegionSource, RequestTiming, ResolverEvidence, RouteTableEvidence,
    RuntimeEvidence, SecurityGroupEvidence, SinkOutcome, StaleCleanup, StopSignal, TargetEvidence,
};

pub const SCHEMA: &str = "vpce-probe/report/v1";

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: CheckName,
    pub status: Status,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub detail: Map<String, Value>,
}

/// The instance context as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextReport {
    pub source: ContextSource,
    pub endpoint: String,
    pub disabled: bool,
    #[serde(flatten)]
    pub instance: InstanceContext,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// The IMDSv2 step that failed (with `error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_step: Option<ImdsStep>,
    /// Where the probe runs: container signs and the default gateway.
    pub runtime: RuntimeEvidence,
    /// The IMDS requests (token `PUT`, metadata `GET`s), each with its phase timings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<RequestTiming>,
}

/// Which credentials were used — never a secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialsReport {
    pub provider: Option<CredentialProvider>,
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_kind: Option<KeyKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub tried: Vec<ProviderAttempt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// The credential chain's requests (IMDS role credentials, STS), with their phases.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<RequestTiming>,
}

/// One bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetReport {
    pub bucket: String,
    pub region: String,
    pub bucket_region: Option<String>,
    pub prefix: String,
    pub probe_key: String,
    pub key: Option<String>,
    pub read_only: bool,
    pub ok: bool,
    /// Where this bucket's traffic goes, with the evidence.
    pub path: PathVerdict,
    /// `allow` (every attempted request succeeded), `deny` (a request was denied), or null.
    pub access: Option<Access>,
    /// `dns`, the five S3 operations, then `route`, `endpoint_policy`, `bucket_policy`.
    pub checks: Vec<Check>,
    pub findings: Vec<Finding>,
    /// The bucket's default encryption (GetBucketEncryption); absent when it was not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_encryption: Option<EncryptionReport>,
    /// This instance's stale probe objects (earlier runs' leftovers) found and removed before
    /// this run's end; absent in `--read-only` mode or when the bucket could not be probed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_cleanup: Option<StaleCleanup>,
}

/// A bucket's default encryption as GetBucketEncryption told it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EncryptionReport {
    /// `AES256` (SSE-S3), `aws:kms` (SSE-KMS), `aws:kms:dsse`; null: none configured (or
    /// unknown, with `error`).
    pub algorithm: Option<String>,
    /// The KMS key as configured (null with `aws:kms`: the AWS managed key `aws/s3`).
    pub kms_key_id: Option<String>,
    pub bucket_key_enabled: Option<bool>,
    /// Why it could not be read (e.g. `AccessDenied`: no `s3:GetEncryptionConfiguration`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
}

/// The network as the EC2 API described it (absent off EC2 or without credentials).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkReport {
    pub prefix_list: PrefixListEvidence,
    pub route_table: Option<RouteTableEvidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_table_error: Option<ErrorInfo>,
    pub endpoints: Vec<EndpointEvidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoints_error: Option<ErrorInfo>,
    pub security_groups: Vec<SecurityGroupEvidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_groups_error: Option<ErrorInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_acl: Option<NetworkAclEvidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_acl_error: Option<ErrorInfo>,
    /// The EC2 API calls (`action`) and the ip-ranges fallback, with their phase timings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<RequestTiming>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub version: &'static str,
    pub ok: bool,
    pub run_id: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub region: String,
    pub region_source: RegionSource,
    pub context: ContextReport,
    pub credentials: CredentialsReport,
    /// Run-wide checks: `imds`, `credentials`, `prefix_list`.
    pub checks: Vec<Check>,
    pub network: Option<NetworkReport>,
    pub targets: Vec<TargetReport>,
    /// Every finding of the run (run-wide first, then per bucket).
    pub findings: Vec<Finding>,
    /// Every DNS answer the probe's resolver gave.
    pub dns: Vec<DnsAnswer>,
    /// What happened to each `--sink` (absent without sinks).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sinks: Vec<SinkOutcome>,
    /// The HTTP proxy of the environment (absent when none is set; never its credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyEvidence>,
    /// The DNS servers the resolver asks, and where they came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolver: Option<ResolverEvidence>,
    /// The signal that stopped the run before it finished (`SIGINT`, `SIGTERM`): the report is
    /// partial and `ok` is false. Absent when the run finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<StopSignal>,
}

fn ms(d: std::time::Duration) -> u64 {
    d.as_millis() as u64
}

fn imds_check(c: &ContextEvidence, v: &CheckVerdict) -> Check {
    let mut detail = Map::new();
    detail.insert("endpoint".into(), json!(c.endpoint));
    if let Some(i) = &c.instance {
        detail.insert("instance_id".into(), json!(i.instance_id));
        detail.insert("region".into(), json!(i.region));
    }
    Check {
        name: CheckName::Imds,
        status: v.status,
        duration_ms: ms(c.duration),
        error: c.error.clone(),
        hint: v.hint.clone(),
        detail,
    }
}

fn credentials_check(c: &CredentialsEvidence, v: &CheckVerdict) -> Check {
    let mut detail = Map::new();
    if let Some(p) = &c.provider {
        detail.insert("provider".into(), json!(p));
    }
    if let Some(e) = &c.expires_at {
        detail.insert("expires_at".into(), json!(e));
    }
    detail.insert(
        "tried".into(),
        json!(
            c.tried
                .iter()
                .map(|t| format!("{}: {}", t.provider, t.outcome))
                .collect::<Vec<_>>()
        ),
    );
    Check {
        name: CheckName::Credentials,
        status: v.status,
        duration_ms: ms(c.duration),
        error: c.error.clone(),
        hint: v.hint.clone(),
        detail,
    }
}

/// A check computed from evidence (not a request): a failure carries an `error` in the
/// `verify` phase whose message is the hint.
fn path_check(v: &CheckVerdict, detail: Map<String, Value>) -> Check {
    let code = match v.name {
        CheckName::Route => ErrorCode::RouteFailed,
        CheckName::EndpointPolicy => ErrorCode::EndpointPolicyFailed,
        CheckName::SecurityGroup => ErrorCode::SecurityGroupFailed,
        CheckName::NetworkAcl => ErrorCode::NetworkAclFailed,
        _ => ErrorCode::BucketPolicyFailed,
    };
    Check {
        name: v.name,
        status: v.status,
        duration_ms: 0,
        error: (v.status == Status::Fail)
            .then(|| ErrorInfo::new(Phase::Verify, code, v.hint.clone().unwrap_or_default())),
        hint: v.hint.clone(),
        detail,
    }
}

fn dns_check(t: &TargetEvidence, v: &CheckVerdict) -> Check {
    let mut detail = Map::new();
    let mut duration = 0;
    let mut error = None;
    if let Some(d) = &t.dns {
        duration = ms(d.duration);
        detail.insert("servers".into(), json!(d.servers));
        detail.insert("names".into(), json!(d.names));
        detail.insert("lookups".into(), json!(d.lookups));
        if v.status == Status::Fail
            && let Some(l) = d.lookups.iter().find(|l| l.records.is_empty())
        {
            error = Some(ErrorInfo::new(
                Phase::Dns,
                l.error.clone().unwrap_or(ErrorCode::DnsError),
                l.message
                    .clone()
                    .unwrap_or_else(|| format!("{} {}: no answer", l.name, l.record_type)),
            ));
        }
    }
    Check {
        name: CheckName::Dns,
        status: v.status,
        duration_ms: duration,
        error: error.or_else(|| {
            (v.status == Status::Fail).then(|| {
                ErrorInfo::new(
                    Phase::Dns,
                    ErrorCode::DnsFailed,
                    v.hint.clone().unwrap_or_default(),
                )
            })
        }),
        hint: v.hint.clone(),
        detail,
    }
}

fn route_detail(p: &PathVerdict) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("verdict".into(), json!(p.verdict));
    d.insert("route_table_id".into(), json!(p.route_table_id));
    d.insert("vpc_endpoint_id".into(), json!(p.vpc_endpoint_id));
    d.insert("prefix_list_id".into(), json!(p.prefix_list_id));
    if let Some(proxy) = &p.proxy {
        d.insert("proxy".into(), json!(proxy));
    }
    if let Some(r) = p.addresses.first().and_then(|a| a.route.as_ref()) {
        d.insert("matched".into(), json!(r.matched.to_string()));
        d.insert("target".into(), json!(r.route.target));
    }
    d
}

fn decisions_detail(endpoint: Option<&str>, decisions: &[ActionDecision]) -> Map<String, Value> {
    let mut d = Map::new();
    if let Some(e) = endpoint {
        d.insert("vpc_endpoint_id".into(), json!(e));
    }
    d.insert("decisions".into(), json!(decisions));
    d
}

fn prefix_list_check(ev: &Evidence, v: &CheckVerdict) -> Check {
    let mut detail = Map::new();
    let mut error = None;
    let mut duration = 0;
    if let Some(n) = &ev.network {
        let pl = &n.prefix_list;
        duration = ms(n.duration);
        detail.insert("source".into(), json!(pl.source));
        detail.insert("id".into(), json!(pl.id));
        detail.insert("name".into(), json!(pl.name));
        detail.insert("cidrs".into(), json!(pl.cidrs));
        if let Some(a) = pl.age_seconds {
            detail.insert("age_seconds".into(), json!(a));
        }
        error = pl.errors.first().cloned();
    }
    Check {
        name: CheckName::PrefixList,
        status: v.status,
        duration_ms: duration,
        error,
        hint: v.hint.clone(),
        detail,
    }
}

/// An S3 operation's check: its verdict, the error, and its detail merged with what the
/// transport saw (status, request ids, peer) and why it was skipped.
fn op_check(op: &OpEvidence, v: &CheckVerdict) -> Check {
    let mut detail = match serde_json::to_value(&op.detail) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if op.attempted()
        && let Ok(Value::Object(meta)) = serde_json::to_value(&op.meta)
    {
        for (k, v) in meta {
            detail.entry(k).or_insert(v);
        }
    }
    if let OpOutcome::Skipped(r) = &op.outcome
        && let Ok(Value::Object(m)) = serde_json::to_value(r)
    {
        detail.extend(m);
    }
    Check {
        name: v.name,
        status: v.status,
        duration_ms: ms(op.duration),
        error: op.error().cloned(),
        hint: v.hint.clone(),
        detail,
    }
}

/// The `s3_unsigned` check: the URL, what the transport saw, and the proxy it went through.
fn unsigned_check(t: &TargetEvidence, v: &CheckVerdict) -> Check {
    let mut detail = Map::new();
    let (mut duration, mut error) = (0, None);
    if let Some(u) = &t.unsigned {
        duration = ms(u.duration);
        error = u.error.clone();
        detail.insert("url".into(), json!(u.url));
        if let Ok(Value::Object(meta)) = serde_json::to_value(&u.meta) {
            detail.extend(meta);
        }
        if let Some(p) = &t.via_proxy {
            detail.insert("proxy".into(), json!(p));
        }
    }
    Check {
        name: v.name,
        status: v.status,
        duration_ms: duration,
        error,
        hint: v.hint.clone(),
        detail,
    }
}

/// One check of a bucket, with the evidence behind it.
fn target_check(
    t: &TargetEvidence,
    td: &crate::diagnose::TargetDiagnosis,
    v: &CheckVerdict,
) -> Check {
    match v.name {
        CheckName::Dns => dns_check(t, v),
        CheckName::S3Unsigned => unsigned_check(t, v),
        CheckName::Route => path_check(v, route_detail(&td.path)),
        CheckName::EndpointPolicy => path_check(
            v,
            decisions_detail(td.path.vpc_endpoint_id.as_deref(), &td.endpoint_decisions),
        ),
        CheckName::BucketPolicy => {
            let mut bp = decisions_detail(None, &td.bucket_decisions);
            if let Some(b) = &t.bucket_policy
                && b.error.is_none()
            {
                bp.insert("has_policy".into(), json!(b.policy.is_some()));
            }
            path_check(v, bp)
        }
        CheckName::SecurityGroup | CheckName::NetworkAcl => {
            let detail = td
                .check_details
                .iter()
                .find(|(n, _)| *n == v.name)
                .map(|(_, d)| d.clone())
                .unwrap_or_default();
            path_check(v, detail)
        }
        op => match t.ops.iter().find(|o| CheckName::of_op(o.op) == Some(op)) {
            Some(o) => op_check(o, v),
            None => path_check(v, Map::new()),
        },
    }
}

/// A run-wide check from its evidence.
fn run_check(ev: &Evidence, v: &CheckVerdict) -> Check {
    match v.name {
        CheckName::Imds => imds_check(&ev.context, v),
        CheckName::Credentials => credentials_check(&ev.credentials, v),
        _ => prefix_list_check(ev, v),
    }
}

/// The first run's ListBuckets: the request, and the buckets it gave.
fn list_buckets_check(l: &BucketListing, v: &CheckVerdict) -> Check {
    let mut c = op_check(&l.op, v);
    c.detail.insert("region".into(), json!(l.region));
    c.detail.insert("buckets".into(), json!(l.buckets));
    c.detail.insert("more".into(), json!(l.more));
    c
}

impl Report {
    /// Record what the sinks did: failures become findings and make the run not ok.
    pub fn add_sink_outcomes(&mut self, outcomes: Vec<SinkOutcome>, findings: Vec<Finding>) {
        self.findings.extend(findings);
        if outcomes.iter().any(|o| !o.ok) {
            self.ok = false;
        }
        self.sinks = outcomes;
    }

    /// A stop signal came (also after the evidence was gathered, e.g. during the sinks'
    /// delivery): the report is partial, and not ok.
    pub fn mark_interrupted(&mut self, signal: StopSignal) {
        self.interrupted.get_or_insert(signal);
        self.ok = false;
    }

    /// Build the report from the evidence and its diagnosis.
    pub fn build(ev: &Evidence, dx: &Diagnosis) -> Self {
        let started_at = aws_smithy_types::DateTime::from(ev.started_at)
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .unwrap_or_default();
        let targets: Vec<TargetReport> = ev
            .targets
            .iter()
            .zip(&dx.targets)
            .map(|(t, td)| TargetReport {
                path: td.path.clone(),
                access: td.access,
                bucket: t.bucket.clone(),
                region: t.region.clone(),
                bucket_region: t.bucket_region.clone(),
                prefix: t.prefix.clone(),
                probe_key: t.probe_key.clone(),
                key: t.user_key.clone(),
                read_only: t.read_only,
                ok: td.ok,
                checks: td.checks.iter().map(|v| target_check(t, td, v)).collect(),
                findings: td.findings.clone(),
                bucket_encryption: t.bucket_encryption.as_ref().map(|e| EncryptionReport {
                    algorithm: e.algorithm.clone(),
                    kms_key_id: e.kms_key_id.clone(),
                    bucket_key_enabled: e.bucket_key_enabled,
                    error: e.error.clone(),
                }),
                stale_cleanup: t.stale_cleanup.clone(),
            })
            .collect();
        let findings = dx.all_findings().cloned().collect();
        Report {
            schema: SCHEMA,
            version: env!("CARGO_PKG_VERSION"),
            ok: dx.ok() && ev.interrupted.is_none(),
            run_id: ev.run_id.clone(),
            started_at,
            duration_ms: ms(ev.duration),
            region: ev.region.clone(),
            region_source: ev.region_source,
            context: ContextReport {
                source: ev.context.source,
                endpoint: ev.context.endpoint.clone(),
                disabled: ev.context.disabled,
                instance: ev.context.instance.clone().unwrap_or_default(),
                error: ev.context.error.clone(),
                failed_step: ev.context.failed_step,
                runtime: ev.context.runtime.clone(),
                requests: ev.requests.imds.clone(),
            },
            credentials: CredentialsReport {
                provider: ev.credentials.provider,
                expires_at: ev.credentials.expires_at.clone(),
                key_kind: ev.credentials.key_kind,
                source: ev.credentials.source.clone(),
                tried: ev.credentials.tried.clone(),
                error: ev.credentials.error.clone(),
                requests: ev.requests.credentials.clone(),
            },
            checks: dx
                .checks
                .iter()
                .map(|v| match (v.name, &ev.listing) {
                    (CheckName::S3ListBuckets, Some(l)) => list_buckets_check(l, v),
                    _ => run_check(ev, v),
                })
                .collect(),
            network: ev.network.as_ref().map(|n| NetworkReport {
                prefix_list: n.prefix_list.clone(),
                route_table: n.route_table.clone(),
                route_table_error: n.route_table_error.clone(),
                endpoints: n.endpoints.clone(),
                endpoints_error: n.endpoints_error.clone(),
                security_groups: n.security_groups.clone(),
                security_groups_error: n.security_groups_error.clone(),
                network_acl: n.network_acl.clone(),
                network_acl_error: n.network_acl_error.clone(),
                requests: ev.requests.network.clone(),
            }),
            targets,
            findings,
            dns: ev.dns.clone(),
            proxy: ev.proxy.clone(),
            resolver: ev.resolver.clone(),
            sinks: vec![],
            interrupted: ev.interrupted,
        }
    }

    /// Every check of the run, run-wide first.
    pub fn all_checks(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .chain(self.targets.iter().flat_map(|t| t.checks.iter()))
    }
}
