//! DNS evidence: every answer the probe's resolver gave, and the typed A/AAAA lookups of the
//! per-bucket `dns` check.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ErrorCode;

/// One lookup the resolver performed for a connection (the same lookup repeated is counted,
/// not listed again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsAnswer {
    pub name: String,
    pub addresses: Vec<IpAddr>,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

/// One answer record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    pub address: IpAddr,
    pub ttl: u32,
}

crate::wire_enum! {
    /// The record types the `dns` check asks for.
    pub enum RecordType {
        A => "A",
        Aaaa => "AAAA",
    }
}

/// A typed lookup (A or AAAA) for the `dns` check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypedLookup {
    pub name: String,
    pub record_type: RecordType,
    pub records: Vec<DnsRecord>,
    pub duration_ms: u64,
    /// `nxdomain`, `no_records`, `timeout`, `servfail`, `refused`, `dns_error`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<ErrorCode>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message: Option<String>,
}

/// DNS for one bucket: the names the S3 client uses, A and AAAA, with TTLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsEvidence {
    pub servers: Vec<String>,
    /// The names the S3 client will connect to (regional and virtual-hosted, or the host of
    /// an endpoint override). Empty when the endpoint is an IP address.
    pub names: Vec<String>,
    pub lookups: Vec<TypedLookup>,
    #[serde(default)]
    pub duration: Duration,
}
