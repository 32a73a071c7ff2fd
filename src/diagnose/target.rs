//! PURE: the diagnosis of one bucket — its path, the judged checks in report order, who denied
//! what, the expectations, and whether the bucket is ok.

use crate::diagnose::attribution;
use crate::diagnose::check_name::CheckName;
use crate::diagnose::checks::{
    self, Firewalls, Judged, bucket_policy, dns, endpoint_policy, network_acl, route, s3_ops,
    s3_unsigned, security_group,
};
use crate::diagnose::expectations::{self, Access, Expectations};
use crate::diagnose::inputs;
use crate::diagnose::model::{Finding, Severity, Status, TargetDiagnosis};
use crate::evidence::{Evidence, OpOutcome, SkipReason, TargetEvidence};

/// Diagnose one bucket against its expectations.
pub fn diagnose(ev: &Evidence, t: &TargetEvidence, expect: &Expectations) -> TargetDiagnosis {
    let path = inputs::path_of(ev, t);
    let requests = inputs::performed_requests(t);
    let dns = dns::judge(ev, t, &path);
    let route = route::judge(ev, t, &path);
    let endpoint = endpoint_policy::judge(ev, t, &path, &requests);
    let mut bucket = bucket_policy::judge(ev, t, &path, &requests);
    let denials = attribution::attribute(ev, t, &path, &endpoint, &bucket);
    let (sg, sg_detail) = security_group::judge(ev, t);
    let (acl, acl_detail) = network_acl::judge(ev, t);
    let firewalls = Firewalls::of(&[&sg, &acl]);
    if let Some(hint) = &denials.inferred_bucket_policy {
        bucket.judged.verdict.status = Status::Fail;
        bucket.judged.verdict.hint = Some(hint.clone());
    }
    let ops: Vec<Judged> = t
        .ops
        .iter()
        .filter(|o| CheckName::of_op(o.op).is_some())
        .map(|o| s3_ops::judge(ev, t, o, denials.causes.get(&o.op), &firewalls))
        .collect();
    let unsigned = s3_unsigned::judge(ev, t);

    // Causes (the path analysis, the attribution) before symptoms (the failed requests).
    let mut findings: Vec<Finding> = Vec::new();
    let path_checks = [&dns, &route, &endpoint.judged, &bucket.judged, &sg, &acl];
    let causes = path_checks
        .iter()
        .flat_map(|j| j.findings.iter())
        .chain(&denials.findings)
        .cloned();
    let symptoms = ops
        .iter()
        .chain([&unsigned])
        .flat_map(|j| j.findings.iter())
        .cloned()
        .chain(s3_ops::leftovers(ev, t))
        .chain(checks::lifecycle::stale(t));
    for f in causes.chain(symptoms) {
        push_once(&mut findings, f);
    }

    let mut checks = vec![dns.verdict.clone()];
    checks.extend(ops.iter().map(|j| j.verdict.clone()));
    checks.extend([
        route.verdict.clone(),
        endpoint.judged.verdict.clone(),
        bucket.judged.verdict.clone(),
        // added to the report after the others (the report's check order only grows)
        unsigned.verdict.clone(),
        sg.verdict.clone(),
        acl.verdict.clone(),
    ]);

    let attempted = t.ops.iter().filter(|o| o.attempted()).count();
    let all_ok = t
        .ops
        .iter()
        .filter(|o| o.attempted())
        .all(|o| o.outcome == OpOutcome::Ok);
    let access = expectations::access(attempted, denials.causes.len(), all_ok);
    if expect.access == Some(Access::Deny) && access == Some(Access::Deny) {
        let denied: Vec<CheckName> = denials
            .causes
            .keys()
            .filter_map(|op| CheckName::of_op(*op))
            .collect();
        expectations::denied_as_expected(&mut checks, &denied, &mut findings);
    }
    findings.extend(expectations::unmet(expect, &path, access));
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));

    let never_probed = t
        .ops
        .iter()
        .all(|o| matches!(&o.outcome, OpOutcome::Skipped(r) if *r != SkipReason::ReadOnly));
    let ok = !never_probed
        && checks.iter().all(|c| c.status != Status::Fail)
        && findings.iter().all(|f| f.severity < Severity::Error);
    TargetDiagnosis {
        checks,
        path,
        endpoint_decisions: endpoint.decisions,
        bucket_decisions: bucket.decisions,
        access,
        findings,
        ok,
        check_details: vec![
            (CheckName::SecurityGroup, sg_detail),
            (CheckName::NetworkAcl, acl_detail),
        ],
    }
}

/// Keep one finding per code: the most severe occurrence (the first among equals).
fn push_once(out: &mut Vec<Finding>, f: Finding) {
    match out.iter_mut().find(|o| o.code == f.code) {
        Some(o) if o.severity < f.severity => *o = f,
        Some(_) => {}
        None => out.push(f),
    }
}
