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

use aws_smithy_http_client::tls::{TlsContext, TrustStore};
use aws_smithy_http_client::{Connector, tls};
use aws_smithy_runtime_api::client::http::{HttpConnectorSettings, SharedHttpClient};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use hyper_util::client::proxy::matcher::Matcher;

pub use connector::{TimedConnector, TimedHttpClient};

pub use proxy::ProxyEnv;
pub use resolver::ProbeResolver;

fn tls_context(ca_bundle: Option<&[u8]>) -> Result<Option<TlsContext>, String> {
    ca_bundle
        .map(|pem| {
            TlsContext::builder()
                .with_trust_store(TrustStore::default().with_pem_certificate(pem.to_vec()))
                .build()
                .map_err(|e| format!("cannot use the CA bundle: {e}"))
        })
        .transpose()
}

/// The SDK's connector for the requests the proxy intercepts (`None`: no proxy is set).
fn proxy_connector(
    ca_bundle: Option<&[u8]>,
    proxy: &ProxyEnv,
    resolver: &ProbeResolver,
    settings: Option<&HttpConnectorSettings>,
    components: Option<&RuntimeComponents>,
) -> Result<Option<(Matcher, Connector)>, String> {
    if !proxy.is_set() {
        return Ok(None);
    }
    let mut b = Connector::builder();
    b.set_connector_settings(settings.cloned());
    if let Some(c) = components {
        b.set_sleep_impl(c.sleep_impl());
    }
    let mut b = b
        .proxy_config(proxy.config()?)
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ));
    if let Some(ctx) = tls_context(ca_bundle)? {
        b = b.tls_context(ctx);
    }
    Ok(Some((
        proxy.matcher(),
        b.build_with_resolver(resolver.clone()),
    )))
}

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
    // checked once here, so that the factory below cannot fail
    proxy_connector(ca_bundle, proxy, &resolver, None, None)?;
    let ca = ca_bundle.map(<[u8]>::to_vec);
    let proxy = proxy.clone();
    Ok(SharedHttpClient::new(TimedHttpClient::new(
        move |settings, components| {
            let proxied = proxy_connector(ca.as_deref(), &proxy, &resolver, settings, components)
                .ok()
                .flatten();
            TimedConnector::new(
                resolver.clone(),
                tls.clone(),
                proxied,
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
    Ok(TimedConnector::new(
        resolver.clone(),
        connector::tls_config(ca_bundle)?,
        proxy_connector(ca_bundle, proxy, resolver, None, None)?,
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
    let mut settings = HttpConnectorSettings::builder();
    settings.set_connect_timeout(connect_timeout);
    let settings = settings.build();
    Ok(TimedConnector::new(
        resolver.clone(),
        connector::tls_config(ca_bundle)?,
        proxy_connector(ca_bundle, proxy, resolver, Some(&settings), None)?,
        connect_timeout,
        None,
    ))
}
