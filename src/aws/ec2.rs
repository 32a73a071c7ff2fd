//! The EC2 calls of the network collector, as a small trait ([`Ec2Calls`]) with one real
//! implementation ([`SdkEc2`], over `aws_sdk_ec2::Client`). Every call is bounded by the run
//! deadline (at most [`EC2_CALL_CAP`]); an error is data, labelled with the API call.

use std::future::Future;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_ec2::types::Filter;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{ResponseRecorder, classify_sdk_error};
use crate::deadline::Deadline;
use crate::evidence::{
    ClockSample, EndpointEvidence, EndpointType, ErrorCode, ErrorInfo, NetworkAclEntry,
    NetworkAclEvidence, Phase, RouteEvidence, SecurityGroupEvidence, SecurityGroupRule,
};

/// Longest time one EC2 call may take (the run deadline may cut it shorter).
pub const EC2_CALL_CAP: Duration = Duration::from_secs(4);

/// Which route table to describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteTableQuery<'a> {
    /// The table explicitly associated with this subnet.
    Subnet(&'a str),
    /// The main table of this VPC.
    MainOf(&'a str),
}

/// A route table as DescribeRouteTables returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTable {
    pub id: String,
    pub routes: Vec<RouteEvidence>,
}

/// Which network ACL to describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkAclQuery<'a> {
    /// The ACL associated with this subnet.
    Subnet(&'a str),
    /// The default ACL of this VPC.
    DefaultOf(&'a str),
}

/// The EC2 calls the network collector makes.
pub trait Ec2Calls: Send + Sync {
    /// DescribeRouteTables: the first table matching `query`, if any.
    fn route_table(
        &self,
        query: RouteTableQuery<'_>,
    ) -> impl Future<Output = Result<Option<RouteTable>, ErrorInfo>> + Send;

    /// DescribeManagedPrefixLists: the id of the managed prefix list `name`, if any.
    fn prefix_list_id(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, ErrorInfo>> + Send;

    /// GetManagedPrefixListEntries: the CIDRs of prefix list `id` (every page).
    fn prefix_list_entries(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Vec<String>, ErrorInfo>> + Send;

    /// DescribeVpcEndpoints: the endpoints of `vpc_id` for `service` (of a known type).
    fn vpc_endpoints(
        &self,
        vpc_id: &str,
        service: &str,
    ) -> impl Future<Output = Result<Vec<EndpointEvidence>, ErrorInfo>> + Send;

    /// The EC2 API's clock as its last answer gave it (`None`: no answer with a `Date`).
    fn clock(&self) -> Option<ClockSample> {
        None
    }

    /// DescribeSecurityGroups: the groups `ids`, with their egress rules.
    fn security_groups(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<SecurityGroupEvidence>, ErrorInfo>> + Send;

    /// DescribeNetworkAcls: the first ACL matching `query`, if any.
    fn network_acl(
        &self,
        query: NetworkAclQuery<'_>,
    ) -> impl Future<Output = Result<Option<NetworkAclEvidence>, ErrorInfo>> + Send;
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// Run one EC2 call bounded by the deadline; errors become `ErrorInfo` labelled `what`.
async fn bounded<T, E, F>(deadline: &Deadline, what: &str, fut: F) -> Result<T, ErrorInfo>
where
    F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
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

/// One route as evidence (routes with no destination are left out).
fn route_evidence(r: &aws_sdk_ec2::types::Route) -> Option<RouteEvidence> {
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
}

/// One security-group rule as evidence.
fn sg_rule(p: &aws_sdk_ec2::types::IpPermission) -> SecurityGroupRule {
    SecurityGroupRule {
        protocol: p.ip_protocol().unwrap_or("-1").to_string(),
        from_port: p.from_port(),
        to_port: p.to_port(),
        cidrs: p
            .ip_ranges()
            .iter()
            .filter_map(|r| r.cidr_ip().map(str::to_string))
            .collect(),
        ipv6_cidrs: p
            .ipv6_ranges()
            .iter()
            .filter_map(|r| r.cidr_ipv6().map(str::to_string))
            .collect(),
        prefix_list_ids: p
            .prefix_list_ids()
            .iter()
            .filter_map(|r| r.prefix_list_id().map(str::to_string))
            .collect(),
        group_ids: p
            .user_id_group_pairs()
            .iter()
            .filter_map(|r| r.group_id().map(str::to_string))
            .collect(),
    }
}

/// One network ACL as evidence.
fn network_acl(a: &aws_sdk_ec2::types::NetworkAcl, associated: bool) -> NetworkAclEvidence {
    NetworkAclEvidence {
        id: a.network_acl_id().unwrap_or_default().to_string(),
        default: a.is_default().unwrap_or(false),
        associated,
        entries: a
            .entries()
            .iter()
            .map(|e| NetworkAclEntry {
                rule_number: e.rule_number().unwrap_or(32767),
                egress: e.egress().unwrap_or(false),
                protocol: e.protocol().unwrap_or("-1").to_string(),
                rule_action: e
                    .rule_action()
                    .map(|r| r.as_str().to_ascii_lowercase())
                    .unwrap_or_else(|| "deny".into()),
                cidr: e.cidr_block().map(str::to_string),
                ipv6_cidr: e.ipv6_cidr_block().map(str::to_string),
                from_port: e.port_range().and_then(|r| r.from()),
                to_port: e.port_range().and_then(|r| r.to()),
            })
            .collect(),
    }
}

/// [`Ec2Calls`] over the SDK, each call bounded by `deadline`.
#[derive(Debug, Clone)]
pub struct SdkEc2 {
    client: aws_sdk_ec2::Client,
    deadline: Deadline,
    /// Every call's answers, for the clock (the client's own interceptor).
    recorder: ResponseRecorder,
}

impl SdkEc2 {
    pub fn new(sdk: &SdkConfig, deadline: Deadline) -> Self {
        let recorder = ResponseRecorder::default();
        let conf = aws_sdk_ec2::config::Builder::from(sdk)
            .interceptor(recorder.clone())
            .build();
        Self {
            client: aws_sdk_ec2::Client::from_conf(conf),
            deadline,
            recorder,
        }
    }
}

impl Ec2Calls for SdkEc2 {
    fn clock(&self) -> Option<ClockSample> {
        self.recorder.meta().clock
    }

    async fn route_table(
        &self,
        query: RouteTableQuery<'_>,
    ) -> Result<Option<RouteTable>, ErrorInfo> {
        let out = match query {
            RouteTableQuery::Subnet(subnet_id) => {
                bounded(
                    &self.deadline,
                    "DescribeRouteTables",
                    self.client
                        .describe_route_tables()
                        .filters(filter("association.subnet-id", subnet_id))
                        .customize()
                        .interceptor(ResponseRecorder::default())
                        .send(),
                )
                .await?
            }
            RouteTableQuery::MainOf(vpc_id) => {
                bounded(
                    &self.deadline,
                    "DescribeRouteTables (main)",
                    self.client
                        .describe_route_tables()
                        .filters(filter("vpc-id", vpc_id))
                        .filters(filter("association.main", "true"))
                        .send(),
                )
                .await?
            }
        };
        Ok(out.route_tables().first().map(|t| RouteTable {
            id: t.route_table_id().unwrap_or_default().to_string(),
            routes: t.routes().iter().filter_map(route_evidence).collect(),
        }))
    }

    async fn prefix_list_id(&self, name: &str) -> Result<Option<String>, ErrorInfo> {
        let out = bounded(
            &self.deadline,
            "DescribeManagedPrefixLists",
            self.client
                .describe_managed_prefix_lists()
                .filters(filter("prefix-list-name", name))
                .send(),
        )
        .await?;
        Ok(out
            .prefix_lists()
            .first()
            .and_then(|p| p.prefix_list_id())
            .map(str::to_string))
    }

    async fn prefix_list_entries(&self, id: &str) -> Result<Vec<String>, ErrorInfo> {
        let mut cidrs = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = bounded(
                &self.deadline,
                "GetManagedPrefixListEntries",
                self.client
                    .get_managed_prefix_list_entries()
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

    async fn vpc_endpoints(
        &self,
        vpc_id: &str,
        service: &str,
    ) -> Result<Vec<EndpointEvidence>, ErrorInfo> {
        let out = bounded(
            &self.deadline,
            "DescribeVpcEndpoints",
            self.client
                .describe_vpc_endpoints()
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

    async fn security_groups(
        &self,
        ids: &[String],
    ) -> Result<Vec<SecurityGroupEvidence>, ErrorInfo> {
        let out = bounded(
            &self.deadline,
            "DescribeSecurityGroups",
            self.client
                .describe_security_groups()
                .set_group_ids(Some(ids.to_vec()))
                .send(),
        )
        .await?;
        Ok(out
            .security_groups()
            .iter()
            .map(|g| SecurityGroupEvidence {
                id: g.group_id().unwrap_or_default().to_string(),
                name: g.group_name().map(str::to_string),
                egress: g.ip_permissions_egress().iter().map(sg_rule).collect(),
            })
            .collect())
    }

    async fn network_acl(
        &self,
        query: NetworkAclQuery<'_>,
    ) -> Result<Option<NetworkAclEvidence>, ErrorInfo> {
        let (req, associated) = match query {
            NetworkAclQuery::Subnet(subnet_id) => (
                self.client
                    .describe_network_acls()
                    .filters(filter("association.subnet-id", subnet_id)),
                true,
            ),
            NetworkAclQuery::DefaultOf(vpc_id) => (
                self.client
                    .describe_network_acls()
                    .filters(filter("vpc-id", vpc_id))
                    .filters(filter("default", "true")),
                false,
            ),
        };
        let out = bounded(&self.deadline, "DescribeNetworkAcls", req.send()).await?;
        Ok(out
            .network_acls()
            .first()
            .map(|a| network_acl(a, associated)))
    }
}
