//! PURE: where traffic to an address goes. Longest-prefix match over a subnet route table (CIDR
//! and prefix-list routes, AWS tie-break rules), address classification, and the path verdict:
//! does S3 traffic leave through the gateway endpoint, an interface endpoint, or something else?
//!
//! Layout: `cidr` (blocks: `ipnet::IpNet`, parsing and containment), `lpm` (longest-prefix
//! match, classification), `verdict` (the path verdict); the types are here.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

mod cidr;
mod lpm;
mod verdict;

pub use cidr::{Cidr, cidr_contains, parse_cidr};
pub use lpm::{classify_address, gateway_endpoint_route, longest_prefix_match};
pub use verdict::path_verdict;

/// What a route is for: a CIDR block or a managed prefix list (`pl-…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteDestination {
    #[serde(deserialize_with = "cidr::de::one")]
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
    #[serde(deserialize_with = "cidr::de::one")]
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
    /// S3 requests go through an HTTP proxy: the connection ends at the proxy, and where the
    /// proxy's own traffic leaves is not visible from the instance.
    Proxy,
}

/// What the path verdict is decided from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathInput {
    /// S3 addresses; the first is the peer actually used, if known (else the first resolved).
    pub addresses: Vec<IpAddr>,
    #[serde(deserialize_with = "cidr::de::list")]
    pub vpc_cidrs: Vec<Cidr>,
    /// The region's S3 prefix list: id and entries. Its entries are used for routes that
    /// reference it (over any entry for the same id in `prefix_lists`).
    #[serde(default, deserialize_with = "cidr::de::named_list")]
    pub s3_prefix_list: Option<(String, Vec<Cidr>)>,
    /// The subnet's effective route table.
    pub route_table: Option<RouteTable>,
    /// Why the route table is not known.
    pub route_table_error: Option<String>,
    /// Entries of the prefix lists the route table references, by id.
    #[serde(deserialize_with = "cidr::de::lists")]
    pub prefix_lists: HashMap<String, Vec<Cidr>>,
    /// The HTTP proxy S3 requests go through (its URL without credentials, and the variable),
    /// when one does: it decides the verdict before any route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// The proxy's address as the connection saw it (the peer of the S3 requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_peer: Option<String>,
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
    /// The HTTP proxy S3 requests go through (verdict `proxy` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
}
