//! The fault catalogue's S3 data-plane faults (docs/faults.md, "S3 answers and connections"),
//! end to end on the simulated VPC with S3's fault-injecting front in the path
//! (`tests/emulators/s3_front.py`): throttling the SDK retries past, S3's own 500s, a GetObject
//! body truncated, trickling, or with one byte flipped, and TCP resets on connect and
//! mid-answer. Each test asserts the check status and the finding (and that nothing else is
//! blamed: no route, no policy), the exit code, a wall time bounded by an explicit `--timeout`,
//! no panic and no secret at `-vvv` (`common::fault::assert_sound`), what the front saw, and
//! that the bucket is left as found: no probe object, no probe version or delete marker, the
//! seeded objects untouched.

mod common;

use std::time::Duration;

use common::fault::assert_sound;
use common::vpc::SimVpc;
use common::*;
use serde_json::{Value, json};

/// Objects the bucket holds before the probe runs: one elsewhere, one under the probe's prefix
/// written by another instance (the probe must not touch either).
const SEEDS: [(&str, &str); 2] = [
    ("data/keep.txt", "user data, not the probe's\n"),
    (
        ".vpce-probe/i-0fedcba9876543210/old",
        "another instance's probe object\n",
    ),
];

/// A bucket's versions and delete markers: (key, version id, etag or "marker").
type Listing = Vec<(String, String, String)>;

async fn sim_with_seeded_bucket(name: &str) -> (SimVpc, Listing) {
    let sim = SimVpc::up();
    sim.network(None, false).await;
    sim.bucket(name).await;
    let s3 = sim.s3("us-east-1");
    for (key, body) in SEEDS {
        s3.put_object()
            .bucket(name)
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let before = listing(&sim, name).await;
    assert_eq!(before.len(), SEEDS.len(), "{before:?}");
    (sim, before)
}

async fn listing(sim: &SimVpc, bucket: &str) -> Listing {
    bucket_versions(&sim.s3("us-east-1"), bucket)
        .await
        .into_iter()
        .map(|v| {
            let etag = if v.delete_marker {
                "marker".to_string()
            } else {
                v.etag
            };
            (v.key, v.version_id, etag)
        })
        .collect()
}

/// The bucket as found: the same versions (no probe object, version or delete marker), and the
/// seeded objects' bytes unchanged.
async fn assert_left_as_found(sim: &SimVpc, bucket: &str, before: &Listing) {
    let after = listing(sim, bucket).await;
    assert_eq!(&after, before, "the bucket changed");
    let s3 = sim.s3("us-east-1");
    for (key, body) in SEEDS {
        let got = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        let bytes = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(&bytes[..], body.as_bytes(), "{key}");
    }
}

/// `vpce-probe check` of one bucket: JSON, `-vvv` (stderr must hold no secret), `--timeout`.
fn probe(sim: &SimVpc, bucket: &str, timeout: Duration) -> Run {
    let t = timeout.as_secs().to_string();
    sim.probe(&[
        "check",
        "--bucket",
        bucket,
        "--output",
        "json",
        "--timeout",
        &t,
        "-vvv",
    ])
}

/// S3's request ids: 16 upper-case hex digits (the front's, as S3's).
fn is_request_id(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|r| r.len() == 16 && r.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The path checks pass: nothing blames a route, an endpoint, a firewall or a policy (the
/// bucket policy is not read when S3 could not be reached: skipped, not failed).
fn assert_path_not_blamed(r: &Value) {
    for c in [
        "route",
        "endpoint_policy",
        "bucket_policy",
        "security_group",
        "network_acl",
    ] {
        let status = &check(r, 0, c)["status"];
        let ok = status == "pass" || (c == "bucket_policy" && status == "skip");
        assert!(ok, "{c}: {}", check(r, 0, c));
    }
    assert_eq!(r["targets"][0]["path"]["verdict"], "gateway_endpoint");
}

/// The object was written (the put passed) and the delete removed it, once.
fn assert_written_and_deleted(r: &Value, sim: &SimVpc) {
    let put = check(r, 0, "s3_put");
    assert_eq!(put["status"], "pass", "{put}");
    let del = check(r, 0, "s3_delete");
    assert_eq!(del["status"], "pass", "{del}");
    assert_eq!(del["detail"]["key"], put["detail"]["key"]);
    let deletes = sim.s3_front_seen("DeleteObject");
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert_eq!(deletes[0]["status"], 204);
}

#[tokio::test]
async fn slow_down_once_then_the_put_passes_after_a_retry() {
    let (sim, before) = sim_with_seeded_bucket("fault-slowdown").await;
    sim.s3_front(json!({"rules": [{"match": {"op": "PutObject"}, "times": 1,
        "fault": {"kind": "error", "status": 503, "code": "SlowDown",
                  "message": "Please reduce your request rate."}}]}));
    let timeout = Duration::from_secs(8);
    let run = probe(&sim, "fault-slowdown", timeout);
    assert_sound(&run, 0, timeout);
    let r = run.json();
    assert_eq!(finding_codes(&r), ["s3_throttled"], "{}", r["findings"]);
    for c in ["s3_head_bucket", "s3_list", "s3_put", "s3_get", "s3_delete"] {
        assert_eq!(check(&r, 0, c)["status"], "pass", "{c}");
    }
    let put = &check(&r, 0, "s3_put")["detail"];
    assert_eq!(put["attempts"], 2, "{put}");
    assert_eq!(put["http_status"], 200);
    let throttled = &put["attempt_errors"];
    assert_eq!(throttled.as_array().map(Vec::len), Some(1), "{put}");
    assert_eq!(throttled[0]["http_status"], 503);
    assert_eq!(throttled[0]["code"], "SlowDown");
    assert_eq!(throttled[0]["throttling"], true);
    assert!(is_request_id(&throttled[0]["request_id"]), "{throttled}");
    // the retry's answer is the check's: another request id
    assert_ne!(throttled[0]["request_id"], put["request_id"]);
    let f = finding(&r, "s3_throttled");
    assert_eq!(
        (&f["severity"], &f["component"]),
        (&json!("warning"), &json!("s3"))
    );
    let rid = throttled[0]["request_id"].as_str().unwrap();
    let m = f["message"].as_str().unwrap();
    assert!(
        m.contains("s3_put passed after S3 throttled 1 of 2 attempts") && m.contains(rid),
        "{m}"
    );
    // the front refused the first put and forwarded the second
    let puts = sim.s3_front_seen("PutObject");
    assert_eq!(puts.len(), 2, "{puts:?}");
    assert_eq!(
        (&puts[0]["status"], &puts[0]["fault"]),
        (&json!(503), &json!("error"))
    );
    assert_eq!(
        (&puts[1]["status"], &puts[1]["rule"]),
        (&json!(200), &Value::Null)
    );
    assert_left_as_found(&sim, "fault-slowdown", &before).await;
}

#[tokio::test]
async fn internal_error_on_every_put_fails_it_in_phase_response_and_writes_nothing() {
    let (sim, before) = sim_with_seeded_bucket("fault-500").await;
    sim.s3_front(json!({"rules": [{"match": {"op": "PutObject"},
        "fault": {"kind": "error", "status": 500, "code": "InternalError",
                  "message": "We encountered an internal error. Please try again."}}]}));
    let timeout = Duration::from_secs(8);
    let run = probe(&sim, "fault-500", timeout);
    assert_sound(&run, 1, timeout);
    let r = run.json();
    assert_eq!(finding_codes(&r), ["s3_server_error"], "{}", r["findings"]);
    let put = check(&r, 0, "s3_put");
    assert_eq!(put["status"], "fail");
    assert_eq!(put["error"]["phase"], "response", "{put}");
    assert_eq!(put["error"]["code"], "InternalError");
    assert_eq!(put["error"]["http_status"], 500);
    assert_eq!(put["detail"]["attempts"], 2, "{put}");
    let errors = put["detail"]["attempt_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{put}");
    assert!(
        errors
            .iter()
            .all(|e| e["code"] == "InternalError" && e["throttling"] == false)
    );
    for c in ["s3_get", "s3_delete"] {
        let skipped = check(&r, 0, c);
        assert_eq!(skipped["status"], "skip", "{c}");
        assert_eq!(skipped["detail"]["reason"], "nothing_written", "{c}");
    }
    // S3's own error, named with the request id it sent
    let f = finding(&r, "s3_server_error");
    assert_eq!(f["component"], "s3");
    let rid = put["detail"]["request_id"].as_str().unwrap();
    assert!(is_request_id(&put["detail"]["request_id"]), "{rid}");
    let m = f["message"].as_str().unwrap();
    assert!(
        m.contains("HTTP 500 InternalError") && m.contains(rid) && m.contains("2 attempts"),
        "{m}"
    );
    let hint = f["hint"].as_str().unwrap();
    assert!(hint.starts_with("S3 itself answered HTTP 500"), "{hint}");
    assert_path_not_blamed(&r);
    // both attempts refused at the front, nothing read back or deleted
    assert_eq!(sim.s3_front_seen("PutObject").len(), 2);
    assert!(
        sim.s3_front_seen("GetObject").is_empty() && sim.s3_front_seen("DeleteObject").is_empty()
    );
    assert_left_as_found(&sim, "fault-500", &before).await;
}

#[tokio::test]
async fn a_get_body_cut_short_fails_the_get_and_the_object_is_still_deleted() {
    let (sim, before) = sim_with_seeded_bucket("fault-trunc").await;
    sim.s3_front(json!({"rules": [{"match": {"op": "GetObject"},
        "fault": {"kind": "truncate", "bytes": 40}}]}));
    let timeout = Duration::from_secs(8);
    let run = probe(&sim, "fault-trunc", timeout);
    assert_sound(&run, 1, timeout);
    let r = run.json();
    assert_eq!(
        finding_codes(&r),
        ["s3_response_interrupted"],
        "{}",
        r["findings"]
    );
    let get = check(&r, 0, "s3_get");
    assert_eq!(get["status"], "fail");
    assert_eq!(get["error"]["phase"], "response", "{get}");
    assert_eq!(get["error"]["code"], "body_read_error", "{get}");
    assert_eq!(get["error"]["http_status"], 200);
    let d = &get["detail"];
    let length = sim.s3_front_seen("GetObject")[0]["length"]
        .as_u64()
        .unwrap();
    assert_eq!(d["content_length"], length, "{d}");
    assert!(d["bytes"].as_u64().unwrap() <= 40, "{d}");
    assert!(d.get("verified").is_none(), "{d}");
    let f = finding(&r, "s3_response_interrupted");
    assert_eq!(f["component"], "network");
    let m = f["message"].as_str().unwrap();
    assert!(
        m.contains("the connection closed before its body ended"),
        "{m}"
    );
    assert!(m.contains(d["request_id"].as_str().unwrap()), "{m}");
    assert!(f["hint"].as_str().unwrap().contains("S3 or a middlebox"));
    assert_path_not_blamed(&r);
    assert_eq!(sim.s3_front_seen("GetObject")[0]["sent"], 40);
    assert_written_and_deleted(&r, &sim);
    assert_left_as_found(&sim, "fault-trunc", &before).await;
}

#[tokio::test]
async fn a_get_body_trickling_is_cut_by_the_deadline_and_the_object_deleted_in_time() {
    let (sim, before) = sim_with_seeded_bucket("fault-trickle").await;
    sim.s3_front(json!({"rules": [{"match": {"op": "GetObject"},
        "fault": {"kind": "trickle", "bytes_per_second": 1}}]}));
    let timeout = Duration::from_secs(6);
    let run = probe(&sim, "fault-trickle", timeout);
    assert_sound(&run, 1, timeout);
    let r = run.json();
    assert_eq!(
        finding_codes(&r),
        ["s3_response_interrupted"],
        "{}",
        r["findings"]
    );
    let get = check(&r, 0, "s3_get");
    assert_eq!(get["status"], "fail");
    assert_eq!(get["error"]["phase"], "response", "{get}");
    assert_eq!(get["error"]["code"], "timeout", "{get}");
    assert_eq!(get["error"]["http_status"], 200);
    let d = &get["detail"];
    let (got, length) = (
        d["bytes"].as_u64().unwrap(),
        d["content_length"].as_u64().unwrap(),
    );
    assert!(got >= 1 && got < length, "{d}");
    // the deadline, keeping the cleanup reserve (1.5 s), is what cut it: the get ran until
    // then, and the delete fit in what was kept back
    let get_ms = get["duration_ms"].as_f64().unwrap();
    assert!(get_ms >= 2500.0, "the get ended after {get_ms} ms: {get}");
    let f = finding(&r, "s3_response_interrupted");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("its body stalled until the run deadline cut it"),
        "{f}"
    );
    assert_path_not_blamed(&r);
    assert_written_and_deleted(&r, &sim);
    let del_ms = check(&r, 0, "s3_delete")["duration_ms"].as_f64().unwrap();
    assert!(del_ms < 1500.0, "the delete took {del_ms} ms");
    // within the run's own deadline: the front answered the delete before --timeout had passed
    // since the run started (and after the get had used all but the reserve)
    let started = aws_smithy_types::DateTime::from_str(
        r["started_at"].as_str().unwrap(),
        aws_smithy_types::date_time::Format::DateTime,
    )
    .unwrap()
    .as_secs_f64();
    let deleted_at = sim.s3_front_seen("DeleteObject")[0]["time"]
        .as_f64()
        .unwrap()
        - started;
    let limit = timeout.as_secs_f64();
    assert!(
        deleted_at > limit - 2.5 && deleted_at < limit,
        "deleted {deleted_at:.3} s into a {limit} s run"
    );
    assert!(
        r["duration_ms"].as_u64().unwrap() <= 6000,
        "{}",
        r["duration_ms"]
    );
    assert_left_as_found(&sim, "fault-trickle", &before).await;
}

#[tokio::test]
async fn a_flipped_byte_in_the_get_body_fails_the_check_never_a_success() {
    let (sim, before) = sim_with_seeded_bucket("fault-flip").await;
    let timeout = Duration::from_secs(8);
    // With S3's x-amz-checksum-sha256 (of the stored object, which moto does not send: the
    // front adds it), the SDK's own check catches the flip; without it, the probe's comparison
    for (checksum, code) in [("add", "checksum_mismatch"), ("drop", "content_mismatch")] {
        sim.s3_front(json!({"rules": [{"match": {"op": "GetObject"},
            "fault": {"kind": "flip", "checksum": checksum}}]}));
        let run = probe(&sim, "fault-flip", timeout);
        assert_sound(&run, 1, timeout);
        let r = run.json();
        assert_eq!(finding_codes(&r), ["content_mismatch"], "{}", r["findings"]);
        let get = check(&r, 0, "s3_get");
        assert_eq!(get["status"], "fail", "{get}");
        assert_eq!(get["error"]["phase"], "verify", "{get}");
        assert_eq!(get["error"]["code"], code, "checksum {checksum}: {get}");
        assert!(get["detail"].get("verified").is_none(), "{get}");
        let f = finding(&r, "content_mismatch");
        assert!(
            f["hint"]
                .as_str()
                .unwrap()
                .contains("altered between S3 and the probe"),
            "{f}"
        );
        assert_path_not_blamed(&r);
        let put = check(&r, 0, "s3_put");
        let del = check(&r, 0, "s3_delete");
        assert_eq!(
            (&put["status"], &del["status"]),
            (&json!("pass"), &json!("pass"))
        );
        assert_left_as_found(&sim, "fault-flip", &before).await;
    }
}

#[tokio::test]
async fn a_reset_on_connect_is_s3_unreachable_and_blames_no_route_or_policy() {
    let (sim, before) = sim_with_seeded_bucket("fault-rst-conn").await;
    sim.s3_front(json!({"rules": [{"match": {}, "fault": {"kind": "reset", "at": "connect"}}]}));
    let timeout = Duration::from_secs(8);
    let run = probe(&sim, "fault-rst-conn", timeout);
    assert_sound(&run, 1, timeout);
    let r = run.json();
    assert_eq!(finding_codes(&r), ["s3_unreachable"], "{}", r["findings"]);
    let head = check(&r, 0, "s3_head_bucket");
    assert_eq!(head["status"], "fail");
    assert_eq!(head["error"]["phase"], "connect", "{head}");
    assert_eq!(head["error"]["code"], "connection_reset", "{head}");
    assert_eq!(head["detail"]["attempts"], 2, "{head}");
    for c in ["s3_list", "s3_put", "s3_get", "s3_delete"] {
        let skipped = check(&r, 0, c);
        assert_eq!(skipped["status"], "skip", "{c}");
        assert_eq!(skipped["detail"]["reason"], "unreachable", "{c}");
    }
    let f = finding(&r, "s3_unreachable");
    assert_eq!(f["component"], "network");
    let hint = f["hint"].as_str().unwrap();
    assert!(
        hint.contains("was reset (TCP RST) before S3 answered")
            && hint.contains("cannot tell which"),
        "{hint}"
    );
    assert!(!hint.contains("route table"), "{hint}");
    assert_path_not_blamed(&r);
    // both attempts' connections were reset before any request was read
    let log = sim.s3_front_log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log.iter()
            .all(|l| l["fault"] == "reset" && l["op"].is_null())
    );
    assert_left_as_found(&sim, "fault-rst-conn", &before).await;
}

#[tokio::test]
async fn a_reset_mid_answer_fails_the_get_and_the_object_is_still_deleted() {
    let (sim, before) = sim_with_seeded_bucket("fault-rst-mid").await;
    sim.s3_front(json!({"rules": [{"match": {"op": "GetObject"},
        "fault": {"kind": "reset", "at": "response", "bytes": 40}}]}));
    let timeout = Duration::from_secs(8);
    let run = probe(&sim, "fault-rst-mid", timeout);
    assert_sound(&run, 1, timeout);
    let r = run.json();
    assert_eq!(
        finding_codes(&r),
        ["s3_response_interrupted"],
        "{}",
        r["findings"]
    );
    let get = check(&r, 0, "s3_get");
    assert_eq!(get["status"], "fail");
    assert_eq!(get["error"]["phase"], "response", "{get}");
    assert_eq!(get["error"]["code"], "connection_reset", "{get}");
    assert!(get["detail"]["bytes"].as_u64().unwrap() <= 40, "{get}");
    let f = finding(&r, "s3_response_interrupted");
    assert_eq!(f["component"], "network");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("the connection was reset (TCP RST)"),
        "{f}"
    );
    assert_path_not_blamed(&r);
    assert_written_and_deleted(&r, &sim);
    assert_left_as_found(&sim, "fault-rst-mid", &before).await;
}

#[tokio::test]
async fn a_put_whose_answer_is_lost_is_recognised_as_the_runs_own_and_deleted() {
    let (sim, before) = sim_with_seeded_bucket("fault-rst-put").await;
    // the put reaches S3 (moto stores it), then the connection is reset before the answer: the
    // SDK's retry finds the key taken (412, If-None-Match: *) by this run's own first attempt
    sim.s3_front(json!({"rules": [{"match": {"op": "PutObject"}, "times": 1,
        "fault": {"kind": "reset", "at": "response", "headers": false}}]}));
    let timeout = Duration::from_secs(8);
    let run = probe(&sim, "fault-rst-put", timeout);
    assert_sound(&run, 0, timeout);
    let r = run.json();
    // not "an object already exists at the probe key": it is the run's own, read back and deleted
    assert!(finding_codes(&r).is_empty(), "{}", r["findings"]);
    let put = check(&r, 0, "s3_put");
    assert_eq!(put["status"], "pass", "{put}");
    assert_eq!(put["detail"]["attempts"], 2, "{put}");
    assert_eq!(put["detail"]["answer_lost"], true, "{put}");
    let get = check(&r, 0, "s3_get");
    assert_eq!(get["detail"]["verified"], true, "{get}");
    assert_path_not_blamed(&r);
    let puts = sim.s3_front_seen("PutObject");
    assert_eq!(puts.len(), 2, "{puts:?}");
    assert_eq!(
        (&puts[0]["fault"], &puts[0]["sent"]),
        (&json!("reset"), &json!(0))
    );
    assert_eq!(puts[1]["status"], 412);
    assert_written_and_deleted(&r, &sim);
    assert_left_as_found(&sim, "fault-rst-put", &before).await;
}
