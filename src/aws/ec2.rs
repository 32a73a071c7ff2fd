//! The EC2 calls of the network collector, as a small trait ([`Ec2Calls`]) with one real
//! implementation ([`QueryEc2`], over the signed API client of [`super::api`]). Every
//! call is bounded by the run deadline (at most [`EC2_CALL_CAP`] per page); list answers are
//! read in full, following `nextToken` for at most [`MAX_PAGES`] pages; an error is data,
//! labelled with the API call.

use std::future::Future;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::SharedHttpConnector as Connector;

use super::api::{ApiClient, EC2};
use super::ec2_xml::{self, Page};
use crate::deadline::Deadline;
use crate::evidence::{
    ClockSample, EndpointEvidence, ErrorCode, ErrorInfo, NetworkAclEvidence, Phase, RouteEvidence,
    SecurityGroupEvidence,
};

/// Longest time one EC2 call may take (the run deadline may cut it shorter).
pub const EC2_CALL_CAP: Duration = Duration::from_secs(4);

/// The most pages one list call follows (`nextToken`): more is an error, not a partial list.
pub const MAX_PAGES: usize = 20;

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

/// `Filter.N.Name` / `Filter.N.Value.1` parameters.
fn filters(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .enumerate()
        .flat_map(|(i, (name, value))| {
            [
                (format!("Filter.{}.Name", i + 1), name.to_string()),
                (format!("Filter.{}.Value.1", i + 1), value.to_string()),
            ]
        })
        .collect()
}

/// [`Ec2Calls`] over the EC2 Query API, each page bounded by `deadline`.
#[derive(Debug)]
pub struct QueryEc2 {
    api: ApiClient,
    deadline: Deadline,
}

impl QueryEc2 {
    /// The calls for `region` on `connector` (the probe's shared resolver, TLS trust, proxy
    /// and connect timeout), with the SDK configuration's credentials and endpoint settings.
    pub fn new(sdk: &SdkConfig, region: &str, connector: Connector, deadline: Deadline) -> Self {
        Self {
            api: ApiClient::new(&EC2, sdk, region, connector),
            deadline,
        }
    }

    /// Every page of `action` (`params` plus `NextToken`), read by `parse`.
    async fn pages<T>(
        &self,
        action: &str,
        params: Vec<(String, String)>,
        parse: impl Fn(&str) -> Result<Page<T>, String>,
    ) -> Result<Vec<T>, ErrorInfo> {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        for page in 1..=MAX_PAGES {
            let Some(budget) = self.deadline.cap(EC2_CALL_CAP) else {
                return Err(ErrorInfo::new(
                    Phase::Request,
                    ErrorCode::Deadline,
                    format!("{action}: the run deadline passed first"),
                ));
            };
            let mut p = params.clone();
            if let Some(t) = token.take() {
                p.push(("NextToken".into(), t));
            }
            let body = self.api.call(action, &p, budget).await?;
            let got = parse(&body).map_err(|e| {
                ErrorInfo::new(
                    Phase::Response,
                    ErrorCode::ResponseError,
                    format!("{action}: an answer that is not the API's XML (page {page}): {e}"),
                )
            })?;
            all.extend(got.items);
            match got.next_token {
                Some(t) => token = Some(t),
                None => return Ok(all),
            }
        }
        Err(ErrorInfo::new(
            Phase::Response,
            ErrorCode::ResponseError,
            format!("{action}: more than {MAX_PAGES} pages; the answer was not read in full"),
        ))
    }
}

impl Ec2Calls for QueryEc2 {
    fn clock(&self) -> Option<ClockSample> {
        self.api.clock()
    }

    async fn route_table(
        &self,
        query: RouteTableQuery<'_>,
    ) -> Result<Option<RouteTable>, ErrorInfo> {
        let params = match query {
            RouteTableQuery::Subnet(subnet_id) => filters(&[("association.subnet-id", subnet_id)]),
            RouteTableQuery::MainOf(vpc_id) => {
                filters(&[("vpc-id", vpc_id), ("association.main", "true")])
            }
        };
        let tables = self
            .pages("DescribeRouteTables", params, ec2_xml::route_tables)
            .await?;
        Ok(tables.into_iter().next().map(|t| RouteTable {
            id: t.id,
            routes: t.routes,
        }))
    }

    async fn prefix_list_id(&self, name: &str) -> Result<Option<String>, ErrorInfo> {
        let lists = self
            .pages(
                "DescribeManagedPrefixLists",
                filters(&[("prefix-list-name", name)]),
                ec2_xml::prefix_lists,
            )
            .await?;
        Ok(lists.into_iter().map(|p| p.id).find(|id| !id.is_empty()))
    }

    async fn prefix_list_entries(&self, id: &str) -> Result<Vec<String>, ErrorInfo> {
        self.pages(
            "GetManagedPrefixListEntries",
            vec![("PrefixListId".into(), id.to_string())],
            ec2_xml::prefix_list_entries,
        )
        .await
    }

    async fn vpc_endpoints(
        &self,
        vpc_id: &str,
        service: &str,
    ) -> Result<Vec<EndpointEvidence>, ErrorInfo> {
        self.pages(
            "DescribeVpcEndpoints",
            filters(&[("vpc-id", vpc_id), ("service-name", service)]),
            ec2_xml::vpc_endpoints,
        )
        .await
    }

    async fn security_groups(
        &self,
        ids: &[String],
    ) -> Result<Vec<SecurityGroupEvidence>, ErrorInfo> {
        let params = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (format!("GroupId.{}", i + 1), id.clone()))
            .collect();
        self.pages("DescribeSecurityGroups", params, ec2_xml::security_groups)
            .await
    }

    async fn network_acl(
        &self,
        query: NetworkAclQuery<'_>,
    ) -> Result<Option<NetworkAclEvidence>, ErrorInfo> {
        let (params, associated) = match query {
            NetworkAclQuery::Subnet(subnet_id) => {
                (filters(&[("association.subnet-id", subnet_id)]), true)
            }
            NetworkAclQuery::DefaultOf(vpc_id) => {
                (filters(&[("vpc-id", vpc_id), ("default", "true")]), false)
            }
        };
        let acls = self
            .pages("DescribeNetworkAcls", params, |xml| {
                ec2_xml::network_acls(xml, associated)
            })
            .await?;
        Ok(acls.into_iter().next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_numbered_from_one() {
        assert_eq!(
            filters(&[("vpc-id", "vpc-1"), ("default", "true")]),
            [
                ("Filter.1.Name".to_string(), "vpc-id".to_string()),
                ("Filter.1.Value.1".into(), "vpc-1".into()),
                ("Filter.2.Name".into(), "default".into()),
                ("Filter.2.Value.1".into(), "true".into()),
            ]
        );
    }
}
