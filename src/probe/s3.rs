//! The S3 probes: `head_bucket`, `list`, `put`, `get`, `delete` — real signed requests, each
//! timed and bounded, each returning evidence (never panicking).
//!
//! [`probe_with`] is a loop: the pure planner ([`crate::probe::s3_plan`]) names the next step
//! (or why it is skipped), the call goes through [`S3Calls`] (the SDK in [`probe_target`], a
//! fake in the tests), and what it answered becomes the step's evidence and is recorded.
//!
//! Safety of user data: the put is conditional (`If-None-Match: *`) under the probe's own
//! prefix with a key unique per run, so nothing is ever overwritten; the delete removes only
//! the exact object (and version) this run wrote. A put refused (412) on a retry after its
//! first answer was lost counts as written only once the object's bytes read back are this
//! run's own ([`own_object`]).

use std::time::Duration;

use aws_config::SdkConfig;
use sha2::{Digest, Sha256};

use crate::aws::s3::{BodyError, EncryptionOut, GetOut, ListOut, PutOut, S3Calls, SdkS3};
use crate::deadline::Deadline;
use crate::evidence::{
    BucketEncryptionEvidence, BucketPolicyEvidence, DnsEvidence, ErrorCode, ErrorInfo, OpEvidence,
    OpOutcome, Phase, S3Op, SkipReason, TargetEvidence,
};
use crate::net::ProbeResolver;
use crate::probe::dns;
use crate::probe::s3_plan::{
    Budget, Call, Planner, STOP_CLEANUP, Step, put_may_have_written, refused_by_object_lock,
    retry_plain_delete,
};
use crate::probe::stale;
use crate::signal::{Stop, StopSignal};

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

fn sha256_b64(bytes: &[u8]) -> String {
    aws_smithy_types::base64::encode(Sha256::digest(bytes))
}

/// The names this client will connect to, A and AAAA, looked up before any request.
pub async fn dns_evidence(
    spec: &TargetSpec,
    path_style: bool,
    deadline: &Deadline,
    resolver: &ProbeResolver,
) -> DnsEvidence {
    let names = dns::s3_names(
        &spec.bucket,
        &spec.region,
        path_style,
        dns::s3_endpoint_override().as_deref(),
    );
    let dns_budget = deadline.remaining().unwrap_or(Duration::from_millis(1));
    tokio::time::timeout(dns_budget, dns::check(resolver, names.clone()))
        .await
        .unwrap_or_else(|_| DnsEvidence {
            servers: resolver.servers(),
            names,
            lookups: vec![],
            duration: dns_budget,
        })
}

/// Probe one bucket over the SDK: DNS, then head, list, and (unless read-only) put, get,
/// delete, then the bucket policy and default encryption, then this instance's stale probe
/// objects. A stop signal ends it early (see [`probe_with`]).
pub async fn probe_target(
    sdk: &SdkConfig,
    path_style: bool,
    spec: TargetSpec,
    deadline: Deadline,
    resolver: &ProbeResolver,
    stop: &Stop,
) -> TargetEvidence {
    let dns_ev = match stop
        .unless(dns_evidence(&spec, path_style, &deadline, resolver))
        .await
    {
        Ok(d) => d,
        Err(signal) => return skipped_target(spec, SkipReason::Interrupted { signal }),
    };
    let client = SdkS3::new(sdk, &spec.region, path_style);
    probe_with(client, spec, deadline, Some(dns_ev), stop).await
}

/// Await `fut` unless `stop` comes first. A step that writes or deletes (`finish`) is not
/// abandoned halfway: it gets [`STOP_CLEANUP`] more to finish, so that what it wrote is known
/// and can be deleted; any other step is dropped at once.
async fn unless_stopped<F: std::future::Future>(
    stop: &Stop,
    fut: F,
    finish: bool,
) -> Result<F::Output, StopSignal> {
    let fut = std::pin::pin!(fut);
    let mut fut = fut;
    match stop.unless(fut.as_mut()).await {
        Ok(v) => Ok(v),
        Err(signal) if finish => tokio::time::timeout(STOP_CLEANUP, fut)
            .await
            .map_err(|_| signal),
        Err(signal) => Err(signal),
    }
}

/// Probe one bucket through `client`: plan each step, make the call, record what it says.
///
/// On a stop signal (`stop`), the step under way is dropped (a put or a delete first gets
/// [`STOP_CLEANUP`] to finish), every later step is skipped as `interrupted`, except the delete
/// of the object this run wrote, which still runs (exact version, [`STOP_CLEANUP`]).
pub async fn probe_with<C: S3Calls>(
    mut client: C,
    spec: TargetSpec,
    deadline: Deadline,
    dns: Option<DnsEvidence>,
    stop: &Stop,
) -> TargetEvidence {
    let mut planner = Planner::new(spec.read_only, spec.user_key.is_some());
    let mut ops: Vec<OpEvidence> = Vec::with_capacity(S3Op::CHECKED.len());
    let mut region = spec.region.clone();
    let mut bucket_region = None;
    let never = Stop::never();
    for op in S3Op::CHECKED {
        if let Some(signal) = stop.received() {
            planner.interrupt(signal);
        }
        let (call, budget) = match planner.next(op) {
            Step::Skip(reason) => {
                ops.push(OpEvidence::skipped(op, reason));
                continue;
            }
            Step::Run { call, budget } => (call, budget),
        };
        // after a stop, the delete of what was written is not raced against it
        let guard = if planner.interrupted().is_some() {
            &never
        } else {
            stop
        };
        let mut put_version = None;
        let ev = match call {
            Call::HeadBucket => {
                let head = client.head_bucket(&spec.bucket, budget.of(&deadline));
                unless_stopped(guard, head, false).await.map(|mut ev| {
                    bucket_region = ev.meta.bucket_region.clone();
                    if let Some(br) = &bucket_region {
                        ev.detail.bucket_region = Some(br.clone());
                        if *br != region && !br.is_empty() {
                            // Follow the bucket, as the AWS CLI does; diagnose reports it.
                            region = br.clone();
                            client = client.in_region(&region);
                        }
                    }
                    ev
                })
            }
            Call::List => {
                let list = client.list(&spec.bucket, &spec.prefix, budget.of(&deadline));
                unless_stopped(guard, list, false)
                    .await
                    .map(|(ev, out)| list_evidence(ev, &spec.prefix, out))
            }
            Call::Put => {
                let checksum = sha256_b64(&spec.body);
                let budget = budget.of(&deadline);
                let put = client.put(&spec.bucket, &spec.probe_key, &spec.body, &checksum, budget);
                match unless_stopped(guard, put, true).await {
                    Ok((ev, out)) => {
                        put_version = out.as_ref().map(|o| o.version_id.clone());
                        let mut ev = put_evidence(ev, &spec, &checksum, out);
                        // the answer lost, the retry refused: claimed only if the bytes are ours
                        let claim = own_object(&client, &spec, &deadline);
                        if put_may_have_written(&ev)
                            && let Ok(Some(version)) = unless_stopped(guard, claim, true).await
                        {
                            ev.outcome = OpOutcome::Ok;
                            ev.detail.answer_lost = Some(true);
                            ev.detail.version_id.clone_from(&version);
                            put_version = Some(version);
                        }
                        Ok(ev)
                    }
                    Err(signal) => Err(signal),
                }
            }
            Call::GetProbeObject => {
                let budget = budget.of(&deadline);
                let get = client.get(&spec.bucket, &spec.probe_key, None, budget);
                unless_stopped(guard, get, false)
                    .await
                    .map(|(ev, out)| probe_get_evidence(ev, &spec, out))
            }
            Call::GetUserKey => {
                let key = spec.user_key.as_deref().unwrap_or_default();
                let range = user_key_range();
                let budget = budget.of(&deadline);
                let get = client.get(&spec.bucket, key, Some(&range), budget);
                unless_stopped(guard, get, false)
                    .await
                    .map(|(ev, out)| user_get_evidence(ev, key, range, out))
            }
            Call::Delete { version } => {
                let locked = ops.iter().any(|o| {
                    o.op == S3Op::Get
                        && (o.detail.object_lock_mode.is_some()
                            || o.detail.object_lock_legal_hold == Some(true))
                });
                let delete =
                    delete_probe_object(&client, &spec, version, locked, budget, &deadline);
                unless_stopped(guard, delete, true).await
            }
            Call::GetBucketPolicy | Call::GetBucketEncryption => {
                unreachable!("not one of S3Op::CHECKED")
            }
        };
        match ev {
            Ok(ev) => {
                planner.record(&ev, put_version);
                ops.push(ev);
            }
            Err(signal) => {
                planner.interrupt(signal);
                ops.push(OpEvidence::skipped(op, SkipReason::Interrupted { signal }));
            }
        }
    }

    // The bucket policy, when readable (a denial is evidence, not a failure).
    let bucket_policy = match planner.next(S3Op::GetBucketPolicy) {
        Step::Skip(_) => None,
        Step::Run { budget, .. } => {
            let get = client.get_bucket_policy(&spec.bucket, budget.of(&deadline));
            stop.unless(get)
                .await
                .ok()
                .map(|(ev, out)| policy_evidence(ev, out))
        }
    };
    // The default encryption, when readable: it names the KMS key a put needs.
    let bucket_encryption = match planner.next(S3Op::GetBucketEncryption) {
        Step::Skip(_) => None,
        Step::Run { budget, .. } => {
            let get = client.get_bucket_encryption(&spec.bucket, budget.of(&deadline));
            stop.unless(get)
                .await
                .ok()
                .map(|(ev, out)| encryption_evidence(ev, out))
        }
    };
    // Last, with what is left: this instance's probe objects that earlier runs left behind.
    let stale_cleanup =
        if spec.read_only || planner.stop().is_some() || planner.interrupted().is_some() {
            None
        } else {
            let clean = stale::cleanup(&client, &spec.bucket, &spec.probe_key, &deadline);
            stop.unless(clean).await.ok()
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
        dns,
        bucket_policy,
        via_proxy: None,
        unsigned: None,
        bucket_encryption,
        endpoint_port: dns::s3_endpoint_override()
            .as_deref()
            .and_then(dns::url_port),
        stale_cleanup,
    }
}

/// Is the object at the probe key this run's own (its bytes, unique to the run, are those the
/// put sent)? Then its version (`Some(None)` unversioned). Anything else is left alone.
async fn own_object<C: S3Calls>(
    client: &C,
    spec: &TargetSpec,
    deadline: &Deadline,
) -> Option<Option<String>> {
    let budget = Budget::ReservingCleanup.of(deadline);
    let (_, out) = client
        .get(&spec.bucket, &spec.probe_key, None, budget)
        .await;
    let out = out?;
    (out.body.ok()? == spec.body).then_some(out.version_id)
}

/// The delete of the probe object: exactly `version` when the put returned one. When deleting
/// the version is denied, a plain delete (see [`retry_plain_delete`]), unless Object Lock
/// (`locked`: the get saw a retention or a legal hold) refused it: then the object is retained.
async fn delete_probe_object<C: S3Calls>(
    client: &C,
    spec: &TargetSpec,
    version: Option<String>,
    locked: bool,
    budget: Budget,
    deadline: &Deadline,
) -> OpEvidence {
    let key = &spec.probe_key;
    let v = version.as_deref();
    let mut ev = client
        .delete(&spec.bucket, key, v, budget.of(deadline))
        .await;
    let retained = refused_by_object_lock(v, locked, &ev);
    if retained {
        ev.detail.object_retained = Some(true);
    }
    if retry_plain_delete(v, &ev, retained) {
        let mut plain = client
            .delete(&spec.bucket, key, None, budget.of(deadline))
            .await;
        plain.duration += ev.duration;
        plain.detail.version_delete_denied = Some(true);
        ev = plain;
    } else if let Some(v) = version {
        ev.detail.version_id = Some(v);
    }
    ev.detail.key = Some(key.clone());
    ev
}

fn list_evidence(mut ev: OpEvidence, prefix: &str, out: Option<ListOut>) -> OpEvidence {
    ev.detail.prefix = Some(prefix.to_string());
    if let Some(out) = out {
        ev.detail.key_count = out.key_count.map(i64::from);
        ev.detail.truncated = Some(out.truncated.unwrap_or(false));
    }
    ev
}

fn put_evidence(
    mut ev: OpEvidence,
    spec: &TargetSpec,
    checksum: &str,
    out: Option<PutOut>,
) -> OpEvidence {
    ev.detail.key = Some(spec.probe_key.clone());
    ev.detail.bytes = Some(spec.body.len() as u64);
    ev.detail.sha256 = Some(checksum.to_string());
    ev.detail.conditional = Some("If-None-Match: *".into());
    if let Some(out) = out {
        ev.detail.etag = out.etag;
        ev.detail.version_id = out.version_id;
        if let Some(sent_back) = out.checksum_sha256
            && sent_back != checksum
        {
            ev.outcome = OpOutcome::Failed(ErrorInfo::new(
                Phase::Verify,
                ErrorCode::ChecksumMismatch,
                format!("S3 stored checksum {sent_back}, the probe sent {checksum}"),
            ));
        }
    }
    ev
}

/// GetBucketPolicy: `NoSuchBucketPolicy` means "no policy"; anything else is reported.
fn policy_evidence(ev: OpEvidence, out: Option<Option<String>>) -> BucketPolicyEvidence {
    let (policy, error) = match (out, ev.error()) {
        (Some(p), _) => (p, None),
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

/// GetBucketEncryption: `ServerSideEncryptionConfigurationNotFoundError` means "none"; any
/// other failure (a denial: no `s3:GetEncryptionConfiguration`) is reported.
fn encryption_evidence(ev: OpEvidence, out: Option<EncryptionOut>) -> BucketEncryptionEvidence {
    let none = "ServerSideEncryptionConfigurationNotFoundError";
    let error = match (&out, ev.error()) {
        (None, Some(e)) if e.code.service() != Some(none) => Some(e.clone()),
        _ => None,
    };
    let out = out.unwrap_or_default();
    BucketEncryptionEvidence {
        algorithm: out.algorithm,
        kms_key_id: out.kms_key_id,
        bucket_key_enabled: out.bucket_key_enabled,
        error,
        duration: ev.duration,
        meta: ev.meta,
    }
}

/// A body that did not arrive in full, or intact: the get fails with its error, and the detail
/// keeps how much had arrived.
fn body_failed(ev: &mut OpEvidence, e: BodyError) {
    ev.detail.bytes = Some(e.received);
    ev.outcome = OpOutcome::Failed(e.error);
}

/// The read-back of the probe object: the bytes written, and S3's checksum of them.
fn probe_get_evidence(mut ev: OpEvidence, spec: &TargetSpec, out: Option<GetOut>) -> OpEvidence {
    let expected = sha256_b64(&spec.body);
    ev.detail.key = Some(spec.probe_key.clone());
    let Some(out) = out else { return ev };
    ev.detail.content_length = out.content_length;
    ev.detail.object_lock_mode = out.lock_mode;
    ev.detail.object_lock_retain_until = out.lock_retain_until;
    ev.detail.object_lock_legal_hold = out.legal_hold.then_some(true);
    let bytes = match out.body {
        Err(e) => {
            body_failed(&mut ev, e);
            return ev;
        }
        Ok(bytes) => bytes,
    };
    let got = sha256_b64(&bytes);
    ev.detail.bytes = Some(bytes.len() as u64);
    ev.detail.sha256 = Some(got.clone());
    ev.detail.s3_checksum = Some(out.checksum_sha256.is_some());
    if bytes != spec.body || got != expected {
        ev.outcome = OpOutcome::Failed(ErrorInfo::new(
            Phase::Verify,
            ErrorCode::ContentMismatch,
            format!(
                "read back {} bytes (sha256 {got}), wrote {} bytes (sha256 {expected})",
                bytes.len(),
                spec.body.len()
            ),
        ));
    } else if let Some(c) = out.checksum_sha256.filter(|c| *c != expected) {
        ev.outcome = OpOutcome::Failed(ErrorInfo::new(
            Phase::Verify,
            ErrorCode::ChecksumMismatch,
            format!("S3 reports sha256 {c}, the probe wrote {expected}"),
        ));
    } else {
        ev.detail.verified = Some(true);
    }
    ev
}

/// The range read of `--key`.
fn user_key_range() -> String {
    format!("bytes=0-{}", USER_KEY_RANGE_BYTES - 1)
}

/// The read of `--key`: its first bytes and its size.
fn user_get_evidence(
    mut ev: OpEvidence,
    key: &str,
    range: String,
    out: Option<GetOut>,
) -> OpEvidence {
    ev.detail.key = Some(key.to_string());
    ev.detail.range = Some(range);
    if let Some(out) = out {
        if let Some(t) = out.object_size {
            ev.detail.object_size = Some(t);
        }
        ev.detail.content_length = out.content_length;
        match out.body {
            Ok(bytes) => ev.detail.bytes = Some(bytes.len() as u64),
            Err(e) => body_failed(&mut ev, e),
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
        via_proxy: None,
        unsigned: None,
        bucket_encryption: None,
        endpoint_port: None,
        stale_cleanup: None,
    }
}

#[cfg(test)]
#[path = "s3_tests.rs"]
mod tests;
