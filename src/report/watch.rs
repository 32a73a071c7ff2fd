//! Watch mode, the pure part (`check --watch`): what changed between two cycles' reports (a path
//! verdict, a check's status, a finding appearing or going away), the failure episodes and their
//! recovery (how long after the first failure things were healthy again: the propagation delay
//! of the change the user made), and the summary of a whole watch. No I/O and no clock: every
//! instant comes in with the report it belongs to. The loop is `src/watch.rs`; the rendering is
//! `report::watch_render`.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::diagnose::path::Verdict;
use crate::diagnose::{CheckName, FindingCode, Status};
use crate::evidence::clock::rfc3339;
use crate::report::model::{Check, Report};

/// One change between two consecutive cycles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A bucket's path verdict changed.
    Path { from: Verdict, to: Verdict },
    /// A check changed status.
    Check {
        check: CheckName,
        from: Status,
        to: Status,
    },
    /// A finding (by code) is there now and was not before.
    FindingAppeared { code: FindingCode },
    /// A finding (by code) was there before and is not now.
    FindingGone { code: FindingCode },
}

/// A change, when it was seen, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// The cycle that saw it (1 = the first).
    pub cycle: u64,
    /// When that cycle started.
    #[serde(with = "rfc3339")]
    pub at: SystemTime,
    /// The bucket; null: the run itself (`imds`, `credentials`, `prefix_list`, run-wide findings).
    pub bucket: Option<String>,
    #[serde(flatten)]
    pub change: Change,
}

/// A stretch of failing cycles: from the first failing one to the first healthy one after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Episode {
    pub failed_cycle: u64,
    pub failed_at: SystemTime,
    /// The last cycle that still failed (the change took effect after it started).
    pub last_failed_at: SystemTime,
    /// The first healthy cycle after the failure (None: still failing).
    pub recovered: Option<(u64, SystemTime)>,
}

impl Episode {
    /// How long after the first failure things recovered (None while still failing).
    pub fn delay(&self) -> Option<Duration> {
        self.recovered
            .map(|(_, at)| at.duration_since(self.failed_at).unwrap_or_default())
    }
}

/// What one cycle changed in the health of the watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// As before (or the first cycle, healthy).
    Same,
    /// The first failing cycle of a new episode.
    Failed(Episode),
    /// The first healthy cycle after an episode.
    Recovered(Episode),
}

/// What a cycle brought: its transitions and what it did to the health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub cycle: u64,
    pub at: SystemTime,
    pub transitions: Vec<Transition>,
    pub health: Health,
}

/// A cycle's outcome as the watch counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A report with `ok: true`.
    Ok,
    /// A report with `ok: false`.
    Failed,
    /// The cycle could not run at all (e.g. no region): no report.
    Error,
}

/// The whole watch so far: every transition and episode, and the last report to compare with.
#[derive(Debug, Default)]
pub struct History {
    pub cycles: u64,
    pub failed_cycles: u64,
    pub first_at: Option<SystemTime>,
    pub last_at: Option<SystemTime>,
    pub last: Option<Outcome>,
    pub transitions: Vec<Transition>,
    pub episodes: Vec<Episode>,
    previous: Option<Report>,
}

impl History {
    pub fn new() -> Self {
        Self::default()
    }

    /// Count a cycle that produced `report`, started at `at`.
    pub fn observe(&mut self, at: SystemTime, report: &Report) -> Observed {
        let cycle = self.next_cycle(at);
        let transitions = match &self.previous {
            Some(prev) => diff(prev, report, cycle, at),
            None => Vec::new(),
        };
        self.transitions.extend(transitions.iter().cloned());
        self.previous = Some(report.clone());
        let outcome = if report.ok {
            Outcome::Ok
        } else {
            Outcome::Failed
        };
        let health = self.health(cycle, at, outcome);
        Observed {
            cycle,
            at,
            transitions,
            health,
        }
    }

    /// Count a cycle that produced no report (it failed before probing: no transitions, but
    /// it is a failure).
    pub fn observe_error(&mut self, at: SystemTime) -> Observed {
        let cycle = self.next_cycle(at);
        let health = self.health(cycle, at, Outcome::Error);
        Observed {
            cycle,
            at,
            transitions: Vec::new(),
            health,
        }
    }

    fn next_cycle(&mut self, at: SystemTime) -> u64 {
        self.cycles += 1;
        self.first_at.get_or_insert(at);
        self.last_at = Some(at);
        self.cycles
    }

    fn health(&mut self, cycle: u64, at: SystemTime, outcome: Outcome) -> Health {
        self.last = Some(outcome);
        let open = self.episodes.last_mut().filter(|e| e.recovered.is_none());
        match (outcome, open) {
            (Outcome::Ok, Some(e)) => {
                e.recovered = Some((cycle, at));
                Health::Recovered(*e)
            }
            (Outcome::Ok, None) => Health::Same,
            (_, Some(e)) => {
                self.failed_cycles += 1;
                e.last_failed_at = at;
                Health::Same
            }
            (_, None) => {
                self.failed_cycles += 1;
                let e = Episode {
                    failed_cycle: cycle,
                    failed_at: at,
                    last_failed_at: at,
                    recovered: None,
                };
                self.episodes.push(e);
                Health::Failed(e)
            }
        }
    }

    /// The watch's summary.
    pub fn summary(&self) -> Summary<'_> {
        Summary {
            cycles: self.cycles,
            failed_cycles: self.failed_cycles,
            span: match (self.first_at, self.last_at) {
                (Some(a), Some(b)) => Some((a, b)),
                _ => None,
            },
            last: self.last,
            transitions: &self.transitions,
            episodes: &self.episodes,
        }
    }
}

/// Everything a watch saw, for the summary printed when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary<'a> {
    pub cycles: u64,
    pub failed_cycles: u64,
    /// The start of the first cycle and of the last.
    pub span: Option<(SystemTime, SystemTime)>,
    pub last: Option<Outcome>,
    pub transitions: &'a [Transition],
    pub episodes: &'a [Episode],
}

/// The per-cycle block of a JSON line in watch mode (`watch` in the report).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WatchBlock<'a> {
    /// 1 for the first cycle.
    pub cycle: u64,
    /// The interval between cycle starts, in milliseconds.
    pub interval_ms: u64,
    /// What changed since the previous cycle.
    pub transitions: &'a [Transition],
    /// With the first healthy cycle after failing ones: milliseconds from the first failing
    /// cycle's start to this cycle's start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered_after_ms: Option<u64>,
}

/// One JSON line of `--watch --output json`: the cycle's report with a `watch` block.
#[derive(Debug, Clone, Serialize)]
pub struct WatchLine<'a> {
    #[serde(flatten)]
    pub report: &'a Report,
    pub watch: WatchBlock<'a>,
}

/// Where the next cycle starts: `interval` after this one started, or now if this one took
/// longer (cycles never overlap).
pub fn next_start<T>(started: T, ended: T, interval: Duration) -> T
where
    T: Ord + std::ops::Add<Duration, Output = T>,
{
    (started + interval).max(ended)
}

/// Every change from `prev` to `next`: the run's checks and findings first, then per bucket
/// (matched by name) its path verdict, checks, and findings that appeared, then went.
pub fn diff(prev: &Report, next: &Report, cycle: u64, at: SystemTime) -> Vec<Transition> {
    let mut changes: Vec<(Option<String>, Change)> = Vec::new();
    for c in check_changes(&prev.checks, &next.checks) {
        changes.push((None, c));
    }
    for c in finding_changes(&run_wide_codes(prev), &run_wide_codes(next)) {
        changes.push((None, c));
    }
    for t in &next.targets {
        let Some(p) = prev.targets.iter().find(|p| p.bucket == t.bucket) else {
            continue;
        };
        let scope = Some(t.bucket.clone());
        if p.path.verdict != t.path.verdict {
            changes.push((
                scope.clone(),
                Change::Path {
                    from: p.path.verdict,
                    to: t.path.verdict,
                },
            ));
        }
        for c in check_changes(&p.checks, &t.checks) {
            changes.push((scope.clone(), c));
        }
        let codes = |fs: &[crate::diagnose::Finding]| fs.iter().map(|f| f.code).collect();
        for c in finding_changes(&codes(&p.findings), &codes(&t.findings)) {
            changes.push((scope.clone(), c));
        }
    }
    changes
        .into_iter()
        .map(|(bucket, change)| Transition {
            cycle,
            at,
            bucket,
            change,
        })
        .collect()
}

/// Status changes of checks present in both lists (matched by name, in `next`'s order).
fn check_changes(prev: &[Check], next: &[Check]) -> Vec<Change> {
    next.iter()
        .filter_map(|n| {
            let p = prev.iter().find(|p| p.name == n.name)?;
            (p.status != n.status).then_some(Change::Check {
                check: n.name,
                from: p.status,
                to: n.status,
            })
        })
        .collect()
}

/// The codes that appeared (in code order), then those that went.
fn finding_changes(prev: &BTreeSet<FindingCode>, next: &BTreeSet<FindingCode>) -> Vec<Change> {
    let appeared = next
        .difference(prev)
        .map(|&code| Change::FindingAppeared { code });
    let gone = prev
        .difference(next)
        .map(|&code| Change::FindingGone { code });
    appeared.chain(gone).collect()
}

/// The codes of the run's own findings: those of the report not raised for any bucket.
fn run_wide_codes(r: &Report) -> BTreeSet<FindingCode> {
    let per_bucket: BTreeSet<FindingCode> = r
        .targets
        .iter()
        .flat_map(|t| t.findings.iter().map(|f| f.code))
        .collect();
    r.findings
        .iter()
        .map(|f| f.code)
        .filter(|c| !per_bucket.contains(c))
        .collect()
}

/// The wire name of a path verdict (`gateway_endpoint`).
pub fn verdict_name(v: Verdict) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{v:?}"))
}

#[cfg(test)]
#[path = "watch_tests.rs"]
pub(crate) mod tests;
