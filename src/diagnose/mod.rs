//! PURE: evidence in, verdicts out. No async, no I/O. Every check gets a status and, when it
//! did not pass, a hint; every problem becomes a [`Finding`] whose [`FindingCode`] scripts can
//! match and whose [`Component`] names what to fix.
//!
//! The run-wide checks are judged here; each bucket in [`target`]; one module per judged
//! check under [`checks`]; who denied what in [`attribution`] (S3's messages parsed in
//! [`denial`]); `--expect-*` in [`expectations`]; routes in [`path`] and policies in [`policy`].

pub mod attribution;
pub mod check_name;
pub mod checks;
pub mod denial;
pub mod expectations;
pub mod fault;
pub mod finding_code;
pub mod inputs;
pub mod model;
pub mod path;
pub mod policy;
pub mod target;

pub use check_name::CheckName;
pub use expectations::{Access, Expectations};
pub use finding_code::{Component, FindingCode};
pub use model::{
    ActionDecision, CheckVerdict, Diagnosis, Finding, Severity, Status, TargetDiagnosis,
};

use crate::evidence::{Evidence, SinkOutcome};

/// Turn the evidence of a run into verdicts, each bucket judged against its expectations
/// (`expect[i]` for `ev.targets[i]`; none when missing).
pub fn diagnose(ev: &Evidence, expect: &[Expectations]) -> Diagnosis {
    let none = Expectations::default();
    use checks::lifecycle::unless_interrupted;
    let run = [
        unless_interrupted(checks::imds::judge(ev), ev.context.error.as_ref()),
        unless_interrupted(
            checks::credentials::judge(ev),
            ev.credentials.error.as_ref(),
        ),
        checks::prefix_list::judge(ev),
    ];
    let mut findings: Vec<Finding> = run.iter().flat_map(|j| j.findings.clone()).collect();
    findings.extend(checks::lifecycle::interrupted(ev));
    findings.extend(checks::region::findings(ev));
    // A first run without a named bucket: the listing is a run-wide check of its own.
    let listed = ev.listing.as_ref().map(checks::list_buckets::judge);
    findings.extend(listed.iter().flat_map(|j| j.findings.clone()));
    Diagnosis {
        interrupted: ev.interrupted.is_some(),
        checks: run
            .iter()
            .chain(listed.iter())
            .map(|j| j.verdict.clone())
            .collect(),
        findings: findings
            .into_iter()
            .chain(checks::clock::judge(ev))
            .collect(),
        targets: ev
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| target::diagnose(ev, t, expect.get(i).unwrap_or(&none)))
            .collect(),
    }
}

/// The findings of the sinks' delivery (run after the report is built).
pub fn sink_findings(outcomes: &[SinkOutcome]) -> Vec<Finding> {
    checks::sinks::findings(outcomes)
}
