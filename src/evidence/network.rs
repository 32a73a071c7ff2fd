//! What the EC2 API says about the instance's network: the S3 prefix list, the subnet's route
//! table, the VPC's S3 endpoints, the instance's security groups and the subnet's network ACL
//! (and this host's ephemeral port range). Raw facts; `diagnose` interprets them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ErrorInfo;

/// One route, as the EC2 API described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteEvidence {
    /// A CIDR (IPv4 or IPv6) or a prefix-list id.
    pub destination: String,
    /// `local`, `vpce-…`, `igw-…`, `nat-…`, `eni-…`, ...
    pub target: String,
    /// `active` or `blackhole`.
    pub state: String,
}

/// The route table that governs the instance's subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTableEvidence {
    pub id: String,
    /// True when the subnet has no explicit association and uses the VPC's main table.
    pub main: bool,
    pub routes: Vec<RouteEvidence>,
}

crate::wire_enum! {
    /// Where the S3 prefix list came from.
    pub enum PrefixListSource {
        /// `DescribeManagedPrefixLists` + `GetManagedPrefixListEntries`.
        Ec2 => "ec2",
        /// AWS's published ip-ranges (service S3, the region): may differ from the prefix list.
        IpRanges => "ip_ranges",
        /// The last good list this host saw (see `age_seconds`).
        Cache => "cache",
        /// None could be had.
        None => "none",
    }
}

/// The region's S3 managed prefix list (`com.amazonaws.<region>.s3`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixListEvidence {
    pub source: PrefixListSource,
    pub id: Option<String>,
    pub name: String,
    pub cidrs: Vec<String>,
    /// Age of the cached copy, when `source` is `cache`.
    pub age_seconds: Option<u64>,
    /// Why the EC2 API (and any fallback) could not be used.
    pub errors: Vec<ErrorInfo>,
}

crate::wire_enum! {
    /// A VPC endpoint's type, as the EC2 API names it.
    pub enum EndpointType {
        Gateway => "Gateway",
        Interface => "Interface",
        GatewayLoadBalancer => "GatewayLoadBalancer",
        Resource => "Resource",
        ServiceNetwork => "ServiceNetwork",
    }
}

impl EndpointType {
    /// The type of an API string, case-insensitively (`None` for a type this build does not
    /// know: such an endpoint is not an S3 path the probe can judge).
    pub fn from_api(s: &str) -> Option<EndpointType> {
        EndpointType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

/// A VPC endpoint for S3 in the instance's VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointEvidence {
    pub id: String,
    pub endpoint_type: EndpointType,
    pub service_name: String,
    /// As the API says it (`available`, ...), lower-cased.
    pub state: String,
    pub policy: Option<String>,
    pub route_table_ids: Vec<String>,
    pub private_dns_enabled: Option<bool>,
}

impl EndpointEvidence {
    /// Is this endpoint the one named `id` (endpoint ids compare case-insensitively)?
    pub fn is(&self, id: &str) -> bool {
        self.id.eq_ignore_ascii_case(id)
    }
}

/// What the EC2 API says about the instance's network (run-wide).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkEvidence {
    pub prefix_list: PrefixListEvidence,
    pub route_table: Option<RouteTableEvidence>,
    pub route_table_error: Option<ErrorInfo>,
    /// CIDRs of every other prefix list the route table refers to.
    #[serde(default)]
    pub other_prefix_lists: BTreeMap<String, Vec<String>>,
    pub endpoints: Vec<EndpointEvidence>,
    pub endpoints_error: Option<ErrorInfo>,
    #[serde(default)]
    pub duration: Duration,
    /// The EC2 API's clock: the `Date` of its last answer, next to the local time it arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<super::ClockSample>,
    /// The instance's security groups (DescribeSecurityGroups with IMDS's group ids).
    #[serde(default)]
    pub security_groups: Vec<SecurityGroupEvidence>,
    /// Why they could not be described (then `security_groups` is empty).
    #[serde(default)]
    pub security_groups_error: Option<ErrorInfo>,
    /// The subnet's network ACL (its association, else the VPC's default).
    #[serde(default)]
    pub network_acl: Option<NetworkAclEvidence>,
    /// Why it could not be described.
    #[serde(default)]
    pub network_acl_error: Option<ErrorInfo>,
    /// This host's ephemeral port range (`None` when it could not be read).
    #[serde(default)]
    pub local_port_range: Option<PortRange>,
}

impl NetworkEvidence {
    /// The VPC's S3 endpoints of one type.
    pub fn endpoints_of(&self, t: EndpointType) -> impl Iterator<Item = &EndpointEvidence> {
        self.endpoints.iter().filter(move |e| e.endpoint_type == t)
    }

    /// The endpoint named `id`, if the API described it.
    pub fn endpoint(&self, id: &str) -> Option<&EndpointEvidence> {
        self.endpoints.iter().find(|e| e.is(id))
    }
}

/// One egress (or ingress) rule of a security group, as DescribeSecurityGroups gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupRule {
    /// `-1` (all traffic), `tcp`, `udp`, `icmp`, or a protocol number.
    pub protocol: String,
    /// The port range (absent for all traffic; -1 for ICMP "all").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<i32>,
    /// IPv4 destinations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cidrs: Vec<String>,
    /// IPv6 destinations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ipv6_cidrs: Vec<String>,
    /// Managed prefix lists (`pl-…`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefix_list_ids: Vec<String>,
    /// Other security groups (such a rule never matches an S3 address).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_ids: Vec<String>,
}

/// One of the instance's security groups: only egress matters for the probe (groups are
/// stateful: the answers come back on the connection).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupEvidence {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub egress: Vec<SecurityGroupRule>,
}

/// One entry of a network ACL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAclEntry {
    pub rule_number: i32,
    /// True for an outbound rule.
    pub egress: bool,
    /// `-1` (all), or a protocol number (`6` = TCP, `17` = UDP, `1` = ICMP).
    pub protocol: String,
    /// `allow` or `deny`.
    pub rule_action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_cidr: Option<String>,
    /// The port range (TCP/UDP rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<i32>,
}

/// The network ACL of the instance's subnet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAclEvidence {
    pub id: String,
    /// The VPC's default ACL.
    #[serde(default)]
    pub default: bool,
    /// True when found by the subnet's association; false when the subnet had none and the
    /// VPC's default ACL was taken.
    #[serde(default)]
    pub associated: bool,
    pub entries: Vec<NetworkAclEntry>,
}

/// A range of local ports (`/proc/sys/net/ipv4/ip_local_port_range`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    pub from: u16,
    pub to: u16,
}
