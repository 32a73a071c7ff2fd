//! The probe's HTTP connector: hyper's client over a connect step of our own (the probe's
//! resolver, a TCP connect, rustls), so that every phase of every request is timed where it
//! happens, as blackbox_exporter does. Each new connection carries its DNS, connect and TLS
//! times; a request reports them when it is the first to use the connection and went out
//! after waiting for it, else it says `reused`. Its time to first byte and body transfer are
//! timed around the response. Everything is logged to the request's own [`timing::capture`].
//!
//! Requests that the environment's proxy intercepts go through the SDK's own connector
//! (`aws-smithy-http-client`, which speaks CONNECT and proxy authentication); their connection
//! phases are the proxy's and are not separated (`via_proxy`).
//!
//! The same connector serves the SDK clients ([`TimedHttpClient`]) and raw requests
//! ([`TimedConnector::send`]: "send this request, give me the answer and its phases").

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connection::{CaptureSmithyConnection, ConnectionMetadata};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use http::Uri;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection, capture_connection};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::resolver::{DnsLookupError, ProbeResolver};
use super::timing::{self, Entry, TimedBody};
use crate::evidence::{PhaseTimings, RequestTiming};

/// What one connection's setup cost, carried by the connection (hyper's `Connected` extra).
#[derive(Debug)]
struct ConnInfo {
    remote: SocketAddr,
    local: Option<SocketAddr>,
    dns: Option<Duration>,
    connect: Duration,
    tls: Option<Duration>,
    /// When the connection was ready for its first request.
    ready_at: Instant,
    /// Requests that went out on it so far.
    uses: AtomicU64,
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
        Connected::new().extra(self.info.clone())
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
struct TimedOut {
    kind: &'static str,
    after: Duration,
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

/// The connect step: resolve (timed), connect (timed), TLS (timed) for `https`.
#[derive(Clone)]
pub struct Direct {
    resolver: ProbeResolver,
    tls: Arc<rustls::ClientConfig>,
    connect_timeout: Option<Duration>,
}

impl Direct {
    async fn connect(self, dst: Uri) -> Result<TimedStream, BoxError> {
        let https = dst.scheme_str() == Some("https");
        let host = dst.host().unwrap_or_default();
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = dst.port_u16().unwrap_or(if https { 443 } else { 80 });
        let (addrs, dns) = match host.parse::<IpAddr>() {
            Ok(ip) => (vec![ip], None),
            Err(_) => {
                let t = Instant::now();
                let addrs = self.resolver.lookup(&host).await?;
                (addrs, Some(t.elapsed()))
            }
        };
        let t = Instant::now();
        let mut last: Option<TcpConnectError> = None;
        let mut tcp = None;
        for ip in addrs {
            let addr = SocketAddr::new(ip, port);
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(source) => last = Some(TcpConnectError { addr, source }),
            }
        }
        let tcp = match (tcp, last) {
            (Some(s), _) => s,
            (None, Some(e)) => return Err(Box::new(e)),
            (None, None) => return Err(format!("{host}: no address to connect to").into()),
        };
        let connect = t.elapsed();
        tcp.set_nodelay(true).ok();
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
                ready_at: Instant::now(),
                uses: AtomicU64::new(0),
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

/// The HTTP connector of the probe (see the module doc).
#[derive(Clone)]
pub struct TimedConnector {
    client: Client<Direct, SdkBody>,
    /// The SDK's connector, for the requests the environment's proxy intercepts.
    proxied: Option<(Arc<Matcher>, Arc<Connector>)>,
    read_timeout: Option<Duration>,
}

impl fmt::Debug for TimedConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimedConnector")
            .field("proxied", &self.proxied.is_some())
            .finish()
    }
}

impl TimedConnector {
    /// A connector with its own connection pool.
    pub fn new(
        resolver: ProbeResolver,
        tls: Arc<rustls::ClientConfig>,
        proxied: Option<(Matcher, Connector)>,
        connect_timeout: Option<Duration>,
        read_timeout: Option<Duration>,
    ) -> Self {
        let mut b = Client::builder(TokioExecutor::new());
        b.pool_timer(TokioTimer::new());
        TimedConnector {
            client: b.build(Direct {
                resolver,
                tls,
                connect_timeout,
            }),
            proxied: proxied.map(|(p, c)| (Arc::new(p), Arc::new(c))),
            read_timeout,
        }
    }

    /// Send `req`, read its whole body, and return the answer with its timing (complete: the
    /// transfer included). Logged to the current capture as well.
    pub async fn send(
        &self,
        req: HttpRequest,
    ) -> Result<(HttpResponse, RequestTiming), ConnectorError> {
        use http_body_util::BodyExt;
        let (entry, fut) = self.dispatch(req);
        let resp = fut.await?;
        let (parts, body) = resp.into_parts();
        let bytes = body
            .collect()
            .await
            .map_err(|e| ConnectorError::io(e.into()))?
            .to_bytes();
        let resp = http::Response::from_parts(parts, SdkBody::from(bytes));
        let resp =
            HttpResponse::try_from(resp).map_err(|e| ConnectorError::other(e.into(), None))?;
        Ok((resp, entry.get()))
    }

    /// Hand `req` to the pool (or the proxy's connector): its entry, and the answer's head.
    fn dispatch(
        &self,
        req: HttpRequest,
    ) -> (
        Entry,
        impl Future<Output = Result<http::Response<SdkBody>, ConnectorError>> + Send + 'static,
    ) {
        let uri: Option<Uri> = req.uri().parse().ok();
        let (host, path) = uri
            .as_ref()
            .map(|u| {
                (
                    u.host().unwrap_or_default().to_string(),
                    u.path().to_string(),
                )
            })
            .unwrap_or_default();
        let action = match req.method() {
            "POST" => req.body().bytes().and_then(timing::query_action),
            _ => None,
        };
        let entry = Entry::start(req.method(), &host, &path, action);
        let proxied = match (&self.proxied, &uri) {
            (Some((m, conn)), Some(u)) if m.intercept(u).is_some() => Some(conn.clone()),
            _ => None,
        };
        let client = self.client.clone();
        let read_timeout = self.read_timeout;
        let e = entry.clone();
        let fut = async move {
            let started = e.started();
            let result = match proxied {
                Some(conn) => proxy_send(&conn, req).await,
                None => direct_send(&client, req, read_timeout).await,
            };
            match result {
                Ok((resp, mut phases, ready_at)) => {
                    let head_at = Instant::now();
                    phases.ttfb_ms = Some(head_at - ready_at.max(started));
                    e.headers(resp.status().as_u16(), phases);
                    Ok(resp.map(|b| SdkBody::from_body_1_x(TimedBody::new(b, e, head_at))))
                }
                Err(err) => {
                    e.failed();
                    Err(err)
                }
            }
        };
        (entry, fut)
    }
}

/// Through the proxy, with the SDK's connector: no separate connection phases.
async fn proxy_send(
    conn: &Connector,
    req: HttpRequest,
) -> Result<(http::Response<SdkBody>, PhaseTimings, Instant), ConnectorError> {
    let started = Instant::now();
    let resp = conn.call(req).await?;
    let resp = resp
        .try_into_http1x()
        .map_err(|e| ConnectorError::other(e.into(), None))?;
    let phases = PhaseTimings {
        via_proxy: true,
        ..Default::default()
    };
    Ok((resp, phases, started))
}

/// Straight to the server, on the pool: the phases of the connection when this request waited
/// for it to be set up.
async fn direct_send(
    client: &Client<Direct, SdkBody>,
    req: HttpRequest,
    read_timeout: Option<Duration>,
) -> Result<(http::Response<SdkBody>, PhaseTimings, Instant), ConnectorError> {
    let started = Instant::now();
    let mut req = req
        .try_into_http1x()
        .map_err(|e| ConnectorError::user(e.into()))?;
    let capture = capture_connection(&mut req);
    if let Some(smithy) = req.extensions().get::<CaptureSmithyConnection>() {
        let capture = capture.clone();
        smithy.set_connection_retriever(move || {
            let info = conn_info(&capture.connection_metadata())?;
            let poison = capture.clone();
            let mut b = ConnectionMetadata::builder()
                .proxied(false)
                .remote_addr(info.remote)
                .poison_fn(move || {
                    if let Some(c) = poison.connection_metadata().as_ref() {
                        c.poison()
                    }
                });
            b.set_local_addr(info.local);
            Some(b.build())
        });
    }
    let fut = client.request(req);
    let resp = match read_timeout {
        None => fut.await,
        Some(after) => match tokio::time::timeout(after, fut).await {
            Ok(r) => r,
            Err(_) => {
                return Err(ConnectorError::timeout(Box::new(TimedOut {
                    kind: "read",
                    after,
                })));
            }
        },
    }
    .map_err(connector_error)?;
    let mut phases = PhaseTimings::default();
    let mut ready_at = started;
    match conn_info(&capture.connection_metadata()) {
        Some(info) => {
            let first = info.uses.fetch_add(1, Ordering::SeqCst) == 0;
            // A connection already open when the request went out cost it nothing.
            if first && info.ready_at > started {
                phases.dns_ms = info.dns;
                phases.connect_ms = Some(info.connect);
                phases.tls_ms = info.tls;
                ready_at = info.ready_at;
            } else {
                phases.reused = true;
            }
        }
        None => phases.reused = true,
    }
    Ok((resp.map(SdkBody::from_body_1_x), phases, ready_at))
}

fn conn_info(c: &Option<Connected>) -> Option<Arc<ConnInfo>> {
    let mut ext = http::Extensions::new();
    c.as_ref()?.get_extras(&mut ext);
    ext.get::<Arc<ConnInfo>>().cloned()
}

fn find<'a, E: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<E>() {
            return Some(t);
        }
        cur = e.source();
    }
    None
}

/// hyper's error as the SDK's: timeouts, I/O (DNS, connect, TLS: retryable), the rest.
fn connector_error(err: hyper_util::client::legacy::Error) -> ConnectorError {
    let connect = err.is_connect();
    let boxed: BoxError = Box::new(err);
    let e: &(dyn std::error::Error + 'static) = boxed.as_ref();
    if find::<TimedOut>(e).is_some() {
        return ConnectorError::timeout(boxed);
    }
    if connect || find::<DnsLookupError>(e).is_some() {
        return ConnectorError::io(boxed);
    }
    if let Some(h) = find::<hyper::Error>(e) {
        if h.is_timeout() {
            return ConnectorError::timeout(boxed);
        }
        if h.is_user() {
            return ConnectorError::user(boxed);
        }
        if h.is_closed() || h.is_canceled() || find::<io::Error>(e).is_some() {
            return ConnectorError::io(boxed);
        }
        if h.is_incomplete_message() {
            return ConnectorError::other(boxed, Some(ErrorKind::TransientError));
        }
    }
    ConnectorError::other(boxed, None)
}

impl HttpConnector for TimedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (_, fut) = self.dispatch(request);
        HttpConnectorFuture::new(async move {
            let resp = fut.await?;
            HttpResponse::try_from(resp).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// Builds the connector for given timeouts (`None` settings: none).
type Factory = dyn Fn(Option<&HttpConnectorSettings>, Option<&RuntimeComponents>) -> TimedConnector
    + Send
    + Sync;

/// The SDK's HTTP client: one [`TimedConnector`] (one pool) per distinct pair of timeouts, as
/// the SDK's own client does.
pub struct TimedHttpClient {
    factory: Box<Factory>,
    cache: RwLock<HashMap<(Option<Duration>, Option<Duration>), SharedHttpConnector>>,
}

impl fmt::Debug for TimedHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TimedHttpClient")
    }
}

impl TimedHttpClient {
    pub fn new(
        factory: impl Fn(Option<&HttpConnectorSettings>, Option<&RuntimeComponents>) -> TimedConnector
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Self {
            factory: Box::new(factory),
            cache: RwLock::default(),
        }
    }
}

impl HttpClient for TimedHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        if let Some(c) = self.cache.read().expect("cache poisoned").get(&key) {
            return c.clone();
        }
        let mut cache = self.cache.write().expect("cache poisoned");
        cache
            .entry(key)
            .or_insert_with(|| {
                SharedHttpConnector::new((self.factory)(Some(settings), Some(components)))
            })
            .clone()
    }
}
