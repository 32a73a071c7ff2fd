//! The verdict types every diagnose module returns: check statuses, severities, findings, and
//! the diagnosis of a run. Plain data; the report renders them.

use serde::Serialize;

use crate::diagnose::check_name::CheckName;
use crate::diagnose::expectations::Access;
use crate::diagnose::finding_code::{Component, FindingCode};
use crate::diagnose::path::PathVerdict;
use crate::diagnose::policy::Decision;

crate::wire_enum! {
    /// The status of one check.
    pub enum Status {
        Pass => "pass",
        Warn => "warn",
        Fail => "fail",
        Skip => "skip",
    }
}

crate::wire_enum! {
    /// How bad a finding is (ordered: info < warning < error).
    pub enum Severity {
        /// A notable fact.
        Info => "info",
        /// Works, but not as intended.
        Warning => "warning",
        /// Something does not work: the run fails.
        Error => "error",
    }
}

/// A problem (or a notable fact), named for scripts and explained for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable snake_case code, e.g. `no_credentials`.
    pub code: FindingCode,
    pub severity: Severity,
    /// What to fix.
    pub component: Component,
    pub message: String,
    pub hint: String,
}

/// The verdict on one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckVerdict {
    pub name: CheckName,
    pub status: Status,
    pub hint: Option<String>,
}

impl CheckVerdict {
    /// A verdict.
    pub fn new(name: CheckName, status: Status, hint: Option<String>) -> Self {
        Self { name, status, hint }
    }

    /// A passed check.
    pub fn pass(name: CheckName) -> Self {
        Self::new(name, Status::Pass, None)
    }

    /// A check with a status and a hint.
    pub fn with(name: CheckName, status: Status, hint: impl Into<String>) -> Self {
        Self::new(name, status, Some(hint.into()))
    }
}

/// One S3 action the probe performed, and what a policy says about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionDecision {
    pub action: String,
    pub resource: String,
    pub decision: Decision,
    /// The statements that decided (Sid or `#index`).
    pub statements: Vec<String>,
    /// Conditions the probe could not evaluate.
    pub unknown_conditions: Vec<String>,
}

/// The verdicts for one bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetDiagnosis {
    /// In report order: `dns`, the five S3 operations, `route`, `endpoint_policy`,
    /// `bucket_policy`, `security_group`, `network_acl`.
    pub checks: Vec<CheckVerdict>,
    /// Where the bucket's traffic goes, with the evidence.
    pub path: PathVerdict,
    pub endpoint_decisions: Vec<ActionDecision>,
    pub bucket_decisions: Vec<ActionDecision>,
    pub access: Option<Access>,
    /// Most severe first; at most one per code (except `expectation_failed`).
    pub findings: Vec<Finding>,
    /// Every check ran or was skipped on purpose, none failed, no error finding.
    pub ok: bool,
    /// The report detail of the computed checks that build their own (`security_group`,
    /// `network_acl`).
    pub check_details: Vec<(CheckName, serde_json::Map<String, serde_json::Value>)>,
}

impl TargetDiagnosis {
    /// The verdict of one check.
    pub fn check(&self, name: CheckName) -> Option<&CheckVerdict> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// The verdicts of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnosis {
    /// Run-wide checks: `imds`, `credentials`, `prefix_list`.
    pub checks: Vec<CheckVerdict>,
    pub targets: Vec<TargetDiagnosis>,
    /// Findings about the run as a whole (context, credentials, prefix list).
    pub findings: Vec<Finding>,
    /// A stop signal cut the run short: its verdicts are partial, never ok.
    pub interrupted: bool,
}

impl Diagnosis {
    /// True when no check failed, no finding is an error, and the run was not interrupted.
    pub fn ok(&self) -> bool {
        if self.interrupted {
            return false;
        }
        let checks_ok = self.checks.iter().all(|c| c.status != Status::Fail);
        let findings_ok = self.findings.iter().all(|f| f.severity < Severity::Error);
        checks_ok && findings_ok && self.targets.iter().all(|t| t.ok)
    }

    /// Every finding: run-wide first, then each bucket's.
    pub fn all_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .chain(self.targets.iter().flat_map(|t| t.findings.iter()))
    }
}
