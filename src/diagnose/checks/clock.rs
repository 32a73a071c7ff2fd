//! The clock (run-wide, a finding, not a check: the report's run-wide checks are a fixed three):
//! the local clock against the `Date` header of every S3 and EC2
//! answer of the run (STS is not asked: the probe does not depend on it). SigV4 signs with the
//! local time, and S3 refuses a request more than 15 minutes off its own clock
//! (`RequestTimeTooSkewed`, HTTP 403): then the clock, not the credentials or a policy, is to
//! blame for the refused requests ([`blames`]).

use std::time::Duration;

use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::model::{Finding, Severity};
use crate::evidence::{ClockSample, ErrorInfo, Evidence, ResponseMeta};

/// Past this, the skew is a warning (other tools, certificates, logs).
pub const WARN_AFTER: Duration = Duration::from_secs(5 * 60);
/// Past this, SigV4 requests are refused (S3's `RequestTimeTooSkewed`): an error.
pub const FAIL_AFTER: Duration = Duration::from_secs(15 * 60);

/// S3's code for a request signed too far from its clock.
pub const TOO_SKEWED: &str = "RequestTimeTooSkewed";

/// Did this answer refuse the request for the clock, or come from a clock past
/// [`FAIL_AFTER`]? Such a failure is the clock's, whatever its code says.
pub fn blames(meta: &ResponseMeta, e: &ErrorInfo) -> bool {
    meta.time_too_skewed
        || e.code.service() == Some(TOO_SKEWED)
        || meta.clock.is_some_and(|c| c.abs_skew() > FAIL_AFTER)
}

/// The hint of a check whose request the clock made fail.
pub fn op_hint(meta: &ResponseMeta) -> String {
    let off = meta
        .clock
        .map(|c| format!(" (S3's clock is {})", relation(&c)))
        .unwrap_or_default();
    format!(
        "S3 refused the request because the local clock is too far off{off}: SigV4 allows 15 minutes; sync the clock (chrony with the Amazon Time Sync Service, 169.254.169.123)"
    )
}

/// Which answer: the EC2 API's, or S3's to one operation on one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Ec2,
    S3 { op: &'static str, bucket: String },
}

impl Source {
    /// "S3's answer to head_bucket on b".
    fn answer(&self) -> String {
        match self {
            Source::Ec2 => "the EC2 API's answer".into(),
            Source::S3 { op, bucket } => format!("S3's answer to {op} on {bucket}"),
        }
    }

    /// "S3 refused list on b".
    fn refusal(&self) -> String {
        match self {
            Source::Ec2 => "the EC2 API refused a request".into(),
            Source::S3 { op, bucket } => format!("S3 refused {op} on {bucket}"),
        }
    }
}

/// Every S3 and EC2 answer: where it came from, its clock (when it had a `Date`), and whether
/// it refused a request for the clock.
fn samples(ev: &Evidence) -> Vec<(Source, Option<ClockSample>, bool)> {
    let mut out = Vec::new();
    if let Some(c) = ev.network.as_ref().and_then(|n| n.clock) {
        out.push((Source::Ec2, Some(c), false));
    }
    for t in &ev.targets {
        let metas = t
            .ops
            .iter()
            .map(|o| (o.op.as_str(), &o.meta, o.error()))
            .chain(
                t.bucket_policy
                    .iter()
                    .map(|p| ("get_bucket_policy", &p.meta, p.error.as_ref())),
            )
            .chain(
                t.bucket_encryption
                    .iter()
                    .map(|p| ("get_bucket_encryption", &p.meta, p.error.as_ref())),
            );
        for (what, meta, err) in metas {
            let refused =
                meta.time_too_skewed || err.is_some_and(|e| e.code.service() == Some(TOO_SKEWED));
            if meta.clock.is_some() || refused {
                let src = Source::S3 {
                    op: what,
                    bucket: t.bucket.clone(),
                };
                out.push((src, meta.clock, refused));
            }
        }
    }
    out
}

/// The answer whose clock is furthest from ours, and where it came from.
fn worst(ev: &Evidence) -> Option<(Source, ClockSample)> {
    samples(ev)
        .into_iter()
        .filter_map(|(w, c, _)| c.map(|c| (w, c)))
        .max_by_key(|(_, c)| c.abs_skew())
}

/// "7 min 10 s ahead of the local clock" (the service's clock relative to ours).
pub fn relation(c: &ClockSample) -> String {
    let way = if c.skew_ms() >= 0 {
        "ahead of"
    } else {
        "behind"
    };
    format!("{} {way} the local clock", span(c.abs_skew()))
}

/// A duration as people read it: "20 min", "7 min 10 s", "42 s", "300 ms". Past a minute it is
/// rounded to 10 s: a `Date` has a 1 s resolution and arrives after it was stamped, so finer
/// would pretend a precision the evidence does not have (the JSON keeps the exact times).
fn span(d: Duration) -> String {
    let mut s = ((d.as_millis() + 500) / 1000) as u64;
    if s >= 60 {
        s = (s + 5) / 10 * 10;
    }
    match (s / 60, s % 60) {
        (0, 0) => format!("{} ms", d.as_millis()),
        (0, sec) => format!("{sec} s"),
        (m, 0) => format!("{m} min"),
        (m, sec) => format!("{m} min {sec} s"),
    }
}

const REFUSED: &str = "S3 refuses SigV4 requests signed more than 15 minutes off its clock (RequestTimeTooSkewed); the SDK may re-sign with S3's time and retry, other clients do not, and credential expiry is judged by the local clock";

/// Judge the local clock against every answer's `Date`: `clock_skew`, or nothing.
pub fn judge(ev: &Evidence) -> Option<Finding> {
    let all = samples(ev);
    let refused = all.iter().find(|(_, _, r)| *r).map(|(w, _, _)| w.refusal());
    let Some((source, worst)) = worst(ev) else {
        // no answer had a `Date`: only a refusal says anything
        return refused.map(|by| {
                FindingCode::ClockSkew
                    .finding(
                        format!("{by} as {TOO_SKEWED} (SigV4 allows 15 minutes); no answer carried a Date header"),
                        &[
                            ("offset", "more than 15 min"),
                            ("direction", "off"),
                            ("source", "S3's answers"),
                            ("consequence", REFUSED),
                        ],
                    )
                    .with_severity(Severity::Error)
        });
    };
    let worst = &worst;
    let off = worst.abs_skew();
    let severity = if refused.is_some() || off > FAIL_AFTER {
        Severity::Error
    } else if off > WARN_AFTER {
        Severity::Warning
    } else {
        return None;
    };
    let date = |t| crate::evidence::clock::rfc3339::format(t);
    let source = source.answer();
    let mut message = format!(
        "the Date of {source} is {}, received at {} local time: AWS's clock is {}",
        date(worst.server_date),
        date(worst.received_at),
        relation(worst)
    );
    let consequence = match &refused {
        Some(by) => {
            message.push_str(&format!("; {by} as {TOO_SKEWED} (SigV4 allows 15 minutes)"));
            REFUSED
        }
        None if severity == Severity::Error => {
            "S3 refuses SigV4 requests signed more than 15 minutes off its clock (RequestTimeTooSkewed), and credential expiry is judged by the local clock"
        }
        None => {
            "past 15 minutes S3 refuses every SigV4 request (RequestTimeTooSkewed); certificates, logs and credential expiry already use the wrong time"
        }
    };
    let f = FindingCode::ClockSkew
        .finding(
            message,
            &[
                ("offset", &span(off)),
                (
                    "direction",
                    if worst.skew_ms() >= 0 {
                        "behind"
                    } else {
                        "ahead of"
                    },
                ),
                ("source", &source),
                ("consequence", consequence),
            ],
        )
        .with_severity(severity);
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_like_people_write_them() {
        assert_eq!(span(Duration::from_secs(1200)), "20 min");
        assert_eq!(span(Duration::from_secs(423)), "7 min");
        assert_eq!(span(Duration::from_secs(436)), "7 min 20 s");
        assert_eq!(span(Duration::from_millis(1_199_400)), "20 min");
        assert_eq!(span(Duration::from_secs(42)), "42 s");
        assert_eq!(span(Duration::from_millis(300)), "300 ms");
        assert_eq!(span(Duration::from_millis(419_700)), "7 min");
    }
}
