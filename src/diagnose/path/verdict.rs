//! The path verdict: from the first S3 address (the peer actually used), the route table and
//! the prefix lists, where S3 traffic goes, with the evidence in reasoning order.

use std::net::IpAddr;

use super::{
    AddressClass, AddressPath, Cidr, PathInput, PathVerdict, RouteDestination, RouteState,
    RouteTable, TargetKind, Verdict, cidr_contains, classify_address, longest_prefix_match,
};

impl PathVerdict {
    fn new(verdict: Verdict) -> Self {
        Self {
            verdict,
            route_table_id: None,
            vpc_endpoint_id: None,
            prefix_list_id: None,
            addresses: Vec::new(),
            evidence: Vec::new(),
            unknown_reason: None,
            overridden_endpoint: None,
            unresolved_prefix_lists: Vec::new(),
            proxy: None,
        }
    }

    fn unknown(mut self, reason: impl Into<String>) -> Self {
        self.verdict = Verdict::Unknown;
        self.unknown_reason = Some(reason.into());
        self
    }
}

/// Decide where S3 traffic goes, from the first address (the peer actually used). The other
/// addresses are classified and routed too, and reported in `addresses`.
///
/// Rules: S3 requests through an HTTP proxy → proxy (before anything else); no address → unknown; an address inside a VPC CIDR → interface endpoint (local route;
/// no route table needed); no route table → unknown (`route_table_error`); no matching route →
/// no route, or unknown when an unresolved prefix list could have matched; blackhole → no route;
/// gateway endpoint, internet gateway, NAT gateway → themselves; anything else (including
/// `local` for an address outside the VPC CIDRs, or a Gateway Load Balancer endpoint) → other.
pub fn path_verdict(input: &PathInput) -> PathVerdict {
    let mut out = PathVerdict::new(Verdict::Unknown);
    let table = input.route_table.as_ref();
    out.route_table_id = table.map(|t| t.id.clone());
    if let Some(proxy) = &input.proxy {
        out.verdict = Verdict::Proxy;
        out.proxy = Some(proxy.clone());
        out.addresses = input
            .addresses
            .iter()
            .map(|&ip| AddressPath {
                address: ip,
                class: classify_address(
                    ip,
                    input
                        .s3_prefix_list
                        .as_ref()
                        .map(|(_, c)| c.as_slice())
                        .unwrap_or(&[]),
                    &input.vpc_cidrs,
                ),
                route: None,
            })
            .collect();
        out.evidence
            .push(format!("S3 requests go through the HTTP proxy {proxy}"));
        let at = input
            .proxy_peer
            .as_ref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        out.evidence.push(format!(
            "the connection ends at the proxy{at}: where the proxy sends S3 traffic is not \
             visible from this instance, so the route table does not decide the path"
        ));
        return out;
    }
    let Some(&first) = input.addresses.first() else {
        return out.unknown("no S3 address resolved or connected");
    };

    let mut prefix_lists = input.prefix_lists.clone();
    let (s3_pl_id, s3_cidrs): (Option<&str>, &[Cidr]) = match &input.s3_prefix_list {
        Some((id, cidrs)) => {
            // Authoritative for the S3 list: classification and routing must agree.
            prefix_lists.insert(id.clone(), cidrs.clone());
            (Some(id.as_str()), cidrs.as_slice())
        }
        None => (None, &[]),
    };
    let lpm = |ip: IpAddr| table.map(|t| longest_prefix_match(t, &prefix_lists, ip));
    let first_lpm = lpm(first);
    out.addresses = input
        .addresses
        .iter()
        .enumerate()
        .map(|(i, &ip)| AddressPath {
            address: ip,
            class: classify_address(ip, s3_cidrs, &input.vpc_cidrs),
            route: match i {
                0 => first_lpm.as_ref().and_then(|r| r.matched.clone()),
                _ => lpm(ip).and_then(|r| r.matched),
            },
        })
        .collect();
    if let Some(r) = &first_lpm {
        out.unresolved_prefix_lists = r.unresolved_prefix_lists.clone();
    }

    // What the address is.
    if let Some(vpc) = input.vpc_cidrs.iter().find(|c| cidr_contains(c, first)) {
        out.evidence.push(format!(
            "{first} is inside VPC CIDR {vpc}: an interface endpoint's private IP, reached \
             through the local route"
        ));
        out.verdict = Verdict::InterfaceEndpoint;
        push_other_addresses(&mut out, table);
        return out;
    }
    match (
        s3_pl_id,
        s3_cidrs
            .iter()
            .filter(|c| cidr_contains(c, first))
            .max_by_key(|c| c.prefix_len()),
    ) {
        (Some(id), Some(entry)) => out.evidence.push(format!("{first} is in {id} ({entry})")),
        (Some(id), None) => out.evidence.push(format!(
            "{first} is not in the S3 prefix list {id}: a gateway endpoint cannot carry it"
        )),
        (None, _) => {}
    }

    // Where the route table sends it.
    let (Some(table), Some(lpm)) = (table, first_lpm) else {
        let reason = input
            .route_table_error
            .clone()
            .unwrap_or_else(|| "the subnet's route table is not known".into());
        return out.unknown(reason);
    };
    let Some(m) = lpm.matched else {
        if lpm.unresolved_prefix_lists.is_empty() {
            out.evidence
                .push(format!("no route in {} matches {first}", table.id));
            out.verdict = Verdict::NoRoute;
            return out;
        }
        let reason = format!(
            "no route in {} matches {first}, and the entries of {} are unknown",
            table.id,
            lpm.unresolved_prefix_lists.join(", ")
        );
        return out.unknown(reason);
    };

    out.evidence.push(format!(
        "{first} matches route {} → {} in {} (longest prefix /{})",
        m.route.destination,
        m.route.target,
        table.id,
        m.matched.prefix_len()
    ));
    out.prefix_list_id = m.prefix_list_id.clone();
    out.verdict = match m.kind {
        TargetKind::GatewayEndpoint => {
            out.vpc_endpoint_id = Some(m.route.target.clone());
            Verdict::GatewayEndpoint
        }
        TargetKind::InternetGateway => Verdict::InternetGateway,
        TargetKind::NatGateway => Verdict::NatGateway,
        TargetKind::Blackhole => {
            out.evidence.push(format!(
                "the route to {} is a blackhole: its target no longer exists, traffic is dropped",
                m.route.target
            ));
            Verdict::NoRoute
        }
        TargetKind::Local => {
            out.evidence.push(format!(
                "{first} takes the local route but is outside the VPC CIDRs"
            ));
            Verdict::Other
        }
        TargetKind::Other => {
            if m.route.target.starts_with("vpce-") {
                out.evidence.push(format!(
                    "{} on a CIDR route is a Gateway Load Balancer endpoint, not a gateway \
                     endpoint",
                    m.route.target
                ));
            }
            Verdict::Other
        }
    };

    // A CIDR route that beat a gateway endpoint's prefix-list route holding the address (the S3
    // endpoint's route first, when several did).
    if m.prefix_list_id.is_none() {
        let losers = table.routes.iter().filter_map(|r| {
            let RouteDestination::PrefixList(id) = &r.destination else {
                return None;
            };
            if !r.target.starts_with("vpce-") || r.state == RouteState::Blackhole {
                return None;
            }
            let entry = prefix_lists
                .get(id)?
                .iter()
                .filter(|c| cidr_contains(c, first))
                .max_by_key(|c| c.prefix_len())?;
            Some((r, id, entry.prefix_len()))
        });
        let loser = losers.min_by_key(|(_, id, _)| Some(id.as_str()) != s3_pl_id);
        if let Some((r, id, len)) = loser {
            let how = if m.matched.prefix_len() > len {
                "a more specific route"
            } else {
                "a static route of the same length"
            };
            out.evidence.push(format!(
                "{how} {} → {} overrides the endpoint's prefix list {id} → {}",
                m.route.destination, m.route.target, r.target
            ));
            out.overridden_endpoint = Some(r.target.clone());
        }
    }

    if !lpm.unresolved_prefix_lists.is_empty() {
        out.evidence.push(format!(
            "the entries of {} are unknown: a more specific entry there could change this",
            lpm.unresolved_prefix_lists.join(", ")
        ));
    }
    push_other_addresses(&mut out, Some(table));
    out
}

/// Evidence lines for the other addresses when they would not go the deciding address's way.
fn push_other_addresses(out: &mut PathVerdict, table: Option<&RouteTable>) {
    let Some(first) = out.addresses.first().cloned() else {
        return;
    };
    let hop = |a: &AddressPath| a.route.as_ref().map(|m| m.route.clone());
    let mut lines = Vec::new();
    for other in out.addresses.iter().skip(1) {
        if other.class == first.class && hop(other) == hop(&first) {
            continue;
        }
        let line = match (&other.route, table) {
            (Some(m), Some(t)) => format!(
                "{} (also an S3 address) would take route {} → {} in {}",
                other.address, m.route.destination, m.route.target, t.id
            ),
            (None, Some(t)) => format!(
                "{} (also an S3 address) matches no route in {}",
                other.address, t.id
            ),
            (_, None) => format!(
                "{} (also an S3 address) is {}",
                other.address,
                match other.class {
                    AddressClass::VpcPrivate => "inside the VPC",
                    AddressClass::S3PrefixList => "in the S3 prefix list",
                    AddressClass::Other => "outside the VPC and the S3 prefix list",
                }
            ),
        };
        lines.push(line);
    }
    out.evidence.extend(lines);
}
