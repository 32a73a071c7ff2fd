//! The `s3_list_buckets` check (run-wide), on a first run without `--bucket` or config file:
//! ListBuckets of the instance's region gave the buckets probed read-only, or says why not.

use super::Judged;
use crate::diagnose::check_name::CheckName;
use crate::diagnose::denial::{Denial, PolicyType};
use crate::diagnose::fault::{Fault, fault};
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::model::{CheckVerdict, Finding, Status};
use crate::evidence::{BucketListing, OpOutcome};

/// Judge the listing, when the run made one.
pub fn judge(l: &BucketListing) -> Judged {
    let name = CheckName::S3ListBuckets;
    let e = match &l.op.outcome {
        OpOutcome::Failed(e) => e,
        _ if l.buckets.is_empty() => {
            return Judged::quiet(CheckVerdict::with(
                name,
                Status::Warn,
                format!(
                    "no bucket of {} is visible to these credentials: nothing was probed; name one with --bucket",
                    l.region
                ),
            ));
        }
        _ => return Judged::with(CheckVerdict::pass(name), discovered(l)),
    };
    let actions = "s3:ListAllMyBuckets";
    let finding: Finding = match fault(e) {
        Fault::AccessDenied => match Denial::parse(&e.message).map(|d| d.policy_type) {
            Some(PolicyType::IdentityBased) => FindingCode::IamPolicyDenies.finding(
                format!("S3 says no identity-based policy allows {actions}"),
                &[
                    ("caller", "the caller"),
                    ("actions", actions),
                    ("bucket", "*"),
                    ("prefix", ""),
                ],
            ),
            Some(PolicyType::VpcEndpoint) => FindingCode::EndpointPolicyDenies.finding(
                format!("S3 says a VPC endpoint policy refused {actions}"),
                &[
                    ("endpoint", "the gateway endpoint"),
                    ("actions", actions),
                    ("resource", "*"),
                ],
            ),
            Some(t @ (PolicyType::ServiceControl | PolicyType::ResourceControl)) => {
                FindingCode::OrganizationPolicyDenies.finding(
                    format!("S3 says a {} policy denies {actions}", t.name()),
                    &[
                        ("policy_type", t.name()),
                        ("actions", actions),
                        ("filter", "SERVICE_CONTROL_POLICY"),
                    ],
                )
            }
            _ => FindingCode::AccessDeniedUnattributed.finding(
                format!("S3 denied {actions} ({})", e.message),
                &[
                    ("actions", actions),
                    ("bucket", "*"),
                    ("caller", "the caller"),
                ],
            ),
        },
        Fault::Unreachable | Fault::Timeout | Fault::Dns | Fault::Tls | Fault::ProxyRefused => {
            FindingCode::S3Unreachable.finding(
                format!("s3_list_buckets failed: {} ({})", e.code, e.message),
                &[(
                    "advice",
                    "S3 did not answer ListBuckets: the network path to S3 is broken (see the dns and route evidence); name a bucket with --bucket to see its path",
                )],
            )
        }
        _ => FindingCode::S3Error.finding(
            format!("s3_list_buckets: {}: {}", e.code, e.message),
            &[("code", e.code.as_str()), ("message", &e.message)],
        ),
    };
    Judged::with(
        CheckVerdict::with(name, Status::Fail, finding.hint.clone()),
        finding,
    )
}

/// The buckets found, and the config snippet that makes them permanent targets.
fn discovered(l: &BucketListing) -> Finding {
    let snippet: Vec<String> = l
        .buckets
        .iter()
        .map(|b| format!("[[target]] bucket = \"{b}\""))
        .collect();
    FindingCode::BucketsDiscovered.finding(
        format!(
            "no bucket was named: probed {} bucket(s) of {} found by ListBuckets, read-only{}: {}",
            l.buckets.len(),
            l.region,
            if l.more {
                " (more exist: only the first ones)"
            } else {
                ""
            },
            l.buckets.join(", ")
        ),
        &[("snippet", &snippet.join(" · "))],
    )
}
