//! The `prefix_list` check (run-wide): where the region's S3 prefix list came from.

use super::Judged;
use crate::diagnose::check_name::CheckName;
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::inputs::no_network_reason;
use crate::diagnose::model::{CheckVerdict, Status};
use crate::evidence::{ErrorCode, Evidence, PrefixListSource};

/// Judge the prefix list.
pub fn judge(ev: &Evidence) -> Judged {
    let name = CheckName::PrefixList;
    let Some(net) = &ev.network else {
        return Judged::quiet(CheckVerdict::with(
            name,
            Status::Skip,
            no_network_reason(ev),
        ));
    };
    let pl = &net.prefix_list;
    let why = pl
        .errors
        .first()
        .map(|e| format!("{} ({})", e.message, e.code))
        .unwrap_or_default();
    let region = ev.region.as_str();
    // throttled is not denied nor unreachable: the hint must not send anyone to IAM or routing
    let throttled = pl.errors.first().is_some_and(|e| e.is_throttling());
    let refused = pl
        .errors
        .first()
        .filter(|e| e.code == ErrorCode::ProxyRefused);
    let f = match (pl.source, refused) {
        (PrefixListSource::Ec2, _) => return Judged::quiet(CheckVerdict::pass(name)),
        // the proxy, not IAM or the EC2 API, kept the prefix list from the probe
        (_, Some(e)) => super::proxy::refused(ev, super::proxy::Refused::Ec2Api, name.as_str(), e),
        _ if throttled => {
            let what = match pl.source {
                PrefixListSource::Cache => {
                    format!("the cached list from {} s ago", pl.age_seconds.unwrap_or(0))
                }
                PrefixListSource::IpRanges => {
                    "AWS's published ip-ranges, which may differ from the prefix list".to_string()
                }
                _ => "no prefix list: the path cannot be proven".to_string(),
            };
            FindingCode::Ec2ApiThrottled.finding(
                format!("{}: {why}", pl.name),
                &[("why", &why), ("what", &what), ("region", region)],
            )
        }
        (PrefixListSource::Cache | PrefixListSource::IpRanges, None) => {
            let what = if pl.source == PrefixListSource::Cache {
                format!("the cached list from {} s ago", pl.age_seconds.unwrap_or(0))
            } else {
                "AWS's published ip-ranges, which may differ from the prefix list".to_string()
            };
            FindingCode::PrefixListFallback.finding(
                format!("{} entries from {}", pl.name, what),
                &[("why", &why), ("what", &what), ("region", region)],
            )
        }
        (PrefixListSource::None, None) => FindingCode::PrefixListUnavailable.finding(
            format!("{}: {why}", pl.name),
            &[("why", &why), ("region", region)],
        ),
    };
    Judged::with(CheckVerdict::with(name, Status::Warn, f.hint.clone()), f)
}
