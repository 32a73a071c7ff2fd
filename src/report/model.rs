//! The report: one serde model, rendered by every sink. Its JSON form is the public contract
//! `vpce-probe/report/v1`, documented in `docs/report-schema.md`; change it only additively.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::diagnose::{CheckVerdict, Diagnosis, Finding, Status};
use crate::evidence::{
    ContextEvidence, CredentialsEvidence, ErrorInfo, Evidence, InstanceContext, OpOutcome,
    ProviderAttempt, RegionSource,
};
use crate::net::DnsAnswer;
use crate::probe::s3::detail_with_meta;

pub const SCHEMA: &str = "vpce-probe/report/v1";

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: &'static str,
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
    pub source: crate::evidence::ContextSource,
    pub endpoint: String,
    pub disabled: bool,
    #[serde(flatten)]
    pub instance: InstanceContext,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
}

/// Which credentials were used — never a secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialsReport {
    pub provider: Option<String>,
    pub expires_at: Option<String>,
    pub tried: Vec<ProviderAttempt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
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
    pub checks: Vec<Check>,
    pub findings: Vec<Finding>,
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
    /// Run-wide checks: `imds`, `credentials`.
    pub checks: Vec<Check>,
    pub targets: Vec<TargetReport>,
    /// Every finding of the run (run-wide first, then per bucket).
    pub findings: Vec<Finding>,
    /// Every DNS answer the probe's resolver gave.
    pub dns: Vec<DnsAnswer>,
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
        name: "imds",
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
        name: "credentials",
        status: v.status,
        duration_ms: ms(c.duration),
        error: c.error.clone(),
        hint: v.hint.clone(),
        detail,
    }
}

impl Report {
    /// Build the report from the evidence and its diagnosis.
    pub fn build(ev: &Evidence, dx: &Diagnosis) -> Self {
        let started_at = aws_smithy_types::DateTime::from(ev.started_at)
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .unwrap_or_default();
        let targets: Vec<TargetReport> = ev
            .targets
            .iter()
            .zip(&dx.targets)
            .map(|(t, td)| {
                let checks: Vec<Check> = t
                    .ops
                    .iter()
                    .zip(&td.checks)
                    .map(|(op, v)| {
                        let mut detail = detail_with_meta(op);
                        if let OpOutcome::Skipped(r) = &op.outcome
                            && let Ok(Value::Object(m)) = serde_json::to_value(r)
                        {
                            detail.extend(m);
                        }
                        Check {
                            name: op.op.check_name(),
                            status: v.status,
                            duration_ms: ms(op.duration),
                            error: op.error().cloned(),
                            hint: v.hint.clone(),
                            detail,
                        }
                    })
                    .collect();
                let ok = td.ok;
                TargetReport {
                    bucket: t.bucket.clone(),
                    region: t.region.clone(),
                    bucket_region: t.bucket_region.clone(),
                    prefix: t.prefix.clone(),
                    probe_key: t.probe_key.clone(),
                    key: t.user_key.clone(),
                    read_only: t.read_only,
                    ok,
                    checks,
                    findings: td.findings.clone(),
                }
            })
            .collect();
        let findings = dx
            .findings
            .iter()
            .chain(dx.targets.iter().flat_map(|t| t.findings.iter()))
            .cloned()
            .collect();
        Report {
            schema: SCHEMA,
            version: env!("CARGO_PKG_VERSION"),
            ok: dx.ok(),
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
            },
            credentials: CredentialsReport {
                provider: ev.credentials.provider.clone(),
                expires_at: ev.credentials.expires_at.clone(),
                tried: ev.credentials.tried.clone(),
                error: ev.credentials.error.clone(),
            },
            checks: vec![
                imds_check(&ev.context, &dx.imds),
                credentials_check(&ev.credentials, &dx.credentials),
            ],
            targets,
            findings,
            dns: ev.dns.clone(),
        }
    }

    /// Every check of the run, run-wide first.
    pub fn all_checks(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .chain(self.targets.iter().flat_map(|t| t.checks.iter()))
    }
}
