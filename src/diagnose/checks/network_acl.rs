//! The `network_acl` check: does the subnet's network ACL let the S3 connection through both
//! ways? ACLs are stateless and evaluated as AWS does: rules in number order, the first match
//! wins, nothing matched (`*`, 32767) denies. Outbound: instance → S3 address:port, TCP.
//! Inbound: S3 address → the instance's ephemeral ports (the whole local range, and the local
//! port actually used).

use std::net::IpAddr;
use std::ops::RangeInclusive;

use serde_json::{Map, Value, json};

use super::Judged;
use super::security_group::tcp_port_covered;
use crate::diagnose::check_name::CheckName;
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::inputs::{self, S3Flow};
use crate::diagnose::model::{CheckVerdict, Status};
use crate::evidence::{Evidence, NetworkAclEntry, NetworkAclEvidence, PortRange, TargetEvidence};

/// Linux's default ephemeral range, assumed when the host's could not be read.
pub const LINUX_DEFAULT_PORTS: PortRange = PortRange {
    from: 32768,
    to: 60999,
};

/// The first rule (in number order) of one direction that matches TCP `ip`:`port`; `None` is
/// the implicit `*` deny.
fn first_match(
    acl: &NetworkAclEvidence,
    egress: bool,
    ip: IpAddr,
    port: u16,
) -> Option<&NetworkAclEntry> {
    let mut rules: Vec<&NetworkAclEntry> =
        acl.entries.iter().filter(|e| e.egress == egress).collect();
    rules.sort_by_key(|e| e.rule_number);
    rules.into_iter().find(|e| {
        tcp_port_covered(&e.protocol, e.from_port, e.to_port, port)
            && e.cidr
                .iter()
                .chain(&e.ipv6_cidr)
                .any(|c| inputs::cidr_holds(c, ip))
    })
}

fn allows(rule: Option<&NetworkAclEntry>) -> bool {
    rule.is_some_and(|r| r.rule_action.eq_ignore_ascii_case("allow"))
}

fn rule_name(rule: Option<&NetworkAclEntry>) -> String {
    match rule {
        Some(r) if r.rule_number < 32767 => format!("rule {} ({})", r.rule_number, r.rule_action),
        _ => "the final * rule (deny)".into(),
    }
}

/// Contiguous runs of the ports in `range` for which `denied` holds.
fn denied_runs(range: RangeInclusive<u16>, denied: impl Fn(u16) -> bool) -> Vec<(u16, u16)> {
    let mut runs: Vec<(u16, u16)> = Vec::new();
    for p in range {
        if denied(p) {
            match runs.last_mut() {
                Some((_, to)) if *to + 1 == p => *to = p,
                _ => runs.push((p, p)),
            }
        }
    }
    runs
}

/// A free rule number, in `egress`'s direction, that is evaluated before `before` (the rule
/// that denies; `None` = `*`): after the last rule when `*` denies, else just below `before`.
fn free_rule_number(acl: &NetworkAclEvidence, egress: bool, before: Option<i32>) -> i32 {
    let used: Vec<i32> = acl
        .entries
        .iter()
        .filter(|e| e.egress == egress && e.rule_number < 32767)
        .map(|e| e.rule_number)
        .collect();
    match before.filter(|n| *n < 32767) {
        None => (used.iter().max().copied().unwrap_or(0) / 10 + 1) * 10,
        Some(n) => (1..n)
            .rev()
            .filter(|c| !used.contains(c))
            .max_by_key(|c| (c % 10 == 0, *c))
            .unwrap_or(1),
    }
}

fn span(r: (u16, u16)) -> String {
    if r.0 == r.1 {
        r.0.to_string()
    } else {
        format!("{}-{}", r.0, r.1)
    }
}

/// Judge the subnet's network ACL for one bucket's S3 connection; also the check's detail.
pub fn judge(ev: &Evidence, t: &TargetEvidence) -> (Judged, Map<String, Value>) {
    let name = CheckName::NetworkAcl;
    let mut detail = Map::new();
    let skip = |why: String| Judged::quiet(CheckVerdict::with(name, Status::Skip, why));
    let Some(net) = &ev.network else {
        return (
            skip(format!("not checked: {}", inputs::no_network_reason(ev))),
            detail,
        );
    };
    let acl = match (&net.network_acl, &net.network_acl_error) {
        (Some(a), _) => a,
        (None, Some(e)) => {
            return (
                skip(format!("the network ACL was not checked: {}", e.message)),
                detail,
            );
        }
        (None, None) => return (skip("not checked: no network ACL".into()), detail),
    };
    detail.insert("network_acl_id".into(), json!(acl.id));
    let Some(flow) = inputs::s3_flow(t) else {
        return (
            skip("not checked: no S3 address is known (no DNS answer, no connection)".into()),
            detail,
        );
    };
    let S3Flow {
        address: ip, port, ..
    } = flow;
    let range = net.local_port_range.unwrap_or(LINUX_DEFAULT_PORTS);
    detail.insert("address".into(), json!(ip));
    detail.insert("port".into(), json!(port));
    detail.insert(
        "local_ports".into(),
        json!(format!("{}-{}", range.from, range.to)),
    );
    if let Some(l) = flow.local_port {
        detail.insert("local_port".into(), json!(l));
    }

    let out_rule = first_match(acl, true, ip, port);
    let out_ok = allows(out_rule);
    detail.insert(
        "outbound_rule".into(),
        json!(out_rule.map(|r| r.rule_number).unwrap_or(32767)),
    );
    let in_denied = |p: u16| !allows(first_match(acl, false, ip, p));
    let mut runs = denied_runs(range.from..=range.to, in_denied);
    if let Some(l) = flow
        .local_port
        .filter(|l| !(range.from..=range.to).contains(l))
        && in_denied(l)
    {
        runs.push((l, l));
    }
    let used_port_denied = flow.local_port.is_some_and(in_denied);
    if out_ok && runs.is_empty() {
        return (Judged::quiet(CheckVerdict::pass(name)), detail);
    }
    // A request got an answer through a direction the rules deny: the description is not the
    // whole story, so nothing is blamed.
    if flow.answered && (!out_ok || used_port_denied) {
        let v = CheckVerdict::with(
            name,
            Status::Warn,
            format!(
                "{} denies this traffic as described, yet S3 answered: the description is incomplete",
                acl.id
            ),
        );
        return (Judged::quiet(v), detail);
    }
    let assumed = if net.local_port_range.is_none() {
        " (Linux's default range: the host's could not be read)"
    } else {
        ""
    };
    let (cidr, others) = match inputs::s3_cidr_of(ev, ip) {
        Some((pl, c)) => {
            let n = net.prefix_list.cidrs.len();
            let others = (n > 1).then(|| {
                format!(
                    " (and the same for the other {} CIDRs of {})",
                    n - 1,
                    pl.unwrap_or_else(|| "the S3 prefix list".into())
                )
            });
            (c.to_string(), others.unwrap_or_default())
        }
        None => (
            format!("{ip}/{}", if ip.is_ipv6() { 128 } else { 32 }),
            String::new(),
        ),
    };
    let mut problems = Vec::new();
    let mut commands = Vec::new();
    if !out_ok {
        problems.push(format!(
            "outbound TCP {port} to {ip} is denied by {}",
            rule_name(out_rule)
        ));
        let n = free_rule_number(acl, true, out_rule.map(|r| r.rule_number));
        commands.push(format!(
            "aws ec2 create-network-acl-entry --network-acl-id {} --egress --rule-number {n} --protocol tcp --port-range From={port},To={port} --cidr-block {cidr} --rule-action allow",
            acl.id
        ));
    }
    if let Some(first) = runs.first() {
        let deny = first_match(acl, false, ip, first.0);
        let list: Vec<String> = runs.iter().copied().map(span).collect();
        problems.push(format!(
            "inbound TCP from {ip} to the ephemeral ports {} is denied by {} (local ports {}-{}{assumed}): the answers never arrive",
            list.join(", "),
            rule_name(deny),
            range.from,
            range.to
        ));
        let n = free_rule_number(acl, false, deny.map(|r| r.rule_number));
        commands.push(format!(
            "aws ec2 create-network-acl-entry --network-acl-id {} --ingress --rule-number {n} --protocol tcp --port-range From=1024,To=65535 --cidr-block {cidr} --rule-action allow",
            acl.id
        ));
    }
    let command = format!("{}{others}", commands.join("; "));
    let f = FindingCode::NetworkAclBlocksS3.finding(
        format!("{}: {}", acl.id, problems.join("; ")),
        &[("acl", &acl.id), ("command", &command)],
    );
    (
        Judged::with(CheckVerdict::with(name, Status::Fail, f.hint.clone()), f),
        detail,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: i32, egress: bool, action: &str, ports: Option<(i32, i32)>) -> NetworkAclEntry {
        NetworkAclEntry {
            rule_number: n,
            egress,
            protocol: if ports.is_some() { "6" } else { "-1" }.into(),
            rule_action: action.into(),
            cidr: Some("0.0.0.0/0".into()),
            from_port: ports.map(|p| p.0),
            to_port: ports.map(|p| p.1),
            ..Default::default()
        }
    }

    #[test]
    fn first_match_by_number_and_the_implicit_deny() {
        let acl = NetworkAclEvidence {
            entries: vec![
                entry(200, false, "allow", None),
                entry(100, false, "deny", Some((40000, 40010))),
                entry(100, true, "allow", Some((443, 443))),
            ],
            ..Default::default()
        };
        let ip: IpAddr = "52.216.0.10".parse().unwrap();
        assert!(allows(first_match(&acl, true, ip, 443)));
        assert!(first_match(&acl, true, ip, 80).is_none());
        assert!(!allows(first_match(&acl, false, ip, 40005)));
        assert!(allows(first_match(&acl, false, ip, 40011)));
        let runs = denied_runs(39990..=40020, |p| !allows(first_match(&acl, false, ip, p)));
        assert_eq!(runs, [(40000, 40010)]);
    }

    #[test]
    fn a_free_rule_number_before_the_denying_one() {
        let acl = NetworkAclEvidence {
            entries: vec![
                entry(100, false, "deny", None),
                entry(90, false, "allow", None),
            ],
            ..Default::default()
        };
        assert_eq!(free_rule_number(&acl, false, Some(100)), 80);
        assert_eq!(free_rule_number(&acl, false, None), 110);
        assert_eq!(free_rule_number(&acl, true, None), 10);
    }
}
