//! PURE: which component a denied S3 request is blamed on. S3's own message comes first (parsed
//! once, in [`crate::diagnose::denial`]); then the policies as evaluated here; a denial with no
//! evidence of its own (a HEAD's empty 403) shares the cause of the bucket's other denials.
//! One denial, one attribution: each cause raises one finding, listing its actions.

use std::collections::BTreeMap;

use crate::diagnose::checks::bucket_policy::BucketPolicy;
use crate::diagnose::checks::clock;
use crate::diagnose::checks::endpoint_policy::EndpointPolicy;
use crate::diagnose::denial::{Denial, PolicyType};
use crate::diagnose::fault::{Fault, op_fault};
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::inputs::{gateway_endpoints, via_public};
use crate::diagnose::model::Finding;
use crate::diagnose::path::PathVerdict;
use crate::evidence::{Evidence, S3Op, TargetEvidence};

/// Which component a denied S3 request is blamed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenialCause {
    EndpointPolicy {
        endpoint: String,
    },
    BucketPolicyRequiresEndpoint {
        wanted: Vec<String>,
        used: Option<String>,
        /// Not read from the policy (it could not be read) but inferred from S3's message and
        /// a path that bypasses the VPC's gateway endpoint.
        inferred: bool,
    },
    BucketPolicy,
    IdentityPolicy,
    /// A service control or resource control policy of AWS Organizations.
    OrganizationPolicy(PolicyType),
    SessionPolicy,
    PermissionsBoundary,
    /// The denied action is KMS's (an SSE-KMS key the caller may not use).
    Kms {
        action: String,
        key: Option<String>,
    },
    Unattributed,
}

/// Every denied operation's cause, and the findings they raise.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attribution {
    pub causes: BTreeMap<S3Op, DenialCause>,
    pub findings: Vec<Finding>,
    /// The hint for the `bucket_policy` check when its verdict was inferred.
    pub inferred_bucket_policy: Option<String>,
}

/// The denied operations of a bucket, in order.
pub fn denied_ops(t: &TargetEvidence) -> Vec<S3Op> {
    t.ops
        .iter()
        .filter(|o| {
            o.error().is_some_and(|e| {
                // a request refused for the clock is the clock's (finding clock_skew)
                op_fault(t, o).map(|(f, _)| f) == Some(Fault::AccessDenied)
                    && !clock::blames(&o.meta, e)
            })
        })
        .map(|o| o.op)
        .collect()
}

/// Attribute every denial of one bucket.
pub fn attribute(
    ev: &Evidence,
    t: &TargetEvidence,
    path: &PathVerdict,
    endpoint: &EndpointPolicy,
    bucket: &BucketPolicy,
) -> Attribution {
    let endpoint_id = || path.vpc_endpoint_id.clone().unwrap_or_default();
    let gateways = gateway_endpoints(ev);
    let requirement = |op: S3Op| {
        bucket
            .requirement
            .as_ref()
            .filter(|r| r.ops.contains(&op))
            .map(|r| DenialCause::BucketPolicyRequiresEndpoint {
                wanted: r.wanted.clone(),
                used: r.used.clone(),
                inferred: false,
            })
    };
    let mut causes: BTreeMap<S3Op, Option<DenialCause>> = BTreeMap::new();
    for op in denied_ops(t) {
        let said = t
            .op(op)
            .and_then(|o| o.error())
            .and_then(|e| Denial::parse(&e.message));
        let kms = said
            .as_ref()
            .and_then(|d| {
                d.action
                    .as_ref()
                    .filter(|a| a.starts_with("kms:"))
                    .map(|a| (a, d))
            })
            .map(|(a, d)| DenialCause::Kms {
                action: a.clone(),
                // S3's message names the key; else the bucket's default encryption does
                key: d.resource.clone().or_else(|| kms_key(t)),
            });
        let cause = match said.map(|d| d.policy_type) {
            _ if kms.is_some() => kms,
            Some(PolicyType::VpcEndpoint) => Some(DenialCause::EndpointPolicy {
                endpoint: endpoint_id(),
            }),
            Some(PolicyType::IdentityBased) => Some(DenialCause::IdentityPolicy),
            Some(t @ (PolicyType::ServiceControl | PolicyType::ResourceControl)) => {
                Some(DenialCause::OrganizationPolicy(t))
            }
            Some(PolicyType::Session) => Some(DenialCause::SessionPolicy),
            Some(PolicyType::PermissionsBoundary) => Some(DenialCause::PermissionsBoundary),
            Some(PolicyType::ResourceBased) => Some(
                requirement(op)
                    .or_else(|| {
                        // The policy is unreadable, but S3 says a resource-based policy denied
                        // while the traffic bypasses a gateway endpoint of this VPC: the classic
                        // "only through my endpoint" bucket policy.
                        (bucket.unreadable && via_public(path) && !gateways.is_empty()).then(|| {
                            DenialCause::BucketPolicyRequiresEndpoint {
                                wanted: gateways.iter().map(|g| g.to_string()).collect(),
                                used: None,
                                inferred: true,
                            }
                        })
                    })
                    .unwrap_or(DenialCause::BucketPolicy),
            ),
            None if endpoint.denied_ops.contains(&op) => Some(DenialCause::EndpointPolicy {
                endpoint: endpoint_id(),
            }),
            None => requirement(op).or_else(|| {
                bucket
                    .explicit_deny_ops
                    .contains(&op)
                    .then_some(DenialCause::BucketPolicy)
            }),
        };
        causes.insert(op, cause);
    }
    // A denial without evidence of its own (a HEAD's empty 403) shares the cause found for the
    // same IAM action (HEAD and List are both s3:ListBucket), or an inferred cause, which
    // covers every action; never a cause scoped to other actions.
    let found: Vec<(S3Op, DenialCause)> = causes
        .iter()
        .filter_map(|(op, c)| c.clone().map(|c| (*op, c)))
        .collect();
    let shared = |op: S3Op| -> Option<DenialCause> {
        let same_action: Vec<&DenialCause> = found
            .iter()
            .filter(|(o, _)| o.iam_action() == op.iam_action())
            .map(|(_, c)| c)
            .collect();
        match same_action.as_slice() {
            [one] => Some((*one).clone()),
            [] => found
                .iter()
                .map(|(_, c)| c)
                .find(|c| {
                    matches!(
                        c,
                        DenialCause::BucketPolicyRequiresEndpoint { inferred: true, .. }
                    )
                })
                .cloned(),
            _ => None,
        }
    };
    let causes: BTreeMap<S3Op, DenialCause> = causes
        .iter()
        .map(|(op, c)| {
            let c = c
                .clone()
                .or_else(|| shared(*op))
                .unwrap_or(DenialCause::Unattributed);
            (*op, c)
        })
        .collect();
    let mut out = Attribution {
        findings: vec![],
        inferred_bucket_policy: None,
        causes,
    };
    out.findings = findings(
        ev,
        t,
        endpoint,
        bucket,
        &out.causes,
        &mut out.inferred_bucket_policy,
    );
    out
}

/// The KMS key of the bucket's default encryption (SSE-KMS), when it could be read: its id as
/// configured, or AWS's managed key when none is.
pub fn kms_key(t: &TargetEvidence) -> Option<String> {
    let e = t.bucket_encryption.as_ref().filter(|e| e.is_kms())?;
    Some(
        e.kms_key_id
            .clone()
            .unwrap_or_else(|| "the AWS managed key aws/s3".into()),
    )
}

/// The actions of the operations blamed on causes that `pick` selects, deduplicated.
fn actions(
    causes: &BTreeMap<S3Op, DenialCause>,
    pick: impl Fn(&DenialCause) -> bool,
) -> Vec<&'static str> {
    let mut a: Vec<&'static str> = causes
        .iter()
        .filter(|(_, c)| pick(c))
        .map(|(op, _)| op.iam_action())
        .collect();
    a.dedup();
    a
}

fn findings(
    ev: &Evidence,
    t: &TargetEvidence,
    endpoint: &EndpointPolicy,
    bucket: &BucketPolicy,
    causes: &BTreeMap<S3Op, DenialCause>,
    inferred_hint: &mut Option<String>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let b = t.bucket.as_str();
    let caller = caller(ev);
    // S3's message names the endpoint policy where its evaluation here found nothing.
    let by_endpoint = actions(causes, |c| matches!(c, DenialCause::EndpointPolicy { .. }));
    if !by_endpoint.is_empty() && endpoint.denied_ops.is_empty() {
        let id = causes
            .values()
            .find_map(|c| match c {
                DenialCause::EndpointPolicy { endpoint } if !endpoint.is_empty() => {
                    Some(endpoint.clone())
                }
                _ => None,
            })
            .unwrap_or_else(|| "the VPC endpoint".into());
        out.push(FindingCode::EndpointPolicyDenies.finding(
            format!(
                "S3 says a VPC endpoint policy refused {} on {b}",
                by_endpoint.join(", ")
            ),
            &[
                ("endpoint", &id),
                ("actions", &by_endpoint.join(", ")),
                ("resource", &format!("arn:aws:s3:::{b}")),
            ],
        ));
    }
    let inferred = causes.values().find_map(|c| match c {
        DenialCause::BucketPolicyRequiresEndpoint {
            wanted,
            inferred: true,
            ..
        } => Some(wanted.clone()),
        _ => None,
    });
    if let Some(wanted) = inferred
        && bucket.requirement.is_none()
    {
        let acts = actions(causes, |c| {
            matches!(c, DenialCause::BucketPolicyRequiresEndpoint { .. })
        });
        let rtb = ev
            .network
            .as_ref()
            .and_then(|n| n.route_table.as_ref())
            .map(|r| r.id.clone())
            .unwrap_or_else(|| "the subnet's route table".into());
        let vpce = wanted.join(", ");
        let fix = format!(
            "inferred: the bucket policy most likely admits only requests through {vpce} (aws:SourceVpce); route S3 traffic through it: aws ec2 modify-vpc-endpoint --vpc-endpoint-id {} --add-route-table-ids {rtb}",
            wanted.first().map(String::as_str).unwrap_or("vpce-…")
        );
        out.push(FindingCode::BucketPolicyRequiresEndpoint.finding(
            format!(
                "S3 says an explicit deny in a resource-based policy refused {} on {b}; the bucket policy could not be read, and the traffic bypasses the VPC's gateway endpoint {vpce}: inferred, not read",
                acts.join(", ")
            ),
            &[("fix", &fix)],
        ));
        *inferred_hint = Some(fix);
    }
    let by_bucket = actions(causes, |c| *c == DenialCause::BucketPolicy);
    if !by_bucket.is_empty() {
        out.push(FindingCode::BucketPolicyDenies.finding(
            format!("the bucket policy of {b} denies {}", by_bucket.join(", ")),
            &[("bucket", b), ("actions", &by_bucket.join(", "))],
        ));
    }
    let by_iam = actions(causes, |c| *c == DenialCause::IdentityPolicy);
    if !by_iam.is_empty() {
        out.push(FindingCode::IamPolicyDenies.finding(
            format!(
                "S3 says no identity-based policy allows {} on {b}",
                by_iam.join(", ")
            ),
            &[
                ("caller", &caller),
                ("actions", &by_iam.join(", ")),
                ("bucket", b),
                ("prefix", &t.prefix),
            ],
        ));
    }
    let actions_of = |pick: &dyn Fn(&DenialCause) -> bool| actions(causes, pick).join(", ");
    let org: Vec<PolicyType> = causes
        .values()
        .filter_map(|c| match c {
            DenialCause::OrganizationPolicy(t) => Some(*t),
            _ => None,
        })
        .collect();
    if let Some(t) = org.first() {
        let acts = actions_of(&|c| matches!(c, DenialCause::OrganizationPolicy(_)));
        let filter = if *t == PolicyType::ServiceControl {
            "SERVICE_CONTROL_POLICY"
        } else {
            "RESOURCE_CONTROL_POLICY"
        };
        out.push(FindingCode::OrganizationPolicyDenies.finding(
            format!("S3 says a {} policy denies {acts} on {b}", t.name()),
            &[
                ("policy_type", t.name()),
                ("actions", &acts),
                ("filter", filter),
            ],
        ));
    }
    let session = actions_of(&|c| *c == DenialCause::SessionPolicy);
    if !session.is_empty() {
        out.push(FindingCode::SessionPolicyDenies.finding(
            format!("S3 says the session policy denies {session} on {b}"),
            &[("actions", &session)],
        ));
    }
    let boundary = actions_of(&|c| *c == DenialCause::PermissionsBoundary);
    if !boundary.is_empty() {
        out.push(FindingCode::PermissionsBoundaryDenies.finding(
            format!("S3 says the permissions boundary denies {boundary} on {b}"),
            &[("actions", &boundary), ("caller", &caller)],
        ));
    }
    if let Some((op, action, key)) = causes.iter().find_map(|(op, c)| match c {
        DenialCause::Kms { action, key } => Some((op, action, key)),
        _ => None,
    }) {
        let key = key.clone().unwrap_or_else(|| "the bucket's KMS key".into());
        out.push(FindingCode::KmsDenies.finding(
            format!(
                "KMS denied {action} on {key}: {} on {b} needs it (SSE-KMS)",
                op.iam_action()
            ),
            &[
                ("action", action),
                ("key", &key),
                ("caller", &caller),
                ("bucket", b),
            ],
        ));
    }
    let unattributed = actions_of(&|c| *c == DenialCause::Unattributed);
    if !unattributed.is_empty() {
        out.push(FindingCode::AccessDeniedUnattributed.finding(
            format!("S3 denied {unattributed} on {b}"),
            &[
                ("actions", &unattributed),
                ("bucket", b),
                ("caller", &caller),
            ],
        ));
    }
    out
}

/// How hints name the caller: the instance role, else "the caller".
pub fn caller(ev: &Evidence) -> String {
    ev.instance()
        .and_then(|i| i.iam_role.as_deref())
        .map(|r| format!("role {r}"))
        .unwrap_or_else(|| "the caller".into())
}
