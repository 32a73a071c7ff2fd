//! The S3 step planner: which operation of a bucket's probe runs next, with how much of the
//! run deadline, or why it is skipped. Pure: it sees only what happened so far (the outcomes
//! recorded into it, `--read-only`, `--key`, whether the put wrote) and does no I/O.
//!
//! The order is fixed ([`S3Op::CHECKED`]): head_bucket, list, put, get, delete; then the
//! bucket policy and then the bucket's default encryption are read unless S3 was unreachable or
//! the bucket is missing (both evidence, not checks; each at most [`POLICY_CAP`]).

use std::time::Duration;

use crate::deadline::Deadline;
use crate::evidence::{OpEvidence, S3Op, SkipReason, StopSignal};

/// Time kept back so that an object this run wrote can always be deleted.
pub const CLEANUP_RESERVE: Duration = Duration::from_millis(1500);

/// After a stop signal: the time the delete of what was written may take (the whole run then
/// ends within 2 s of the signal), whatever is left of the run deadline.
pub const STOP_CLEANUP: Duration = Duration::from_millis(1500);

/// Longest time reading the bucket policy (or the default encryption) may take.
pub const POLICY_CAP: Duration = Duration::from_secs(3);

/// How much of the run deadline a call may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// All that is left.
    Remaining,
    /// What is left after [`CLEANUP_RESERVE`] (a step before the delete of what was written).
    ReservingCleanup,
    /// At most [`POLICY_CAP`].
    PolicyCap,
    /// [`STOP_CLEANUP`]: the delete after a stop signal.
    AfterStop,
}

impl Budget {
    /// The duration this budget allows now (`None`: nothing left).
    pub fn of(self, deadline: &Deadline) -> Option<Duration> {
        match self {
            Budget::Remaining => deadline.remaining(),
            Budget::ReservingCleanup => deadline.remaining_reserving(CLEANUP_RESERVE),
            Budget::PolicyCap => deadline.cap(POLICY_CAP),
            Budget::AfterStop => Some(STOP_CLEANUP),
        }
    }
}

/// A call the probe makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    HeadBucket,
    List,
    /// The conditional put of the probe object.
    Put,
    /// Reading back the probe object this run wrote (whole, verified).
    GetProbeObject,
    /// Reading the first bytes of the user's `--key`.
    GetUserKey,
    /// Deleting the probe object, of exactly `version` when the put returned one.
    Delete {
        version: Option<String>,
    },
    /// Reading the bucket policy (evidence, not a check).
    GetBucketPolicy,
    /// Reading the bucket's default encryption (evidence, not a check).
    GetBucketEncryption,
}

/// What to do for one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Run { call: Call, budget: Budget },
    Skip(SkipReason),
}

fn run(call: Call, budget: Budget) -> Step {
    Step::Run { call, budget }
}

/// What a bucket's probe has learned so far, and so what runs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planner {
    read_only: bool,
    user_key: bool,
    /// Why later operations cannot usefully run (S3 unreachable, the bucket missing).
    stop: Option<SkipReason>,
    /// `Some(version_id)` once the put wrote the probe object.
    written: Option<Option<String>>,
    /// Why the bucket policy is not read (head_bucket: S3 unreachable, or no bucket).
    policy_skip: Option<SkipReason>,
    /// A stop signal came: only the delete of what was written still runs.
    interrupted: Option<StopSignal>,
}

impl Planner {
    /// A probe with `--read-only` and/or a `--key` to read.
    pub fn new(read_only: bool, user_key: bool) -> Self {
        Self {
            read_only,
            user_key,
            stop: None,
            written: None,
            policy_skip: None,
            interrupted: None,
        }
    }

    /// A stop signal came: every later step is skipped, except the delete of what this run
    /// wrote, which gets [`Budget::AfterStop`].
    pub fn interrupt(&mut self, signal: StopSignal) {
        self.interrupted.get_or_insert(signal);
    }

    /// The stop signal, once one came.
    pub fn interrupted(&self) -> Option<StopSignal> {
        self.interrupted
    }

    /// Why later operations are skipped, if they are.
    pub fn stop(&self) -> Option<&SkipReason> {
        self.stop.as_ref()
    }

    /// Did this run write the probe object (and which version)?
    pub fn written(&self) -> Option<Option<&str>> {
        self.written.as_ref().map(|v| v.as_deref())
    }

    /// The step for `op`: one of [`S3Op::CHECKED`] in order, then [`S3Op::GetBucketPolicy`]
    /// and [`S3Op::GetBucketEncryption`] (whose skip means "not read": the evidence has no
    /// policy, or no encryption, then).
    pub fn next(&self, op: S3Op) -> Step {
        if let Some(signal) = self.interrupted {
            return match (&self.written, op) {
                (Some(version), S3Op::Delete) => run(
                    Call::Delete {
                        version: version.clone(),
                    },
                    Budget::AfterStop,
                ),
                _ => Step::Skip(SkipReason::Interrupted { signal }),
            };
        }
        let stopped = || self.stop.clone().map(Step::Skip);
        match op {
            S3Op::HeadBucket => run(Call::HeadBucket, Budget::Remaining),
            S3Op::List => stopped().unwrap_or(run(Call::List, Budget::Remaining)),
            S3Op::Put if self.read_only => Step::Skip(SkipReason::ReadOnly),
            S3Op::Put => stopped().unwrap_or(run(Call::Put, Budget::ReservingCleanup)),
            S3Op::Get if self.user_key => {
                // The user's object is read even when the probe wrote nothing; the delete's
                // time is kept back only when there is something to delete.
                let budget = if self.written.is_some() {
                    Budget::ReservingCleanup
                } else {
                    Budget::Remaining
                };
                stopped().unwrap_or(run(Call::GetUserKey, budget))
            }
            S3Op::Get | S3Op::Delete => match &self.written {
                None if self.read_only => Step::Skip(SkipReason::ReadOnly),
                None => Step::Skip(self.stop.clone().unwrap_or(SkipReason::NothingWritten)),
                Some(_) if op == S3Op::Get => run(Call::GetProbeObject, Budget::ReservingCleanup),
                Some(version) => run(
                    Call::Delete {
                        version: version.clone(),
                    },
                    Budget::Remaining,
                ),
            },
            S3Op::GetBucketPolicy => match &self.policy_skip {
                Some(r) => Step::Skip(r.clone()),
                None => run(Call::GetBucketPolicy, Budget::PolicyCap),
            },
            S3Op::GetBucketEncryption => match &self.policy_skip {
                Some(r) => Step::Skip(r.clone()),
                None => run(Call::GetBucketEncryption, Budget::PolicyCap),
            },
            // run-wide (the first run's discovery), never a step of a bucket
            S3Op::ListBuckets => Step::Skip(SkipReason::NothingWritten),
        }
    }

    /// Record the evidence of a step that ran. A put that got an answer wrote the object
    /// (`version`: the version id it returned). Only head_bucket, list and put can stop the
    /// steps after them; a get or delete changes nothing that follows.
    pub fn record(&mut self, ev: &OpEvidence, put_version: Option<Option<String>>) {
        if ev.op == S3Op::Put
            && let Some(v) = put_version
        {
            self.written = Some(v);
        }
        if ev.op == S3Op::HeadBucket && !read_policy(ev) {
            self.policy_skip = stop_after(ev);
        }
        if matches!(ev.op, S3Op::HeadBucket | S3Op::List | S3Op::Put) && self.stop.is_none() {
            self.stop = stop_after(ev);
        }
    }
}

/// Why later operations cannot usefully run after `ev`, if they cannot.
pub fn stop_after(ev: &OpEvidence) -> Option<SkipReason> {
    let e = ev.error()?;
    if e.is_network() {
        return Some(SkipReason::Unreachable {
            after: format!("s3_{}", ev.op.as_str()),
        });
    }
    if ev.op == S3Op::HeadBucket
        && (e.code.service() == Some("NoSuchBucket") || e.http_status == Some(404))
    {
        return Some(SkipReason::BucketMissing);
    }
    (e.code.service() == Some("NoSuchBucket")).then_some(SkipReason::BucketMissing)
}

/// After a delete of an exact version: retry as a plain delete? Deleting a version needs
/// `s3:DeleteObjectVersion`; with only `s3:DeleteObject`, a plain delete still hides the
/// object (a delete marker) rather than leave it.
/// Never after Object Lock refused it ([`refused_by_object_lock`]): the version stays whatever
/// the probe does, and a delete marker would only add one more thing of the probe's.
pub fn retry_plain_delete(version: Option<&str>, ev: &OpEvidence, retained: bool) -> bool {
    version.is_some() && !retained && ev.error().is_some_and(|e| e.http_status == Some(403))
}

/// Did Object Lock refuse this delete of an exact version? A 403, when the read-back reported
/// a retention or a legal hold on the object (`locked`), or when S3's message says so ("Access
/// Denied because object protected by object lock.").
pub fn refused_by_object_lock(version: Option<&str>, locked: bool, ev: &OpEvidence) -> bool {
    version.is_some()
        && ev.error().is_some_and(|e| {
            e.http_status == Some(403)
                && (locked || e.message.to_ascii_lowercase().contains("object lock"))
        })
}

/// Read the bucket policy? Not when head_bucket found S3 unreachable or no bucket (404).
pub fn read_policy(head: &OpEvidence) -> bool {
    !matches!(head.error(), Some(e) if e.is_network() || e.http_status == Some(404))
}

/// After the conditional put: could the object at the key be this run's own? The key is unique
/// to the run, so an HTTP 412 (`If-None-Match: *` found it taken) on a retry means an earlier
/// attempt most likely wrote it and its answer was lost; reading it back tells.
pub fn put_may_have_written(put: &OpEvidence) -> bool {
    put.meta.attempts > 1 && put.error().is_some_and(|e| e.http_status == Some(412))
}

#[cfg(test)]
#[path = "s3_plan_tests.rs"]
mod tests;

/// S3's codes for signed requests whose credentials it refused (or that expired).
const CREDENTIAL_CODES: [&str; 6] = [
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "InvalidSecurity",
];

/// Should the `s3_unsigned` request be sent? Yes when there are no credentials, or when every
/// signed request failed and S3 refused the credentials of at least one: then only an
/// unsigned request can tell whether the network path works.
pub fn wants_unsigned(have_credentials: bool, ops: &[OpEvidence]) -> bool {
    if !have_credentials {
        return true;
    }
    let attempted: Vec<&OpEvidence> = ops.iter().filter(|o| o.attempted()).collect();
    !attempted.is_empty()
        && attempted.iter().all(|o| o.error().is_some())
        && attempted.iter().any(|o| {
            o.error()
                .is_some_and(|e| CREDENTIAL_CODES.contains(&e.code.as_str()))
        })
}

/// The URL of the unsigned `HEAD`: the bucket's regional endpoint, virtual-hosted unless the
/// bucket name has dots, `--path-style` is set or the endpoint is overridden (then path-style).
pub fn unsigned_url(
    bucket: &str,
    region: &str,
    path_style: bool,
    endpoint: Option<&str>,
) -> String {
    match endpoint {
        Some(e) => format!("{}/{bucket}", e.trim_end_matches('/')),
        None if path_style || bucket.contains('.') => {
            format!("https://s3.{region}.amazonaws.com/{bucket}")
        }
        None => format!("https://{bucket}.s3.{region}.amazonaws.com/"),
    }
}
