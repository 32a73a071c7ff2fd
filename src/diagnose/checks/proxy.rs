//! PURE: what the environment's HTTP proxy did to the requests it carries. When it refused to
//! open the tunnel (`proxy_refused`: its `CONNECT` answer, typed by the collector with the
//! proxy's status) to S3 or to the EC2 API, the proxy is blamed — not S3, the network, IAM or
//! the EC2 API — with the fix its status points at: credentials (407), its access rules (403),
//! its own way to the service (502–504). The `NO_PROXY` entry that exempts the bucket's S3 names
//! is shared with the route check's `proxy_in_path`.

use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::model::{Finding, Severity};
use crate::evidence::{ErrorInfo, Evidence, TargetEvidence};

/// The `NO_PROXY` entry that exempts the bucket's S3 names, and the whole list with it added.
pub fn no_proxy_entry(ev: &Evidence, t: &TargetEvidence) -> (String, Vec<String>) {
    let region = t.bucket_region.as_deref().unwrap_or(&ev.region);
    let base = t
        .dns
        .as_ref()
        .and_then(|d| d.names.last().cloned())
        .unwrap_or_else(|| format!("s3.{region}.amazonaws.com"));
    let entry = if base.ends_with(".amazonaws.com") {
        format!("{base},.{base}")
    } else {
        base
    };
    let list = no_proxy_with(ev, &entry);
    (entry, list)
}

/// The environment's `NO_PROXY` entries with `entry` added.
fn no_proxy_with(ev: &Evidence, entry: &str) -> Vec<String> {
    let mut list: Vec<String> = ev
        .proxy
        .as_ref()
        .map(|p| p.no_proxy.clone())
        .unwrap_or_default();
    list.push(entry.to_string());
    list
}

/// Where the refused tunnel was to go.
#[derive(Debug, Clone, Copy)]
pub enum Refused<'a> {
    /// The S3 endpoint of a bucket.
    S3(&'a TargetEvidence),
    /// The EC2 API of the run's region.
    Ec2Api,
}

/// `check` failed because the proxy did not open the tunnel to `to` (`e`: `proxy_refused`).
pub fn refused(ev: &Evidence, to: Refused<'_>, check: &str, e: &ErrorInfo) -> Finding {
    let https = ev.proxy.as_ref().and_then(|p| p.https.as_ref());
    let variable = https.map_or("HTTPS_PROXY", |s| s.variable.as_str());
    let configured = https.map(|s| format!("{} ({})", s.url, s.variable));
    let (service, proxy, entry, list, bypass) = match to {
        Refused::S3(t) => {
            let (entry, list) = no_proxy_entry(ev, t);
            let proxy = t.via_proxy.clone().or(configured);
            let bypass = "they take the route table and its gateway endpoint";
            ("S3", proxy, entry, list, bypass)
        }
        Refused::Ec2Api => {
            let entry = format!("ec2.{}.amazonaws.com", ev.region);
            let list = no_proxy_with(ev, &entry);
            let bypass =
                "they need a path of their own (an interface endpoint for the EC2 API, or NAT)";
            ("the EC2 API", configured, entry, list, bypass)
        }
    };
    let proxy = proxy.unwrap_or_else(|| format!("of {variable}"));
    let exempt = format!(
        "or let those requests bypass it: add {entry} to NO_PROXY (NO_PROXY={}), and {bypass}",
        list.join(",")
    );
    let advice = match e.http_status {
        Some(407) if https.is_some_and(|s| s.credentials) => format!(
            "the proxy refused the credentials in {variable} (HTTP 407): check the user and password (percent-encoded in the URL), {exempt}"
        ),
        Some(407) => format!(
            "the proxy asks for credentials (HTTP 407) and {variable} has none: give them as http://user:password@host:port, {exempt}"
        ),
        Some(403) => format!(
            "the proxy's access rules deny the tunnel to {service} (HTTP 403): allow {entry} on the proxy (or .amazonaws.com), {exempt}"
        ),
        Some(502..=504) => format!(
            "the proxy could not reach {service} itself (HTTP {}): its own route or DNS to it is broken (check the proxy's subnet and logs), {exempt}",
            e.http_status.unwrap_or_default()
        ),
        Some(s) => format!("the proxy answered the CONNECT with HTTP {s}: see its logs, {exempt}"),
        None => format!(
            "the proxy closed the connection without answering the CONNECT: is an HTTP proxy listening at that address? See its logs, {exempt}"
        ),
    };
    // no S3 check can pass without its tunnel; without the EC2 API's, a fallback list is used
    let severity = match to {
        Refused::S3(_) => Severity::Error,
        Refused::Ec2Api => Severity::Warning,
    };
    FindingCode::ProxyRefused
        .finding(
            format!("{check}: {}", e.message),
            &[("proxy", &proxy), ("service", service), ("advice", &advice)],
        )
        .with_severity(severity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{ErrorCode, Phase, ProxyEvidence, ProxySetting};

    fn evidence(credentials: bool) -> (Evidence, TargetEvidence) {
        let mut ev: Evidence =
            serde_json::from_str(include_str!("../../../tests/fixtures/diagnose/_base.json"))
                .unwrap();
        ev.proxy = Some(ProxyEvidence {
            https: Some(ProxySetting {
                url: "http://10.0.3.128:3128".into(),
                variable: "https_proxy".into(),
                credentials,
            }),
            http: None,
            no_proxy: vec!["localhost".into()],
            no_proxy_variable: Some("NO_PROXY".into()),
        });
        let mut t = ev.targets[0].clone();
        t.via_proxy = Some("http://10.0.3.128:3128 (https_proxy)".into());
        (ev, t)
    }

    fn refusal(status: Option<u16>) -> ErrorInfo {
        let mut e = ErrorInfo::new(
            Phase::Connect,
            ErrorCode::ProxyRefused,
            "the proxy 10.0.3.128:3128 refused the CONNECT to b.s3.us-east-1.amazonaws.com:443",
        );
        e.http_status = status;
        e
    }

    #[test]
    fn each_status_names_its_fix_and_always_the_no_proxy_way_around() {
        for (credentials, status, want) in [
            (false, Some(407), "https_proxy has none"),
            (true, Some(407), "refused the credentials in https_proxy"),
            (false, Some(403), "access rules deny the tunnel"),
            (false, Some(502), "could not reach S3 itself (HTTP 502)"),
            (false, Some(400), "answered the CONNECT with HTTP 400"),
            (false, None, "closed the connection without answering"),
        ] {
            let (ev, t) = evidence(credentials);
            let f = refused(&ev, Refused::S3(&t), "s3_head_bucket", &refusal(status));
            assert_eq!(f.code, FindingCode::ProxyRefused);
            assert_eq!(f.severity, Severity::Error);
            let hint = f.hint;
            assert!(hint.contains(want), "{status:?}: {hint}");
            assert!(
                hint.contains("http://10.0.3.128:3128 (https_proxy)")
                    && hint.contains("NO_PROXY=localhost,s3.us-east-1.amazonaws.com"),
                "{hint}"
            );
        }
    }

    #[test]
    fn a_refused_ec2_api_names_its_host_and_the_path_it_needs_without_the_proxy() {
        let (ev, _) = evidence(false);
        let f = refused(&ev, Refused::Ec2Api, "prefix_list", &refusal(Some(403)));
        assert_eq!(f.code, FindingCode::ProxyRefused);
        assert_eq!(f.severity, Severity::Warning);
        let hint = f.hint;
        for want in [
            "the proxy http://10.0.3.128:3128 (https_proxy) did not open the tunnel to the EC2 API",
            "allow ec2.us-east-1.amazonaws.com on the proxy",
            "NO_PROXY=localhost,ec2.us-east-1.amazonaws.com",
            "interface endpoint for the EC2 API",
        ] {
            assert!(hint.contains(want), "{want}: {hint}");
        }
    }
}
