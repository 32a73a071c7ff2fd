//! The `dns` probe: resolve the names the S3 client will really connect to — regional
//! `s3.<region>.amazonaws.com` and virtual-hosted `<bucket>.s3.<region>.amazonaws.com`, or the
//! host of an `AWS_ENDPOINT_URL(_S3)` override — A and AAAA, with TTLs, server and timing.

use std::net::IpAddr;
use std::time::Instant;

use crate::evidence::DnsEvidence;
use crate::net::ProbeResolver;

/// The endpoint override the S3 client will use, if any (`AWS_ENDPOINT_URL_S3`, then
/// `AWS_ENDPOINT_URL`).
pub fn s3_endpoint_override() -> Option<String> {
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .into_iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.trim().is_empty())
}

/// The host part of a URL (no scheme, port, path or IPv6 brackets).
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map(|x| x.1).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?.to_string()
    } else {
        authority.split(':').next()?.to_string()
    };
    (!host.is_empty()).then_some(host)
}

/// The explicit port of a URL (`https://host:8443/` → 8443), if it names one.
pub fn url_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://").map(|x| x.1).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?;
    let after_host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.1,
        None => authority.split_once(':').map_or("", |x| x.1),
    };
    let port = after_host.strip_prefix(':').unwrap_or(after_host);
    port.parse().ok()
}

/// The names the S3 client resolves for `bucket`: virtual-hosted first (the one requests go
/// to), then the regional name. Path-style and dotted bucket names use the regional name
/// only; an IP-address endpoint needs no DNS at all.
pub fn s3_names(
    bucket: &str,
    region: &str,
    path_style: bool,
    endpoint: Option<&str>,
) -> Vec<String> {
    let base = match endpoint {
        Some(url) => match url_host(url) {
            Some(h) if h.parse::<IpAddr>().is_ok() => return vec![],
            Some(h) => h,
            None => return vec![],
        },
        None => format!("s3.{region}.amazonaws.com"),
    };
    let virtual_hosted = !path_style && !bucket.contains('.');
    let mut names = Vec::new();
    if virtual_hosted {
        names.push(format!("{bucket}.{base}"));
    }
    names.push(base);
    names
}

/// Resolve each name, A and AAAA concurrently.
pub async fn check(resolver: &ProbeResolver, names: Vec<String>) -> DnsEvidence {
    let started = Instant::now();
    let mut lookups = Vec::new();
    for name in &names {
        let (a, aaaa) = tokio::join!(
            resolver.lookup_typed(name, false),
            resolver.lookup_typed(name, true)
        );
        lookups.push(a);
        lookups.push(aaaa);
    }
    DnsEvidence {
        servers: resolver.servers(),
        names,
        lookups,
        duration: started.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls() {
        for (url, host) in [
            (
                "https://s3.us-east-1.amazonaws.com",
                Some("s3.us-east-1.amazonaws.com"),
            ),
            ("http://127.0.0.1:5000/", Some("127.0.0.1")),
            ("http://[::1]:9000/x", Some("::1")),
            ("https://user@minio.local:9000?x", Some("minio.local")),
            ("", None),
        ] {
            assert_eq!(url_host(url).as_deref(), host, "{url}");
        }
    }

    #[test]
    fn ports_of_urls() {
        for (url, port) in [
            ("https://s3.us-east-1.amazonaws.com", None),
            ("http://127.0.0.1:5000/", Some(5000)),
            ("http://[::1]:9000/x", Some(9000)),
            ("http://[::1]/x", None),
            ("https://user@minio.local:9443?x", Some(9443)),
        ] {
            assert_eq!(url_port(url), port, "{url}");
        }
    }

    #[test]
    fn names_the_client_uses() {
        let r = "us-east-1";
        assert_eq!(
            s3_names("b1", r, false, None),
            [
                "b1.s3.us-east-1.amazonaws.com",
                "s3.us-east-1.amazonaws.com"
            ]
        );
        assert_eq!(
            s3_names("b1", r, true, None),
            ["s3.us-east-1.amazonaws.com"]
        );
        assert_eq!(
            s3_names("a.b", r, false, None),
            ["s3.us-east-1.amazonaws.com"]
        );
        assert!(s3_names("b1", r, false, Some("http://127.0.0.1:5000")).is_empty());
        assert_eq!(
            s3_names("b1", r, false, Some("https://minio.local:9000")),
            ["b1.minio.local", "minio.local"]
        );
    }
}
