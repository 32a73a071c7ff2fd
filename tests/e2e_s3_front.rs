//! End to end on the simulated VPC with S3's fault-injecting front in the path
//! (`tests/emulators/s3_front.py`, `vpc.sh s3front`): the probe talks to S3's real name and
//! address, and the front answers some requests with S3's real wire format (XML error bodies,
//! request ids, a skewed `Date`, `RequestTimeTooSkewed`), which moto never sends. Each scenario
//! asserts the finding that names the cause, that nothing else is blamed, and the exit code; the
//! front's log proves it saw (and answered) the requests.

mod common;

use common::vpc::SimVpc;
use common::*;
use serde_json::{Value, json};

/// The instance role's session as S3 names the caller (imds.py's account and instance id, the
/// role `SimVpc::network` gives the instance).
const CALLER: &str =
    "arn:aws:sts::123456789012:assumed-role/vpce-probe-sim-role/i-0123456789abcdef0";
const KEY_ARN: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// S3's documented AccessDenied message (S3 User Guide, "Troubleshoot access denied (403
/// Forbidden) errors").
fn denied(action: &str, resource: &str, why: &str) -> String {
    format!("User: {CALLER} is not authorized to perform: {action} on resource: {resource} {why}")
}

/// One rule: answer `op` with S3's error body.
fn error_rule(op: &str, status: u16, code: &str, message: &str) -> Value {
    json!({"match": {"op": op}, "fault": {"kind": "error", "status": status, "code": code, "message": message}})
}

async fn sim_with_bucket(name: &str) -> SimVpc {
    let sim = SimVpc::up();
    sim.network(None, false).await;
    sim.s3("us-east-1")
        .create_bucket()
        .bucket(name)
        .send()
        .await
        .unwrap();
    sim
}

#[tokio::test]
async fn through_the_front_without_rules_all_is_healthy() {
    let sim = sim_with_bucket("front-ok").await;
    sim.s3_front(json!({"rules": []}));
    let run = sim.probe(&["check", "--bucket", "front-ok", "--output", "json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let r = run.json();
    assert!(finding_codes(&r).is_empty(), "{:?}", r["findings"]);
    assert_eq!(r["targets"][0]["path"]["verdict"], "gateway_endpoint");
    // the real S3 address, through the front (the DNAT is transparent)
    assert_eq!(check(&r, 0, "s3_put")["detail"]["peer"], "52.216.0.10:443");
    // every S3 call of the probe went through the front, from the instance
    let log = sim.s3_front_log();
    let ops: Vec<&str> = log.iter().filter_map(|l| l["op"].as_str()).collect();
    for op in [
        "HeadBucket",
        "ListObjectsV2",
        "PutObject",
        "GetObject",
        "DeleteObject",
        "GetBucketPolicy",
        "GetBucketEncryption",
    ] {
        assert!(ops.contains(&op), "{op} not seen: {ops:?}");
    }
    assert!(
        log.iter()
            .all(|l| l["client"] == "10.0.1.10" && l["rule"].is_null())
    );
    // the Date of every answer is recorded next to the local time it arrived
    let clock = &check(&r, 0, "s3_list")["detail"]["clock"];
    assert!(
        clock["server_date"].is_string() && clock["received_at"].is_string(),
        "{clock}"
    );
}

#[tokio::test]
async fn a_kms_denial_is_blamed_on_kms_and_names_the_key() {
    let sim = sim_with_bucket("front-kms").await;
    let sse = aws_sdk_s3::types::ServerSideEncryptionByDefault::builder()
        .sse_algorithm(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
        .kms_master_key_id(KEY_ARN)
        .build()
        .unwrap();
    let conf = aws_sdk_s3::types::ServerSideEncryptionConfiguration::builder()
        .rules(
            aws_sdk_s3::types::ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(sse)
                .bucket_key_enabled(true)
                .build(),
        )
        .build()
        .unwrap();
    sim.s3("us-east-1")
        .put_bucket_encryption()
        .bucket("front-kms")
        .server_side_encryption_configuration(conf)
        .send()
        .await
        .unwrap();
    // S3's message for a put whose SSE-KMS key the role may not use
    let msg = denied(
        "kms:GenerateDataKey",
        KEY_ARN,
        "because no identity-based policy allows the kms:GenerateDataKey action",
    );
    sim.s3_front(json!({"rules": [error_rule("PutObject", 403, "AccessDenied", &msg)]}));
    let run = sim.probe(&["check", "--bucket", "front-kms", "--output", "json"]);
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    assert_eq!(finding_codes(&r), ["kms_denies"], "{}", r["findings"]);
    let f = finding(&r, "kms_denies");
    assert_eq!(f["component"], "kms");
    let m = f["message"].as_str().unwrap();
    assert!(
        m.contains("kms:GenerateDataKey") && m.contains(KEY_ARN),
        "{m}"
    );
    for c in ["endpoint_policy", "bucket_policy"] {
        assert_eq!(check(&r, 0, c)["status"], "pass", "{c}");
    }
    let put = check(&r, 0, "s3_put");
    assert_eq!(put["status"], "fail");
    assert_eq!(put["error"]["code"], "AccessDenied");
    // the request id the front sent (S3's format) is what the report shows
    let rid = put["detail"]["request_id"].as_str().unwrap();
    assert!(
        rid.len() == 16 && rid.chars().all(|c| c.is_ascii_hexdigit()),
        "{rid}"
    );
    // the bucket's default encryption, read with GetBucketEncryption
    let enc = &r["targets"][0]["bucket_encryption"];
    assert_eq!(enc["algorithm"], "aws:kms", "{enc}");
    assert_eq!(enc["kms_key_id"], KEY_ARN);
    assert_eq!(enc["bucket_key_enabled"], true);
    assert_eq!(sim.s3_front_seen("PutObject")[0]["fault"], "error");

    // S3's message without the key: the default encryption names it
    let msg = format!(
        "User: {CALLER} is not authorized to perform: kms:GenerateDataKey because no identity-based policy allows the kms:GenerateDataKey action"
    );
    sim.s3_front(json!({"rules": [error_rule("PutObject", 403, "AccessDenied", &msg)]}));
    let run = sim.probe(&["check", "--bucket", "front-kms", "--output", "json"]);
    let r = run.json();
    assert_eq!(finding_codes(&r), ["kms_denies"], "{}", r["findings"]);
    let m = finding(&r, "kms_denies")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(m.contains(KEY_ARN), "{m}");

    let human = sim.probe(&["check", "--bucket", "front-kms"]);
    assert!(
        human
            .stdout
            .contains(&format!("encryption: SSE-KMS {KEY_ARN} (bucket key)")),
        "{}",
        human.stdout
    );
}

#[tokio::test]
async fn an_identity_policy_denial_is_iam_policy_denies() {
    let sim = sim_with_bucket("front-iam").await;
    let msg = denied(
        "s3:PutObject",
        "\"arn:aws:s3:::front-iam/.vpce-probe/x\"",
        "because no identity-based policy allows the s3:PutObject action",
    );
    sim.s3_front(json!({"rules": [error_rule("PutObject", 403, "AccessDenied", &msg)]}));
    let run = sim.probe(&["check", "--bucket", "front-iam", "--output", "json"]);
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    assert_eq!(
        finding_codes(&r),
        ["iam_policy_denies"],
        "{}",
        r["findings"]
    );
    let f = finding(&r, "iam_policy_denies");
    assert_eq!(f["component"], "iam_policy");
    assert!(
        f["hint"]
            .as_str()
            .unwrap()
            .contains("role vpce-probe-sim-role")
    );
    assert_eq!(check(&r, 0, "s3_list")["status"], "pass");
}

#[tokio::test]
async fn a_service_control_policy_denial_is_organization_policy_denies() {
    let sim = sim_with_bucket("front-scp").await;
    let msg = denied(
        "s3:ListBucket",
        "\"arn:aws:s3:::front-scp\"",
        "with an explicit deny in a service control policy",
    );
    sim.s3_front(json!({"rules": [error_rule("ListObjectsV2", 403, "AccessDenied", &msg)]}));
    let run = sim.probe(&["check", "--bucket", "front-scp", "--output", "json"]);
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    assert_eq!(
        finding_codes(&r),
        ["organization_policy_denies"],
        "{}",
        r["findings"]
    );
    let f = finding(&r, "organization_policy_denies");
    assert_eq!(f["component"], "organization_policy");
    assert!(
        f["hint"]
            .as_str()
            .unwrap()
            .contains("SERVICE_CONTROL_POLICY")
    );
    assert_eq!(check(&r, 0, "s3_list")["status"], "fail");
}

#[tokio::test]
async fn an_expired_token_is_credentials_expired() {
    let sim = sim_with_bucket("front-exp").await;
    let rule = json!({"match": {}, "fault": {"kind": "error", "status": 400,
        "code": "ExpiredToken", "message": "The provided token has expired."}});
    sim.s3_front(json!({"rules": [rule]}));
    let run = sim.probe(&["check", "--bucket", "front-exp", "--output", "json"]);
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    assert_eq!(
        finding_codes(&r),
        ["credentials_expired"],
        "{}",
        r["findings"]
    );
    let f = finding(&r, "credentials_expired");
    assert_eq!(f["component"], "credentials");
    assert!(f["hint"].as_str().unwrap().contains("169.254.169.123"));
    // named by the list's body, not by the HEAD's bare 400
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("ExpiredToken: The provided token has expired."),
        "{f}"
    );
    assert_eq!(check(&r, 0, "s3_head_bucket")["status"], "fail");
}

#[tokio::test]
async fn a_clock_seven_minutes_off_warns_and_the_run_passes() {
    let sim = sim_with_bucket("front-7m").await;
    sim.s3_front(
        json!({"rules": [{"match": {}, "fault": {"kind": "clock", "skew_seconds": 420}}]}),
    );
    let run = sim.probe(&["check", "--bucket", "front-7m", "--output", "json"]);
    fault::assert_sound(&run, 0, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    assert_eq!(finding_codes(&r), ["clock_skew"], "{}", r["findings"]);
    let f = finding(&r, "clock_skew");
    assert_eq!(
        (&f["severity"], &f["component"]),
        (&json!("warning"), &json!("clock"))
    );
    let hint = f["hint"].as_str().unwrap();
    assert!(
        hint.contains("7 min behind AWS's") && hint.contains("169.254.169.123"),
        "{hint}"
    );
    for c in ["s3_head_bucket", "s3_list", "s3_put", "s3_get", "s3_delete"] {
        assert_eq!(check(&r, 0, c)["status"], "pass", "{c}");
    }
    let human = sim.probe(&["check", "--bucket", "front-7m"]);
    assert_eq!(human.code, 0);
    assert!(human.stdout.contains("clock_skew"), "{}", human.stdout);
}

#[tokio::test]
async fn a_clock_twenty_minutes_off_is_blamed_for_what_s3_refused() {
    let sim = sim_with_bucket("front-20m").await;
    // S3's clock 20 minutes ahead: it refuses requests signed with the local time
    sim.s3_front(
        json!({"rules": [{"match": {}, "fault": {"kind": "clock", "skew_seconds": 1200}}]}),
    );
    let run = sim.probe(&["check", "--bucket", "front-20m", "--output", "json"]);
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    assert_eq!(finding_codes(&r), ["clock_skew"], "{}", r["findings"]);
    let f = finding(&r, "clock_skew");
    assert_eq!(
        (&f["severity"], &f["component"]),
        (&json!("error"), &json!("clock"))
    );
    assert!(
        f["hint"].as_str().unwrap().contains("20 min behind AWS's"),
        "{f}"
    );
    // the HEAD is refused (a HEAD's 403 has no body): the clock is blamed, not a policy; the
    // SDK learned S3's time from that answer and signed the next requests with it
    let head = check(&r, 0, "s3_head_bucket");
    assert_eq!(head["status"], "fail", "{head}");
    assert!(
        head["hint"]
            .as_str()
            .unwrap()
            .contains("local clock is too far off"),
        "{head}"
    );
    assert_eq!(check(&r, 0, "s3_list")["status"], "pass");
    assert_eq!(sim.s3_front_seen("HeadBucket")[0]["status"], 403);
    assert_eq!(sim.s3_front_seen("HeadBucket")[0]["fault"], "clock");

    // Only the list sees S3's clock: its refusal carries S3's RequestTimeTooSkewed body. With
    // one attempt, s3_list fails and is blamed on the clock ...
    sim.s3_front(json!({"rules": [{"match": {"op": "ListObjectsV2"},
        "fault": {"kind": "clock", "skew_seconds": 1200}}]}));
    let run = sim.probe(&[
        "check",
        "--bucket",
        "front-20m",
        "--max-attempts",
        "1",
        "--output",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let r = run.json();
    assert_eq!(finding_codes(&r), ["clock_skew"], "{}", r["findings"]);
    let list = check(&r, 0, "s3_list");
    assert_eq!(list["status"], "fail");
    assert_eq!(list["error"]["code"], "RequestTimeTooSkewed", "{list}");
    assert_eq!(list["detail"]["time_too_skewed"], true);
    assert!(
        finding(&r, "clock_skew")["message"]
            .as_str()
            .unwrap()
            .contains("S3 refused list on front-20m as RequestTimeTooSkewed")
    );
    // ... and with the default two attempts, the SDK re-signs with S3's time and the retry
    // passes: every check passes, and the run still fails on the clock
    let run = sim.probe(&["check", "--bucket", "front-20m", "--output", "json"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let r = run.json();
    assert_eq!(finding_codes(&r), ["clock_skew"], "{}", r["findings"]);
    let list = check(&r, 0, "s3_list");
    assert_eq!(list["status"], "pass", "{list}");
    assert_eq!(list["detail"]["attempts"], 2);
    assert_eq!(list["detail"]["time_too_skewed"], true);
    let human = sim.probe(&["check", "--bucket", "front-20m"]);
    assert_eq!(human.code, 1);
    assert!(human.stdout.contains("clock_skew"), "{}", human.stdout);
}
