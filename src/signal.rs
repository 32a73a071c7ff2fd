//! Stop requests from outside the process: SIGINT (Ctrl-C) and SIGTERM (`systemctl stop`,
//! `kill`), as one cloneable token, [`Stop`], that any task can poll ([`Stop::received`]) or
//! await ([`Stop::wait`]), and that says which signal came.
//!
//! [`Stop::listen`] replaces the default action of both signals (end the process at once) for
//! the rest of the process's life, so call it only where the caller will act on the token: the
//! probe deletes what it wrote and reports what it has (`check`), a long-running loop prints its
//! summary. Only the first signal counts; later ones are absorbed (the caller's clean-up is
//! bounded, so a second Ctrl-C is not needed to end it). [`Stop::never`] is a token no signal
//! resolves (tests, library use).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let stop = vpce_probe::signal::Stop::listen()?; // inside a tokio runtime
//! tokio::select! {
//!     _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
//!     sig = stop.wait() => eprintln!("stopped by {sig}"),
//! }
//! # Ok(()) }
//! ```

use std::future::Future;
use std::sync::Arc;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

pub use crate::evidence::StopSignal;

/// A stop request, once one arrives; clones share it.
#[derive(Debug, Clone)]
pub struct Stop {
    rx: watch::Receiver<Option<StopSignal>>,
    /// Keeps the channel open for [`Stop::never`] and [`Stop::manual`].
    _tx: Option<Arc<watch::Sender<Option<StopSignal>>>>,
}

impl Stop {
    /// Catch SIGINT and SIGTERM from now on. Must be called inside a tokio runtime (with the
    /// signal driver: `enable_all`); the handlers are installed before it returns.
    pub fn listen() -> std::io::Result<Self> {
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            loop {
                let got = tokio::select! {
                    Some(()) = int.recv() => StopSignal::Sigint,
                    Some(()) = term.recv() => StopSignal::Sigterm,
                    else => return,
                };
                tx.send_if_modified(|s| {
                    let first = s.is_none();
                    if first {
                        *s = Some(got);
                    }
                    first
                });
            }
        });
        Ok(Self { rx, _tx: None })
    }

    /// A token no signal resolves.
    pub fn never() -> Self {
        Self::manual().0
    }

    /// A token resolved by calling the returned function (tests).
    pub fn manual() -> (Self, impl Fn(StopSignal)) {
        let (tx, rx) = watch::channel(None);
        let tx = Arc::new(tx);
        let trigger = {
            let tx = tx.clone();
            move |s: StopSignal| {
                tx.send_if_modified(|cur| {
                    let first = cur.is_none();
                    if first {
                        *cur = Some(s);
                    }
                    first
                });
            }
        };
        (Self { rx, _tx: Some(tx) }, trigger)
    }

    /// The signal received so far, if any.
    pub fn received(&self) -> Option<StopSignal> {
        *self.rx.borrow()
    }

    /// Resolves with the signal once one has arrived (at once if one already has).
    pub fn wait(&self) -> impl Future<Output = StopSignal> + Send + 'static {
        let mut rx = self.rx.clone();
        async move {
            loop {
                if let Some(s) = *rx.borrow_and_update() {
                    return s;
                }
                if rx.changed().await.is_err() {
                    // the listener is gone: no signal will ever come
                    std::future::pending::<()>().await;
                }
            }
        }
    }

    /// Run `fut` unless a stop arrives first (`Err(signal)`: `fut` was dropped unfinished).
    pub async fn unless<T>(&self, fut: impl Future<Output = T>) -> Result<T, StopSignal> {
        if let Some(s) = self.received() {
            return Err(s);
        }
        tokio::select! {
            biased;
            s = self.wait() => Err(s),
            v = fut => Ok(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_manual_stop_resolves_wait_and_unless() {
        let (stop, fire) = Stop::manual();
        assert_eq!(stop.received(), None);
        let other = stop.clone();
        let waiter = tokio::spawn(async move { other.wait().await });
        let slow = stop.unless(tokio::time::sleep(Duration::from_millis(20)));
        assert_eq!(slow.await, Ok(()));
        fire(StopSignal::Sigterm);
        fire(StopSignal::Sigint); // only the first counts
        assert_eq!(waiter.await.unwrap(), StopSignal::Sigterm);
        assert_eq!(stop.received(), Some(StopSignal::Sigterm));
        let cut = stop.unless(tokio::time::sleep(Duration::from_secs(60)));
        assert_eq!(cut.await, Err(StopSignal::Sigterm));
    }

    #[tokio::test]
    async fn never_stays_pending() {
        let stop = Stop::never();
        let r = tokio::time::timeout(Duration::from_millis(20), stop.wait()).await;
        assert!(r.is_err());
    }
}
