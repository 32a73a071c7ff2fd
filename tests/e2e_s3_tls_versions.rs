//! Fault catalogue (docs/faults.md, "TLS, versioned buckets, Object Lock"), end to end on the
//! simulated VPC with S3's fault-injecting front in the path (`tests/emulators/s3_front.py`):
//!
//! - TLS: the front presents, on S3's real name and address, a certificate from an intercepting
//!   middlebox's own CA (which the probe does not trust: the sim's CA is its `AWS_CA_BUNDLE`),
//!   or one from the trusted sim CA for another name. The handshake comes before any request,
//!   so the front picks the certificate per connection from its rules file's `tls` key.
//! - A versioned bucket with other people's versions and delete markers: the probe deletes
//!   exactly the version it wrote and nothing else.
//! - Object Lock default retention: the delete of the probe's version is refused; a warning
//!   names the retained key, version and date; one DeleteObject, no plain delete, no marker.
//!
//! Each run asserts the check status and finding, `assert_sound` (exit code, wall time within
//! `--timeout`, no panic, no secret at `-vvv`), and that the bucket is left as found.

mod common;

use std::time::Duration;

use aws_sdk_s3::types::{
    BucketVersioningStatus, DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled,
    ObjectLockRetentionMode, ObjectLockRule, VersioningConfiguration,
};
use common::fault::{assert_no_secret_in_dir, assert_sound};
use common::vpc::SimVpc;
use common::*;
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(8);
const TIMEOUT_ARG: &str = "8";

/// Every version and delete marker of a bucket, sorted: (key, version id, is latest, marker).
type Versions = Vec<(String, String, bool, bool)>;

async fn versions(sim: &SimVpc, bucket: &str) -> Versions {
    bucket_versions(&sim.s3("us-east-1"), bucket)
        .await
        .into_iter()
        .map(|v| (v.key, v.version_id, v.latest, v.delete_marker))
        .collect()
}

/// A sim with the network, and bucket `name` created by the admin way in.
async fn sim_with_bucket(name: &str) -> SimVpc {
    let sim = SimVpc::up();
    sim.network(None, false).await;
    sim.bucket(name).await;
    sim
}

/// The probe on the instance, JSON, at -vvv, with an explicit --timeout.
fn probe(sim: &SimVpc, bucket: &str) -> Run {
    sim.probe(&[
        "check",
        "--bucket",
        bucket,
        "--output",
        "json",
        "--timeout",
        TIMEOUT_ARG,
        "-vvv",
    ])
}

/// A sim whose S3 front presents certificate `tls`, the bucket's versions before the run, and
/// the run.
async fn tls_fault(bucket: &str, tls: &str) -> (SimVpc, Versions, Run) {
    let sim = sim_with_bucket(bucket).await;
    let before = versions(&sim, bucket).await;
    sim.s3_front(json!({"tls": tls, "rules": []}));
    let run = probe(&sim, bucket);
    (sim, before, run)
}

/// A TLS fault's verdict: every S3 check after the failed handshake is skipped, nothing reached
/// S3 (the front logged the handshakes it spoiled and no request), the bucket is as it was.
async fn tls_verdict(sim: &SimVpc, before: Versions, run: &Run, tls: &str, code: &str) -> Value {
    let bucket = probed_bucket(run);
    let r = run.json();
    assert_eq!(finding_codes(&r), [code], "{}", r["findings"]);
    let head = check(&r, 0, "s3_head_bucket");
    assert_eq!(head["status"], "fail", "{head}");
    assert_eq!(head["error"]["phase"], "tls", "{head}");
    assert_eq!(head["error"]["code"], code, "{head}");
    for c in ["s3_list", "s3_put", "s3_get", "s3_delete"] {
        assert_eq!(check(&r, 0, c)["status"], "skip", "{c}");
    }
    let f = finding(&r, code);
    assert_eq!(
        (&f["severity"], &f["component"]),
        (&json!("error"), &json!("proxy")),
        "{f}"
    );
    let hint = f["hint"].as_str().unwrap();
    assert!(
        hint.contains("AWS_CA_BUNDLE") && hint.contains("intercepting proxy or middlebox"),
        "{hint}"
    );
    assert!(
        hint.contains(&format!("{bucket}.s3.us-east-1.amazonaws.com")),
        "{hint}"
    );
    // S3 is not blamed: no S3 finding, and no request got past the handshake
    let log = sim.s3_front_log();
    assert!(
        log.iter()
            .any(|l| l["event"] == "tls" && l["tls"] == tls && l["client"] == "10.0.1.10"),
        "{log:?}"
    );
    assert!(log.iter().all(|l| l["op"].is_null()), "{log:?}");
    sim.s3_front(json!({"rules": []}));
    assert_eq!(versions(sim, &bucket).await, before);
    assert_no_secret_in_dir(sim.state_dir());
    r
}

/// The bucket a run probed (its report's first target).
fn probed_bucket(run: &Run) -> String {
    run.json()["targets"][0]["bucket"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn an_untrusted_certificate_on_s3s_name_is_interception() {
    let (sim, before, run) = tls_fault("tls-mitm", "untrusted").await;
    assert_sound(&run, 1, TIMEOUT);
    let code = "tls_untrusted_certificate";
    let r = tls_verdict(&sim, before, &run, "untrusted", code).await;
    let m = finding(&r, "tls_untrusted_certificate")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(m.contains("UnknownIssuer"), "{m}");
    // the sim's CA is the probe's AWS_CA_BUNDLE: the bundle is there, it just did not issue this
    assert!(
        m.contains("AWS_CA_BUNDLE adds 1 CA certificate to the system's roots"),
        "{m}"
    );
}

#[tokio::test]
async fn a_trusted_certificate_for_another_name_is_a_hostname_mismatch() {
    let (sim, before, run) = tls_fault("tls-name", "wrong_host").await;
    assert_sound(&run, 1, TIMEOUT);
    let r = tls_verdict(&sim, before, &run, "wrong_host", "tls_hostname_mismatch").await;
    let m = finding(&r, "tls_hostname_mismatch")["message"]
        .as_str()
        .unwrap()
        .to_string();
    // rustls's typed error names the names the certificate is for
    assert!(
        m.contains("www.example.com") && m.contains("tls-name.s3.us-east-1.amazonaws.com"),
        "{m}"
    );
}

#[tokio::test]
async fn a_versioned_bucket_loses_only_the_version_the_probe_wrote() {
    let b = "versioned";
    let sim = sim_with_bucket(b).await;
    let s3 = sim.s3("us-east-1");
    s3.put_bucket_versioning()
        .bucket(b)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    // someone else's data: three versions of a key, a key hidden by their delete marker, and
    // another instance's probe object under the same prefix
    for body in ["v1", "v2", "v3"] {
        s3.put_object()
            .bucket(b)
            .key("data/report.csv")
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    s3.put_object()
        .bucket(b)
        .key("data/old.csv")
        .body(b"old".to_vec().into())
        .send()
        .await
        .unwrap();
    s3.delete_object()
        .bucket(b)
        .key("data/old.csv")
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(b)
        .key(".vpce-probe/i-0another0instance/20260101T000000Z-aaaaaaaa")
        .body(b"another instance's probe".to_vec().into())
        .send()
        .await
        .unwrap();
    let before = versions(&sim, b).await;
    assert_eq!(before.len(), 6, "{before:?}");
    assert_eq!(before.iter().filter(|v| v.3).count(), 1, "{before:?}");

    sim.s3_front(json!({"rules": []}));
    let run = probe(&sim, b);
    assert_sound(&run, 0, TIMEOUT);
    let r = run.json();
    assert!(finding_codes(&r).is_empty(), "{}", r["findings"]);
    let put = check(&r, 0, "s3_put");
    let delete = check(&r, 0, "s3_delete");
    assert_eq!(delete["status"], "pass", "{delete}");
    let version = put["detail"]["version_id"].as_str().unwrap();
    assert_eq!(delete["detail"]["version_id"], version, "{delete}");
    assert!(delete["detail"]["version_delete_denied"].is_null());

    // exactly one DeleteObject, of that version of the probe's own key
    let deletes = sim.s3_front_seen("DeleteObject");
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert_eq!(deletes[0]["key"], put["detail"]["key"]);
    assert!(has_version_id(&deletes[0]), "{deletes:?}");
    assert_eq!(deletes[0]["status"], 204);
    assert!(sim.s3_front_seen("DeleteObjects").is_empty());

    // no version and no delete marker of the probe's remains; every other one is untouched
    assert_eq!(versions(&sim, b).await, before);
    assert_no_secret_in_dir(sim.state_dir());
}

#[tokio::test]
async fn object_lock_default_retention_refuses_the_delete_and_the_run_warns() {
    let b = "locked";
    let sim = SimVpc::up();
    sim.network(None, false).await;
    let s3 = sim.s3("us-east-1");
    s3.create_bucket()
        .bucket(b)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    s3.put_object_lock_configuration()
        .bucket(b)
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(
                    ObjectLockRule::builder()
                        .default_retention(
                            DefaultRetention::builder()
                                .mode(ObjectLockRetentionMode::Compliance)
                                .days(1)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let before = versions(&sim, b).await;

    // moto enforces the retention itself: DeleteObject with the version id is refused with
    // 403 AccessDenied (its message is a bare "Access Denied"; the read-back's retention
    // headers tell the probe why)
    sim.s3_front(json!({"rules": []}));
    let run = probe(&sim, b);
    assert_sound(&run, 0, TIMEOUT);
    let (key, version) = retained(&sim, &run);
    let mut left = before.clone();
    left.push((key, version, true, false));
    left.sort();
    assert_eq!(versions(&sim, b).await, left, "only the retained version");

    // S3's own refusal (moto does not send its message): the front answers the delete as S3
    // does, "Access Denied because object protected by object lock."
    sim.s3_front(
        json!({"rules": [{"match": {"op": "DeleteObject"}, "fault": {"kind": "error",
        "status": 403, "code": "AccessDenied",
        "message": "Access Denied because object protected by object lock."}}]}),
    );
    let before = versions(&sim, b).await;
    let run = probe(&sim, b);
    assert_sound(&run, 0, TIMEOUT);
    let (key, version) = retained(&sim, &run);
    assert_no_secret_in_dir(sim.state_dir());
    let mut left = before.clone();
    left.push((key, version, true, false));
    left.sort();
    assert_eq!(versions(&sim, b).await, left, "only the retained version");
}

/// One run on the Object Lock bucket (its exit code, 0, is asserted by the caller: a retained
/// probe object is a warning): a warning naming the retained key, version and date, exactly one
/// DeleteObject (of the exact version: no retry, no plain delete, no delete marker), no denial
/// blamed on a policy. Returns the retained (key, version).
fn retained(sim: &SimVpc, run: &Run) -> (String, String) {
    let r = run.json();
    assert_eq!(
        finding_codes(&r),
        ["probe_object_retained"],
        "{}",
        r["findings"]
    );
    let put = check(&r, 0, "s3_put");
    let key = put["detail"]["key"].as_str().unwrap().to_string();
    let version = put["detail"]["version_id"].as_str().unwrap().to_string();
    let get = check(&r, 0, "s3_get");
    assert_eq!(get["status"], "pass", "{get}");
    assert_eq!(get["detail"]["object_lock_mode"], "COMPLIANCE", "{get}");
    let until = get["detail"]["object_lock_retain_until"]
        .as_str()
        .unwrap()
        .to_string();
    let delete = check(&r, 0, "s3_delete");
    assert_eq!(delete["status"], "warn", "{delete}");
    assert_eq!(delete["detail"]["object_retained"], true, "{delete}");
    assert_eq!(delete["detail"]["version_id"], version.as_str());
    assert_eq!(delete["error"]["http_status"], 403, "{delete}");
    let f = finding(&r, "probe_object_retained");
    assert_eq!(
        (&f["severity"], &f["component"]),
        (&json!("warning"), &json!("probe"))
    );
    let m = f["message"].as_str().unwrap();
    for part in [key.as_str(), version.as_str(), until.as_str(), "COMPLIANCE"] {
        assert!(m.contains(part), "{part} not in {m}");
    }
    assert!(f["hint"].as_str().unwrap().contains("read_only = true"));
    // this run's deletes: one, of the exact version
    let deletes: Vec<Value> = sim
        .s3_front_seen("DeleteObject")
        .into_iter()
        .filter(|l| l["key"] == key.as_str())
        .collect();
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert!(has_version_id(&deletes[0]), "{deletes:?}");
    assert_eq!(deletes[0]["status"], 403);
    // never an overwrite: one conditional put of a new key
    let puts: Vec<Value> = sim
        .s3_front_seen("PutObject")
        .into_iter()
        .filter(|l| l["key"] == key.as_str())
        .collect();
    assert_eq!(puts.len(), 1, "{puts:?}");
    (key, version)
}

/// A front log line of a request naming an exact version (`?versionId=`).
fn has_version_id(line: &Value) -> bool {
    line["query"]
        .as_array()
        .is_some_and(|q| q.iter().any(|p| p == "versionId"))
}
