//! A small signed client for the AWS APIs the probe calls without an SDK crate: EC2 (Query
//! protocol: `Action=…&Version=…`, a form-encoded `POST`, XML answers), CloudWatch
//! (`PutMetricData`, Query) and CloudWatch Logs (JSON 1.1: `X-Amz-Target`, a JSON body). The
//! probe calls a handful of operations of each, and the SDK crates were most of the build time
//! and of the binary. Requests are SigV4-signed with the SDK's signer (`aws-sigv4`) and sent on
//! the same connector as every other request of the probe (the probe's resolver, connect
//! timeout, proxy, `AWS_CA_BUNDLE`), recording the peer address. Each service is a [`Service`]:
//! its endpoint names, signing name and protocol.
//!
//! The endpoint is the SDK's: `AWS_ENDPOINT_URL_<SERVICE>` (`_EC2`, `_CLOUDWATCH`,
//! `_CLOUDWATCH_LOGS`, or the profile's `services` section), then `AWS_ENDPOINT_URL`, else
//! `<host>[-fips].REGION.<suffix>` of the region's partition (dual-stack and FIPS as
//! `AWS_USE_DUALSTACK_ENDPOINT` / `AWS_USE_FIPS_ENDPOINT` ask).
//!
//! Retries: throttling (`RequestLimitExceeded`, `Throttling`, HTTP 429/503 throttling codes) and
//! server errors (5xx) are retried up to `--max-attempts` attempts in all, with jittered
//! exponential backoff, and only while the backoff and another attempt fit in the call's budget;
//! a failed connect is not retried (it would not get better within a run). [`ApiClient::send`]
//! is the one function that puts a signed request on the wire.

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

/// How a service's requests and answers are shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// AWS Query: a form body naming `Action` and `Version`; XML answers and errors.
    Query { version: &'static str },
    /// AWS JSON 1.1: `X-Amz-Target: <target>.<Action>`, JSON body, answers and errors.
    Json { target: &'static str },
}

/// One AWS API the client speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The SDK's service id: names `AWS_ENDPOINT_URL_<ID>` and the profile's `services` key.
    pub id: &'static str,
    /// The SigV4 signing name.
    pub signing_name: &'static str,
    /// The first label of its regional endpoint (`<host>.REGION.amazonaws.com`).
    pub host: &'static str,
    pub protocol: Protocol,
}

/// The EC2 API (version 2016-11-15).
pub const EC2: Service = Service {
    id: "EC2",
    signing_name: "ec2",
    host: "ec2",
    protocol: Protocol::Query {
        version: "2016-11-15",
    },
};

/// CloudWatch (metrics), over its Query protocol (version 2010-08-01), which AWS still serves
/// and the local emulator (moto) speaks.
pub const CLOUDWATCH: Service = Service {
    id: "CloudWatch",
    signing_name: "monitoring",
    host: "monitoring",
    protocol: Protocol::Query {
        version: "2010-08-01",
    },
};

/// CloudWatch Logs (JSON 1.1, target `Logs_20140328`).
pub const CLOUDWATCH_LOGS: Service = Service {
    id: "CloudWatch Logs",
    signing_name: "logs",
    host: "logs",
    protocol: Protocol::Json {
        target: "Logs_20140328",
    },
};

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
fn configured_endpoint(sdk: &SdkConfig, service: &Service) -> Option<String> {
    let key = aws_types::service_config::ServiceConfigKey::builder()
        .service_id(service.id)
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

/// The regional endpoint of `service` (the SDK's endpoint rules; GovCloud's FIPS endpoint is its
/// regular one).
pub fn regional_endpoint(service: &Service, region: &str, fips: bool, dual_stack: bool) -> String {
    let (dns, dual) = partition_suffixes(region);
    let suffix = if dual_stack { dual } else { dns };
    let fips_host = fips && (dual_stack || !region.starts_with("us-gov-"));
    let host = service.host;
    if fips_host {
        format!("https://{host}-fips.{region}.{suffix}")
    } else {
        format!("https://{host}.{region}.{suffix}")
    }
}

/// The endpoint the SDK would use for `service` in this configuration.
pub fn endpoint(sdk: &SdkConfig, service: &Service, region: &str) -> String {
    configured_endpoint(sdk, service).unwrap_or_else(|| {
        regional_endpoint(
            service,
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

/// The client of one service for one run.
pub struct ApiClient {
    service: &'static Service,
    connector: Connector,
    url: String,
    region: String,
    provider: Option<SharedCredentialsProvider>,
    credentials: tokio::sync::OnceCell<Result<Credentials, ErrorInfo>>,
    max_attempts: u32,
    clock: Mutex<Option<ClockSample>>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("service", &self.service.id)
            .field("url", &self.url)
            .field("region", &self.region)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

impl ApiClient {
    /// A client of `service` for `region` on `connector`, with the SDK configuration's
    /// credentials, endpoint settings and attempt count.
    pub fn new(
        service: &'static Service,
        sdk: &SdkConfig,
        region: &str,
        connector: Connector,
    ) -> Self {
        Self {
            service,
            connector,
            url: endpoint(sdk, service, region),
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

    /// The service's clock, as its last answer with a `Date` gave it.
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
                        format!(
                            "no credentials to sign the {} request with",
                            self.service.id
                        ),
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

    /// The Query form body of `action` (API `version`) with `params` (already in the API's
    /// `Name.N` shape).
    fn form(version: &str, action: &str, params: &[(String, String)]) -> String {
        let mut f = form_urlencoded::Serializer::new(String::new());
        f.append_pair("Action", action);
        f.append_pair("Version", version);
        for (k, v) in params {
            f.append_pair(k, v);
        }
        f.finish()
    }

    /// Sign `body` (for `action`) and send it: the one place a request goes on the wire
    /// (status, headers and body of the answer, with the peer and local address). `capture`
    /// sees the connection (peer and local address) as soon as it is made, so a caller that
    /// gives up waiting can still tell "never connected" from "connected, no answer".
    pub async fn send(
        &self,
        credentials: &Credentials,
        action: &str,
        body: String,
        capture: &CaptureSmithyConnection,
    ) -> Result<Answer, ErrorInfo> {
        let (content_type, target) = match self.service.protocol {
            Protocol::Query { .. } => ("application/x-www-form-urlencoded; charset=utf-8", None),
            Protocol::Json { target } => (
                "application/x-amz-json-1.1",
                Some(format!("{target}.{action}")),
            ),
        };
        let mut signed_headers = vec![("content-type", content_type)];
        if let Some(t) = &target {
            signed_headers.push(("x-amz-target", t.as_str()));
        }
        let identity = Identity::from(credentials.clone());
        let not_built = |e: &dyn std::fmt::Display| {
            ErrorInfo::new(Phase::Config, ErrorCode::RequestNotBuilt, e.to_string())
        };
        let params = SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service.signing_name)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| not_built(&e))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            self.url.as_str(),
            signed_headers.iter().copied(),
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
        if let Some(t) = target {
            req.headers_mut().insert("x-amz-target", t);
        }
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

    /// Call Query `action` with `params` within `budget`, retrying throttling and server errors
    /// while the budget allows: the 2xx answer's body, or the error (labelled `action`).
    pub async fn call(
        &self,
        action: &str,
        params: &[(String, String)],
        budget: Duration,
    ) -> Result<String, ErrorInfo> {
        let version = match self.service.protocol {
            Protocol::Query { version } => version,
            Protocol::Json { .. } => unreachable!("{} speaks JSON: call_json", self.service.id),
        };
        self.call_with(action, Self::form(version, action, params), budget)
            .await
    }

    /// Call JSON `action` with `input` within `budget`, as [`ApiClient::call`] does.
    pub async fn call_json(
        &self,
        action: &str,
        input: &serde_json::Value,
        budget: Duration,
    ) -> Result<String, ErrorInfo> {
        self.call_with(action, input.to_string(), budget).await
    }

    async fn call_with(
        &self,
        action: &str,
        body: String,
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
        let mut attempt = 0;
        loop {
            attempt += 1;
            let left = until.saturating_duration_since(Instant::now());
            let capture = CaptureSmithyConnection::new();
            let sent = tokio::time::timeout(
                left,
                self.send(&credentials, action, body.clone(), &capture),
            )
            .await;
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
            let err = match self.service.protocol {
                Protocol::Query { .. } => ec2_xml::error(&answer.body),
                Protocol::Json { .. } => json_error(&answer.body, &answer.headers),
            };
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
                    service = self.service.id,
                    action,
                    code,
                    status,
                    attempt,
                    "answered with a retryable error; retrying in {} ms",
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

/// A JSON protocol error's code (`__type`, without its `namespace#`; else the
/// `x-amzn-errortype` header), message and request id.
fn json_error(body: &str, headers: &aws_smithy_runtime_api::http::Headers) -> ec2_xml::ApiError {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let code = v["__type"]
        .as_str()
        .or_else(|| headers.get("x-amzn-errortype"))
        .map(|t| t.rsplit('#').next().unwrap_or(t))
        .map(|t| t.split(':').next().unwrap_or(t).to_string())
        .filter(|t| !t.is_empty());
    let message = v["message"]
        .as_str()
        .or_else(|| v["Message"].as_str())
        .map(str::to_string);
    ec2_xml::ApiError {
        code,
        message,
        request_id: headers.get("x-amzn-requestid").map(str::to_string),
    }
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
