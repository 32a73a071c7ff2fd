//! The `dns` check: do the bucket's S3 names resolve, and to what (a VPC address means an
//! interface endpoint's private DNS answers for S3).

use std::net::IpAddr;

use super::Judged;
use crate::diagnose::check_name::CheckName;
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::inputs::vpc_cidrs;
use crate::diagnose::model::{CheckVerdict, Status};
use crate::diagnose::path::{self, PathVerdict, Verdict};
use crate::evidence::{Evidence, RecordType, TargetEvidence};

/// Judge one bucket's DNS.
pub fn judge(ev: &Evidence, t: &TargetEvidence, path: &PathVerdict) -> Judged {
    let name = CheckName::Dns;
    let Some(dns) = &t.dns else {
        return Judged::quiet(CheckVerdict::with(
            name,
            Status::Skip,
            "no DNS lookups were made",
        ));
    };
    if dns.names.is_empty() {
        return Judged::quiet(CheckVerdict::with(
            name,
            Status::Skip,
            "the S3 endpoint is an IP address: nothing to resolve",
        ));
    }
    let resolved = |n: &str| {
        dns.lookups
            .iter()
            .any(|l| l.name == n && !l.records.is_empty())
    };
    let first = &dns.names[0];
    if !resolved(first) {
        let why = dns
            .lookups
            .iter()
            .find(|l| &l.name == first && l.record_type == RecordType::A)
            .and_then(|l| l.error.as_ref())
            .map(|c| c.to_string())
            .unwrap_or_else(|| "no answer".into());
        let servers = if dns.servers.is_empty() {
            "no DNS server".to_string()
        } else {
            dns.servers.join(", ")
        };
        let f = FindingCode::DnsFailure.finding(
            format!("{first}: {why}"),
            &[("name", first), ("why", &why), ("servers", &servers)],
        );
        return Judged::with(CheckVerdict::with(name, Status::Fail, f.hint.clone()), f);
    }
    // Private addresses for S3 names: an interface endpoint's private DNS (or a resolver rule).
    let vpc = vpc_cidrs(ev);
    let mut private: Vec<IpAddr> = dns
        .lookups
        .iter()
        .flat_map(|l| l.records.iter().map(|r| r.address))
        .filter(|a| vpc.iter().any(|c| path::cidr_contains(c, *a)))
        .collect();
    private.sort();
    private.dedup();
    if !private.is_empty() || path.verdict == Verdict::InterfaceEndpoint {
        let list: Vec<String> = private.iter().map(|a| a.to_string()).collect();
        let f = FindingCode::InterfaceEndpointDns.finding(
            format!(
                "{first} resolves to a VPC address ({}): an interface endpoint's private DNS answers for S3",
                list.join(", ")
            ),
            &[],
        );
        let v = CheckVerdict::with(
            name,
            Status::Warn,
            "S3 names resolve to VPC addresses (interface endpoint private DNS)",
        );
        return Judged::with(v, f);
    }
    let unresolved: Vec<&str> = dns
        .names
        .iter()
        .map(String::as_str)
        .filter(|n| !resolved(n))
        .collect();
    if !unresolved.is_empty() {
        return Judged::quiet(CheckVerdict::with(
            name,
            Status::Warn,
            format!("{} did not resolve", unresolved.join(", ")),
        ));
    }
    Judged::quiet(CheckVerdict::pass(name))
}
