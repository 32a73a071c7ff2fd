//! The run's lifecycle judged: a run a stop signal cut short (`run_interrupted`, and the
//! run-wide checks it left unfinished skipped rather than failed: an interruption is nobody's
//! fault), and this instance's stale probe objects a run removed (`stale_probe_objects_removed`).

use super::Judged;
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::model::{CheckVerdict, Finding, Status};
use crate::evidence::{ErrorCode, ErrorInfo, Evidence, TargetEvidence};

/// A run-wide check whose evidence a stop signal cut short: skipped, without findings (no
/// component is blamed for an interruption).
pub fn unless_interrupted(judged: Judged, error: Option<&ErrorInfo>) -> Judged {
    match error {
        Some(e) if e.code == ErrorCode::Interrupted => Judged::quiet(CheckVerdict::with(
            judged.verdict.name,
            Status::Skip,
            e.message.clone(),
        )),
        _ => judged,
    }
}

/// `run_interrupted`, when a stop signal ended the run.
pub fn interrupted(ev: &Evidence) -> Option<Finding> {
    let signal = ev.interrupted?;
    let written: Vec<String> = ev
        .targets
        .iter()
        .filter_map(|t| {
            let put = t.op(crate::evidence::S3Op::Put)?;
            let del = t.op(crate::evidence::S3Op::Delete)?;
            (put.outcome == crate::evidence::OpOutcome::Ok).then(|| {
                let done = if del.outcome == crate::evidence::OpOutcome::Ok {
                    "deleted"
                } else {
                    "NOT deleted"
                };
                format!("s3://{}/{} {done}", t.bucket, t.probe_key)
            })
        })
        .collect();
    let what = if written.is_empty() {
        "no probe object had been written".to_string()
    } else {
        written.join(", ")
    };
    Some(FindingCode::RunInterrupted.finding(
        format!(
            "stopped by {signal} after {} ms: {what}",
            ev.duration.as_millis()
        ),
        &[("signal", signal.as_str())],
    ))
}

/// `stale_probe_objects_removed`, when the run removed (or tried to remove) stale objects.
pub fn stale(t: &TargetEvidence) -> Option<Finding> {
    let c = t.stale_cleanup.as_ref()?;
    if c.removed.is_empty() && c.failed.is_empty() {
        return None;
    }
    let keys = |v: &[crate::evidence::StaleObject]| {
        v.iter()
            .map(|s| match &s.version_id {
                Some(id) => format!("{} (version {id}, {} s old)", s.key, s.age_seconds),
                None => format!("{} ({} s old)", s.key, s.age_seconds),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut message = format!(
        "{} stale probe object(s) of this instance removed from s3://{}/{}: {}",
        c.removed.len(),
        t.bucket,
        c.prefix,
        keys(&c.removed)
    );
    if !c.failed.is_empty() {
        message.push_str(&format!(
            "; {} could not be deleted: {}",
            c.failed.len(),
            keys(&c.failed)
        ));
    }
    if c.more {
        message.push_str("; more remain, for the next run");
    }
    Some(FindingCode::StaleProbeObjectsRemoved.finding(message, &[]))
}
