//! The S3 calls the probe makes, as a small trait ([`S3Calls`]) with one real implementation
//! ([`SdkS3`], over `aws_sdk_s3::Client`). Each call is bounded by the budget it is given,
//! records what the transport saw, classifies its error, and returns the probe's own typed
//! result: an [`OpEvidence`] (op, duration, outcome, meta; `detail` left empty) plus the few
//! facts later steps need. Which call runs next, and what the facts mean, is the probe's.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{ResponseRecorder, classify_sdk_error, s3_client};
use crate::evidence::{
    ErrorCode, ErrorInfo, OpDetail, OpEvidence, OpOutcome, Phase, S3Op, SkipReason,
};
use crate::net::timing::{self, RequestLog};

#[path = "s3_body.rs"]
mod body;
pub use body::BodyError;
use body::Progress;

/// Keys a list asks for: enough to prove access, never a crawl.
pub const LIST_MAX_KEYS: i32 = 5;

/// What ListObjectsV2 answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOut {
    pub key_count: Option<i32>,
    pub truncated: Option<bool>,
}

/// What a PutObject answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutOut {
    pub etag: Option<String>,
    pub version_id: Option<String>,
    /// The SHA-256 (base64) S3 says it stored.
    pub checksum_sha256: Option<String>,
}

/// What a GetObject answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetOut {
    /// The SHA-256 (base64) S3 reports for the object (whole-object reads only).
    pub checksum_sha256: Option<String>,
    /// The object's full size (`Content-Range` total, else `Content-Length`; ranged reads).
    pub object_size: Option<u64>,
    /// The body length the answer announced (`Content-Length`).
    pub content_length: Option<u64>,
    /// The version read (`x-amz-version-id`; versioned buckets).
    pub version_id: Option<String>,
    /// The body, or why reading it failed after the answer began.
    pub body: Result<Vec<u8>, BodyError>,
    /// Object Lock: the retention mode (`GOVERNANCE`, `COMPLIANCE`) S3 reported for the object.
    pub lock_mode: Option<String>,
    /// Object Lock: until when it is retained (RFC 3339).
    pub lock_retain_until: Option<String>,
    /// Object Lock: a legal hold is on.
    pub legal_hold: bool,
}

/// One entry of ListObjectVersions: an object version or a delete marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionEntry {
    pub key: String,
    /// `None` (or S3's `null`) on a bucket that never had versioning.
    pub version_id: Option<String>,
    pub last_modified: Option<std::time::SystemTime>,
    pub delete_marker: bool,
}

/// What ListObjectVersions answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionsOut {
    pub entries: Vec<VersionEntry>,
    pub truncated: bool,
}

/// The bucket's default encryption, as GetBucketEncryption answered (its first rule).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptionOut {
    /// `AES256`, `aws:kms`, `aws:kms:dsse`.
    pub algorithm: Option<String>,
    pub kms_key_id: Option<String>,
    pub bucket_key_enabled: Option<bool>,
}

/// The S3 calls of one probe. `budget` is the time the call may take (`None`: the run deadline
/// has passed, the call fails with [`ErrorCode::Deadline`] without being made).
pub trait S3Calls: Send + Sync {
    /// The same calls, signed for another region (the bucket's own).
    fn in_region(&self, region: &str) -> Self
    where
        Self: Sized;

    /// HeadBucket: existence, access, and (in `meta.bucket_region`) the bucket's region.
    fn head_bucket(
        &self,
        bucket: &str,
        budget: Option<Duration>,
    ) -> impl Future<Output = OpEvidence> + Send;

    /// ListObjectsV2 under `prefix`, at most [`LIST_MAX_KEYS`] keys.
    fn list(
        &self,
        bucket: &str,
        prefix: &str,
        budget: Option<Duration>,
    ) -> impl Future<Output = (OpEvidence, Option<ListOut>)> + Send;

    /// PutObject of `body`, conditional (`If-None-Match: *`), with its SHA-256 (base64).
    fn put(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        sha256_b64: &str,
        budget: Option<Duration>,
    ) -> impl Future<Output = (OpEvidence, Option<PutOut>)> + Send;

    /// GetObject: the whole object with S3's checksum (`range: None`), or the given byte
    /// range (`range: Some("bytes=0-1023")`).
    fn get(
        &self,
        bucket: &str,
        key: &str,
        range: Option<&str>,
        budget: Option<Duration>,
    ) -> impl Future<Output = (OpEvidence, Option<GetOut>)> + Send;

    /// DeleteObject of `key`, of exactly `version` when given.
    fn delete(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        budget: Option<Duration>,
    ) -> impl Future<Output = OpEvidence> + Send;

    /// GetBucketPolicy: the policy document, when S3 returned one.
    fn get_bucket_policy(
        &self,
        bucket: &str,
        budget: Option<Duration>,
    ) -> impl Future<Output = (OpEvidence, Option<Option<String>>)> + Send;

    /// GetBucketEncryption: the bucket's default encryption.
    fn get_bucket_encryption(
        &self,
        bucket: &str,
        budget: Option<Duration>,
    ) -> impl Future<Output = (OpEvidence, Option<EncryptionOut>)> + Send;

    /// ListObjectVersions under `prefix`, at most `max` entries (versions and delete markers).
    /// The default lists nothing (a fake without versions).
    fn list_versions(
        &self,
        _bucket: &str,
        _prefix: &str,
        _max: i32,
        _budget: Option<Duration>,
    ) -> impl Future<Output = (OpEvidence, Option<VersionsOut>)> + Send {
        async {
            let mut ev = OpEvidence::skipped(S3Op::List, SkipReason::NothingWritten);
            ev.outcome = OpOutcome::Ok;
            (ev, Some(VersionsOut::default()))
        }
    }
}

/// Run one SDK operation within `budget`, recording transport facts and classifying errors.
pub async fn run_op<T, E, Fut>(
    op: S3Op,
    budget: Option<Duration>,
    call: impl FnOnce(ResponseRecorder) -> Fut,
) -> (OpEvidence, Option<T>)
where
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let Some(budget) = budget else {
        return (deadline_passed(op), None);
    };
    let recorder = ResponseRecorder::default();
    let started = Instant::now();
    // the requests this operation sends, and only those (see `net::timing`)
    let log = RequestLog::default();
    let result = tokio::time::timeout(
        budget,
        timing::capture_into(log.clone(), call(recorder.clone())),
    )
    .await;
    let duration = started.elapsed();
    let mut meta = recorder.meta();
    // the last of its own requests: the attempt that answered (a credential fetch may precede)
    let host = recorder.host();
    meta.phases = log
        .requests()
        .into_iter()
        .rfind(|r| Some(&r.host) == host.as_ref())
        .map(|r| r.phases);
    let (outcome, value) = match result {
        Ok(Ok(v)) => (OpOutcome::Ok, Some(v)),
        Ok(Err(e)) => (OpOutcome::Failed(classify_sdk_error(&e, &meta)), None),
        Err(_) => {
            let phase = if meta.peer.is_none() {
                Phase::Connect
            } else {
                Phase::Request
            };
            let err = ErrorInfo::new(
                phase,
                ErrorCode::Timeout,
                format!(
                    "no answer within the time left in the run ({} ms)",
                    budget.as_millis()
                ),
            );
            (OpOutcome::Failed(err), None)
        }
    };
    let ev = OpEvidence {
        op,
        duration,
        outcome,
        meta,
        detail: OpDetail::default(),
    };
    (ev, value)
}

/// The evidence of an operation the run deadline cut off before it could start: not proven
/// is not passed, so it fails.
pub fn deadline_passed(op: S3Op) -> OpEvidence {
    let mut ev = OpEvidence::skipped(op, SkipReason::NothingWritten);
    ev.outcome = OpOutcome::Failed(ErrorInfo::new(
        Phase::Request,
        ErrorCode::Deadline,
        "the run deadline passed before this operation could start",
    ));
    ev
}

/// [`S3Calls`] over the SDK: the probe's HTTP client, credentials and retry settings.
#[derive(Debug, Clone)]
pub struct SdkS3 {
    sdk: SdkConfig,
    path_style: bool,
    client: aws_sdk_s3::Client,
}

impl SdkS3 {
    /// Calls signed for `region`.
    pub fn new(sdk: &SdkConfig, region: &str, path_style: bool) -> Self {
        Self {
            sdk: sdk.clone(),
            path_style,
            client: s3_client(sdk, region, path_style),
        }
    }
}

impl SdkS3 {
    /// ListBuckets of one region (`bucket-region`), following pages until `cap + 1` names are
    /// known (so the caller can tell "more"); bounded by `budget` as a whole.
    pub async fn list_buckets(
        &self,
        region: &str,
        cap: usize,
        budget: Option<Duration>,
    ) -> (OpEvidence, Option<Vec<String>>) {
        let client = self.client.clone();
        let region = region.to_string();
        run_op(S3Op::ListBuckets, budget, |rec| async move {
            let mut names = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let out = client
                    .list_buckets()
                    .bucket_region(&region)
                    .max_buckets(1000)
                    .set_continuation_token(token.take())
                    .customize()
                    .interceptor(rec.clone())
                    .send()
                    .await?;
                names.extend(
                    out.buckets()
                        .iter()
                        .filter_map(|b| b.name().map(str::to_string)),
                );
                token = out.continuation_token().map(str::to_string);
                if token.is_none() || names.len() > cap {
                    return Ok(names);
                }
            }
        })
        .await
    }
}

impl S3Calls for SdkS3 {
    fn in_region(&self, region: &str) -> Self {
        Self::new(&self.sdk, region, self.path_style)
    }

    async fn list_versions(
        &self,
        bucket: &str,
        prefix: &str,
        max: i32,
        budget: Option<Duration>,
    ) -> (OpEvidence, Option<VersionsOut>) {
        let (ev, out) = run_op(S3Op::List, budget, |rec| {
            self.client
                .list_object_versions()
                .bucket(bucket)
                .prefix(prefix)
                .max_keys(max)
                .customize()
                .interceptor(rec)
                .send()
        })
        .await;
        let time = |t: Option<&aws_smithy_types::DateTime>| {
            t.and_then(|t| std::time::SystemTime::try_from(*t).ok())
        };
        let out = out.map(|o| {
            let versions = o.versions().iter().map(|v| VersionEntry {
                key: v.key().unwrap_or_default().to_string(),
                version_id: v.version_id().map(str::to_string),
                last_modified: time(v.last_modified()),
                delete_marker: false,
            });
            let markers = o.delete_markers().iter().map(|m| VersionEntry {
                key: m.key().unwrap_or_default().to_string(),
                version_id: m.version_id().map(str::to_string),
                last_modified: time(m.last_modified()),
                delete_marker: true,
            });
            VersionsOut {
                entries: versions.chain(markers).collect(),
                truncated: o.is_truncated().unwrap_or(false),
            }
        });
        (ev, out)
    }

    async fn head_bucket(&self, bucket: &str, budget: Option<Duration>) -> OpEvidence {
        let (ev, _) = run_op(S3Op::HeadBucket, budget, |rec| {
            self.client
                .head_bucket()
                .bucket(bucket)
                .customize()
                .interceptor(rec)
                .send()
        })
        .await;
        ev
    }

    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        budget: Option<Duration>,
    ) -> (OpEvidence, Option<ListOut>) {
        let (ev, out) = run_op(S3Op::List, budget, |rec| {
            self.client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .max_keys(LIST_MAX_KEYS)
                .customize()
                .interceptor(rec)
                .send()
        })
        .await;
        let out = out.map(|o| ListOut {
            key_count: o.key_count(),
            truncated: o.is_truncated(),
        });
        (ev, out)
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        sha256_b64: &str,
        budget: Option<Duration>,
    ) -> (OpEvidence, Option<PutOut>) {
        let (ev, out) = run_op(S3Op::Put, budget, |rec| {
            self.client
                .put_object()
                .bucket(bucket)
                .key(key)
                .if_none_match("*")
                .content_type("text/plain; charset=utf-8")
                .checksum_sha256(sha256_b64)
                // names the checksum's algorithm (`x-amz-sdk-checksum-algorithm`): S3 refuses a
                // put into a bucket with Object Lock default retention without it or Content-MD5
                // (MissingUploadObjectWithObjectLockHeaders); the SDK computes nothing more
                .checksum_algorithm(ChecksumAlgorithm::Sha256)
                .body(ByteStream::from(body.to_vec()))
                .customize()
                .interceptor(rec)
                .send()
        })
        .await;
        let out = out.map(|o| PutOut {
            etag: o.e_tag().map(str::to_string),
            version_id: o.version_id().map(str::to_string),
            checksum_sha256: o.checksum_sha256().map(str::to_string),
        });
        (ev, out)
    }

    async fn get(
        &self,
        bucket: &str,
        key: &str,
        range: Option<&str>,
        budget: Option<Duration>,
    ) -> (OpEvidence, Option<GetOut>) {
        let client = &self.client;
        let progress = Progress::default();
        let seen = progress.clone();
        let (mut ev, out) = run_op(S3Op::Get, budget, |rec| async move {
            let mut req = client.get_object().bucket(bucket).key(key);
            req = match range {
                Some(r) => req.range(r),
                None => req.checksum_mode(ChecksumMode::Enabled),
            };
            let out = req.customize().interceptor(rec.clone()).send().await?;
            let checksum_sha256 = out.checksum_sha256().map(str::to_string);
            let content_length = out.content_length().and_then(|n| u64::try_from(n).ok());
            let version_id = out.version_id().map(str::to_string);
            let object_size = range.and_then(|_| {
                out.content_range()
                    .and_then(|r| r.rsplit('/').next())
                    .and_then(|n| n.parse::<u64>().ok())
                    .or(content_length)
            });
            let lock_mode = out.object_lock_mode().map(|m| m.as_str().to_string());
            let lock_retain_until = out
                .object_lock_retain_until_date()
                .and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok());
            let legal_hold = out.object_lock_legal_hold_status()
                == Some(&aws_sdk_s3::types::ObjectLockLegalHoldStatus::On);
            let status = rec.meta().http_status;
            let body = seen.read(out.body, content_length, status).await;
            Ok::<_, SdkError<GetObjectError, HttpResponse>>(GetOut {
                checksum_sha256,
                object_size,
                content_length,
                version_id,
                body,
                lock_mode,
                lock_retain_until,
                legal_hold,
            })
        })
        .await;
        match (out, progress.stalled(&ev)) {
            // The answer began, and the run deadline cut its body short.
            (None, Some((cut, content_length))) => {
                ev.outcome = OpOutcome::Failed(cut.error.clone());
                let out = GetOut {
                    checksum_sha256: None,
                    object_size: None,
                    content_length,
                    version_id: None,
                    body: Err(cut),
                    lock_mode: None,
                    lock_retain_until: None,
                    legal_hold: false,
                };
                (ev, Some(out))
            }
            (out, _) => (ev, out),
        }
    }

    async fn delete(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        budget: Option<Duration>,
    ) -> OpEvidence {
        let (ev, _) = run_op(S3Op::Delete, budget, |rec| {
            self.client
                .delete_object()
                .bucket(bucket)
                .key(key)
                .set_version_id(version.map(str::to_string))
                .customize()
                .interceptor(rec)
                .send()
        })
        .await;
        ev
    }

    async fn get_bucket_policy(
        &self,
        bucket: &str,
        budget: Option<Duration>,
    ) -> (OpEvidence, Option<Option<String>>) {
        let (ev, out) = run_op(S3Op::GetBucketPolicy, budget, |rec| {
            self.client
                .get_bucket_policy()
                .bucket(bucket)
                .customize()
                .interceptor(rec)
                .send()
        })
        .await;
        (ev, out.map(|o| o.policy().map(str::to_string)))
    }

    async fn get_bucket_encryption(
        &self,
        bucket: &str,
        budget: Option<Duration>,
    ) -> (OpEvidence, Option<EncryptionOut>) {
        let (ev, out) = run_op(S3Op::GetBucketEncryption, budget, |rec| {
            self.client
                .get_bucket_encryption()
                .bucket(bucket)
                .customize()
                .interceptor(rec)
                .send()
        })
        .await;
        let out = out.map(|o| {
            let rule = o
                .server_side_encryption_configuration()
                .and_then(|c| c.rules().first());
            let default = rule.and_then(|r| r.apply_server_side_encryption_by_default());
            EncryptionOut {
                algorithm: default.map(|d| d.sse_algorithm().as_str().to_string()),
                kms_key_id: default
                    .and_then(|d| d.kms_master_key_id())
                    .map(str::to_string),
                bucket_key_enabled: rule.and_then(|r| r.bucket_key_enabled()),
            }
        });
        (ev, out)
    }
}

#[cfg(test)]
#[path = "s3_tests.rs"]
mod tests;
