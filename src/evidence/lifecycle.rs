//! The run's lifecycle as evidence: a stop signal (SIGINT, SIGTERM) that cut the run short, and
//! the stale probe objects of this instance's earlier runs (left by a crash or `kill -9`) that a
//! run removed.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ErrorInfo;

crate::wire_enum! {
    /// A signal that asks the probe to stop.
    pub enum StopSignal {
        /// Ctrl-C.
        Sigint => "SIGINT",
        /// `systemctl stop`, `kill`.
        Sigterm => "SIGTERM",
    }
}

impl StopSignal {
    /// The signal's number (SIGINT 2, SIGTERM 15).
    pub fn number(self) -> i32 {
        match self {
            StopSignal::Sigint => 2,
            StopSignal::Sigterm => 15,
        }
    }
}

/// Probe objects (or versions) of earlier runs of this instance found older than
/// [`STALE_AFTER`] are removed; at most this many per bucket and run (the rest: next run).
pub const STALE_MAX_PER_RUN: usize = 20;

/// A probe object of this instance older than this, as S3's own clock tells it (its
/// `LastModified` against the `Date` of the listing), is left over from a run that could not
/// clean up (a crash, `kill -9`, a lost connection): no run lasts that long.
pub const STALE_AFTER: Duration = Duration::from_secs(3600);

/// One stale object version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleObject {
    pub key: String,
    /// The exact version (absent on a bucket that never had versioning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// A delete marker (left by an earlier plain delete), not an object.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_marker: bool,
    /// Its age by S3's clock, in seconds.
    pub age_seconds: u64,
    /// Why it could not be deleted (only in `failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
}

/// The clean-up of this instance's stale probe objects in one bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleCleanup {
    /// The prefix listed: `<prefix><instance id>/`, this instance's own.
    pub prefix: String,
    /// Removed, exact version by exact version.
    pub removed: Vec<StaleObject>,
    /// Stale, but the delete failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<StaleObject>,
    /// This instance's probe objects younger than [`STALE_AFTER`], left alone (a run of this
    /// instance that may still be going).
    pub fresh: usize,
    /// More stale objects than [`STALE_MAX_PER_RUN`]: the rest go on the next run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
    /// The listing failed (nothing was removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    #[serde(skip)]
    pub duration: Duration,
}
