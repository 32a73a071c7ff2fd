//! The network layer every client shares: one DNS resolver (hickory, never getaddrinfo) and one
//! HTTP client built on it, so the addresses we analyse are the addresses we connect to.

pub mod resolver;

use aws_smithy_http_client::tls::{TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, tls};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

pub use resolver::ProbeResolver;

/// The HTTP client for every SDK client (S3, IMDS, ...), resolving through `resolver`.
/// `ca_bundle` (PEM, from `AWS_CA_BUNDLE`) is trusted in addition to the system roots, e.g. a
/// TLS-inspecting proxy's CA. An unusable bundle is an error.
pub fn http_client(
    resolver: ProbeResolver,
    ca_bundle: Option<&[u8]>,
) -> Result<SharedHttpClient, String> {
    let mut builder = Builder::new().tls_provider(tls::Provider::Rustls(
        tls::rustls_provider::CryptoMode::Ring,
    ));
    if let Some(pem) = ca_bundle {
        let ctx = TlsContext::builder()
            .with_trust_store(TrustStore::default().with_pem_certificate(pem.to_vec()))
            .build()
            .map_err(|e| format!("cannot use the CA bundle: {e}"))?;
        builder = builder.tls_context(ctx);
    }
    Ok(builder.build_with_resolver(resolver))
}
