//! The `security_group` check: do the egress rules of the instance's security groups (their
//! union: groups only allow, and are stateful, so only egress matters) allow TCP to the S3
//! address and port the probe used? CIDR, IPv6, prefix-list and all-traffic rules are
//! evaluated; a rule naming another group never matches an S3 address, and says so.

use std::net::IpAddr;

use serde_json::{Map, Value, json};

use super::Judged;
use crate::diagnose::check_name::CheckName;
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::inputs::{self, S3Flow};
use crate::diagnose::model::{CheckVerdict, Status};
use crate::evidence::{Evidence, SecurityGroupRule, TargetEvidence};

/// What the rules say about one flow.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Egress {
    /// This group's rule allows it.
    Allowed { group: String, rule: String },
    /// Only prefix lists whose entries are unknown could allow it.
    Unknown { lists: Vec<String> },
    /// No rule allows it (with what was noticed on the way).
    Blocked { notes: Vec<String> },
}

/// Does the rule's protocol and port range cover TCP `port`?
pub fn tcp_port_covered(protocol: &str, from: Option<i32>, to: Option<i32>, port: u16) -> bool {
    match protocol {
        "-1" | "all" => true,
        "tcp" | "6" => match (from, to) {
            (Some(-1), _) | (None, _) | (_, None) => true,
            (Some(f), Some(t)) => f <= i32::from(port) && i32::from(port) <= t,
        },
        _ => false,
    }
}

/// A rule as people write it: `tcp 443 → pl-63a5400a`.
fn rule_text(r: &SecurityGroupRule) -> String {
    let proto = match r.protocol.as_str() {
        "-1" => "all traffic".to_string(),
        p => match (r.from_port, r.to_port) {
            (Some(f), Some(t)) if f == t => format!("{p} {f}"),
            (Some(f), Some(t)) => format!("{p} {f}-{t}"),
            _ => p.to_string(),
        },
    };
    let dests: Vec<&str> = r
        .cidrs
        .iter()
        .chain(&r.ipv6_cidrs)
        .chain(&r.prefix_list_ids)
        .chain(&r.group_ids)
        .map(String::as_str)
        .collect();
    format!("{proto} → {}", dests.join(", "))
}

fn evaluate(ev: &Evidence, flow: &S3Flow) -> Egress {
    let Some(net) = &ev.network else {
        return Egress::Blocked { notes: vec![] };
    };
    let ip = flow.address;
    let mut unknown = Vec::new();
    let mut notes = Vec::new();
    for g in &net.security_groups {
        for r in &g.egress {
            if !tcp_port_covered(&r.protocol, r.from_port, r.to_port, flow.port) {
                continue;
            }
            let by_cidr = r
                .cidrs
                .iter()
                .chain(&r.ipv6_cidrs)
                .any(|c| inputs::cidr_holds(c, ip));
            let mut by_list = false;
            for pl in &r.prefix_list_ids {
                match inputs::prefix_list_holds(ev, pl, ip) {
                    Some(true) => by_list = true,
                    Some(false) => {}
                    None => unknown.push(pl.clone()),
                }
            }
            if by_cidr || by_list {
                return Egress::Allowed {
                    group: g.id.clone(),
                    rule: rule_text(r),
                };
            }
            for other in &r.group_ids {
                notes.push(format!(
                    "the rule of {} naming {other} matches only members of that group, never an S3 address",
                    g.id
                ));
            }
        }
    }
    if unknown.is_empty() {
        Egress::Blocked { notes }
    } else {
        Egress::Unknown { lists: unknown }
    }
}

/// The command that adds the missing egress rule to `group`.
fn fix_command(ev: &Evidence, group: &str, ip: IpAddr, port: u16) -> String {
    let dest = match inputs::s3_cidr_of(ev, ip) {
        Some((Some(pl), _)) => format!("PrefixListIds=[{{PrefixListId={pl}}}]"),
        _ if ip.is_ipv6() => format!("Ipv6Ranges=[{{CidrIpv6={ip}/128}}]"),
        _ => format!("IpRanges=[{{CidrIp={ip}/32}}]"),
    };
    format!(
        "aws ec2 authorize-security-group-egress --group-id {group} --ip-permissions 'IpProtocol=tcp,FromPort={port},ToPort={port},{dest}'"
    )
}

/// Judge the instance's security groups for one bucket's S3 connection; also the check's
/// detail for the report.
pub fn judge(ev: &Evidence, t: &TargetEvidence) -> (Judged, Map<String, Value>) {
    let name = CheckName::SecurityGroup;
    let mut detail = Map::new();
    let skip = |why: String| Judged::quiet(CheckVerdict::with(name, Status::Skip, why));
    let Some(net) = &ev.network else {
        return (
            skip(format!("not checked: {}", inputs::no_network_reason(ev))),
            detail,
        );
    };
    let ids = ev
        .instance()
        .map(|i| i.security_group_ids.clone())
        .unwrap_or_default();
    detail.insert("group_ids".into(), json!(ids));
    if let Some(e) = &net.security_groups_error {
        return (
            skip(format!(
                "the security groups were not checked: {}",
                e.message
            )),
            detail,
        );
    }
    if ids.is_empty() {
        return (
            skip("not checked: IMDS named no security group".into()),
            detail,
        );
    }
    let Some(flow) = inputs::s3_flow(t) else {
        return (
            skip("not checked: no S3 address is known (no DNS answer, no connection)".into()),
            detail,
        );
    };
    detail.insert("address".into(), json!(flow.address));
    detail.insert("port".into(), json!(flow.port));
    let what = format!("TCP {} to {}", flow.port, flow.address);
    let judged = match evaluate(ev, &flow) {
        Egress::Allowed { group, rule } => {
            detail.insert("allowed_by".into(), json!(format!("{group}: {rule}")));
            Judged::quiet(CheckVerdict::pass(name))
        }
        Egress::Unknown { lists } => Judged::quiet(CheckVerdict::with(
            name,
            Status::Warn,
            format!(
                "{what} is allowed only if {} holds it, and its entries are unknown",
                lists.join(" or ")
            ),
        )),
        Egress::Blocked { notes } if flow.answered => Judged::quiet(CheckVerdict::with(
            name,
            Status::Warn,
            format!(
                "no egress rule of {} allows {what} as described, yet S3 answered there: the description is incomplete{}",
                ids.join(", "),
                notes.iter().map(|n| format!("; {n}")).collect::<String>()
            ),
        )),
        Egress::Blocked { notes } => {
            let group = &ids[0];
            let port = flow.port.to_string();
            let command = fix_command(ev, group, flow.address, flow.port);
            let mut message = format!(
                "no egress rule of {} allows {what}: the connection is dropped",
                ids.join(", ")
            );
            for n in &notes {
                message.push_str("; ");
                message.push_str(n);
            }
            let f = FindingCode::SecurityGroupBlocksS3.finding(
                message,
                &[
                    ("group", group),
                    ("port", &port),
                    ("address", &flow.address.to_string()),
                    ("command", &command),
                ],
            );
            Judged::with(CheckVerdict::with(name, Status::Fail, f.hint.clone()), f)
        }
    };
    (judged, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_protocols() {
        assert!(tcp_port_covered("-1", None, None, 443));
        assert!(tcp_port_covered("tcp", Some(0), Some(65535), 443));
        assert!(tcp_port_covered("6", Some(443), Some(443), 443));
        assert!(!tcp_port_covered("tcp", Some(80), Some(80), 443));
        assert!(!tcp_port_covered("udp", Some(0), Some(65535), 443));
        assert!(!tcp_port_covered("icmp", Some(-1), Some(-1), 443));
    }

    #[test]
    fn rules_read_as_people_write_them() {
        let r = SecurityGroupRule {
            protocol: "tcp".into(),
            from_port: Some(443),
            to_port: Some(443),
            prefix_list_ids: vec!["pl-1".into()],
            ..Default::default()
        };
        assert_eq!(rule_text(&r), "tcp 443 → pl-1");
    }
}
