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
use serde::{Deserialize, Serialize};

/// One lookup the resolver performed for a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsAnswer {
    pub name: String,
    pub addresses: Vec<IpAddr>,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One answer record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    pub address: IpAddr,
    pub ttl: u32,
}

/// A typed lookup (A or AAAA) for the `dns` check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypedLookup {
    pub name: String,
    /// `A` or `AAAA`.
    pub record_type: String,
    pub records: Vec<DnsRecord>,
    pub duration_ms: u64,
    /// `nxdomain`, `no_records`, `timeout`, `servfail`, `refused`, `dns_error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

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
pub fn classify_dns_error(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("nxdomain") || m.contains("no such domain") {
        "nxdomain"
    } else if m.contains("no record") || m.contains("no records") {
        "no_records"
    } else if m.contains("timed out") || m.contains("timeout") {
        "timeout"
    } else if m.contains("servfail") || m.contains("server failure") {
        "servfail"
    } else if m.contains("refused") {
        "refused"
    } else {
        "dns_error"
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

    /// Resolve `name` to its addresses (A and AAAA), recording the answer.
    pub async fn lookup(&self, name: &str) -> Result<Vec<IpAddr>, DnsLookupError> {
        let started = Instant::now();
        let result = match &*self.backend {
            Backend::Hickory(r) => match r.lookup_ip(name).await {
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
            Backend::Hickory(r) => match r.lookup(name, rtype).await {
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
            Ok(r) if r.is_empty() => (r, Some("no_records".to_string()), None),
            Ok(r) => (r, None, None),
            Err(m) => (vec![], Some(classify_dns_error(&m).to_string()), Some(m)),
        };
        TypedLookup {
            name: name.to_string(),
            record_type: if v6 { "AAAA" } else { "A" }.to_string(),
            records,
            duration_ms,
            error,
            message,
        }
    }

    /// Every answer given so far, in order.
    pub fn answers(&self) -> Vec<DnsAnswer> {
        self.log.lock().expect("resolver log poisoned").clone()
    }
}

impl ResolveDns for ProbeResolver {
    fn resolve_dns<'a>(&'a self, name: &'a str) -> DnsFuture<'a> {
        DnsFuture::new(async move { self.lookup(name).await.map_err(ResolveDnsError::new) })
    }
}

#[cfg(test)]
mod tests {
    use super::classify_dns_error;

    #[test]
    fn dns_error_codes() {
        for (msg, code) in [
            (
                "no record found for Query { name: x, type: A } NXDomain",
                "nxdomain",
            ),
            ("no records found for Query", "no_records"),
            ("request timed out", "timeout"),
            ("ServFail", "servfail"),
            ("error response: Query Refused", "refused"),
            ("something else", "dns_error"),
        ] {
            assert_eq!(classify_dns_error(msg), code, "{msg}");
        }
    }
}
