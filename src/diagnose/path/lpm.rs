//! Longest-prefix match over a route table (CIDR and prefix-list routes, AWS's tie-break
//! rules), the gateway endpoint's route, and address classification.

use std::collections::HashMap;
use std::net::IpAddr;

use super::{
    AddressClass, Cidr, LpmResult, Route, RouteDestination, RouteMatch, RouteTable, TargetKind,
    cidr_contains,
};

/// Longest-prefix match of `ip` over every route of `table`, CIDR and prefix-list routes alike.
///
/// A prefix-list route matches when any entry of the list (`prefix_lists[id]`) holds `ip`; its
/// specificity is the longest such entry. Ties between equally long matches follow AWS:
///
/// > "If your route table contains a static route that overlaps with another route that
/// > references a prefix list, the static route with the destination CIDR block takes priority.
/// > […] If your route table references multiple prefix lists that have overlapping CIDR blocks
/// > to different targets, we randomly choose which route takes priority. Thereafter, the same
/// > route always takes priority."
/// > — Amazon VPC User Guide, "How route priority works", section "Route priority for prefix
/// > lists": <https://docs.aws.amazon.com/vpc/latest/userguide/route-tables-priority.html>
///
/// So a CIDR route beats a prefix-list route of the same length. Between two prefix-list routes
/// of the same length AWS picks one at random (then sticks to it); we pick the first in table
/// order. Propagated routes (which lose to both) are not modelled. Blackhole routes take part in
/// the match like any other (traffic that hits one is dropped).
pub fn longest_prefix_match(
    table: &RouteTable,
    prefix_lists: &HashMap<String, Vec<Cidr>>,
    ip: IpAddr,
) -> LpmResult {
    let mut best: Option<RouteMatch> = None;
    let mut unresolved: Vec<String> = Vec::new();
    for route in &table.routes {
        let (matched, pl_id) = match &route.destination {
            RouteDestination::Cidr(c) => match cidr_contains(c, ip) {
                true => (*c, None),
                false => continue,
            },
            RouteDestination::PrefixList(id) => {
                let Some(entries) = prefix_lists.get(id) else {
                    if !unresolved.contains(id) {
                        unresolved.push(id.clone());
                    }
                    continue;
                };
                // Longest entry; the first of equally long ones.
                let longest = entries.iter().filter(|c| cidr_contains(c, ip)).fold(
                    None::<&Cidr>,
                    |acc, c| match acc {
                        Some(a) if a.prefix_len() >= c.prefix_len() => Some(a),
                        _ => Some(c),
                    },
                );
                match longest {
                    Some(c) => (*c, Some(id.clone())),
                    None => continue,
                }
            }
        };
        // (length, is a CIDR route): a longer prefix wins, then a static CIDR route over a
        // prefix-list route; a full tie keeps the earlier route.
        let rank = |len: u8, pl: &Option<String>| (len, pl.is_none());
        let better = match &best {
            None => true,
            Some(b) => {
                rank(matched.prefix_len(), &pl_id) > rank(b.matched.prefix_len(), &b.prefix_list_id)
            }
        };
        if better {
            best = Some(RouteMatch {
                route: route.clone(),
                matched,
                prefix_list_id: pl_id,
                kind: TargetKind::of(route),
            });
        }
    }
    LpmResult {
        matched: best,
        unresolved_prefix_lists: unresolved,
    }
}

/// The gateway endpoint's route for S3: destination the S3 prefix list, target a `vpce-`. Returned
/// whatever its state (a blackhole one means the endpoint was deleted).
pub fn gateway_endpoint_route<'a>(table: &'a RouteTable, s3_pl_id: &str) -> Option<&'a Route> {
    table.routes.iter().find(|r| {
        matches!(&r.destination, RouteDestination::PrefixList(id) if id == s3_pl_id)
            && r.target.starts_with("vpce-")
    })
}

/// Classify an address. The VPC CIDRs are checked first.
pub fn classify_address(ip: IpAddr, s3_cidrs: &[Cidr], vpc_cidrs: &[Cidr]) -> AddressClass {
    if vpc_cidrs.iter().any(|c| cidr_contains(c, ip)) {
        AddressClass::VpcPrivate
    } else if s3_cidrs.iter().any(|c| cidr_contains(c, ip)) {
        AddressClass::S3PrefixList
    } else {
        AddressClass::Other
    }
}
