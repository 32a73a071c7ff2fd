//! What a failed S3 operation means: its error (phase, our code or S3's) classified into a
//! [`Fault`]. S3's own codes are looked up in one table.

use crate::evidence::{ErrorCode, ErrorInfo, Phase};

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

/// Classify a failed operation.
pub fn fault(e: &ErrorInfo) -> Fault {
    match e.phase {
        Phase::Dns => return Fault::Dns,
        Phase::Tls => return Fault::Tls,
        Phase::Verify => return Fault::ContentMismatch,
        Phase::Connect => return Fault::Unreachable,
        Phase::Credentials => return Fault::CredentialsRejected,
        _ => {}
    }
    match &e.code {
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
