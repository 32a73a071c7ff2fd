//! PURE: what the user asserts (`--expect-path`, `--expect-access`) against what was found; an
//! unmet expectation is a finding, and a denial that was expected is no failure.

use serde::{Deserialize, Serialize};

use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::inputs::verdict_name;
use crate::diagnose::model::{CheckVerdict, Finding, Severity, Status};
use crate::diagnose::path::{PathVerdict, Verdict};

/// What the user asserts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    pub path: Option<Verdict>,
    pub access: Option<Access>,
}

/// The access the probe's requests got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Every attempted S3 request succeeded.
    Allow,
    /// At least one S3 request was denied (403).
    Deny,
}

/// The access of a bucket: `deny` when a request was denied, `allow` when every attempted one
/// succeeded, none when nothing was attempted or a request failed otherwise.
pub fn access(attempted: usize, denied: usize, all_ok: bool) -> Option<Access> {
    if attempted == 0 {
        None
    } else if denied > 0 {
        Some(Access::Deny)
    } else if all_ok {
        Some(Access::Allow)
    } else {
        None
    }
}

/// One finding per unmet expectation.
pub fn unmet(expect: &Expectations, path: &PathVerdict, access: Option<Access>) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(want) = expect.path
        && want != path.verdict
    {
        let why = path
            .unknown_reason
            .clone()
            .map(|r| format!("the path could not be proven: {r}"))
            .unwrap_or_else(|| "see the route check and the path evidence".into());
        out.push(FindingCode::ExpectationFailed.finding(
            format!(
                "--expect-path {}: the path is {}",
                verdict_name(want),
                verdict_name(path.verdict)
            ),
            &[("why", &why)],
        ));
    }
    if let Some(want) = expect.access
        && Some(want) != access
    {
        let got = match access {
            Some(Access::Allow) => "allowed",
            Some(Access::Deny) => "denied",
            None => "neither cleanly allowed nor denied",
        };
        let want = match want {
            Access::Allow => "allow",
            Access::Deny => "deny",
        };
        out.push(FindingCode::ExpectationFailed.finding(
            format!("--expect-access {want}: access was {got}"),
            &[("why", "see the failed checks above")],
        ));
    }
    out
}

/// `--expect-access deny` met: the denied checks and the failed policy checks pass, saying so,
/// and the denial findings drop to `info`. Anything else that fails still fails.
pub fn denied_as_expected(
    checks: &mut [CheckVerdict],
    denied: &[crate::diagnose::check_name::CheckName],
    findings: &mut [Finding],
) {
    use crate::diagnose::check_name::CheckName;
    for c in checks.iter_mut() {
        let policy = matches!(c.name, CheckName::EndpointPolicy | CheckName::BucketPolicy);
        if c.status != Status::Fail {
            continue;
        }
        if policy {
            c.status = Status::Pass;
            c.hint = c
                .hint
                .take()
                .map(|h| format!("as expected (--expect-access deny): {h}"));
        } else if denied.contains(&c.name) {
            c.status = Status::Pass;
            c.hint = Some(format!(
                "denied, as expected (--expect-access deny): {}",
                c.hint.take().unwrap_or_default()
            ));
        }
    }
    for f in findings.iter_mut().filter(|f| f.code.is_denial()) {
        f.severity = Severity::Info;
    }
}
