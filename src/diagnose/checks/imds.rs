//! The `imds` check: was the instance context learned from IMDSv2, and if not, why.

use super::{Judged, region_source_name};
use crate::diagnose::check_name::CheckName;
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::model::{CheckVerdict, Severity, Status};
use crate::evidence::{ContextSource, ErrorCode, Evidence};

/// Judge the instance context.
pub fn judge(ev: &Evidence) -> Judged {
    let c = &ev.context;
    if c.source == ContextSource::Imds {
        return Judged::quiet(CheckVerdict::pass(CheckName::Imds));
    }
    let region = ev.region.as_str();
    let source = region_source_name(ev.region_source);
    if c.disabled {
        let f = FindingCode::NotOnEc2
            .finding(
                "IMDS disabled (AWS_EC2_METADATA_DISABLED): no instance context",
                &[
                    ("why", "IMDS is disabled by AWS_EC2_METADATA_DISABLED"),
                    ("region", region),
                    ("region_source", source),
                ],
            )
            .with_severity(Severity::Info);
        let v = CheckVerdict::with(
            CheckName::Imds,
            Status::Skip,
            "IMDS disabled by AWS_EC2_METADATA_DISABLED",
        );
        return Judged::with(v, f);
    }
    let err = c.error.as_ref();
    let timed_out =
        err.is_some_and(|e| matches!(e.code, ErrorCode::ImdsTimeout | ErrorCode::Timeout));
    let token_refused = err.is_some_and(|e| e.code == ErrorCode::ImdsTokenFailed);
    let why = if timed_out {
        "IMDS did not answer in time: not on EC2, IMDS blocked, or a deadline too tight (--imds-timeout, --timeout)"
    } else if token_refused {
        // A hop limit makes the token's answer vanish (a timeout), never a refusal.
        "IMDS refused the IMDSv2 token request: the instance's metadata endpoint is disabled (aws ec2 modify-instance-metadata-options --instance-id <id> --http-endpoint enabled), or a proxy between the probe and 169.254.169.254 added X-Forwarded-For, which IMDSv2 refuses (add 169.254.169.254 to NO_PROXY)"
    } else {
        "not on EC2 (or IMDS blocked)"
    };
    let f = FindingCode::NotOnEc2.finding(
        format!(
            "no instance metadata from {}: {}",
            c.endpoint,
            err.map(|e| e.message.as_str()).unwrap_or("no answer")
        ),
        &[("why", why), ("region", region), ("region_source", source)],
    );
    let v = CheckVerdict::with(CheckName::Imds, Status::Warn, f.hint.clone());
    Judged::with(v, f)
}
