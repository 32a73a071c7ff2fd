//! A failed step, as data: the phase where it broke (after dog's `src/output.rs`), a typed error
//! code (vpce-probe's own codes, or the service's code as it sent it), the message and the HTTP
//! status when an answer arrived.

use serde::{Deserialize, Serialize};

crate::wire_enum! {
    /// Where in the life of a request something went wrong.
    pub enum Phase {
        /// Local configuration (bad endpoint URL, unreadable profile, ...).
        Config => "config",
        /// Finding or loading credentials.
        Credentials => "credentials",
        /// Resolving a name.
        Dns => "dns",
        /// Opening the TCP connection.
        Connect => "connect",
        /// The TLS handshake.
        Tls => "tls",
        /// Sending the request / waiting for the answer.
        Request => "request",
        /// The service answered with an error, or an answer we could not read.
        Response => "response",
        /// The answer arrived but did not hold what we sent (bytes, checksum); or a computed
        /// check found the evidence wrong.
        Verify => "verify",
    }
}

/// Define [`ErrorCode`]: vpce-probe's own codes, and `Service(String)` for any other code
/// (S3's `NoSuchBucket`, the EC2 API's `UnauthorizedOperation`, CloudWatch's, ...).
macro_rules! error_codes {
    ( $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)? ) => {
        /// An error code: one of vpce-probe's own, or the service's as it sent it.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$vmeta])* $variant, )+
            /// The service's own code (`NoSuchBucket`, `AccessDenied`, ...), or a name derived
            /// from the HTTP status of an answer without a body.
            Service(String),
        }

        impl ErrorCode {
            /// Every code of vpce-probe's own.
            pub const OWN: &'static [ErrorCode] = &[ $( ErrorCode::$variant ),+ ];

            /// The wire name.
            pub fn as_str(&self) -> &str {
                match self {
                    $( ErrorCode::$variant => $wire, )+
                    ErrorCode::Service(s) => s,
                }
            }

            /// A wire name back to its code (anything not ours is the service's).
            pub fn parse(s: &str) -> ErrorCode {
                match s {
                    $( $wire => ErrorCode::$variant, )+
                    other => ErrorCode::Service(other.to_string()),
                }
            }
        }
    };
}

error_codes! {
    // transport
    /// No answer within what was left of the deadline (or an SDK timeout).
    Timeout => "timeout",
    /// The run deadline passed before the operation could start.
    Deadline => "deadline",
    /// The TCP connection was not established within `--connect-timeout`.
    ConnectTimeout => "connect_timeout",
    /// EINVAL: a blackhole route drops this traffic.
    RouteBlackholed => "route_blackholed",
    /// EACCES/EPERM: a prohibit route or a local firewall.
    RouteProhibited => "route_prohibited",
    /// EHOSTUNREACH.
    HostUnreachable => "host_unreachable",
    /// ENETUNREACH: no route.
    NetworkUnreachable => "network_unreachable",
    /// The peer refused the connection.
    ConnectionRefused => "connection_refused",
    /// The connection was reset or aborted.
    ConnectionReset => "connection_reset",
    /// Any other connect-level I/O error.
    ConnectError => "connect_error",
    /// The environment's HTTP proxy did not open the tunnel asked for: its `CONNECT` answer was
    /// not 2xx (`http_status` is the proxy's), or it closed the connection without answering.
    ProxyRefused => "proxy_refused",
    /// The probe's resolver could not resolve the endpoint name.
    DnsError => "dns_error",
    /// The TLS handshake or certificate check failed (for another reason than the two below).
    TlsError => "tls_error",
    /// The server's certificate chain ends at no trusted CA (rustls `UnknownIssuer`): an
    /// intercepting middlebox's own CA, or a CA missing from `AWS_CA_BUNDLE`.
    TlsUntrustedCertificate => "tls_untrusted_certificate",
    /// The server's certificate, from a trusted CA, is not for the name connected to (rustls
    /// `NotValidForName`): the message lists the names it is for.
    TlsHostnameMismatch => "tls_hostname_mismatch",
    /// The request could not be sent, for another reason.
    DispatchError => "dispatch_error",
    /// Any other SDK failure.
    SdkError => "sdk_error",
    /// An answer arrived but could not be parsed.
    ResponseError => "response_error",
    /// The object body could not be read to the end.
    BodyReadError => "body_read_error",
    /// The SDK could not build or sign the request.
    RequestNotBuilt => "request_not_built",
    // verification
    /// S3 reports a different SHA-256 than the probe sent.
    ChecksumMismatch => "checksum_mismatch",
    /// The bytes read back differ from those written.
    ContentMismatch => "content_mismatch",
    // IMDS
    /// IMDS did not answer the token request.
    ImdsUnreachable => "imds_unreachable",
    /// IMDS refused the IMDSv2 token.
    ImdsTokenFailed => "imds_token_failed",
    /// IMDS answered with an HTTP error.
    ImdsErrorResponse => "imds_error_response",
    /// Any other IMDS failure.
    ImdsError => "imds_error",
    /// Collecting the instance context took too long.
    ImdsTimeout => "imds_timeout",
    // credentials
    /// No provider in the chain supplied credentials.
    NoCredentials => "no_credentials",
    /// A configured provider failed.
    CredentialsError => "credentials_error",
    /// A provider did not answer in time.
    CredentialsTimeout => "credentials_timeout",
    // the EC2 API and its fallbacks
    /// No route table for the subnet, and no main table.
    RouteTableNotFound => "route_table_not_found",
    /// No managed prefix list named `com.amazonaws.<region>.s3`.
    PrefixListNotFound => "prefix_list_not_found",
    /// No network ACL is associated with the subnet, and the VPC has no default ACL.
    NetworkAclNotFound => "network_acl_not_found",
    /// DescribeSecurityGroups did not describe one of the instance's groups.
    SecurityGroupNotFound => "security_group_not_found",
    /// The ip-ranges document could not be fetched.
    IpRangesUnreachable => "ip_ranges_unreachable",
    /// The ip-ranges URL answered with another status than 200.
    IpRangesHttpError => "ip_ranges_http_error",
    /// Not an ip-ranges document, or no S3 range for the region.
    IpRangesInvalid => "ip_ranges_invalid",
    /// `VPCE_PROBE_IP_RANGES_URL` is not a URL.
    BadUrl => "bad_url",
    /// The TLS configuration could not be built.
    TlsConfig => "tls_config",
    // DNS lookups of the `dns` check
    /// The name does not exist.
    Nxdomain => "nxdomain",
    /// The name has no record of the type asked.
    NoRecords => "no_records",
    /// The server failed.
    Servfail => "servfail",
    /// The server refused.
    Refused => "refused",
    /// The `dns` check failed and no lookup finished before the deadline.
    DnsFailed => "dns_failed",
    // computed checks
    /// The computed `route` check failed.
    RouteFailed => "route_failed",
    /// The computed `endpoint_policy` check failed.
    EndpointPolicyFailed => "endpoint_policy_failed",
    /// The computed `bucket_policy` check failed.
    BucketPolicyFailed => "bucket_policy_failed",
    /// The computed `security_group` check failed.
    SecurityGroupFailed => "security_group_failed",
    /// The computed `network_acl` check failed.
    NetworkAclFailed => "network_acl_failed",
    // sinks
    /// The CloudWatch Logs event could not be built.
    BadLogEvent => "bad_log_event",
    /// A sink failed without a more precise error.
    SinkError => "sink_error",
    // lifecycle
    /// A stop signal (SIGINT, SIGTERM) ended the step before it finished.
    Interrupted => "interrupted",
}

impl ErrorCode {
    /// The service's code, when this is one.
    pub fn service(&self) -> Option<&str> {
        match self {
            ErrorCode::Service(s) => Some(s),
            _ => None,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as Deserialize>::deserialize(d)?;
        Ok(ErrorCode::parse(&s))
    }
}

/// Error codes that mean "slow down" (the AWS SDKs' throttling list).
pub fn is_throttling_code(code: &str) -> bool {
    matches!(
        code,
        "RequestLimitExceeded"
            | "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestThrottled"
            | "RequestThrottledException"
            | "TooManyRequestsException"
            | "ProvisionedThroughputExceededException"
            | "TransactionInProgressException"
            | "SlowDown"
            | "BandwidthLimitExceeded"
            | "EC2ThrottledException"
            | "PriorRequestNotComplete"
    )
}

/// A failed step, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// Where it failed.
    pub phase: Phase,
    /// The service's error code or one of ours.
    pub code: ErrorCode,
    /// Human-readable message, never containing secrets.
    pub message: String,
    /// HTTP status of the answer, when there was one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub http_status: Option<u16>,
}

impl ErrorInfo {
    /// A new error without an HTTP status.
    pub fn new(phase: Phase, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            phase,
            code,
            message: message.into(),
            http_status: None,
        }
    }

    /// A service's answer: its code, message and HTTP status.
    pub fn service(
        phase: Phase,
        code: impl Into<String>,
        message: impl Into<String>,
        status: Option<u16>,
    ) -> Self {
        Self {
            phase,
            code: ErrorCode::Service(code.into()),
            message: message.into(),
            http_status: status,
        }
    }

    /// True when the service said "slow down": a throttling code (EC2's `RequestLimitExceeded`,
    /// `Throttling`, ..., the SDKs' list), or HTTP 429.
    pub fn is_throttling(&self) -> bool {
        self.http_status == Some(429) || self.code.service().is_some_and(is_throttling_code)
    }

    /// True for failures that say nothing reached the service: DNS, connect, TLS, or a
    /// timeout before any answer.
    pub fn is_network(&self) -> bool {
        matches!(self.phase, Phase::Dns | Phase::Connect | Phase::Tls)
            || (self.code == ErrorCode::Timeout && self.http_status.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_wire_names() {
        for c in ErrorCode::OWN {
            assert_eq!(ErrorCode::parse(c.as_str()), *c);
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), *c);
        }
        assert_eq!(
            ErrorCode::parse("NoSuchBucket"),
            ErrorCode::Service("NoSuchBucket".into())
        );
        for p in Phase::ALL {
            assert_eq!(Phase::parse(p.as_str()), Some(*p));
        }
    }
}
