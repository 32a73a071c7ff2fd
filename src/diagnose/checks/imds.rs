//! The `imds` check: was the instance context learned from IMDSv2, and if not, why. A token
//! request that connected and got no answer is a too-low metadata hop limit when the probe runs
//! in a container or another network namespace (`imds_hop_limit`), and only possibly so
//! otherwise (`not_on_ec2`, which then names the hop limit as one cause among others).

use super::{Judged, region_source_name};
use crate::diagnose::check_name::CheckName;
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::model::{CheckVerdict, Severity, Status};
use crate::evidence::{ContextSource, ErrorCode, Evidence, RegionSource};

/// Judge the instance context.
pub fn judge(ev: &Evidence) -> Judged {
    let c = &ev.context;
    if c.source == ContextSource::Imds {
        return Judged::quiet(CheckVerdict::pass(CheckName::Imds));
    }
    let no_region = ev.region_source == RegionSource::None;
    let (region, source) = if no_region {
        (
            "unknown",
            "nowhere: no bucket was probed (pass --region or set AWS_REGION)",
        )
    } else {
        (ev.region.as_str(), region_source_name(ev.region_source))
    };
    if c.token_timed_out() && c.runtime.in_container() {
        return hop_limit(ev, no_region);
    }
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
    let ttl_refused = token_refused && err.is_some_and(|e| e.http_status == Some(400));
    let why = if c.token_timed_out() {
        "IMDS did not answer the token request in time: not on EC2, IMDS blocked, or a deadline too tight (--imds-timeout, --timeout); if this runs in a container or another network namespace, the instance's metadata hop limit may be too low for it (aws ec2 modify-instance-metadata-options --instance-id <instance-id> --http-put-response-hop-limit 2)"
    } else if timed_out {
        "IMDS did not answer in time: not on EC2, IMDS blocked, or a deadline too tight (--imds-timeout, --timeout)"
    } else if ttl_refused {
        // The real IMDS answers 400 only to a token request without a valid TTL; the SDKs ask
        // for 21600 s, the maximum it accepts.
        "IMDS refused the IMDSv2 token request with HTTP 400: the token TTL the probe asks for (X-aws-ec2-metadata-token-ttl-seconds: 21600, the AWS SDKs' default and IMDS's maximum) was refused or the header was lost, which the real IMDS never does: something between the probe and 169.254.169.254 answers for it (a metadata proxy such as kube2iam or kiam that caps token TTLs, an HTTP proxy: add 169.254.169.254 to NO_PROXY)"
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
    // Without a region nothing could be probed: the run must not look healthy.
    let status = if no_region {
        Status::Fail
    } else {
        Status::Warn
    };
    let v = CheckVerdict::with(CheckName::Imds, status, f.hint.clone());
    Judged::with(v, f)
}

/// The token's answer vanished and the probe runs behind the instance: the hop limit.
fn hop_limit(ev: &Evidence, no_region: bool) -> Judged {
    let c = &ev.context;
    let rt = &c.runtime;
    let signs: Vec<&str> = rt
        .container_signs
        .iter()
        .map(|s| s.detail.as_str())
        .collect();
    let gateway = rt
        .default_gateway
        .as_deref()
        .map(|g| format!("; default gateway {g}"))
        .unwrap_or_default();
    let instance_id = ev
        .instance()
        .and_then(|i| i.instance_id.as_deref())
        .unwrap_or("<instance-id>");
    let region_note = if no_region {
        "; no region is configured and IMDS could not give one, so no bucket was probed (pass --region or set AWS_REGION meanwhile)"
    } else {
        ""
    };
    let f = FindingCode::ImdsHopLimit.finding(
        format!(
            "the IMDSv2 token request to {} connected but got no answer ({}), and this probe runs in a container or a network namespace other than the host's ({}{gateway}): the instance's metadata hop limit is too low, so the answer dies one hop short",
            c.endpoint,
            c.error.as_ref().map(|e| e.message.as_str()).unwrap_or("no answer"),
            signs.join("; ")
        ),
        &[("instance_id", instance_id), ("region_note", region_note)],
    );
    let v = CheckVerdict::with(CheckName::Imds, Status::Fail, f.hint.clone());
    Judged::with(v, f)
}
