//! The only boundary to the AWS SDK: building clients that share the probe's HTTP client,
//! recording what the transport saw of each operation, and turning SDK errors into
//! [`ErrorInfo`] data labelled with the phase where they failed.

pub mod api;
pub mod credentials;
pub mod ec2;
#[cfg(test)]
mod ec2_tests;
pub mod ec2_xml;
pub mod s3;

use std::error::Error as StdError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::imds;
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connection::CaptureSmithyConnection;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::evidence::{AttemptError, ClockSample, ErrorCode, ErrorInfo, Phase, ResponseMeta};
use crate::net::resolver::DnsLookupError;

/// Settings shared by every SDK client of one run.
#[derive(Debug, Clone)]
pub struct SdkSettings {
    pub region: String,
    pub profile: Option<String>,
    pub connect_timeout: Duration,
    pub max_attempts: u32,
}

/// Load the SDK configuration: standard environment and profile handling (endpoint URLs,
/// `AWS_PROFILE`, ...), but always our HTTP client, our credentials and our deadlines.
pub async fn sdk_config(
    http: SharedHttpClient,
    settings: &SdkSettings,
    credentials: Option<SharedCredentialsProvider>,
) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new(settings.region.clone()))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(settings.connect_timeout)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(settings.max_attempts.max(1)));
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    loader = match credentials {
        Some(c) => loader.credentials_provider(c),
        None => loader.no_credentials(),
    };
    loader.load().await
}

/// An S3 client for `region` (which may differ from the SDK config's: a bucket elsewhere).
pub fn s3_client(sdk: &SdkConfig, region: &str, path_style: bool) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(sdk)
        .region(Region::new(region.to_string()))
        .force_path_style(path_style)
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// The IMDS endpoint the SDK will use (for reports).
pub fn imds_endpoint() -> String {
    if let Ok(ep) = std::env::var("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        && !ep.is_empty()
    {
        return ep;
    }
    match std::env::var("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE") {
        Ok(m) if m.eq_ignore_ascii_case("ipv6") => "http://[fd00:ec2::254]".to_string(),
        _ => "http://169.254.169.254".to_string(),
    }
}

/// True when `AWS_EC2_METADATA_DISABLED` asks the SDK not to use IMDS.
pub fn imds_disabled() -> bool {
    std::env::var("AWS_EC2_METADATA_DISABLED")
        .map(|v| v.trim().eq_ignore_ascii_case("true"))
        .unwrap_or(false)
}

/// A bounded IMDSv2 client on the shared HTTP client: one attempt, `timeout` per call. The
/// connect gets 3/4 of it, so that "no connection" (a dispatch failure) and "connected, no
/// answer" (the operation's timeout, as behind a too-low hop limit) never race.
pub fn imds_client(http: SharedHttpClient, timeout: Duration) -> imds::Client {
    imds::Client::builder()
        .configure(&ProviderConfig::default().with_http_client(http))
        // The connect gets ¾ of the budget: a connect timeout (no IMDS) fires first and is a
        // dispatch failure. Once connected, the attempt timeout must be what fires (a read
        // timeout racing it would look like a dispatch failure too): an answer that vanished
        // after the connect, as behind a too-low hop limit, is then always `imds_timeout`.
        .connect_timeout(timeout.mul_f64(0.75))
        .read_timeout(timeout * 2)
        .operation_attempt_timeout(timeout)
        .operation_timeout(timeout)
        .max_attempts(1)
        .build()
}

/// An interceptor that records, per operation, what the transport saw: status, request ids,
/// the peer address actually connected to, and the attempt count.
#[derive(Debug, Clone, Default)]
pub struct ResponseRecorder {
    meta: Arc<Mutex<ResponseMeta>>,
    /// The connection capture of the attempt in flight, so that a run deadline cutting an
    /// attempt short can still tell "never connected" from "connected, no answer".
    capture: Arc<Mutex<Option<CaptureSmithyConnection>>>,
    /// The host of the operation's own requests (to tell them from a credential fetch).
    host: Arc<Mutex<Option<String>>>,
}

impl ResponseRecorder {
    /// What was recorded so far (including the peer of an attempt still in flight).
    pub fn meta(&self) -> ResponseMeta {
        let mut meta = self.meta.lock().expect("recorder poisoned").clone();
        if meta.peer.is_none()
            && let Some(conn) = self
                .capture
                .lock()
                .expect("recorder poisoned")
                .as_ref()
                .and_then(|c| c.get())
        {
            meta.peer = conn.remote_addr();
            meta.local = conn.local_addr();
        }
        meta
    }

    /// The host the operation's requests went to (once one was about to be sent).
    pub fn host(&self) -> Option<String> {
        self.host.lock().expect("recorder poisoned").clone()
    }
}

impl Intercept for ResponseRecorder {
    fn name(&self) -> &'static str {
        "vpce-probe::ResponseRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        *self.host.lock().expect("recorder poisoned") = context
            .request()
            .uri()
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.host().map(str::to_string));
        *self.capture.lock().expect("recorder poisoned") =
            cfg.load::<CaptureSmithyConnection>().cloned();
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut meta = self.meta.lock().expect("recorder poisoned");
        meta.attempts += 1;
        if let Some(conn) = cfg.load::<CaptureSmithyConnection>().and_then(|c| c.get()) {
            meta.peer = conn.remote_addr().or(meta.peer);
            meta.local = conn.local_addr().or(meta.local);
        }
        if let Some(resp) = context.response() {
            let h = resp.headers();
            let get = |name: &str| h.get(name).map(str::to_string);
            meta.http_status = Some(resp.status().as_u16());
            meta.request_id = get("x-amz-request-id").or_else(|| get("x-amzn-requestid"));
            meta.extended_request_id = get("x-amz-id-2");
            if let Some(r) = get("x-amz-bucket-region") {
                meta.bucket_region = Some(r);
            }
            meta.clock = clock_sample(resp).or(meta.clock);
            if resp.status().as_u16() == 403 && says_time_too_skewed(resp) {
                meta.time_too_skewed = true;
            }
            if let Some(a) = attempt_error(resp, meta.request_id.clone()) {
                meta.attempt_errors.push(a);
            }
        }
        Ok(())
    }
}

/// The codes with which AWS services ask a client to slow down (the SDK's retry classifier
/// treats them as throttling too).
const THROTTLING_CODES: &[&str] = &[
    "SlowDown",
    "ServiceUnavailable",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "BandwidthLimitExceeded",
    "ProvisionedThroughputExceededException",
];

/// An answer with a retryable error (HTTP 5xx or 429): its status, its body's `<Code>` and
/// whether it asks to slow down.
fn attempt_error(resp: &HttpResponse, request_id: Option<String>) -> Option<AttemptError> {
    let status = resp.status().as_u16();
    if status < 500 && status != 429 {
        return None;
    }
    let code = resp.body().bytes().and_then(|b| {
        let text = String::from_utf8_lossy(&b[..b.len().min(4096)]);
        let (_, rest) = text.split_once("<Code>")?;
        let (code, _) = rest.split_once("</Code>")?;
        Some(code.trim().to_string()).filter(|c| !c.is_empty())
    });
    let throttling = match &code {
        Some(c) => THROTTLING_CODES.contains(&c.as_str()),
        None => status == 429 || status == 503,
    };
    Some(AttemptError {
        http_status: status,
        code,
        request_id,
        throttling,
    })
}

/// The answer's `Date` header next to the local time now (the answer has just arrived).
pub fn clock_sample(resp: &HttpResponse) -> Option<ClockSample> {
    use aws_smithy_types::DateTime;
    use aws_smithy_types::date_time::Format;
    let received_at = std::time::SystemTime::now();
    let date = resp.headers().get("date")?;
    let server = DateTime::from_str(date.trim(), Format::HttpDate).ok()?;
    Some(ClockSample {
        server_date: std::time::SystemTime::try_from(server).ok()?,
        received_at,
    })
}

/// An error body (already read: errors are small and buffered) with S3's
/// `<Code>RequestTimeTooSkewed</Code>`, or the EC2 API's `RequestExpired`.
fn says_time_too_skewed(resp: &HttpResponse) -> bool {
    resp.body().bytes().is_some_and(|b| {
        let text = String::from_utf8_lossy(&b[..b.len().min(4096)]);
        text.contains("<Code>RequestTimeTooSkewed</Code>")
            || text.contains("<Code>RequestExpired</Code>")
    })
}

/// Walk an error's source chain looking for a `T`.
pub fn find_in_chain<'a, T: StdError + 'static>(
    err: &'a (dyn StdError + 'static),
) -> Option<&'a T> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<T>() {
            return Some(t);
        }
        cur = e.source();
    }
    None
}

/// Does any I/O error in the chain say the connection was reset (or aborted)? An
/// `io::Error`'s `source()` skips the error it wraps, so each one is opened with `get_ref`.
pub fn was_reset(err: &(dyn StdError + 'static)) -> bool {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        cur = match e.downcast_ref::<std::io::Error>() {
            Some(io) if classify_io(io) == ErrorCode::ConnectionReset => return true,
            Some(io) => io.get_ref().map(|i| i as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    false
}

/// The whole chain of an error on one line ("a: b: c"), without repeats.
pub fn chain_message(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        let s = e.to_string();
        if !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// Classify a connect-level I/O error by its OS error, so hints can name the fault.
fn classify_io(io: &std::io::Error) -> ErrorCode {
    use std::io::ErrorKind as K;
    match (io.raw_os_error(), io.kind()) {
        (Some(22), _) => ErrorCode::RouteBlackholed,
        (Some(13), _) | (Some(1), _) => ErrorCode::RouteProhibited,
        (Some(113), _) | (_, K::HostUnreachable) => ErrorCode::HostUnreachable,
        (Some(101), _) | (_, K::NetworkUnreachable) => ErrorCode::NetworkUnreachable,
        (_, K::ConnectionRefused) => ErrorCode::ConnectionRefused,
        (_, K::TimedOut) => ErrorCode::ConnectTimeout,
        (_, K::ConnectionReset) | (_, K::ConnectionAborted) => ErrorCode::ConnectionReset,
        _ => ErrorCode::ConnectError,
    }
}

/// Turn any SDK error into data: phase, code, message, HTTP status.
pub fn classify_sdk_error<E>(err: &SdkError<E, HttpResponse>, meta: &ResponseMeta) -> ErrorInfo
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    let as_dyn: &(dyn StdError + 'static) = err;
    let message = chain_message(as_dyn);
    match err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let m = se.err().meta();
            // Bodiless answers (HEAD, moto's bare 403) carry no code, or just the status.
            let code = match m.code() {
                Some(c) if !c.is_empty() && !c.bytes().all(|b| b.is_ascii_digit()) => c.to_string(),
                _ => status_code_name(status).to_string(),
            };
            let msg = m
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| format!("HTTP {status} with no error message"));
            ErrorInfo::service(Phase::Response, code, msg, Some(status))
        }
        SdkError::TimeoutError(_) => {
            let phase = if meta.peer.is_none() {
                Phase::Connect
            } else {
                Phase::Request
            };
            ErrorInfo::new(phase, ErrorCode::Timeout, message)
        }
        SdkError::DispatchFailure(d) => classify_dispatch(as_dyn, d.is_timeout(), d.is_io()),
        SdkError::ResponseError(_) => ErrorInfo {
            phase: Phase::Response,
            code: ErrorCode::ResponseError,
            message,
            http_status: meta.http_status,
        },
        SdkError::ConstructionFailure(_) => {
            let lower = message.to_ascii_lowercase();
            let phase = if lower.contains("credential") || lower.contains("identity") {
                Phase::Credentials
            } else {
                Phase::Config
            };
            ErrorInfo::new(phase, ErrorCode::RequestNotBuilt, message)
        }
        _ => ErrorInfo::new(Phase::Request, ErrorCode::SdkError, message),
    }
}

/// Classify a failure to send a request (no answer): DNS, connect, TLS, or the request.
fn classify_dispatch(err: &(dyn StdError + 'static), timeout: bool, io: bool) -> ErrorInfo {
    let message = chain_message(err);
    // The proxy's answer to its CONNECT, typed (its status is the error's HTTP status).
    if let Some(t) = find_in_chain::<crate::net::proxy::TunnelError>(err) {
        let mut e = ErrorInfo::new(Phase::Connect, ErrorCode::ProxyRefused, t.to_string());
        e.http_status = t.status;
        return e;
    }
    // A reset while connecting (or during the TLS handshake, whose errors name "tls") is the
    // peer's or a middlebox's TCP RST, not a certificate problem.
    if was_reset(err) {
        return ErrorInfo::new(Phase::Connect, ErrorCode::ConnectionReset, message);
    }
    if let Some(dns) = find_in_chain::<DnsLookupError>(err) {
        return ErrorInfo::new(Phase::Dns, ErrorCode::DnsError, dns.to_string());
    }
    if timeout {
        return ErrorInfo::new(Phase::Connect, ErrorCode::ConnectTimeout, message);
    }
    if let Some(tls) = find_rustls_error(err) {
        return ErrorInfo::new(Phase::Tls, tls_code(tls), message);
    }
    let lower = message.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        return ErrorInfo::new(Phase::Tls, ErrorCode::TlsError, message);
    }
    if let Some(e) = find_in_chain::<std::io::Error>(err) {
        return ErrorInfo::new(Phase::Connect, classify_io(e), message);
    }
    if io {
        return ErrorInfo::new(Phase::Connect, ErrorCode::ConnectError, message);
    }
    ErrorInfo::new(Phase::Request, ErrorCode::DispatchError, message)
}

/// The rustls error in an error's chain: hyper-rustls hands it up two `io::Error`s deep, and
/// an `io::Error`'s `source()` skips the error it wraps, so each `io::Error` is opened with
/// `get_ref` instead.
fn find_rustls_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return Some(t);
        }
        cur = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|i| i as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    None
}

/// What a rustls error says about the certificate, as a code: an untrusted issuer, a name the
/// certificate is not for, or another TLS failure.
fn tls_code(e: &rustls::Error) -> ErrorCode {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => ErrorCode::TlsUntrustedCertificate,
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => ErrorCode::TlsHostnameMismatch,
        _ => ErrorCode::TlsError,
    }
}

/// Classify the error of a raw request sent on a connector (no SDK operation around it).
pub fn classify_connector_error(
    err: &aws_smithy_runtime_api::client::result::ConnectorError,
) -> ErrorInfo {
    classify_dispatch(err, err.is_timeout(), err.is_io())
}

/// A code for bodiless error answers (HEAD requests, moto's bare 403s).
pub fn status_code_name(status: u16) -> &'static str {
    match status {
        301 => "PermanentRedirect",
        307 => "TemporaryRedirect",
        400 => "BadRequest",
        403 => "AccessDenied",
        404 => "NotFound",
        409 => "Conflict",
        412 => "PreconditionFailed",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        _ => "HttpError",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::result::ConnectorError;

    /// A handshake failure as hyper-rustls hands it up: rustls's error inside an `io::Error`,
    /// inside the connector's error.
    fn handshake(e: rustls::Error) -> ErrorInfo {
        let inner = std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let io = std::io::Error::other(inner);
        classify_connector_error(&ConnectorError::io(Box::new(io)))
    }

    #[test]
    fn tls_certificate_errors_are_classified_by_type() {
        use rustls::CertificateError as C;
        let e = handshake(rustls::Error::InvalidCertificate(C::UnknownIssuer));
        assert_eq!(
            (e.phase, e.code),
            (Phase::Tls, ErrorCode::TlsUntrustedCertificate)
        );
        let e = handshake(rustls::Error::InvalidCertificate(C::NotValidForName));
        assert_eq!(
            (e.phase, e.code),
            (Phase::Tls, ErrorCode::TlsHostnameMismatch)
        );
        let e = handshake(rustls::Error::InvalidCertificate(
            C::NotValidForNameContext {
                expected: rustls_pki_types::ServerName::try_from("b.s3.us-east-1.amazonaws.com")
                    .unwrap(),
                presented: vec!["www.example.com".into()],
            },
        ));
        assert_eq!(e.code, ErrorCode::TlsHostnameMismatch);
        assert!(e.message.contains("www.example.com"), "{}", e.message);
        let e = handshake(rustls::Error::InvalidCertificate(C::Expired));
        assert_eq!((e.phase, e.code), (Phase::Tls, ErrorCode::TlsError));
        // no rustls error at all: a plain reset stays a connect failure
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let e = classify_connector_error(&ConnectorError::io(Box::new(io)));
        assert_eq!(
            (e.phase, e.code),
            (Phase::Connect, ErrorCode::ConnectionReset)
        );
    }
}
