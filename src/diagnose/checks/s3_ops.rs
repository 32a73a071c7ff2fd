//! The S3 checks (`s3_head_bucket` … `s3_delete`): each operation's verdict and hint, and the
//! findings its failure raises (denials excepted: [`crate::diagnose::attribution`] names them).

use super::{Firewalls, Judged};
use crate::diagnose::attribution::{DenialCause, caller};
use crate::diagnose::check_name::CheckName;
use crate::diagnose::fault::{Fault, fault, op_fault};
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::model::{CheckVerdict, Finding, Severity, Status};
use crate::evidence::{
    ErrorCode, ErrorInfo, Evidence, OpEvidence, OpOutcome, S3Op, SkipReason, TargetEvidence,
};

/// The peer a request went to, for hints.
fn peer(op: &OpEvidence) -> String {
    op.meta
        .peer
        .map(|p| p.to_string())
        .unwrap_or_else(|| "the S3 endpoint".into())
}

/// Judge one operation; `cause` is who denied it, when it was denied.
pub fn judge(
    ev: &Evidence,
    t: &TargetEvidence,
    op: &OpEvidence,
    cause: Option<&DenialCause>,
    firewalls: &Firewalls,
) -> Judged {
    let Some(name) = CheckName::of_op(op.op) else {
        unreachable!("only checked operations are judged")
    };
    match &op.outcome {
        OpOutcome::Ok => match t
            .other_region(ev.vpc_region())
            .filter(|_| op.op == S3Op::HeadBucket)
        {
            Some(br) => Judged::quiet(CheckVerdict::with(
                name,
                Status::Warn,
                format!(
                    "bucket {} is in {br}, not {}: a gateway endpoint only serves buckets in its own region, so this traffic cannot use it",
                    t.bucket,
                    ev.vpc_region()
                ),
            )),
            // passed, maybe after throttled attempts (a warning, the check still passes)
            None => match super::s3_answers::throttled(name.as_str(), op) {
                Some(f) => Judged::with(CheckVerdict::pass(name), f),
                None => Judged::quiet(CheckVerdict::pass(name)),
            },
        },
        OpOutcome::Skipped(SkipReason::ReadOnly) => {
            Judged::quiet(CheckVerdict::new(name, Status::Skip, None))
        }
        OpOutcome::Skipped(r) => {
            Judged::quiet(CheckVerdict::with(name, Status::Skip, r.to_string()))
        }
        OpOutcome::Failed(e) => failed(ev, t, op, e, name, cause, firewalls),
    }
}

fn failed(
    ev: &Evidence,
    t: &TargetEvidence,
    op: &OpEvidence,
    e: &ErrorInfo,
    name: CheckName,
    cause: Option<&DenialCause>,
    firewalls: &Firewalls,
) -> Judged {
    // the fault, and the error that names it (another request's, for a HEAD's bare answer)
    let (f, named) = op_fault(t, op).unwrap_or((fault(e), e));
    // A request refused for the clock: the run-wide `clock` check raises the finding.
    if matches!(
        f,
        Fault::ClockSkew
            | Fault::AccessDenied
            | Fault::CredentialsRejected
            | Fault::CredentialsExpired
    ) && super::clock::blames(&op.meta, e)
    {
        return Judged::quiet(CheckVerdict::with(
            name,
            Status::Fail,
            super::clock::op_hint(&op.meta),
        ));
    }
    let silent_drop = f == Fault::Unreachable && e.code == ErrorCode::ConnectTimeout;
    if silent_drop && let Some(blame) = firewalls.blocking.first() {
        // The firewall check raised the cause; the check's hint names it.
        return Judged::quiet(CheckVerdict::with(
            name,
            Status::Fail,
            format!(
                "the connection to {} was silently dropped by the {}: {} (finding {} has the fix)",
                peer(op),
                blame.component.as_str().replace('_', " "),
                blame.message,
                blame.code
            ),
        ));
    }
    let status = if matches!(f, Fault::KeyExists | Fault::Retained) {
        Status::Warn
    } else {
        Status::Fail
    };
    if f == Fault::AccessDenied {
        // Attribution raises the denial's finding, once for the bucket.
        return Judged::quiet(CheckVerdict::with(
            name,
            status,
            denial_hint(ev, t, op.op, cause),
        ));
    }
    let b = t.bucket.as_str();
    let check = name.as_str();
    let provider = ev
        .credentials
        .provider
        .map(|p| p.as_str())
        .unwrap_or("the credential chain");
    let finding = match f {
        Fault::BucketMissing => FindingCode::BucketNotFound
            .finding(format!("bucket {b} does not exist"), &[("bucket", b)]),
        Fault::KeyMissing => FindingCode::KeyNotFound.finding(
            format!("{check}: {}", e.message),
            &[
                ("key", t.user_key.as_deref().unwrap_or(&t.probe_key)),
                ("bucket", b),
            ],
        ),
        Fault::CredentialsRejected => FindingCode::CredentialsRejected.finding(
            format!("S3 rejected the credentials: {}", named.code),
            &[("provider", provider), ("code", named.code.as_str())],
        ),
        Fault::CredentialsExpired => FindingCode::CredentialsExpired.finding(
            format!(
                "S3 says the credentials from {provider} expired ({}: {})",
                named.code, named.message
            ),
            &[("advice", &super::credentials::expired_advice(provider))],
        ),
        Fault::WrongRegion => FindingCode::BucketInOtherRegion
            .finding(
                format!("bucket {b} is not in {}", ev.region),
                &[(
                    "advice",
                    &format!(
                        "bucket {b} is not in {}: pass --region {}",
                        ev.region,
                        t.bucket_region.as_deref().unwrap_or("<bucket region>")
                    ),
                )],
            )
            .with_severity(Severity::Error),
        Fault::Dns => FindingCode::DnsFailure.finding(
            e.message.clone(),
            &[
                ("name", "the S3 endpoint name"),
                ("why", &e.message),
                ("servers", "the probe's resolver"),
                ("advice", super::dns::GENERIC_ADVICE),
            ],
        ),
        Fault::Unreachable | Fault::Timeout => {
            let mut advice =
                unreachable_advice(&e.code, f, &peer(op), silent_drop.then_some(firewalls));
            if let Some(cause) = super::region::likely_cause(ev, t) {
                advice = format!("{advice}; {cause}");
            }
            FindingCode::S3Unreachable.finding(
                format!("{check} failed: {} ({})", e.code, e.message),
                &[("advice", &advice)],
            )
        }
        Fault::Tls => {
            super::tls::finding(e, &super::tls::host(t), check, ev.ca_bundle_certificates)
        }
        Fault::ProxyRefused => super::proxy::refused(ev, super::proxy::Refused::S3(t), check, e),
        Fault::ServerError => super::s3_answers::server_error(check, op, e),
        Fault::Interrupted => super::s3_answers::interrupted(check, op, e),
        Fault::KeyExists => FindingCode::ProbeKeyExists.finding(
            format!("an object already exists at {}", t.probe_key),
            &[("key", &t.probe_key)],
        ),
        Fault::ContentMismatch => FindingCode::ContentMismatch.finding(e.message.clone(), &[]),
        Fault::Retained => retained(t, op),
        Fault::Deadline => FindingCode::RunDeadlineExceeded.finding(
            format!("{check} did not run before the deadline"),
            &[("check", check)],
        ),
        Fault::AccessDenied | Fault::ClockSkew | Fault::Other => FindingCode::S3Error.finding(
            format!("{check}: {}: {}", e.code, e.message),
            &[("code", e.code.as_str()), ("message", &e.message)],
        ),
    };
    // The check's hint is its finding's.
    Judged::with(
        CheckVerdict::with(name, status, finding.hint.clone()),
        finding,
    )
}

/// What an unreachable S3 means, by how the connection failed; for a silent drop, what the
/// firewall checks could (not) say.
fn unreachable_advice(
    code: &ErrorCode,
    f: Fault,
    peer: &str,
    firewalls: Option<&Firewalls>,
) -> String {
    if f == Fault::Timeout {
        return format!(
            "connected to {peer} but no complete answer in time: a slow or filtering proxy, or a very slow path (--timeout)"
        );
    }
    match code {
        ErrorCode::RouteBlackholed => format!(
            "the route to {peer} is a blackhole: a route table entry drops this traffic (often a deleted gateway or endpoint)"
        ),
        ErrorCode::ConnectionReset => super::s3_answers::reset_advice(peer),
        ErrorCode::ConnectionRefused => {
            format!("{peer} refused the connection: a proxy or a wrong AWS_ENDPOINT_URL(_S3)?")
        }
        ErrorCode::HostUnreachable | ErrorCode::NetworkUnreachable | ErrorCode::RouteProhibited => {
            format!(
                "no route to {peer}: the subnet's route table has no path to S3 — add the S3 gateway endpoint to it, or a NAT gateway"
            )
        }
        _ => {
            let generic = format!(
                "no connection to {peer} within the deadline: traffic is dropped on the way — in a private subnet the S3 gateway endpoint must be on the subnet's route table; also check security group egress and network ACLs"
            );
            match firewalls {
                Some(fw) if !fw.unchecked.is_empty() => {
                    format!("{generic} ({})", fw.unchecked.join("; "))
                }
                Some(_) => format!(
                    "no connection to {peer} within the deadline: traffic is dropped on the way, though the security groups and the network ACL allow it — in a private subnet the S3 gateway endpoint must be on the subnet's route table; else a firewall on the instance or beyond"
                ),
                None => generic,
            }
        }
    }
}

/// The hint under a denied operation, naming its cause.
fn denial_hint(ev: &Evidence, t: &TargetEvidence, op: S3Op, cause: Option<&DenialCause>) -> String {
    let action = op.iam_action();
    let b = &t.bucket;
    match cause {
        Some(DenialCause::EndpointPolicy { endpoint }) => format!(
            "denied by the policy of VPC endpoint {endpoint}: it does not allow {action} on {b}; edit the endpoint policy"
        ),
        Some(DenialCause::BucketPolicyRequiresEndpoint {
            wanted,
            used,
            inferred,
        }) => format!(
            "denied by the bucket policy of {b}{}: it requires {}, but {}",
            if *inferred {
                " (inferred: the policy could not be read)"
            } else {
                ""
            },
            wanted.join(" or "),
            match used {
                Some(u) => format!("the request came through {u}"),
                None =>
                    "the request did not come through a VPC endpoint (check the route table)".into(),
            }
        ),
        Some(DenialCause::BucketPolicy) => {
            format!("denied by an explicit Deny in the bucket policy of {b} for {action}")
        }
        Some(DenialCause::IdentityPolicy) => format!(
            "no identity-based policy of the caller allows {action} on {b}: grant it to the instance role"
        ),
        Some(DenialCause::OrganizationPolicy(p)) => format!(
            "denied by an AWS Organizations {} policy (S3's message): {action} on {b}",
            p.name()
        ),
        Some(DenialCause::SessionPolicy) => {
            format!("denied by the session policy of the caller's credentials: {action} on {b}")
        }
        Some(DenialCause::PermissionsBoundary) => {
            format!(
                "denied by the permissions boundary of {}: {action} on {b}",
                caller(ev)
            )
        }
        Some(DenialCause::Kms { action: kms, key }) => format!(
            "KMS denied {kms} on {}: {action} on {b} needs the bucket's KMS key",
            key.as_deref().unwrap_or("the bucket's key")
        ),
        Some(DenialCause::Unattributed) | None => format!(
            "S3 denied {action} on {b}: check the IAM policy of {}, the bucket policy of {b}, and the VPC endpoint policy",
            caller(ev)
        ),
    }
}

/// Bucket-level findings of the S3 operations: a bucket in another region, and a probe object
/// (or version) this run wrote and could not remove.
pub fn leftovers(ev: &Evidence, t: &TargetEvidence) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(br) = t.other_region(ev.vpc_region()) {
        out.push(FindingCode::BucketInOtherRegion.finding(
            format!(
                "bucket {} is in {br}; the probe runs in {}",
                t.bucket,
                ev.vpc_region()
            ),
            &[(
                "advice",
                &format!(
                    "the S3 gateway endpoint of this VPC only serves {} buckets: traffic to {br} leaves through a NAT/internet gateway; probe with --region {br} or move the bucket",
                    ev.vpc_region()
                ),
            )],
        ));
    }
    let ok = |op: S3Op| t.op(op).is_some_and(|o| o.outcome == OpOutcome::Ok);
    let wrote = ok(S3Op::Put);
    let deleted = ok(S3Op::Delete);
    let retained = t
        .op(S3Op::Delete)
        .is_some_and(|o| o.detail.object_retained == Some(true));
    let version_kept = t
        .op(S3Op::Delete)
        .is_some_and(|o| o.detail.version_delete_denied == Some(true));
    let vars: [(&str, &str); 3] = [
        ("bucket", &t.bucket),
        ("key", &t.probe_key),
        ("prefix", &t.prefix),
    ];
    if wrote && deleted && version_kept {
        out.push(FindingCode::ProbeVersionLeftBehind.finding(
            format!(
                "s3://{}/{} is hidden behind a delete marker, but its version remains (versioned bucket)",
                t.bucket, t.probe_key
            ),
            &vars,
        ));
    }
    if wrote && !deleted && !retained {
        out.push(FindingCode::ProbeObjectLeftBehind.finding(
            format!(
                "the probe object s3://{}/{} could not be deleted",
                t.bucket, t.probe_key
            ),
            &vars,
        ));
    }
    out
}

/// The probe object Object Lock keeps: its key and version, and, when the read-back told them,
/// the retention mode and date (or a legal hold).
fn retained(t: &TargetEvidence, delete: &OpEvidence) -> Finding {
    let version = delete.detail.version_id.as_deref().unwrap_or("(unknown)");
    let get = t.op(S3Op::Get).map(|g| &g.detail);
    let mode = get.and_then(|g| g.object_lock_mode.as_deref());
    let until = get.and_then(|g| g.object_lock_retain_until.as_deref());
    let hold = get.is_some_and(|g| g.object_lock_legal_hold == Some(true));
    let mut how = match (mode, until) {
        (Some(m), Some(u)) => format!(" ({m} mode) until {u}"),
        (Some(m), None) => format!(" ({m} mode, retention date not reported)"),
        (None, Some(u)) => format!(" until {u}"),
        (None, None) => " (retention not reported: S3's refusal names Object Lock)".to_string(),
    };
    if hold {
        how.push_str(", and under a legal hold (until it is removed)");
    }
    FindingCode::ProbeObjectRetained.finding(
        format!(
            "Object Lock refused deleting the probe object s3://{}/{} version {version}: retained{how}; no plain delete was made (no delete marker)",
            t.bucket, t.probe_key
        ),
        &[
            ("bucket", &t.bucket),
            ("key", &t.probe_key),
            ("version", version),
            ("until", &how),
            ("who", retention_holder(mode, hold)),
        ],
    )
}

/// Who can remove an object Object Lock retains, by its mode.
fn retention_holder(mode: Option<&str>, legal_hold: bool) -> &'static str {
    match (mode, legal_hold) {
        (_, true) => {
            "it can be deleted once the legal hold is removed (s3:PutObjectLegalHold) and its retention has ended"
        }
        (Some("COMPLIANCE"), _) => {
            "no one, not even the account's root user, can delete it before then: it expires by itself"
        }
        (Some("GOVERNANCE"), _) => {
            "before then only a caller with s3:BypassGovernanceRetention can delete it (the probe never bypasses)"
        }
        _ => {
            "it can be deleted once its retention ends (GOVERNANCE mode: earlier with s3:BypassGovernanceRetention)"
        }
    }
}
