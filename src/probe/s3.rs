//! The S3 probes: `head_bucket`, `list`, `put`, `get`, `delete` — real signed requests, each
//! timed and bounded, each returning evidence (never panicking).
//!
//! Safety of user data: the put is conditional (`If-None-Match: *`) under the probe's own
//! prefix with a key unique per run, so nothing is ever overwritten; the delete removes only
//! the exact object (and version) this run wrote.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumMode;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use sha2::{Digest, Sha256};

use crate::aws::{ResponseRecorder, classify_sdk_error, s3_client};
use crate::deadline::Deadline;
use crate::evidence::{
    BucketPolicyEvidence, DnsEvidence, ErrorCode, ErrorInfo, OpDetail, OpEvidence, OpOutcome,
    Phase, S3Op, SkipReason, TargetEvidence,
};
use crate::net::ProbeResolver;
use crate::probe::dns;

/// Bytes read of an existing object (`--key`): enough to prove access, never a large download.
pub const USER_KEY_RANGE_BYTES: u64 = 1024;

/// What to probe in one bucket.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    pub bucket: String,
    pub region: String,
    pub prefix: String,
    pub probe_key: String,
    pub user_key: Option<String>,
    pub read_only: bool,
    /// The probe object's content.
    pub body: Vec<u8>,
}

/// Run one SDK operation within the deadline, recording transport facts and classifying errors.
async fn run_op<T, E, Fut>(
    op: S3Op,
    budget: Option<Duration>,
    call: impl FnOnce(ResponseRecorder) -> Fut,
) -> (OpEvidence, Option<T>)
where
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let Some(budget) = budget else {
        // Not proven is not passed: an operation the deadline cut off fails.
        let mut ev = OpEvidence::skipped(op, SkipReason::NothingWritten);
        ev.outcome = OpOutcome::Failed(ErrorInfo::new(
            Phase::Request,
            ErrorCode::Deadline,
            "the run deadline passed before this operation could start",
        ));
        return (ev, None);
    };
    let recorder = ResponseRecorder::default();
    let started = Instant::now();
    let result = tokio::time::timeout(budget, call(recorder.clone())).await;
    let duration = started.elapsed();
    let meta = recorder.meta();
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

fn sha256_b64(bytes: &[u8]) -> String {
    aws_smithy_types::base64::encode(Sha256::digest(bytes))
}

/// Why later operations cannot usefully run after `ev`, if they cannot.
fn stop_after(ev: &OpEvidence) -> Option<SkipReason> {
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

/// Probe one bucket: head, list, then (unless read-only) put, get, delete.
pub async fn probe_target(
    sdk: &SdkConfig,
    path_style: bool,
    spec: TargetSpec,
    deadline: Deadline,
    resolver: &ProbeResolver,
) -> TargetEvidence {
    // Keep time back so an object we wrote can always be deleted.
    let reserve = Duration::from_millis(1500);

    // dns: the names this client will connect to, A and AAAA, before any request.
    let names = dns::s3_names(
        &spec.bucket,
        &spec.region,
        path_style,
        dns::s3_endpoint_override().as_deref(),
    );
    let dns_budget = deadline.remaining().unwrap_or(Duration::from_millis(1));
    let dns_ev = tokio::time::timeout(dns_budget, dns::check(resolver, names.clone()))
        .await
        .unwrap_or_else(|_| DnsEvidence {
            servers: resolver.servers(),
            names,
            lookups: vec![],
            duration: dns_budget,
        });
    let mut ops: Vec<OpEvidence> = Vec::with_capacity(5);
    let mut region = spec.region.clone();
    let mut client = s3_client(sdk, &region, path_style);

    // head_bucket: existence, access, and the bucket's own region.
    let (mut head, _) = run_op(S3Op::HeadBucket, deadline.remaining(), |rec| {
        client
            .head_bucket()
            .bucket(&spec.bucket)
            .customize()
            .interceptor(rec)
            .send()
    })
    .await;
    let bucket_region = head.meta.bucket_region.clone();
    if let Some(br) = &bucket_region {
        head.detail.bucket_region = Some(br.clone());
        if *br != region && !br.is_empty() {
            // Follow the bucket, as the AWS CLI does; diagnose reports the mismatch.
            region = br.clone();
            client = s3_client(sdk, &region, path_style);
        }
    }
    let mut stop = stop_after(&head);
    ops.push(head);

    // list: ListObjectsV2 under the probe prefix, a handful of keys.
    let list = match &stop {
        Some(r) => OpEvidence::skipped(S3Op::List, r.clone()),
        None => {
            let (mut ev, out) = run_op(
                S3Op::List,
                deadline.remaining_reserving(Duration::ZERO),
                |rec| {
                    client
                        .list_objects_v2()
                        .bucket(&spec.bucket)
                        .prefix(&spec.prefix)
                        .max_keys(5)
                        .customize()
                        .interceptor(rec)
                        .send()
                },
            )
            .await;
            ev.detail.prefix = Some(spec.prefix.clone());
            if let Some(out) = out {
                ev.detail.key_count = out.key_count().map(i64::from);
                ev.detail.truncated = Some(out.is_truncated().unwrap_or(false));
            }
            stop = stop.or_else(|| stop_after(&ev));
            ev
        }
    };
    ops.push(list);

    // put: a small object under the probe prefix, never overwriting.
    let mut written: Option<Option<String>> = None; // Some(version_id) once written
    let put = if spec.read_only {
        OpEvidence::skipped(S3Op::Put, SkipReason::ReadOnly)
    } else if let Some(r) = &stop {
        OpEvidence::skipped(S3Op::Put, r.clone())
    } else {
        let checksum = sha256_b64(&spec.body);
        let (mut ev, out) = run_op(S3Op::Put, deadline.remaining_reserving(reserve), |rec| {
            client
                .put_object()
                .bucket(&spec.bucket)
                .key(&spec.probe_key)
                .if_none_match("*")
                .content_type("text/plain; charset=utf-8")
                .checksum_sha256(&checksum)
                .body(ByteStream::from(spec.body.clone()))
                .customize()
                .interceptor(rec)
                .send()
        })
        .await;
        ev.detail.key = Some(spec.probe_key.clone());
        ev.detail.bytes = Some(spec.body.len() as u64);
        ev.detail.sha256 = Some(checksum.clone());
        ev.detail.conditional = Some("If-None-Match: *".into());
        if let Some(out) = out {
            if let Some(etag) = out.e_tag() {
                ev.detail.etag = Some(etag.to_string());
            }
            if let Some(v) = out.version_id() {
                ev.detail.version_id = Some(v.to_string());
            }
            if let Some(sent_back) = out.checksum_sha256()
                && sent_back != checksum
            {
                ev.outcome = OpOutcome::Failed(ErrorInfo::new(
                    Phase::Verify,
                    ErrorCode::ChecksumMismatch,
                    format!("S3 stored checksum {sent_back}, the probe sent {checksum}"),
                ));
            }
            written = Some(out.version_id().map(str::to_string));
        }
        stop = stop.or_else(|| stop_after(&ev));
        ev
    };
    ops.push(put);

    // get: the object we wrote (verified), or the user's --key (first bytes only).
    let get = if let Some(key) = &spec.user_key {
        match &stop {
            Some(r) => OpEvidence::skipped(S3Op::Get, r.clone()),
            None => {
                get_user_key(
                    &client,
                    &spec.bucket,
                    key,
                    &deadline,
                    reserve,
                    written.is_some(),
                )
                .await
            }
        }
    } else if spec.read_only {
        OpEvidence::skipped(S3Op::Get, SkipReason::ReadOnly)
    } else if written.is_none() {
        OpEvidence::skipped(
            S3Op::Get,
            stop.clone().unwrap_or(SkipReason::NothingWritten),
        )
    } else {
        get_probe_object(&client, &spec, &deadline, reserve).await
    };
    ops.push(get);

    // delete: only what this run wrote, that exact version.
    let delete = match &written {
        None if spec.read_only => OpEvidence::skipped(S3Op::Delete, SkipReason::ReadOnly),
        None => OpEvidence::skipped(
            S3Op::Delete,
            stop.clone().unwrap_or(SkipReason::NothingWritten),
        ),
        Some(version) => {
            let delete = |version: Option<String>| {
                run_op(S3Op::Delete, deadline.remaining(), |rec| {
                    client
                        .delete_object()
                        .bucket(&spec.bucket)
                        .key(&spec.probe_key)
                        .set_version_id(version)
                        .customize()
                        .interceptor(rec)
                        .send()
                })
            };
            let (mut ev, _) = delete(version.clone()).await;
            // Deleting a version needs s3:DeleteObjectVersion; with only s3:DeleteObject, a
            // plain delete still hides the object (a delete marker) rather than leave it.
            let denied = ev.error().is_some_and(|e| e.http_status == Some(403));
            if version.is_some() && denied {
                let (mut plain, _) = delete(None).await;
                plain.duration += ev.duration;
                plain.detail.version_delete_denied = Some(true);
                ev = plain;
            } else if let Some(v) = version {
                ev.detail.version_id = Some(v.clone());
            }
            ev.detail.key = Some(spec.probe_key.clone());
            ev
        }
    };
    ops.push(delete);

    // The bucket policy, when readable (a denial is evidence, not a failure).
    let bucket_policy = match ops[0].error() {
        Some(e) if e.is_network() || e.http_status == Some(404) => None,
        _ => Some(get_bucket_policy(&client, &spec.bucket, &deadline).await),
    };

    TargetEvidence {
        bucket: spec.bucket,
        region,
        bucket_region,
        prefix: spec.prefix,
        probe_key: spec.probe_key,
        user_key: spec.user_key,
        read_only: spec.read_only,
        ops,
        dns: Some(dns_ev),
        bucket_policy,
    }
}

/// GetBucketPolicy: `NoSuchBucketPolicy` means "no policy"; anything else is reported.
async fn get_bucket_policy(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    deadline: &Deadline,
) -> BucketPolicyEvidence {
    let (ev, out) = run_op(
        S3Op::GetBucketPolicy,
        deadline.cap(Duration::from_secs(3)),
        |rec| {
            client
                .get_bucket_policy()
                .bucket(bucket)
                .customize()
                .interceptor(rec)
                .send()
        },
    )
    .await;
    let (policy, error) = match (out, ev.error()) {
        (Some(o), _) => (o.policy().map(str::to_string), None),
        (None, Some(e)) if e.code.service() == Some("NoSuchBucketPolicy") => (None, None),
        (None, Some(e)) => (None, Some(e.clone())),
        (None, None) => (None, None),
    };
    BucketPolicyEvidence {
        policy,
        error,
        duration: ev.duration,
        meta: ev.meta,
    }
}

async fn get_probe_object(
    client: &aws_sdk_s3::Client,
    spec: &TargetSpec,
    deadline: &Deadline,
    reserve: Duration,
) -> OpEvidence {
    let expected = sha256_b64(&spec.body);
    let budget = deadline.remaining_reserving(reserve);
    let (mut ev, body) = run_op(S3Op::Get, budget, |rec| async move {
        let out = client
            .get_object()
            .bucket(&spec.bucket)
            .key(&spec.probe_key)
            .checksum_mode(ChecksumMode::Enabled)
            .customize()
            .interceptor(rec)
            .send()
            .await?;
        let s3_checksum = out.checksum_sha256().map(str::to_string);
        let bytes = out.body.collect().await.map(|b| b.into_bytes());
        Ok::<_, SdkError<GetObjectError, HttpResponse>>((s3_checksum, bytes))
    })
    .await;
    ev.detail.key = Some(spec.probe_key.clone());
    if let Some((s3_checksum, bytes)) = body {
        match bytes {
            Err(e) => {
                ev.outcome = OpOutcome::Failed(ErrorInfo::new(
                    Phase::Response,
                    ErrorCode::BodyReadError,
                    crate::aws::chain_message(&e),
                ));
            }
            Ok(bytes) => {
                let got = sha256_b64(&bytes);
                ev.detail.bytes = Some(bytes.len() as u64);
                ev.detail.sha256 = Some(got.clone());
                ev.detail.s3_checksum = Some(s3_checksum.is_some());
                if bytes.as_ref() != spec.body.as_slice() || got != expected {
                    ev.outcome = OpOutcome::Failed(ErrorInfo::new(
                        Phase::Verify,
                        ErrorCode::ContentMismatch,
                        format!(
                            "read back {} bytes (sha256 {got}), wrote {} bytes (sha256 {expected})",
                            bytes.len(),
                            spec.body.len()
                        ),
                    ));
                } else if let Some(c) = s3_checksum.filter(|c| *c != expected) {
                    ev.outcome = OpOutcome::Failed(ErrorInfo::new(
                        Phase::Verify,
                        ErrorCode::ChecksumMismatch,
                        format!("S3 reports sha256 {c}, the probe wrote {expected}"),
                    ));
                } else {
                    ev.detail.verified = Some(true);
                }
            }
        }
    }
    ev
}

async fn get_user_key(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    deadline: &Deadline,
    reserve: Duration,
    must_reserve: bool,
) -> OpEvidence {
    let budget = if must_reserve {
        deadline.remaining_reserving(reserve)
    } else {
        deadline.remaining()
    };
    let range = format!("bytes=0-{}", USER_KEY_RANGE_BYTES - 1);
    let (mut ev, out) = run_op(S3Op::Get, budget, |rec| async move {
        let out = client
            .get_object()
            .bucket(bucket)
            .key(key)
            .range(&range)
            .customize()
            .interceptor(rec)
            .send()
            .await?;
        let total = out
            .content_range()
            .and_then(|r| r.rsplit('/').next())
            .and_then(|n| n.parse::<u64>().ok())
            .or(out.content_length().map(|n| n as u64));
        let bytes = out.body.collect().await.map(|b| b.into_bytes().len());
        Ok::<_, SdkError<GetObjectError, HttpResponse>>((total, bytes))
    })
    .await;
    ev.detail.key = Some(key.to_string());
    ev.detail.range = Some(format!("bytes=0-{}", USER_KEY_RANGE_BYTES - 1));
    if let Some((total, bytes)) = out {
        if let Some(t) = total {
            ev.detail.object_size = Some(t);
        }
        match bytes {
            Ok(n) => {
                ev.detail.bytes = Some(n as u64);
            }
            Err(e) => {
                ev.outcome = OpOutcome::Failed(ErrorInfo::new(
                    Phase::Response,
                    ErrorCode::BodyReadError,
                    crate::aws::chain_message(&e),
                ))
            }
        }
    }
    ev
}

/// A target none of whose operations could run (e.g. no credentials).
pub fn skipped_target(spec: TargetSpec, reason: SkipReason) -> TargetEvidence {
    let ops = S3Op::CHECKED
        .into_iter()
        .map(|op| OpEvidence::skipped(op, reason.clone()))
        .collect();
    TargetEvidence {
        bucket: spec.bucket,
        region: spec.region,
        bucket_region: None,
        prefix: spec.prefix,
        probe_key: spec.probe_key,
        user_key: spec.user_key,
        read_only: spec.read_only,
        ops,
        dns: None,
        bucket_policy: None,
    }
}
