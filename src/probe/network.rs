//! The network as the EC2 API describes it: the region's S3 prefix list (with fallbacks), the
//! route table of the instance's subnet (explicit association, else the VPC's main table), the
//! S3 endpoints of the VPC with their policies, the instance's security groups and the subnet's
//! network ACL (association, else the VPC's default), with this host's ephemeral port range.
//! Every call is bounded; a denied or unreachable EC2 API is evidence, not an error.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use aws_config::SdkConfig;

use crate::aws::ec2::{Ec2Calls, NetworkAclQuery, QueryEc2, RouteTableQuery};
use crate::deadline::Deadline;
use crate::evidence::{
    ErrorCode, ErrorInfo, NetworkAclEvidence, NetworkEvidence, Phase, PortRange,
    RouteTableEvidence, SecurityGroupEvidence,
};
use crate::probe::ip_ranges::{IpRangesFetcher, IpRangesSource};
use crate::probe::prefix_list::{self, Attempts, Cache};

/// The route table of `subnet_id`: its explicit association, else the main table of `vpc_id`.
async fn route_table(
    ec2: &impl Ec2Calls,
    vpc_id: &str,
    subnet_id: &str,
) -> Result<RouteTableEvidence, ErrorInfo> {
    let (table, main) = match ec2.route_table(RouteTableQuery::Subnet(subnet_id)).await? {
        Some(t) => (t, false),
        None => match ec2.route_table(RouteTableQuery::MainOf(vpc_id)).await? {
            Some(t) => (t, true),
            None => {
                return Err(ErrorInfo::new(
                    Phase::Response,
                    ErrorCode::RouteTableNotFound,
                    format!(
                        "no route table is associated with {subnet_id} and {vpc_id} has no main table"
                    ),
                ));
            }
        },
    };
    Ok(RouteTableEvidence {
        id: table.id,
        main,
        routes: table.routes,
    })
}

/// The instance's security groups (every one IMDS named must be described).
async fn security_groups(
    ec2: &impl Ec2Calls,
    ids: &[String],
) -> Result<Vec<SecurityGroupEvidence>, ErrorInfo> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let groups = ec2.security_groups(ids).await?;
    if let Some(missing) = ids.iter().find(|id| !groups.iter().any(|g| &g.id == *id)) {
        return Err(ErrorInfo::new(
            Phase::Response,
            ErrorCode::SecurityGroupNotFound,
            format!("DescribeSecurityGroups did not describe {missing}"),
        ));
    }
    Ok(groups)
}

/// The network ACL of `subnet_id`: its association, else the default ACL of `vpc_id`.
async fn network_acl(
    ec2: &impl Ec2Calls,
    vpc_id: &str,
    subnet_id: &str,
) -> Result<NetworkAclEvidence, ErrorInfo> {
    if let Some(a) = ec2.network_acl(NetworkAclQuery::Subnet(subnet_id)).await? {
        return Ok(a);
    }
    ec2.network_acl(NetworkAclQuery::DefaultOf(vpc_id))
        .await?
        .ok_or_else(|| {
            ErrorInfo::new(
                Phase::Response,
                ErrorCode::NetworkAclNotFound,
                format!(
                    "no network ACL is associated with {subnet_id} and {vpc_id} has no default ACL"
                ),
            )
        })
}

/// This host's ephemeral port range (`/proc/sys/net/ipv4/ip_local_port_range`), if readable.
pub fn local_port_range() -> Option<PortRange> {
    parse_port_range(&std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?)
}

fn parse_port_range(s: &str) -> Option<PortRange> {
    let mut it = s.split_whitespace().map(|p| p.parse::<u16>().ok());
    let (from, to) = (it.next()??, it.next()??);
    (from <= to).then_some(PortRange { from, to })
}

/// The region's S3 prefix list from the EC2 API: its id, then its entries.
async fn s3_prefix_list(
    ec2: &impl Ec2Calls,
    name: &str,
) -> Result<(String, Vec<String>), ErrorInfo> {
    let Some(id) = ec2.prefix_list_id(name).await? else {
        return Err(ErrorInfo::new(
            Phase::Response,
            ErrorCode::PrefixListNotFound,
            format!("no managed prefix list named {name}"),
        ));
    };
    let cidrs = ec2.prefix_list_entries(&id).await?;
    Ok((id, cidrs))
}

/// How the EC2 API is reached, and where the fallbacks for the prefix list come from.
pub struct Fallbacks {
    /// The connector the EC2 API is asked on (`net::api_connector`: the run's resolver, TLS
    /// trust, proxy and connect timeout).
    pub ec2_connector: aws_smithy_runtime_api::client::http::SharedHttpConnector,
    pub cache: Cache,
    pub resolver: crate::net::ProbeResolver,
    pub ca_bundle: Option<Vec<u8>>,
    pub proxy: crate::net::ProxyEnv,
    /// The ip-ranges document's URL.
    pub ip_ranges_url: String,
}

/// Collect everything the EC2 API can tell about the instance's path to S3.
pub async fn collect(
    sdk: &SdkConfig,
    region: &str,
    vpc_id: &str,
    subnet_id: &str,
    security_group_ids: &[String],
    deadline: Deadline,
    fallbacks: Fallbacks,
) -> NetworkEvidence {
    let ec2 = QueryEc2::new(sdk, region, fallbacks.ec2_connector, deadline);
    let ip_ranges = IpRangesFetcher {
        resolver: &fallbacks.resolver,
        ca_bundle: fallbacks.ca_bundle.as_deref(),
        proxy: &fallbacks.proxy,
        url: &fallbacks.ip_ranges_url,
        deadline,
    };
    collect_with(
        &ec2,
        &ip_ranges,
        &fallbacks.cache,
        region,
        vpc_id,
        subnet_id,
        security_group_ids,
    )
    .await
}

/// [`collect`] through any EC2 and ip-ranges implementation.
pub async fn collect_with(
    ec2: &impl Ec2Calls,
    ip_ranges: &impl IpRangesSource,
    cache: &Cache,
    region: &str,
    vpc_id: &str,
    subnet_id: &str,
    security_group_ids: &[String],
) -> NetworkEvidence {
    let started = Instant::now();
    let pl_name = format!("com.amazonaws.{region}.s3");
    let (pl, rt, eps, sgs, acl) = tokio::join!(
        s3_prefix_list(ec2, &pl_name),
        route_table(ec2, vpc_id, subnet_id),
        ec2.vpc_endpoints(vpc_id, &pl_name),
        security_groups(ec2, security_group_ids),
        network_acl(ec2, vpc_id, subnet_id),
    );
    let attempts = match pl {
        Ok((id, cidrs)) => {
            cache.store(region, &id, &pl_name, &cidrs, SystemTime::now());
            Attempts::Ec2 { id, cidrs }
        }
        Err(ec2_error) => {
            let cached = cache.load(region);
            Attempts::Fallbacks {
                ec2: ec2_error,
                ip_ranges: ip_ranges.s3_ranges(region).await,
                cached,
            }
        }
    };
    let prefix_list = prefix_list::choose(&pl_name, attempts);
    // Other prefix lists the route table or a security group refers to (e.g. a customer-managed
    // one).
    let mut other_prefix_lists = BTreeMap::new();
    let mut lists: Vec<String> = Vec::new();
    for t in rt.iter() {
        lists.extend(t.routes.iter().map(|r| r.destination.clone()));
    }
    for g in sgs.iter().flatten() {
        for r in &g.egress {
            lists.extend(r.prefix_list_ids.iter().cloned());
        }
    }
    for id in lists {
        if id.starts_with("pl-")
            && Some(&id) != prefix_list.id.as_ref()
            && !other_prefix_lists.contains_key(&id)
            && let Ok(cidrs) = ec2.prefix_list_entries(&id).await
        {
            other_prefix_lists.insert(id, cidrs);
        }
    }
    let (route_table, route_table_error) = match rt {
        Ok(t) => (Some(t), None),
        Err(e) => (None, Some(e)),
    };
    let (endpoints, endpoints_error) = match eps {
        Ok(v) => (v, None),
        Err(e) => (vec![], Some(e)),
    };
    let (security_groups, security_groups_error) = match sgs {
        Ok(v) => (v, None),
        Err(e) => (vec![], Some(e)),
    };
    let (network_acl, network_acl_error) = match acl {
        Ok(a) => (Some(a), None),
        Err(e) => (None, Some(e)),
    };
    NetworkEvidence {
        prefix_list,
        route_table,
        route_table_error,
        other_prefix_lists,
        endpoints,
        endpoints_error,
        duration: started.elapsed(),
        clock: ec2.clock(),
        security_groups,
        security_groups_error,
        network_acl,
        network_acl_error,
        local_port_range: local_port_range(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ec2::RouteTable;
    use crate::evidence::{EndpointEvidence, PrefixListSource, RouteEvidence};

    /// EC2 as scripted: `denied` fails every prefix-list call; the subnet has no explicit
    /// table, the main one routes to the S3 list and a customer list.
    struct FakeEc2 {
        denied: bool,
    }

    fn denied(what: &str) -> ErrorInfo {
        ErrorInfo::service(Phase::Response, "UnauthorizedOperation", what, Some(403))
    }

    impl Ec2Calls for FakeEc2 {
        async fn route_table(
            &self,
            query: RouteTableQuery<'_>,
        ) -> Result<Option<RouteTable>, ErrorInfo> {
            let route = |destination: &str| RouteEvidence {
                destination: destination.into(),
                target: "vpce-1".into(),
                state: "active".into(),
            };
            Ok(match query {
                RouteTableQuery::Subnet(_) => None,
                RouteTableQuery::MainOf(_) => Some(RouteTable {
                    id: "rtb-main".into(),
                    routes: vec![route("pl-s3"), route("pl-mine")],
                }),
            })
        }

        async fn prefix_list_id(&self, _: &str) -> Result<Option<String>, ErrorInfo> {
            match self.denied {
                true => Err(denied("DescribeManagedPrefixLists")),
                false => Ok(Some("pl-s3".into())),
            }
        }

        async fn prefix_list_entries(&self, id: &str) -> Result<Vec<String>, ErrorInfo> {
            match (self.denied, id) {
                (true, "pl-s3") => Err(denied("GetManagedPrefixListEntries")),
                _ => Ok(vec![format!("10.0.0.0/8 of {id}")]),
            }
        }

        async fn vpc_endpoints(
            &self,
            _: &str,
            _: &str,
        ) -> Result<Vec<EndpointEvidence>, ErrorInfo> {
            Err(denied("DescribeVpcEndpoints"))
        }

        async fn security_groups(
            &self,
            ids: &[String],
        ) -> Result<Vec<SecurityGroupEvidence>, ErrorInfo> {
            // the second group refers to a customer prefix list
            Ok(ids
                .iter()
                .map(|id| SecurityGroupEvidence {
                    id: id.clone(),
                    name: None,
                    egress: vec![crate::evidence::SecurityGroupRule {
                        protocol: "tcp".into(),
                        prefix_list_ids: vec!["pl-sg".into()],
                        ..Default::default()
                    }],
                })
                .collect())
        }

        async fn network_acl(
            &self,
            query: NetworkAclQuery<'_>,
        ) -> Result<Option<NetworkAclEvidence>, ErrorInfo> {
            Ok(match query {
                NetworkAclQuery::Subnet(_) => None,
                NetworkAclQuery::DefaultOf(_) => Some(NetworkAclEvidence {
                    id: "acl-default".into(),
                    default: true,
                    ..Default::default()
                }),
            })
        }
    }

    struct FakeRanges;

    impl IpRangesSource for FakeRanges {
        async fn s3_ranges(&self, _: &str) -> Result<Vec<String>, ErrorInfo> {
            Ok(vec!["3.5.0.0/19".into()])
        }
    }

    async fn collect(denied: bool, cache: &Cache) -> NetworkEvidence {
        let ec2 = FakeEc2 { denied };
        let sgs = ["sg-1".to_string()];
        collect_with(
            &ec2,
            &FakeRanges,
            cache,
            "us-east-1",
            "vpc-1",
            "subnet-1",
            &sgs,
        )
        .await
    }

    #[tokio::test]
    async fn the_main_table_the_ec2_list_and_other_lists() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(Some(dir.path().to_path_buf()));
        let n = collect(false, &cache).await;
        assert_eq!(n.prefix_list.source, PrefixListSource::Ec2);
        let table = n.route_table.unwrap();
        assert_eq!((table.id.as_str(), table.main), ("rtb-main", true));
        assert_eq!(
            n.other_prefix_lists.keys().collect::<Vec<_>>(),
            ["pl-mine", "pl-sg"]
        );
        assert!(n.endpoints.is_empty() && n.endpoints_error.is_some());
        assert_eq!(n.security_groups[0].id, "sg-1");
        // no association: the VPC's default ACL
        let acl = n.network_acl.as_ref().unwrap();
        assert_eq!((acl.id.as_str(), acl.associated), ("acl-default", false));
        // the EC2 answer was cached: a later denied run falls back to ip-ranges, with its id
        let n = collect(true, &cache).await;
        assert_eq!(n.prefix_list.source, PrefixListSource::IpRanges);
        assert_eq!(n.prefix_list.id.as_deref(), Some("pl-s3"));
        assert_eq!(n.prefix_list.cidrs, ["3.5.0.0/19"]);
        assert_eq!(n.prefix_list.errors.len(), 1);
        assert_eq!(
            n.other_prefix_lists.keys().collect::<Vec<_>>(),
            ["pl-mine", "pl-sg"]
        );
    }

    #[test]
    fn the_ephemeral_port_range() {
        assert_eq!(
            parse_port_range("32768\t60999\n"),
            Some(PortRange {
                from: 32768,
                to: 60999
            })
        );
        assert_eq!(parse_port_range("9 1"), None);
        assert_eq!(parse_port_range("x"), None);
    }
}
