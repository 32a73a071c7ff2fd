//! Phase timings in the human table: under a check, one dim line per request with where its
//! time went (`dns 1.2 ms · connect 0.4 ms · tls 3.1 ms · ttfb 20 ms · transfer 0.1 ms`).
//! Shown for every request with `-v`, and without it only for a slow one: a request that took
//! [`SLOW_REQUEST`] or more, or any phase of [`SLOW_PHASE`](crate::evidence::timing::SLOW_PHASE) or more (one second: far above a
//! healthy in-region request, far below the default `--timeout`).

use std::time::Duration;

use crate::diagnose::CheckName;
use crate::evidence::timing::SLOW_REQUEST;
use crate::evidence::{PhaseTimings, RequestTiming};
use crate::report::model::{Check, Report};

/// Is this request slow (shown without `-v`)?
pub fn is_slow(duration: Duration, phases: &PhaseTimings) -> bool {
    duration >= SLOW_REQUEST || phases.is_slow()
}

/// The phases of an S3 operation's check (`detail.phases`).
pub fn of_check(c: &Check) -> Option<PhaseTimings> {
    c.detail
        .get("phases")
        .filter(|v| !v.is_null())
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// The lines to print under check `c` of report `r` (without the indentation): the S3
/// operation's phases, or the requests behind a run-wide check (IMDS, credentials, the EC2 API
/// behind `prefix_list`).
pub fn lines(r: &Report, c: &Check, verbose: bool) -> Vec<String> {
    if let Some(p) = of_check(c) {
        let d = Duration::from_millis(c.duration_ms);
        return if verbose || is_slow(d, &p) {
            vec![format!("phases: {}", p.summary())]
        } else {
            vec![]
        };
    }
    let requests: &[RequestTiming] = match c.name {
        CheckName::Imds => &r.context.requests,
        CheckName::Credentials => &r.credentials.requests,
        CheckName::PrefixList => r.network.as_ref().map_or(&[], |n| &n.requests[..]),
        _ => &[],
    };
    requests
        .iter()
        .filter(|q| verbose || is_slow(q.duration_ms.unwrap_or_default(), &q.phases))
        .map(request_line)
        .collect()
}

/// `GET /latest/meta-data/mac: reused · ttfb 0.8 ms · transfer 0.1 ms`.
fn request_line(q: &RequestTiming) -> String {
    let what = match &q.action {
        Some(a) => a.clone(),
        None => format!("{} {}", q.method, q.path),
    };
    let status = q
        .http_status
        .map(|s| format!(" ({s})"))
        .unwrap_or_else(|| " (no answer)".into());
    format!("{what}{status}: {}", q.phases.summary())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::timing::RequestPhase;

    fn req(ms: u64, phases: PhaseTimings) -> RequestTiming {
        RequestTiming {
            method: "GET".into(),
            host: "169.254.169.254".into(),
            path: "/latest/meta-data/mac".into(),
            http_status: Some(200),
            duration_ms: Some(Duration::from_millis(ms)),
            phases,
            ..Default::default()
        }
    }

    #[test]
    fn slow_is_a_second_of_request_or_of_one_phase() {
        let fast = PhaseTimings {
            ttfb_ms: Some(Duration::from_millis(20)),
            ..Default::default()
        };
        assert!(!is_slow(Duration::from_millis(999), &fast));
        assert!(is_slow(Duration::from_secs(1), &fast));
        let slow_tls = PhaseTimings {
            tls_ms: Some(Duration::from_millis(1500)),
            ..Default::default()
        };
        assert!(is_slow(Duration::from_millis(10), &slow_tls));
        assert_eq!(slow_tls.phases()[0].0, RequestPhase::Tls);
    }

    #[test]
    fn a_request_line_names_the_action_or_the_path() {
        let p = PhaseTimings {
            reused: true,
            ttfb_ms: Some(Duration::from_micros(800)),
            ..Default::default()
        };
        assert_eq!(
            request_line(&req(1, p.clone())),
            "GET /latest/meta-data/mac (200): reused · ttfb 0.8 ms"
        );
        let mut q = req(1, p);
        q.action = Some("DescribeRouteTables".into());
        q.http_status = None;
        assert_eq!(
            request_line(&q),
            "DescribeRouteTables (no answer): reused · ttfb 0.8 ms"
        );
    }
}
