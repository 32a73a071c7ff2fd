//! Tests of the S3 step planner: every branch of `Planner::next`, `record`, the plain-delete
//! fallback and the bucket-policy decision, without any I/O.

use super::*;
use crate::evidence::{ErrorCode, ErrorInfo, OpOutcome, Phase};

fn ok(op: S3Op) -> OpEvidence {
    let mut ev = OpEvidence::skipped(op, SkipReason::NothingWritten);
    ev.outcome = OpOutcome::Ok;
    ev
}

fn failed(op: S3Op, err: ErrorInfo) -> OpEvidence {
    let mut ev = ok(op);
    ev.outcome = OpOutcome::Failed(err);
    ev
}

fn service(op: S3Op, code: &str, status: u16) -> OpEvidence {
    failed(
        op,
        ErrorInfo::service(Phase::Response, code, "no", Some(status)),
    )
}

fn refused(op: S3Op) -> OpEvidence {
    failed(
        op,
        ErrorInfo::new(Phase::Connect, ErrorCode::ConnectionRefused, "refused"),
    )
}

fn unreachable_after(check: &str) -> SkipReason {
    SkipReason::Unreachable {
        after: check.into(),
    }
}

fn runs(call: Call, budget: Budget) -> Step {
    Step::Run { call, budget }
}

/// Plan every checked op in order, recording `outcome(op)` for those that run.
fn plan_all(
    read_only: bool,
    user_key: bool,
    outcome: impl Fn(&Call) -> (OpEvidence, Option<Option<String>>),
) -> Vec<Step> {
    let mut p = Planner::new(read_only, user_key);
    let mut steps = vec![];
    for op in S3Op::CHECKED {
        let step = p.next(op);
        if let Step::Run { call, .. } = &step {
            let (ev, version) = outcome(call);
            p.record(&ev, version);
        }
        steps.push(step);
    }
    steps.push(p.next(S3Op::GetBucketPolicy));
    steps.push(p.next(S3Op::GetBucketEncryption));
    steps
}

fn all_ok(call: &Call) -> (OpEvidence, Option<Option<String>>) {
    match call {
        Call::Put => (ok(S3Op::Put), Some(Some("v1".into()))),
        Call::HeadBucket => (ok(S3Op::HeadBucket), None),
        Call::List => (ok(S3Op::List), None),
        Call::GetProbeObject | Call::GetUserKey => (ok(S3Op::Get), None),
        Call::Delete { .. } => (ok(S3Op::Delete), None),
        Call::GetBucketPolicy => (ok(S3Op::GetBucketPolicy), None),
        Call::GetBucketEncryption => (ok(S3Op::GetBucketEncryption), None),
    }
}

#[test]
fn a_healthy_run_does_every_step_keeping_the_cleanup_slice() {
    assert_eq!(
        plan_all(false, false, all_ok),
        [
            runs(Call::HeadBucket, Budget::Remaining),
            runs(Call::List, Budget::Remaining),
            runs(Call::Put, Budget::ReservingCleanup),
            runs(Call::GetProbeObject, Budget::ReservingCleanup),
            runs(
                Call::Delete {
                    version: Some("v1".into())
                },
                Budget::Remaining
            ),
            runs(Call::GetBucketPolicy, Budget::PolicyCap),
            runs(Call::GetBucketEncryption, Budget::PolicyCap),
        ]
    );
}

#[test]
fn read_only_skips_put_get_delete() {
    let steps = plan_all(true, false, all_ok);
    assert_eq!(steps[1], runs(Call::List, Budget::Remaining));
    for s in &steps[2..5] {
        assert_eq!(*s, Step::Skip(SkipReason::ReadOnly));
    }
    assert_eq!(steps[5], runs(Call::GetBucketPolicy, Budget::PolicyCap));
}

#[test]
fn read_only_with_a_user_key_reads_it_with_all_the_time_left() {
    let steps = plan_all(true, true, all_ok);
    assert_eq!(steps[2], Step::Skip(SkipReason::ReadOnly));
    assert_eq!(steps[3], runs(Call::GetUserKey, Budget::Remaining));
    assert_eq!(steps[4], Step::Skip(SkipReason::ReadOnly));
}

#[test]
fn a_user_key_is_read_keeping_the_cleanup_slice_when_something_was_written() {
    let steps = plan_all(false, true, all_ok);
    assert_eq!(steps[3], runs(Call::GetUserKey, Budget::ReservingCleanup));
    assert!(matches!(
        steps[4],
        Step::Run {
            call: Call::Delete { .. },
            ..
        }
    ));
}

#[test]
fn unreachable_after_head_skips_everything_and_the_policy() {
    let steps = plan_all(false, true, |c| match c {
        Call::HeadBucket => (refused(S3Op::HeadBucket), None),
        other => panic!("{other:?} must not run"),
    });
    for s in &steps[1..5] {
        assert_eq!(*s, Step::Skip(unreachable_after("s3_head_bucket")));
    }
    assert!(matches!(steps[5], Step::Skip(_)));
}

#[test]
fn unreachable_wins_over_read_only_for_list_but_not_for_put() {
    let steps = plan_all(true, false, |c| match c {
        Call::HeadBucket => (refused(S3Op::HeadBucket), None),
        other => panic!("{other:?} must not run"),
    });
    assert_eq!(steps[1], Step::Skip(unreachable_after("s3_head_bucket")));
    for s in &steps[2..5] {
        assert_eq!(*s, Step::Skip(SkipReason::ReadOnly));
    }
}

#[test]
fn a_missing_bucket_stops_after_head_and_the_policy_is_not_read() {
    for head in [
        service(S3Op::HeadBucket, "NotFound", 404),
        service(S3Op::HeadBucket, "NoSuchBucket", 404),
    ] {
        let steps = plan_all(false, false, |c| match c {
            Call::HeadBucket => (head.clone(), None),
            other => panic!("{other:?} must not run"),
        });
        for s in &steps[1..] {
            assert_eq!(*s, Step::Skip(SkipReason::BucketMissing));
        }
    }
}

#[test]
fn a_denied_head_still_lists_puts_and_reads_the_policy() {
    let steps = plan_all(false, false, |c| match c {
        Call::HeadBucket => (service(S3Op::HeadBucket, "AccessDenied", 403), None),
        other => all_ok(other),
    });
    assert_eq!(steps[1], runs(Call::List, Budget::Remaining));
    assert_eq!(steps[2], runs(Call::Put, Budget::ReservingCleanup));
    assert_eq!(steps[5], runs(Call::GetBucketPolicy, Budget::PolicyCap));
    assert_eq!(steps[6], runs(Call::GetBucketEncryption, Budget::PolicyCap));
}

#[test]
fn no_such_bucket_from_list_stops_the_rest() {
    let steps = plan_all(false, false, |c| match c {
        Call::HeadBucket => (ok(S3Op::HeadBucket), None),
        Call::List => (service(S3Op::List, "NoSuchBucket", 404), None),
        other => panic!("{other:?} must not run"),
    });
    for s in &steps[2..5] {
        assert_eq!(*s, Step::Skip(SkipReason::BucketMissing));
    }
    // head answered: the policy is still read.
    assert_eq!(steps[5], runs(Call::GetBucketPolicy, Budget::PolicyCap));
}

#[test]
fn a_failed_put_skips_get_and_delete_as_nothing_written() {
    let steps = plan_all(false, false, |c| match c {
        Call::Put => (service(S3Op::Put, "PreconditionFailed", 412), None),
        other => all_ok(other),
    });
    assert_eq!(steps[3], Step::Skip(SkipReason::NothingWritten));
    assert_eq!(steps[4], Step::Skip(SkipReason::NothingWritten));
}

#[test]
fn an_unreachable_put_gives_its_reason_to_get_and_delete() {
    let steps = plan_all(false, false, |c| match c {
        Call::Put => (refused(S3Op::Put), None),
        other => all_ok(other),
    });
    assert_eq!(steps[3], Step::Skip(unreachable_after("s3_put")));
    assert_eq!(steps[4], Step::Skip(unreachable_after("s3_put")));
}

#[test]
fn a_failed_put_still_reads_the_user_key_and_its_failure_changes_no_later_reason() {
    let steps = plan_all(false, true, |c| match c {
        Call::Put => (service(S3Op::Put, "AccessDenied", 403), None),
        Call::GetUserKey => (refused(S3Op::Get), None),
        other => all_ok(other),
    });
    assert_eq!(steps[3], runs(Call::GetUserKey, Budget::Remaining));
    assert_eq!(steps[4], Step::Skip(SkipReason::NothingWritten));
}

#[test]
fn a_put_answered_with_a_checksum_mismatch_wrote_and_is_deleted() {
    let steps = plan_all(false, false, |c| match c {
        Call::Put => (
            failed(
                S3Op::Put,
                ErrorInfo::new(Phase::Verify, ErrorCode::ChecksumMismatch, "x"),
            ),
            Some(None),
        ),
        other => all_ok(other),
    });
    assert_eq!(
        steps[3],
        runs(Call::GetProbeObject, Budget::ReservingCleanup)
    );
    assert_eq!(
        steps[4],
        runs(Call::Delete { version: None }, Budget::Remaining)
    );
}

#[test]
fn record_keeps_the_first_stop_and_what_was_written() {
    let mut p = Planner::new(false, false);
    p.record(&service(S3Op::HeadBucket, "AccessDenied", 403), None);
    assert_eq!(p.stop(), None);
    p.record(&refused(S3Op::List), None);
    p.record(&service(S3Op::Put, "NoSuchBucket", 404), None);
    assert_eq!(p.stop(), Some(&unreachable_after("s3_list")));
    assert_eq!(p.written(), None);
    let mut p = Planner::new(false, false);
    p.record(&ok(S3Op::Put), Some(Some("v9".into())));
    assert_eq!(p.written(), Some(Some("v9")));
    // a get or delete never stops anything
    p.record(&refused(S3Op::Get), None);
    assert_eq!(p.stop(), None);
}

#[test]
fn stop_after_names_the_step_and_the_missing_bucket() {
    let timeout = failed(
        S3Op::List,
        ErrorInfo::new(Phase::Request, ErrorCode::Timeout, "t"),
    );
    assert_eq!(stop_after(&timeout), Some(unreachable_after("s3_list")));
    assert_eq!(stop_after(&ok(S3Op::HeadBucket)), None);
    // a 404 is a missing bucket only from head_bucket
    assert_eq!(stop_after(&service(S3Op::Get, "NoSuchKey", 404)), None);
    assert_eq!(
        stop_after(&service(S3Op::Get, "NoSuchBucket", 404)),
        Some(SkipReason::BucketMissing)
    );
    assert_eq!(
        stop_after(&service(S3Op::HeadBucket, "NotFound", 404)),
        Some(SkipReason::BucketMissing)
    );
}

#[test]
fn a_denied_version_delete_falls_back_to_a_plain_delete_only() {
    let denied = service(S3Op::Delete, "AccessDenied", 403);
    assert!(retry_plain_delete(Some("v1"), &denied, false));
    assert!(!retry_plain_delete(None, &denied, false));
    assert!(!retry_plain_delete(Some("v1"), &ok(S3Op::Delete), false));
    assert!(!retry_plain_delete(
        Some("v1"),
        &service(S3Op::Delete, "InternalError", 500),
        false
    ));
    // Object Lock refused it: no plain delete (it would only add a delete marker)
    assert!(!retry_plain_delete(Some("v1"), &denied, true));
}

#[test]
fn object_lock_refusals_are_told_by_the_retention_read_back_or_s3s_message() {
    let bare = service(S3Op::Delete, "AccessDenied", 403);
    assert!(refused_by_object_lock(Some("v1"), true, &bare));
    assert!(!refused_by_object_lock(Some("v1"), false, &bare));
    assert!(!refused_by_object_lock(None, true, &bare));
    let mut s3s = bare.clone();
    if let OpOutcome::Failed(e) = &mut s3s.outcome {
        e.message = "Access Denied because object protected by object lock.".into();
    }
    assert!(refused_by_object_lock(Some("v1"), false, &s3s));
    assert!(!refused_by_object_lock(Some("v1"), true, &ok(S3Op::Delete)));
    assert!(!refused_by_object_lock(
        Some("v1"),
        true,
        &service(S3Op::Delete, "InternalError", 500)
    ));
}

#[test]
fn the_policy_is_read_unless_head_found_no_s3_or_no_bucket() {
    assert!(read_policy(&ok(S3Op::HeadBucket)));
    assert!(read_policy(&service(S3Op::HeadBucket, "AccessDenied", 403)));
    assert!(!read_policy(&service(S3Op::HeadBucket, "NotFound", 404)));
    assert!(!read_policy(&refused(S3Op::HeadBucket)));
}

#[test]
fn budgets_come_from_the_one_deadline() {
    let d = Deadline::after(Duration::from_secs(10));
    let all = Budget::Remaining.of(&d).unwrap();
    let reserving = Budget::ReservingCleanup.of(&d).unwrap();
    assert!(all > reserving && all - reserving >= CLEANUP_RESERVE - Duration::from_millis(50));
    assert_eq!(Budget::PolicyCap.of(&d), Some(POLICY_CAP));
    let short = Deadline::after(Duration::from_millis(1000));
    assert_eq!(Budget::ReservingCleanup.of(&short), None);
    assert!(Budget::Remaining.of(&short).is_some());
}

#[test]
fn unsigned_only_without_credentials_or_when_s3_refused_them() {
    assert!(wants_unsigned(false, &[]));
    let rejected = |op| service(op, "InvalidAccessKeyId", 403);
    let expired = |op| service(op, "ExpiredToken", 400);
    assert!(wants_unsigned(
        true,
        &[rejected(S3Op::HeadBucket), rejected(S3Op::List)]
    ));
    assert!(wants_unsigned(true, &[expired(S3Op::HeadBucket)]));
    // a signed request worked: no need
    assert!(!wants_unsigned(
        true,
        &[rejected(S3Op::HeadBucket), ok(S3Op::List)]
    ));
    // no credential refusal: a denial or the network says enough
    assert!(!wants_unsigned(
        true,
        &[service(S3Op::HeadBucket, "AccessDenied", 403)]
    ));
    assert!(!wants_unsigned(true, &[refused(S3Op::HeadBucket)]));
    // nothing attempted
    assert!(!wants_unsigned(
        true,
        &[OpEvidence::skipped(S3Op::HeadBucket, SkipReason::ReadOnly)]
    ));
}

#[test]
fn unsigned_url_style() {
    assert_eq!(
        unsigned_url("b", "us-east-1", false, None),
        "https://b.s3.us-east-1.amazonaws.com/"
    );
    assert_eq!(
        unsigned_url("a.b", "eu-west-1", false, None),
        "https://s3.eu-west-1.amazonaws.com/a.b"
    );
    assert_eq!(
        unsigned_url("b", "us-east-1", true, None),
        "https://s3.us-east-1.amazonaws.com/b"
    );
    assert_eq!(
        unsigned_url("b", "us-east-1", false, Some("https://s3.example:9000/")),
        "https://s3.example:9000/b"
    );
}

#[test]
fn after_a_stop_signal_only_the_delete_of_what_was_written_runs() {
    let signal = StopSignal::Sigterm;
    let mut p = Planner::new(false, false);
    p.record(&ok(S3Op::HeadBucket), None);
    p.record(&ok(S3Op::Put), Some(Some("v1".into())));
    p.interrupt(signal);
    p.interrupt(StopSignal::Sigint); // the first signal counts
    assert_eq!(p.interrupted(), Some(signal));
    assert_eq!(
        p.next(S3Op::Get),
        Step::Skip(SkipReason::Interrupted { signal })
    );
    assert_eq!(
        p.next(S3Op::Delete),
        Step::Run {
            call: Call::Delete {
                version: Some("v1".into())
            },
            budget: Budget::AfterStop
        }
    );
    assert_eq!(
        p.next(S3Op::GetBucketPolicy),
        Step::Skip(SkipReason::Interrupted { signal })
    );
    // nothing written: nothing to delete
    let mut q = Planner::new(false, false);
    q.interrupt(signal);
    assert_eq!(
        q.next(S3Op::Delete),
        Step::Skip(SkipReason::Interrupted { signal })
    );
    assert_eq!(
        Budget::AfterStop.of(&Deadline::after(Duration::ZERO)),
        Some(STOP_CLEANUP)
    );
}
