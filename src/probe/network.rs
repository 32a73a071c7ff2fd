//! The network as the EC2 API describes it: the region's S3 prefix list (with fallbacks), the
//! route table of the instance's subnet (explicit association, else the VPC's main table) and
//! the S3 endpoints of the VPC with their policies. Every call is bounded; a denied or
//! unreachable EC2 API is evidence, not an error.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use aws_config::SdkConfig;

use crate::aws::ec2::{Ec2Calls, RouteTableQuery, SdkEc2};
use crate::deadline::Deadline;
use crate::evidence::{ErrorCode, ErrorInfo, NetworkEvidence, Phase, RouteTableEvidence};
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

/// Where the fallbacks for the prefix list come from.
pub struct Fallbacks {
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
    deadline: Deadline,
    fallbacks: &Fallbacks,
) -> NetworkEvidence {
    let ec2 = SdkEc2::new(sdk, deadline);
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
) -> NetworkEvidence {
    let started = Instant::now();
    let pl_name = format!("com.amazonaws.{region}.s3");
    let (pl, rt, eps) = tokio::join!(
        s3_prefix_list(ec2, &pl_name),
        route_table(ec2, vpc_id, subnet_id),
        ec2.vpc_endpoints(vpc_id, &pl_name),
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
    // Other prefix lists the route table refers to (e.g. a customer-managed one).
    let mut other_prefix_lists = BTreeMap::new();
    if let Ok(table) = &rt {
        for r in &table.routes {
            if r.destination.starts_with("pl-")
                && Some(&r.destination) != prefix_list.id.as_ref()
                && let Ok(cidrs) = ec2.prefix_list_entries(&r.destination).await
            {
                other_prefix_lists.insert(r.destination.clone(), cidrs);
            }
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
    NetworkEvidence {
        prefix_list,
        route_table,
        route_table_error,
        other_prefix_lists,
        endpoints,
        endpoints_error,
        duration: started.elapsed(),
        clock: ec2.clock(),
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
    }

    struct FakeRanges;

    impl IpRangesSource for FakeRanges {
        async fn s3_ranges(&self, _: &str) -> Result<Vec<String>, ErrorInfo> {
            Ok(vec!["3.5.0.0/19".into()])
        }
    }

    async fn collect(denied: bool, cache: &Cache) -> NetworkEvidence {
        let ec2 = FakeEc2 { denied };
        collect_with(&ec2, &FakeRanges, cache, "us-east-1", "vpc-1", "subnet-1").await
    }

    #[tokio::test]
    async fn the_main_table_the_ec2_list_and_other_lists() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(Some(dir.path().to_path_buf()));
        let n = collect(false, &cache).await;
        assert_eq!(n.prefix_list.source, PrefixListSource::Ec2);
        let table = n.route_table.unwrap();
        assert_eq!((table.id.as_str(), table.main), ("rtb-main", true));
        assert_eq!(n.other_prefix_lists.keys().collect::<Vec<_>>(), ["pl-mine"]);
        assert!(n.endpoints.is_empty() && n.endpoints_error.is_some());
        // the EC2 answer was cached: a later denied run falls back to ip-ranges, with its id
        let n = collect(true, &cache).await;
        assert_eq!(n.prefix_list.source, PrefixListSource::IpRanges);
        assert_eq!(n.prefix_list.id.as_deref(), Some("pl-s3"));
        assert_eq!(n.prefix_list.cidrs, ["3.5.0.0/19"]);
        assert_eq!(n.prefix_list.errors.len(), 1);
        assert_eq!(n.other_prefix_lists.keys().collect::<Vec<_>>(), ["pl-mine"]);
    }
}
