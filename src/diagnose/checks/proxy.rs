//! PURE: what the environment's HTTP proxy did to the S3 requests it carries. When it refused
//! to open the tunnel (`proxy_refused`: its `CONNECT` answer, typed by the collector with the
//! proxy's status), the proxy is blamed, not S3 or the network, with the fix its status points
//! at: credentials (407), its access rules (403), its own way to S3 (502–504). The `NO_PROXY`
//! entry that exempts the bucket's S3 names is shared with the route check's `proxy_in_path`.

use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::model::Finding;
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
    let mut list: Vec<String> = ev
        .proxy
        .as_ref()
        .map(|p| p.no_proxy.clone())
        .unwrap_or_default();
    list.push(entry.clone());
    (entry, list)
}

/// `check` failed because the proxy did not open the tunnel (`e`: `proxy_refused`).
pub fn refused(ev: &Evidence, t: &TargetEvidence, check: &str, e: &ErrorInfo) -> Finding {
    let https = ev.proxy.as_ref().and_then(|p| p.https.as_ref());
    let variable = https.map_or("HTTPS_PROXY", |s| s.variable.as_str());
    let proxy = t
        .via_proxy
        .clone()
        .unwrap_or_else(|| format!("of {variable}"));
    let (entry, list) = no_proxy_entry(ev, t);
    let exempt = format!(
        "or let S3 requests bypass it: add {entry} to NO_PROXY (NO_PROXY={}), and they take the route table and its gateway endpoint",
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
            "the proxy's access rules deny the tunnel to S3 (HTTP 403): allow S3's names on the proxy (.amazonaws.com, or {entry}), {exempt}"
        ),
        Some(502..=504) => format!(
            "the proxy could not reach S3 itself (HTTP {}): its own route or DNS to S3 is broken (check the proxy's subnet and logs), {exempt}",
            e.http_status.unwrap_or_default()
        ),
        Some(s) => format!("the proxy answered the CONNECT with HTTP {s}: see its logs, {exempt}"),
        None => format!(
            "the proxy closed the connection without answering the CONNECT: is an HTTP proxy listening at that address? See its logs, {exempt}"
        ),
    };
    FindingCode::ProxyRefused.finding(
        format!("{check}: {}", e.message),
        &[("proxy", &proxy), ("advice", &advice)],
    )
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
            let f = refused(&ev, &t, "s3_head_bucket", &refusal(status));
            assert_eq!(f.code, FindingCode::ProxyRefused);
            let hint = f.hint;
            assert!(hint.contains(want), "{status:?}: {hint}");
            assert!(
                hint.contains("http://10.0.3.128:3128 (https_proxy)")
                    && hint.contains("NO_PROXY=localhost,s3.us-east-1.amazonaws.com"),
                "{hint}"
            );
        }
    }
}
