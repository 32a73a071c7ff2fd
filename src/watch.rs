//! `check --watch`: the loop. Each cycle is a whole run (probe → diagnose → report → sinks,
//! bounded by `--timeout` and `--sink-timeout`, its probe objects deleted by the probe as in a
//! single run); the next starts `interval` after this one started, or at once if it took longer:
//! cycles never overlap. What changed is worked out by `report::watch` (pure) and written by
//! `report::watch_render`. Signal handling is kept here and minimal: the first SIGINT or SIGTERM
//! lets the cycle under way finish (so it deletes what it wrote), prints the summary and ends;
//! a second one ends at once. The exit code is main's to decide, from [`WatchEnd`].

use std::io::{self, Write};
use std::time::{Duration, Instant, SystemTime};

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::config::{Config, ConfigError};
use crate::report::model::Report;
use crate::report::watch::{Health, History, Observed, Outcome, WatchBlock, WatchLine, next_start};
use crate::report::watch_render::{self as render, Style, human_duration};
use crate::report::{prometheus, sink};
use crate::{diagnose, probe};

/// How the cycles are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// On a terminal: one screen, redrawn in place.
    Screen,
    /// Off a terminal: one line per cycle, per transition, per failure and recovery.
    Lines,
    /// `--output json`: one report per line (with a `watch` block); the summary goes to stderr.
    Json,
}

/// A signal that ends the watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    Interrupt,
    Terminate,
}

impl Sig {
    fn name(self) -> &'static str {
        match self {
            Sig::Interrupt => "SIGINT",
            Sig::Terminate => "SIGTERM",
        }
    }
}

/// Why the watch ended.
#[derive(Debug)]
pub enum Stop {
    /// A signal, after the cycle under way finished.
    Signal(Sig),
    /// A second signal during a cycle: it was abandoned (its probe object may remain).
    Abandoned(Sig),
    /// The first cycle could not run (bad configuration: no region, ...).
    FirstCycle(ConfigError),
    /// The output (stdout, or `--prometheus-textfile`) could not be written.
    Output(String),
}

/// How the watch ended, and the last finished cycle's outcome.
#[derive(Debug)]
pub struct WatchEnd {
    pub stop: Stop,
    pub last: Option<Outcome>,
}

/// One cycle: a whole run, its report, and its delivery to the sinks.
pub async fn cycle(cfg: &Config) -> Result<Report, ConfigError> {
    // The watch handles SIGINT/SIGTERM itself (a cycle under way finishes first): its cycles
    // are not cut short by the probe's own stop token.
    let run = probe::run(cfg, &crate::signal::Stop::never()).await?;
    let diagnosis = diagnose::diagnose(&run.evidence, &cfg.expectations());
    let mut report = Report::build(&run.evidence, &diagnosis);
    if !cfg.sinks.sinks.is_empty() {
        let outcomes =
            sink::deliver(&run.sdk, &run.api_connector, &report, &cfg.sinks, &run.host).await;
        let findings = diagnose::sink_findings(&outcomes);
        report.add_sink_outcomes(outcomes, findings);
    }
    Ok(report)
}

/// The configuration of cycle `n`: a fixed `VPCE_PROBE_RUN_ID` gets `-N` so that no two
/// cycles share a probe key.
fn cycle_config(cfg: &Config, n: u64) -> Option<Config> {
    let id = cfg.run_id.as_ref()?;
    let suffix = format!("-{n}");
    let keep = id.len().min(64 - suffix.len());
    let mut c = cfg.clone();
    c.run_id = Some(format!("{}{suffix}", &id[..keep]));
    Some(c)
}

async fn recv(s: &mut Option<Signal>) -> Option<()> {
    match s {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// SIGINT and SIGTERM, as they come (never, when they cannot be listened to).
struct Signals {
    int: Option<Signal>,
    term: Option<Signal>,
}

impl Signals {
    fn new() -> Self {
        Self {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
        }
    }

    async fn next(&mut self) -> Sig {
        tokio::select! {
            Some(()) = recv(&mut self.int) => Sig::Interrupt,
            Some(()) = recv(&mut self.term) => Sig::Terminate,
        }
    }
}

/// What the watch writes to.
pub struct Output<'a> {
    pub mode: Mode,
    pub style: Style,
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

/// Watch until a signal: a cycle every `every`, each shown as `out.mode` says; then the summary.
pub async fn run(cfg: &Config, every: Duration, out: Output<'_>) -> WatchEnd {
    let mut signals = Signals::new();
    let mut history = History::new();
    let Output {
        mode,
        style,
        out,
        err,
    } = out;
    let mut n = 0u64;
    let stop = loop {
        n += 1;
        let started = Instant::now();
        let at = SystemTime::now();
        let own = cycle_config(cfg, n);
        let this = own.as_ref().unwrap_or(cfg);
        let fut = cycle(this);
        tokio::pin!(fut);
        let mut stopping = None;
        let result = tokio::select! {
            r = &mut fut => r,
            sig = signals.next() => {
                stopping = Some(sig);
                let sinks = if cfg.sinks.sinks.is_empty() {
                    Duration::ZERO
                } else {
                    cfg.sinks.timeout
                };
                let bound = cfg.timeout + sinks;
                let _ = writeln!(
                    err,
                    "vpce-probe: {}: finishing cycle {n} (at most {}) so that it deletes what \
                     it wrote; send it again to quit at once",
                    sig.name(),
                    human_duration(bound)
                );
                tokio::select! {
                    r = &mut fut => r,
                    again = signals.next() => break Stop::Abandoned(again),
                }
            }
        };
        let (obs, report, error) = match result {
            Ok(r) => (history.observe(at, &r), Some(r), None),
            Err(e) if n == 1 => break Stop::FirstCycle(e),
            Err(e) => (history.observe_error(at), None, Some(e.to_string())),
        };
        // the textfile first: whoever sees the cycle on stdout finds its textfile written
        if let (Some(path), Some(r)) = (&cfg.prometheus_textfile, &report)
            && let Err(e) = prometheus::write_textfile(r, path)
        {
            break Stop::Output(format!("cannot write {}: {e}", path.display()));
        }
        if let Err(e) = show(
            mode,
            style,
            out,
            &history,
            every,
            &obs,
            report.as_ref(),
            &error,
        ) {
            break Stop::Output(format!("cannot write the report: {e}"));
        }
        if mode == Mode::Json && report.is_none() {
            // stdout carries reports only: the failed cycle is told on stderr
            let _ = render::lines(err, &obs, None, error.as_deref(), style);
        }
        if let Some(sig) = stopping {
            break Stop::Signal(sig);
        }
        let next = next_start(started, Instant::now(), every);
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {}
            sig = signals.next() => break Stop::Signal(sig),
        }
    };
    if !matches!(stop, Stop::FirstCycle(_)) {
        let to: &mut dyn Write = if mode == Mode::Json { err } else { out };
        // the screen stays; the summary goes below it, after a blank line
        let gap = if mode == Mode::Screen { "\n" } else { "" };
        let _ = write!(to, "{gap}")
            .and_then(|_| render::summary(to, &history.summary(), style))
            .and_then(|_| to.flush());
    }
    WatchEnd {
        stop,
        last: history.last,
    }
}

/// Show one cycle.
#[allow(clippy::too_many_arguments)]
fn show(
    mode: Mode,
    style: Style,
    out: &mut dyn Write,
    history: &History,
    every: Duration,
    obs: &Observed,
    report: Option<&Report>,
    error: &Option<String>,
) -> io::Result<()> {
    match mode {
        Mode::Lines => render::lines(out, obs, report, error.as_deref(), style)?,
        Mode::Screen => render::screen(
            out,
            &history.summary(),
            every,
            obs,
            report,
            error.as_deref(),
            style,
        )?,
        // no report, nothing on stdout: the line format is reports only (run() tells stderr)
        Mode::Json => {
            if let Some(r) = report {
                let recovered_after_ms = match obs.health {
                    Health::Recovered(e) => e.delay().map(|d| d.as_millis() as u64),
                    _ => None,
                };
                let line = WatchLine {
                    report: r,
                    watch: WatchBlock {
                        cycle: obs.cycle,
                        interval_ms: every.as_millis() as u64,
                        transitions: &obs.transitions,
                        recovered_after_ms,
                    },
                };
                serde_json::to_writer(&mut *out, &line)?;
                out.write_all(b"\n")?;
            }
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_run_id_gets_the_cycle_number_within_64_characters() {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([
            "vpce-probe",
            "check",
            "-b",
            "my-bucket",
            "--region",
            "us-east-1",
            "--config",
            "/dev/null",
        ])
        .unwrap();
        let crate::cli::Command::Check(args) = cli.command else {
            unreachable!()
        };
        let mut cfg = Config::from_check_args(*args).unwrap();
        cfg.run_id = None;
        assert!(
            cycle_config(&cfg, 3).is_none(),
            "no run id: nothing to change"
        );
        cfg.run_id = Some("ci-42".into());
        assert_eq!(cycle_config(&cfg, 3).unwrap().run_id.unwrap(), "ci-42-3");
        cfg.run_id = Some("x".repeat(64));
        let id = cycle_config(&cfg, 12).unwrap().run_id.unwrap();
        assert_eq!(id.len(), 64);
        assert!(id.ends_with("x-12"));
    }
}
