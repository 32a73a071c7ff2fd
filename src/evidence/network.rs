//! What the EC2 API says about the instance's network: the S3 prefix list, the subnet's route
//! table and the VPC's S3 endpoints. Raw facts; `diagnose::path` interprets them.

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
