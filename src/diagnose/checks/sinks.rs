//! The sinks' outcomes (delivered after the report is built) judged into findings.

use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::model::Finding;
use crate::evidence::{SPOOL_MAX_FILES, SinkOutcome};

/// Findings for the sinks that failed (and spooled payloads dropped).
pub fn findings(outcomes: &[SinkOutcome]) -> Vec<Finding> {
    let mut f = Vec::new();
    for o in outcomes.iter().filter(|o| !o.ok) {
        let (message, code) = o
            .error
            .as_ref()
            .map(|e| (e.message.as_str(), e.code.as_str()))
            .unwrap_or(("", "sink_error"));
        let advice = if o.spooled {
            "the report was spooled and will be sent by the next run; check the network path to CloudWatch and the role's cloudwatch:PutMetricData / logs:PutLogEvents permissions"
        } else {
            "the report could not be spooled (no writable state directory: VPCE_PROBE_STATE_DIR): it is lost for this sink"
        };
        f.push(FindingCode::SinkFailed.finding(
            format!("{}: {message} ({code})", o.sink),
            &[("advice", advice)],
        ));
        if let Some(why) = &o.spool_error {
            let dir = why.split(": ").next().unwrap_or(why);
            f.push(FindingCode::SpoolWriteFailed.finding(
                format!("{}: the report could not be spooled into {why}", o.sink),
                &[("dir", dir)],
            ));
        }
        if o.dropped > 0 {
            f.push(FindingCode::SpoolDropped.finding(
                format!(
                    "{}: {} spooled reports dropped (beyond the bound of {SPOOL_MAX_FILES}, or older than 13 days)",
                    o.sink, o.dropped
                ),
                &[],
            ));
        }
    }
    f
}
