//! The `s3_unsigned` check: with no credentials, or none S3 accepted, did S3 answer one unsigned
//! request at all? Any HTTP answer (403, 400, 301, 200) proves DNS, routing, the connection and
//! TLS to S3 work; no answer fails in its phase (dns, connect, tls).

use super::Judged;
use crate::diagnose::check_name::CheckName;
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::model::{CheckVerdict, Status};
use crate::evidence::{Evidence, Phase, TargetEvidence};

/// Judge one bucket's unsigned request.
pub fn judge(ev: &Evidence, t: &TargetEvidence) -> Judged {
    let name = CheckName::S3Unsigned;
    let Some(u) = &t.unsigned else {
        let reached = t.ops.iter().any(|o| o.meta.http_status.is_some());
        let why = if reached {
            "signed requests reached S3"
        } else if t.ops.iter().any(|o| o.attempted()) {
            "signed requests did not reach S3: their checks say why"
        } else {
            "no request was made"
        };
        return Judged::quiet(CheckVerdict::with(name, Status::Skip, why));
    };
    let peer = u
        .meta
        .peer
        .map(|p| format!(" from {p}"))
        .unwrap_or_default();
    let via = t
        .via_proxy
        .as_ref()
        .map(|p| format!(" through the proxy {p}"))
        .unwrap_or_default();
    if u.meta.http_status.is_some() {
        // the report's detail (status, peer) and the human line say the path works
        return Judged::quiet(CheckVerdict::pass(name));
    }
    let Some(e) = &u.error else {
        return Judged::quiet(CheckVerdict::with(name, Status::Warn, "no answer recorded"));
    };
    let what = format!(
        "the unsigned request to {} failed: {} ({})",
        u.url, e.code, e.message
    );
    let f = match e.phase {
        Phase::Dns => FindingCode::DnsFailure.finding(
            what.clone(),
            &[
                ("name", &u.url),
                ("why", &e.code.to_string()),
                ("servers", "the probe's resolver"),
                ("advice", crate::diagnose::checks::dns::GENERIC_ADVICE),
            ],
        ),
        Phase::Tls => super::tls::finding(
            e,
            &super::tls::host(t),
            "s3_unsigned",
            ev.ca_bundle_certificates,
        ),
        _ => FindingCode::S3Unreachable.finding(
            what.clone(),
            &[(
                "advice",
                &format!(
                    "S3 did not answer an unsigned request ({} in {}){peer}{via}: check the route table, security groups, NACLs and any firewall or proxy between the instance and S3",
                    e.code, e.phase
                ),
            )],
        ),
    };
    Judged::with(CheckVerdict::with(name, Status::Fail, what), f)
}
