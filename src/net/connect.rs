//! The connect step of the probe's connector ([`super::connector`]): resolve the host through
//! the probe's resolver, connect TCP, and do the TLS handshake (rustls) for `https`, timing each
//! step. The resulting connection carries those times ([`ConnInfo`], hyper's `Connected` extra),
//! so that the request that waited for it can report them. The addresses are tried in the
//! resolver's order, one after the other, within the connect timeout (as the SDK's connector
//! does without a per-address timeout).
//!
//! A request the environment's proxy intercepts ([`super::proxy`]) connects to the proxy
//! instead: for `https` its `CONNECT` tunnel is part of the connect phase and the TLS handshake
//! is the server's, through the tunnel; an `http` connection is marked proxied, so that hyper
//! sends its requests in absolute form.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::resolver::ProbeResolver;

/// What one connection's setup cost, carried by the connection (hyper's `Connected` extra).
#[derive(Debug)]
pub struct ConnInfo {
    pub remote: SocketAddr,
    pub local: Option<SocketAddr>,
    pub dns: Option<Duration>,
    pub connect: Duration,
    pub tls: Option<Duration>,
    /// When its setup began (before the DNS lookup).
    pub started_at: Instant,
    /// When the connection was ready for its first request.
    pub ready_at: Instant,
    /// Requests that went out on it so far.
    pub uses: AtomicU64,
    /// It goes through the environment's HTTP proxy (`remote` is the proxy).
    pub via_proxy: bool,
}

enum Io {
    Plain(TokioIo<TcpStream>),
    Tls(Box<TokioIo<TlsStream<TcpStream>>>),
}

/// A connection, plain or TLS, and what setting it up cost.
pub struct TimedStream {
    io: Io,
    info: Arc<ConnInfo>,
}

impl Connection for TimedStream {
    fn connected(&self) -> Connected {
        // plain HTTP to a proxy: hyper then sends absolute-form requests
        let forwarding = self.info.via_proxy && matches!(self.io, Io::Plain(_));
        Connected::new().extra(self.info.clone()).proxy(forwarding)
    }
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match &mut $self.get_mut().io {
            Io::Plain($s) => {
                let $s = Pin::new($s);
                $e
            }
            Io::Tls($s) => {
                let $s = Pin::new($s.as_mut());
                $e
            }
        }
    };
}

impl hyper::rt::Read for TimedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_read(cx, buf))
    }
}

impl hyper::rt::Write for TimedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => s.poll_write(cx, buf))
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_flush(cx))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_shutdown(cx))
    }
}

/// A TCP connect that failed, to one address.
#[derive(Debug)]
struct TcpConnectError {
    addr: SocketAddr,
    source: io::Error,
}

impl fmt::Display for TcpConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tcp connect error to {}", self.addr)
    }
}

impl std::error::Error for TcpConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A TLS handshake that failed.
#[derive(Debug)]
struct TlsHandshakeError {
    host: String,
    source: io::Error,
}

impl fmt::Display for TlsHandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS handshake with {} failed", self.host)
    }
}

impl std::error::Error for TlsHandshakeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// The connect (or the answer's head) took longer than its timeout.
#[derive(Debug)]
pub struct TimedOut {
    pub kind: &'static str,
    pub after: Duration,
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HTTP {} timeout occurred after {:?}",
            self.kind, self.after
        )
    }
}

impl std::error::Error for TimedOut {}

/// The connect step: resolve (timed), connect (timed), TLS (timed) for `https`, through the
/// environment's proxy when its matcher (`proxy`) intercepts the destination.
#[derive(Clone)]
pub struct Direct {
    pub resolver: ProbeResolver,
    pub tls: Arc<rustls::ClientConfig>,
    pub connect_timeout: Option<Duration>,
    pub proxy: Option<Arc<Matcher>>,
}

/// `host` and `port` of `uri` (`default_port` when it has none), without IPv6 brackets.
fn host_port(uri: &Uri, default_port: u16) -> (String, u16) {
    let host = uri.host().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (host.to_string(), uri.port_u16().unwrap_or(default_port))
}

impl Direct {
    async fn connect(self, dst: Uri) -> Result<TimedStream, BoxError> {
        let https = dst.scheme_str() == Some("https");
        let (host, port) = host_port(&dst, if https { 443 } else { 80 });
        let via = self.proxy.as_ref().and_then(|m| m.intercept(&dst));
        // where the TCP connection goes: the server, or the proxy (http://, port 80 by default)
        let (peer_host, peer_port) = match &via {
            Some(i) => host_port(i.uri(), 80),
            None => (host.clone(), port),
        };
        let started_at = Instant::now();
        let (addrs, dns) = match peer_host.parse::<IpAddr>() {
            Ok(ip) => (vec![ip], None),
            Err(_) => {
                let t = Instant::now();
                let addrs = self.resolver.lookup(&peer_host).await?;
                (addrs, Some(t.elapsed()))
            }
        };
        let t = Instant::now();
        let mut last: Option<TcpConnectError> = None;
        let mut tcp = None;
        for ip in addrs {
            let addr = SocketAddr::new(ip, peer_port);
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(source) => last = Some(TcpConnectError { addr, source }),
            }
        }
        let mut tcp = match (tcp, last) {
            (Some(s), _) => s,
            (None, Some(e)) => return Err(Box::new(e)),
            (None, None) => return Err(format!("{peer_host}: no address to connect to").into()),
        };
        tcp.set_nodelay(true).ok();
        if let Some(i) = via.as_ref().filter(|_| https) {
            let proxy = format!("{peer_host}:{peer_port}");
            super::proxy::tunnel(&mut tcp, &proxy, &host, port, i.basic_auth()).await??;
        }
        let connect = t.elapsed();
        let remote = tcp.peer_addr()?;
        let local = tcp.local_addr().ok();
        let (io, tls) = if https {
            let t = Instant::now();
            let name = rustls_pki_types::ServerName::try_from(host.clone())
                .map_err(|e| format!("{host}: not a TLS server name: {e}"))?;
            let s = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|source| TlsHandshakeError {
                    host: host.clone(),
                    source,
                })?;
            (Io::Tls(Box::new(TokioIo::new(s))), Some(t.elapsed()))
        } else {
            (Io::Plain(TokioIo::new(tcp)), None)
        };
        Ok(TimedStream {
            io,
            info: Arc::new(ConnInfo {
                remote,
                local,
                dns,
                connect,
                tls,
                started_at,
                ready_at: Instant::now(),
                uses: AtomicU64::new(0),
                via_proxy: via.is_some(),
            }),
        })
    }
}

type Connecting = Pin<Box<dyn Future<Output = Result<TimedStream, BoxError>> + Send>>;

impl tower_service::Service<Uri> for Direct {
    type Response = TimedStream;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Connecting {
        let this = self.clone();
        let limit = self.connect_timeout;
        Box::pin(async move {
            match limit {
                None => this.connect(dst).await,
                Some(after) => match tokio::time::timeout(after, this.connect(dst)).await {
                    Ok(r) => r,
                    Err(_) => Err(Box::new(TimedOut {
                        kind: "connect",
                        after,
                    }) as BoxError),
                },
            }
        })
    }
}

/// The system's trust roots, loaded once (as the SDK's connector does).
static NATIVE_ROOTS: LazyLock<Vec<rustls_pki_types::CertificateDer<'static>>> =
    LazyLock::new(|| rustls_native_certs::load_native_certs().certs);

/// The rustls configuration: the system roots plus `ca_bundle` (PEM), HTTP/1.1.
pub fn tls_config(ca_bundle: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(NATIVE_ROOTS.clone());
    if let Some(pem) = ca_bundle {
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("cannot use the CA bundle: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("cannot use the CA bundle: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The setup times carried by a connection hyper captured.
pub fn conn_info(c: &Option<Connected>) -> Option<Arc<ConnInfo>> {
    let mut ext = http::Extensions::new();
    c.as_ref()?.get_extras(&mut ext);
    ext.get::<Arc<ConnInfo>>().cloned()
}
