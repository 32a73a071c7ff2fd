//! A small client for the EC2 Query API (`Action=…&Version=2016-11-15`, a form-encoded `POST`),
//! in place of the SDK's EC2 crate: the probe calls six read-only operations, and the SDK's EC2
//! crate was most of the build time and of the binary. Requests are SigV4-signed with the SDK's
//! signer (`aws-sigv4`) and sent on the same connector as every other request of the probe (the
//! probe's resolver, connect timeout, proxy, `AWS_CA_BUNDLE`), recording the peer address.
//!
//! The endpoint is the SDK's: `AWS_ENDPOINT_URL_EC2` (or the profile's `services` section), then
//! `AWS_ENDPOINT_URL`, else `ec2[-fips].REGION.<suffix>` of the region's partition (dual-stack
//! and FIPS as `AWS_USE_DUALSTACK_ENDPOINT` / `AWS_USE_FIPS_ENDPOINT` ask).
//!
//! Retries: throttling (`RequestLimitExceeded`, HTTP 429/503 throttling codes) and server errors
//! (5xx) are retried up to `--max-attempts` attempts in all, with jittered exponential backoff, and
//! only while the backoff and another attempt fit in the call's budget; a failed connect is not
//! retried (it would not get better within a run). [`Ec2Query::send`] is the one function that
//! puts a signed request on the wire.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4::SigningParams;
use aws_smithy_runtime_api::client::connection::CaptureSmithyConnection;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::http::SharedHttpConnector as Connector;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;

use super::ec2_xml;
use super::{chain_message, classify_connector_error, clock_sample, status_code_name};
use crate::evidence::{ClockSample, ErrorCode, ErrorInfo, Phase, is_throttling_code};

/// The EC2 API version every request names.
pub const API_VERSION: &str = "2016-11-15";

/// The longest backoff between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// The first backoff (doubled per retry, jittered down to half).
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// What another attempt needs at least, for a retry to be worth its backoff.
const MIN_ATTEMPT: Duration = Duration::from_millis(300);

/// One answer as it came off the wire.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: aws_smithy_runtime_api::http::Headers,
    pub body: String,
    pub request_id: Option<String>,
    /// The address actually connected to, and ours.
    pub peer: Option<SocketAddr>,
    pub local: Option<SocketAddr>,
    pub clock: Option<ClockSample>,
}

/// The service-specific and global endpoint URL the SDK would use, if one is configured.
fn configured_endpoint(sdk: &SdkConfig) -> Option<String> {
    let key = aws_types::service_config::ServiceConfigKey::builder()
        .service_id("EC2")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok()?;
    sdk.service_config()
        .and_then(|c| c.load_config(key))
        .or_else(|| sdk.endpoint_url().map(str::to_string))
        .filter(|u| !u.trim().is_empty())
}

/// The DNS suffix (and dual-stack suffix) of `region`'s partition, as the SDK's partition table
/// has them; a region no partition claims is `aws`'s, as in the SDK.
pub fn partition_suffixes(region: &str) -> (&'static str, &'static str) {
    let r = region;
    if r.starts_with("cn-") {
        ("amazonaws.com.cn", "api.amazonwebservices.com.cn")
    } else if r.starts_with("us-gov-") {
        ("amazonaws.com", "api.aws")
    } else if r.starts_with("us-isob-") {
        ("sc2s.sgov.gov", "api.aws.scloud")
    } else if r.starts_with("us-isof-") {
        ("csp.hci.ic.gov", "api.aws.hci.ic.gov")
    } else if r.starts_with("us-iso-") {
        ("c2s.ic.gov", "api.aws.ic.gov")
    } else if r.starts_with("eu-isoe-") {
        ("cloud.adc-e.uk", "api.cloud-aws.adc-e.uk")
    } else if r.starts_with("eusc-") {
        ("amazonaws.eu", "api.amazonwebservices.eu")
    } else {
        ("amazonaws.com", "api.aws")
    }
}

/// The EC2 endpoint of `region` (the SDK's endpoint rules for EC2; GovCloud's FIPS endpoint is
/// its regular one).
pub fn regional_endpoint(region: &str, fips: bool, dual_stack: bool) -> String {
    let (dns, dual) = partition_suffixes(region);
    let suffix = if dual_stack { dual } else { dns };
    let fips_host = fips && (dual_stack || !region.starts_with("us-gov-"));
    let host = if fips_host { "ec2-fips" } else { "ec2" };
    format!("https://{host}.{region}.{suffix}")
}

/// The EC2 endpoint the SDK would use for this configuration.
pub fn endpoint(sdk: &SdkConfig, region: &str) -> String {
    configured_endpoint(sdk).unwrap_or_else(|| {
        regional_endpoint(
            region,
            sdk.use_fips().unwrap_or(false),
            sdk.use_dual_stack().unwrap_or(false),
        )
    })
}

/// Worth another attempt: throttled, or a server error.
fn retryable(status: u16, code: &str) -> bool {
    is_throttling_code(code) || status == 429 || (500..=599).contains(&status)
}

/// The backoff before retry `n` (1-based): 200 ms doubling, at most 2 s, jittered to [½, 1].
fn backoff(n: u32) -> Duration {
    let full = FIRST_BACKOFF
        .saturating_mul(1u32 << n.saturating_sub(1).min(8))
        .min(MAX_BACKOFF);
    full.mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// The EC2 Query API client of one run.
pub struct Ec2Query {
    connector: Connector,
    url: String,
    region: String,
    provider: Option<SharedCredentialsProvider>,
    credentials: tokio::sync::OnceCell<Result<Credentials, ErrorInfo>>,
    max_attempts: u32,
    clock: Mutex<Option<ClockSample>>,
}

impl std::fmt::Debug for Ec2Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ec2Query")
            .field("url", &self.url)
            .field("region", &self.region)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

impl Ec2Query {
    /// A client for `region` on `connector`, with the SDK configuration's credentials, endpoint
    /// settings and attempt count.
    pub fn new(sdk: &SdkConfig, region: &str, connector: Connector) -> Self {
        Self {
            connector,
            url: endpoint(sdk, region),
            region: region.to_string(),
            provider: sdk.credentials_provider(),
            credentials: tokio::sync::OnceCell::new(),
            max_attempts: sdk
                .retry_config()
                .map(|r| r.max_attempts())
                .unwrap_or(1)
                .max(1),
            clock: Mutex::new(None),
        }
    }

    /// The EC2 API's clock, as its last answer with a `Date` gave it.
    pub fn clock(&self) -> Option<ClockSample> {
        *self.clock.lock().expect("clock poisoned")
    }

    /// The endpoint URL requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The credentials, asked of the provider once per run.
    async fn credentials(&self) -> Result<Credentials, ErrorInfo> {
        self.credentials
            .get_or_init(|| async {
                let Some(p) = &self.provider else {
                    return Err(ErrorInfo::new(
                        Phase::Credentials,
                        ErrorCode::NoCredentials,
                        "no credentials to sign the EC2 request with",
                    ));
                };
                p.provide_credentials().await.map_err(|e| {
                    ErrorInfo::new(
                        Phase::Credentials,
                        ErrorCode::CredentialsError,
                        chain_message(&e),
                    )
                })
            })
            .await
            .clone()
    }

    /// The form body of `action` with `params` (already in the API's `Name.N` shape).
    fn form(action: &str, params: &[(String, String)]) -> String {
        let mut f = form_urlencoded::Serializer::new(String::new());
        f.append_pair("Action", action);
        f.append_pair("Version", API_VERSION);
        for (k, v) in params {
            f.append_pair(k, v);
        }
        f.finish()
    }

    /// Sign `body` and send it: the one place a request goes on the wire (status, headers and
    /// body of the answer, with the peer and local address). `capture` sees the
    /// connection (peer and local address) as soon as it is made, so a caller that gives up
    /// waiting can still tell "never connected" from "connected, no answer".
    pub async fn send(
        &self,
        credentials: &Credentials,
        body: String,
        capture: &CaptureSmithyConnection,
    ) -> Result<Answer, ErrorInfo> {
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let identity = Identity::from(credentials.clone());
        let not_built = |e: &dyn std::fmt::Display| {
            ErrorInfo::new(Phase::Config, ErrorCode::RequestNotBuilt, e.to_string())
        };
        let params = SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("ec2")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| not_built(&e))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            self.url.as_str(),
            [("content-type", content_type)].into_iter(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| not_built(&e))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| not_built(&e))?
            .into_parts();
        let (headers, _) = instructions.into_parts();
        let mut req = HttpRequest::new(SdkBody::from(body));
        req.set_uri(self.url.as_str()).map_err(|e| {
            ErrorInfo::new(
                Phase::Config,
                ErrorCode::BadUrl,
                format!("{}: {e}", self.url),
            )
        })?;
        req.set_method("POST").map_err(|e| not_built(&e))?;
        req.headers_mut().insert("content-type", content_type);
        req.headers_mut().insert(
            "user-agent",
            concat!("vpce-probe/", env!("CARGO_PKG_VERSION")),
        );
        for h in headers {
            req.headers_mut().insert(h.name(), h.value().to_string());
        }
        req.add_extension(capture.clone());
        let resp = self
            .connector
            .call(req)
            .await
            .map_err(|e| classify_connector_error(&e))?;
        let clock = clock_sample(&resp);
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let request_id = resp.headers().get("x-amzn-requestid").map(str::to_string);
        let bytes = ByteStream::new(resp.into_body())
            .collect()
            .await
            .map_err(|e| ErrorInfo::new(Phase::Response, ErrorCode::BodyReadError, e.to_string()))?
            .into_bytes();
        let conn = capture.get();
        Ok(Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            request_id,
            peer: conn.as_ref().and_then(|c| c.remote_addr()),
            local: conn.as_ref().and_then(|c| c.local_addr()),
            clock,
        })
    }

    /// Call `action` within `budget`, retrying throttling and server errors while the budget
    /// allows: the 2xx answer's body, or the error (labelled `action`).
    pub async fn call(
        &self,
        action: &str,
        params: &[(String, String)],
        budget: Duration,
    ) -> Result<String, ErrorInfo> {
        let until = Instant::now() + budget;
        let label = |mut e: ErrorInfo| {
            e.message = format!("{action}: {}", e.message);
            e
        };
        let credentials = tokio::time::timeout(budget, self.credentials())
            .await
            .map_err(|_| {
                ErrorInfo::new(
                    Phase::Credentials,
                    ErrorCode::CredentialsTimeout,
                    format!("no credentials within {} ms", budget.as_millis()),
                )
            })
            .and_then(|r| r)
            .map_err(label)?;
        let body = Self::form(action, params);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let left = until.saturating_duration_since(Instant::now());
            let capture = CaptureSmithyConnection::new();
            let sent =
                tokio::time::timeout(left, self.send(&credentials, body.clone(), &capture)).await;
            let answer = match sent {
                Ok(Ok(a)) => a,
                Ok(Err(e)) => return Err(label(e)),
                Err(_) => {
                    let phase = match capture.get().and_then(|c| c.remote_addr()) {
                        None => Phase::Connect,
                        Some(_) => Phase::Request,
                    };
                    return Err(label(ErrorInfo::new(
                        phase,
                        ErrorCode::Timeout,
                        format!(
                            "no answer within {} ms ({attempt} attempt{})",
                            budget.as_millis(),
                            if attempt == 1 { "" } else { "s" }
                        ),
                    )));
                }
            };
            if answer.clock.is_some() {
                *self.clock.lock().expect("clock poisoned") = answer.clock;
            }
            if (200..300).contains(&answer.status) {
                return Ok(answer.body);
            }
            let err = ec2_xml::error(&answer.body);
            let status = answer.status;
            let code = match &err.code {
                Some(c) if !c.bytes().all(|b| b.is_ascii_digit()) => c.clone(),
                _ => status_code_name(status).to_string(),
            };
            let pause = backoff(attempt);
            let left = until.saturating_duration_since(Instant::now());
            if retryable(status, &code) && attempt < self.max_attempts && pause + MIN_ATTEMPT < left
            {
                tracing::debug!(
                    action,
                    code,
                    status,
                    attempt,
                    "EC2 answered with a retryable error; retrying in {} ms",
                    pause.as_millis()
                );
                tokio::time::sleep(pause).await;
                continue;
            }
            let mut message = err
                .message
                .unwrap_or_else(|| format!("HTTP {status} with no error message"));
            if let Some(id) = err.request_id.or(answer.request_id) {
                message.push_str(&format!(" (request id {id})"));
            }
            if attempt > 1 {
                message.push_str(&format!(" after {attempt} attempts"));
            }
            return Err(label(ErrorInfo::service(
                Phase::Response,
                code,
                message,
                Some(status),
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partitions_endpoints_as_the_sdk_rules_have_them() {
        for (region, fips, dual, want) in [
            (
                "us-east-1",
                false,
                false,
                "https://ec2.us-east-1.amazonaws.com",
            ),
            (
                "us-east-1",
                true,
                false,
                "https://ec2-fips.us-east-1.amazonaws.com",
            ),
            (
                "us-east-1",
                true,
                true,
                "https://ec2-fips.us-east-1.api.aws",
            ),
            ("eu-west-1", false, true, "https://ec2.eu-west-1.api.aws"),
            (
                "cn-north-1",
                false,
                false,
                "https://ec2.cn-north-1.amazonaws.com.cn",
            ),
            (
                "cn-north-1",
                false,
                true,
                "https://ec2.cn-north-1.api.amazonwebservices.com.cn",
            ),
            (
                "us-gov-west-1",
                false,
                false,
                "https://ec2.us-gov-west-1.amazonaws.com",
            ),
            (
                "us-gov-east-1",
                true,
                false,
                "https://ec2.us-gov-east-1.amazonaws.com",
            ),
            (
                "us-iso-east-1",
                false,
                false,
                "https://ec2.us-iso-east-1.c2s.ic.gov",
            ),
            (
                "us-isob-east-1",
                false,
                false,
                "https://ec2.us-isob-east-1.sc2s.sgov.gov",
            ),
            (
                "eusc-de-east-1",
                false,
                false,
                "https://ec2.eusc-de-east-1.amazonaws.eu",
            ),
        ] {
            assert_eq!(
                regional_endpoint(region, fips, dual),
                want,
                "{region} {fips} {dual}"
            );
        }
    }

    #[test]
    fn throttling_and_server_errors_are_retried_others_not() {
        assert!(retryable(503, "RequestLimitExceeded"));
        assert!(retryable(400, "Throttling"));
        assert!(retryable(500, "InternalError"));
        assert!(retryable(429, "Whatever"));
        assert!(!retryable(403, "UnauthorizedOperation"));
        assert!(!retryable(400, "InvalidParameterValue"));
    }

    #[test]
    fn backoff_doubles_within_bounds() {
        for n in 1..12 {
            let b = backoff(n);
            let full = FIRST_BACKOFF
                .saturating_mul(1 << (n - 1).min(8))
                .min(MAX_BACKOFF);
            assert!(b >= full / 2 && b <= full, "{n}: {b:?}");
        }
    }

    #[test]
    fn the_form_names_action_and_version_and_encodes_values() {
        let body = Ec2Query::form(
            "DescribeRouteTables",
            &[
                ("Filter.1.Name".into(), "association.subnet-id".into()),
                ("Filter.1.Value.1".into(), "subnet-1 &x".into()),
            ],
        );
        assert_eq!(
            body,
            "Action=DescribeRouteTables&Version=2016-11-15&Filter.1.Name=association.subnet-id&Filter.1.Value.1=subnet-1+%26x"
        );
    }
}
