//! The HTTP proxy, resolved from the environment once, the way the AWS CLI (botocore) reads it:
//! https requests use `HTTPS_PROXY`, http requests (IMDS) use `HTTP_PROXY` (the upper-case name
//! first, then the lower-case one), and `NO_PROXY` exempts hosts (suffixes, `.domain`, IPs,
//! CIDRs, `*`). `ALL_PROXY` is not read (botocore does not). The same values configure the
//! shared HTTP client's connector and decide, for the evidence, which requests go through the
//! proxy (one matcher, hyper-util's, for both). Proxy credentials never leave this module.

use aws_smithy_http_client::proxy::ProxyConfig;
use hyper_util::client::proxy::matcher::Matcher;

use crate::evidence::{ProxyEvidence, ProxySetting};

/// One proxy variable's value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Raw {
    variable: &'static str,
    /// As given, with `http://` added when no scheme was (botocore does the same).
    url: String,
}

/// The proxy configuration of this run.
#[derive(Debug, Clone, Default)]
pub struct ProxyEnv {
    https: Option<Raw>,
    http: Option<Raw>,
    no_proxy: Option<(&'static str, String)>,
}

fn first(
    get: &dyn Fn(&str) -> Option<String>,
    names: [&'static str; 2],
) -> Option<(&'static str, String)> {
    names.into_iter().find_map(|n| {
        get(n)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(|v| (n, v))
    })
}

fn raw(pair: Option<(&'static str, String)>) -> Option<Raw> {
    pair.map(|(variable, v)| Raw {
        variable,
        url: if v.contains("://") {
            v
        } else {
            format!("http://{v}")
        },
    })
}

/// The URL without `user:password@` (and whether it had them).
pub fn redact(url: &str) -> (String, bool) {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((_, host)) => (format!("{scheme}{host}{tail}"), true),
        None => (url.to_string(), false),
    }
}

impl ProxyEnv {
    /// Read the process environment (once per run).
    pub fn from_env() -> Self {
        Self::from_vars(&|k| std::env::var(k).ok())
    }

    /// From any variable source (tests).
    pub fn from_vars(get: &dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            https: raw(first(get, ["HTTPS_PROXY", "https_proxy"])),
            http: raw(first(get, ["HTTP_PROXY", "http_proxy"])),
            no_proxy: first(get, ["NO_PROXY", "no_proxy"]),
        }
    }

    /// Is any proxy configured?
    pub fn is_set(&self) -> bool {
        self.https.is_some() || self.http.is_some()
    }

    fn setting(r: &Raw) -> ProxySetting {
        let (url, credentials) = redact(&r.url);
        ProxySetting {
            url,
            variable: r.variable.to_string(),
            credentials,
        }
    }

    /// The evidence (`None` when no proxy is configured; never the credentials).
    pub fn evidence(&self) -> Option<ProxyEvidence> {
        if !self.is_set() {
            return None;
        }
        Some(ProxyEvidence {
            https: self.https.as_ref().map(Self::setting),
            http: self.http.as_ref().map(Self::setting),
            no_proxy: self
                .no_proxy
                .iter()
                .flat_map(|(_, v)| v.split(','))
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_string)
                .collect(),
            no_proxy_variable: self.no_proxy.as_ref().map(|(n, _)| n.to_string()),
        })
    }

    /// The one matcher that decides which requests go through the proxy.
    pub fn matcher(&self) -> Matcher {
        let mut b = Matcher::builder();
        if let Some(r) = &self.https {
            b = b.https(r.url.clone());
        }
        if let Some(r) = &self.http {
            b = b.http(r.url.clone());
        }
        if let Some((_, v)) = &self.no_proxy {
            b = b.no(v.clone());
        }
        b.build()
    }

    /// The proxy a request to `url` goes through: its URL without credentials and the
    /// variable (`http://10.0.3.128:3128 (HTTPS_PROXY)`); `None` when it connects directly.
    pub fn proxy_for(&self, url: &str) -> Option<String> {
        let uri: http::Uri = url.parse().ok()?;
        self.matcher().intercept(&uri)?;
        let r = match uri.scheme_str() {
            Some("http") => self.http.as_ref()?,
            _ => self.https.as_ref()?,
        };
        Some(format!("{} ({})", redact(&r.url).0, r.variable))
    }

    /// The connector's configuration: the same values.
    pub fn config(&self) -> Result<ProxyConfig, String> {
        let err = |r: &Raw, e: &dyn std::fmt::Display| {
            format!("{}={}: {e}", r.variable, redact(&r.url).0)
        };
        let no = self
            .no_proxy
            .as_ref()
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let cfg = match (&self.https, &self.http) {
            (None, None) => return Ok(ProxyConfig::disabled()),
            (Some(s), Some(h)) if s.url == h.url => {
                ProxyConfig::all(s.url.as_str()).map_err(|e| err(s, &e))?
            }
            (Some(s), None) => ProxyConfig::https(s.url.as_str()).map_err(|e| err(s, &e))?,
            (None, Some(h)) => ProxyConfig::http(h.url.as_str()).map_err(|e| err(h, &e))?,
            // Two different proxies: the SDK's environment reader takes the same variables.
            (Some(s), Some(h)) => {
                ProxyConfig::https(s.url.as_str()).map_err(|e| err(s, &e))?;
                ProxyConfig::http(h.url.as_str()).map_err(|e| err(h, &e))?;
                return Ok(ProxyConfig::from_env());
            }
        };
        Ok(if no.is_empty() { cfg } else { cfg.no_proxy(no) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> ProxyEnv {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxyEnv::from_vars(&move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    const S3: &str = "https://b.s3.us-east-1.amazonaws.com/";

    #[test]
    fn https_requests_use_https_proxy_and_never_show_credentials() {
        let e = env(&[("HTTPS_PROXY", "http://user:p%40ss@10.0.3.128:3128")]);
        assert_eq!(
            e.proxy_for(S3).as_deref(),
            Some("http://10.0.3.128:3128 (HTTPS_PROXY)")
        );
        assert_eq!(e.proxy_for("http://169.254.169.254/latest"), None);
        let ev = e.evidence().unwrap();
        let https = ev.https.unwrap();
        assert_eq!(https.url, "http://10.0.3.128:3128");
        assert!(https.credentials);
        assert!(e.config().is_ok());
        assert!(!format!("{:?}", e.evidence()).contains("p%40ss"));
    }

    #[test]
    fn http_proxy_alone_does_not_carry_https() {
        let e = env(&[("http_proxy", "proxy:3128")]);
        assert_eq!(e.proxy_for(S3), None);
        assert_eq!(
            e.proxy_for("http://169.254.169.254/").as_deref(),
            Some("http://proxy:3128 (http_proxy)")
        );
    }

    #[test]
    fn upper_case_first_then_lower_case() {
        let e = env(&[("HTTPS_PROXY", "http://a:1"), ("https_proxy", "http://b:2")]);
        assert_eq!(e.proxy_for(S3).as_deref(), Some("http://a:1 (HTTPS_PROXY)"));
        let e = env(&[("https_proxy", "http://b:2")]);
        assert_eq!(e.proxy_for(S3).as_deref(), Some("http://b:2 (https_proxy)"));
    }

    #[test]
    fn no_proxy_suffixes_domains_ips_cidrs_and_star() {
        for no in [
            ".amazonaws.com",
            "amazonaws.com",
            "s3.us-east-1.amazonaws.com,.s3.us-east-1.amazonaws.com",
            "*",
            "localhost, .amazonaws.com",
        ] {
            let e = env(&[("HTTPS_PROXY", "http://p:3128"), ("NO_PROXY", no)]);
            assert_eq!(e.proxy_for(S3), None, "{no}");
        }
        for no in ["example.com", "zamazonaws.com", "10.0.0.0/8"] {
            let e = env(&[("HTTPS_PROXY", "http://p:3128"), ("no_proxy", no)]);
            assert!(e.proxy_for(S3).is_some(), "{no}");
        }
        let e = env(&[("HTTPS_PROXY", "http://p:3128"), ("NO_PROXY", "10.0.0.0/8")]);
        assert_eq!(e.proxy_for("https://10.0.2.50/b"), None);
        assert_eq!(
            e.evidence().unwrap().no_proxy_variable.as_deref(),
            Some("NO_PROXY")
        );
    }

    #[test]
    fn nothing_set_is_no_proxy() {
        let e = env(&[("NO_PROXY", ".amazonaws.com")]);
        assert!(!e.is_set());
        assert_eq!(e.evidence(), None);
        assert!(e.config().unwrap().is_disabled());
    }

    #[test]
    fn redaction() {
        assert_eq!(redact("http://u:p@h:1/x"), ("http://h:1/x".into(), true));
        assert_eq!(redact("http://h:1"), ("http://h:1".into(), false));
        assert_eq!(redact("http://u:p@w@h:1"), ("http://h:1".into(), true));
    }
}
