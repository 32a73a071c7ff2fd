//! The network layer every client shares: one DNS resolver (hickory, never getaddrinfo) and one
//! HTTP client built on it, so the addresses we analyse are the addresses we connect to.

pub mod resolver;

use aws_smithy_http_client::{Builder, tls};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

pub use resolver::{DnsAnswer, ProbeResolver};

/// The HTTP client for every SDK client (S3, IMDS, ...), resolving through `resolver`.
pub fn http_client(resolver: ProbeResolver) -> SharedHttpClient {
    Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_with_resolver(resolver)
}
