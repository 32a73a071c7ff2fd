//! PURE: what a failed TLS handshake with S3 means. The collector classified the rustls error
//! (`src/aws/mod.rs`, typed, never by its English text): a certificate from a CA this machine
//! does not trust, on S3's real name, is an intercepting middlebox (or its CA missing from
//! `AWS_CA_BUNDLE`), not S3; a trusted certificate for another name means something other than
//! S3 answers at that address. Both are blamed on the proxy/middlebox component, with the name
//! the client connected to.

use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::model::Finding;
use crate::evidence::{ErrorCode, ErrorInfo, TargetEvidence};

/// The name the S3 client connected to (the first name of the bucket's DNS evidence).
pub fn host(t: &TargetEvidence) -> String {
    t.dns
        .as_ref()
        .and_then(|d| d.names.first().cloned())
        .unwrap_or_else(|| format!("the S3 endpoint of {}", t.bucket))
}

/// The finding of a request to `host` that failed in phase `tls` (`what`: the check or request
/// that failed, for the message).
/// `ca_bundle`: how many certificates `AWS_CA_BUNDLE` adds (`None`: not set).
pub fn finding(e: &ErrorInfo, host: &str, what: &str, ca_bundle: Option<usize>) -> Finding {
    let vars: [(&str, &str); 1] = [("host", host)];
    match e.code {
        ErrorCode::TlsUntrustedCertificate => FindingCode::TlsUntrustedCertificate.finding(
            format!(
                "{what}: the certificate presented for {host} is not issued by any CA this machine trusts ({}); {}",
                e.message,
                match ca_bundle {
                    None => "AWS_CA_BUNDLE is not set: only the system's CA roots are trusted"
                        .to_string(),
                    Some(n) => format!(
                        "AWS_CA_BUNDLE adds {n} CA certificate{} to the system's roots, and none of them issued it",
                        if n == 1 { "" } else { "s" }
                    ),
                }
            ),
            &vars,
        ),
        ErrorCode::TlsHostnameMismatch => FindingCode::TlsHostnameMismatch.finding(
            format!(
                "{what}: the certificate presented for {host} is not for that name ({})",
                e.message
            ),
            &vars,
        ),
        _ => FindingCode::TlsFailure.finding(format!("{what}: {}", e.message), &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Phase;

    #[test]
    fn each_certificate_error_has_its_finding_and_the_hint_names_the_fix() {
        let e = |code| ErrorInfo::new(Phase::Tls, code, "invalid peer certificate");
        let h = "b.s3.us-east-1.amazonaws.com";
        let f = finding(
            &e(ErrorCode::TlsUntrustedCertificate),
            h,
            "s3_head_bucket",
            None,
        );
        assert_eq!(f.code, FindingCode::TlsUntrustedCertificate);
        assert!(
            f.message.contains("AWS_CA_BUNDLE is not set"),
            "{}",
            f.message
        );
        let f = finding(
            &e(ErrorCode::TlsUntrustedCertificate),
            h,
            "s3_head_bucket",
            Some(1),
        );
        assert!(
            f.message.contains("adds 1 CA certificate to"),
            "{}",
            f.message
        );
        assert!(f.hint.contains("AWS_CA_BUNDLE") && f.hint.contains("middlebox"));
        assert!(f.hint.contains(h));
        let f = finding(
            &e(ErrorCode::TlsHostnameMismatch),
            h,
            "s3_head_bucket",
            None,
        );
        assert_eq!(f.code, FindingCode::TlsHostnameMismatch);
        assert!(f.hint.contains("AWS_CA_BUNDLE") && f.hint.contains("middlebox"));
        let f = finding(&e(ErrorCode::TlsError), h, "s3_head_bucket", None);
        assert_eq!(f.code, FindingCode::TlsFailure);
    }
}
