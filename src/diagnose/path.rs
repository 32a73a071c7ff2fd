//! PURE: where traffic to an address goes. Longest-prefix match over a subnet route table (CIDR
//! and prefix-list routes, AWS tie-break rules), address classification, and the path verdict:
//! does S3 traffic leave through the gateway endpoint, an interface endpoint, or something else?

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// An IPv4 or IPv6 block, host bits cleared by [`Cidr::parse`]. Serialized as `"a.b.c.d/n"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cidr {
    pub addr: IpAddr,
    pub len: u8,
}

impl Cidr {
    /// Parse `"10.0.0.0/16"` or `"2600:1f18::/32"`. Host bits are cleared (`10.0.1.7/16` becomes
    /// `10.0.0.0/16`); a bare address is a host block (`/32` or `/128`).
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (addr_part, len_part) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr_part
            .parse()
            .map_err(|_| format!("invalid CIDR {s:?}: {addr_part:?} is not an IP address"))?;
        let max = max_len(addr);
        let len = match len_part {
            None => max,
            Some(l) => {
                if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!(
                        "invalid CIDR {s:?}: prefix length {l:?} is not a number"
                    ));
                }
                let n: u16 = l.parse().map_err(|_| format!("invalid CIDR {s:?}"))?;
                if n > u16::from(max) {
                    return Err(format!(
                        "invalid CIDR {s:?}: prefix length /{n} is longer than /{max}"
                    ));
                }
                n as u8
            }
        };
        Ok(Cidr {
            addr: network(addr, len),
            len,
        })
    }

    /// True when `ip` is inside this block. Never across address families; an IPv4-mapped IPv6
    /// address (`::ffff:a.b.c.d`) counts as the IPv4 address it carries.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = mask_u32(self.len);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = mask_u128(self.len);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cidr::parse(s)
    }
}

impl TryFrom<String> for Cidr {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Cidr::parse(&s)
    }
}

impl From<Cidr> for String {
    fn from(c: Cidr) -> String {
        c.to_string()
    }
}

fn max_len(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn mask_u32(len: u8) -> u32 {
    match len {
        0 => 0,
        l if l >= 32 => u32::MAX,
        l => u32::MAX << (32 - u32::from(l)),
    }
}

fn mask_u128(len: u8) -> u128 {
    match len {
        0 => 0,
        l if l >= 128 => u128::MAX,
        l => u128::MAX << (128 - u32::from(l)),
    }
}

fn network(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => IpAddr::V4((u32::from(a) & mask_u32(len)).into()),
        IpAddr::V6(a) => IpAddr::V6((u128::from(a) & mask_u128(len)).into()),
    }
}

/// What a route is for: a CIDR block or a managed prefix list (`pl-…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteDestination {
    Cidr(Cidr),
    PrefixList(String),
}

impl fmt::Display for RouteDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteDestination::Cidr(c) => c.fmt(f),
            RouteDestination::PrefixList(id) => f.write_str(id),
        }
    }
}

/// The state AWS reports for a route; `blackhole` means its target is gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteState {
    #[default]
    Active,
    Blackhole,
}

/// One route of a route table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub destination: RouteDestination,
    /// The raw AWS target id: `local`, `vpce-…`, `igw-…`, `nat-…`, `eigw-…`, `tgw-…`, `pcx-…`,
    /// `eni-…`, `i-…`, `vgw-…`, `cagw-…`, `lgw-…`.
    pub target: String,
    #[serde(default)]
    pub state: RouteState,
}

/// A route table (the subnet's own, or the VPC's main table when the subnet has none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    pub id: String,
    /// The VPC's main route table (used implicitly by subnets without an association).
    pub main: bool,
    pub routes: Vec<Route>,
}

/// What kind of hop a route leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    GatewayEndpoint,
    InternetGateway,
    NatGateway,
    Local,
    Other,
    Blackhole,
}

impl TargetKind {
    /// The kind of a route's target. A blackhole route is `Blackhole` whatever its target.
    ///
    /// A `vpce-` target is a gateway endpoint only on a prefix-list route: AWS creates gateway
    /// endpoint routes with the service's prefix list as destination, and a CIDR route can only
    /// point at a Gateway Load Balancer endpoint (CreateRoute's `VpcEndpointId` is "supported for
    /// Gateway Load Balancer endpoints only"), so `CIDR → vpce-…` is `Other`.
    pub fn of(route: &Route) -> TargetKind {
        if route.state == RouteState::Blackhole {
            return TargetKind::Blackhole;
        }
        let t = route.target.as_str();
        if t.starts_with("vpce-") {
            match route.destination {
                RouteDestination::PrefixList(_) => TargetKind::GatewayEndpoint,
                RouteDestination::Cidr(_) => TargetKind::Other,
            }
        } else if t.starts_with("igw-") {
            TargetKind::InternetGateway
        } else if t.starts_with("nat-") {
            TargetKind::NatGateway
        } else if t == "local" {
            TargetKind::Local
        } else {
            TargetKind::Other
        }
    }
}

/// The route that won the longest-prefix match for one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteMatch {
    pub route: Route,
    /// The block that matched: the route's CIDR, or the longest prefix-list entry holding the
    /// address.
    pub matched: Cidr,
    /// Set when the route's destination is a prefix list.
    pub prefix_list_id: Option<String>,
    pub kind: TargetKind,
}

/// The outcome of a longest-prefix match.
///
/// `matched: None` with an empty `unresolved_prefix_lists` means "no route"; with a non-empty
/// one it means "unknown": a prefix list whose entries are not known might have matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LpmResult {
    pub matched: Option<RouteMatch>,
    /// Prefix lists referenced by the table whose entries are not in the map, in table order,
    /// each once. They could not match; when `matched` is set they might still have held a
    /// longer (or, for another prefix-list route, an equally long) entry.
    pub unresolved_prefix_lists: Vec<String>,
}

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
            RouteDestination::Cidr(c) => match c.contains(ip) {
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
                let longest = entries.iter().filter(|c| c.contains(ip)).fold(
                    None::<&Cidr>,
                    |acc, c| match acc {
                        Some(a) if a.len >= c.len => Some(a),
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
            Some(b) => rank(matched.len, &pl_id) > rank(b.matched.len, &b.prefix_list_id),
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

/// What an address is, before any routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressClass {
    /// In the region's S3 prefix list: reachable through a gateway endpoint.
    S3PrefixList,
    /// Inside the VPC: an interface endpoint's (or a proxy's) private IP.
    VpcPrivate,
    Other,
}

/// Classify an address. The VPC CIDRs are checked first.
pub fn classify_address(ip: IpAddr, s3_cidrs: &[Cidr], vpc_cidrs: &[Cidr]) -> AddressClass {
    if vpc_cidrs.iter().any(|c| c.contains(ip)) {
        AddressClass::VpcPrivate
    } else if s3_cidrs.iter().any(|c| c.contains(ip)) {
        AddressClass::S3PrefixList
    } else {
        AddressClass::Other
    }
}

/// Where S3 traffic goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    GatewayEndpoint,
    InterfaceEndpoint,
    InternetGateway,
    NatGateway,
    Other,
    NoRoute,
    Unknown,
}

/// What the path verdict is decided from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathInput {
    /// S3 addresses; the first is the peer actually used, if known (else the first resolved).
    pub addresses: Vec<IpAddr>,
    pub vpc_cidrs: Vec<Cidr>,
    /// The region's S3 prefix list: id and entries. Its entries are used for routes that
    /// reference it (over any entry for the same id in `prefix_lists`).
    pub s3_prefix_list: Option<(String, Vec<Cidr>)>,
    /// The subnet's effective route table.
    pub route_table: Option<RouteTable>,
    /// Why the route table is not known.
    pub route_table_error: Option<String>,
    /// Entries of the prefix lists the route table references, by id.
    pub prefix_lists: HashMap<String, Vec<Cidr>>,
}

/// What one address is and which route it takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressPath {
    pub address: IpAddr,
    pub class: AddressClass,
    /// The winning route; `None` when there is no route table or no route matched.
    pub route: Option<RouteMatch>,
}

/// The verdict on where S3 traffic goes, with the facts behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathVerdict {
    pub verdict: Verdict,
    pub route_table_id: Option<String>,
    /// The gateway endpoint the traffic takes (verdict `gateway_endpoint` only).
    pub vpc_endpoint_id: Option<String>,
    /// The prefix list of the winning route, when it is a prefix-list route.
    pub prefix_list_id: Option<String>,
    /// Every address, the deciding one first.
    pub addresses: Vec<AddressPath>,
    /// Short human lines, in reasoning order.
    pub evidence: Vec<String>,
    /// Why the verdict is `unknown`.
    pub unknown_reason: Option<String>,
    /// A gateway endpoint (`vpce-…`) whose prefix-list route holds the deciding address but lost
    /// to a CIDR route (more specific, or as specific: static routes win ties): raise
    /// `specific_route_overrides_endpoint`.
    pub overridden_endpoint: Option<String>,
    /// Prefix lists the route table references whose entries are unknown. With a verdict other
    /// than `unknown`, one of them could still hold a more specific entry for the address.
    pub unresolved_prefix_lists: Vec<String>,
}

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
/// Rules: no address → unknown; an address inside a VPC CIDR → interface endpoint (local route;
/// no route table needed); no route table → unknown (`route_table_error`); no matching route →
/// no route, or unknown when an unresolved prefix list could have matched; blackhole → no route;
/// gateway endpoint, internet gateway, NAT gateway → themselves; anything else (including
/// `local` for an address outside the VPC CIDRs, or a Gateway Load Balancer endpoint) → other.
pub fn path_verdict(input: &PathInput) -> PathVerdict {
    let mut out = PathVerdict::new(Verdict::Unknown);
    let table = input.route_table.as_ref();
    out.route_table_id = table.map(|t| t.id.clone());
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
    if let Some(vpc) = input.vpc_cidrs.iter().find(|c| c.contains(first)) {
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
            .filter(|c| c.contains(first))
            .max_by_key(|c| c.len),
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
        m.route.destination, m.route.target, table.id, m.matched.len
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
                .filter(|c| c.contains(first))
                .max_by_key(|c| c.len)?;
            Some((r, id, entry.len))
        });
        let loser = losers.min_by_key(|(_, id, _)| Some(id.as_str()) != s3_pl_id);
        if let Some((r, id, len)) = loser {
            let how = if m.matched.len > len {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// `"<destination> <target> [blackhole]"`; a destination starting with `pl-` is a prefix list.
    fn route(spec: &str) -> Route {
        let parts: Vec<&str> = spec.split_whitespace().collect();
        let destination = if parts[0].starts_with("pl-") {
            RouteDestination::PrefixList(parts[0].into())
        } else {
            RouteDestination::Cidr(cidr(parts[0]))
        };
        let state = match parts.get(2) {
            Some(&"blackhole") => RouteState::Blackhole,
            None => RouteState::Active,
            Some(other) => panic!("bad route spec state {other}"),
        };
        Route {
            destination,
            target: parts[1].into(),
            state,
        }
    }

    fn table(routes: &[&str]) -> RouteTable {
        RouteTable {
            id: "rtb-1".into(),
            main: false,
            routes: routes.iter().map(|r| route(r)).collect(),
        }
    }

    fn lists(entries: &[(&str, &[&str])]) -> HashMap<String, Vec<Cidr>> {
        entries
            .iter()
            .map(|(id, cidrs)| (id.to_string(), cidrs.iter().map(|c| cidr(c)).collect()))
            .collect()
    }

    #[test]
    fn cidr_parse() {
        struct Case {
            name: &'static str,
            input: &'static str,
            want: Result<&'static str, &'static str>,
        }
        let cases = [
            Case {
                name: "ipv4",
                input: "10.0.0.0/16",
                want: Ok("10.0.0.0/16"),
            },
            Case {
                name: "host bits cleared",
                input: "10.0.1.7/16",
                want: Ok("10.0.0.0/16"),
            },
            Case {
                name: "odd length",
                input: "52.217.255.255/15",
                want: Ok("52.216.0.0/15"),
            },
            Case {
                name: "zero length",
                input: "1.2.3.4/0",
                want: Ok("0.0.0.0/0"),
            },
            Case {
                name: "host route",
                input: "1.2.3.4/32",
                want: Ok("1.2.3.4/32"),
            },
            Case {
                name: "bare ipv4 is /32",
                input: "52.216.10.4",
                want: Ok("52.216.10.4/32"),
            },
            Case {
                name: "surrounding space",
                input: " 10.0.0.0/8 ",
                want: Ok("10.0.0.0/8"),
            },
            Case {
                name: "leading zero length",
                input: "10.0.0.0/08",
                want: Ok("10.0.0.0/8"),
            },
            Case {
                name: "ipv6",
                input: "2600:1F18:0:0::1/32",
                want: Ok("2600:1f18::/32"),
            },
            Case {
                name: "ipv6 host",
                input: "::1/128",
                want: Ok("::1/128"),
            },
            Case {
                name: "bare ipv6 is /128",
                input: "2600:1f18::7",
                want: Ok("2600:1f18::7/128"),
            },
            Case {
                name: "ipv6 zero",
                input: "2600::1/0",
                want: Ok("::/0"),
            },
            Case {
                name: "ipv4 too long",
                input: "10.0.0.0/33",
                want: Err("longer than /32"),
            },
            Case {
                name: "ipv6 too long",
                input: "::/129",
                want: Err("longer than /128"),
            },
            Case {
                name: "ipv4 length 255+",
                input: "10.0.0.0/300",
                want: Err("longer than /32"),
            },
            Case {
                name: "empty length",
                input: "10.0.0.0/",
                want: Err("not a number"),
            },
            Case {
                name: "negative length",
                input: "10.0.0.0/-1",
                want: Err("not a number"),
            },
            Case {
                name: "plus sign",
                input: "10.0.0.0/+8",
                want: Err("not a number"),
            },
            Case {
                name: "space in length",
                input: "10.0.0.0/ 8",
                want: Err("not a number"),
            },
            Case {
                name: "two slashes",
                input: "10.0.0.0/8/9",
                want: Err("not a number"),
            },
            Case {
                name: "four digit length",
                input: "10.0.0.0/0008",
                want: Err("not a number"),
            },
            Case {
                name: "short address",
                input: "10.0.0/8",
                want: Err("not an IP address"),
            },
            Case {
                name: "not an address",
                input: "abc/8",
                want: Err("not an IP address"),
            },
            Case {
                name: "empty",
                input: "",
                want: Err("not an IP address"),
            },
            Case {
                name: "prefix list id",
                input: "pl-63a5400a",
                want: Err("not an IP address"),
            },
        ];
        for c in cases {
            match (Cidr::parse(c.input), c.want) {
                (Ok(got), Ok(want)) => assert_eq!(got.to_string(), want, "{}", c.name),
                (Err(got), Err(want)) => {
                    assert!(
                        got.contains(want),
                        "{}: error {got:?} lacks {want:?}",
                        c.name
                    )
                }
                (got, want) => panic!("{}: got {got:?}, want {want:?}", c.name),
            }
        }
    }

    #[test]
    fn cidr_contains() {
        let cases = [
            ("inside", "10.0.0.0/16", "10.0.200.1", true),
            ("first address", "10.0.0.0/16", "10.0.0.0", true),
            ("last address", "10.0.0.0/16", "10.0.255.255", true),
            ("just past the end", "10.0.0.0/16", "10.1.0.0", false),
            ("just before", "10.0.0.0/16", "9.255.255.255", false),
            ("odd length", "52.216.0.0/15", "52.217.3.4", true),
            ("odd length outside", "52.216.0.0/15", "52.218.0.1", false),
            ("ipv4 default", "0.0.0.0/0", "203.0.113.9", true),
            ("host route", "1.2.3.4/32", "1.2.3.4", true),
            ("host route other", "1.2.3.4/32", "1.2.3.5", false),
            ("ipv6 inside", "2600:1f18::/32", "2600:1f18:abcd::1", true),
            ("ipv6 outside", "2600:1f18::/32", "2600:1f19::1", false),
            ("ipv6 default", "::/0", "2a05:d07a::1", true),
            (
                "ipv4 block, ipv6 address",
                "0.0.0.0/0",
                "2600:1f18::1",
                false,
            ),
            ("ipv6 block, ipv4 address", "::/0", "52.216.10.4", false),
            (
                "ipv4-mapped ipv6 counts as ipv4",
                "52.216.0.0/15",
                "::ffff:52.216.10.4",
                true,
            ),
            (
                "ipv4-mapped not in ipv6 default",
                "::/0",
                "::ffff:52.216.10.4",
                false,
            ),
        ];
        for (name, c, a, want) in cases {
            assert_eq!(cidr(c).contains(ip(a)), want, "{name}");
        }
        // A hand-built, non-normalised block still matches on its prefix only.
        let raw = Cidr {
            addr: ip("10.0.1.7"),
            len: 16,
        };
        assert!(raw.contains(ip("10.0.9.9")), "non-normalised block");
    }

    #[test]
    fn serde_forms() {
        let cases: [(&str, serde_json::Value, serde_json::Value); 10] = [
            (
                "cidr as string",
                serde_json::to_value(cidr("10.0.0.0/16")).unwrap(),
                "10.0.0.0/16".into(),
            ),
            (
                "cidr route destination",
                serde_json::to_value(RouteDestination::Cidr(cidr("0.0.0.0/0"))).unwrap(),
                serde_json::json!({"cidr": "0.0.0.0/0"}),
            ),
            (
                "prefix list route destination",
                serde_json::to_value(RouteDestination::PrefixList("pl-1".into())).unwrap(),
                serde_json::json!({"prefix_list": "pl-1"}),
            ),
            (
                "verdict gateway",
                serde_json::to_value(Verdict::GatewayEndpoint).unwrap(),
                "gateway_endpoint".into(),
            ),
            (
                "verdict interface",
                serde_json::to_value(Verdict::InterfaceEndpoint).unwrap(),
                "interface_endpoint".into(),
            ),
            (
                "verdict igw",
                serde_json::to_value(Verdict::InternetGateway).unwrap(),
                "internet_gateway".into(),
            ),
            (
                "verdict nat",
                serde_json::to_value(Verdict::NatGateway).unwrap(),
                "nat_gateway".into(),
            ),
            (
                "verdict no route",
                serde_json::to_value(Verdict::NoRoute).unwrap(),
                "no_route".into(),
            ),
            (
                "verdict unknown",
                serde_json::to_value(Verdict::Unknown).unwrap(),
                "unknown".into(),
            ),
            (
                "address class",
                serde_json::to_value(AddressClass::S3PrefixList).unwrap(),
                "s3_prefix_list".into(),
            ),
        ];
        for (name, got, want) in cases {
            assert_eq!(got, want, "{name}");
        }
        assert_eq!(serde_json::to_value(Verdict::Other).unwrap(), "other");
        assert_eq!(
            serde_json::to_value(RouteState::Blackhole).unwrap(),
            "blackhole"
        );
        assert_eq!(
            serde_json::to_value(TargetKind::GatewayEndpoint).unwrap(),
            "gateway_endpoint"
        );

        // Round trips, and a bad CIDR is a deserialization error, not a panic.
        let t = table(&[
            "10.0.0.0/16 local",
            "pl-s3 vpce-1",
            "0.0.0.0/0 igw-1 blackhole",
        ]);
        let back: RouteTable = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        let no_state: Route =
            serde_json::from_str(r#"{"destination":{"cidr":"10.0.0.0/16"},"target":"local"}"#)
                .unwrap();
        assert_eq!(no_state.state, RouteState::Active);
        assert!(serde_json::from_str::<Cidr>(r#""10.0.0.0/40""#).is_err());
        assert_eq!(
            serde_json::from_str::<Cidr>(r#""10.0.0.9/8""#).unwrap(),
            cidr("10.0.0.0/8")
        );
    }

    #[test]
    fn target_kind() {
        let cases = [
            (
                "gateway endpoint",
                "pl-s3 vpce-0b2",
                TargetKind::GatewayEndpoint,
            ),
            (
                "internet gateway",
                "0.0.0.0/0 igw-1",
                TargetKind::InternetGateway,
            ),
            ("nat gateway", "0.0.0.0/0 nat-1", TargetKind::NatGateway),
            ("local", "10.0.0.0/16 local", TargetKind::Local),
            ("egress-only igw", "::/0 eigw-1", TargetKind::Other),
            ("transit gateway", "0.0.0.0/0 tgw-1", TargetKind::Other),
            ("peering", "172.31.0.0/16 pcx-1", TargetKind::Other),
            ("eni", "0.0.0.0/0 eni-1", TargetKind::Other),
            ("instance", "0.0.0.0/0 i-1", TargetKind::Other),
            (
                "virtual private gateway",
                "0.0.0.0/0 vgw-1",
                TargetKind::Other,
            ),
            ("carrier gateway", "0.0.0.0/0 cagw-1", TargetKind::Other),
            ("local gateway", "0.0.0.0/0 lgw-1", TargetKind::Other),
            (
                "gwlb endpoint on a cidr",
                "0.0.0.0/0 vpce-gwlb",
                TargetKind::Other,
            ),
            (
                "prefix list to igw",
                "pl-x igw-1",
                TargetKind::InternetGateway,
            ),
            (
                "blackhole endpoint",
                "pl-s3 vpce-0b2 blackhole",
                TargetKind::Blackhole,
            ),
            (
                "blackhole nat",
                "0.0.0.0/0 nat-1 blackhole",
                TargetKind::Blackhole,
            ),
            (
                "prefix only is not local",
                "10.0.0.0/16 localx",
                TargetKind::Other,
            ),
        ];
        for (name, spec, want) in cases {
            assert_eq!(TargetKind::of(&route(spec)), want, "{name}");
        }
    }

    #[test]
    fn lpm() {
        struct Case {
            name: &'static str,
            routes: &'static [&'static str],
            lists: &'static [(&'static str, &'static [&'static str])],
            ip: &'static str,
            /// (route spec that wins, matched block) or None.
            want: Option<(&'static str, &'static str)>,
            unresolved: &'static [&'static str],
        }
        const S3: (&str, &[&str]) = ("pl-s3", &["52.216.0.0/15", "3.5.0.0/19"]);
        let cases = [
            Case {
                name: "default route only",
                routes: &["10.0.0.0/16 local", "0.0.0.0/0 igw-1"],
                lists: &[],
                ip: "52.216.10.4",
                want: Some(("0.0.0.0/0 igw-1", "0.0.0.0/0")),
                unresolved: &[],
            },
            Case {
                name: "longer cidr beats default",
                routes: &["0.0.0.0/0 igw-1", "52.0.0.0/8 nat-1"],
                lists: &[],
                ip: "52.216.10.4",
                want: Some(("52.0.0.0/8 nat-1", "52.0.0.0/8")),
                unresolved: &[],
            },
            Case {
                name: "host route beats everything",
                routes: &["0.0.0.0/0 igw-1", "pl-s3 vpce-1", "52.216.10.4/32 eni-1"],
                lists: &[S3],
                ip: "52.216.10.4",
                want: Some(("52.216.10.4/32 eni-1", "52.216.10.4/32")),
                unresolved: &[],
            },
            Case {
                name: "prefix list beats default",
                routes: &["10.0.0.0/16 local", "0.0.0.0/0 igw-1", "pl-s3 vpce-1"],
                lists: &[S3],
                ip: "52.216.10.4",
                want: Some(("pl-s3 vpce-1", "52.216.0.0/15")),
                unresolved: &[],
            },
            Case {
                name: "prefix list matched by its other entry",
                routes: &["0.0.0.0/0 igw-1", "pl-s3 vpce-1"],
                lists: &[S3],
                ip: "3.5.1.1",
                want: Some(("pl-s3 vpce-1", "3.5.0.0/19")),
                unresolved: &[],
            },
            Case {
                name: "address outside the prefix list",
                routes: &["0.0.0.0/0 igw-1", "pl-s3 vpce-1"],
                lists: &[S3],
                ip: "54.231.0.1",
                want: Some(("0.0.0.0/0 igw-1", "0.0.0.0/0")),
                unresolved: &[],
            },
            Case {
                name: "more specific cidr beats prefix list",
                routes: &["pl-s3 vpce-1", "52.216.0.0/16 igw-1"],
                lists: &[S3],
                ip: "52.216.10.4",
                want: Some(("52.216.0.0/16 igw-1", "52.216.0.0/16")),
                unresolved: &[],
            },
            Case {
                name: "less specific cidr loses to prefix list",
                routes: &["52.0.0.0/8 nat-1", "pl-s3 vpce-1"],
                lists: &[S3],
                ip: "52.216.10.4",
                want: Some(("pl-s3 vpce-1", "52.216.0.0/15")),
                unresolved: &[],
            },
            Case {
                name: "same length: static cidr beats prefix list (pl first)",
                routes: &["pl-s3 vpce-1", "52.216.0.0/15 nat-1"],
                lists: &[S3],
                ip: "52.216.10.4",
                want: Some(("52.216.0.0/15 nat-1", "52.216.0.0/15")),
                unresolved: &[],
            },
            Case {
                name: "same length: static cidr beats prefix list (cidr first)",
                routes: &["52.216.0.0/15 nat-1", "pl-s3 vpce-1"],
                lists: &[S3],
                ip: "52.216.10.4",
                want: Some(("52.216.0.0/15 nat-1", "52.216.0.0/15")),
                unresolved: &[],
            },
            Case {
                name: "same length prefix lists: first in table order",
                routes: &["pl-b tgw-1", "pl-s3 vpce-1"],
                lists: &[S3, ("pl-b", &["52.216.0.0/15"])],
                ip: "52.216.10.4",
                want: Some(("pl-b tgw-1", "52.216.0.0/15")),
                unresolved: &[],
            },
            Case {
                name: "longest entry of a list is its specificity",
                routes: &["52.216.0.0/14 nat-1", "pl-m tgw-1"],
                lists: &[("pl-m", &["52.0.0.0/8", "52.216.0.0/16", "52.216.0.0/12"])],
                ip: "52.216.10.4",
                want: Some(("pl-m tgw-1", "52.216.0.0/16")),
                unresolved: &[],
            },
            Case {
                name: "empty prefix list never matches",
                routes: &["pl-e vpce-1"],
                lists: &[("pl-e", &[])],
                ip: "52.216.10.4",
                want: None,
                unresolved: &[],
            },
            Case {
                name: "unknown prefix list only: unknown, not no route",
                routes: &["10.0.0.0/16 local", "pl-x vpce-1"],
                lists: &[],
                ip: "52.216.10.4",
                want: None,
                unresolved: &["pl-x"],
            },
            Case {
                name: "unknown prefix list reported alongside a match, once",
                routes: &[
                    "pl-x tgw-1",
                    "0.0.0.0/0 igw-1",
                    "pl-x tgw-2",
                    "pl-s3 vpce-1",
                ],
                lists: &[S3],
                ip: "52.216.10.4",
                want: Some(("pl-s3 vpce-1", "52.216.0.0/15")),
                unresolved: &["pl-x"],
            },
            Case {
                name: "longer blackhole wins",
                routes: &["0.0.0.0/0 igw-1", "pl-s3 vpce-1 blackhole"],
                lists: &[S3],
                ip: "52.216.10.4",
                want: Some(("pl-s3 vpce-1 blackhole", "52.216.0.0/15")),
                unresolved: &[],
            },
            Case {
                name: "local route for a vpc address",
                routes: &["10.0.0.0/16 local", "0.0.0.0/0 igw-1"],
                lists: &[],
                ip: "10.0.3.3",
                want: Some(("10.0.0.0/16 local", "10.0.0.0/16")),
                unresolved: &[],
            },
            Case {
                name: "ipv6 address ignores ipv4 routes",
                routes: &["0.0.0.0/0 igw-1"],
                lists: &[],
                ip: "2600:1f18::1",
                want: None,
                unresolved: &[],
            },
            Case {
                name: "ipv6 default via egress-only igw",
                routes: &["0.0.0.0/0 nat-1", "::/0 eigw-1"],
                lists: &[],
                ip: "2600:1f18::1",
                want: Some(("::/0 eigw-1", "::/0")),
                unresolved: &[],
            },
            Case {
                name: "ipv6 prefix list entry",
                routes: &["::/0 eigw-1", "pl-s3 vpce-1"],
                lists: &[("pl-s3", &["52.216.0.0/15", "2600:1fa0::/32"])],
                ip: "2600:1fa0:80::1",
                want: Some(("pl-s3 vpce-1", "2600:1fa0::/32")),
                unresolved: &[],
            },
            Case {
                name: "empty table",
                routes: &[],
                lists: &[],
                ip: "52.216.10.4",
                want: None,
                unresolved: &[],
            },
        ];
        for c in cases {
            let got = longest_prefix_match(&table(c.routes), &lists(c.lists), ip(c.ip));
            match (&got.matched, c.want) {
                (None, None) => {}
                (Some(m), Some((spec, block))) => {
                    let want = route(spec);
                    assert_eq!(m.route, want, "{}: route", c.name);
                    assert_eq!(m.matched, cidr(block), "{}: matched block", c.name);
                    assert_eq!(m.kind, TargetKind::of(&want), "{}: kind", c.name);
                    let pl = match &want.destination {
                        RouteDestination::PrefixList(id) => Some(id.clone()),
                        RouteDestination::Cidr(_) => None,
                    };
                    assert_eq!(m.prefix_list_id, pl, "{}: prefix list id", c.name);
                }
                (got, want) => panic!("{}: got {got:?}, want {want:?}", c.name),
            }
            assert_eq!(
                got.unresolved_prefix_lists, c.unresolved,
                "{}: unresolved",
                c.name
            );
        }
    }

    #[test]
    fn classify() {
        let s3 = [cidr("52.216.0.0/15"), cidr("2600:1fa0::/32")];
        let vpc = [
            cidr("10.0.0.0/16"),
            cidr("100.64.0.0/16"),
            cidr("2600:1f18:1::/56"),
        ];
        let cases = [
            ("in s3 list", "52.216.10.4", AddressClass::S3PrefixList),
            (
                "in s3 list, ipv6",
                "2600:1fa0::9",
                AddressClass::S3PrefixList,
            ),
            ("in vpc", "10.0.1.10", AddressClass::VpcPrivate),
            (
                "in secondary vpc cidr",
                "100.64.3.3",
                AddressClass::VpcPrivate,
            ),
            ("in vpc, ipv6", "2600:1f18:1::5", AddressClass::VpcPrivate),
            ("public elsewhere", "54.231.0.1", AddressClass::Other),
            (
                "private outside the vpc",
                "192.168.1.1",
                AddressClass::Other,
            ),
        ];
        for (name, a, want) in cases {
            assert_eq!(classify_address(ip(a), &s3, &vpc), want, "{name}");
        }
        // The VPC CIDRs are checked first.
        let overlapping_vpc = [cidr("52.216.0.0/16")];
        assert_eq!(
            classify_address(ip("52.216.10.4"), &s3, &overlapping_vpc),
            AddressClass::VpcPrivate,
            "vpc first"
        );
        assert_eq!(
            classify_address(ip("52.216.10.4"), &[], &[]),
            AddressClass::Other,
            "no lists"
        );
    }

    #[test]
    fn endpoint_route() {
        let cases: [(&str, &[&str], Option<&str>); 5] = [
            (
                "found",
                &["0.0.0.0/0 igw-1", "pl-s3 vpce-1"],
                Some("pl-s3 vpce-1"),
            ),
            (
                "blackhole still found",
                &["pl-s3 vpce-1 blackhole"],
                Some("pl-s3 vpce-1 blackhole"),
            ),
            ("other prefix list", &["pl-ddb vpce-2"], None),
            ("s3 list to something else", &["pl-s3 tgw-1"], None),
            ("cidr route to a vpce", &["52.216.0.0/15 vpce-1"], None),
        ];
        for (name, routes, want) in cases {
            let t = table(routes);
            assert_eq!(
                gateway_endpoint_route(&t, "pl-s3"),
                want.map(route).as_ref(),
                "{name}"
            );
        }
    }

    struct Expect {
        verdict: Verdict,
        vpce: Option<&'static str>,
        pl: Option<&'static str>,
        overridden: Option<&'static str>,
        reason: Option<&'static str>,
        evidence: &'static [&'static str],
        no_evidence: &'static [&'static str],
    }

    const EXPECT: Expect = Expect {
        verdict: Verdict::Unknown,
        vpce: None,
        pl: None,
        overridden: None,
        reason: None,
        evidence: &[],
        no_evidence: &[],
    };

    const HEALTHY: &[&str] = &["10.0.0.0/16 local", "pl-s3 vpce-1", "0.0.0.0/0 igw-1"];

    fn input(addresses: &[&str], routes: Option<&[&str]>) -> PathInput {
        PathInput {
            addresses: addresses.iter().map(|a| ip(a)).collect(),
            vpc_cidrs: vec![cidr("10.0.0.0/16")],
            s3_prefix_list: Some((
                "pl-s3".into(),
                vec![cidr("52.216.0.0/15"), cidr("2600:1fa0::/32")],
            )),
            route_table: routes.map(table),
            route_table_error: None,
            prefix_lists: HashMap::new(),
        }
    }

    #[test]
    fn verdicts() {
        let cases: Vec<(&str, PathInput, Expect)> = vec![
            (
                "gateway endpoint",
                input(&["52.216.10.4"], Some(HEALTHY)),
                Expect {
                    verdict: Verdict::GatewayEndpoint,
                    vpce: Some("vpce-1"),
                    pl: Some("pl-s3"),
                    evidence: &[
                        "52.216.10.4 is in pl-s3 (52.216.0.0/15)",
                        "52.216.10.4 matches route pl-s3 → vpce-1 in rtb-1 (longest prefix /15)",
                    ],
                    ..EXPECT
                },
            ),
            (
                "gateway endpoint over ipv6",
                input(&["2600:1fa0::1"], Some(&["pl-s3 vpce-1", "::/0 eigw-1"])),
                Expect {
                    verdict: Verdict::GatewayEndpoint,
                    vpce: Some("vpce-1"),
                    pl: Some("pl-s3"),
                    evidence: &["(longest prefix /32)"],
                    ..EXPECT
                },
            ),
            (
                "no address",
                input(&[], Some(HEALTHY)),
                Expect {
                    reason: Some("no S3 address resolved or connected"),
                    ..EXPECT
                },
            ),
            (
                "interface endpoint needs no route table",
                PathInput {
                    route_table_error: Some("UnauthorizedOperation".into()),
                    ..input(&["10.0.5.5"], None)
                },
                Expect {
                    verdict: Verdict::InterfaceEndpoint,
                    evidence: &["10.0.5.5 is inside VPC CIDR 10.0.0.0/16"],
                    ..EXPECT
                },
            ),
            (
                "interface endpoint with a route table",
                input(&["10.0.5.5", "10.0.6.6"], Some(HEALTHY)),
                Expect {
                    verdict: Verdict::InterfaceEndpoint,
                    evidence: &["interface endpoint"],
                    no_evidence: &["also an S3 address"],
                    ..EXPECT
                },
            ),
            (
                "no route table: the error is the reason",
                PathInput {
                    route_table_error: Some(
                        "ec2:DescribeRouteTables denied (UnauthorizedOperation)".into(),
                    ),
                    ..input(&["52.216.10.4"], None)
                },
                Expect {
                    reason: Some("ec2:DescribeRouteTables denied (UnauthorizedOperation)"),
                    evidence: &["52.216.10.4 is in pl-s3"],
                    ..EXPECT
                },
            ),
            (
                "no route table and no error",
                input(&["52.216.10.4"], None),
                Expect {
                    reason: Some("route table is not known"),
                    ..EXPECT
                },
            ),
            (
                "no endpoint route: internet gateway",
                input(
                    &["52.216.10.4"],
                    Some(&["10.0.0.0/16 local", "0.0.0.0/0 igw-1"]),
                ),
                Expect {
                    verdict: Verdict::InternetGateway,
                    evidence: &[
                        "52.216.10.4 matches route 0.0.0.0/0 → igw-1 in rtb-1 (longest prefix /0)",
                    ],
                    ..EXPECT
                },
            ),
            (
                "no endpoint route: nat gateway",
                input(
                    &["52.216.10.4"],
                    Some(&["10.0.0.0/16 local", "0.0.0.0/0 nat-1"]),
                ),
                Expect {
                    verdict: Verdict::NatGateway,
                    ..EXPECT
                },
            ),
            (
                "address outside the s3 prefix list",
                input(&["54.231.0.1"], Some(HEALTHY)),
                Expect {
                    verdict: Verdict::InternetGateway,
                    evidence: &["54.231.0.1 is not in the S3 prefix list pl-s3"],
                    ..EXPECT
                },
            ),
            (
                "more specific route overrides the endpoint",
                input(
                    &["52.216.10.4"],
                    Some(&["pl-s3 vpce-1", "52.216.0.0/16 igw-1"]),
                ),
                Expect {
                    verdict: Verdict::InternetGateway,
                    overridden: Some("vpce-1"),
                    evidence: &[
                        "a more specific route 52.216.0.0/16 → igw-1 overrides the endpoint's prefix list pl-s3 → vpce-1",
                    ],
                    ..EXPECT
                },
            ),
            (
                "same-length static route overrides the endpoint",
                input(
                    &["52.216.10.4"],
                    Some(&["pl-s3 vpce-1", "52.216.0.0/15 nat-1"]),
                ),
                Expect {
                    verdict: Verdict::NatGateway,
                    overridden: Some("vpce-1"),
                    evidence: &["a static route of the same length 52.216.0.0/15 → nat-1"],
                    ..EXPECT
                },
            ),
            (
                "specific route elsewhere does not override",
                input(
                    &["52.217.0.9"],
                    Some(&["pl-s3 vpce-1", "52.216.0.0/16 igw-1"]),
                ),
                Expect {
                    verdict: Verdict::GatewayEndpoint,
                    vpce: Some("vpce-1"),
                    pl: Some("pl-s3"),
                    no_evidence: &["overrides"],
                    ..EXPECT
                },
            ),
            (
                "gateway load balancer endpoint overrides the endpoint",
                input(
                    &["52.216.10.4"],
                    Some(&["pl-s3 vpce-1", "52.216.0.0/16 vpce-gwlb"]),
                ),
                Expect {
                    verdict: Verdict::Other,
                    overridden: Some("vpce-1"),
                    evidence: &["vpce-gwlb on a CIDR route is a Gateway Load Balancer endpoint"],
                    ..EXPECT
                },
            ),
            (
                "blackhole endpoint route: no route",
                input(
                    &["52.216.10.4"],
                    Some(&["pl-s3 vpce-1 blackhole", "0.0.0.0/0 igw-1"]),
                ),
                Expect {
                    verdict: Verdict::NoRoute,
                    pl: Some("pl-s3"),
                    evidence: &["blackhole"],
                    ..EXPECT
                },
            ),
            (
                "blackhole specific route: no route, endpoint overridden",
                input(
                    &["52.216.10.4"],
                    Some(&["pl-s3 vpce-1", "52.216.10.0/24 nat-1 blackhole"]),
                ),
                Expect {
                    verdict: Verdict::NoRoute,
                    overridden: Some("vpce-1"),
                    ..EXPECT
                },
            ),
            (
                "no matching route",
                input(&["52.216.10.4"], Some(&["10.0.0.0/16 local"])),
                Expect {
                    verdict: Verdict::NoRoute,
                    evidence: &["no route in rtb-1 matches 52.216.10.4"],
                    ..EXPECT
                },
            ),
            (
                "only an unresolved prefix list could match: unknown",
                PathInput {
                    s3_prefix_list: None,
                    ..input(
                        &["52.216.10.4"],
                        Some(&["10.0.0.0/16 local", "pl-x vpce-1"]),
                    )
                },
                Expect {
                    reason: Some(
                        "no route in rtb-1 matches 52.216.10.4, and the entries of pl-x are unknown",
                    ),
                    ..EXPECT
                },
            ),
            (
                "unresolved prefix list next to a match: verdict kept, caveat noted",
                input(&["52.216.10.4"], Some(&["pl-x tgw-1", "0.0.0.0/0 igw-1"])),
                Expect {
                    verdict: Verdict::InternetGateway,
                    evidence: &["the entries of pl-x are unknown"],
                    ..EXPECT
                },
            ),
            (
                "s3_prefix_list entries win over the map's",
                PathInput {
                    prefix_lists: lists(&[("pl-s3", &["52.216.0.0/16"])]),
                    ..input(&["52.217.0.9"], Some(HEALTHY))
                },
                Expect {
                    verdict: Verdict::GatewayEndpoint,
                    vpce: Some("vpce-1"),
                    pl: Some("pl-s3"),
                    evidence: &["52.217.0.9 is in pl-s3 (52.216.0.0/15)"],
                    ..EXPECT
                },
            ),
            (
                "local route outside the vpc cidrs",
                PathInput {
                    vpc_cidrs: vec![],
                    ..input(&["10.0.0.5"], Some(HEALTHY))
                },
                Expect {
                    verdict: Verdict::Other,
                    evidence: &["takes the local route but is outside the VPC CIDRs"],
                    ..EXPECT
                },
            ),
            (
                "transit gateway",
                input(&["52.216.10.4"], Some(&["0.0.0.0/0 tgw-1"])),
                Expect {
                    verdict: Verdict::Other,
                    ..EXPECT
                },
            ),
            (
                "ipv6 through an egress-only igw",
                input(&["2600:1f18::1"], Some(&["pl-s3 vpce-1", "::/0 eigw-1"])),
                Expect {
                    verdict: Verdict::Other,
                    ..EXPECT
                },
            ),
            (
                "first address decides; the others are reported",
                input(&["52.216.10.4", "54.231.0.1", "52.217.1.1"], Some(HEALTHY)),
                Expect {
                    verdict: Verdict::GatewayEndpoint,
                    vpce: Some("vpce-1"),
                    pl: Some("pl-s3"),
                    evidence: &[
                        "54.231.0.1 (also an S3 address) would take route 0.0.0.0/0 → igw-1 in rtb-1",
                    ],
                    no_evidence: &["52.217.1.1"],
                    ..EXPECT
                },
            ),
            (
                "first address outside the list decides",
                input(&["54.231.0.1", "52.216.10.4"], Some(HEALTHY)),
                Expect {
                    verdict: Verdict::InternetGateway,
                    evidence: &["52.216.10.4 (also an S3 address) would take route pl-s3 → vpce-1"],
                    ..EXPECT
                },
            ),
            (
                "no s3 prefix list known: still routed",
                PathInput {
                    s3_prefix_list: None,
                    prefix_lists: lists(&[("pl-s3", &["52.216.0.0/15"])]),
                    ..input(&["52.216.10.4"], Some(HEALTHY))
                },
                Expect {
                    verdict: Verdict::GatewayEndpoint,
                    vpce: Some("vpce-1"),
                    pl: Some("pl-s3"),
                    no_evidence: &["is in pl-s3", "not in the S3 prefix list"],
                    ..EXPECT
                },
            ),
        ];
        for (name, input, want) in cases {
            let got = path_verdict(&input);
            assert_eq!(got.verdict, want.verdict, "{name}: verdict ({got:#?})");
            assert_eq!(got.vpc_endpoint_id.as_deref(), want.vpce, "{name}: vpce");
            assert_eq!(
                got.prefix_list_id.as_deref(),
                want.pl,
                "{name}: prefix list"
            );
            assert_eq!(
                got.overridden_endpoint.as_deref(),
                want.overridden,
                "{name}: overridden"
            );
            match (got.unknown_reason.as_deref(), want.reason) {
                (None, None) => {}
                (Some(g), Some(w)) => assert!(g.contains(w), "{name}: reason {g:?} lacks {w:?}"),
                (g, w) => panic!("{name}: reason {g:?}, want {w:?}"),
            }
            assert_eq!(
                got.unknown_reason.is_some(),
                got.verdict == Verdict::Unknown,
                "{name}: a reason exactly when unknown"
            );
            for w in want.evidence {
                assert!(
                    got.evidence.iter().any(|e| e.contains(w)),
                    "{name}: no evidence line has {w:?}: {:#?}",
                    got.evidence
                );
            }
            for w in want.no_evidence {
                assert!(
                    !got.evidence.iter().any(|e| e.contains(w)),
                    "{name}: an evidence line has {w:?}: {:#?}",
                    got.evidence
                );
            }
            assert_eq!(
                got.addresses.len(),
                input.addresses.len(),
                "{name}: addresses"
            );
            for (a, want) in got.addresses.iter().zip(&input.addresses) {
                assert_eq!(a.address, *want, "{name}: address order");
            }
            let has_table = input.route_table.is_some();
            assert_eq!(
                got.route_table_id.is_some(),
                has_table,
                "{name}: route table id"
            );
        }
    }

    #[test]
    fn verdict_details() {
        let got = path_verdict(&input(&["52.216.10.4", "10.0.9.9"], Some(HEALTHY)));
        assert_eq!(got.route_table_id.as_deref(), Some("rtb-1"));
        assert_eq!(got.addresses[0].class, AddressClass::S3PrefixList);
        assert_eq!(got.addresses[1].class, AddressClass::VpcPrivate);
        let r0 = got.addresses[0].route.as_ref().unwrap();
        assert_eq!(
            (r0.kind, r0.matched),
            (TargetKind::GatewayEndpoint, cidr("52.216.0.0/15"))
        );
        assert_eq!(
            got.addresses[1].route.as_ref().unwrap().kind,
            TargetKind::Local
        );
        assert!(got.unresolved_prefix_lists.is_empty());

        let json = serde_json::to_value(&got).unwrap();
        assert_eq!(json["verdict"], "gateway_endpoint");
        assert_eq!(json["addresses"][0]["class"], "s3_prefix_list");
        assert_eq!(json["addresses"][0]["route"]["matched"], "52.216.0.0/15");
        let back: PathVerdict = serde_json::from_value(json).unwrap();
        assert_eq!(back, got);

        let caveat = path_verdict(&input(
            &["52.216.10.4"],
            Some(&["pl-x tgw-1", "0.0.0.0/0 igw-1"]),
        ));
        assert_eq!(caveat.unresolved_prefix_lists, ["pl-x"]);
    }
}
