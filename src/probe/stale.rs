//! Stale probe objects: a run that crashed, was killed with `kill -9` or lost its connection
//! before its delete leaves its probe object behind. Every run that may write removes this
//! instance's own leftovers, and only those:
//!
//! - only under `<prefix><instance id>/` (this instance's part of the probe's prefix: never
//!   another instance's, never the user's keys), and only keys shaped like a probe key there
//!   (`<prefix><instance id>/<run id>`: no further `/`);
//! - only versions older than [`STALE_AFTER`] by **S3's own clock**: the entry's
//!   `LastModified` against the `Date` of the listing's answer, both S3's, so a wrong local
//!   clock cannot make a fresh object look old, and a run id without a timestamp
//!   (`VPCE_PROBE_RUN_ID`) is judged like any other. The timestamp in a generated run id is the
//!   writer's local clock and is not trusted. A younger object may be a run still going (two
//!   timers overlapping): it stays;
//! - each by its exact version (a delete marker too), never a plain delete that would add a
//!   marker on a versioned bucket; at most [`STALE_MAX_PER_RUN`] per run;
//! - never in `--read-only` mode (the caller does not call it then).
//!
//! [`plan`] is pure; [`cleanup`] makes the calls.

use std::time::{Duration, SystemTime};

use crate::aws::s3::{S3Calls, VersionEntry};
use crate::deadline::Deadline;
use crate::evidence::{OpOutcome, STALE_AFTER, STALE_MAX_PER_RUN, StaleCleanup, StaleObject};

/// Entries asked for in one listing (stale ones beyond the per-run bound wait for the next run).
const LIST_MAX: i32 = 200;

/// Longest time the clean-up may take in one bucket.
pub const CLEANUP_CAP: Duration = Duration::from_secs(3);

/// This instance's own part of the prefix: the probe key up to its last `/`.
pub fn own_prefix(probe_key: &str) -> &str {
    match probe_key.rfind('/') {
        Some(i) => &probe_key[..=i],
        None => "",
    }
}

/// Is `key` a probe key under `own` (`<own><run id>`, the run id's characters only)?
fn is_probe_key(key: &str, own: &str) -> bool {
    key.strip_prefix(own).is_some_and(|id| {
        !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    })
}

/// What to remove: the stale entries (oldest first, at most [`STALE_MAX_PER_RUN`]), how many of
/// this instance's probe objects are fresh, and whether stale ones remain for the next run.
/// `s3_now` is S3's clock (the listing's `Date`).
pub fn plan(
    entries: &[VersionEntry],
    own: &str,
    this_run_key: &str,
    s3_now: SystemTime,
) -> (Vec<StaleObject>, usize, bool) {
    let mut stale = Vec::new();
    let mut fresh = 0;
    for e in entries {
        if own.is_empty() || !is_probe_key(&e.key, own) || e.key == this_run_key {
            continue;
        }
        let age = e
            .last_modified
            .and_then(|t| s3_now.duration_since(t).ok())
            .unwrap_or(Duration::ZERO);
        if age < STALE_AFTER {
            fresh += 1;
            continue;
        }
        stale.push(StaleObject {
            key: e.key.clone(),
            version_id: e.version_id.clone().filter(|v| v != "null"),
            delete_marker: e.delete_marker,
            age_seconds: age.as_secs(),
            error: None,
        });
    }
    stale.sort_by_key(|s| std::cmp::Reverse(s.age_seconds));
    let more = stale.len() > STALE_MAX_PER_RUN;
    stale.truncate(STALE_MAX_PER_RUN);
    (stale, fresh, more)
}

/// List this instance's probe objects in `bucket` and delete the stale ones, within
/// [`CLEANUP_CAP`] and the run deadline.
pub async fn cleanup<C: S3Calls>(
    client: &C,
    bucket: &str,
    probe_key: &str,
    deadline: &Deadline,
) -> StaleCleanup {
    let started = std::time::Instant::now();
    let own = own_prefix(probe_key).to_string();
    let until = Deadline::after(deadline.cap(CLEANUP_CAP).unwrap_or_default());
    let mut out = StaleCleanup {
        prefix: own.clone(),
        ..StaleCleanup::default()
    };
    let (ev, listed) = client
        .list_versions(bucket, &own, LIST_MAX, until.remaining())
        .await;
    let Some(listed) = listed else {
        out.error = ev.error().cloned();
        out.duration = started.elapsed();
        return out;
    };
    let s3_now = ev
        .meta
        .clock
        .map(|c| c.server_date)
        .unwrap_or_else(SystemTime::now);
    let (stale, fresh, more) = plan(&listed.entries, &own, probe_key, s3_now);
    out.fresh = fresh;
    out.more = more || listed.truncated;
    for mut s in stale {
        let ev = client
            .delete(bucket, &s.key, s.version_id.as_deref(), until.remaining())
            .await;
        match ev.outcome {
            OpOutcome::Ok => out.removed.push(s),
            OpOutcome::Failed(e) => {
                s.error = Some(e);
                out.failed.push(s);
            }
            OpOutcome::Skipped(_) => out.failed.push(s),
        }
    }
    out.duration = started.elapsed();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, age_s: u64, now: SystemTime) -> VersionEntry {
        VersionEntry {
            key: key.into(),
            version_id: Some(format!("v-{key}")),
            last_modified: Some(now - Duration::from_secs(age_s)),
            delete_marker: false,
        }
    }

    #[test]
    fn only_this_instances_old_probe_keys_are_stale() {
        let now = SystemTime::now();
        let own = ".vpce-probe/i-0abc/";
        let entries = [
            entry(".vpce-probe/i-0abc/20260101T000000Z-0000000a", 7200, now),
            entry(".vpce-probe/i-0abc/20260101T000000Z-0000000b", 3599, now),
            entry(".vpce-probe/i-0abc/custom-run", 3600, now),
            entry(".vpce-probe/i-0abc/nested/key", 9000, now),
            entry(".vpce-probe/i-0abcdef/20260101T000000Z-0000000c", 9000, now),
            entry(".vpce-probe/i-0abc/this-run", 9000, now),
            entry(".vpce-probe/i-0abc/", 9000, now),
        ];
        let (stale, fresh, more) = plan(&entries, own, ".vpce-probe/i-0abc/this-run", now);
        let keys: Vec<&str> = stale.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                ".vpce-probe/i-0abc/20260101T000000Z-0000000a",
                ".vpce-probe/i-0abc/custom-run"
            ]
        );
        assert_eq!(stale[0].age_seconds, 7200);
        assert_eq!(
            stale[0].version_id.as_deref(),
            Some("v-.vpce-probe/i-0abc/20260101T000000Z-0000000a")
        );
        assert_eq!((fresh, more), (1, false));
    }

    #[test]
    fn age_is_s3s_clock_and_a_null_version_is_no_version() {
        let s3_now = SystemTime::now() + Duration::from_secs(7200);
        let own = "p/h/";
        let mut e = entry("p/h/r1", 0, SystemTime::now());
        e.version_id = Some("null".into());
        // by the local clock the entry is new; by S3's it is two hours old
        let (stale, _, _) = plan(std::slice::from_ref(&e), own, "p/h/r2", s3_now);
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].version_id, None);
        // a LastModified in S3's future (or missing) is never stale
        let (stale, fresh, _) = plan(
            &[e],
            own,
            "p/h/r2",
            SystemTime::now() - Duration::from_secs(60),
        );
        assert!(stale.is_empty());
        assert_eq!(fresh, 1);
        assert_eq!(own_prefix("p/h/r1"), "p/h/");
        assert_eq!(own_prefix("r1"), "");
    }

    #[test]
    fn at_most_the_per_run_bound_oldest_first() {
        let now = SystemTime::now();
        let entries: Vec<VersionEntry> = (0..(STALE_MAX_PER_RUN as u64 + 5))
            .map(|i| entry(&format!("p/h/r{i}"), 4000 + i, now))
            .collect();
        let (stale, _, more) = plan(&entries, "p/h/", "p/h/x", now);
        assert_eq!(stale.len(), STALE_MAX_PER_RUN);
        assert!(more);
        assert_eq!(stale[0].age_seconds, 4000 + STALE_MAX_PER_RUN as u64 + 4);
    }
}
