//! The one DNS resolver of the probe: hickory-resolver over `/etc/resolv.conf`, recording every
//! answer it gives so that reports can show what a name resolved to and how long it took.
//!
//! A static glibc binary must not resolve through getaddrinfo/NSS; every client of the probe
//! resolves through this type instead (it implements the SDK's `ResolveDns`).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::dns::{DnsFuture, ResolveDns, ResolveDnsError};
use hickory_resolver::TokioResolver;
use serde::{Deserialize, Serialize};

/// One lookup the resolver performed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsAnswer {
    pub name: String,
    pub addresses: Vec<IpAddr>,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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
    /// The system configuration could not be read; every lookup fails with this message.
    Broken(String),
}

/// Shared, cheap to clone; every clone records into the same log.
#[derive(Debug, Clone)]
pub struct ProbeResolver {
    backend: Arc<Backend>,
    log: Arc<Mutex<Vec<DnsAnswer>>>,
}

impl ProbeResolver {
    /// A resolver from the system configuration with a per-lookup deadline.
    pub fn from_system(timeout: Duration) -> Self {
        let backend = match TokioResolver::builder_tokio() {
            Ok(mut builder) => {
                let opts = builder.options_mut();
                opts.timeout = timeout;
                opts.attempts = 1;
                match builder.build() {
                    Ok(r) => Backend::Hickory(Box::new(r)),
                    Err(e) => Backend::Broken(e.to_string()),
                }
            }
            Err(e) => Backend::Broken(format!("cannot read the system DNS configuration: {e}")),
        };
        Self {
            backend: Arc::new(backend),
            log: Arc::default(),
        }
    }

    /// Resolve `name` to its addresses, recording the answer.
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
