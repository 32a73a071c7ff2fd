//! Where the time of one HTTP request went, phase by phase, as blackbox_exporter splits it
//! (`prober/http.go`: resolve, connect, tls, processing, transfer): DNS through the probe's own
//! resolver, the TCP connect, the TLS handshake, the time to first byte (the request written and
//! the server thinking: blackbox's `processing`) and the body transfer. A request sent on a
//! kept-alive connection has no DNS, connect or TLS phase: it says `reused: true`.
//!
//! The phases of one request add up to (a little less than) its own wall time: they are
//! measured back to back by the connector (`net::connector`), so they never overlap.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A phase is *slow* from this long on: the human table then shows the phases of the request
/// even without `-v`. One second is far above a healthy in-region request (tens of ms) and
/// well below the default run `--timeout` (10 s).
pub const SLOW_PHASE: Duration = Duration::from_secs(1);

/// An operation is slow, and its phases shown, from this long on (as [`SLOW_PHASE`]).
pub const SLOW_REQUEST: Duration = Duration::from_secs(1);

/// A duration as milliseconds with microsecond precision (`12.345`).
fn ms(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

mod ms_opt {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_f64(ms(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let v: Option<f64> = Option::deserialize(d)?;
        Ok(v.filter(|v| v.is_finite() && *v >= 0.0)
            .map(|v| Duration::from_micros((v * 1000.0).round() as u64)))
    }
}

/// The phases of one HTTP request (milliseconds in JSON). A phase is absent (null) when it did
/// not happen: no DNS for an IP literal (IMDS, an endpoint URL by address), no connect and no
/// TLS on a reused connection, no TLS over plain HTTP, no transfer when the body was never read
/// to its end. Through a proxy (`via_proxy`) DNS and connect are the proxy's (connect includes
/// its `CONNECT` tunnel) and TLS is the handshake with the server through the tunnel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseTimings {
    /// The request's connection was not set up for it: a kept-alive connection (or, rarely, one
    /// another request had begun to open): no DNS, connect or TLS phase.
    #[serde(default)]
    pub reused: bool,
    /// Resolving the host through the probe's resolver.
    #[serde(with = "ms_opt", default, skip_serializing_if = "Option::is_none")]
    pub dns_ms: Option<Duration>,
    /// The TCP connect (SYN to established), to the address that answered.
    #[serde(with = "ms_opt", default, skip_serializing_if = "Option::is_none")]
    pub connect_ms: Option<Duration>,
    /// The TLS handshake.
    #[serde(with = "ms_opt", default, skip_serializing_if = "Option::is_none")]
    pub tls_ms: Option<Duration>,
    /// From the connection being ready to the answer's status line and headers: sending the
    /// request and the server's processing (blackbox_exporter's `processing`).
    #[serde(with = "ms_opt", default, skip_serializing_if = "Option::is_none")]
    pub ttfb_ms: Option<Duration>,
    /// From the headers to the last byte of the body.
    #[serde(with = "ms_opt", default, skip_serializing_if = "Option::is_none")]
    pub transfer_ms: Option<Duration>,
    /// The request went through an HTTP proxy: `dns_ms` and `connect_ms` are the proxy's
    /// (`connect_ms` includes opening its tunnel).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub via_proxy: bool,
}

crate::wire_enum! {
    /// One phase of a request (the Prometheus `phase` label, the CloudWatch `Phase` dimension).
    pub enum RequestPhase {
        Dns => "dns",
        Connect => "connect",
        Tls => "tls",
        Ttfb => "ttfb",
        Transfer => "transfer",
    }
}

impl PhaseTimings {
    /// Each phase that happened, in order.
    pub fn phases(&self) -> Vec<(RequestPhase, Duration)> {
        [
            (RequestPhase::Dns, self.dns_ms),
            (RequestPhase::Connect, self.connect_ms),
            (RequestPhase::Tls, self.tls_ms),
            (RequestPhase::Ttfb, self.ttfb_ms),
            (RequestPhase::Transfer, self.transfer_ms),
        ]
        .into_iter()
        .filter_map(|(p, d)| Some((p, d?)))
        .collect()
    }

    /// The sum of the phases that happened.
    pub fn total(&self) -> Duration {
        self.phases().iter().map(|(_, d)| *d).sum()
    }

    /// Is any phase at least [`SLOW_PHASE`] long?
    pub fn is_slow(&self) -> bool {
        self.phases().iter().any(|(_, d)| *d >= SLOW_PHASE)
    }

    /// One line: `dns 1.2 ms · connect 0.4 ms · tls 3.1 ms · ttfb 20.0 ms · transfer 0.1 ms`
    /// (`reused` first on a kept-alive connection, `via proxy` through a proxy).
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if self.reused {
            parts.push("reused".into());
        }
        if self.via_proxy {
            parts.push("via proxy".into());
        }
        for (p, d) in self.phases() {
            parts.push(format!("{p} {}", fmt_ms(d)));
        }
        parts.join(" · ")
    }
}

/// `0.4 ms`, `12 ms`, `1.25 s`.
pub fn fmt_ms(d: Duration) -> String {
    let m = d.as_secs_f64() * 1000.0;
    if m < 10.0 {
        format!("{m:.1} ms")
    } else if m < 1000.0 {
        format!("{m:.0} ms")
    } else {
        format!("{:.2} s", m / 1000.0)
    }
}

/// One HTTP request the probe sent (an IMDS read, an EC2 API call, the unsigned HEAD, ...), and
/// its phases. Only the path is kept: never the query or a header (no signature, no token).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestTiming {
    pub method: String,
    pub host: String,
    pub path: String,
    /// The API action of a Query-protocol request (the EC2 API's `Action=` form field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The answer's HTTP status (absent: no answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// From the request being handed to the connector to the end of its body (or its failure).
    #[serde(with = "ms_opt", default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<Duration>,
    pub phases: PhaseTimings,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(us: u64) -> Duration {
        Duration::from_micros(us)
    }

    #[test]
    fn json_is_milliseconds_and_absent_phases_are_left_out() {
        let p = PhaseTimings {
            reused: false,
            dns_ms: Some(d(1_234)),
            connect_ms: Some(d(500)),
            tls_ms: None,
            ttfb_ms: Some(d(20_000)),
            transfer_ms: Some(d(7)),
            via_proxy: false,
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"reused": false, "dns_ms": 1.234, "connect_ms": 0.5,
                "ttfb_ms": 20.0, "transfer_ms": 0.007})
        );
        let back: PhaseTimings = serde_json::from_value(v).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn a_reused_connection_has_only_ttfb_and_transfer() {
        let p = PhaseTimings {
            reused: true,
            ttfb_ms: Some(d(3_000)),
            transfer_ms: Some(d(1_000)),
            ..Default::default()
        };
        assert_eq!(
            p.phases().iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            vec![RequestPhase::Ttfb, RequestPhase::Transfer]
        );
        assert_eq!(p.total(), d(4_000));
        assert_eq!(p.summary(), "reused · ttfb 3.0 ms · transfer 1.0 ms");
        assert!(!p.is_slow());
    }

    #[test]
    fn slow_is_one_phase_of_a_second() {
        let mut p = PhaseTimings {
            connect_ms: Some(Duration::from_millis(999)),
            ..Default::default()
        };
        assert!(!p.is_slow());
        p.connect_ms = Some(SLOW_PHASE);
        assert!(p.is_slow());
        assert_eq!(p.summary(), "connect 1.00 s");
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_ms(d(400)), "0.4 ms");
        assert_eq!(fmt_ms(d(12_400)), "12 ms");
        assert_eq!(fmt_ms(Duration::from_millis(1250)), "1.25 s");
    }
}
