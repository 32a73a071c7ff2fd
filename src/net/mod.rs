//! The network layer every client shares: one DNS resolver (hickory, never getaddrinfo) and one
//! HTTP client built on it, so the addresses we analyse are the addresses we connect to. The
//! HTTP proxy of the environment ([`proxy`]) is configured here, once, for every client.

pub mod proxy;
pub mod resolver;

use aws_smithy_http_client::tls::{TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, Connector, tls};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

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

/// The HTTP client for every SDK client (S3, IMDS, ...), resolving through `resolver` and going
/// through the environment's proxy (`proxy`). `ca_bundle` (PEM, from `AWS_CA_BUNDLE`) is
/// trusted in addition to the system roots, e.g. a TLS-inspecting proxy's CA. An unusable
/// bundle or proxy URL is an error.
pub fn http_client(
    resolver: ProbeResolver,
    ca_bundle: Option<&[u8]>,
    proxy: &ProxyEnv,
) -> Result<SharedHttpClient, String> {
    let ctx = tls_context(ca_bundle)?;
    let proxy = proxy.config()?;
    Ok(
        Builder::new().build_with_connector_fn(move |settings, components| {
            let mut b = Connector::builder();
            b.set_connector_settings(settings.cloned());
            if let Some(c) = components {
                b.set_sleep_impl(c.sleep_impl());
            }
            let mut b = b
                .proxy_config(proxy.clone())
                .tls_provider(tls::Provider::Rustls(
                    tls::rustls_provider::CryptoMode::Ring,
                ));
            if let Some(ctx) = &ctx {
                b = b.tls_context(ctx.clone());
            }
            b.build_with_resolver(resolver.clone())
        }),
    )
}

/// One connector for a raw request (ip-ranges, the unsigned S3 request): the same resolver,
/// TLS trust and proxy as [`http_client`].
pub fn connector(
    resolver: &ProbeResolver,
    ca_bundle: Option<&[u8]>,
    proxy: &ProxyEnv,
) -> Result<Connector, String> {
    api_connector(resolver, ca_bundle, proxy, None)
}

/// [`connector`] with the SDK clients' connect timeout too (the EC2 Query API client).
pub fn api_connector(
    resolver: &ProbeResolver,
    ca_bundle: Option<&[u8]>,
    proxy: &ProxyEnv,
    connect_timeout: Option<std::time::Duration>,
) -> Result<Connector, String> {
    let mut settings = aws_smithy_runtime_api::client::http::HttpConnectorSettings::builder();
    settings.set_connect_timeout(connect_timeout);
    let mut b = Connector::builder()
        .connector_settings(settings.build())
        .proxy_config(proxy.config()?)
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ));
    if let Some(ctx) = tls_context(ca_bundle)? {
        b = b.tls_context(ctx);
    }
    Ok(b.build_with_resolver(resolver.clone()))
}
