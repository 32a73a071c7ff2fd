//! The one DNS resolver of the probe: hickory-resolver over `/etc/resolv.conf` (or the server
//! given with `--dns-server`), recording every answer it gives so that reports can show what
//! a name resolved to, from which server, and how long it took.
//!
//! A static glibc binary must not resolve through getaddrinfo/NSS; every client of the probe
//! resolves through this type instead (it implements the SDK's `ResolveDns`).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::dns::{DnsFuture, ResolveDns, ResolveDnsError};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};

use crate::evidence::{DnsAnswer, DnsRecord, ErrorCode, RecordType as Rtype, TypedLookup};

/// A lookup failure, kept as a distinct type so errors can be traced back to DNS.
#[derive(Debug)]
pub struct DnsLookupError {
    pub name: String,
    pub message: String,
}

impl std::fmt::Display for DnsLookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot resolve {}: {}", self.name, self.message)
    }
}

impl std::error::Error for DnsLookupError {}

#[derive(Debug)]
enum Backend {
    Hickory(Box<TokioResolver>),
    /// The configuration could not be read; every lookup fails with this message.
    Broken(String),
}

/// Shared, cheap to clone; every clone records into the same log.
#[derive(Debug, Clone)]
pub struct ProbeResolver {
    backend: Arc<Backend>,
    servers: Arc<Vec<String>>,
    log: Arc<Mutex<Vec<DnsAnswer>>>,
}

/// A short code for a hickory error, from its text (hickory's error kinds are not stable).
pub fn classify_dns_error(message: &str) -> ErrorCode {
    let m = message.to_ascii_lowercase();
    if m.contains("nxdomain") || m.contains("no such domain") {
        ErrorCode::Nxdomain
    } else if m.contains("no record") || m.contains("no records") {
        ErrorCode::NoRecords
    } else if m.contains("timed out") || m.contains("timeout") {
        ErrorCode::Timeout
    } else if m.contains("servfail") || m.contains("server failure") {
        ErrorCode::Servfail
    } else if m.contains("refused") {
        ErrorCode::Refused
    } else {
        ErrorCode::DnsError
    }
}

/// The name as a fully qualified query (`name.`): a dotted name is never expanded with the
/// resolv.conf `search` domains (no `…amazonaws.com.ec2.internal` queries). IP literals and
/// single-label names are left as they are.
fn fqdn(name: &str) -> String {
    if name.ends_with('.') || !name.contains('.') || name.parse::<IpAddr>().is_ok() {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

impl ProbeResolver {
    /// A resolver from the system configuration with a per-lookup deadline.
    pub fn from_system(timeout: Duration) -> Self {
        Self::new(None, timeout)
    }

    /// A resolver asking `server` (`--dns-server`), or the system's servers when `None`.
    pub fn new(server: Option<SocketAddr>, timeout: Duration) -> Self {
        let config = match server {
            Some(addr) => {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
                Ok((ResolverConfig::from_parts(None, vec![], vec![ns]), None))
            }
            None => hickory_resolver::system_conf::read_system_conf()
                .map(|(c, o)| (c, Some(o)))
                .map_err(|e| format!("cannot read the system DNS configuration: {e}")),
        };
        let (backend, servers) = match config {
            Ok((config, opts)) => {
                let servers = config
                    .name_servers()
                    .iter()
                    .map(|ns| {
                        let port = ns.connections.first().map(|c| c.port).unwrap_or(53);
                        SocketAddr::new(ns.ip, port).to_string()
                    })
                    .collect();
                let mut builder =
                    TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
                if let Some(o) = opts {
                    *builder.options_mut() = o;
                }
                let o = builder.options_mut();
                o.timeout = timeout;
                o.attempts = 1;
                match builder.build() {
                    Ok(r) => (Backend::Hickory(Box::new(r)), servers),
                    Err(e) => (Backend::Broken(e.to_string()), servers),
                }
            }
            Err(e) => (Backend::Broken(e), vec![]),
        };
        Self {
            backend: Arc::new(backend),
            servers: Arc::new(servers),
            log: Arc::default(),
        }
    }

    /// The name servers asked (`ip:port`).
    pub fn servers(&self) -> Vec<String> {
        self.servers.as_ref().clone()
    }

    /// Why the configuration could not be used (every lookup then fails with it).
    pub fn config_error(&self) -> Option<String> {
        match &*self.backend {
            Backend::Broken(m) => Some(m.clone()),
            Backend::Hickory(_) => None,
        }
    }

    /// Resolve `name` to its addresses (A and AAAA), recording the answer.
    pub async fn lookup(&self, name: &str) -> Result<Vec<IpAddr>, DnsLookupError> {
        let started = Instant::now();
        let result = match &*self.backend {
            Backend::Hickory(r) => match r.lookup_ip(fqdn(name)).await {
                Ok(l) => {
                    let addrs: Vec<IpAddr> = l.iter().collect();
                    if addrs.is_empty() {
                        Err("no addresses".to_string())
                    } else {
                        Ok(addrs)
                    }
                }
                Err(e) => Err(e.to_string()),
            },
            Backend::Broken(msg) => Err(msg.clone()),
        };
        let answer = DnsAnswer {
            name: name.to_string(),
            addresses: result.clone().unwrap_or_default(),
            duration_ms: started.elapsed().as_millis() as u64,
            error: result.as_ref().err().cloned(),
        };
        self.log.lock().expect("resolver log poisoned").push(answer);
        result.map_err(|message| DnsLookupError {
            name: name.to_string(),
            message,
        })
    }

    /// One typed query (A or AAAA) with TTLs, for the `dns` check.
    pub async fn lookup_typed(&self, name: &str, v6: bool) -> TypedLookup {
        let started = Instant::now();
        let rtype = if v6 { RecordType::AAAA } else { RecordType::A };
        let result: Result<Vec<DnsRecord>, String> = match &*self.backend {
            Backend::Hickory(r) => match r.lookup(fqdn(name), rtype).await {
                Ok(l) => Ok(l
                    .answers()
                    .iter()
                    .filter_map(|rec| {
                        let address = match &rec.data {
                            RData::A(a) => IpAddr::V4(a.0),
                            RData::AAAA(a) => IpAddr::V6(a.0),
                            _ => return None,
                        };
                        Some(DnsRecord {
                            address,
                            ttl: rec.ttl,
                        })
                    })
                    .collect()),
                Err(e) => Err(e.to_string()),
            },
            Backend::Broken(msg) => Err(msg.clone()),
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        let (records, error, message) = match result {
            Ok(r) if r.is_empty() => (r, Some(ErrorCode::NoRecords), None),
            Ok(r) => (r, None, None),
            Err(m) => (vec![], Some(classify_dns_error(&m)), Some(m)),
        };
        TypedLookup {
            name: name.to_string(),
            record_type: if v6 { Rtype::Aaaa } else { Rtype::A },
            records,
            duration_ms,
            error,
            message,
        }
    }

    /// Every distinct answer given so far, in order of first appearance (every connection
    /// resolves its host: the same answer repeated is listed once).
    pub fn answers(&self) -> Vec<DnsAnswer> {
        let log = self.log.lock().expect("resolver log poisoned");
        let mut out: Vec<DnsAnswer> = Vec::new();
        for a in log.iter() {
            let seen = out
                .iter()
                .any(|o| o.name == a.name && o.addresses == a.addresses && o.error == a.error);
            if !seen {
                out.push(a.clone());
            }
        }
        out
    }
}

impl ResolveDns for ProbeResolver {
    fn resolve_dns<'a>(&'a self, name: &'a str) -> DnsFuture<'a> {
        DnsFuture::new(async move { self.lookup(name).await.map_err(ResolveDnsError::new) })
    }
}

#[cfg(test)]
mod tests {
    use super::{classify_dns_error, fqdn};
    use crate::evidence::ErrorCode;

    #[test]
    fn names_are_queried_fully_qualified() {
        assert_eq!(
            fqdn("s3.us-east-1.amazonaws.com"),
            "s3.us-east-1.amazonaws.com."
        );
        assert_eq!(
            fqdn("s3.us-east-1.amazonaws.com."),
            "s3.us-east-1.amazonaws.com."
        );
        assert_eq!(fqdn("localhost"), "localhost");
        assert_eq!(fqdn("127.0.0.1"), "127.0.0.1");
        assert_eq!(fqdn("::1"), "::1");
    }

    #[test]
    fn dns_error_codes() {
        for (msg, code) in [
            (
                "no record found for Query { name: x, type: A } NXDomain",
                ErrorCode::Nxdomain,
            ),
            ("no records found for Query", ErrorCode::NoRecords),
            ("request timed out", ErrorCode::Timeout),
            ("ServFail", ErrorCode::Servfail),
            ("error response: Query Refused", ErrorCode::Refused),
            ("something else", ErrorCode::DnsError),
        ] {
            assert_eq!(classify_dns_error(msg), code, "{msg}");
        }
    }
}
