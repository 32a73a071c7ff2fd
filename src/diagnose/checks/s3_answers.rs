//! What S3's answers (and the connections carrying them) say beyond "failed": throttling the
//! SDK's retries got past, a 5xx that is S3's own (its request id) or maybe a middlebox's, an
//! answer whose body was cut, and a reset connection. Each says what is known and how sure:
//! a reset or a cut answer may come from S3 or from anything on the path, so it never blames a
//! route or a policy.

use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::model::Finding;
use crate::evidence::{ErrorCode, ErrorInfo, OpEvidence};

/// The attempts of `op`, for messages ("2 attempts").
fn attempts(op: &OpEvidence) -> String {
    match op.meta.attempts {
        1 => "1 attempt".into(),
        n => format!("{n} attempts"),
    }
}

/// `code` with its request id, when S3 sent one.
fn with_request_id(what: &str, request_id: Option<&str>) -> String {
    match request_id {
        Some(r) => format!("{what}, request id {r}"),
        None => what.to_string(),
    }
}

/// A passed operation some of whose attempts S3 throttled: the warning that says so.
pub fn throttled(check: &str, op: &OpEvidence) -> Option<Finding> {
    let throttled: Vec<_> = op.meta.throttled().collect();
    let first = throttled.first()?;
    let code = first.code.as_deref().unwrap_or("no error code");
    let answers: Vec<String> = throttled
        .iter()
        .map(|a| {
            let answer = match &a.code {
                Some(c) => format!("HTTP {} {c}", a.http_status),
                None => format!("HTTP {}", a.http_status),
            };
            with_request_id(&answer, a.request_id.as_deref())
        })
        .collect();
    Some(FindingCode::S3Throttled.finding(
        format!(
            "{check} passed after S3 throttled {} of {} ({}); the SDK retried",
            throttled.len(),
            attempts(op),
            answers.join("; ")
        ),
        &[("code", &format!("HTTP {} {code}", first.http_status))],
    ))
}

/// An HTTP 5xx that failed `op` after the SDK's retries: S3's own when it carries S3's request
/// id, else possibly a middlebox's.
pub fn server_error(check: &str, op: &OpEvidence, e: &ErrorInfo) -> Finding {
    let status = e.http_status.unwrap_or(500);
    let code = e.code.as_str();
    let request_id = op.meta.request_id.as_deref();
    let throttling = op.meta.attempt_errors.last().is_some_and(|a| a.throttling)
        || matches!(code, "SlowDown" | "ServiceUnavailable");
    let rid = request_id.map_or("no request id".into(), |r| format!("request id {r}"));
    let message = format!(
        "{check}: HTTP {status} {code} ({rid}; {}): {}",
        attempts(op),
        e.message
    );
    let advice = match (request_id, throttling) {
        (Some(r), true) => format!(
            "S3 itself asked to slow down on every attempt (HTTP {status} {code}, request id {r}): too many requests to this bucket or prefix; usually transient, run again later"
        ),
        (Some(r), false) => format!(
            "S3 itself answered HTTP {status} {code} (request id {r}): an error on S3's side, usually transient; run again, and if it persists give AWS Support the request id"
        ),
        (None, _) => format!(
            "HTTP {status} {code} without S3's request id (x-amz-request-id): possibly not S3 but a proxy or load balancer on the path (HTTPS_PROXY?); usually transient, run again"
        ),
    };
    FindingCode::S3ServerError.finding(message, &[("advice", &advice)])
}

/// The body of `op`'s answer did not arrive in full.
pub fn interrupted(check: &str, op: &OpEvidence, e: &ErrorInfo) -> Finding {
    let how = match e.code {
        ErrorCode::ConnectionReset => "the connection was reset (TCP RST) before its body ended",
        ErrorCode::Timeout => "its body stalled until the run deadline cut it",
        _ => "the connection closed before its body ended",
    };
    let arrived = match (op.detail.bytes, op.detail.content_length) {
        (Some(got), Some(len)) => format!("{got} of the {len} bytes announced arrived"),
        (Some(got), None) => format!("{got} bytes arrived"),
        _ => "the body did not arrive in full".into(),
    };
    let status = e
        .http_status
        .or(op.meta.http_status)
        .map_or("an answer".into(), |s| format!("HTTP {s}"));
    let request_id = op.meta.request_id.as_deref().unwrap_or("none");
    FindingCode::S3ResponseInterrupted.finding(
        format!(
            "{check}: {} from {}, then {how}; {arrived} ({}: {})",
            with_request_id(&status, op.meta.request_id.as_deref()),
            op.meta
                .peer
                .map_or("the S3 endpoint".into(), |p| p.to_string()),
            e.code,
            e.message
        ),
        &[("check", check), ("request_id", request_id), ("how", how)],
    )
}

/// What a connection reset while connecting means, for `s3_unreachable`'s advice.
pub fn reset_advice(peer: &str) -> String {
    format!(
        "the connection to {peer} was reset (TCP RST) before S3 answered: S3, or a firewall or proxy on the path that rejects with a reset, closed it, and the instance cannot tell which (a security group or network ACL drops silently, it never resets); run again, and if it repeats look for a firewall or proxy on the path"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{AttemptError, OpOutcome, Phase, S3Op};

    fn op_with(errors: Vec<AttemptError>, attempts: u32) -> OpEvidence {
        let mut op = OpEvidence::skipped(S3Op::Put, crate::evidence::SkipReason::ReadOnly);
        op.outcome = OpOutcome::Ok;
        op.meta.attempts = attempts;
        op.meta.attempt_errors = errors;
        op
    }

    fn slow_down(rid: &str) -> AttemptError {
        AttemptError {
            http_status: 503,
            code: Some("SlowDown".into()),
            request_id: Some(rid.into()),
            throttling: true,
        }
    }

    #[test]
    fn a_throttled_attempt_is_named_with_its_request_id() {
        let f = throttled("s3_put", &op_with(vec![slow_down("ABC")], 2)).unwrap();
        assert_eq!(
            f.message,
            "s3_put passed after S3 throttled 1 of 2 attempts (HTTP 503 SlowDown, request id ABC); the SDK retried"
        );
        assert!(f.hint.contains("(HTTP 503 SlowDown)"), "{}", f.hint);
        assert!(throttled("s3_put", &op_with(vec![], 1)).is_none());
    }

    #[test]
    fn a_5xx_without_s3s_request_id_may_be_a_middlebox() {
        let mut op = op_with(vec![], 2);
        let e = ErrorInfo::service(
            Phase::Response,
            "InternalError",
            "We encountered",
            Some(500),
        );
        let f = server_error("s3_put", &op, &e);
        assert!(f.hint.contains("possibly not S3"), "{}", f.hint);
        op.meta.request_id = Some("RID1".into());
        let f = server_error("s3_put", &op, &e);
        assert!(
            f.hint
                .starts_with("S3 itself answered HTTP 500 InternalError (request id RID1)")
        );
        assert_eq!(
            f.message,
            "s3_put: HTTP 500 InternalError (request id RID1; 2 attempts): We encountered"
        );
    }
}
