//! The IMDS rows of the fault catalogue (docs/faults.md): the project's IMDSv2 emulator
//! (tests/emulators/imds.py) answers late, with HTTP 500 or a broken document for the role's
//! credentials, or refuses the token's TTL. Each run blames IMDS (never the bucket, a policy or
//! "no role"), ends within its deadlines, and makes a bounded, exact number of IMDS requests
//! (counted per path by the emulator): no retry storm. And on a healthy IMDS, the independent
//! reads run concurrently and the role's credentials are read once per run.

mod common;

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::fault::assert_sound;
use common::*;
use serde_json::{Value, json};

const BUCKET: &str = "imds-fault-bucket";
const ROLE: &str = "vpce-probe-test-role";
const SEEDED: &str = "data/seeded.csv";
/// Every fault run's `--timeout`.
const TIMEOUT: Duration = Duration::from_secs(5);

fn creds_path() -> String {
    format!("/latest/meta-data/iam/security-credentials/{ROLE}")
}

/// moto with the bucket and one seeded object.
async fn moto_with_bucket() -> Moto {
    let moto = Moto::start();
    let s3 = moto.s3();
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    s3.put_object()
        .bucket(BUCKET)
        .key(SEEDED)
        .body(ByteStream::from_static(b"a,b\n1,2\n"))
        .send()
        .await
        .unwrap();
    moto
}

/// The bucket holds exactly the seeded object, unchanged.
async fn assert_bucket_as_found(moto: &Moto) {
    let s3 = moto.s3();
    let keys: Vec<String> = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    assert_eq!(keys, vec![SEEDED.to_string()], "the bucket as it was found");
    let body = s3
        .get_object()
        .bucket(BUCKET)
        .key(SEEDED)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(&body[..], b"a,b\n1,2\n", "the seeded object is untouched");
}

/// `vpce-probe check` at -vvv with an explicit `--timeout`.
fn run_probe(moto: &Moto, imds: &Imds, extra: &[&str]) -> Run {
    run_probe_within(TIMEOUT, moto, imds, extra)
}

fn run_probe_within(timeout: Duration, moto: &Moto, imds: &Imds, extra: &[&str]) -> Run {
    let secs = timeout.as_secs().to_string();
    let mut args = vec![
        "check",
        "--bucket",
        BUCKET,
        "--output",
        "json",
        "-vvv",
        "--timeout",
        &secs,
    ];
    args.extend_from_slice(extra);
    Probe::new().moto(moto).imds(imds).args(args).run()
}

/// The emulator's count of `METHOD path`.
fn count(stats: &Value, key: &str) -> u64 {
    stats["by_path"][key].as_u64().unwrap_or(0)
}

/// The finding's component, severity and hint.
fn blamed(report: &Value, code: &str) -> (String, String, String) {
    let f = finding(report, code);
    (
        f["component"].as_str().unwrap().to_string(),
        f["severity"].as_str().unwrap().to_string(),
        f["hint"].as_str().unwrap().to_string(),
    )
}

/// The role's credentials cannot be had: no S3 operation is signed, no finding blames the
/// bucket or a policy.
fn assert_nothing_else_blamed(report: &Value) {
    for f in report["findings"].as_array().unwrap() {
        let component = f["component"].as_str().unwrap();
        assert!(
            matches!(component, "imds" | "credentials"),
            "only IMDS (and the credentials it could not give) is blamed: {f}"
        );
    }
}

#[tokio::test]
async fn imds_reads_run_concurrently_and_role_credentials_are_read_once() {
    let moto = moto_with_bucket().await;
    // a round trip of 250 ms: 14 sequential reads would take 3.5 s
    let imds = Imds::start(json!({"role": ROLE, "latency": 0.25}));
    // a whole healthy run: moto's EC2 API answers its first call slowly on a loaded machine
    let timeout = Duration::from_secs(20);
    let run = run_probe_within(timeout, &moto, &imds, &[]);
    assert_sound(&run, 0, timeout);
    let r = run.json();
    assert_eq!(r["credentials"]["provider"], "instance_profile");
    assert_eq!(r["context"]["iam_role"], ROLE);
    assert_eq!(r["context"]["vpc_id"], "vpc-0a1b2c3d4e5f60718");
    let stats = imds.stats();
    // once per run: the token, the role's listing, the role's credentials (the S3 clients
    // reuse the credentials the chain found), every context read
    assert_eq!(count(&stats, "PUT /latest/api/token"), 1, "{stats}");
    assert_eq!(
        count(&stats, "GET /latest/meta-data/iam/security-credentials/"),
        1,
        "{stats}"
    );
    assert_eq!(
        count(&stats, &format!("GET {}", creds_path())),
        1,
        "{stats}"
    );
    for (key, n) in stats["by_path"].as_object().unwrap() {
        assert_eq!(n, 1, "{key} asked more than once: {stats}");
    }
    assert_eq!(stats["requests"], 14, "{stats}");
    assert_eq!(stats["tokenless_gets"], 0);
    // concurrent: the MAC's tree, the placement, the document and the role at once
    assert!(
        stats["max_in_flight"].as_u64().unwrap() >= 4,
        "the independent reads overlap: {stats}"
    );
    // the critical path is 4 round trips (token, instance id, then MAC → its tree and role →
    // its credentials side by side): far under the 3.5 s of 14 sequential ones
    let imds_ms = run_check(&r, "imds")["duration_ms"].as_u64().unwrap();
    let creds_ms = run_check(&r, "credentials")["duration_ms"]
        .as_u64()
        .unwrap();
    assert!(imds_ms < 2500, "the IMDS phase took {imds_ms} ms");
    assert!(creds_ms < 2500, "the credentials took {creds_ms} ms");
    assert_bucket_as_found(&moto).await;
}

#[tokio::test]
async fn slow_imds_is_cut_at_the_imds_deadline() {
    let moto = moto_with_bucket().await;
    // every answer, the token's too, comes 4 s late; the IMDS deadline is 0.5 s
    let imds = Imds::start(json!({"role": ROLE, "fault": "slow", "slow_seconds": 4}));
    let run = run_probe(&moto, &imds, &["--imds-timeout", "0.5"]);
    assert_sound(&run, 1, TIMEOUT);
    let r = run.json();
    let imds_check = run_check(&r, "imds");
    assert_eq!(
        imds_check["status"], "fail",
        "no region from IMDS: {imds_check}"
    );
    assert!(
        imds_check["duration_ms"].as_u64().unwrap() < 1500,
        "cut at the IMDS deadline: {imds_check}"
    );
    assert_eq!(r["context"]["failed_step"], "token");
    // a token answer that does not come is a too-low hop limit when the probe runs in a
    // container or another namespace (as the test machine may be), else possibly off EC2:
    // either way IMDS, never the credentials or the bucket
    let in_container = r["context"]["runtime"]["container_signs"]
        .as_array()
        .is_some_and(|s| !s.is_empty());
    let code = if in_container {
        "imds_hop_limit"
    } else {
        "not_on_ec2"
    };
    let (component, _, hint) = blamed(&r, code);
    assert_eq!(component, "imds");
    assert!(
        hint.contains("hop-limit") || hint.contains("--imds-timeout"),
        "{hint}"
    );
    let (_, _, creds_hint) = blamed(&r, "no_credentials");
    assert!(
        creds_hint.contains("IMDS gave no session token"),
        "the missing credentials are IMDS's doing, not a missing role: {creds_hint}"
    );
    assert_nothing_else_blamed(&r);
    // one token request, and nothing after it: no retry, no GET without a token
    let stats = imds.stats();
    assert_eq!(stats["requests"], 1, "{stats}");
    assert_eq!(count(&stats, "PUT /latest/api/token"), 1, "{stats}");
    assert_bucket_as_found(&moto).await;
}

#[tokio::test]
async fn slow_role_credentials_are_cut_at_the_imds_deadline() {
    let moto = moto_with_bucket().await;
    let imds = Imds::start(json!({
        "role": ROLE, "fault": "slow", "slow_seconds": 4, "slow_paths": [creds_path()],
    }));
    let run = run_probe(&moto, &imds, &["--imds-timeout", "0.5"]);
    assert_sound(&run, 1, TIMEOUT);
    let r = run.json();
    assert_eq!(run_check(&r, "imds")["status"], "pass");
    let creds = run_check(&r, "credentials");
    assert_eq!(creds["status"], "fail");
    assert!(
        creds["duration_ms"].as_u64().unwrap() < 1500,
        "cut at the IMDS deadline: {creds}"
    );
    let (component, severity, hint) = blamed(&r, "imds_credentials_failed");
    assert_eq!((component.as_str(), severity.as_str()), ("imds", "error"));
    assert!(hint.contains("in time") && hint.contains(ROLE), "{hint}");
    assert!(
        finding(&r, "imds_credentials_failed")["message"]
            .as_str()
            .unwrap()
            .contains(&creds_path()),
        "the message names the request"
    );
    assert_nothing_else_blamed(&r);
    let stats = imds.stats();
    assert_eq!(
        count(&stats, &format!("GET {}", creds_path())),
        1,
        "{stats}"
    );
    assert_eq!(count(&stats, "PUT /latest/api/token"), 1, "{stats}");
    assert_eq!(stats["requests"], 14, "no retry: {stats}");
    assert_bucket_as_found(&moto).await;
}

#[tokio::test]
async fn role_credentials_500_blames_imds_with_one_request() {
    let moto = moto_with_bucket().await;
    let imds = Imds::start(json!({"role": ROLE, "fault": "credentials-500"}));
    let run = run_probe(&moto, &imds, &[]);
    assert_sound(&run, 1, TIMEOUT);
    let r = run.json();
    assert_eq!(run_check(&r, "imds")["status"], "pass");
    assert_eq!(run_check(&r, "credentials")["status"], "fail");
    let (component, _, hint) = blamed(&r, "imds_credentials_failed");
    assert_eq!(component, "imds");
    assert!(
        hint.contains("HTTP 500") && hint.contains("iam-instance-profile-associations"),
        "{hint}"
    );
    let message = finding(&r, "imds_credentials_failed")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("HTTP 500"), "{message}");
    assert!(
        !message.contains("SdkBody") && !message.contains("headers"),
        "one readable line, not the SDK's dump of the response: {message}"
    );
    assert_nothing_else_blamed(&r);
    let stats = imds.stats();
    assert_eq!(
        count(&stats, &format!("GET {}", creds_path())),
        1,
        "{stats}"
    );
    assert_eq!(stats["requests"], 14, "no retry: {stats}");
    assert_bucket_as_found(&moto).await;
}

#[tokio::test]
async fn malformed_role_credentials_blame_imds_and_leak_nothing() {
    let moto = moto_with_bucket().await;
    // the broken document carries the key, secret and token: none may show, even at -vvv
    let imds = Imds::start(json!({"role": ROLE, "fault": "credentials-malformed"}));
    let run = run_probe(&moto, &imds, &[]);
    assert_sound(&run, 1, TIMEOUT);
    let r = run.json();
    assert_eq!(run_check(&r, "imds")["status"], "pass");
    assert_eq!(run_check(&r, "credentials")["status"], "fail");
    assert_eq!(r["credentials"]["error"]["code"], "response_error");
    let (component, _, hint) = blamed(&r, "imds_credentials_failed");
    assert_eq!(component, "imds");
    assert!(
        hint.contains("not valid credentials JSON") && hint.contains("NO_PROXY"),
        "{hint}"
    );
    assert_nothing_else_blamed(&r);
    let stats = imds.stats();
    assert_eq!(
        count(&stats, &format!("GET {}", creds_path())),
        1,
        "{stats}"
    );
    assert_eq!(stats["requests"], 14, "no retry: {stats}");
    assert_bucket_as_found(&moto).await;
}

#[tokio::test]
async fn token_ttl_refused_names_what_stands_in_for_imds() {
    let moto = moto_with_bucket().await;
    // a metadata proxy that caps tokens at 5 minutes refuses the SDKs' 21600 s with 400
    let imds = Imds::start(json!({"role": ROLE, "token_max_ttl": 300}));
    let run = run_probe(&moto, &imds, &["--region", "us-east-1"]);
    assert_sound(&run, 1, TIMEOUT);
    let r = run.json();
    assert_eq!(r["context"]["failed_step"], "token");
    assert_eq!(r["context"]["error"]["http_status"], 400);
    let imds_check = run_check(&r, "imds");
    assert_eq!(imds_check["status"], "warn", "{imds_check}");
    let (component, _, hint) = blamed(&r, "not_on_ec2");
    assert_eq!(component, "imds");
    assert!(
        hint.contains("HTTP 400") && hint.contains("21600") && hint.contains("metadata proxy"),
        "{hint}"
    );
    assert!(
        !hint.contains("hop-limit"),
        "a refusal is an answer: never the hop limit: {hint}"
    );
    let message = finding(&r, "not_on_ec2")["message"].as_str().unwrap();
    assert!(
        !message.contains("SDK bug"),
        "the SDK's text for a 400 misleads: {message}"
    );
    let (_, _, creds_hint) = blamed(&r, "no_credentials");
    assert!(
        creds_hint.contains("IMDS gave no session token"),
        "{creds_hint}"
    );
    assert_nothing_else_blamed(&r);
    // one token request, refused; no retry, no GET
    let stats = imds.stats();
    assert_eq!(stats["requests"], 1, "{stats}");
    assert_eq!(count(&stats, "PUT /latest/api/token"), 1, "{stats}");
    assert_bucket_as_found(&moto).await;
}

#[tokio::test]
async fn token_ttl_refused_without_a_region_is_one_line() {
    let moto = moto_with_bucket().await;
    let imds = Imds::start(json!({"role": ROLE, "token_max_ttl": 300}));
    // no --region: IMDS was to give it
    let run = run_probe(&moto, &imds, &[]);
    assert_sound(&run, 2, TIMEOUT);
    assert!(run.stdout.is_empty(), "no report: {}", run.stdout);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("vpce-probe: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    let line = errors[0];
    assert!(
        line.contains("refused the session token")
            && line.contains("HTTP 400")
            && line.contains("--region"),
        "{line}"
    );
    assert!(!line.contains("did not answer"), "it answered: {line}");
    let stats = imds.stats();
    assert_eq!(stats["requests"], 1, "{stats}");
    assert_bucket_as_found(&moto).await;
}
