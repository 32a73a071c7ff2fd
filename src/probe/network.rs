//! The network as the EC2 API describes it: the region's S3 prefix list (with fallbacks), the
//! route table of the instance's subnet (explicit association, else the VPC's main table) and
//! the S3 endpoints of the VPC with their policies. Every call is bounded; a denied or
//! unreachable EC2 API is evidence, not an error.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_ec2::types::Filter;

use crate::aws::{ResponseRecorder, classify_sdk_error};
use crate::deadline::Deadline;
use crate::evidence::{
    EndpointEvidence, EndpointType, ErrorCode, ErrorInfo, NetworkEvidence, Phase,
    PrefixListEvidence, PrefixListSource, RouteEvidence, RouteTableEvidence,
};

/// Longest time one EC2 call may take (the run deadline may cut it shorter).
const EC2_CALL_CAP: Duration = Duration::from_secs(4);

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// Run one EC2 call bounded by the deadline; errors become `ErrorInfo` labelled `what`.
async fn bounded<T, E, F>(deadline: &Deadline, what: &str, fut: F) -> Result<T, ErrorInfo>
where
    F: std::future::Future<
            Output = Result<
                T,
                aws_smithy_runtime_api::client::result::SdkError<
                    E,
                    aws_smithy_runtime_api::client::orchestrator::HttpResponse,
                >,
            >,
        >,
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    let Some(budget) = deadline.cap(EC2_CALL_CAP) else {
        return Err(ErrorInfo::new(
            Phase::Request,
            ErrorCode::Deadline,
            format!("{what}: the run deadline passed first"),
        ));
    };
    match tokio::time::timeout(budget, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            let mut info = classify_sdk_error(&e, &Default::default());
            info.message = format!("{what}: {}", info.message);
            Err(info)
        }
        Err(_) => Err(ErrorInfo::new(
            Phase::Connect,
            ErrorCode::Timeout,
            format!("{what}: no answer within {} ms", budget.as_millis()),
        )),
    }
}

/// Describe the route table of `subnet_id` (explicit, else main of `vpc_id`).
async fn route_table(
    ec2: &aws_sdk_ec2::Client,
    deadline: &Deadline,
    vpc_id: &str,
    subnet_id: &str,
) -> Result<RouteTableEvidence, ErrorInfo> {
    let explicit = bounded(
        deadline,
        "DescribeRouteTables",
        ec2.describe_route_tables()
            .filters(filter("association.subnet-id", subnet_id))
            .customize()
            .interceptor(ResponseRecorder::default())
            .send(),
    )
    .await?;
    let (table, main) = match explicit.route_tables().first() {
        Some(t) => (t.clone(), false),
        None => {
            let main = bounded(
                deadline,
                "DescribeRouteTables (main)",
                ec2.describe_route_tables()
                    .filters(filter("vpc-id", vpc_id))
                    .filters(filter("association.main", "true"))
                    .send(),
            )
            .await?;
            match main.route_tables().first() {
                Some(t) => (t.clone(), true),
                None => {
                    return Err(ErrorInfo::new(
                        Phase::Response,
                        ErrorCode::RouteTableNotFound,
                        format!(
                            "no route table is associated with {subnet_id} and {vpc_id} has no main table"
                        ),
                    ));
                }
            }
        }
    };
    let routes = table
        .routes()
        .iter()
        .filter_map(|r| {
            let destination = r
                .destination_cidr_block()
                .or(r.destination_ipv6_cidr_block())
                .or(r.destination_prefix_list_id())?
                .to_string();
            let target = [
                r.gateway_id(),
                r.nat_gateway_id(),
                r.transit_gateway_id(),
                r.vpc_peering_connection_id(),
                r.network_interface_id(),
                r.instance_id(),
                r.egress_only_internet_gateway_id(),
                r.local_gateway_id(),
                r.carrier_gateway_id(),
                r.core_network_arn(),
            ]
            .into_iter()
            .flatten()
            .next()
            .unwrap_or("unknown")
            .to_string();
            let state = r
                .state()
                .map(|s| s.as_str().to_ascii_lowercase())
                .unwrap_or_else(|| "active".into());
            Some(RouteEvidence {
                destination,
                target,
                state,
            })
        })
        .collect();
    Ok(RouteTableEvidence {
        id: table.route_table_id().unwrap_or_default().to_string(),
        main,
        routes,
    })
}

/// The entries (CIDRs) of one managed prefix list.
async fn prefix_list_entries(
    ec2: &aws_sdk_ec2::Client,
    deadline: &Deadline,
    id: &str,
) -> Result<Vec<String>, ErrorInfo> {
    let mut cidrs = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = bounded(
            deadline,
            "GetManagedPrefixListEntries",
            ec2.get_managed_prefix_list_entries()
                .prefix_list_id(id)
                .set_next_token(token.clone())
                .send(),
        )
        .await?;
        cidrs.extend(
            out.entries()
                .iter()
                .filter_map(|e| e.cidr().map(str::to_string)),
        );
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(cidrs)
}

/// The region's S3 prefix list from the EC2 API.
async fn s3_prefix_list(
    ec2: &aws_sdk_ec2::Client,
    deadline: &Deadline,
    name: &str,
) -> Result<(String, Vec<String>), ErrorInfo> {
    let out = bounded(
        deadline,
        "DescribeManagedPrefixLists",
        ec2.describe_managed_prefix_lists()
            .filters(filter("prefix-list-name", name))
            .send(),
    )
    .await?;
    let Some(id) = out
        .prefix_lists()
        .first()
        .and_then(|p| p.prefix_list_id())
        .map(str::to_string)
    else {
        return Err(ErrorInfo::new(
            Phase::Response,
            ErrorCode::PrefixListNotFound,
            format!("no managed prefix list named {name}"),
        ));
    };
    let cidrs = prefix_list_entries(ec2, deadline, &id).await?;
    Ok((id, cidrs))
}

/// The S3 endpoints (gateway and interface) of the VPC.
async fn endpoints(
    ec2: &aws_sdk_ec2::Client,
    deadline: &Deadline,
    vpc_id: &str,
    service: &str,
) -> Result<Vec<EndpointEvidence>, ErrorInfo> {
    let out = bounded(
        deadline,
        "DescribeVpcEndpoints",
        ec2.describe_vpc_endpoints()
            .filters(filter("vpc-id", vpc_id))
            .filters(filter("service-name", service))
            .send(),
    )
    .await?;
    Ok(out
        .vpc_endpoints()
        .iter()
        .filter_map(|e| {
            // A type this build does not know is no S3 path it can judge.
            let endpoint_type = EndpointType::from_api(e.vpc_endpoint_type()?.as_str())?;
            Some((e, endpoint_type))
        })
        .map(|(e, endpoint_type)| EndpointEvidence {
            id: e.vpc_endpoint_id().unwrap_or_default().to_string(),
            endpoint_type,
            service_name: e.service_name().unwrap_or_default().to_string(),
            // moto sends `available` where AWS sends `Available`: compare lower-cased.
            state: e
                .state()
                .map(|s| s.as_str().to_ascii_lowercase())
                .unwrap_or_default(),
            policy: e.policy_document().map(str::to_string),
            route_table_ids: e.route_table_ids().to_vec(),
            private_dns_enabled: e.private_dns_enabled(),
        })
        .collect())
}

/// Where the fallbacks for the prefix list come from.
pub struct Fallbacks {
    pub cache: crate::probe::prefix_list::Cache,
    pub resolver: crate::net::ProbeResolver,
    pub ca_bundle: Option<Vec<u8>>,
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
    let started = Instant::now();
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let pl_name = format!("com.amazonaws.{region}.s3");
    let (pl, rt, eps) = tokio::join!(
        s3_prefix_list(&ec2, &deadline, &pl_name),
        route_table(&ec2, &deadline, vpc_id, subnet_id),
        endpoints(&ec2, &deadline, vpc_id, &pl_name),
    );
    let prefix_list = match pl {
        Ok((id, cidrs)) => {
            fallbacks
                .cache
                .store(region, &id, &pl_name, &cidrs, SystemTime::now());
            PrefixListEvidence {
                source: PrefixListSource::Ec2,
                id: Some(id),
                name: pl_name.clone(),
                cidrs,
                age_seconds: None,
                errors: vec![],
            }
        }
        Err(e) => {
            let mut errors = vec![e];
            // The cache keeps the list's id (which routes refer to); ip-ranges has none.
            let cached = fallbacks.cache.load(region);
            let ranges = match deadline.cap(EC2_CALL_CAP) {
                Some(budget) => {
                    crate::probe::ip_ranges::fetch(
                        &fallbacks.resolver,
                        fallbacks.ca_bundle.as_deref(),
                        &fallbacks.ip_ranges_url,
                        region,
                        budget,
                    )
                    .await
                }
                None => Err(ErrorInfo::new(
                    Phase::Request,
                    ErrorCode::Deadline,
                    "ip-ranges: the run deadline passed first",
                )),
            };
            match (ranges, cached) {
                (Ok(cidrs), cached) => PrefixListEvidence {
                    source: PrefixListSource::IpRanges,
                    // the id the route table uses, when this host has seen it
                    id: cached.map(|c| c.id),
                    name: pl_name.clone(),
                    cidrs,
                    age_seconds: None,
                    errors,
                },
                (Err(e2), Some(c)) => {
                    errors.push(e2);
                    PrefixListEvidence {
                        source: PrefixListSource::Cache,
                        id: Some(c.id),
                        name: pl_name.clone(),
                        cidrs: c.cidrs,
                        age_seconds: Some(c.age_seconds),
                        errors,
                    }
                }
                (Err(e2), None) => {
                    errors.push(e2);
                    PrefixListEvidence {
                        source: PrefixListSource::None,
                        id: None,
                        name: pl_name.clone(),
                        cidrs: vec![],
                        age_seconds: None,
                        errors,
                    }
                }
            }
        }
    };
    // Other prefix lists the route table refers to (e.g. a customer-managed one).
    let mut other_prefix_lists = BTreeMap::new();
    if let Ok(table) = &rt {
        for r in &table.routes {
            if r.destination.starts_with("pl-")
                && Some(&r.destination) != prefix_list.id.as_ref()
                && let Ok(cidrs) = prefix_list_entries(&ec2, &deadline, &r.destination).await
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
    }
}
