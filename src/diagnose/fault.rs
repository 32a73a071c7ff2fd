//! What a failed S3 operation means: its error (phase, our code or S3's) classified into a
//! [`Fault`]. S3's own codes are looked up in one table.

use crate::evidence::{ErrorCode, ErrorInfo, OpEvidence, Phase, S3Op, TargetEvidence};

/// What an S3 failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    BucketMissing,
    KeyMissing,
    AccessDenied,
    CredentialsRejected,
    /// The credentials (a session token) expired.
    CredentialsExpired,
    /// S3 refused a request signed too far from its clock (`RequestTimeTooSkewed`).
    ClockSkew,
    WrongRegion,
    Dns,
    /// No connection: a drop, blackhole, unreachable network or refused port.
    Unreachable,
    /// The environment's HTTP proxy did not open the tunnel to S3.
    ProxyRefused,
    /// Connected, but no (complete) answer in time.
    Timeout,
    Tls,
    ServerError,
    /// The conditional put found an object at the probe key (left untouched).
    KeyExists,
    ContentMismatch,
    /// The answer began (status, headers) but its body did not arrive in full: closed early,
    /// reset, or cut by the run deadline.
    Interrupted,
    /// The run deadline passed before the operation started.
    Deadline,
    /// Object Lock refused the delete of the probe's exact version (the collector saw the
    /// retention or S3 said so): not a denial of any policy.
    Retained,
    Other,
}

/// S3's error codes (and the names of bodiless answers) and what they mean.
const S3_CODES: &[(&str, Fault)] = &[
    ("NoSuchBucket", Fault::BucketMissing),
    ("NoSuchKey", Fault::KeyMissing),
    ("PreconditionFailed", Fault::KeyExists),
    ("InvalidAccessKeyId", Fault::CredentialsRejected),
    ("SignatureDoesNotMatch", Fault::CredentialsRejected),
    ("ExpiredToken", Fault::CredentialsExpired),
    ("RequestTimeTooSkewed", Fault::ClockSkew),
    ("InvalidToken", Fault::CredentialsRejected),
    ("TokenRefreshRequired", Fault::CredentialsRejected),
    ("InvalidSecurity", Fault::CredentialsRejected),
    ("PermanentRedirect", Fault::WrongRegion),
    ("AuthorizationHeaderMalformed", Fault::WrongRegion),
    ("IllegalLocationConstraintException", Fault::WrongRegion),
    ("AccessDenied", Fault::AccessDenied),
    ("Forbidden", Fault::AccessDenied),
    ("AllAccessDisabled", Fault::AccessDenied),
];

/// Classify a failed operation of a bucket. A HEAD's answer never has a body, so its bare 400 or
/// 403 names no cause: it shares a credentials or clock fault that another request of the bucket
/// named (S3 answers a HEAD with an expired token with a bare 400, with a skewed clock a bare
/// 403). Returns the fault and the error that names it.
pub fn op_fault<'a>(t: &'a TargetEvidence, op: &'a OpEvidence) -> Option<(Fault, &'a ErrorInfo)> {
    let e = op.error()?;
    if op.detail.object_retained == Some(true) {
        return Some((Fault::Retained, e));
    }
    let f = fault(e);
    if op.op != S3Op::HeadBucket || !matches!(f, Fault::AccessDenied | Fault::Other) {
        return Some((f, e));
    }
    let named = t
        .ops
        .iter()
        .filter(|o| o.op != op.op)
        .filter_map(|o| o.error())
        .map(|e| (fault(e), e))
        .find(|(g, _)| {
            matches!(
                g,
                Fault::CredentialsExpired | Fault::CredentialsRejected | Fault::ClockSkew
            )
        });
    Some(named.unwrap_or((f, e)))
}

/// Classify a failed operation.
pub fn fault(e: &ErrorInfo) -> Fault {
    if e.code == ErrorCode::ProxyRefused {
        return Fault::ProxyRefused;
    }
    match e.phase {
        Phase::Dns => return Fault::Dns,
        Phase::Tls => return Fault::Tls,
        Phase::Verify => return Fault::ContentMismatch,
        Phase::Connect => return Fault::Unreachable,
        Phase::Credentials => return Fault::CredentialsRejected,
        _ => {}
    }
    match &e.code {
        ErrorCode::Timeout | ErrorCode::BodyReadError | ErrorCode::ConnectionReset
            if e.phase == Phase::Response =>
        {
            Fault::Interrupted
        }
        ErrorCode::Timeout => Fault::Timeout,
        ErrorCode::Deadline => Fault::Deadline,
        ErrorCode::Service(code) => {
            if let Some((_, f)) = S3_CODES.iter().find(|(c, _)| c == code) {
                return *f;
            }
            match e.http_status {
                Some(301) | Some(307) => Fault::WrongRegion,
                Some(403) => Fault::AccessDenied,
                Some(404) if code == "NotFound" => Fault::BucketMissing,
                Some(s) if s >= 500 => Fault::ServerError,
                _ => Fault::Other,
            }
        }
        _ => match e.http_status {
            Some(s) if s >= 500 => Fault::ServerError,
            _ => Fault::Other,
        },
    }
}
