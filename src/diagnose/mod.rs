//! PURE: evidence in, verdicts out. No async, no I/O. Every check gets a status and, when it
//! did not pass, a hint; every problem becomes a [`Finding`] with a stable code that scripts can
//! match and a `component` naming what to fix.

pub mod rules;

use serde::Serialize;

use crate::evidence::{ContextSource, Evidence, OpOutcome, SkipReason};

/// The status of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    Skip,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// A problem (or a notable fact), named for scripts and explained for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable snake_case code, e.g. `no_credentials`.
    pub code: &'static str,
    pub severity: Severity,
    /// What to fix: `credentials`, `bucket`, `bucket_policy`, `network`, `dns`, `region`, ...
    pub component: &'static str,
    pub message: String,
    pub hint: String,
}

/// The verdict on one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckVerdict {
    pub status: Status,
    pub hint: Option<String>,
}

impl CheckVerdict {
    fn new(status: Status, hint: Option<String>) -> Self {
        Self { status, hint }
    }
}

/// Verdicts for one bucket: one per operation, in evidence order, and its findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetDiagnosis {
    pub checks: Vec<CheckVerdict>,
    pub findings: Vec<Finding>,
}

/// The verdicts of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub imds: CheckVerdict,
    pub credentials: CheckVerdict,
    pub targets: Vec<TargetDiagnosis>,
    /// Findings about the run as a whole (context, credentials).
    pub findings: Vec<Finding>,
}

impl Diagnosis {
    /// True when no check failed and no finding is an error.
    pub fn ok(&self) -> bool {
        let checks = [&self.imds, &self.credentials]
            .into_iter()
            .chain(self.targets.iter().flat_map(|t| t.checks.iter()));
        let findings = self
            .findings
            .iter()
            .chain(self.targets.iter().flat_map(|t| t.findings.iter()));
        checks.into_iter().all(|c| c.status != Status::Fail)
            && findings.into_iter().all(|f| f.severity < Severity::Error)
    }
}

/// Turn the evidence of a run into verdicts.
pub fn diagnose(ev: &Evidence) -> Diagnosis {
    let mut findings = Vec::new();

    let imds = match (&ev.context.source, ev.context.disabled) {
        (ContextSource::Imds, _) => CheckVerdict::new(Status::Pass, None),
        (ContextSource::None, true) => {
            findings.push(rules::not_on_ec2(ev));
            CheckVerdict::new(
                Status::Skip,
                Some("IMDS disabled by AWS_EC2_METADATA_DISABLED".into()),
            )
        }
        (ContextSource::None, false) => {
            let f = rules::not_on_ec2(ev);
            let hint = f.hint.clone();
            findings.push(f);
            CheckVerdict::new(Status::Warn, Some(hint))
        }
    };

    let credentials = match (&ev.credentials.provider, &ev.credentials.error) {
        (Some(_), _) => CheckVerdict::new(Status::Pass, None),
        (None, err) => {
            let f = rules::credentials_missing(ev, err.as_ref());
            let hint = f.hint.clone();
            findings.push(f);
            CheckVerdict::new(Status::Fail, Some(hint))
        }
    };

    let targets = ev
        .targets
        .iter()
        .map(|t| {
            let checks = t
                .ops
                .iter()
                .map(|op| match &op.outcome {
                    OpOutcome::Ok => rules::ok_verdict(ev, t, op),
                    OpOutcome::Skipped(SkipReason::ReadOnly) => {
                        CheckVerdict::new(Status::Skip, None)
                    }
                    OpOutcome::Skipped(r) => CheckVerdict::new(Status::Skip, Some(r.to_string())),
                    OpOutcome::Failed(e) => rules::failed_verdict(ev, t, op, e),
                })
                .collect();
            TargetDiagnosis {
                checks,
                findings: rules::target_findings(ev, t),
            }
        })
        .collect();

    Diagnosis {
        imds,
        credentials,
        targets,
        findings,
    }
}
