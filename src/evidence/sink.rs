//! What happened when the report was delivered to a sink (CloudWatch metrics or Logs): evidence
//! of its own, judged by `diagnose` like any other.

use serde::{Deserialize, Serialize};

use super::ErrorInfo;

/// At most this many payloads are spooled per sink; older ones are dropped.
pub const SPOOL_MAX_FILES: usize = 50;

crate::wire_enum! {
    /// Which sinks.
    pub enum SinkKind {
        CloudwatchMetrics => "cloudwatch_metrics",
        CloudwatchLogs => "cloudwatch_logs",
    }
}

/// What happened to one sink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkOutcome {
    pub sink: SinkKind,
    pub ok: bool,
    /// Spooled payloads of earlier runs delivered now.
    pub resent: usize,
    /// This run's payload was spooled for the next run.
    pub spooled: bool,
    /// Oldest spooled payloads dropped to keep the spool bounded.
    pub dropped: usize,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<ErrorInfo>,
    /// Why this run's payload could not be spooled (`spooled` false): the spool directory and
    /// the OS error (read-only, full, missing).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub spool_error: Option<String>,
}
