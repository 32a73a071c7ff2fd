//! vpce-probe: can this instance reach its S3 buckets, and does the traffic really leave
//! through the S3 gateway VPC endpoint? Evidence (collectors, I/O) → verdicts (`diagnose`,
//! pure) → output (`report`, one serde model).

pub mod aws;
pub mod cli;
pub mod config;
pub mod context;
pub mod deadline;
pub mod diagnose;
pub mod evidence;
pub mod iam_policy;
pub mod net;
pub mod probe;
pub mod report;
pub mod signal;
#[cfg(test)]
pub(crate) mod testutil;
pub mod watch;
