//! The `bucket_policy` check: the bucket policy (when readable) evaluated for each request the
//! probe made on its path, and its source conditions (`aws:SourceVpce`, `aws:SourceVpc`,
//! `aws:SourceIp`) compared with the path.

use super::Judged;
use crate::diagnose::check_name::CheckName;
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::inputs::{self, ProbeRequest, via_public};
use crate::diagnose::model::{ActionDecision, CheckVerdict, Status};
use crate::diagnose::path::{PathVerdict, Verdict};
use crate::diagnose::policy::{self, Decision, Effect, Policy, SourceCondition, id_match};
use crate::evidence::{Evidence, S3Op, TargetEvidence};

/// The policy admits only some endpoints/VPCs, and the path provides none of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The endpoint or VPC ids the policy asks for.
    pub wanted: Vec<String>,
    /// The endpoint the traffic used, if any.
    pub used: Option<String>,
    /// The operations whose action the requirement covers.
    pub ops: Vec<S3Op>,
}

/// The check, its decisions, and what attribution needs.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketPolicy {
    pub judged: Judged,
    pub decisions: Vec<ActionDecision>,
    pub requirement: Option<Requirement>,
    /// Operations the policy explicitly denies.
    pub explicit_deny_ops: Vec<S3Op>,
    /// The policy could not be read (GetBucketPolicy failed), so it was not evaluated.
    pub unreadable: bool,
}

/// The endpoint or VPC ids the bucket policy (when readable) requires with `aws:SourceVpce` or
/// `aws:SourceVpc`: a negated condition in a Deny, or a positive one in an Allow.
pub fn source_vpc_requirements(t: &TargetEvidence) -> Vec<String> {
    let Some(p) = t
        .bucket_policy
        .as_ref()
        .and_then(|bp| bp.policy.as_deref())
        .and_then(|doc| Policy::parse(doc).ok())
    else {
        return vec![];
    };
    let mut out: Vec<String> = policy::source_conditions(&p)
        .into_iter()
        .filter(|c| {
            (c.key.eq_ignore_ascii_case("aws:SourceVpce")
                || c.key.eq_ignore_ascii_case("aws:SourceVpc"))
                && (c.effect == Effect::Deny) == c.negated
        })
        .flat_map(|c| c.values)
        .collect();
    out.dedup();
    out
}

/// Judge the bucket policy for one bucket's requests.
pub fn judge(
    ev: &Evidence,
    t: &TargetEvidence,
    path: &PathVerdict,
    requests: &[ProbeRequest],
) -> BucketPolicy {
    let name = CheckName::BucketPolicy;
    let quiet = |status, hint: String, unreadable| BucketPolicy {
        judged: Judged::quiet(CheckVerdict::with(name, status, hint)),
        decisions: vec![],
        requirement: None,
        explicit_deny_ops: vec![],
        unreadable,
    };
    let Some(bp) = &t.bucket_policy else {
        return quiet(Status::Skip, "the bucket policy was not read".into(), false);
    };
    if let Some(e) = &bp.error {
        return quiet(
            Status::Skip,
            format!(
                "the bucket policy could not be read ({}): conditions on aws:SourceVpce cannot be checked (grant s3:GetBucketPolicy to see them)",
                e.code
            ),
            true,
        );
    }
    let Some(doc) = &bp.policy else {
        return quiet(Status::Pass, String::new(), false).without_hint();
    };
    let p = match Policy::parse(doc) {
        Ok(p) => p,
        Err(msg) => {
            return quiet(
                Status::Warn,
                format!("the bucket policy could not be read: {msg}"),
                false,
            );
        }
    };
    let ctx = inputs::condition_context(ev, path);
    // Through an internet or NAT gateway the request carries no endpoint keys at all.
    let absent: &[&str] = if via_public(path) {
        &["aws:SourceVpce", "aws:SourceVpc"]
    } else {
        &[]
    };
    let (per_op, decisions) = inputs::evaluate(ev, &p, requests, &ctx, absent);
    let explicit_deny_ops: Vec<S3Op> = per_op
        .iter()
        .filter(|(_, d)| *d == Decision::ExplicitDeny)
        .map(|(op, _)| *op)
        .collect();
    let mut judged = Judged::quiet(CheckVerdict::pass(name));

    // Source conditions vs the path: only Deny statements that cover a request made.
    let conds = policy::source_conditions(&p);
    let restricting = |key: &str| -> Vec<&SourceCondition> {
        conds
            .iter()
            .filter(|c| c.key.eq_ignore_ascii_case(key) && c.effect == Effect::Deny && c.negated)
            .filter(|c| requests.iter().any(|r| c.covers_action(r.action)))
            .collect()
    };
    let (vpce_conds, vpc_conds) = (restricting("aws:SourceVpce"), restricting("aws:SourceVpc"));
    let used_vpce = path
        .vpc_endpoint_id
        .clone()
        .or_else(|| ctx.get("aws:SourceVpce").cloned());
    let vpc_id = ev.instance().and_then(|i| i.vpc_id.clone());
    let admits = |conds: &[&SourceCondition], have: Option<&String>| {
        conds.is_empty()
            || have.is_some_and(|h| {
                conds
                    .iter()
                    .any(|c| c.values.iter().any(|w| id_match(w, h)))
            })
    };
    let satisfied = match path.verdict {
        Verdict::GatewayEndpoint | Verdict::InterfaceEndpoint => {
            admits(&vpce_conds, used_vpce.as_ref()) && admits(&vpc_conds, vpc_id.as_ref())
        }
        _ if via_public(path) => vpce_conds.is_empty() && vpc_conds.is_empty(),
        _ => true, // unknown path: no claim
    };
    let mut requirement = None;
    if !satisfied {
        let all: Vec<&SourceCondition> = vpce_conds.iter().chain(&vpc_conds).copied().collect();
        let mut wanted: Vec<String> = all.iter().flat_map(|c| c.values.clone()).collect();
        wanted.dedup();
        let ops: Vec<S3Op> = requests
            .iter()
            .filter(|r| all.iter().any(|c| c.covers_action(r.action)))
            .map(|r| r.op)
            .collect();
        let through = match &used_vpce {
            Some(u) => format!("traffic uses {u}"),
            None => format!(
                "traffic goes through the {}",
                inputs::verdict_name(path.verdict).replace('_', " ")
            ),
        };
        let fix = format!(
            "the bucket policy of {} only admits requests from {}, but {through}: fix the route table (or the policy's endpoint id)",
            t.bucket,
            wanted.join(", ")
        );
        let f = FindingCode::BucketPolicyRequiresEndpoint.finding(
            format!(
                "the bucket policy requires {}; {through}",
                wanted.join(" or ")
            ),
            &[("fix", &fix)],
        );
        judged.verdict = CheckVerdict::with(name, Status::Fail, fix);
        judged.findings.push(f);
        requirement = Some(Requirement {
            wanted,
            used: used_vpce.clone(),
            ops,
        });
    }
    let source_ip: Vec<&SourceCondition> = conds
        .iter()
        .filter(|c| c.key.eq_ignore_ascii_case("aws:SourceIp"))
        .collect();
    if !source_ip.is_empty()
        && matches!(
            path.verdict,
            Verdict::GatewayEndpoint | Verdict::InterfaceEndpoint
        )
    {
        let ips: Vec<String> = source_ip.iter().flat_map(|c| c.values.clone()).collect();
        judged.findings.push(FindingCode::BucketPolicySourceIpWithEndpoint.finding(
            format!(
                "the bucket policy tests aws:SourceIp ({}), but through an endpoint S3 sees the instance's private IP",
                ips.join(", ")
            ),
            &[],
        ));
        if judged.verdict.status == Status::Pass {
            judged.verdict = CheckVerdict::with(
                name,
                Status::Warn,
                "aws:SourceIp conditions do not match traffic through an endpoint",
            );
        }
    }
    if judged.verdict.status == Status::Pass {
        // A bucket policy need not allow (IAM may grant it): its implicit denies say nothing.
        let relevant: Vec<ActionDecision> = decisions
            .iter()
            .filter(|d| d.decision != Decision::ImplicitDeny)
            .cloned()
            .collect();
        let (status, hint) = inputs::policy_status(&relevant, "the bucket policy");
        judged.verdict = CheckVerdict::new(name, status, hint);
    }
    BucketPolicy {
        judged,
        decisions,
        requirement,
        explicit_deny_ops,
        unreadable: false,
    }
}

impl BucketPolicy {
    fn without_hint(mut self) -> Self {
        self.judged.verdict.hint = None;
        self
    }
}
