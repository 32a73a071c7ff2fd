//! One small function per verdict: what a failure means, which component is at fault, and the
//! hint a user needs. Pure; tested from the fixture files in `tests/fixtures/diagnose/`.

use crate::diagnose::analysis::{DenialCause, TargetAnalysis};
use crate::diagnose::{CheckVerdict, Finding, Severity, Status};
use crate::evidence::{ErrorInfo, Evidence, OpEvidence, OpOutcome, Phase, S3Op, TargetEvidence};

/// What an S3 failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    BucketMissing,
    KeyMissing,
    AccessDenied,
    CredentialsRejected,
    WrongRegion,
    Dns,
    /// No connection: a drop, blackhole, unreachable network or refused port.
    Unreachable,
    /// Connected, but no (complete) answer in time.
    Timeout,
    Tls,
    ServerError,
    /// The conditional put found an object at the probe key (left untouched).
    KeyExists,
    ContentMismatch,
    /// The run deadline passed before the operation started.
    Deadline,
    Other,
}

/// Classify a failed operation.
pub fn fault(e: &ErrorInfo) -> Fault {
    let code = e.code.as_str();
    match e.phase {
        Phase::Dns => return Fault::Dns,
        Phase::Tls => return Fault::Tls,
        Phase::Verify => return Fault::ContentMismatch,
        Phase::Connect => return Fault::Unreachable,
        Phase::Credentials => return Fault::CredentialsRejected,
        _ => {}
    }
    match code {
        "NoSuchBucket" => Fault::BucketMissing,
        "NoSuchKey" => Fault::KeyMissing,
        "PreconditionFailed" => Fault::KeyExists,
        "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "InvalidToken"
        | "TokenRefreshRequired"
        | "InvalidSecurity" => Fault::CredentialsRejected,
        "PermanentRedirect"
        | "AuthorizationHeaderMalformed"
        | "IllegalLocationConstraintException" => Fault::WrongRegion,
        "AccessDenied" | "Forbidden" | "AllAccessDisabled" => Fault::AccessDenied,
        "timeout" => Fault::Timeout,
        "deadline" => Fault::Deadline,
        _ => match e.http_status {
            Some(301) | Some(307) => Fault::WrongRegion,
            Some(403) => Fault::AccessDenied,
            Some(404) if code == "NotFound" => Fault::BucketMissing,
            Some(s) if s >= 500 => Fault::ServerError,
            _ => Fault::Other,
        },
    }
}

/// Describe the peer a request went to, for hints.
fn peer(op: &OpEvidence) -> String {
    op.meta
        .peer
        .map(|p| p.to_string())
        .unwrap_or_else(|| "the S3 endpoint".into())
}

/// The hint under a failed check, and its status.
pub fn failed_verdict(
    ev: &Evidence,
    t: &TargetEvidence,
    op: &OpEvidence,
    e: &ErrorInfo,
    a: &TargetAnalysis,
) -> CheckVerdict {
    let f = fault(e);
    let status = if f == Fault::KeyExists {
        Status::Warn
    } else {
        Status::Fail
    };
    let hint = match (f, a.denials.get(op.op.check_name())) {
        (Fault::AccessDenied, Some(cause)) if *cause != DenialCause::Unattributed => {
            denial_hint(t, op, cause)
        }
        _ => hint(ev, t, op, e, f),
    };
    CheckVerdict {
        status,
        hint: Some(hint),
    }
}

/// The hint for a denial whose cause the evidence names.
fn denial_hint(t: &TargetEvidence, op: &OpEvidence, cause: &DenialCause) -> String {
    let action = op.op.iam_action();
    match cause {
        DenialCause::EndpointPolicy { endpoint } => format!(
            "denied by the policy of VPC endpoint {endpoint}: it does not allow {action} on {}; edit the endpoint policy",
            t.bucket
        ),
        DenialCause::BucketPolicyRequiresEndpoint { wanted, used } => format!(
            "denied by the bucket policy of {}: it requires {}, but {}",
            t.bucket,
            wanted.join(" or "),
            match used {
                Some(u) => format!("the request came through {u}"),
                None =>
                    "the request did not come through a VPC endpoint (check the route table)".into(),
            }
        ),
        DenialCause::BucketPolicy => format!(
            "denied by an explicit Deny in the bucket policy of {} for {action}",
            t.bucket
        ),
        DenialCause::IdentityPolicy => format!(
            "no identity-based policy of the caller allows {action} on {}: grant it to the instance role",
            t.bucket
        ),
        DenialCause::Unattributed => String::new(),
    }
}

/// Finding codes that report a denial (downgraded when `--expect-access deny` is met).
pub fn is_denial_code(code: &str) -> bool {
    matches!(
        code,
        "access_denied_unattributed"
            | "endpoint_policy_denies"
            | "bucket_policy_requires_endpoint"
            | "bucket_policy_denies"
            | "iam_policy_denies"
    )
}

fn hint(ev: &Evidence, t: &TargetEvidence, op: &OpEvidence, e: &ErrorInfo, f: Fault) -> String {
    let action = op.op.iam_action();
    let b = &t.bucket;
    match f {
        Fault::BucketMissing => format!(
            "bucket {b} does not exist: check the name (bucket names are global; it may be in another account or partition)"
        ),
        Fault::KeyMissing => format!(
            "no object {} in {b}: check --key",
            t.user_key.as_deref().unwrap_or(&t.probe_key)
        ),
        Fault::AccessDenied => format!(
            "S3 denied {action} on {b}: check the IAM policy of {who}, the bucket policy of {b}, and the VPC endpoint policy",
            who = ev
                .context
                .instance
                .as_ref()
                .and_then(|i| i.iam_role.as_deref())
                .map(|r| format!("role {r}"))
                .unwrap_or_else(|| "the caller".into())
        ),
        Fault::CredentialsRejected => format!(
            "S3 rejected the credentials from {} ({}): they are invalid, expired or for another partition; refresh them or attach an IAM role",
            ev.credentials.provider.as_deref().unwrap_or("the credential chain"),
            e.code
        ),
        Fault::WrongRegion => format!(
            "bucket {b} is not in {}: pass --region {}",
            ev.region,
            t.bucket_region.as_deref().unwrap_or("<bucket region>")
        ),
        Fault::Dns => format!(
            "the S3 endpoint name did not resolve: check /etc/resolv.conf and the VPC's DNS settings (enableDnsSupport), or AWS_ENDPOINT_URL_S3 ({})",
            e.message
        ),
        Fault::Unreachable => match e.code.as_str() {
            "route_blackholed" => format!(
                "the route to {} is a blackhole: a route table entry drops this traffic (often a deleted gateway or endpoint)",
                peer(op)
            ),
            "connection_refused" => format!(
                "{} refused the connection: a proxy or a wrong AWS_ENDPOINT_URL(_S3)?",
                peer(op)
            ),
            "host_unreachable" | "network_unreachable" | "route_prohibited" => format!(
                "no route to {}: the subnet's route table has no path to S3 — add the S3 gateway endpoint to it, or a NAT gateway",
                peer(op)
            ),
            _ => format!(
                "no connection to {} within the deadline: traffic is dropped on the way — in a private subnet the S3 gateway endpoint must be on the subnet's route table; also check security group egress and network ACLs",
                peer(op)
            ),
        },
        Fault::Timeout => format!(
            "connected to {} but no complete answer in time: a slow or filtering proxy, or a very slow path (--timeout)",
            peer(op)
        ),
        Fault::Tls => "the TLS handshake failed: a TLS-inspecting proxy? point AWS_CA_BUNDLE at its CA".to_string(),
        Fault::ServerError => format!("S3 answered HTTP {}: usually transient; run again", e.http_status.unwrap_or(500)),
        Fault::KeyExists => format!(
            "an object already exists at the probe key {}; it was NOT overwritten. Remove it or choose another --prefix",
            t.probe_key
        ),
        Fault::ContentMismatch => "the object read back differs from what was written: something between the instance and S3 altered it (proxy, cache)".to_string(),
        Fault::Deadline => format!(
            "the run deadline passed before {} could start: raise --timeout (earlier steps used the time)",
            op.op.check_name()
        ),
        Fault::Other => format!("{}: {}", e.code, e.message),
    }
}

/// A passed operation may still deserve a warning.
pub fn ok_verdict(ev: &Evidence, t: &TargetEvidence, op: &OpEvidence) -> CheckVerdict {
    if op.op == S3Op::HeadBucket
        && let Some(br) = &t.bucket_region
        && *br != ev.region
    {
        return CheckVerdict {
            status: Status::Warn,
            hint: Some(format!(
                "bucket {} is in {br}, not {}: a gateway endpoint only serves buckets in its own region, so this traffic cannot use it",
                t.bucket, ev.region
            )),
        };
    }
    CheckVerdict {
        status: Status::Pass,
        hint: None,
    }
}

/// Findings about one bucket, deduplicated by code, most severe first.
pub fn target_findings(ev: &Evidence, t: &TargetEvidence, a: &TargetAnalysis) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    // One finding per code; the most severe occurrence wins.
    let mut push = |f: Finding| match out.iter_mut().find(|o| o.code == f.code) {
        Some(o) if o.severity < f.severity => *o = f,
        Some(_) => {}
        None => out.push(f),
    };
    if let Some(br) = &t.bucket_region
        && *br != ev.region
    {
        push(Finding {
            code: "bucket_in_other_region",
            severity: Severity::Warning,
            component: "region",
            message: format!(
                "bucket {} is in {br}; the probe runs in {}",
                t.bucket, ev.region
            ),
            hint: format!(
                "the S3 gateway endpoint of this VPC only serves {} buckets: traffic to {br} leaves through a NAT/internet gateway; probe with --region {br} or move the bucket",
                ev.region
            ),
        });
    }
    let cause = |o: &OpEvidence| a.denials.get(o.op.check_name());
    let denied: Vec<&'static str> = t
        .ops
        .iter()
        .filter(|o| o.error().is_some_and(|e| fault(e) == Fault::AccessDenied))
        .filter(|o| matches!(cause(o), None | Some(DenialCause::Unattributed)))
        .map(|o| o.op.iam_action())
        .collect();
    for op in &t.ops {
        let Some(e) = op.error() else { continue };
        let f = fault(e);
        let hint_text = hint(ev, t, op, e, f);
        let (code, severity, component, message) = match f {
            Fault::BucketMissing => (
                "bucket_not_found",
                Severity::Error,
                "bucket",
                format!("bucket {} does not exist", t.bucket),
            ),
            Fault::KeyMissing => (
                "key_not_found",
                Severity::Error,
                "object",
                format!("{}: {}", op.op.check_name(), e.message),
            ),
            Fault::AccessDenied => match cause(op) {
                Some(DenialCause::BucketPolicy) => (
                    "bucket_policy_denies",
                    Severity::Error,
                    "bucket_policy",
                    format!(
                        "the bucket policy of {} explicitly denies {}",
                        t.bucket,
                        op.op.iam_action()
                    ),
                ),
                // Raised by the path analysis, with its own evidence.
                Some(DenialCause::EndpointPolicy { .. })
                | Some(DenialCause::BucketPolicyRequiresEndpoint { .. })
                | Some(DenialCause::IdentityPolicy) => continue,
                _ => {
                    let mut actions = denied.clone();
                    actions.dedup();
                    (
                        "access_denied_unattributed",
                        Severity::Error,
                        "policy",
                        format!("S3 denied {} on {}", actions.join(", "), t.bucket),
                    )
                }
            },
            Fault::CredentialsRejected => (
                "credentials_rejected",
                Severity::Error,
                "credentials",
                format!("S3 rejected the credentials: {}", e.code),
            ),
            Fault::WrongRegion => (
                "bucket_in_other_region",
                Severity::Error,
                "region",
                format!("bucket {} is not in {}", t.bucket, ev.region),
            ),
            Fault::Dns => ("dns_failure", Severity::Error, "dns", e.message.clone()),
            Fault::Unreachable | Fault::Timeout => (
                "s3_unreachable",
                Severity::Error,
                "network",
                format!("{} failed: {} ({})", op.op.check_name(), e.code, e.message),
            ),
            Fault::Tls => ("tls_failure", Severity::Error, "proxy", e.message.clone()),
            Fault::ServerError => (
                "s3_server_error",
                Severity::Error,
                "s3",
                format!(
                    "{}: HTTP {}",
                    op.op.check_name(),
                    e.http_status.unwrap_or(500)
                ),
            ),
            Fault::KeyExists => (
                "probe_key_exists",
                Severity::Warning,
                "probe",
                format!("an object already exists at {}", t.probe_key),
            ),
            Fault::ContentMismatch => (
                "content_mismatch",
                Severity::Error,
                "network",
                e.message.clone(),
            ),
            Fault::Deadline => (
                "run_deadline_exceeded",
                Severity::Error,
                "probe",
                format!("{} did not run before the deadline", op.op.check_name()),
            ),
            Fault::Other => (
                "s3_error",
                Severity::Error,
                "s3",
                format!("{}: {}: {}", op.op.check_name(), e.code, e.message),
            ),
        };
        push(Finding {
            code,
            severity,
            component,
            message,
            hint: hint_text,
        });
    }
    // An object this run wrote and could not delete must be named, so it can be removed.
    let wrote = t
        .ops
        .iter()
        .any(|o| o.op == S3Op::Put && o.outcome == OpOutcome::Ok);
    let deleted = t
        .ops
        .iter()
        .any(|o| o.op == S3Op::Delete && o.outcome == OpOutcome::Ok);
    let version_kept = t.ops.iter().any(|o| {
        o.op == S3Op::Delete
            && o.detail.get("version_delete_denied") == Some(&serde_json::Value::Bool(true))
    });
    if wrote && deleted && version_kept {
        push(Finding {
            code: "probe_version_left_behind",
            severity: Severity::Warning,
            component: "probe",
            message: format!(
                "s3://{}/{} is hidden behind a delete marker, but its version remains (versioned bucket)",
                t.bucket, t.probe_key
            ),
            hint: format!(
                "grant s3:DeleteObjectVersion on arn:aws:s3:::{}/{}* so the probe can remove the exact version it wrote",
                t.bucket, t.prefix
            ),
        });
    }
    if wrote && !deleted {
        push(Finding {
            code: "probe_object_left_behind",
            severity: Severity::Warning,
            component: "probe",
            message: format!(
                "the probe object s3://{}/{} could not be deleted",
                t.bucket, t.probe_key
            ),
            hint: format!(
                "remove it with: aws s3api delete-object --bucket {} --key '{}' (and grant s3:DeleteObject on {}*)",
                t.bucket, t.probe_key, t.prefix
            ),
        });
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// Not on EC2, IMDS disabled, or IMDS not answering.
pub fn not_on_ec2(ev: &Evidence) -> Finding {
    let c = &ev.context;
    if c.disabled {
        return Finding {
            code: "not_on_ec2",
            severity: Severity::Info,
            component: "imds",
            message: "IMDS disabled (AWS_EC2_METADATA_DISABLED): no instance context".into(),
            hint: format!(
                "running without instance context; region {} from {}",
                ev.region,
                region_source(ev)
            ),
        };
    }
    let err = c.error.as_ref();
    let token_refused = err.is_some_and(|e| e.code == "imds_token_failed");
    let timed_out = err.is_some_and(|e| {
        e.code == "imds_timeout"
            || e.message.to_ascii_lowercase().contains("timeout")
            || e.message.to_ascii_lowercase().contains("timed out")
    });
    Finding {
        code: "not_on_ec2",
        severity: Severity::Warning,
        component: "imds",
        message: format!(
            "no instance metadata from {}: {}",
            c.endpoint,
            err.map(|e| e.message.as_str()).unwrap_or("no answer")
        ),
        hint: if timed_out {
            format!(
                "IMDS did not answer in time: not on EC2, IMDS blocked, or a deadline too tight (--imds-timeout, --timeout); running without instance context, region {} from {}",
                ev.region,
                region_source(ev)
            )
        } else if token_refused {
            "IMDS refused the IMDSv2 token request: in a container, raise the instance's metadata hop limit to 2 (aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 2)".into()
        } else {
            format!(
                "not on EC2 (or IMDS blocked): running without instance context; region {} from {}",
                ev.region,
                region_source(ev)
            )
        },
    }
}

fn region_source(ev: &Evidence) -> &'static str {
    match ev.region_source {
        crate::evidence::RegionSource::Flag => "--region",
        crate::evidence::RegionSource::Config => "the config file",
        crate::evidence::RegionSource::Env => "the environment",
        crate::evidence::RegionSource::Profile => "the profile",
        crate::evidence::RegionSource::Imds => "IMDS",
    }
}

/// No credentials, or a provider that failed.
pub fn credentials_missing(ev: &Evidence, err: Option<&ErrorInfo>) -> Finding {
    let on_ec2 = ev.context.instance.is_some();
    let role = ev
        .context
        .instance
        .as_ref()
        .and_then(|i| i.iam_role.as_ref());
    match err {
        Some(e) if e.code != "no_credentials" => Finding {
            code: "credentials_error",
            severity: Severity::Error,
            component: "credentials",
            message: e.message.clone(),
            hint: "fix the failing credential source named above (profile, web identity, container or instance role)".into(),
        },
        _ => Finding {
            code: "no_credentials",
            severity: Severity::Error,
            component: "credentials",
            message: err
                .map(|e| e.message.clone())
                .unwrap_or_else(|| "no credentials found".into()),
            hint: match (on_ec2, role) {
                (true, None) => "attach an IAM role to the instance (an instance profile) — preferred — or configure access keys (aws configure)".into(),
                (true, Some(r)) => format!("the instance has role {r} but its credentials could not be loaded from IMDS; check the instance profile"),
                (false, _) => "attach an IAM role to the instance — preferred — or configure access keys (aws configure, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)".into(),
            },
        },
    }
}
