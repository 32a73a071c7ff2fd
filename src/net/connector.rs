//! The probe's HTTP connector: hyper's client over a connect step of our own (the probe's
//! resolver, a TCP connect, rustls), so that every phase of every request is timed where it
//! happens, as blackbox_exporter does. Each new connection carries its DNS, connect and TLS
//! times; a request reports them when it is the connection's first and the setup began after
//! the request was handed over, else it says `reused`. Its time to first byte and body transfer are
//! timed around the response. Everything is logged to the request's own [`timing::capture`].
//!
//! Requests that the environment's proxy intercepts connect through it ([`super::connect`]):
//! their phases are marked `via_proxy` (connect: to the proxy and through its tunnel).
//!
//! The same connector serves the SDK clients ([`TimedHttpClient`]) and raw requests
//! ([`TimedConnector::send`]: "send this request, give me the answer and its phases").

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

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
use hyper_util::client::legacy::connect::capture_connection;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};

pub use super::connect::tls_config;
use super::connect::{Direct, TimedOut, conn_info};
use super::proxy::TunnelError;
use super::resolver::{DnsLookupError, ProbeResolver};
use super::timing::{self, Entry, TimedBody};
use crate::evidence::{PhaseTimings, RequestTiming};

/// The HTTP connector of the probe (see the module doc).
#[derive(Clone)]
pub struct TimedConnector {
    client: Client<Direct, SdkBody>,
    /// The environment's proxy, which intercepts some requests.
    proxy: Option<Arc<Matcher>>,
    read_timeout: Option<Duration>,
}

impl fmt::Debug for TimedConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimedConnector")
            .field("proxy", &self.proxy.is_some())
            .finish()
    }
}

impl TimedConnector {
    /// A connector with its own connection pool.
    pub fn new(
        resolver: ProbeResolver,
        tls: Arc<rustls::ClientConfig>,
        proxy: Option<Matcher>,
        connect_timeout: Option<Duration>,
        read_timeout: Option<Duration>,
    ) -> Self {
        let proxy = proxy.map(Arc::new);
        let mut b = Client::builder(TokioExecutor::new());
        b.pool_timer(TokioTimer::new());
        TimedConnector {
            client: b.build(Direct {
                resolver,
                tls,
                connect_timeout,
                proxy: proxy.clone(),
            }),
            proxy,
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
        let bytes = body.collect().await.map_err(ConnectorError::io)?.to_bytes();
        let resp = http::Response::from_parts(parts, SdkBody::from(bytes));
        let resp =
            HttpResponse::try_from(resp).map_err(|e| ConnectorError::other(e.into(), None))?;
        Ok((resp, entry.get()))
    }

    /// Hand `req` to the pool: its entry, and the answer's head.
    fn dispatch(
        &self,
        mut req: HttpRequest,
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
        // plain HTTP through the proxy: the proxy's credentials go with each request (an https
        // request gives them to the proxy in its tunnel's CONNECT)
        if let (Some(m), Some(u)) = (&self.proxy, &uri)
            && u.scheme_str() == Some("http")
            && let Some(auth) = m.intercept(u).and_then(|i| i.basic_auth().cloned())
            && let Ok(auth) = auth.to_str()
        {
            req.headers_mut()
                .insert("proxy-authorization", auth.to_string());
        }
        let client = self.client.clone();
        let read_timeout = self.read_timeout;
        let e = entry.clone();
        let fut = async move {
            let started = e.started();
            let result = direct_send(&client, req, read_timeout).await;
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

/// On the pool (straight to the server or through the proxy): the phases of the connection when this request waited
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
                .proxied(info.via_proxy)
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
            phases.via_proxy = info.via_proxy;
            let first = info.uses.fetch_add(1, Ordering::SeqCst) == 0;
            // Its phases are this request's when it is the connection's first and the setup
            // began after it was handed over. A connection already open cost it nothing; one
            // that another request had begun to open (hyper finishes a connect that lost the
            // race to a pooled connection) is counted as reused: its setup is no one's phase.
            if first && info.started_at >= started {
                phases.dns_ms = info.dns;
                phases.connect_ms = Some(info.connect);
                phases.tls_ms = info.tls;
            } else {
                phases.reused = true;
            }
            ready_at = info.ready_at.max(started);
        }
        None => phases.reused = true,
    }
    Ok((resp.map(SdkBody::from_body_1_x), phases, ready_at))
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

/// hyper's error as the SDK's: timeouts, I/O (DNS, connect, TLS: retryable), a proxy's
/// refusal (retryable unless 4xx), the rest.
fn connector_error(err: hyper_util::client::legacy::Error) -> ConnectorError {
    let connect = err.is_connect();
    let boxed: BoxError = Box::new(err);
    let e: &(dyn std::error::Error + 'static) = boxed.as_ref();
    if find::<TimedOut>(e).is_some() {
        return ConnectorError::timeout(boxed);
    }
    // The proxy refused the tunnel: for its rules or the credentials (4xx) that will not change
    // on a retry; a proxy that could not reach the server (5xx) or closed may do better.
    if let Some(t) = find::<TunnelError>(e) {
        return match t.status {
            Some(400..=499) => ConnectorError::other(boxed, None),
            _ => ConnectorError::io(boxed),
        };
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
type Factory = dyn Fn(Option<&HttpConnectorSettings>) -> TimedConnector + Send + Sync;

/// A connector's connect and read timeouts.
type Timeouts = (Option<Duration>, Option<Duration>);

/// The SDK's HTTP client: one [`TimedConnector`] (one pool) per distinct pair of timeouts, as
/// the SDK's own client does.
pub struct TimedHttpClient {
    factory: Box<Factory>,
    cache: RwLock<HashMap<Timeouts, SharedHttpConnector>>,
}

impl fmt::Debug for TimedHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TimedHttpClient")
    }
}

impl TimedHttpClient {
    pub fn new(
        factory: impl Fn(Option<&HttpConnectorSettings>) -> TimedConnector + Send + Sync + 'static,
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
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        if let Some(c) = self.cache.read().expect("cache poisoned").get(&key) {
            return c.clone();
        }
        let mut cache = self.cache.write().expect("cache poisoned");
        cache
            .entry(key)
            .or_insert_with(|| SharedHttpConnector::new((self.factory)(Some(settings))))
            .clone()
    }
}
