//! End to end: the run's lifecycle. SIGTERM and SIGINT mid-run (what `systemctl stop` and Ctrl-C
//! do), with S3 made slow by the fault-injecting front (`delay` on GetObject) so that the signal
//! lands after the put: the probe deletes the exact version it wrote within 2 s, writes a partial
//! report marked `interrupted` and exits 143 / 130. The next run removes this instance's stale
//! probe objects (made old honestly in S3's answer: the front's `age` fault) and nothing else.
//! Two probes started at once do not interfere.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use common::fault::{assert_no_secret_in_dir, assert_sound};
use common::vpc::SimVpc;
use common::*;
use serde_json::{Value, json};

/// The simulated instance's id (tests/emulators/imds.py).
const INSTANCE: &str = "i-0123456789abcdef0";

/// A stop must end the run (the delete included) within this long.
const STOP_BOUND: Duration = Duration::from_secs(2);

async fn sim_with_bucket(name: &str, versioned: bool) -> SimVpc {
    let sim = SimVpc::up();
    sim.network(None, false).await;
    let s3 = sim.s3("us-east-1");
    s3.create_bucket().bucket(name).send().await.unwrap();
    if versioned {
        s3.put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    s3.put_object()
        .bucket(name)
        .key("data/keep.csv")
        .body(ByteStream::from_static(b"a,b\n"))
        .send()
        .await
        .unwrap();
    sim
}

/// Every version and delete marker in the bucket, as (key, version id, is a marker), sorted.
async fn versions(sim: &SimVpc, bucket: &str) -> Vec<(String, String, bool)> {
    bucket_versions(&sim.s3("us-east-1"), bucket)
        .await
        .into_iter()
        .map(|v| (v.key, v.version_id, v.delete_marker))
        .collect()
}

/// Wait (at most 30 s) until the front has answered the probe's PutObject.
fn wait_for_put(sim: &SimVpc, running: &mut Running) {
    let t0 = Instant::now();
    while sim.s3_front_seen("PutObject").is_empty() {
        assert!(running.running(), "the probe ended before its put");
        assert!(t0.elapsed() < Duration::from_secs(30), "no PutObject seen");
        std::thread::sleep(Duration::from_millis(20));
    }
    // the GetObject is then sent, and held by the front
    std::thread::sleep(Duration::from_millis(300));
    assert!(running.running(), "the probe ended before the signal");
}

/// GetObject of the probe's objects answered only after `secs`.
fn slow_get(secs: u32) -> Value {
    json!({"rules": [{"match": {"op": "GetObject", "key": ".vpce-probe/*"},
                      "fault": {"kind": "delay", "seconds": secs}}]})
}

#[tokio::test]
async fn sigterm_mid_run_deletes_the_exact_version_and_exits_143() {
    let bucket = "life-term";
    let sim = sim_with_bucket(bucket, true).await;
    let before = versions(&sim, bucket).await;
    sim.s3_front(slow_get(25));
    let timeout = Duration::from_secs(30);
    let mut running = sim.spawn_probe(
        &[
            "check",
            "--bucket",
            bucket,
            "--output",
            "json",
            "--timeout",
            "30",
            "-vvv",
        ],
        &[],
    );
    wait_for_put(&sim, &mut running);
    let signalled = Instant::now();
    running.signal("TERM");
    let run = running.wait();
    let stopped_in = signalled.elapsed();
    assert_sound(&run, 143, timeout);
    assert!(
        stopped_in <= STOP_BOUND,
        "ended {stopped_in:?} after SIGTERM\n{}",
        run.stderr
    );
    let r = run.json();
    assert_eq!(r["interrupted"], "SIGTERM");
    assert_eq!(r["ok"], false);
    let get = check(&r, 0, "s3_get");
    assert_eq!(get["status"], "skip", "{get}");
    assert_eq!(get["detail"]["reason"], "interrupted");
    assert_eq!(get["detail"]["signal"], "SIGTERM");
    let put = check(&r, 0, "s3_put");
    assert_eq!(put["status"], "pass");
    let version = put["detail"]["version_id"].as_str().expect("a version id");
    let key = put["detail"]["key"].as_str().unwrap();
    let delete = check(&r, 0, "s3_delete");
    assert_eq!(delete["status"], "pass", "{delete}");
    assert_eq!(delete["detail"]["version_id"], version);
    let f = finding(&r, "run_interrupted");
    assert_eq!(f["severity"], "warning");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{key} deleted")),
        "{f}"
    );
    assert_eq!(finding_codes(&r), ["run_interrupted"], "nothing blamed");
    // the delete went out, for that exact version, and after it nothing else
    let deletes = sim.s3_front_seen("DeleteObject");
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert_eq!(deletes[0]["key"], key);
    assert!(
        deletes[0]["query"]
            .as_array()
            .unwrap()
            .contains(&json!("versionId")),
        "{}",
        deletes[0]
    );
    assert!(sim.s3_front_seen("GetBucketPolicy").is_empty());
    // the bucket is as it was: no version and no delete marker of the probe's
    assert_eq!(versions(&sim, bucket).await, before);
    assert_no_secret_in_dir(sim.state_dir());
}

#[tokio::test]
async fn sigint_mid_run_exits_130_and_the_human_output_says_so() {
    let bucket = "life-int";
    let sim = sim_with_bucket(bucket, false).await;
    sim.s3_front(slow_get(25));
    let timeout = Duration::from_secs(30);
    let mut running = sim.spawn_probe(
        &["check", "--bucket", bucket, "--timeout", "30", "-vvv"],
        &[],
    );
    wait_for_put(&sim, &mut running);
    let signalled = Instant::now();
    running.signal("INT");
    let run = running.wait();
    let stopped_in = signalled.elapsed();
    assert_sound(&run, 130, timeout);
    assert!(
        stopped_in <= STOP_BOUND,
        "ended {stopped_in:?} after SIGINT"
    );
    assert!(
        run.stdout
            .contains("result: INTERRUPTED by SIGINT (partial report)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("run_interrupted"), "{}", run.stdout);
    let deletes = sim.s3_front_seen("DeleteObject");
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    let key = deletes[0]["key"].as_str().unwrap();
    assert!(
        key.starts_with(&format!(".vpce-probe/{INSTANCE}/")),
        "{key}"
    );
    assert_eq!(
        versions(&sim, bucket).await,
        [("data/keep.csv".to_string(), "null".to_string(), false)],
        "only the seeded object remains"
    );
    assert_no_secret_in_dir(sim.state_dir());
}

#[tokio::test]
async fn sigterm_before_the_put_writes_nothing_and_exits_143() {
    let bucket = "life-early";
    let sim = sim_with_bucket(bucket, false).await;
    sim.s3_front(json!({"rules": [{"match": {"op": "HeadBucket"},
                                   "fault": {"kind": "delay", "seconds": 25}}]}));
    let timeout = Duration::from_secs(30);
    let mut running = sim.spawn_probe(
        &[
            "check",
            "--bucket",
            bucket,
            "--output",
            "json",
            "--timeout",
            "30",
            "-vvv",
        ],
        &[],
    );
    std::thread::sleep(Duration::from_millis(2500));
    assert!(running.running());
    let signalled = Instant::now();
    running.signal("TERM");
    let run = running.wait();
    assert!(signalled.elapsed() <= STOP_BOUND);
    assert_sound(&run, 143, timeout);
    let r = run.json();
    assert_eq!(r["interrupted"], "SIGTERM");
    for name in ["s3_head_bucket", "s3_put", "s3_delete"] {
        assert_eq!(
            check(&r, 0, name)["detail"]["reason"],
            "interrupted",
            "{name}"
        );
    }
    assert!(
        finding(&r, "run_interrupted")["message"]
            .as_str()
            .unwrap()
            .contains("no probe object had been written")
    );
    assert!(
        sim.s3_front_seen("PutObject").is_empty() && sim.s3_front_seen("DeleteObject").is_empty()
    );
    assert_eq!(versions(&sim, bucket).await.len(), 1);
}

#[tokio::test]
async fn stale_probe_objects_of_this_instance_are_removed_and_nothing_else() {
    let bucket = "life-stale";
    let sim = sim_with_bucket(bucket, true).await;
    let s3 = sim.s3("us-east-1");
    let own = format!(".vpce-probe/{INSTANCE}/");
    let put = |key: String| {
        let s3 = s3.clone();
        async move {
            s3.put_object()
                .bucket(bucket)
                .key(&key)
                .body(ByteStream::from_static(b"left behind"))
                .send()
                .await
                .unwrap();
        }
    };
    // Left by runs that were killed (the front makes every `old-*` key two hours old in S3's
    // listing answer, as S3 would say of objects written then).
    let stale_a = format!("{own}old-20261129T100000Z-0000000a");
    let stale_b = format!("{own}old-custom-run");
    put(stale_a.clone()).await;
    put(stale_b.clone()).await;
    // b was also deleted plainly once: a delete marker of this instance's, old as well
    s3.delete_object()
        .bucket(bucket)
        .key(&stale_b)
        .send()
        .await
        .unwrap();
    // must stay: this instance's fresh object (a run that may still be going), another
    // instance's old object, a nested key under this instance's prefix, the user's data
    let fresh = format!("{own}20261129T235959Z-0000000f");
    let other = ".vpce-probe/i-0fedcba9876543210/old-20261129T100000Z-0000000b".to_string();
    let nested = format!("{own}nested/old-20261129T100000Z-0000000c");
    for k in [&fresh, &other, &nested] {
        put(k.clone()).await;
    }
    put("data/old-report.csv".into()).await;
    let before = versions(&sim, bucket).await;
    sim.s3_front(json!({"rules": [{"match": {"op": "ListObjectVersions"},
                                   "fault": {"kind": "age", "seconds": 7200, "keys": "*old-*"}}]}));
    let timeout = Duration::from_secs(20);

    // --read-only: never deletes
    let run = sim.probe(&[
        "check",
        "--bucket",
        bucket,
        "--output",
        "json",
        "--read-only",
        "--timeout",
        "20",
        "-vvv",
    ]);
    assert_sound(&run, 0, timeout);
    let r = run.json();
    assert!(r["targets"][0]["stale_cleanup"].is_null());
    assert!(sim.s3_front_seen("DeleteObject").is_empty());
    assert!(sim.s3_front_seen("ListObjectVersions").is_empty());
    assert_eq!(versions(&sim, bucket).await, before);

    // a run that writes: removes this instance's three stale versions, each by its version
    let run = sim.probe(&[
        "check",
        "--bucket",
        bucket,
        "--output",
        "json",
        "--timeout",
        "20",
        "-vvv",
    ]);
    assert_sound(&run, 0, timeout);
    let r = run.json();
    let c = &r["targets"][0]["stale_cleanup"];
    assert_eq!(c["prefix"], own);
    let mut removed: Vec<(String, bool)> = c["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert!(s["age_seconds"].as_u64().unwrap() >= 7100, "{s}");
            assert!(s["version_id"].is_string(), "{s}");
            (
                s["key"].as_str().unwrap().to_string(),
                s["delete_marker"] == true,
            )
        })
        .collect();
    removed.sort();
    assert_eq!(
        removed,
        [
            (stale_a.clone(), false),
            (stale_b.clone(), false),
            (stale_b.clone(), true)
        ]
    );
    assert_eq!(c["fresh"], 1, "{c}");
    let f = finding(&r, "stale_probe_objects_removed");
    assert_eq!(f["severity"], "info");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .starts_with("3 stale probe object(s) of this instance removed"),
        "{f}"
    );
    assert!(f["message"].as_str().unwrap().contains(&stale_a), "{f}");
    // every delete named its exact version; the run's own delete is the other one
    let put_key = check(&r, 0, "s3_put")["detail"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let deletes = sim.s3_front_seen("DeleteObject");
    assert_eq!(deletes.len(), 4, "{deletes:?}");
    for d in &deletes {
        assert!(
            d["query"].as_array().unwrap().contains(&json!("versionId")),
            "{d}"
        );
        let k = d["key"].as_str().unwrap();
        assert!(k == stale_a || k == stale_b || k == put_key, "{k}");
    }
    // what remains is exactly what was there, less the three stale versions
    let left = versions(&sim, bucket).await;
    let want: Vec<(String, String, bool)> = before
        .into_iter()
        .filter(|(k, _, _)| *k != stale_a && *k != stale_b)
        .collect();
    assert_eq!(left, want);
    for k in [&fresh, &other, &nested] {
        assert!(left.iter().any(|(x, _, _)| x == k), "{k} must stay");
    }
    assert_no_secret_in_dir(sim.state_dir());
}

#[tokio::test]
async fn two_probes_started_at_once_do_not_interfere() {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    let bucket = "life-twins";
    moto.s3()
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let timeout = Duration::from_secs(20);
    let start = || {
        let probe = Probe::new().moto(&moto).imds(&imds).args([
            "check",
            "--bucket",
            bucket,
            "--output",
            "json",
            "--timeout",
            "20",
            "-vvv",
        ]);
        std::thread::spawn(move || probe.run())
    };
    let (a, b) = (start(), start());
    let runs = [a.join().unwrap(), b.join().unwrap()];
    let mut keys = Vec::new();
    for run in &runs {
        assert_sound(run, 0, timeout);
        let r = run.json();
        // (moto's EC2 may be slow under load: the path evidence is not what this is about)
        for code in finding_codes(&r) {
            assert!(
                ![
                    "probe_key_exists",
                    "probe_object_left_behind",
                    "content_mismatch",
                    "stale_probe_objects_removed",
                    "bucket_not_found"
                ]
                .contains(&code.as_str()),
                "{}",
                r["findings"]
            );
        }
        for name in ["s3_put", "s3_get", "s3_delete"] {
            assert_eq!(check(&r, 0, name)["status"], "pass", "{name}");
        }
        keys.push(
            check(&r, 0, "s3_put")["detail"]["key"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        assert!(
            r["targets"][0]["stale_cleanup"]["removed"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
    assert_ne!(keys[0], keys[1], "each run writes its own key");
    // each deleted its own object, once; nothing is left
    let deletes: Vec<String> = moto
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("DELETE "))
        .collect();
    assert_eq!(deletes.len(), 2, "{deletes:?}");
    for k in &keys {
        assert_eq!(
            deletes.iter().filter(|d| d.contains(k.as_str())).count(),
            1,
            "{k}: {deletes:?}"
        );
    }
    assert_bucket_empty(&moto.s3(), bucket).await;
}
