//! The `endpoint_policy` check: the policy of the gateway endpoint the traffic takes, evaluated
//! for each request the probe made.

use std::collections::BTreeSet;

use super::Judged;
use crate::diagnose::check_name::CheckName;
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::inputs::{self, ProbeRequest};
use crate::diagnose::model::{ActionDecision, CheckVerdict, Status};
use crate::diagnose::path::{PathVerdict, Verdict};
use crate::diagnose::policy::{Decision, Policy};
use crate::evidence::{Evidence, S3Op, TargetEvidence};

/// The default endpoint policy: full access.
const DEFAULT_POLICY: &str =
    r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;

/// The check, its decisions, and the operations the policy does not allow.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointPolicy {
    pub judged: Judged,
    pub decisions: Vec<ActionDecision>,
    pub denied_ops: Vec<S3Op>,
}

/// Judge the endpoint policy for one bucket's requests.
pub fn judge(
    ev: &Evidence,
    t: &TargetEvidence,
    path: &PathVerdict,
    requests: &[ProbeRequest],
) -> EndpointPolicy {
    let name = CheckName::EndpointPolicy;
    let quiet = |status, hint: String| EndpointPolicy {
        judged: Judged::quiet(CheckVerdict::with(name, status, hint)),
        decisions: vec![],
        denied_ops: vec![],
    };
    let id = match (path.verdict, &path.vpc_endpoint_id) {
        (Verdict::GatewayEndpoint, Some(id)) => id,
        _ => {
            return quiet(
                Status::Skip,
                format!(
                    "traffic does not take a gateway endpoint (path {})",
                    inputs::verdict_name(path.verdict)
                ),
            );
        }
    };
    let Some(endpoint) = ev.network.as_ref().and_then(|n| n.endpoint(id)) else {
        return quiet(
            Status::Skip,
            format!("{id} is not in DescribeVpcEndpoints' answer: its policy is unknown"),
        );
    };
    let doc = endpoint.policy.as_deref().unwrap_or(DEFAULT_POLICY);
    let policy = match Policy::parse(doc) {
        Ok(p) => p,
        Err(msg) => {
            return quiet(
                Status::Warn,
                format!("the policy of {id} could not be read: {msg}"),
            );
        }
    };
    let ctx = inputs::condition_context(ev, path);
    let (per_op, decisions) = inputs::evaluate(ev, &policy, requests, &ctx, &[]);
    let denied_ops: Vec<S3Op> = per_op
        .iter()
        .filter(|(_, d)| matches!(d, Decision::ExplicitDeny | Decision::ImplicitDeny))
        .map(|(op, _)| *op)
        .collect();
    let (status, hint) = inputs::policy_status(&decisions, &format!("the policy of endpoint {id}"));
    let mut judged = Judged::quiet(CheckVerdict::new(name, status, hint));
    if !denied_ops.is_empty() {
        let actions: BTreeSet<&str> = denied_ops.iter().map(|op| op.iam_action()).collect();
        let actions: Vec<&str> = actions.into_iter().collect();
        let resource = if denied_ops.iter().any(|op| op.on_object()) {
            format!("arn:aws:s3:::{}/*", t.bucket)
        } else {
            format!("arn:aws:s3:::{}", t.bucket)
        };
        judged
            .findings
            .push(FindingCode::EndpointPolicyDenies.finding(
                format!(
                    "the policy of {id} does not allow {} on {}",
                    actions.join(", "),
                    t.bucket
                ),
                &[
                    ("endpoint", id),
                    ("actions", &actions.join(", ")),
                    ("resource", &resource),
                ],
            ));
    }
    EndpointPolicy {
        judged,
        decisions,
        denied_ops,
    }
}
