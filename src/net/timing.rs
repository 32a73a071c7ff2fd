//! Per-request phase timings, gathered without globals: [`capture`] runs a future with a fresh
//! request log in a task-local; the connector ([`super::connector`]) appends one entry per
//! request it is handed while that future is being polled, and fills it in as the request goes
//! (connection phases when the answer's head arrives, the transfer when its body ends).
//!
//! Concurrent operations each run in their own `capture` (a task-local is set only while its
//! own future is polled, even among futures joined on one task), so a request is always logged
//! to the operation that sent it; there is no "last connection" to race for.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::evidence::{PhaseTimings, RequestTiming};

/// The requests logged by one [`capture`].
#[derive(Debug, Clone, Default)]
pub struct RequestLog(Arc<Mutex<Vec<Entry>>>);

impl RequestLog {
    /// What was logged so far, in the order the requests were sent.
    pub fn requests(&self) -> Vec<RequestTiming> {
        self.0
            .lock()
            .expect("request log poisoned")
            .iter()
            .map(Entry::get)
            .collect()
    }

    fn push(&self, e: Entry) {
        self.0.lock().expect("request log poisoned").push(e);
    }
}

tokio::task_local! {
    static LOG: RequestLog;
}

/// Run `fut`, returning its output and every request it sent, in order.
pub async fn capture<F: Future>(fut: F) -> (F::Output, Vec<RequestTiming>) {
    let log = RequestLog::default();
    let out = LOG.scope(log.clone(), fut).await;
    (out, log.requests())
}

/// Run `fut` logging its requests into `log` (readable while `fut` runs or after it was cut
/// short by a deadline).
pub async fn capture_into<F: Future>(log: RequestLog, fut: F) -> F::Output {
    LOG.scope(log, fut).await
}

/// One request being timed: shared by the connector, the response body and the log.
#[derive(Debug, Clone)]
pub struct Entry {
    started: Instant,
    inner: Arc<Mutex<RequestTiming>>,
}

impl Entry {
    /// A new entry, logged into the current [`capture`] if there is one.
    pub fn start(method: &str, host: &str, path: &str, action: Option<String>) -> Self {
        let e = Entry {
            started: Instant::now(),
            inner: Arc::new(Mutex::new(RequestTiming {
                method: method.to_string(),
                host: host.to_string(),
                path: path.to_string(),
                action,
                ..Default::default()
            })),
        };
        // outside any capture (a sink's request, say) the entry is simply not logged
        let _ = LOG.try_with(|log| log.push(e.clone()));
        e
    }

    /// When the connector was handed the request.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The answer's head arrived with these phases (the transfer is still to come).
    pub fn headers(&self, status: u16, phases: PhaseTimings) {
        let mut t = self.inner.lock().expect("timing poisoned");
        t.http_status = Some(status);
        t.phases = phases;
        t.duration_ms = Some(self.started.elapsed());
    }

    /// The request failed before an answer (its duration is still recorded).
    pub fn failed(&self) {
        self.inner.lock().expect("timing poisoned").duration_ms = Some(self.started.elapsed());
    }

    /// The body ended, `transfer` after the head.
    fn body_done(&self, transfer: Duration) {
        let mut t = self.inner.lock().expect("timing poisoned");
        if t.phases.transfer_ms.is_none() {
            t.phases.transfer_ms = Some(transfer);
            t.duration_ms = Some(self.started.elapsed());
        }
    }

    /// What was recorded so far.
    pub fn get(&self) -> RequestTiming {
        self.inner.lock().expect("timing poisoned").clone()
    }
}

/// A response body that records, in its [`Entry`], how long it took from the head to its end.
pub struct TimedBody<B> {
    inner: B,
    entry: Entry,
    head_at: Instant,
}

impl<B> TimedBody<B> {
    pub fn new(inner: B, entry: Entry, head_at: Instant) -> Self {
        Self {
            inner,
            entry,
            head_at,
        }
    }
}

impl<B> Body for TimedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let p = Pin::new(&mut self.inner).poll_frame(cx);
        match &p {
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => {
                self.entry.body_done(self.head_at.elapsed())
            }
            Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => {
                self.entry.body_done(self.head_at.elapsed())
            }
            _ => {}
        }
        p
    }

    fn is_end_stream(&self) -> bool {
        let end = self.inner.is_end_stream();
        if end {
            self.entry.body_done(self.head_at.elapsed());
        }
        end
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The `Action` of a Query-protocol request body (`Action=DescribeRouteTables&Version=…`).
pub fn query_action(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(&body[..body.len().min(512)]).ok()?;
    text.split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_of_a_query_body() {
        assert_eq!(
            query_action(b"Action=DescribeRouteTables&Version=2016-11-15&Filter.1.Name=x"),
            Some("DescribeRouteTables".into())
        );
        assert_eq!(
            query_action(b"Version=1&Action=GetManagedPrefixListEntries"),
            Some("GetManagedPrefixListEntries".into())
        );
        assert_eq!(query_action(b"<xml/>"), None);
        assert_eq!(query_action(b"Action=a%20b"), None);
    }

    #[tokio::test]
    async fn concurrent_captures_keep_their_own_requests() {
        let op = |name: &'static str, wait: u64| async move {
            tokio::time::sleep(Duration::from_millis(wait)).await;
            Entry::start("GET", name, "/", None).headers(200, PhaseTimings::default());
            tokio::time::sleep(Duration::from_millis(wait)).await;
            Entry::start("GET", name, "/again", None);
        };
        let ((_, a), (_, b)) = tokio::join!(capture(op("a", 5)), capture(op("b", 1)));
        assert_eq!(
            a.iter()
                .map(|r| (r.host.as_str(), r.path.as_str()))
                .collect::<Vec<_>>(),
            [("a", "/"), ("a", "/again")]
        );
        assert!(b.iter().all(|r| r.host == "b") && b.len() == 2);
        assert_eq!(a[0].http_status, Some(200));
        // outside a capture nothing is logged (and nothing fails)
        Entry::start("GET", "c", "/", None);
    }

    #[tokio::test]
    async fn the_body_records_its_transfer_once_at_its_end() {
        use http_body_util::BodyExt;
        let (_, reqs) = capture(async {
            let e = Entry::start("GET", "h", "/", None);
            e.headers(200, PhaseTimings::default());
            let body = TimedBody::new(
                http_body_util::Full::new(Bytes::from_static(b"hello")),
                e,
                Instant::now(),
            );
            let bytes = body.collect().await.unwrap().to_bytes();
            assert_eq!(&bytes[..], b"hello");
        })
        .await;
        assert!(reqs[0].phases.transfer_ms.is_some());
        assert!(reqs[0].duration_ms.is_some());
    }
}
