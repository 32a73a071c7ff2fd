//! The region the requests are for against the instance's own (IMDS): `region_mismatch`, and
//! the sentence the S3 and route checks add when that mismatch is the likely cause of what they
//! saw (requests that hang, or leave through NAT or an internet gateway).

use super::region_source_name;
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::model::Finding;
use crate::evidence::{Evidence, RegionSource, TargetEvidence};

/// The configured region, where it came from, and the instance's region, when they differ.
fn mismatch(ev: &Evidence) -> Option<(&str, RegionSource, &str)> {
    if matches!(ev.region_source, RegionSource::Imds | RegionSource::None) {
        return None;
    }
    let instance = ev.instance()?.region.as_deref()?;
    (!ev.region.is_empty() && ev.region != instance).then_some((
        ev.region.as_str(),
        ev.region_source,
        instance,
    ))
}

/// What to change, by where the configured region came from.
fn fix(source: RegionSource, instance: &str) -> String {
    match source {
        RegionSource::Flag => format!("pass --region {instance} (or leave it out)"),
        RegionSource::Config => format!("set region = \"{instance}\" in the config file"),
        RegionSource::Env => {
            format!("set AWS_REGION={instance} (or unset AWS_REGION and AWS_DEFAULT_REGION)")
        }
        RegionSource::Profile => {
            format!("set the profile's region: aws configure set region {instance}")
        }
        RegionSource::Imds | RegionSource::None => String::new(),
    }
}

/// `region_mismatch`, when the configured region is not the instance's.
pub fn findings(ev: &Evidence) -> Vec<Finding> {
    let Some((configured, source, instance)) = mismatch(ev) else {
        return vec![];
    };
    vec![FindingCode::RegionMismatch.finding(
        format!(
            "requests are for {configured}, from {}, but this instance is in {instance} (IMDS)",
            region_source_name(source)
        ),
        &[
            ("configured", configured),
            ("instance", instance),
            ("fix", &fix(source, instance)),
        ],
    )]
}

/// The sentence a check adds when the bucket's requests went to a region other than the
/// instance's because of the configured region: the likely cause of a hang or an exit through
/// NAT or an internet gateway. `None` when the regions match, or when the bucket itself lives
/// elsewhere (then `bucket_in_other_region` says so).
pub fn likely_cause(ev: &Evidence, t: &TargetEvidence) -> Option<String> {
    let (configured, source, instance) = mismatch(ev)?;
    if t.region != configured {
        return None;
    }
    Some(format!(
        "likely cause: the region {configured} (from {}) is not this instance's region {instance}, and requests for another region never use this VPC's gateway endpoint (see region_mismatch)",
        region_source_name(source)
    ))
}
