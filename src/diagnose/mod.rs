//! PURE: evidence in, verdicts out. No async, no I/O. Every check gets a status and, when it
//! did not pass, a hint; every problem becomes a [`Finding`] with a stable code that scripts can
//! match and a `component` naming what to fix.

pub mod analysis;
pub mod path;
pub mod policy;
pub mod rules;

pub use analysis::{Access, Expectations};

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
    /// What to fix: `credentials`, `imds`, `bucket`, `object`, `policy`, `network`, `dns`,
    /// `region`, `proxy`, `s3`, `probe`.
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
#[derive(Debug, Clone, PartialEq)]
pub struct TargetDiagnosis {
    /// One per S3 operation, in evidence order.
    pub checks: Vec<CheckVerdict>,
    /// The path analysis: verdict, and the dns/route/policy checks.
    pub analysis: analysis::TargetAnalysis,
    pub findings: Vec<Finding>,
    /// Every check of this bucket ran or was skipped on purpose, none failed, no error finding.
    pub ok: bool,
}

/// The verdicts of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnosis {
    pub imds: CheckVerdict,
    pub credentials: CheckVerdict,
    pub prefix_list: CheckVerdict,
    pub targets: Vec<TargetDiagnosis>,
    /// Findings about the run as a whole (context, credentials).
    pub findings: Vec<Finding>,
}

impl Diagnosis {
    /// True when no check failed and no finding is an error.
    pub fn ok(&self) -> bool {
        let checks = [&self.imds, &self.credentials, &self.prefix_list]
            .into_iter()
            .chain(self.targets.iter().flat_map(|t| t.checks.iter()));
        let findings = self
            .findings
            .iter()
            .chain(self.targets.iter().flat_map(|t| t.findings.iter()));
        checks.into_iter().all(|c| c.status != Status::Fail)
            && findings.into_iter().all(|f| f.severity < Severity::Error)
            && self.targets.iter().all(|t| t.ok)
    }
}

/// Turn the evidence of a run into verdicts, each bucket judged against its expectations
/// (`expect[i]` for `ev.targets[i]`; none when missing).
pub fn diagnose(ev: &Evidence, expect: &[Expectations]) -> Diagnosis {
    let none = Expectations::default();
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

    let prefix_list = analysis::prefix_list_verdict(ev, &mut findings);

    let targets = ev
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let expect = expect.get(i).unwrap_or(&none);
            let mut a = analysis::analyse(ev, t, expect);
            let denied_as_expected =
                expect.access == Some(Access::Deny) && a.access == Some(Access::Deny);
            if denied_as_expected {
                for c in [&mut a.endpoint_policy, &mut a.bucket_policy] {
                    if c.status == Status::Fail {
                        c.status = Status::Pass;
                        c.hint = c
                            .hint
                            .take()
                            .map(|h| format!("as expected (--expect-access deny): {h}"));
                    }
                }
            }
            let checks: Vec<CheckVerdict> = t
                .ops
                .iter()
                .map(|op| match &op.outcome {
                    OpOutcome::Ok => rules::ok_verdict(ev, t, op),
                    OpOutcome::Skipped(SkipReason::ReadOnly) => {
                        CheckVerdict::new(Status::Skip, None)
                    }
                    OpOutcome::Skipped(r) => CheckVerdict::new(Status::Skip, Some(r.to_string())),
                    OpOutcome::Failed(e) => {
                        let v = rules::failed_verdict(ev, t, op, e, &a);
                        if denied_as_expected && a.denials.contains_key(op.op.check_name()) {
                            CheckVerdict::new(
                                Status::Pass,
                                Some(format!(
                                    "denied, as expected (--expect-access deny): {}",
                                    v.hint.unwrap_or_default()
                                )),
                            )
                        } else {
                            v
                        }
                    }
                })
                .collect();
            // Causes (from the path analysis) before symptoms (from the failed requests).
            let mut findings = a.findings.clone();
            for f in rules::target_findings(ev, t, &a) {
                if !findings.iter().any(|o: &Finding| o.code == f.code) {
                    findings.push(f);
                }
            }
            if denied_as_expected {
                for f in findings.iter_mut() {
                    if rules::is_denial_code(f.code) {
                        f.severity = Severity::Info;
                    }
                }
            }
            findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
            let never_probed = t
                .ops
                .iter()
                .all(|o| matches!(&o.outcome, OpOutcome::Skipped(r) if *r != SkipReason::ReadOnly));
            let path_checks = [&a.dns, &a.route, &a.endpoint_policy, &a.bucket_policy];
            let ok = !never_probed
                && checks
                    .iter()
                    .chain(path_checks)
                    .all(|c| c.status != Status::Fail)
                && findings.iter().all(|f| f.severity < Severity::Error);
            TargetDiagnosis {
                checks,
                findings,
                ok,
                analysis: a,
            }
        })
        .collect();

    Diagnosis {
        imds,
        credentials,
        prefix_list,
        targets,
        findings,
    }
}

/// Fixture-driven tests: each file in `tests/fixtures/diagnose/` patches a healthy run's
/// evidence (JSON merge patch; `ops` patches operations by check name) and states the
/// expected statuses, finding codes and hint fragments; `target` merge-patches the first
/// bucket's evidence and `expectations` sets `--expect-path`/`--expect-access`.
#[cfg(test)]
mod fixture_tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::evidence::*;

    /// RFC 7386 JSON merge patch.
    fn merge(target: &mut Value, patch: &Value) {
        match (target, patch) {
            (Value::Object(t), Value::Object(p)) => {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
            (t, p) => *t = p.clone(),
        }
    }

    fn evidence_for(fixture: &Value) -> Evidence {
        let mut ev = serde_json::to_value(crate::testutil::healthy_evidence()).unwrap();
        if let Some(p) = fixture.get("patch") {
            merge(&mut ev, p);
        }
        if let Some(p) = fixture.get("target") {
            merge(&mut ev["targets"][0], p);
        }
        if let Some(Value::Object(ops)) = fixture.get("ops") {
            for (name, patch) in ops {
                let list = ev["targets"][0]["ops"].as_array_mut().unwrap();
                let op = list
                    .iter_mut()
                    .find(|o| {
                        let op: S3Op = serde_json::from_value(o["op"].clone()).unwrap();
                        op.check_name() == name
                    })
                    .unwrap_or_else(|| panic!("no op {name}"));
                // outcomes are enums: replace, never merge
                if let Some(outcome) = patch.get("outcome") {
                    op["outcome"] = outcome.clone();
                }
                let mut rest = patch.clone();
                rest.as_object_mut().unwrap().remove("outcome");
                merge(op, &rest);
            }
        }
        serde_json::from_value(ev).expect("fixture evidence deserializes")
    }

    fn status_name(s: Status) -> String {
        serde_json::to_value(s)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn fixtures() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/diagnose");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .expect("fixture dir")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        assert!(files.len() >= 20, "fixtures missing: {}", files.len());
        for path in files {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let fixture: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let ev = evidence_for(&fixture);
            let expect = Expectations {
                path: fixture
                    .pointer("/expectations/path")
                    .map(|v| serde_json::from_value(v.clone()).unwrap()),
                access: fixture
                    .pointer("/expectations/access")
                    .map(|v| serde_json::from_value(v.clone()).unwrap()),
            };
            let dx = diagnose(&ev, std::slice::from_ref(&expect));
            let expect = &fixture["expect"];
            assert_eq!(dx.ok(), expect["ok"].as_bool().unwrap(), "{name}: ok");
            let verdict = |check: &str| -> &CheckVerdict {
                match check {
                    "imds" => &dx.imds,
                    "credentials" => &dx.credentials,
                    "prefix_list" => &dx.prefix_list,
                    "dns" => &dx.targets[0].analysis.dns,
                    "route" => &dx.targets[0].analysis.route,
                    "endpoint_policy" => &dx.targets[0].analysis.endpoint_policy,
                    "bucket_policy" => &dx.targets[0].analysis.bucket_policy,
                    other => {
                        let t = &ev.targets[0];
                        let i = t
                            .ops
                            .iter()
                            .position(|o| o.op.check_name() == other)
                            .unwrap_or_else(|| panic!("{name}: no check {other}"));
                        &dx.targets[0].checks[i]
                    }
                }
            };
            if let Some(Value::Object(checks)) = expect.get("checks") {
                for (check, want) in checks {
                    assert_eq!(
                        status_name(verdict(check).status),
                        want.as_str().unwrap(),
                        "{name}: status of {check}"
                    );
                }
            }
            if let Some(Value::Object(hints)) = expect.get("hints") {
                for (check, want) in hints {
                    let hint = verdict(check).hint.clone().unwrap_or_default();
                    assert!(
                        hint.contains(want.as_str().unwrap()),
                        "{name}: hint of {check} is {hint:?}, wants {want}"
                    );
                }
            }
            let findings: Vec<&Finding> = dx
                .findings
                .iter()
                .chain(dx.targets.iter().flat_map(|t| t.findings.iter()))
                .collect();
            let codes: Vec<&str> = findings.iter().map(|f| f.code).collect();
            let want: Vec<&str> = expect["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(codes, want, "{name}: finding codes");
            if let Some(Value::Object(fs)) = expect.get("finding") {
                for (code, want) in fs {
                    let f = findings.iter().find(|f| f.code == code).unwrap();
                    let got = json!({
                        "severity": f.severity, "component": f.component,
                        "message": f.message, "hint": f.hint,
                    });
                    for (k, v) in want.as_object().unwrap() {
                        let g = got[k].as_str().unwrap();
                        let w = v.as_str().unwrap();
                        let matches = if k == "severity" || k == "component" {
                            g == w
                        } else {
                            g.contains(w)
                        };
                        assert!(matches, "{name}: finding {code}.{k} is {g:?}, wants {w:?}");
                    }
                }
            }
            if let Some(v) = expect.get("verdict") {
                assert_eq!(
                    serde_json::to_value(dx.targets[0].analysis.path.verdict).unwrap(),
                    *v,
                    "{name}: path verdict ({:?})",
                    dx.targets[0].analysis.path.evidence
                );
            }
            if let Some(t_ok) = expect.get("target_ok") {
                assert_eq!(
                    dx.targets[0].ok,
                    t_ok.as_bool().unwrap(),
                    "{name}: target ok"
                );
            }
        }
    }
}
