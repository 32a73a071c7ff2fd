//! `probe_with` driven by a fake [`S3Calls`]: the plan-call-record loop and the evidence it
//! builds (details, verification, the delete fallback), with no network. The real calls are
//! tested end to end against moto (`tests/e2e_check.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::aws::s3::deadline_passed;
use crate::evidence::OpDetail;

/// Scripted S3: every call succeeds unless `fail` names it ("head", "list", "put", "get",
/// "delete_version", "delete", "policy", "encryption"); the calls made are logged.
#[derive(Clone, Default)]
struct Fake {
    fail: HashMap<&'static str, ErrorInfo>,
    bucket_region: Option<String>,
    put_version: Option<String>,
    /// What a get returns instead of what was put.
    corrupt: bool,
    /// The get's body fails with this error after this many bytes.
    cut: Option<(ErrorInfo, u64)>,
    /// The put's answer is lost and the retry gets HTTP 412: the key then holds what the put
    /// sent (`Some(true)`), or another object (`Some(false)`).
    lost_put: Option<bool>,
    /// The Object Lock retention a get reports (mode, until).
    lock: Option<(&'static str, &'static str)>,
    policy: Option<String>,
    region: String,
    stored: Arc<Mutex<Option<Vec<u8>>>>,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    fn failing(mut self, call: &'static str, err: ErrorInfo) -> Self {
        self.fail.insert(call, err);
        self
    }

    fn answer(&self, call: &'static str, op: S3Op, budget: Option<Duration>) -> OpEvidence {
        self.calls
            .lock()
            .unwrap()
            .push(format!("{call}@{}", self.region));
        if budget.is_none() {
            return deadline_passed(op);
        }
        let mut ev = OpEvidence::skipped(op, SkipReason::NothingWritten);
        ev.duration = Duration::from_millis(10);
        ev.meta.attempts = 1;
        ev.outcome = match self.fail.get(call) {
            Some(e) => {
                ev.meta.http_status = e.http_status;
                OpOutcome::Failed(e.clone())
            }
            None => {
                ev.meta.http_status = Some(200);
                OpOutcome::Ok
            }
        };
        ev
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

fn pair<T>(ev: OpEvidence, out: impl FnOnce() -> T) -> (OpEvidence, Option<T>) {
    let out = matches!(ev.outcome, OpOutcome::Ok).then(out);
    (ev, out)
}

impl S3Calls for Fake {
    fn in_region(&self, region: &str) -> Self {
        Self {
            region: region.to_string(),
            ..self.clone()
        }
    }

    async fn head_bucket(&self, _: &str, budget: Option<Duration>) -> OpEvidence {
        let mut ev = self.answer("head", S3Op::HeadBucket, budget);
        ev.meta.bucket_region = self.bucket_region.clone();
        ev
    }

    async fn list(&self, _: &str, _: &str, b: Option<Duration>) -> (OpEvidence, Option<ListOut>) {
        pair(self.answer("list", S3Op::List, b), || ListOut {
            key_count: Some(0),
            truncated: None,
        })
    }

    async fn put(
        &self,
        _: &str,
        _: &str,
        body: &[u8],
        sha256_b64: &str,
        budget: Option<Duration>,
    ) -> (OpEvidence, Option<PutOut>) {
        if let Some(ours) = self.lost_put {
            let found = if ours {
                body.to_vec()
            } else {
                b"not ours".to_vec()
            };
            *self.stored.lock().unwrap() = Some(found);
            let mut ev = self.answer("put", S3Op::Put, budget);
            ev.meta.attempts = 2;
            ev.meta.http_status = Some(412);
            ev.outcome = OpOutcome::Failed(http("PreconditionFailed", 412));
            return (ev, None);
        }
        pair(self.answer("put", S3Op::Put, budget), || {
            *self.stored.lock().unwrap() = Some(body.to_vec());
            PutOut {
                etag: Some("\"e\"".into()),
                version_id: self.put_version.clone(),
                checksum_sha256: Some(sha256_b64.to_string()),
            }
        })
    }

    async fn get(
        &self,
        _: &str,
        _: &str,
        range: Option<&str>,
        budget: Option<Duration>,
    ) -> (OpEvidence, Option<GetOut>) {
        pair(self.answer("get", S3Op::Get, budget), || {
            let mut body = match range {
                Some(_) => vec![7; USER_KEY_RANGE_BYTES as usize],
                None => self.stored.lock().unwrap().clone().unwrap_or_default(),
            };
            let checksum_sha256 = range.is_none().then(|| sha256_b64(&body));
            if self.corrupt {
                body.push(b'!');
            }
            GetOut {
                checksum_sha256,
                object_size: range.map(|_| 5000),
                content_length: Some(body.len() as u64),
                version_id: self.put_version.clone(),
                body: match &self.cut {
                    Some((error, received)) => Err(crate::aws::s3::BodyError {
                        error: error.clone(),
                        received: *received,
                    }),
                    None => Ok(body),
                },
                lock_mode: self.lock.map(|l| l.0.to_string()),
                lock_retain_until: self.lock.map(|l| l.1.to_string()),
                legal_hold: false,
            }
        })
    }

    async fn delete(&self, _: &str, _: &str, v: Option<&str>, b: Option<Duration>) -> OpEvidence {
        let call = if v.is_some() {
            "delete_version"
        } else {
            "delete"
        };
        self.answer(call, S3Op::Delete, b)
    }

    async fn get_bucket_policy(
        &self,
        _: &str,
        budget: Option<Duration>,
    ) -> (OpEvidence, Option<Option<String>>) {
        pair(self.answer("policy", S3Op::GetBucketPolicy, budget), || {
            self.policy.clone()
        })
    }

    async fn get_bucket_encryption(
        &self,
        _: &str,
        budget: Option<Duration>,
    ) -> (OpEvidence, Option<crate::aws::s3::EncryptionOut>) {
        let ev = self.answer("encryption", S3Op::GetBucketEncryption, budget);
        pair(ev, || crate::aws::s3::EncryptionOut {
            algorithm: Some("aws:kms".into()),
            kms_key_id: Some("arn:aws:kms:us-east-1:111122223333:key/k1".into()),
            bucket_key_enabled: Some(true),
        })
    }
}

fn spec(read_only: bool, user_key: Option<&str>) -> TargetSpec {
    TargetSpec {
        bucket: "b1".into(),
        region: "us-east-1".into(),
        prefix: ".vpce-probe/".into(),
        probe_key: ".vpce-probe/i-1/run".into(),
        user_key: user_key.map(str::to_string),
        read_only,
        body: b"probe body\n".to_vec(),
    }
}

fn fake() -> Fake {
    Fake {
        region: "us-east-1".into(),
        ..Fake::default()
    }
}

async fn probe(f: &Fake, spec: TargetSpec) -> TargetEvidence {
    probe_with(
        f.clone(),
        spec,
        Deadline::after(Duration::from_secs(30)),
        None,
        &crate::signal::Stop::never(),
    )
    .await
}

fn http(code: &str, status: u16) -> ErrorInfo {
    ErrorInfo::service(Phase::Response, code, "denied", Some(status))
}

fn outcome(t: &TargetEvidence, op: S3Op) -> &OpOutcome {
    &t.op(op).unwrap().outcome
}

#[tokio::test]
async fn a_healthy_probe_writes_verifies_and_deletes_its_exact_version() {
    let f = Fake {
        put_version: Some("v1".into()),
        policy: Some("{}".into()),
        ..fake()
    };
    let t = probe(&f, spec(false, None)).await;
    let ops: Vec<S3Op> = t.ops.iter().map(|o| o.op).collect();
    assert_eq!(ops, S3Op::CHECKED);
    assert!(t.ops.iter().all(|o| o.outcome == OpOutcome::Ok));
    let get = &t.op(S3Op::Get).unwrap().detail;
    assert_eq!(get.verified, Some(true));
    assert_eq!(get.s3_checksum, Some(true));
    assert_eq!(get.bytes, Some(11));
    let put = &t.op(S3Op::Put).unwrap().detail;
    assert_eq!(put.conditional.as_deref(), Some("If-None-Match: *"));
    assert_eq!(put.sha256, get.sha256);
    let delete = &t.op(S3Op::Delete).unwrap().detail;
    assert_eq!(delete.version_id.as_deref(), Some("v1"));
    assert_eq!(delete.key.as_deref(), Some(".vpce-probe/i-1/run"));
    assert_eq!(delete.version_delete_denied, None);
    let list = &t.op(S3Op::List).unwrap().detail;
    assert_eq!((list.key_count, list.truncated), (Some(0), Some(false)));
    assert_eq!(
        t.bucket_policy.as_ref().unwrap().policy.as_deref(),
        Some("{}")
    );
    let enc = t.bucket_encryption.as_ref().unwrap();
    assert!(enc.is_kms() && enc.error.is_none());
    assert_eq!(
        enc.kms_key_id.as_deref(),
        Some("arn:aws:kms:us-east-1:111122223333:key/k1")
    );
    let calls = [
        "head",
        "list",
        "put",
        "get",
        "delete_version",
        "policy",
        "encryption",
    ];
    assert_eq!(f.calls(), calls.map(|c| format!("{c}@us-east-1")));
}

#[tokio::test]
async fn a_denied_head_still_lists() {
    let f = fake().failing("head", http("AccessDenied", 403));
    let t = probe(&f, spec(true, None)).await;
    assert!(matches!(
        outcome(&t, S3Op::HeadBucket),
        OpOutcome::Failed(_)
    ));
    assert_eq!(*outcome(&t, S3Op::List), OpOutcome::Ok);
    assert!(t.bucket_policy.is_some());
    assert_eq!(f.calls().len(), 4, "{:?}", f.calls());
}

#[tokio::test]
async fn a_put_refused_by_its_condition_deletes_nothing() {
    let f = fake().failing("put", http("PreconditionFailed", 412));
    let t = probe(&f, spec(false, None)).await;
    for op in [S3Op::Get, S3Op::Delete] {
        assert_eq!(
            *outcome(&t, op),
            OpOutcome::Skipped(SkipReason::NothingWritten)
        );
    }
    assert!(!f.calls().iter().any(|c| c.starts_with("delete")));
    assert!(!f.calls().iter().any(|c| c.starts_with("get")));
}

#[tokio::test]
async fn a_version_delete_refused_by_object_lock_is_never_retried() {
    let f = Fake {
        put_version: Some("v1".into()),
        lock: Some(("COMPLIANCE", "2026-12-01T00:00:00Z")),
        ..fake()
    }
    .failing("delete_version", http("AccessDenied", 403));
    let t = probe(&f, spec(false, None)).await;
    let get = &t.op(S3Op::Get).unwrap().detail;
    assert_eq!(get.object_lock_mode.as_deref(), Some("COMPLIANCE"));
    assert_eq!(
        get.object_lock_retain_until.as_deref(),
        Some("2026-12-01T00:00:00Z")
    );
    let delete = t.op(S3Op::Delete).unwrap();
    assert!(matches!(delete.outcome, OpOutcome::Failed(_)));
    assert_eq!(delete.detail.object_retained, Some(true));
    assert_eq!(delete.detail.version_id.as_deref(), Some("v1"));
    assert_eq!(delete.detail.version_delete_denied, None);
    let deletes: Vec<String> = f
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("delete"))
        .collect();
    assert_eq!(deletes, ["delete_version@us-east-1"]);
}

#[tokio::test]
async fn a_denied_version_delete_falls_back_to_a_plain_delete() {
    let f = Fake {
        put_version: Some("v1".into()),
        ..fake()
    }
    .failing("delete_version", http("AccessDenied", 403));
    let t = probe(&f, spec(false, None)).await;
    let delete = t.op(S3Op::Delete).unwrap();
    assert_eq!(delete.outcome, OpOutcome::Ok);
    assert_eq!(delete.duration, Duration::from_millis(20));
    assert_eq!(
        delete.detail,
        OpDetail {
            key: Some(".vpce-probe/i-1/run".into()),
            version_delete_denied: Some(true),
            ..OpDetail::default()
        }
    );
    let calls = f.calls();
    assert_eq!(
        calls[4..6],
        ["delete_version@us-east-1", "delete@us-east-1"]
    );
}

#[tokio::test]
async fn a_denied_unversioned_delete_is_not_retried() {
    let f = fake().failing("delete", http("AccessDenied", 403));
    let t = probe(&f, spec(false, None)).await;
    assert!(matches!(outcome(&t, S3Op::Delete), OpOutcome::Failed(_)));
    assert_eq!(f.calls().iter().filter(|c| c.starts_with("del")).count(), 1);
}

#[tokio::test]
async fn the_bucket_region_is_followed() {
    let f = Fake {
        bucket_region: Some("eu-west-1".into()),
        ..fake()
    };
    let t = probe(&f, spec(true, None)).await;
    assert_eq!(t.region, "eu-west-1");
    assert_eq!(t.bucket_region.as_deref(), Some("eu-west-1"));
    let head = t.op(S3Op::HeadBucket).unwrap();
    assert_eq!(head.detail.bucket_region.as_deref(), Some("eu-west-1"));
    assert_eq!(
        f.calls(),
        [
            "head@us-east-1",
            "list@eu-west-1",
            "policy@eu-west-1",
            "encryption@eu-west-1"
        ]
    );
}

#[tokio::test]
async fn unreachable_s3_stops_after_head_without_a_policy() {
    let refused = ErrorInfo::new(Phase::Connect, ErrorCode::ConnectionRefused, "refused");
    let f = fake().failing("head", refused);
    let t = probe(&f, spec(false, Some("data/x"))).await;
    let after = SkipReason::Unreachable {
        after: "s3_head_bucket".into(),
    };
    for op in &t.ops[1..] {
        assert_eq!(op.outcome, OpOutcome::Skipped(after.clone()));
    }
    assert!(t.bucket_policy.is_none() && t.bucket_encryption.is_none());
    assert_eq!(f.calls(), ["head@us-east-1"]);
}

#[tokio::test]
async fn read_only_reads_the_user_key_range_and_writes_nothing() {
    let f = fake();
    let t = probe(&f, spec(true, Some("data/x"))).await;
    let get = t.op(S3Op::Get).unwrap();
    assert_eq!(get.outcome, OpOutcome::Ok);
    assert_eq!(get.detail.key.as_deref(), Some("data/x"));
    assert_eq!(get.detail.range.as_deref(), Some("bytes=0-1023"));
    assert_eq!(get.detail.object_size, Some(5000));
    assert_eq!(get.detail.bytes, Some(1024));
    for op in [S3Op::Put, S3Op::Delete] {
        assert_eq!(*outcome(&t, op), OpOutcome::Skipped(SkipReason::ReadOnly));
    }
}

#[tokio::test]
async fn a_read_back_that_differs_fails_and_the_object_is_still_deleted() {
    let f = Fake {
        corrupt: true,
        ..fake()
    };
    let t = probe(&f, spec(false, None)).await;
    let err = t.op(S3Op::Get).unwrap().error().unwrap();
    assert_eq!(err.code, ErrorCode::ContentMismatch);
    assert_eq!(*outcome(&t, S3Op::Delete), OpOutcome::Ok);
}

#[tokio::test]
async fn a_body_cut_short_fails_the_get_keeps_what_arrived_and_the_object_is_deleted() {
    let reset = ErrorInfo {
        http_status: Some(200),
        ..ErrorInfo::new(Phase::Response, ErrorCode::ConnectionReset, "reset")
    };
    let f = Fake {
        cut: Some((reset.clone(), 4)),
        ..fake()
    };
    let t = probe(&f, spec(false, None)).await;
    let get = t.op(S3Op::Get).unwrap();
    assert_eq!(get.error(), Some(&reset));
    assert_eq!(get.detail.bytes, Some(4));
    assert_eq!(get.detail.content_length, Some(11));
    assert_eq!(get.detail.verified, None);
    assert_eq!(*outcome(&t, S3Op::Delete), OpOutcome::Ok);
    assert!(
        f.calls().iter().any(|c| c.starts_with("delete")),
        "{:?}",
        f.calls()
    );
}

#[tokio::test]
async fn a_put_whose_answer_was_lost_is_claimed_only_when_the_object_is_the_runs_own() {
    let f = Fake {
        lost_put: Some(true),
        put_version: Some("v1".into()),
        ..fake()
    };
    let t = probe(&f, spec(false, None)).await;
    let put = t.op(S3Op::Put).unwrap();
    assert_eq!(put.outcome, OpOutcome::Ok);
    assert_eq!(put.detail.answer_lost, Some(true));
    assert_eq!(put.detail.version_id.as_deref(), Some("v1"));
    assert_eq!(t.op(S3Op::Get).unwrap().detail.verified, Some(true));
    assert_eq!(*outcome(&t, S3Op::Delete), OpOutcome::Ok);
    assert!(
        f.calls().contains(&"delete_version@us-east-1".to_string()),
        "{:?}",
        f.calls()
    );

    // another object at the key: left alone, nothing read back as ours, nothing deleted
    let f = Fake {
        lost_put: Some(false),
        ..fake()
    };
    let t = probe(&f, spec(false, None)).await;
    let put = t.op(S3Op::Put).unwrap();
    assert_eq!(put.error().unwrap().http_status, Some(412));
    assert_eq!(put.detail.answer_lost, None);
    for op in [S3Op::Get, S3Op::Delete] {
        assert_eq!(
            *outcome(&t, op),
            OpOutcome::Skipped(SkipReason::NothingWritten)
        );
    }
    assert!(
        !f.calls().iter().any(|c| c.starts_with("delete")),
        "{:?}",
        f.calls()
    );
}

#[tokio::test]
async fn no_bucket_policy_is_no_error() {
    let f = fake().failing("policy", http("NoSuchBucketPolicy", 404));
    let t = probe(&f, spec(true, None)).await;
    let p = t.bucket_policy.unwrap();
    assert_eq!((p.policy, p.error), (None, None));
    let f = fake().failing("policy", http("AccessDenied", 403));
    let t = probe(&f, spec(true, None)).await;
    assert!(t.bucket_policy.unwrap().error.is_some());
}

#[tokio::test]
async fn no_default_encryption_is_no_error_and_a_denial_is_evidence() {
    let none = http("ServerSideEncryptionConfigurationNotFoundError", 404);
    let t = probe(&fake().failing("encryption", none), spec(true, None)).await;
    let e = t.bucket_encryption.unwrap();
    assert_eq!((e.algorithm, e.error), (None, None));
    let f = fake().failing("encryption", http("AccessDenied", 403));
    let t = probe(&f, spec(true, None)).await;
    let e = t.bucket_encryption.unwrap();
    assert_eq!(e.error.unwrap().http_status, Some(403));
    assert_eq!(e.algorithm, None);
}

#[tokio::test]
async fn a_passed_deadline_fails_each_step() {
    let f = fake();
    let t = probe_with(
        f.clone(),
        spec(false, None),
        Deadline::after(Duration::ZERO),
        None,
        &crate::signal::Stop::never(),
    )
    .await;
    for op in [S3Op::HeadBucket, S3Op::List, S3Op::Put] {
        let e = t.op(op).unwrap().error().unwrap();
        assert_eq!(e.code, ErrorCode::Deadline);
    }
    assert_eq!(
        *outcome(&t, S3Op::Delete),
        OpOutcome::Skipped(SkipReason::NothingWritten)
    );
}

#[tokio::test]
async fn a_stop_before_the_probe_skips_every_step_and_calls_nothing() {
    let f = fake();
    let (stop, fire) = crate::signal::Stop::manual();
    fire(StopSignal::Sigint);
    let t = probe_with(
        f.clone(),
        spec(false, None),
        Deadline::after(Duration::from_secs(30)),
        None,
        &stop,
    )
    .await;
    for op in S3Op::CHECKED {
        assert_eq!(
            *outcome(&t, op),
            OpOutcome::Skipped(SkipReason::Interrupted {
                signal: StopSignal::Sigint
            })
        );
    }
    assert!(f.calls().is_empty(), "{:?}", f.calls());
    assert!(t.stale_cleanup.is_none() && t.bucket_policy.is_none());
}
