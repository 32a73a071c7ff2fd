//! The network layer every client shares: one DNS resolver (hickory, never getaddrinfo) and one
//! HTTP client built on it, so the addresses we analyse are the addresses we connect to. The
//! HTTP proxy of the environment ([`proxy`]) is configured here, once, for every client. The
//! connector ([`connector`]) times every request's phases (DNS, connect, TLS, time to first
//! byte, transfer) into the operation that sent it ([`timing::capture`]).

pub mod connect;
pub mod connector;
pub mod proxy;
pub mod resolver;
pub mod timing;

use aws_smithy_runtime_api::client::http::SharedHttpClient;

pub use connector::{TimedConnector, TimedHttpClient};

pub use proxy::ProxyEnv;
pub use resolver::ProbeResolver;

/// The HTTP client for every SDK client (S3, EC2, IMDS, ...), resolving through `resolver`,
/// timing every request's phases ([`connector`]) and going through the environment's proxy
/// (`proxy`). `ca_bundle` (PEM, from `AWS_CA_BUNDLE`) is trusted in addition to the system
/// roots, e.g. a TLS-inspecting proxy's CA. An unusable bundle or proxy URL is an error.
pub fn http_client(
    resolver: ProbeResolver,
    ca_bundle: Option<&[u8]>,
    proxy: &ProxyEnv,
) -> Result<SharedHttpClient, String> {
    let tls = connector::tls_config(ca_bundle)?;
    proxy.validate()?;
    let proxy = proxy.clone();
    Ok(SharedHttpClient::new(TimedHttpClient::new(
        move |settings| {
            TimedConnector::new(
                resolver.clone(),
                tls.clone(),
                proxy.route(),
                settings.and_then(|s| s.connect_timeout()),
                settings.and_then(|s| s.read_timeout()),
            )
        },
    )))
}

/// One connector for raw requests (ip-ranges, the unsigned S3 request; an API client of our
/// own): the same resolver, TLS trust, proxy and phase timings as [`http_client`], no timeout
/// of its own (the caller bounds each request).
pub fn connector(
    resolver: &ProbeResolver,
    ca_bundle: Option<&[u8]>,
    proxy: &ProxyEnv,
) -> Result<TimedConnector, String> {
    proxy.validate()?;
    Ok(TimedConnector::new(
        resolver.clone(),
        connector::tls_config(ca_bundle)?,
        proxy.route(),
        None,
        None,
    ))
}

/// [`connector`] with the SDK clients' connect timeout too (the EC2 Query API client): the
/// same resolver, TLS trust, proxy and phase timings.
pub fn api_connector(
    resolver: &ProbeResolver,
    ca_bundle: Option<&[u8]>,
    proxy: &ProxyEnv,
    connect_timeout: Option<std::time::Duration>,
) -> Result<TimedConnector, String> {
    proxy.validate()?;
    Ok(TimedConnector::new(
        resolver.clone(),
        connector::tls_config(ca_bundle)?,
        proxy.route(),
        connect_timeout,
        None,
    ))
}
