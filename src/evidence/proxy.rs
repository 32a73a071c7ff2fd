//! Proxy and resolver evidence: which HTTP proxy the environment configured (never its
//! credentials), which DNS servers the resolver asked and where they came from, and the one
//! unsigned request of the `s3_unsigned` check.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ErrorInfo, ResponseMeta};

/// One proxy the environment names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxySetting {
    /// The proxy URL without any `user:password@` (those are never recorded).
    pub url: String,
    /// The variable it came from (`HTTPS_PROXY`, `https_proxy`, `HTTP_PROXY`, `http_proxy`).
    pub variable: String,
    /// The URL carried credentials (not shown).
    #[serde(default)]
    pub credentials: bool,
}

/// The proxy configuration, resolved from the environment once, as the AWS CLI reads it:
/// https requests use `https`, http requests (IMDS) use `http`; `no_proxy` exempts hosts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyEvidence {
    #[serde(default)]
    pub https: Option<ProxySetting>,
    #[serde(default)]
    pub http: Option<ProxySetting>,
    /// The `NO_PROXY` entries (host suffixes, `.domain`, IPs, CIDRs, `*`).
    #[serde(default)]
    pub no_proxy: Vec<String>,
    /// The variable they came from (`NO_PROXY` or `no_proxy`).
    #[serde(default)]
    pub no_proxy_variable: Option<String>,
}

crate::wire_enum! {
    /// Where the resolver's servers came from.
    pub enum ResolverSource {
        /// `/etc/resolv.conf`.
        ResolvConf => "resolv_conf",
        /// `--dns-server`.
        Flag => "flag",
    }
}

/// The DNS servers the probe's resolver asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolverEvidence {
    /// `ip:port`, in the order asked.
    pub servers: Vec<String>,
    pub source: ResolverSource,
    /// The configuration could not be read (a broken resolv.conf).
    #[serde(default)]
    pub error: Option<String>,
}

/// The one unsigned request of the `s3_unsigned` check (no credentials, or none that S3
/// accepted): any HTTP answer from S3 proves the network path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsignedEvidence {
    /// `HEAD` of this URL (the bucket's regional endpoint).
    pub url: String,
    #[serde(default)]
    pub duration: Duration,
    /// Status, request id, peer (the proxy's address when a proxy carried it).
    #[serde(default)]
    pub meta: ResponseMeta,
    /// No answer: the phase (dns, connect, tls, request) and why.
    #[serde(default)]
    pub error: Option<ErrorInfo>,
}
