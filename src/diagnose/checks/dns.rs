//! The `dns` check: do the bucket's S3 names resolve, and to what (a VPC address means an
//! interface endpoint's private DNS answers for S3).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::Judged;
use crate::diagnose::check_name::CheckName;
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::inputs::vpc_cidrs;
use crate::diagnose::model::{CheckVerdict, Status};
use crate::diagnose::path::{self, PathVerdict, Verdict};
use crate::evidence::{ErrorCode, Evidence, RecordType, ResolverSource, TargetEvidence};

/// The advice when nothing more specific is known.
pub const GENERIC_ADVICE: &str = "check the VPC's DNS (enableDnsSupport, the Route 53 Resolver at the VPC base +2) and /etc/resolv.conf, or AWS_ENDPOINT_URL_S3";

/// Whose resolver a DNS server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolverKind {
    /// The Amazon-provided resolver: the VPC's primary CIDR base + 2, or 169.254.169.253.
    Vpc,
    /// Any other server (from /etc/resolv.conf or `--dns-server`).
    Custom,
    /// Not 169.254.169.253, and the VPC CIDR is unknown.
    Unknown,
}

/// Classify a server (`ip:port`) against the VPC's CIDRs (the first is the primary), and say
/// why.
pub fn resolver_kind(server: &str, vpc_cidrs: &[path::Cidr]) -> (ResolverKind, String) {
    let ip = server
        .parse::<SocketAddr>()
        .map(|s| s.ip())
        .or_else(|_| server.parse::<IpAddr>());
    let Ok(ip) = ip else {
        return (ResolverKind::Unknown, "not an address".into());
    };
    let link_local = [
        IpAddr::V4(Ipv4Addr::new(169, 254, 169, 253)),
        IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x253)),
    ];
    if link_local.contains(&ip) {
        return (
            ResolverKind::Vpc,
            "the VPC's resolver (Amazon DNS at its link-local address)".into(),
        );
    }
    let Some(primary) = vpc_cidrs.iter().find(|c| c.addr().is_ipv4()) else {
        return (
            ResolverKind::Unknown,
            "the VPC CIDR is unknown: the VPC's resolver or a custom one".into(),
        );
    };
    let base2 = match primary.network() {
        IpAddr::V4(n) => IpAddr::V4(Ipv4Addr::from(u32::from(n).wrapping_add(2))),
        v6 => v6,
    };
    if ip == base2 {
        (
            ResolverKind::Vpc,
            format!("the VPC's resolver: VPC CIDR {primary} base + 2"),
        )
    } else {
        (
            ResolverKind::Custom,
            format!("a custom resolver, not the VPC's ({base2})"),
        )
    }
}

/// The servers asked, each with whose it is, and the advice for a name that did not resolve.
fn resolvers(ev: &Evidence, servers: &[String], why: Option<&ErrorCode>) -> (String, String) {
    if servers.is_empty() {
        let broken = ev
            .resolver
            .as_ref()
            .and_then(|r| r.error.clone())
            .unwrap_or_else(|| "no name server configured".into());
        return (
            "no DNS server".into(),
            format!(
                "{broken}: fix /etc/resolv.conf (on EC2: nameserver at the VPC CIDR base + 2, or 169.254.169.253)"
            ),
        );
    }
    let vpc = vpc_cidrs(ev);
    let from = match ev.resolver.as_ref().map(|r| r.source) {
        Some(ResolverSource::Flag) => "--dns-server",
        Some(ResolverSource::ResolvConf) => "/etc/resolv.conf",
        None => "the system configuration",
    };
    let kinds: Vec<(ResolverKind, String)> =
        servers.iter().map(|s| resolver_kind(s, &vpc)).collect();
    let listed: Vec<String> = servers
        .iter()
        .zip(&kinds)
        .map(|(s, (_, why))| format!("{s} ({why}, from {from})"))
        .collect();
    let silent = matches!(why, Some(ErrorCode::Timeout) | None);
    if !silent {
        return (listed.join(", "), GENERIC_ADVICE.into());
    }
    let addrs: Vec<&str> = servers.iter().map(String::as_str).collect();
    let advice = if kinds.iter().all(|(k, _)| *k == ResolverKind::Vpc) {
        let vpc_id = ev
            .instance()
            .and_then(|i| i.vpc_id.clone())
            .unwrap_or_else(|| "<vpc id>".into());
        format!(
            "the VPC's resolver {} did not answer: check the VPC's DNS support (aws ec2 describe-vpc-attribute --vpc-id {vpc_id} --attribute enableDnsSupport) and its DHCP options set, and that nothing (a Route 53 Resolver DNS Firewall, a host firewall) drops UDP/TCP 53",
            addrs.join(", ")
        )
    } else if kinds.iter().any(|(k, _)| *k == ResolverKind::Custom) {
        let vpc_resolver = vpc
            .iter()
            .find(|c| c.addr().is_ipv4())
            .and_then(|c| match c.network() {
                IpAddr::V4(n) => Some(Ipv4Addr::from(u32::from(n).wrapping_add(2)).to_string()),
                IpAddr::V6(_) => None,
            })
            .unwrap_or_else(|| "the VPC CIDR base + 2".into());
        format!(
            "the custom resolver {} (from {from}) did not answer: check that server and the way to it (security groups, NACLs, its own forwarding), or point {from} at the VPC's resolver {vpc_resolver} (or 169.254.169.253)",
            addrs.join(", ")
        )
    } else {
        format!(
            "{} did not answer: check /etc/resolv.conf and that server; on EC2 the VPC's resolver is at the VPC CIDR base + 2 (enableDnsSupport)",
            addrs.join(", ")
        )
    };
    (listed.join(", "), advice)
}

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
        let code = dns
            .lookups
            .iter()
            .find(|l| &l.name == first && l.record_type == RecordType::A)
            .and_then(|l| l.error.clone());
        let why = code
            .as_ref()
            .map(|c| c.to_string())
            .unwrap_or_else(|| "no answer".into());
        let (servers, advice) = resolvers(ev, &dns.servers, code.as_ref());
        let f = FindingCode::DnsFailure.finding(
            format!("{first}: {why}; asked {servers}"),
            &[
                ("name", first),
                ("why", &why),
                ("servers", &servers),
                ("advice", &advice),
            ],
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
