//! End to end: the built `vpce-probe check` against moto_server (S3) and the project's IMDSv2
//! emulator, one set of servers per test.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::*;
use serde_json::json;

async fn make_bucket(moto: &Moto, bucket: &str) {
    moto.s3()
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("create bucket");
}

async fn keys(moto: &Moto, bucket: &str) -> Vec<String> {
    moto.s3()
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("list")
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

async fn read_object(moto: &Moto, bucket: &str, key: &str) -> Vec<u8> {
    moto.s3()
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("get")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec()
}

fn writes_to(moto: &Moto, bucket: &str) -> Vec<String> {
    moto.requests()
        .into_iter()
        .filter(|r| {
            !r.starts_with("GET ") && !r.starts_with("HEAD ") && r.contains(&format!("/{bucket}"))
        })
        .collect()
}

#[tokio::test]
async fn healthy_bucket_passes_every_check_and_leaves_nothing_behind() {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    make_bucket(&moto, "healthy-bucket").await;
    moto.s3()
        .put_object()
        .bucket("healthy-bucket")
        .key("data/existing.csv")
        .body(ByteStream::from_static(b"a,b\n1,2\n"))
        .send()
        .await
        .unwrap();
    let setup = moto.requests().len();

    let run = Probe::new()
        .moto(&moto)
        .imds(&imds)
        .args(["check", "--bucket", "healthy-bucket", "--output", "json"])
        .run();
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let r = run.json();
    assert_eq!(r["schema"], "vpce-probe/report/v1");
    assert_eq!(r["ok"], true);
    assert_eq!(r["region"], "us-east-1");
    assert_eq!(r["region_source"], "imds");
    assert_eq!(r["context"]["source"], "imds");
    assert_eq!(r["context"]["instance_id"], "i-0123456789abcdef0");
    assert_eq!(r["context"]["vpc_id"], "vpc-0a1b2c3d4e5f60718");
    assert_eq!(r["context"]["subnet_id"], "subnet-0a1b2c3d4e5f60718");
    assert_eq!(r["context"]["vpc_cidrs"], json!(["10.0.0.0/16"]));
    assert_eq!(
        r["context"]["security_group_ids"],
        json!(["sg-0a1b2c3d4e5f60718"])
    );
    assert_eq!(r["context"]["iam_role"], "vpce-probe-test-role");
    assert_eq!(r["context"]["availability_zone_id"], "use1-az1");
    assert_eq!(r["credentials"]["provider"], "instance_profile");
    assert_eq!(run_check(&r, "imds")["status"], "pass");
    assert_eq!(run_check(&r, "credentials")["status"], "pass");
    for name in ["s3_head_bucket", "s3_list", "s3_put", "s3_get", "s3_delete"] {
        let c = check(&r, 0, name);
        assert_eq!(c["status"], "pass", "{name}: {c}");
        assert_eq!(
            c["detail"]["peer"],
            format!("127.0.0.1:{}", moto.port),
            "{name}"
        );
        assert!(
            c["detail"]["request_id"].is_string(),
            "{name} has a request id"
        );
        assert!(c["detail"]["http_status"].as_u64().unwrap() < 300, "{name}");
    }
    let put = check(&r, 0, "s3_put");
    let key = put["detail"]["key"].as_str().unwrap();
    assert!(
        key.starts_with(".vpce-probe/i-0123456789abcdef0/"),
        "probe key under the prefix: {key}"
    );
    assert_eq!(check(&r, 0, "s3_get")["detail"]["verified"], true);
    assert_eq!(
        check(&r, 0, "s3_head_bucket")["detail"]["bucket_region"],
        "us-east-1"
    );
    assert!(
        r["findings"].as_array().unwrap().is_empty(),
        "{}",
        r["findings"]
    );

    // Wrote exactly one object, under its prefix, conditionally; deleted exactly that one.
    let writes = writes_to(&moto, "healthy-bucket")[2..].to_vec();
    let to_bucket: Vec<String> = moto.requests()[setup..]
        .iter()
        .filter(|r| r.contains(" /healthy-bucket"))
        .cloned()
        .collect();
    assert_eq!(
        to_bucket.len(),
        8,
        "head, list, put, get, delete, get-policy, get-encryption, list-versions (stale \
         probe objects of this instance): {to_bucket:?}"
    );
    assert!(
        to_bucket[7].starts_with("GET /healthy-bucket/?versions")
            && to_bucket[7].contains("prefix=.vpce-probe/i-0123456789abcdef0/"),
        "{to_bucket:?}"
    );
    assert_eq!(writes.len(), 2, "one put and one delete: {writes:?}");
    assert!(
        writes[0].starts_with(&format!("PUT /healthy-bucket/{key}")),
        "{writes:?}"
    );
    assert!(
        writes[1].starts_with(&format!("DELETE /healthy-bucket/{key}")),
        "{writes:?}"
    );
    assert_eq!(
        keys(&moto, "healthy-bucket").await,
        vec!["data/existing.csv"]
    );
    // IMDSv2 only: never a GET without a token.
    assert_eq!(imds.stats()["tokenless_gets"], 0);
}

#[tokio::test]
async fn human_output_is_a_readable_table() {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    make_bucket(&moto, "human-bucket").await;
    let run = Probe::new()
        .moto(&moto)
        .imds(&imds)
        .args([
            "check",
            "--bucket",
            "human-bucket",
            "--bucket",
            "absent-bucket",
        ])
        .run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let out = &run.stdout;
    assert!(!out.contains('\x1b'), "no colour when NO_COLOR / not a TTY");
    assert!(out.contains("instance  i-0123456789abcdef0"), "{out}");
    assert!(out.contains("bucket human-bucket (us-east-1)"), "{out}");
    assert!(out.contains("bucket absent-bucket (us-east-1)"), "{out}");
    for name in ["s3_head_bucket", "s3_list", "s3_put", "s3_get", "s3_delete"] {
        assert!(
            out.lines()
                .any(|l| l.trim_start().starts_with(name) && l.contains(" pass ")),
            "{name} passes in the table:\n{out}"
        );
    }
    assert!(out.contains("FAIL"), "{out}");
    assert!(
        out.contains("↳ bucket absent-bucket does not exist"),
        "{out}"
    );
    assert!(out.contains("bucket_not_found [bucket]"), "{out}");
    assert!(out.contains("result: FAIL"), "{out}");
}

#[tokio::test]
async fn no_credentials_anywhere_fails_fast_with_a_hint() {
    let moto = Moto::start();
    let imds = Imds::start(json!({})); // an instance without a role
    make_bucket(&moto, "some-bucket").await;
    let setup = moto.requests().len();
    let run = Probe::new()
        .moto(&moto)
        .imds(&imds)
        .args(["check", "--bucket", "some-bucket", "--output", "json"])
        .run();
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    assert!(
        run.elapsed < Duration::from_secs(5),
        "fails fast, took {:?}",
        run.elapsed
    );
    let r = run.json();
    assert_eq!(r["ok"], false);
    let c = run_check(&r, "credentials");
    assert_eq!(c["status"], "fail");
    assert_eq!(c["error"]["code"], "no_credentials");
    assert_eq!(c["error"]["phase"], "credentials");
    assert!(
        c["hint"]
            .as_str()
            .unwrap()
            .contains("attach an IAM role to the instance"),
        "{c}"
    );
    let tried: Vec<&str> = r["credentials"]["tried"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["provider"].as_str().unwrap())
        .collect();
    assert_eq!(
        tried,
        [
            "environment",
            "profile",
            "web_identity",
            "container",
            "instance_profile"
        ]
    );
    for name in ["s3_head_bucket", "s3_list", "s3_put", "s3_get", "s3_delete"] {
        let c = check(&r, 0, name);
        assert_eq!(c["status"], "skip", "{name}");
        assert_eq!(c["detail"]["reason"], "no_credentials", "{name}");
    }
    assert!(finding_codes(&r).contains(&"no_credentials".to_string()));
    // no signed request: only the one unsigned HEAD of the s3_unsigned check
    let after = moto.requests();
    assert_eq!(
        after[setup..],
        ["HEAD /some-bucket".to_string()],
        "only the unsigned HEAD without credentials"
    );
    assert_eq!(check(&r, 0, "s3_unsigned")["status"], "pass");
}

#[tokio::test]
async fn missing_bucket_is_named_and_later_probes_skipped() {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    let run = Probe::new()
        .moto(&moto)
        .imds(&imds)
        .args([
            "check",
            "--bucket",
            "no-such-bucket-here",
            "--output",
            "json",
        ])
        .run();
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    let head = check(&r, 0, "s3_head_bucket");
    assert_eq!(head["status"], "fail");
    assert_eq!(head["error"]["http_status"], 404);
    assert_eq!(head["error"]["phase"], "response");
    assert!(head["hint"].as_str().unwrap().contains("does not exist"));
    for name in ["s3_list", "s3_put", "s3_get"] {
        assert_eq!(
            check(&r, 0, name)["detail"]["reason"],
            "bucket_missing",
            "{name}"
        );
    }
    assert_eq!(finding_codes(&r), ["bucket_not_found"]);
}

#[tokio::test]
async fn bucket_policy_denying_object_access_fails_the_put() {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    make_bucket(&moto, "locked-bucket").await;
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny", "Principal": "*",
            "Action": ["s3:PutObject", "s3:GetObject"],
            "Resource": "arn:aws:s3:::locked-bucket/*",
            "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}}
        }]
    });
    moto.s3()
        .put_bucket_policy()
        .bucket("locked-bucket")
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    let run = Probe::new()
        .moto(&moto)
        .imds(&imds)
        .args(["check", "--bucket", "locked-bucket", "--output", "json"])
        .run();
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    assert_eq!(check(&r, 0, "s3_list")["status"], "pass");
    let put = check(&r, 0, "s3_put");
    assert_eq!(put["status"], "fail");
    assert_eq!(put["error"]["http_status"], 403);
    assert_eq!(put["error"]["code"], "AccessDenied");
    assert!(
        put["hint"].as_str().unwrap().contains("bucket policy"),
        "{put}"
    );
    assert_eq!(check(&r, 0, "s3_get")["status"], "skip");
    assert_eq!(
        check(&r, 0, "s3_delete")["detail"]["reason"],
        "nothing_written"
    );
    assert!(finding_codes(&r).contains(&"access_denied_unattributed".to_string()));
    assert!(keys(&moto, "locked-bucket").await.is_empty());
}

#[tokio::test]
async fn off_ec2_with_region_goes_on_and_says_so() {
    let moto = Moto::start();
    make_bucket(&moto, "laptop-bucket").await;
    let run = Probe::new()
        .moto(&moto)
        .no_imds()
        .env_keys()
        .args([
            "check",
            "--bucket",
            "laptop-bucket",
            "--region",
            "us-east-1",
            "--output",
            "json",
        ])
        .run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let r = run.json();
    assert_eq!(r["context"]["source"], "none");
    assert_eq!(r["region_source"], "flag");
    let imds = run_check(&r, "imds");
    assert_eq!(imds["status"], "warn");
    assert_eq!(imds["error"]["code"], "imds_unreachable");
    assert!(imds["hint"].as_str().unwrap().contains("not on EC2"));
    assert_eq!(r["credentials"]["provider"], "environment");
    assert_eq!(r["credentials"]["tried"][0]["outcome"], "found");
    assert!(finding_codes(&r).contains(&"not_on_ec2".to_string()));
    assert_eq!(check(&r, 0, "s3_get")["status"], "pass");
    // the probe key names the host when there is no instance id
    let key = check(&r, 0, "s3_put")["detail"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        key.starts_with(".vpce-probe/") && !key.contains("i-0"),
        "{key}"
    );
}

#[test]
fn off_ec2_without_credentials_does_not_ask_imds_twice() {
    let run = Probe::new()
        .no_imds()
        .args([
            "check",
            "--bucket",
            "any-bucket",
            "--region",
            "us-east-1",
            "--output",
            "json",
        ])
        .run();
    assert_eq!(run.code, 1);
    let r = run.json();
    let ip = &r["credentials"]["tried"][4];
    assert_eq!(ip["provider"], "instance_profile");
    assert_eq!(ip["outcome"], "skipped", "IMDS is not asked twice: {ip}");
    assert!(
        run_check(&r, "credentials")["hint"]
            .as_str()
            .unwrap()
            .contains("configure access keys")
    );
}

#[test]
fn off_ec2_without_region_is_a_usage_error() {
    let run = Probe::new()
        .no_imds()
        .env_keys()
        .args(["check", "--bucket", "any-bucket"])
        .run();
    fault::assert_sound(&run, 2, fault::DEFAULT_TIMEOUT);
    assert!(run.stdout.is_empty());
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    assert!(run.stderr.contains("no region"), "{}", run.stderr);
    assert!(run.stderr.contains("--region"), "{}", run.stderr);
}

#[tokio::test]
async fn imds_disabled_is_skipped_not_asked() {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    make_bucket(&moto, "quiet-bucket").await;
    let run = Probe::new()
        .moto(&moto)
        .imds(&imds)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env_keys()
        .args(["check", "--bucket", "quiet-bucket", "--output", "json"])
        .run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let r = run.json();
    assert_eq!(run_check(&r, "imds")["status"], "skip");
    assert_eq!(r["context"]["disabled"], true);
    assert_eq!(r["region_source"], "env");
    assert_eq!(imds.stats()["requests"], 0, "IMDS was not contacted");
}

#[tokio::test]
async fn read_only_writes_nothing() {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    make_bucket(&moto, "ro-bucket").await;
    let big: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    moto.s3()
        .put_object()
        .bucket("ro-bucket")
        .key("reports/big.bin")
        .body(ByteStream::from(big))
        .send()
        .await
        .unwrap();
    let before = moto.requests().len();
    let run = Probe::new()
        .moto(&moto)
        .imds(&imds)
        .args([
            "check",
            "--bucket",
            "ro-bucket",
            "--read-only",
            "--output",
            "json",
        ])
        .run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let r = run.json();
    assert_eq!(check(&r, 0, "s3_list")["status"], "pass");
    for name in ["s3_put", "s3_get", "s3_delete"] {
        assert_eq!(check(&r, 0, name)["status"], "skip", "{name}");
        assert_eq!(
            check(&r, 0, name)["detail"]["reason"],
            "read_only",
            "{name}"
        );
    }
    // S3 requests to the bucket are reads only (EC2 Describe* calls are POSTs to `/`).
    let served: Vec<String> = moto.requests()[before..]
        .iter()
        .filter(|r| r.contains(" /ro-bucket"))
        .cloned()
        .collect();
    assert!(!served.is_empty());
    assert!(
        served
            .iter()
            .all(|r| r.starts_with("GET ") || r.starts_with("HEAD ")),
        "only reads: {served:?}"
    );

    // --key reads the first KiB of an existing object, still writing nothing.
    let run = Probe::new()
        .moto(&moto)
        .imds(&imds)
        .args([
            "check",
            "--bucket",
            "ro-bucket",
            "--read-only",
            "--key",
            "reports/big.bin",
            "--output",
            "json",
        ])
        .run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let r = run.json();
    let get = check(&r, 0, "s3_get");
    assert_eq!(get["status"], "pass", "{get}");
    assert_eq!(get["detail"]["bytes"], 1024);
    assert_eq!(get["detail"]["object_size"], 3000);
    assert!(
        writes_to(&moto, "ro-bucket")
            .iter()
            .all(|w| !w.contains("vpce-probe"))
    );
    assert_eq!(keys(&moto, "ro-bucket").await, vec!["reports/big.bin"]);
}

#[tokio::test]
async fn existing_object_at_the_probe_key_is_not_overwritten() {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    make_bucket(&moto, "busy-bucket").await;
    let key = ".vpce-probe/i-0123456789abcdef0/fixed-run-1";
    moto.s3()
        .put_object()
        .bucket("busy-bucket")
        .key(key)
        .body(ByteStream::from_static(b"precious user data"))
        .send()
        .await
        .unwrap();
    let run = Probe::new()
        .moto(&moto)
        .imds(&imds)
        .env("VPCE_PROBE_RUN_ID", "fixed-run-1")
        .args(["check", "--bucket", "busy-bucket", "--output", "json"])
        .run();
    let r = run.json();
    assert_eq!(r["run_id"], "fixed-run-1");
    let put = check(&r, 0, "s3_put");
    assert_eq!(put["status"], "warn", "{put}");
    assert_eq!(put["error"]["http_status"], 412);
    assert_eq!(put["detail"]["key"], key);
    assert_eq!(check(&r, 0, "s3_get")["status"], "skip");
    assert_eq!(check(&r, 0, "s3_delete")["status"], "skip");
    assert!(finding_codes(&r).contains(&"probe_key_exists".to_string()));
    fault::assert_sound(&run, 0, fault::DEFAULT_TIMEOUT);
    assert_eq!(
        read_object(&moto, "busy-bucket", key).await,
        b"precious user data"
    );
}

#[tokio::test]
async fn a_first_run_without_a_bucket_probes_the_regions_buckets_read_only() {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    make_bucket(&moto, "first-one").await;
    make_bucket(&moto, "first-two").await;
    create_bucket_in(&moto.s3_in("eu-west-1"), "first-far", "eu-west-1").await;
    let setup = moto.requests().len();
    // like `aws s3 ls`: no argument at all
    let run = Probe::new()
        .moto(&moto)
        .imds(&imds)
        .args(["check", "--output", "json"])
        .run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let r = run.json();
    let mut probed: Vec<&str> = r["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["bucket"].as_str().unwrap())
        .collect();
    probed.sort();
    assert_eq!(
        probed,
        ["first-one", "first-two"],
        "the instance's region only"
    );
    for t in r["targets"].as_array().unwrap() {
        assert_eq!(t["read_only"], true, "{}", t["bucket"]);
    }
    let listed = run_check(&r, "s3_list_buckets");
    assert_eq!(listed["status"], "pass", "{listed}");
    assert_eq!(listed["detail"]["region"], "us-east-1");
    let f = finding(&r, "buckets_discovered");
    assert_eq!(f["severity"], "info");
    assert!(
        f["hint"]
            .as_str()
            .unwrap()
            .contains("[[target]] bucket = \"first-one\""),
        "{f}"
    );
    // read-only: nothing was written to a bucket nobody named
    let writes: Vec<String> = moto.requests()[setup..]
        .iter()
        .filter(|l| l.starts_with("PUT ") || l.starts_with("DELETE "))
        .cloned()
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    // the human report says so, with the snippet
    let human = Probe::new().moto(&moto).imds(&imds).args(["check"]).run();
    assert_eq!(human.code, 0, "{}", human.stdout);
    assert!(human.stdout.contains("s3_list_buckets"), "{}", human.stdout);
    assert!(
        human.stdout.contains("buckets_discovered"),
        "{}",
        human.stdout
    );
}

#[tokio::test]
async fn bucket_in_another_region_is_followed_and_flagged() {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    create_bucket_in(&moto.s3_in("eu-west-1"), "far-bucket", "eu-west-1").await;
    let run = Probe::new()
        .moto(&moto)
        .imds(&imds)
        .args(["check", "--bucket", "far-bucket", "--output", "json"])
        .run();
    let r = run.json();
    let head = check(&r, 0, "s3_head_bucket");
    assert_eq!(head["status"], "warn", "{head}");
    assert!(head["hint"].as_str().unwrap().contains("gateway endpoint"));
    assert_eq!(r["targets"][0]["bucket_region"], "eu-west-1");
    assert_eq!(r["targets"][0]["region"], "eu-west-1");
    assert!(finding_codes(&r).contains(&"bucket_in_other_region".to_string()));
    assert_eq!(check(&r, 0, "s3_get")["status"], "pass");
    fault::assert_sound(&run, 0, fault::DEFAULT_TIMEOUT);
}

#[test]
fn silent_endpoint_ends_in_a_timeout_within_the_deadline() {
    // Accepts connections and never answers: the run must end at its deadline, not hang.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = std::thread::spawn(move || {
        let mut held = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let t0 = std::time::Instant::now();
        while t0.elapsed() < Duration::from_secs(15) {
            if let Ok((s, _)) = listener.accept() {
                held.push(s);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for mut s in held {
            let mut b = [0u8; 1];
            let _ = s.set_read_timeout(Some(Duration::from_millis(1)));
            let _ = s.read(&mut b);
        }
    });
    let run = Probe::new()
        .no_imds()
        .env_keys()
        .env("AWS_ENDPOINT_URL", &format!("http://127.0.0.1:{port}"))
        .args([
            "check",
            "--bucket",
            "slow-bucket",
            "--region",
            "us-east-1",
            "--timeout",
            "3",
            "--output",
            "json",
        ])
        .run();
    fault::assert_sound(&run, 1, std::time::Duration::from_secs(3));
    assert!(
        run.elapsed < Duration::from_millis(4500),
        "bounded by --timeout 3: took {:?}",
        run.elapsed
    );
    let r = run.json();
    let head = check(&r, 0, "s3_head_bucket");
    assert_eq!(head["status"], "fail");
    assert_eq!(head["error"]["code"], "timeout");
    // it did connect: the phase and the hint say so, and name the peer
    assert_eq!(head["error"]["phase"], "request", "{head}");
    assert_eq!(head["detail"]["peer"], format!("127.0.0.1:{port}"));
    assert!(
        head["hint"].as_str().unwrap().contains("connected to"),
        "{head}"
    );
    assert_eq!(check(&r, 0, "s3_list")["detail"]["reason"], "unreachable");
    assert!(finding_codes(&r).contains(&"s3_unreachable".to_string()));
    drop(hold);
}

#[test]
fn refused_endpoint_fails_fast_in_the_connect_phase() {
    let run = Probe::new()
        .no_imds()
        .env_keys()
        .env(
            "AWS_ENDPOINT_URL",
            &format!("http://127.0.0.1:{}", free_port()),
        )
        .args([
            "check",
            "--bucket",
            "gone-bucket",
            "--region",
            "us-east-1",
            "--output",
            "json",
        ])
        .run();
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    let head = check(&r, 0, "s3_head_bucket");
    assert_eq!(head["error"]["phase"], "connect");
    assert_eq!(head["error"]["code"], "connection_refused");
    assert!(head["hint"].as_str().unwrap().contains("refused"), "{head}");
}

#[tokio::test]
async fn credentials_never_appear_in_any_output() {
    let moto = Moto::start();
    make_bucket(&moto, "secret-bucket").await;
    for output in ["json", "human"] {
        let run = Probe::new()
            .moto(&moto)
            .no_imds()
            .env_keys()
            .env(
                "AWS_SESSION_TOKEN",
                "vpce-probe-test-session-token-do-not-print",
            )
            .args([
                "-vvv",
                "check",
                "--bucket",
                "secret-bucket",
                "--region",
                "us-east-1",
                "--output",
                output,
            ])
            .run();
        assert_eq!(run.code, 0, "{}", run.stdout);
        for secret in [
            "vpce-probe-test-secret-do-not-print",
            "vpce-probe-test-session-token-do-not-print",
        ] {
            assert!(!run.stdout.contains(secret), "secret in stdout ({output})");
            assert!(!run.stderr.contains(secret), "secret in stderr ({output})");
        }
    }
}

#[test]
fn invalid_input_exits_2_with_a_clear_error() {
    let cases: &[(&[&str], &str)] = &[
        (&["check", "--bucket", "Bad_Bucket"], "invalid bucket name"),
        (&["check", "--bucket", "ab"], "3 to 63"),
        (
            &["check", "--bucket", "ok-bucket", "--output", "yaml"],
            "yaml",
        ),
        (
            &["check", "--bucket", "ok-bucket", "--timeout", "soon"],
            "--timeout",
        ),
        (
            &["check", "--bucket", "ok-bucket", "--timeout", "0"],
            "out of range",
        ),
        (
            &["check", "--bucket", "ok-bucket", "--region", "moon-1"],
            "invalid region",
        ),
        (
            &["check", "--bucket", "ok-bucket", "--prefix", ""],
            "--prefix",
        ),
        (
            &["check", "--bucket", "ok-bucket", "--max-attempts", "0"],
            "--max-attempts",
        ),
        // no bucket, and no region to list one in (not on EC2)
        (&["check"], "--region"),
        (&["frobnicate"], "frobnicate"),
    ];
    for (args, needle) in cases {
        let run = Probe::new().no_imds().args(*args).run();
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}");
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
    let run = Probe::new()
        .no_imds()
        .env("VPCE_PROBE_RUN_ID", "../../etc")
        .args(["check", "--bucket", "ok-bucket", "--region", "us-east-1"])
        .run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("vpce-probe: error: VPCE_PROBE_RUN_ID"),
        "{}",
        run.stderr
    );
    // a proxy spoken to over TLS, or no URL at all: one line, never the password
    for (url, needle) in [
        (
            "https://user:s3cret@proxy:3128",
            "HTTPS_PROXY=https://proxy:3128: the https:// scheme",
        ),
        ("http://a b:1", "HTTPS_PROXY=http://a b:1: "),
    ] {
        let run = Probe::new()
            .no_imds()
            .env("HTTPS_PROXY", url)
            .args(["check", "--bucket", "ok-bucket", "--region", "us-east-1"])
            .run();
        assert_eq!(run.code, 2, "{url}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(run.stderr.contains(needle), "{url}: {}", run.stderr);
        assert!(!run.stderr.contains("s3cret"));
    }
}

#[tokio::test]
async fn long_term_keys_on_an_instance_with_a_role_are_named() {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    make_bucket(&moto, "keys-bucket").await;
    let run = Probe::new()
        .moto(&moto)
        .imds(&imds)
        .env_keys()
        .args([
            "check",
            "--bucket",
            "keys-bucket",
            "--output",
            "json",
            "-vvv",
        ])
        .run();
    // a warning: the run still passes
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let r = run.json();
    assert_eq!(r["credentials"]["provider"], "environment");
    assert_eq!(r["credentials"]["key_kind"], "long_term");
    let f = finding(&r, "long_term_access_keys");
    assert_eq!(f["severity"], "warning");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("AWS_ACCESS_KEY_ID in the environment"),
        "{message}"
    );
    assert!(message.contains("shadow the instance role"), "{message}");
    assert_eq!(run_check(&r, "credentials")["status"], "warn");
    for out in [&run.stdout, &run.stderr] {
        assert!(
            !out.contains("vpce-probe-test-secret-do-not-print"),
            "no secret"
        );
    }
    // the report names the kind of key, never its id (the SDK's own trace logs may)
    assert!(
        !run.stdout.contains("AKIAVPCEPROBETEST01"),
        "no key id in the report"
    );
}

#[test]
fn explain_prints_a_codes_meaning_and_fix_offline() {
    let run = Probe::new()
        .args(["explain", "gateway_endpoint_not_on_route_table"])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("gateway_endpoint_not_on_route_table\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("component: route_table"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("--add-route-table-ids"),
        "{}",
        run.stdout
    );
    // every code of the table, listed
    let list = Probe::new().args(["explain"]).run();
    assert_eq!(list.code, 0);
    for code in [
        "no_route_to_s3",
        "kms_denies",
        "security_group_blocks_s3",
        "sink_failed",
    ] {
        assert!(list.stdout.contains(code), "{code} listed");
    }
    // a typo: one line, exit 2, a suggestion
    let typo = Probe::new().args(["explain", "no-route"]).run();
    assert_eq!(typo.code, 2);
    assert_eq!(typo.stderr.lines().count(), 1, "{}", typo.stderr);
    assert!(
        typo.stderr.contains("did you mean no_route_to_s3"),
        "{}",
        typo.stderr
    );
}

#[test]
fn help_and_version_exit_0() {
    let run = Probe::new().args(["--version"]).run();
    assert_eq!(run.code, 0);
    // `vpce-probe 0.1.0 (commit 0123456789ab, x86_64-unknown-linux-gnu)`: the version, the
    // commit it was built from and the target triple.
    let want_start = format!("vpce-probe {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(run.stdout.starts_with(&want_start), "{}", run.stdout);
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("git");
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    assert!(!head.is_empty(), "the tests run in a git checkout");
    assert!(
        run.stdout.contains(&head),
        "{} names commit {head}",
        run.stdout
    );
    // The binary's own machine (its ELF header): the x86_64 build, or the aarch64 one that
    // `make cross-e2e` runs under qemu.
    let target = common::probe_target_triple();
    assert!(run.stdout.contains(target), "{}", run.stdout);
    let run = Probe::new().args(["check", "--help"]).run();
    assert_eq!(run.code, 0);
    for flag in [
        "--bucket",
        "--region",
        "--profile",
        "--prefix",
        "--read-only",
        "--key",
        "--output",
        "--timeout",
    ] {
        assert!(run.stdout.contains(flag), "{flag} documented");
    }
}

#[tokio::test]
async fn ec2_api_unreachable_falls_back_to_published_ip_ranges() {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    make_bucket(&moto, "ranges-bucket").await;
    // a mirror of AWS's ip-ranges document, served locally
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ip-ranges.json"),
        r#"{"syncToken":"1","createDate":"2026-11-01-00-00-00","prefixes":[
          {"ip_prefix":"52.216.0.0/15","region":"us-east-1","service":"S3","network_border_group":"us-east-1"},
          {"ip_prefix":"52.218.0.0/17","region":"eu-west-1","service":"S3","network_border_group":"eu-west-1"}],
          "ipv6_prefixes":[]}"#,
    )
    .unwrap();
    let port = free_port();
    let mut server = std::process::Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "http.server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let run = Probe::new()
        .moto(&moto)
        .imds(&imds)
        .env(
            "AWS_ENDPOINT_URL_EC2",
            &format!("http://127.0.0.1:{}", free_port()),
        )
        .env(
            "VPCE_PROBE_IP_RANGES_URL",
            &format!("http://127.0.0.1:{port}/ip-ranges.json"),
        )
        .args(["check", "--bucket", "ranges-bucket", "--output", "json"])
        .run();
    let _ = server.kill();
    let _ = server.wait();
    let r = run.json();
    let pl = run_check(&r, "prefix_list");
    assert_eq!(pl["status"], "warn", "{pl}");
    assert_eq!(pl["detail"]["source"], "ip_ranges");
    assert_eq!(pl["detail"]["cidrs"], serde_json::json!(["52.216.0.0/15"]));
    assert_eq!(
        pl["error"]["code"], "connection_refused",
        "the EC2 failure is kept: {pl}"
    );
    assert!(pl["hint"].as_str().unwrap().contains("may differ"), "{pl}");
    assert!(finding_codes(&r).contains(&"prefix_list_fallback".to_string()));
    assert_eq!(r["targets"][0]["path"]["verdict"], "unknown");
    assert_eq!(check(&r, 0, "s3_get")["status"], "pass");
    fault::assert_sound(&run, 0, fault::DEFAULT_TIMEOUT);
}

/// Create an IAM user in moto with `policy` as its only (inline) policy, then turn on moto's
/// IAM enforcement; returns the user's access key.
fn iam_user_with_policy(moto: &Moto, policy: &str) -> (String, String) {
    let script = r#"
import sys, boto3, urllib.request
url, policy = sys.argv[1], sys.stdin.read()
iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id="admin", aws_secret_access_key="admin")
iam.create_user(UserName="prober")
iam.put_user_policy(UserName="prober", PolicyName="vpce-probe", PolicyDocument=policy)
k = iam.create_access_key(UserName="prober")["AccessKey"]
req = urllib.request.Request(url + "/moto-api/reset-auth", data=b"0", method="POST",
                             headers={"Content-Type": "text/plain"})
urllib.request.urlopen(req).read()
print(k["AccessKeyId"], k["SecretAccessKey"])
"#;
    let mut child = std::process::Command::new(venv().join("bin/python"))
        .args(["-c", script, &moto.url()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(policy.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut it = text.split_whitespace();
    (
        it.next().unwrap().to_string(),
        it.next().unwrap().to_string(),
    )
}

#[tokio::test]
async fn the_printed_iam_policy_is_sufficient_and_minimal() {
    for (read_only_policy, want_ok) in [(false, true), (true, false)] {
        let moto = Moto::start();
        let imds = Imds::start(json!({})); // context only: credentials are the IAM user's
        let imds_state = tempfile::tempdir().unwrap();
        make_bucket(&moto, "iam-bucket").await;
        let sinks = ["--sink", "cloudwatch-metrics", "--sink", "cloudwatch-logs"];
        let mut args = vec!["iam-policy", "--bucket", "iam-bucket"];
        if read_only_policy {
            args.push("--read-only");
        } else {
            args.extend(sinks);
        }
        let printed = Probe::new().args(&args).run();
        assert_eq!(printed.code, 0, "{}", printed.stderr);
        let doc: serde_json::Value = serde_json::from_str(&printed.stdout).unwrap();
        assert_eq!(doc["Version"], "2012-10-17");
        // moto authorises HEAD bucket as `s3:HeadBucket`, an action AWS does not have (AWS
        // checks s3:ListBucket, which the printed policy grants): alias it for moto only.
        let mut for_moto = doc.clone();
        let mut alias = doc["Statement"][0].clone();
        alias["Sid"] = json!("MotoHeadBucketAlias");
        alias["Action"] = json!(["s3:HeadBucket"]);
        for_moto["Statement"].as_array_mut().unwrap().push(alias);
        // moto checks CloudWatch/Logs actions against resource "*" and evaluates no condition,
        // and names CloudWatch's actions after its signing name (`monitoring:`), so the printed
        // statements (namespace condition, log-group ARNs) cannot match there: assert they are
        // printed, and re-grant exactly their actions on "*" under moto's names.
        let printed_actions: Vec<String> = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|st| st["Sid"] == "VpceProbeMetrics" || st["Sid"] == "VpceProbeLogs")
            .flat_map(|st| st["Action"].as_array().unwrap().clone())
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        if !read_only_policy {
            assert_eq!(
                printed_actions,
                [
                    "cloudwatch:PutMetricData",
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents"
                ]
            );
            let moto_names: Vec<String> = printed_actions
                .iter()
                .map(|a| a.replace("cloudwatch:", "monitoring:"))
                .collect();
            for_moto["Statement"].as_array_mut().unwrap().push(json!({
                "Sid": "MotoSinkAlias", "Effect": "Allow",
                "Action": moto_names, "Resource": "*"
            }));
        } else {
            assert!(
                printed_actions.is_empty(),
                "no sink permissions without sinks"
            );
        }
        let (akid, secret) = iam_user_with_policy(&moto, &for_moto.to_string());
        let run = Probe::new()
            .moto(&moto)
            .imds(&imds)
            .env("AWS_ACCESS_KEY_ID", &akid)
            .env("AWS_SECRET_ACCESS_KEY", &secret)
            .env("VPCE_PROBE_STATE_DIR", imds_state.path().to_str().unwrap())
            .args(["check", "--bucket", "iam-bucket", "--output", "json"])
            .args(if read_only_policy {
                &[][..]
            } else {
                &sinks[..]
            })
            .run();
        let r = run.json();
        if !read_only_policy {
            // the sinks' permissions are in the printed policy too
            assert_eq!(r["sinks"][0]["ok"], true, "{}", r["sinks"]);
            assert_eq!(r["sinks"][1]["ok"], true, "{}", r["sinks"]);
        }
        let statuses: Vec<(String, String)> = r["targets"][0]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().into(),
                    c["status"].as_str().unwrap().into(),
                )
            })
            .collect();
        for name in ["s3_head_bucket", "s3_list"] {
            assert_eq!(check(&r, 0, name)["status"], "pass", "{name}: {statuses:?}");
        }
        // the EC2 reads were allowed: the prefix list came from the EC2 API
        assert_eq!(
            run_check(&r, "prefix_list")["detail"]["source"],
            "ec2",
            "{statuses:?}"
        );
        assert_eq!(check(&r, 0, "bucket_policy")["detail"]["has_policy"], false);
        // GetBucketEncryption was allowed (moto's default: SSE-S3, or none)
        let enc = &r["targets"][0]["bucket_encryption"];
        assert!(enc.is_object() && enc["error"].is_null(), "{enc}");
        // DescribeSecurityGroups and DescribeNetworkAcls were allowed too: moto may not know the
        // emulator's group, subnet or VPC, but it did not refuse the calls
        for part in ["security_groups_error", "network_acl_error"] {
            let code = r["network"][part]["code"].as_str().unwrap_or("");
            assert!(
                !["AccessDenied", "UnauthorizedOperation"].contains(&code),
                "{part}: {}",
                r["network"][part]
            );
        }
        if want_ok {
            for name in ["s3_put", "s3_get", "s3_delete"] {
                assert_eq!(check(&r, 0, name)["status"], "pass", "{name}: {statuses:?}");
            }
        } else {
            // a read-only policy really withholds the write: minimal, not generous
            let put = check(&r, 0, "s3_put");
            assert_eq!(put["status"], "fail", "{put}");
            assert_eq!(put["error"]["http_status"], 403);
            assert_eq!(run.code, 1);
        }
    }
}

#[test]
fn iam_policy_rejects_bad_input() {
    let run = Probe::new()
        .args(["iam-policy", "--bucket", "Bad_Name"])
        .run();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("invalid bucket name"), "{}", run.stderr);
}

#[tokio::test]
async fn prometheus_exposition_on_stdout_and_in_a_textfile() {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    make_bucket(&moto, "prom-bucket").await;
    let run = Probe::new()
        .moto(&moto)
        .imds(&imds)
        .args([
            "check",
            "--bucket",
            "prom-bucket",
            "--bucket",
            "prom-missing",
            "--output",
            "prometheus",
        ])
        .run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let t = &run.stdout;
    assert!(t.contains("vpce_probe_run_success 0\n"), "{t}");
    assert!(
        t.contains("vpce_probe_success{bucket=\"prom-bucket\",region=\"us-east-1\"} 1\n"),
        "{t}"
    );
    assert!(
        t.contains("vpce_probe_success{bucket=\"prom-missing\",region=\"us-east-1\"} 0\n"),
        "{t}"
    );
    assert!(
        t.contains("check=\"s3_head_bucket\",status=\"fail\"} 1\n"),
        "{t}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vpce_probe.prom");
    let run = Probe::new()
        .moto(&moto)
        .imds(&imds)
        .args([
            "check",
            "--bucket",
            "prom-bucket",
            "--output",
            "json",
            "--prometheus-textfile",
        ])
        .arg_path(&file)
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("vpce_probe_run_success 1\n"), "{text}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );

    let run = Probe::new()
        .no_imds()
        .args([
            "check",
            "--bucket",
            "prom-bucket",
            "--prometheus-textfile",
            "/nonexistent/dir/x.prom",
        ])
        .run();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
}

#[tokio::test]
async fn config_file_targets_with_their_own_settings() {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    make_bucket(&moto, "cfg-writer").await;
    make_bucket(&moto, "cfg-reader").await;
    moto.s3()
        .put_object()
        .bucket("cfg-reader")
        .key("reports/latest.csv")
        .body(ByteStream::from_static(b"a,b\n"))
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(
        &file,
        "output = \"json\"\ntimeout = 8\n[defaults]\nprefix = \"health/\"\n\
         [[target]]\nbucket = \"cfg-writer\"\n\
         [[target]]\nbucket = \"cfg-reader\"\nread_only = true\nkey = \"reports/latest.csv\"\n",
    )
    .unwrap();
    let run = Probe::new()
        .moto(&moto)
        .imds(&imds)
        .args(["check", "--config"])
        .arg_path(&file)
        .run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let r = run.json();
    assert_eq!(r["targets"][0]["bucket"], "cfg-writer");
    assert_eq!(r["targets"][0]["prefix"], "health/");
    assert_eq!(check(&r, 0, "s3_put")["status"], "pass");
    assert!(
        check(&r, 0, "s3_put")["detail"]["key"]
            .as_str()
            .unwrap()
            .starts_with("health/")
    );
    assert_eq!(r["targets"][1]["bucket"], "cfg-reader");
    assert_eq!(r["targets"][1]["read_only"], true);
    assert_eq!(check(&r, 1, "s3_put")["detail"]["reason"], "read_only");
    assert_eq!(
        check(&r, 1, "s3_get")["detail"]["key"],
        "reports/latest.csv"
    );
    let probe_writes: Vec<String> = writes_to(&moto, "cfg-reader")
        .into_iter()
        .filter(|w| w.contains("health/"))
        .collect();
    assert!(
        probe_writes.is_empty(),
        "read-only target written: {probe_writes:?}"
    );

    // a mistake in the file: exit 2, one line naming file, line and key
    std::fs::write(&file, "timeout = 8\ntimeotu = 9\n").unwrap();
    let run = Probe::new()
        .no_imds()
        .args(["check", "--config"])
        .arg_path(&file)
        .run();
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(":2:") && run.stderr.contains("timeotu"),
        "{}",
        run.stderr
    );
}

#[test]
fn completions_and_man_page() {
    let bash = Probe::new().args(["completions", "bash"]).run();
    assert_eq!(bash.code, 0);
    assert!(
        bash.stdout.contains("--expect-path"),
        "bash completion covers check's flags"
    );
    let zsh = Probe::new().args(["completions", "zsh"]).run();
    assert!(
        zsh.stdout.starts_with("#compdef vpce-probe"),
        "{}",
        &zsh.stdout[..40]
    );
    let man = Probe::new().args(["man"]).run();
    assert_eq!(man.code, 0);
    assert!(man.stdout.contains(".TH vpce-probe"), "roff man page");
    assert!(
        man.stdout.contains("Exit codes"),
        "the long help is in the page"
    );
    let bad = Probe::new().args(["completions", "tcsh"]).run();
    assert_eq!(bad.code, 2);
}

fn cloudwatch(moto: &Moto) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&admin_sdk(&moto.url(), "us-east-1", None))
}

fn cloudwatch_logs(moto: &Moto) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(&admin_sdk(&moto.url(), "us-east-1", None))
}

/// How many `RunSuccess` data points moto holds.
async fn run_success_points(moto: &Moto) -> usize {
    let out = cloudwatch(moto)
        .list_metrics()
        .namespace("VpceProbe")
        .metric_name("RunSuccess")
        .send()
        .await
        .unwrap();
    out.metrics().len()
}

#[tokio::test]
async fn cloudwatch_sinks_deliver_and_an_outage_loses_no_report() {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    make_bucket(&moto, "cw-bucket").await;
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap().to_string();
    let probe = || {
        Probe::new()
            .moto(&moto)
            .imds(&imds)
            .env("VPCE_PROBE_STATE_DIR", &state_dir)
            .args([
                "check",
                "--bucket",
                "cw-bucket",
                "--output",
                "json",
                "--sink",
                "cloudwatch-metrics",
                "--sink",
                "cloudwatch-logs",
            ])
    };
    // 1. both sinks deliver
    let run = probe().run();
    fault::assert_sound(&run, 0, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    assert_eq!(r["sinks"][0]["sink"], "cloudwatch_metrics");
    assert_eq!(r["sinks"][0]["ok"], true);
    assert_eq!(r["sinks"][1]["ok"], true);
    assert_eq!(run_success_points(&moto).await, 1);
    let per_bucket = cloudwatch(&moto)
        .list_metrics()
        .namespace("VpceProbe")
        .metric_name("ViaGatewayEndpoint")
        .send()
        .await
        .unwrap();
    let dims = per_bucket.metrics()[0].dimensions();
    assert_eq!(dims[0].name(), Some("Bucket"));
    assert_eq!(dims[0].value(), Some("cw-bucket"));
    let events = cloudwatch_logs(&moto)
        .get_log_events()
        .log_group_name("/vpce-probe")
        .log_stream_name("i-0123456789abcdef0")
        .send()
        .await
        .unwrap();
    let msg: serde_json::Value =
        serde_json::from_str(events.events()[0].message().unwrap()).unwrap();
    assert_eq!(
        msg["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "VpceProbe"
    );
    assert_eq!(
        msg["report"]["run_id"], r["run_id"],
        "the full report, queryable in Logs"
    );

    // 2. CloudWatch metrics unreachable: the report still reaches stdout, the run says so
    //    (finding, exit 1) and the payload is spooled
    let closed = format!("http://127.0.0.1:{}", free_port());
    let run = probe().env("AWS_ENDPOINT_URL_CLOUDWATCH", &closed).run();
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    fault::assert_no_secret_in_dir(state.path());
    let r = run.json();
    let m = &r["sinks"][0];
    assert_eq!(m["ok"], false, "{m}");
    assert_eq!(m["spooled"], true);
    assert_eq!(m["error"]["code"], "connection_refused");
    assert_eq!(r["sinks"][1]["ok"], true, "the logs sink is unaffected");
    assert!(finding_codes(&r).contains(&"sink_failed".to_string()));
    assert_eq!(r["ok"], false);
    assert_eq!(run_success_points(&moto).await, 1);

    // 3. recovery: the next run sends the spooled report first, then its own
    let run = probe().run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let r = run.json();
    assert_eq!(r["sinks"][0]["resent"], 1);
    assert_eq!(run_success_points(&moto).await, 3, "no report lost");
    let spool = state.path().join("spool/cloudwatch_metrics");
    assert_eq!(
        std::fs::read_dir(&spool).unwrap().count(),
        0,
        "spool emptied"
    );

    // 4. --instance-dimension: every metric also carries the instance id
    let run = probe().args(["--instance-dimension"]).run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let out = cloudwatch(&moto)
        .list_metrics()
        .namespace("VpceProbe")
        .metric_name("RunSuccess")
        .dimensions(
            aws_sdk_cloudwatch::types::DimensionFilter::builder()
                .name("InstanceId")
                .value("i-0123456789abcdef0")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(out.metrics().len(), 1, "{:?}", out.metrics());
}
