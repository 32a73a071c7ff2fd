//! Watch mode's output, to any `W: Write`: off a terminal one line per cycle, one per
//! transition and one per failure or recovery (timestamps first, so the lines sort and grep);
//! on a terminal one screen redrawn in place; at the end the summary of every transition.
//! Colour only when asked (a terminal without NO_COLOR); the redraw is cursor control, not
//! colour, and happens only on a terminal.

use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use crate::diagnose::{Severity, Status};
use crate::evidence::clock::rfc3339;
use crate::report::model::{Check, Report};
use crate::report::watch::{
    Change, Episode, Health, Observed, Outcome, Summary, Transition, verdict_name,
};

/// ANSI colour, or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn ok(&self, ok: bool) -> String {
        if ok {
            self.paint("32", "ok")
        } else {
            self.paint("31;1", "FAIL")
        }
    }
}

/// Clear the screen and put the cursor home (the redraw).
const CLEAR: &str = "\x1b[H\x1b[2J";

/// How many transitions the screen keeps.
const SCREEN_TRANSITIONS: usize = 10;

fn ts(at: SystemTime) -> String {
    rfc3339::format(at)
}

/// `850 ms`, `12.3 s`, `2 min 05 s`.
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        let s = d.as_secs();
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Warn => "warn",
        Status::Fail => "FAIL",
        Status::Skip => "skip",
    }
}

/// `8 pass, 1 skip; route FAIL`: counts, then the checks that warn or fail by name.
fn checks_compact(checks: &[Check]) -> String {
    let mut counts = Vec::new();
    for s in [Status::Pass, Status::Warn, Status::Fail, Status::Skip] {
        let n = checks.iter().filter(|c| c.status == s).count();
        if n > 0 {
            counts.push(format!("{n} {}", s.as_str()));
        }
    }
    let bad: Vec<String> = checks
        .iter()
        .filter(|c| matches!(c.status, Status::Warn | Status::Fail))
        .map(|c| format!("{} {}", c.name, status_name(c.status)))
        .collect();
    let mut out = counts.join(", ");
    if !bad.is_empty() {
        out.push_str("; ");
        out.push_str(&bad.join(", "));
    }
    out
}

fn codes(fs: &[crate::diagnose::Finding]) -> String {
    fs.iter()
        .map(|f| f.code.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The state of one cycle in one line: `AT cycle N ok|FAIL D ms | BUCKET VERDICT CHECKS [CODES]`,
/// the run's own checks as `run` when one of them is not passing.
pub fn cycle_line<W: Write + ?Sized>(
    w: &mut W,
    obs: &Observed,
    report: &Report,
    style: Style,
) -> io::Result<()> {
    let mut parts = Vec::new();
    if report
        .checks
        .iter()
        .any(|c| matches!(c.status, Status::Warn | Status::Fail))
    {
        parts.push(format!("run {}", checks_compact(&report.checks)));
    }
    for t in &report.targets {
        let mut p = format!(
            "{} {} {}",
            t.bucket,
            verdict_name(t.path.verdict),
            checks_compact(&t.checks)
        );
        if !t.findings.is_empty() {
            p.push_str(&format!(" [{}]", codes(&t.findings)));
        }
        parts.push(p);
    }
    writeln!(
        w,
        "{} cycle {} {} {} ms | {}",
        ts(obs.at),
        obs.cycle,
        style.ok(report.ok),
        report.duration_ms,
        parts.join(" | ")
    )
}

/// A cycle that could not run: `AT cycle N ERROR why`.
pub fn error_line<W: Write + ?Sized>(
    w: &mut W,
    obs: &Observed,
    why: &str,
    style: Style,
) -> io::Result<()> {
    writeln!(
        w,
        "{} cycle {} {} {why}",
        ts(obs.at),
        obs.cycle,
        style.paint("31;1", "ERROR")
    )
}

/// What changed, without the time: `sim-watch: path gateway_endpoint → internet_gateway`.
pub fn describe(t: &Transition) -> String {
    let who = t.bucket.as_deref().unwrap_or("run");
    match &t.change {
        Change::Path { from, to } => {
            format!(
                "{who}: path {} → {}",
                verdict_name(*from),
                verdict_name(*to)
            )
        }
        Change::Check { check, from, to } => format!(
            "{who}: check {check} {} → {}",
            status_name(*from),
            status_name(*to)
        ),
        Change::FindingAppeared { code } => format!("{who}: finding {code} appeared"),
        Change::FindingGone { code } => format!("{who}: finding {code} gone"),
    }
}

/// `AT transition WHAT`.
pub fn transition_line<W: Write + ?Sized>(w: &mut W, t: &Transition) -> io::Result<()> {
    writeln!(w, "{} transition {}", ts(t.at), describe(t))
}

/// How long an episode took to recover, in words.
pub fn recovery_text(e: &Episode) -> Option<String> {
    let (cycle, at) = e.recovered?;
    Some(format!(
        "recovered at cycle {cycle}, {} after the first failure (cycle {} at {}); the change took \
         effect between {} and {}",
        human_duration(e.delay().unwrap_or_default()),
        e.failed_cycle,
        ts(e.failed_at),
        ts(e.last_failed_at),
        ts(at)
    ))
}

/// `AT failing since cycle N` or `AT recovered ...`; nothing when the health did not change.
pub fn health_line<W: Write + ?Sized>(w: &mut W, health: &Health, style: Style) -> io::Result<()> {
    match health {
        Health::Same => Ok(()),
        Health::Failed(e) => writeln!(
            w,
            "{} {} first failure, cycle {}",
            ts(e.failed_at),
            style.paint("31;1", "failing:"),
            e.failed_cycle
        ),
        Health::Recovered(e) => match (e.recovered, recovery_text(e)) {
            (Some((_, at)), Some(text)) => {
                writeln!(w, "{} {}", ts(at), style.paint("32", &text))
            }
            _ => Ok(()),
        },
    }
}

/// Off a terminal: the cycle's line, then its transitions, then a failure or recovery line.
pub fn lines<W: Write + ?Sized>(
    w: &mut W,
    obs: &Observed,
    report: Option<&Report>,
    error: Option<&str>,
    style: Style,
) -> io::Result<()> {
    match report {
        Some(r) => cycle_line(w, obs, r, style)?,
        None => error_line(w, obs, error.unwrap_or("the cycle could not run"), style)?,
    }
    for t in &obs.transitions {
        transition_line(w, t)?;
    }
    health_line(w, &obs.health, style)
}

/// On a terminal: the whole screen, redrawn in place: the latest state per bucket, the last
/// transitions, the failure or recovery, and how to stop.
pub fn screen<W: Write + ?Sized>(
    w: &mut W,
    sum: &Summary<'_>,
    interval: Duration,
    obs: &Observed,
    report: Option<&Report>,
    error: Option<&str>,
    style: Style,
) -> io::Result<()> {
    write!(w, "{CLEAR}")?;
    let state = match report {
        Some(r) => style.ok(r.ok),
        None => style.paint("31;1", "ERROR"),
    };
    writeln!(
        w,
        "vpce-probe check --watch: every {} · cycle {} at {} · {state}",
        human_duration(interval),
        obs.cycle,
        ts(obs.at)
    )?;
    writeln!(w)?;
    match report {
        Some(r) => {
            writeln!(w, "  {:<24} {}", "run", checks_compact(&r.checks))?;
            for t in &r.targets {
                writeln!(
                    w,
                    "  {:<24} {:<18} {}",
                    t.bucket,
                    verdict_name(t.path.verdict),
                    checks_compact(&t.checks)
                )?;
                for f in &t.findings {
                    let sev = match f.severity {
                        Severity::Error => style.paint("31", f.severity.as_str()),
                        Severity::Warning => style.paint("33", f.severity.as_str()),
                        Severity::Info => f.severity.as_str().to_string(),
                    };
                    writeln!(w, "  {:<24} {sev} {}: {}", "", f.code, f.message)?;
                }
            }
        }
        None => writeln!(w, "  {}", error.unwrap_or("the cycle could not run"))?,
    }
    writeln!(w)?;
    let n = sum.transitions.len();
    if n == 0 {
        writeln!(w, "transitions: none yet")?;
    } else {
        writeln!(
            w,
            "transitions ({} of {n}, latest last):",
            n.min(SCREEN_TRANSITIONS)
        )?;
        for t in &sum.transitions[n.saturating_sub(SCREEN_TRANSITIONS)..] {
            writeln!(w, "  {} {}", ts(t.at), describe(t))?;
        }
    }
    if let Some(e) = sum.episodes.last() {
        match recovery_text(e) {
            Some(text) => writeln!(w, "{}", style.paint("32", &text))?,
            None => writeln!(
                w,
                "{} since cycle {} at {}",
                style.paint("31;1", "failing"),
                e.failed_cycle,
                ts(e.failed_at)
            )?,
        }
    }
    writeln!(w)?;
    writeln!(w, "Ctrl-C: print the summary and exit")
}

/// The summary printed when the watch ends: the cycles, every transition in order, every
/// episode with its propagation delay, and the last cycle's outcome (the exit code).
pub fn summary<W: Write + ?Sized>(w: &mut W, sum: &Summary<'_>, style: Style) -> io::Result<()> {
    let span = sum
        .span
        .map(|(a, b)| {
            format!(
                " from {} to {} ({})",
                ts(a),
                ts(b),
                human_duration(b.duration_since(a).unwrap_or_default())
            )
        })
        .unwrap_or_default();
    let plural = if sum.cycles == 1 { "" } else { "s" };
    writeln!(
        w,
        "watch summary: {} cycle{plural} ({} failed){span}",
        sum.cycles, sum.failed_cycles
    )?;
    writeln!(w, "transitions: {}", sum.transitions.len())?;
    for t in sum.transitions {
        writeln!(w, "  {} cycle {} {}", ts(t.at), t.cycle, describe(t))?;
    }
    for e in sum.episodes {
        match recovery_text(e) {
            Some(text) => writeln!(w, "{}", style.paint("32", &text))?,
            None => writeln!(
                w,
                "{} since cycle {} at {} (not recovered)",
                style.paint("31;1", "failing"),
                e.failed_cycle,
                ts(e.failed_at)
            )?,
        }
    }
    let last = match sum.last {
        None => "none (no cycle finished)",
        Some(Outcome::Ok) => "ok",
        Some(Outcome::Failed) => "FAIL",
        Some(Outcome::Error) => "ERROR (the cycle could not run)",
    };
    writeln!(w, "last cycle: {last}")
}

#[cfg(test)]
#[path = "watch_render_tests.rs"]
mod tests;
