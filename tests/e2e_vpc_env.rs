//! End to end on the simulated VPC (`tests/sim/vpc.sh`), the environment around the probe: a
//! container one hop behind the instance, where the IMDS emulator's token answer (sent with IP
//! TTL = the instance's metadata hop limit, as on EC2) dies in transit at hop limit 1 and
//! arrives at 2; and a configured region that is not the instance's.

mod common;

use std::time::Duration;

use common::vpc::{Network, SimVpc};
use common::*;
use serde_json::json;

/// The instance of `net`, with this metadata hop limit.
fn hop_limit(sim: &SimVpc, net: &Network, hops: u8) {
    sim.imds(json!({
        "role": "vpce-probe-sim-role",
        "vpc_id": net.vpc_id,
        "subnet_id": net.subnet_id,
        "vpc_cidrs": ["10.0.0.0/16"],
        "local_ipv4": "10.0.1.10",
        "http_put_response_hop_limit": hops,
    }));
}

#[tokio::test]
async fn hop_limit_1_starves_a_container_of_its_token() {
    let sim = SimVpc::up();
    let net = sim.network(None, false).await;
    sim.bucket("sim-hop").await;
    hop_limit(&sim, &net, 1);
    sim.container();

    // No region anywhere: a fault of the environment, reported (exit 1), not a usage error.
    let run = sim.probe_in_container(
        &[
            "check",
            "--bucket",
            "sim-hop",
            "--timeout",
            "8",
            "--output",
            "json",
        ],
        &[],
    );
    eprintln!("hop limit 1, no region: {:?}", run.elapsed);
    fault::assert_sound(&run, 1, std::time::Duration::from_secs(8));
    assert!(
        run.elapsed < Duration::from_secs(8),
        "bounded by --timeout 8: {:?}",
        run.elapsed
    );
    let r = run.json();
    assert_eq!(r["region_source"], "none");
    assert_eq!(r["region"], "");
    let ctx = &r["context"];
    assert_eq!(ctx["source"], "none");
    assert_eq!(ctx["failed_step"], "token");
    assert_eq!(ctx["error"]["code"], "imds_timeout", "{ctx}");
    assert_eq!(ctx["runtime"]["default_gateway"], "172.17.0.1");
    let signs = ctx["runtime"]["container_signs"].as_array().unwrap();
    assert!(
        signs.iter().any(|s| s["kind"] == "net_namespace"
            && s["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("{}-c", sim.name))),
        "{signs:?}"
    );
    assert_eq!(run_check(&r, "imds")["status"], "fail");
    let f = finding(&r, "imds_hop_limit");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["component"], "imds");
    let hint = f["hint"].as_str().unwrap();
    assert!(
        hint.contains("--instance-id <instance-id> --http-put-response-hop-limit 2"),
        "{hint}"
    );
    assert!(hint.contains("no bucket was probed"), "{hint}");
    let head = check(&r, 0, "s3_head_bucket");
    assert_eq!(head["status"], "skip", "{head}");
    assert_eq!(head["detail"]["reason"], "no_region", "{head}");
    // the emulator saw the token requests, and never a tokenless GET
    let imds_log = std::fs::read_to_string(&sim.env["IMDS_LOG"]).unwrap_or_default();
    assert!(!imds_log.contains("Traceback"), "{imds_log}");

    // With a region the buckets are still judged, and the hop limit is still the error.
    let run = sim.probe_in_container(
        &[
            "check",
            "--bucket",
            "sim-hop",
            "--region",
            "us-east-1",
            "--timeout",
            "8",
        ],
        &[],
    );
    eprintln!("hop limit 1, --region: {:?}\n{}", run.elapsed, run.stdout);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    assert!(run.stdout.contains("imds_hop_limit"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("aws ec2 modify-instance-metadata-options --instance-id <instance-id> --http-put-response-hop-limit 2"),
        "{}",
        run.stdout
    );

    // The same instance, probed on the instance itself: the token arrives (TTL 1 is enough).
    let on_host = sim.probe(&["check", "--bucket", "sim-hop", "--output", "json"]);
    assert_eq!(on_host.code, 0, "{}", on_host.stdout);
    assert!(finding_codes(&on_host.json()).is_empty());
}

#[tokio::test]
async fn hop_limit_2_lets_the_container_through() {
    let sim = SimVpc::up();
    let net = sim.network(None, false).await;
    sim.bucket("sim-hop2").await;
    hop_limit(&sim, &net, 2);
    sim.container();
    let run = sim.probe_in_container(
        &[
            "check",
            "--bucket",
            "sim-hop2",
            "--timeout",
            "8",
            "--output",
            "json",
        ],
        &[],
    );
    eprintln!("hop limit 2: {:?}", run.elapsed);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let r = run.json();
    assert_eq!(r["context"]["source"], "imds");
    assert_eq!(r["region_source"], "imds");
    assert_eq!(r["credentials"]["provider"], "instance_profile");
    // the container is in the evidence, and with a token it is no finding
    assert!(
        !r["context"]["runtime"]["container_signs"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(finding_codes(&r).is_empty(), "{:?}", r["findings"]);
    // masqueraded by the instance, the traffic still takes the gateway endpoint
    assert_eq!(r["targets"][0]["path"]["verdict"], "gateway_endpoint");
    assert_eq!(check(&r, 0, "s3_get")["status"], "pass");
}

#[tokio::test]
async fn a_region_from_the_environment_that_is_not_the_instances() {
    let sim = SimVpc::up();
    sim.network(None, false).await;
    sim.bucket("sim-rgn").await;
    let run = sim.probe_env(
        &[
            "check",
            "--bucket",
            "sim-rgn",
            "--timeout",
            "8",
            "--output",
            "json",
        ],
        &[("AWS_REGION", "eu-west-1")],
    );
    eprintln!("AWS_REGION=eu-west-1: {:?}", run.elapsed);
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    let r = run.json();
    assert_eq!(r["region"], "eu-west-1");
    assert_eq!(r["region_source"], "env");
    assert_eq!(r["context"]["region"], "us-east-1");
    let f = finding(&r, "region_mismatch");
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["component"], "config");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains("eu-west-1")
            && msg.contains("us-east-1")
            && msg.contains("from the environment"),
        "{msg}"
    );
    assert!(
        f["hint"].as_str().unwrap().contains("AWS_REGION=us-east-1"),
        "{f}"
    );
    // still probed what was asked; the bucket is in the instance's region, so once followed
    // its traffic takes the gateway endpoint: a warning, exit 0
    assert_ne!(check(&r, 0, "s3_head_bucket")["status"], "skip");
    assert_eq!(r["targets"][0]["bucket_region"], "us-east-1");
    assert_eq!(r["targets"][0]["path"]["verdict"], "gateway_endpoint");
    assert_eq!(finding_codes(&r), vec!["region_mismatch".to_string()]);
    fault::assert_sound(&run, 0, std::time::Duration::from_secs(8));

    // In a private subnet the other region's S3 is dropped: the requests hang, and the S3
    // check names the region as the likely cause, within the deadline.
    sim.fault("drop", "52.218.0.0/16");
    let run = sim.probe_env(
        &[
            "check",
            "--bucket",
            "sim-rgn",
            "--timeout",
            "6",
            "--connect-timeout",
            "2",
            "--output",
            "json",
        ],
        &[("AWS_REGION", "eu-west-1")],
    );
    eprintln!("AWS_REGION=eu-west-1, dropped: {:?}", run.elapsed);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    let r = run.json();
    let head = check(&r, 0, "s3_head_bucket");
    assert_eq!(head["status"], "fail", "{head}");
    let hint = head["hint"].as_str().unwrap();
    assert!(
        hint.contains("likely cause: the region eu-west-1 (from the environment) is not this instance's region us-east-1"),
        "{hint}"
    );
    // the route check: that address leaves through the internet gateway, and says why
    let route = check(&r, 0, "route");
    assert_eq!(
        r["targets"][0]["path"]["verdict"], "internet_gateway",
        "{route}"
    );
    assert!(
        route["hint"]
            .as_str()
            .unwrap()
            .contains("likely cause: the region eu-west-1"),
        "{route}"
    );
    let c = finding_codes(&r);
    assert!(c.contains(&"region_mismatch".to_string()), "{c:?}");
    assert!(c.contains(&"s3_unreachable".to_string()), "{c:?}");
}

#[tokio::test]
async fn a_profile_region_that_is_not_the_instances_and_one_that_is() {
    let sim = SimVpc::up();
    sim.network(None, false).await;
    sim.bucket("sim-prof").await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, "[default]\nregion = eu-west-1\n").unwrap();
    let run = sim.probe_env(
        &[
            "check",
            "--bucket",
            "sim-prof",
            "--timeout",
            "8",
            "--output",
            "json",
        ],
        &[("AWS_CONFIG_FILE", config.to_str().unwrap())],
    );
    eprintln!("profile region eu-west-1: {:?}", run.elapsed);
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    let r = run.json();
    assert_eq!(r["region_source"], "profile");
    let f = finding(&r, "region_mismatch");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("from the profile"), "{msg}");
    assert!(
        f["hint"]
            .as_str()
            .unwrap()
            .contains("aws configure set region us-east-1"),
        "{f}"
    );

    // the healthy twin: the environment names the instance's own region
    let run = sim.probe_env(
        &["check", "--bucket", "sim-prof", "--output", "json"],
        &[("AWS_REGION", "us-east-1")],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    let r = run.json();
    assert_eq!(r["region_source"], "env");
    assert!(finding_codes(&r).is_empty(), "{:?}", r["findings"]);
}
