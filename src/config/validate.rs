//! Validation of single values (seconds, bucket names, regions, prefixes, keys, DNS servers,
//! the run id, the CA bundle); each mistake is a one-line [`ConfigError`].

use std::path::Path;
use std::time::Duration;

use super::{ConfigError, err};

/// A value as an error message shows it: whole when short, else its start and its length, so
/// that a huge argument still gives one short line; control characters escaped.
pub fn shown(v: &str) -> String {
    const MAX: usize = 64;
    let escaped: String = v.chars().flat_map(char::escape_debug).collect();
    if escaped.chars().count() <= MAX {
        return escaped;
    }
    let head: String = escaped.chars().take(MAX).collect();
    format!("{head}… ({} bytes)", v.len())
}

/// One line of text cut to `max` characters, with its length when cut.
pub fn shown_line(line: &str, max: usize) -> String {
    if line.chars().count() <= max {
        return line.to_string();
    }
    let head: String = line.chars().take(max).collect();
    format!("{head}… ({} bytes)", line.len())
}

/// Parse a positive number of seconds (decimals allowed) within `[min, max]`.
pub fn parse_secs(flag: &str, s: &str, min: f64, max: f64) -> Result<Duration, ConfigError> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| ConfigError(format!("{flag}: '{}' is not a number of seconds", shown(s))))?;
    if !v.is_finite() || v < min || v > max {
        return err(format!(
            "{flag}: {} is out of range ({min} to {max} seconds)",
            shown(s)
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

/// S3 bucket naming rules for general purpose buckets.
pub fn validate_bucket_name(b: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| err(format!("invalid bucket name '{}': {why}", shown(b)));
    if b.len() < 3 || b.len() > 63 {
        return bad("must be 3 to 63 characters long");
    }
    if !b
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
    {
        return bad("only lowercase letters, digits, dots and hyphens are allowed");
    }
    let first = b.as_bytes()[0];
    let last = b.as_bytes()[b.len() - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return bad("must begin and end with a letter or digit");
    }
    if b.contains("..") || b.contains(".-") || b.contains("-.") {
        return bad("dots may not be adjacent to each other or to a hyphen");
    }
    if b.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("must not be formatted as an IP address");
    }
    for p in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if b.starts_with(p) {
            return bad(&format!("must not start with '{p}'"));
        }
    }
    for s in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if b.ends_with(s) {
            return bad(&format!("must not end with '{s}'"));
        }
    }
    Ok(())
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, ...
pub fn validate_region(r: &str) -> Result<(), ConfigError> {
    let parts: Vec<&str> = r.split('-').collect();
    let ok = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u16>().is_ok_and(|n| n < 100)
        && parts[0].len() == 2;
    if ok {
        Ok(())
    } else {
        err(format!(
            "invalid region '{}': expected a region code such as us-east-1",
            shown(r)
        ))
    }
}

pub fn normalize_prefix(p: &str) -> Result<String, ConfigError> {
    if p.is_empty() || p == "/" {
        return err("--prefix: must not be empty: the put probe writes only under its own prefix");
    }
    if p.starts_with('/') {
        return err(format!("--prefix '{}': must not start with '/'", shown(p)));
    }
    if p.len() > 512 {
        return err("--prefix: longer than 512 bytes");
    }
    if p.chars().any(|c| c.is_control()) {
        return err("--prefix: control characters are not allowed");
    }
    Ok(if p.ends_with('/') {
        p.to_string()
    } else {
        format!("{p}/")
    })
}

pub fn validate_key(k: &str) -> Result<(), ConfigError> {
    if k.is_empty() {
        return err("--key: must not be empty");
    }
    if k.len() > 1024 {
        return err("--key: longer than 1024 bytes (the S3 limit)");
    }
    if k.chars().any(|c| c.is_control()) {
        return err("--key: control characters are not allowed");
    }
    Ok(())
}

/// `IP`, `IP:PORT`, `[IPv6]:PORT`; port 53 by default.
pub fn parse_dns_server(s: &str) -> Result<std::net::SocketAddr, ConfigError> {
    use std::net::{IpAddr, SocketAddr};
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    if let Ok(ip) = s.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    err(format!(
        "--dns-server '{}': expected IP or IP:PORT (e.g. 10.0.0.2 or 127.0.0.1:5353)",
        shown(s)
    ))
}

pub(super) fn read_ca_bundle(path: &Path) -> Result<Vec<u8>, ConfigError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let shown = path.display();
    let pem =
        std::fs::read(path).map_err(|e| ConfigError(format!("AWS_CA_BUNDLE {shown}: {e}")))?;
    // Check it exactly as the TLS stack will load it, so a bad bundle is a clear error here
    // rather than a failure deep inside the HTTP client.
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| {
            ConfigError(format!(
                "AWS_CA_BUNDLE {shown}: not a valid PEM certificate: {e:?}"
            ))
        })?;
        roots.add(cert).map_err(|e| {
            ConfigError(format!("AWS_CA_BUNDLE {shown}: unusable certificate: {e}"))
        })?;
    }
    if roots.is_empty() {
        return err(format!(
            "AWS_CA_BUNDLE {shown}: no PEM certificate in the file"
        ));
    }
    Ok(pem)
}

pub(super) fn validate_run_id(id: &str) -> Result<String, ConfigError> {
    if id.len() > 64
        || !id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
        || id.starts_with('.')
    {
        return err(format!(
            "VPCE_PROBE_RUN_ID '{}': use 1 to 64 letters, digits, '-', '_' or '.'",
            shown(id)
        ));
    }
    Ok(id.to_string())
}
