//! The HTTP proxy, resolved from the environment once, the way the AWS CLI (botocore) reads it:
//! https requests use `HTTPS_PROXY`, http requests (IMDS) use `HTTP_PROXY` (the upper-case name
//! first, then the lower-case one), and `NO_PROXY` exempts hosts (suffixes, `.domain`, IPs,
//! CIDRs, `*`). `ALL_PROXY` is not read (botocore does not). The same values route the probe's
//! connector ([`super::connect`]) and decide, for the evidence, which requests go through the
//! proxy (one matcher, hyper-util's, for both). An https request goes through a `CONNECT` tunnel
//! ([`tunnel`]), an http one (IMDS) is sent to the proxy in absolute form, both with the
//! proxy's `Proxy-Authorization` when its URL has credentials. Proxy credentials never leave
//! this module and the connector (never in an error, a log line or the report).

use std::fmt;

use http::HeaderValue;
use hyper_util::client::proxy::matcher::Matcher;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

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

    /// Check the proxy URLs once, before any request: `http://host[:port]` (a proxy spoken to
    /// over TLS, `https://`, is not supported). The error names the variable, never the
    /// credentials.
    pub fn validate(&self) -> Result<(), String> {
        for r in [&self.https, &self.http].into_iter().flatten() {
            let shown = redact(&r.url).0;
            let err = |why: &str| format!("{}={shown}: {why}", r.variable);
            let uri: http::Uri = r
                .url
                .parse()
                .map_err(|e: http::uri::InvalidUri| err(&e.to_string()))?;
            match uri.scheme_str() {
                Some("http") => {}
                Some(s) => {
                    return Err(err(&format!(
                        "the {s}:// scheme is not supported: give the proxy as http://host:port"
                    )));
                }
                None => return Err(err("no scheme")),
            }
            if uri.host().is_none_or(str::is_empty) {
                return Err(err("no host"));
            }
        }
        Ok(())
    }

    /// The matcher for the connector (`None`: no proxy is configured).
    pub fn route(&self) -> Option<Matcher> {
        self.is_set().then(|| self.matcher())
    }
}

/// A proxy that did not open the tunnel asked for.
#[derive(Debug)]
pub struct TunnelError {
    /// `host:port` of the proxy (never its credentials).
    pub proxy: String,
    /// `host:port` the tunnel was asked to.
    pub target: String,
    /// The proxy's status line, when it answered with one.
    pub answer: Option<String>,
    /// Its status code, when the status line had one.
    pub status: Option<u16>,
}

impl fmt::Display for TunnelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.answer {
            Some(a) => write!(
                f,
                "the proxy {} refused the CONNECT to {}: {a}",
                self.proxy, self.target
            ),
            None => write!(
                f,
                "the proxy {} closed the connection before answering the CONNECT to {}",
                self.proxy, self.target
            ),
        }
    }
}

impl std::error::Error for TunnelError {}

/// The longest proxy answer head read.
const MAX_HEAD: usize = 16 * 1024;

/// Ask the proxy on `io` (`proxy`: its `host:port`) for a tunnel to `host:port`, with its
/// `Proxy-Authorization` (`auth`), and read its answer: any 2xx opens it.
pub async fn tunnel<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    proxy: &str,
    host: &str,
    port: u16,
    auth: Option<&HeaderValue>,
) -> std::io::Result<Result<(), TunnelError>> {
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n").into_bytes();
    if let Some(a) = auth {
        req.extend_from_slice(b"Proxy-Authorization: ");
        req.extend_from_slice(a.as_bytes());
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"\r\n");
    io.write_all(&req).await?;
    io.flush().await?;
    let refused = |answer: Option<String>, status: Option<u16>| TunnelError {
        proxy: proxy.to_string(),
        target: target.clone(),
        answer,
        status,
    };
    // byte by byte: nothing of what follows the answer's head (the server's TLS) is read here
    let mut head = Vec::with_capacity(256);
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Ok(Err(refused(
                Some("an answer head over 16 KiB".into()),
                None,
            )));
        }
        if io.read(&mut b).await? == 0 {
            return Ok(Err(refused(None, None)));
        }
        head.push(b[0]);
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or_default().trim().to_string();
    let status = line
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|c| c.parse::<u16>().ok());
    Ok(match status {
        Some(200..=299) => Ok(()),
        _ => Err(refused(Some(line.chars().take(200).collect()), status)),
    })
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
        assert!(e.validate().is_ok());
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
        assert!(e.validate().is_ok());
        assert!(e.route().is_none());
    }

    #[test]
    fn only_http_proxies_with_a_host_are_accepted_and_errors_hide_credentials() {
        for ok in ["http://10.0.3.128:3128", "proxy:3128", "http://u:p@proxy"] {
            assert!(env(&[("HTTPS_PROXY", ok)]).validate().is_ok(), "{ok}");
        }
        let e = env(&[("HTTPS_PROXY", "https://user:s3cret@proxy:3128")]);
        let err = e.validate().unwrap_err();
        assert!(
            err.starts_with("HTTPS_PROXY=https://proxy:3128: the https:// scheme"),
            "{err}"
        );
        assert!(!err.contains("s3cret"));
        let err = env(&[("http_proxy", "http://")]).validate().unwrap_err();
        assert!(err.starts_with("http_proxy=http://: "), "{err}");
        let err = env(&[("HTTPS_PROXY", "http://a b:1")])
            .validate()
            .unwrap_err();
        assert!(err.starts_with("HTTPS_PROXY="), "{err}");
    }

    #[test]
    fn route_is_the_matcher_with_credentials_for_the_connector() {
        let e = env(&[("HTTPS_PROXY", "http://Aladdin:opensesame@p:3128")]);
        let m = e.route().unwrap();
        let i = m.intercept(&S3.parse().unwrap()).unwrap();
        assert_eq!(i.uri().host(), Some("p"));
        assert_eq!(i.basic_auth().unwrap(), "Basic QWxhZGRpbjpvcGVuc2VzYW1l");
    }

    /// A proxy on the other end of `io`: reads the CONNECT head, answers `answer`.
    async fn proxy_answering(
        answer: &'static [u8],
    ) -> (tokio::io::DuplexStream, tokio::task::JoinHandle<String>) {
        let (client, mut server) = tokio::io::duplex(4096);
        let task = tokio::spawn(async move {
            let mut head = Vec::new();
            let mut b = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if server.read(&mut b).await.unwrap() == 0 {
                    break;
                }
                head.push(b[0]);
            }
            server.write_all(answer).await.unwrap();
            // keep the pipe open until the client has read the answer
            let _ = server.read(&mut b).await;
            String::from_utf8(head).unwrap()
        });
        (client, task)
    }

    #[tokio::test]
    async fn tunnel_sends_connect_with_credentials_and_accepts_2xx() {
        let (mut io, task) = proxy_answering(b"HTTP/1.1 200 Connection established\r\n\r\n").await;
        let auth = HeaderValue::from_static("Basic dTpw");
        tunnel(&mut io, "p:3128", "b.s3.amazonaws.com", 443, Some(&auth))
            .await
            .unwrap()
            .unwrap();
        drop(io);
        assert_eq!(
            task.await.unwrap(),
            "CONNECT b.s3.amazonaws.com:443 HTTP/1.1\r\nHost: b.s3.amazonaws.com:443\r\n\
             Proxy-Authorization: Basic dTpw\r\n\r\n"
        );
        let (mut io, task) = proxy_answering(b"HTTP/1.0 200 OK\r\nVia: x\r\n\r\n").await;
        tunnel(&mut io, "p:3128", "2001:db8::1", 443, None)
            .await
            .unwrap()
            .unwrap();
        drop(io);
        assert!(
            task.await
                .unwrap()
                .starts_with("CONNECT [2001:db8::1]:443 HTTP/1.1\r\n")
        );
    }

    #[tokio::test]
    async fn tunnel_refused_or_closed_names_the_proxy_and_the_answer() {
        let (mut io, _task) =
            proxy_answering(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").await;
        let err = tunnel(&mut io, "p:3128", "b.s3.amazonaws.com", 443, None)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the proxy p:3128 refused the CONNECT to b.s3.amazonaws.com:443: \
             HTTP/1.1 407 Proxy Authentication Required"
        );
        assert_eq!(err.status, Some(407));
        // the proxy reads the CONNECT and closes without answering
        let (mut io, server) = tokio::io::duplex(4096);
        let task = tokio::spawn(async move {
            let mut server = server;
            let mut head = [0u8; 64];
            let _ = server.read(&mut head).await;
        });
        let err = tunnel(&mut io, "p:3128", "h", 443, None)
            .await
            .unwrap()
            .unwrap_err();
        task.await.unwrap();
        assert_eq!(
            err.to_string(),
            "the proxy p:3128 closed the connection before answering the CONNECT to h:443"
        );
        let (mut io, _task) = proxy_answering(b"SSH-2.0-OpenSSH\r\n\r\n").await;
        let err = tunnel(&mut io, "p:3128", "h", 443, None)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.answer.as_deref(), Some("SSH-2.0-OpenSSH"));
    }

    #[test]
    fn redaction() {
        assert_eq!(redact("http://u:p@h:1/x"), ("http://h:1/x".into(), true));
        assert_eq!(redact("http://h:1"), ("http://h:1".into(), false));
        assert_eq!(redact("http://u:p@w@h:1"), ("http://h:1".into(), true));
    }
}
