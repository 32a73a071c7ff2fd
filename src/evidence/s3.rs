//! S3 evidence: each operation the probe performed on a bucket, how it ended, what the transport
//! saw, and the typed facts it learned (key, bytes, checksums, versions).

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ClockSample, DnsEvidence, ErrorInfo, PhaseTimings, UnsignedEvidence};

/// What the transport saw of one SDK operation (filled by the collectors' response recorder).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseMeta {
    /// HTTP status of the last attempt.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub http_status: Option<u16>,
    /// `x-amz-request-id`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_id: Option<String>,
    /// `x-amz-id-2`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub extended_request_id: Option<String>,
    /// The remote address the connection really went to.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub peer: Option<SocketAddr>,
    /// The local address of that connection.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub local: Option<SocketAddr>,
    /// `x-amz-bucket-region`, when S3 sent it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bucket_region: Option<String>,
    /// How many attempts the SDK made (retries included).
    #[serde(default)]
    pub attempts: u32,
    /// The last answer's `Date` header, next to the local time it arrived.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub clock: Option<ClockSample>,
    /// An attempt was refused as `RequestTimeTooSkewed` (the SDK may have re-signed with the
    /// service's time and retried).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub time_too_skewed: bool,
    /// Where the time of the last attempt's request went (DNS, connect, TLS, time to first
    /// byte, transfer; `reused` on a kept-alive connection). Absent when no request was sent.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub phases: Option<PhaseTimings>,
    /// The attempts answered with a retryable error (HTTP 5xx or 429), in order; when no attempt
    /// succeeded, the last one is also the operation's error.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub attempt_errors: Vec<AttemptError>,
}

/// One attempt of an operation answered with a retryable error (HTTP 5xx or 429).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttemptError {
    pub http_status: u16,
    /// The error body's `<Code>` (none for a bodiless answer, e.g. to a HEAD).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub code: Option<String>,
    /// `x-amz-request-id`: its presence says S3 itself answered (a proxy sends none).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_id: Option<String>,
    /// The answer asks the client to slow down (`SlowDown`, `ServiceUnavailable`, HTTP 429, a
    /// bodiless 503, ...).
    #[serde(default)]
    pub throttling: bool,
}

impl ResponseMeta {
    /// The attempts S3 throttled.
    pub fn throttled(&self) -> impl Iterator<Item = &AttemptError> {
        self.attempt_errors.iter().filter(|a| a.throttling)
    }
}

crate::wire_enum! {
    /// The S3 operations the probe performs.
    pub enum S3Op {
        HeadBucket => "head_bucket",
        List => "list",
        Put => "put",
        Get => "get",
        Delete => "delete",
        /// Reading the bucket policy (evidence for the `bucket_policy` check, not a check).
        GetBucketPolicy => "get_bucket_policy",
        /// ListBuckets, on a first run without a named bucket (the `s3_list_buckets` check).
        ListBuckets => "list_buckets",
        /// Reading the bucket's default encryption (evidence: SSE-S3 or SSE-KMS and its key).
        GetBucketEncryption => "get_bucket_encryption",
    }
}

impl S3Op {
    /// The operations that are checks, in the order the probe runs them.
    pub const CHECKED: [S3Op; 5] = [
        S3Op::HeadBucket,
        S3Op::List,
        S3Op::Put,
        S3Op::Get,
        S3Op::Delete,
    ];

    /// The IAM action this operation needs.
    pub fn iam_action(self) -> &'static str {
        match self {
            S3Op::HeadBucket | S3Op::List => "s3:ListBucket",
            S3Op::Put => "s3:PutObject",
            S3Op::Get => "s3:GetObject",
            S3Op::Delete => "s3:DeleteObject",
            S3Op::GetBucketPolicy => "s3:GetBucketPolicy",
            S3Op::ListBuckets => "s3:ListAllMyBuckets",
            S3Op::GetBucketEncryption => "s3:GetEncryptionConfiguration",
        }
    }

    /// Does the operation act on an object (rather than on the bucket)?
    pub fn on_object(self) -> bool {
        matches!(self, S3Op::Put | S3Op::Get | S3Op::Delete)
    }
}

/// Why an operation was not attempted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum SkipReason {
    /// `--read-only`.
    ReadOnly,
    /// No credentials were found.
    NoCredentials,
    /// An earlier step could not reach S3 at all (`after`: that step's check name).
    Unreachable { after: String },
    /// The bucket does not exist.
    BucketMissing,
    /// Nothing was written by this run, so nothing to read back or delete.
    NothingWritten,
    /// No region could be learned (IMDS's token answer vanished and none was configured).
    NoRegion,
    /// A stop signal (SIGINT, SIGTERM) ended the run before this step could run or finish.
    Interrupted { signal: super::StopSignal },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::ReadOnly => f.write_str("--read-only: nothing is written"),
            SkipReason::NoCredentials => f.write_str("no credentials"),
            SkipReason::Unreachable { after } => write!(f, "S3 unreachable (see {after})"),
            SkipReason::BucketMissing => f.write_str("the bucket does not exist"),
            SkipReason::NothingWritten => f.write_str("this run wrote no object"),
            SkipReason::NoRegion => f.write_str("no region: IMDS gave none and none is configured"),
            SkipReason::Interrupted { signal } => write!(f, "interrupted by {signal}"),
        }
    }
}

/// How one operation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpOutcome {
    Ok,
    Failed(ErrorInfo),
    Skipped(SkipReason),
}

/// The typed facts an operation learned; each field belongs to the operations named. Rendered
/// into the check's `detail` (absent fields are left out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpDetail {
    /// head_bucket: the bucket's region (`x-amz-bucket-region`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bucket_region: Option<String>,
    /// list: the prefix listed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prefix: Option<String>,
    /// list: keys returned.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key_count: Option<i64>,
    /// list: more keys exist.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub truncated: Option<bool>,
    /// put/get/delete: the object's key.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key: Option<String>,
    /// put/get: bytes sent or read (a get that failed: the bytes that arrived before it did).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bytes: Option<u64>,
    /// put/get: SHA-256 (base64) of what was sent or read.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sha256: Option<String>,
    /// put: the condition that prevents overwriting (`If-None-Match: *`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub conditional: Option<String>,
    /// put: the ETag S3 returned.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub etag: Option<String>,
    /// put/delete: the version written (versioned bucket) and deleted.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version_id: Option<String>,
    /// get: S3 returned a stored checksum.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub s3_checksum: Option<bool>,
    /// get: the bytes read back are those written.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub verified: Option<bool>,
    /// get of `--key`: the byte range read.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub range: Option<String>,
    /// get of `--key`: the object's full size.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub object_size: Option<u64>,
    /// delete: deleting the exact version was denied, so a plain delete (a delete marker) was
    /// made instead; the version remains.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version_delete_denied: Option<bool>,
    /// get of the probe object: its Object Lock retention mode (`GOVERNANCE`, `COMPLIANCE`),
    /// as S3 reported it (a bucket's default retention applies to every new object).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub object_lock_mode: Option<String>,
    /// get of the probe object: until when Object Lock retains it (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub object_lock_retain_until: Option<String>,
    /// get of the probe object: an Object Lock legal hold is on.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub object_lock_legal_hold: Option<bool>,
    /// delete: Object Lock refused deleting the exact version (HTTP 403); no plain delete (no
    /// delete marker) was made, the version stays until its retention ends.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub object_retained: Option<bool>,
    /// get: the body length the answer announced (`Content-Length`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub content_length: Option<u64>,
    /// put: the answer to the attempt that wrote the object was lost (the connection was cut);
    /// the SDK's retry found the key taken (HTTP 412), and reading the object back proved it is
    /// this run's own (the same bytes): it counts as written, and is read back and deleted.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub answer_lost: Option<bool>,
}

/// Everything learned from one S3 operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpEvidence {
    pub op: S3Op,
    #[serde(default)]
    pub duration: Duration,
    pub outcome: OpOutcome,
    #[serde(default)]
    pub meta: ResponseMeta,
    #[serde(default)]
    pub detail: OpDetail,
}

impl OpEvidence {
    /// An operation that was not attempted.
    pub fn skipped(op: S3Op, reason: SkipReason) -> Self {
        Self {
            op,
            duration: Duration::ZERO,
            outcome: OpOutcome::Skipped(reason),
            meta: ResponseMeta::default(),
            detail: OpDetail::default(),
        }
    }

    /// The error, if the operation failed.
    pub fn error(&self) -> Option<&ErrorInfo> {
        match &self.outcome {
            OpOutcome::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Was the operation attempted (not skipped)?
    pub fn attempted(&self) -> bool {
        !matches!(self.outcome, OpOutcome::Skipped(_))
    }
}

/// The bucket policy, if it could be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketPolicyEvidence {
    /// The policy document; `None` with no error means the bucket has no policy.
    pub policy: Option<String>,
    /// A denial or failure reading it (itself evidence, never fatal).
    pub error: Option<ErrorInfo>,
    #[serde(default)]
    pub duration: Duration,
    /// What the transport saw of the GetBucketPolicy request.
    #[serde(default)]
    pub meta: ResponseMeta,
}

/// The bucket's default encryption, if it could be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketEncryptionEvidence {
    /// The default algorithm (`AES256` = SSE-S3, `aws:kms`, `aws:kms:dsse`); `None` with no
    /// error: the bucket has no default encryption configuration.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// The KMS key of SSE-KMS (an ARN, key id or alias as configured; `None`: the AWS managed
    /// key `aws/s3`).
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// S3 Bucket Keys are enabled.
    #[serde(default)]
    pub bucket_key_enabled: Option<bool>,
    /// A denial or failure reading it (itself evidence, never fatal).
    #[serde(default)]
    pub error: Option<ErrorInfo>,
    #[serde(default)]
    pub duration: Duration,
    /// What the transport saw of the GetBucketEncryption request.
    #[serde(default)]
    pub meta: ResponseMeta,
}

impl BucketEncryptionEvidence {
    /// SSE-KMS (or DSSE-KMS) by default.
    pub fn is_kms(&self) -> bool {
        self.algorithm
            .as_deref()
            .is_some_and(|a| a.starts_with("aws:kms"))
    }
}

/// A first run without a named bucket: what ListBuckets gave for the instance's region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketListing {
    /// The ListBuckets request (its outcome, transport facts).
    pub op: OpEvidence,
    /// The `bucket-region` filter asked for (the instance's region).
    pub region: String,
    /// The buckets probed (read-only), at most the cap.
    pub buckets: Vec<String>,
    /// More buckets of the region exist than were probed (the cap).
    #[serde(default)]
    pub more: bool,
}

/// Everything learned about one bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetEvidence {
    pub bucket: String,
    /// The region the probe's requests were signed for.
    pub region: String,
    /// The bucket's own region, when S3 told us.
    pub bucket_region: Option<String>,
    pub prefix: String,
    /// The probe object's key (written unless read-only).
    pub probe_key: String,
    /// `--key`: an existing object to read.
    pub user_key: Option<String>,
    pub read_only: bool,
    pub ops: Vec<OpEvidence>,
    #[serde(default)]
    pub dns: Option<DnsEvidence>,
    #[serde(default)]
    pub bucket_policy: Option<BucketPolicyEvidence>,
    /// The proxy this bucket's S3 requests go through (its URL without credentials, and the
    /// variable): `None` when they connect directly (no proxy, or `NO_PROXY` exempts the host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via_proxy: Option<String>,
    /// The `s3_unsigned` request, when one was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsigned: Option<UnsignedEvidence>,
    /// The default encryption (read after the policy, when allowed).
    #[serde(default)]
    pub bucket_encryption: Option<BucketEncryptionEvidence>,
    /// The port of the endpoint override (`AWS_ENDPOINT_URL(_S3)`), when its URL names one.
    #[serde(default)]
    pub endpoint_port: Option<u16>,
    /// This instance's stale probe objects removed before the probe (absent: read-only, or
    /// the bucket could not be probed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_cleanup: Option<super::StaleCleanup>,
}

impl TargetEvidence {
    /// The evidence of one operation, if it is in the list.
    pub fn op(&self, op: S3Op) -> Option<&OpEvidence> {
        self.ops.iter().find(|o| o.op == op)
    }

    /// The bucket lives in another region than the one the run probes.
    pub fn other_region(&self, run_region: &str) -> Option<&str> {
        self.bucket_region
            .as_deref()
            .filter(|br| !br.is_empty() && *br != run_region)
    }
}
