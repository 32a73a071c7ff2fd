//! Fallback for the S3 prefix list when the EC2 API is denied or unreachable: AWS's published
//! ip-ranges document (service `S3`, the region), fetched over the probe's own resolver and
//! TLS stack. The ranges may differ from the managed prefix list, and the report says so.
//! `VPCE_PROBE_IP_RANGES_URL` points at a mirror (closed networks, tests).

use std::future::Future;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use serde::Deserialize;

use crate::aws::ec2::EC2_CALL_CAP;
use crate::deadline::Deadline;
use crate::evidence::{ErrorCode, ErrorInfo, Phase};
use crate::net::{ProbeResolver, ProxyEnv};

/// AWS's published address ranges.
pub const DEFAULT_URL: &str = "https://ip-ranges.amazonaws.com/ip-ranges.json";

/// The URL to fetch (`VPCE_PROBE_IP_RANGES_URL`, else AWS's).
pub fn url() -> String {
    std::env::var("VPCE_PROBE_IP_RANGES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_string())
}

#[derive(Debug, Deserialize)]
struct Doc {
    #[serde(default)]
    prefixes: Vec<V4>,
    #[serde(default)]
    ipv6_prefixes: Vec<V6>,
}

#[derive(Debug, Deserialize)]
struct V4 {
    ip_prefix: String,
    region: String,
    service: String,
}

#[derive(Debug, Deserialize)]
struct V6 {
    ipv6_prefix: String,
    region: String,
    service: String,
}

/// The S3 ranges of `region` in an ip-ranges document (IPv4 first).
pub fn s3_ranges(json: &[u8], region: &str) -> Result<Vec<String>, String> {
    let doc: Doc =
        serde_json::from_slice(json).map_err(|e| format!("not an ip-ranges document: {e}"))?;
    let mut out: Vec<String> = doc
        .prefixes
        .into_iter()
        .filter(|p| p.service == "S3" && p.region == region)
        .map(|p| p.ip_prefix)
        .collect();
    out.extend(
        doc.ipv6_prefixes
            .into_iter()
            .filter(|p| p.service == "S3" && p.region == region)
            .map(|p| p.ipv6_prefix),
    );
    out.dedup();
    if out.is_empty() {
        return Err(format!("no S3 ranges for {region} in the document"));
    }
    Ok(out)
}

/// Fetch the document and return the region's S3 ranges, within `budget`.
pub async fn fetch(
    resolver: &ProbeResolver,
    ca_bundle: Option<&[u8]>,
    proxy: &ProxyEnv,
    url: &str,
    region: &str,
    budget: Duration,
) -> Result<Vec<String>, ErrorInfo> {
    let connector = crate::net::connector(resolver, ca_bundle, proxy)
        .map_err(|e| ErrorInfo::new(Phase::Config, ErrorCode::TlsConfig, e))?;
    let mut req = HttpRequest::new(SdkBody::empty());
    req.set_uri(url)
        .map_err(|e| ErrorInfo::new(Phase::Config, ErrorCode::BadUrl, format!("{url}: {e}")))?;
    let work = async {
        let resp = connector.call(req).await.map_err(|e| {
            let as_dyn: &(dyn std::error::Error + 'static) = &e;
            let message = crate::aws::chain_message(as_dyn);
            let phase = if crate::aws::find_in_chain::<crate::net::resolver::DnsLookupError>(as_dyn)
                .is_some()
            {
                Phase::Dns
            } else {
                Phase::Connect
            };
            ErrorInfo::new(
                phase,
                ErrorCode::IpRangesUnreachable,
                format!("{url}: {message}"),
            )
        })?;
        let status = resp.status().as_u16();
        let body = ByteStream::new(resp.into_body())
            .collect()
            .await
            .map_err(|e| ErrorInfo::new(Phase::Response, ErrorCode::BodyReadError, e.to_string()))?
            .into_bytes();
        if status != 200 {
            return Err(ErrorInfo {
                phase: Phase::Response,
                code: ErrorCode::IpRangesHttpError,
                message: format!("{url}: HTTP {status}"),
                http_status: Some(status),
            });
        }
        s3_ranges(&body, region).map_err(|m| {
            ErrorInfo::new(
                Phase::Verify,
                ErrorCode::IpRangesInvalid,
                format!("{url}: {m}"),
            )
        })
    };
    match tokio::time::timeout(budget, work).await {
        Ok(r) => r,
        Err(_) => Err(ErrorInfo::new(
            Phase::Connect,
            ErrorCode::Timeout,
            format!("{url}: no answer within {} ms", budget.as_millis()),
        )),
    }
}

/// Where the region's S3 ranges come from when the EC2 API cannot tell.
pub trait IpRangesSource: Send + Sync {
    /// The S3 ranges of `region`.
    fn s3_ranges(
        &self,
        region: &str,
    ) -> impl Future<Output = Result<Vec<String>, ErrorInfo>> + Send;
}

/// [`IpRangesSource`] over HTTPS: the document at `url`, within the run deadline (at most
/// [`EC2_CALL_CAP`]).
pub struct IpRangesFetcher<'a> {
    pub resolver: &'a ProbeResolver,
    pub ca_bundle: Option<&'a [u8]>,
    pub proxy: &'a ProxyEnv,
    pub url: &'a str,
    pub deadline: Deadline,
}

impl IpRangesSource for IpRangesFetcher<'_> {
    async fn s3_ranges(&self, region: &str) -> Result<Vec<String>, ErrorInfo> {
        match self.deadline.cap(EC2_CALL_CAP) {
            Some(budget) => {
                fetch(
                    self.resolver,
                    self.ca_bundle,
                    self.proxy,
                    self.url,
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_regions_s3_ranges() {
        let doc = br#"{"syncToken":"1","createDate":"2026-11-01-00-00-00","prefixes":[
            {"ip_prefix":"52.216.0.0/15","region":"us-east-1","service":"S3","network_border_group":"us-east-1"},
            {"ip_prefix":"52.216.0.0/15","region":"us-east-1","service":"AMAZON","network_border_group":"us-east-1"},
            {"ip_prefix":"3.5.0.0/19","region":"us-east-1","service":"S3","network_border_group":"us-east-1"},
            {"ip_prefix":"52.218.0.0/17","region":"eu-west-1","service":"S3","network_border_group":"eu-west-1"}],
            "ipv6_prefixes":[{"ipv6_prefix":"2600:1fa0::/40","region":"us-east-1","service":"S3","network_border_group":"us-east-1"}]}"#;
        assert_eq!(
            s3_ranges(doc, "us-east-1").unwrap(),
            ["52.216.0.0/15", "3.5.0.0/19", "2600:1fa0::/40"]
        );
        assert_eq!(s3_ranges(doc, "eu-west-1").unwrap(), ["52.218.0.0/17"]);
        assert!(s3_ranges(doc, "ap-south-1").is_err());
        assert!(s3_ranges(b"<html>", "us-east-1").is_err());
    }
}
