//! End to end on a simulated VPC (`tests/sim/vpc.sh`): the probe runs in an "instance" network
//! namespace, resolves the real S3/EC2 names through the VPC's DNS, connects over HTTPS to moto
//! at prefix-list addresses, and reads its context from IMDS at 169.254.169.254 — no endpoint
//! override. Each scenario of the classic story asserts verdict, findings and exit code.

mod common;

use std::time::Duration;

use common::vpc::SimVpc;
use common::*;
use serde_json::Value;

fn codes(r: &Value) -> Vec<String> {
    finding_codes(r)
}

#[tokio::test]
async fn healthy_gateway_path() {
    let sim = SimVpc::up();
    let net = sim.network(None, false).await;
    sim.bucket("sim-healthy").await;
    let run = sim.probe(&[
        "check",
        "--bucket",
        "sim-healthy",
        "--expect-path",
        "gateway_endpoint",
        "--output",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let r = run.json();
    let t = &r["targets"][0];
    assert_eq!(t["path"]["verdict"], "gateway_endpoint", "{}", t["path"]);
    assert_eq!(t["path"]["vpc_endpoint_id"], net.endpoint_id);
    assert_eq!(t["path"]["route_table_id"], net.route_table_id);
    assert_eq!(t["path"]["prefix_list_id"], net.prefix_list_id);
    assert_eq!(t["path"]["addresses"][0]["address"], "52.216.0.10");
    assert_eq!(check(&r, 0, "s3_put")["detail"]["peer"], "52.216.0.10:443");
    let dns = check(&r, 0, "dns");
    assert_eq!(dns["status"], "pass");
    assert_eq!(
        dns["detail"]["names"][0],
        "sim-healthy.s3.us-east-1.amazonaws.com"
    );
    assert_eq!(dns["detail"]["servers"][0], "10.0.0.2:53");
    for c in ["route", "endpoint_policy", "s3_get"] {
        assert_eq!(
            check(&r, 0, c)["status"],
            "pass",
            "{c}: {}",
            check(&r, 0, c)
        );
    }
    assert_eq!(run_check(&r, "prefix_list")["detail"]["source"], "ec2");
    assert_eq!(r["context"]["vpc_id"], net.vpc_id);
    assert_eq!(r["credentials"]["provider"], "instance_profile");
    assert!(codes(&r).is_empty(), "{:?}", r["findings"]);

    // The human report shows the path first, in one line.
    let human = sim.probe(&["check", "--bucket", "sim-healthy"]);
    assert_eq!(human.code, 0);
    let line = format!(
        "path: 52.216.0.10 → {} → {} (com.amazonaws.us-east-1.s3) → {} (gateway endpoint) ✓",
        net.route_table_id, net.prefix_list_id, net.endpoint_id
    );
    assert!(human.stdout.contains(&line), "{}", human.stdout);
}

#[tokio::test]
async fn endpoint_missing_from_the_route_table_goes_via_the_igw() {
    let sim = SimVpc::up();
    let net = sim.network(None, false).await;
    sim.bucket("sim-igw").await;
    // what an operator does by mistake: the endpoint's route is gone from the subnet's table
    sim.ec2()
        .delete_route()
        .route_table_id(&net.route_table_id)
        .destination_prefix_list_id(&net.prefix_list_id)
        .send()
        .await
        .unwrap();
    let run = sim.probe(&["check", "--bucket", "sim-igw", "--output", "json"]);
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    assert_eq!(r["targets"][0]["path"]["verdict"], "internet_gateway");
    let route = check(&r, 0, "route");
    assert_eq!(route["status"], "fail");
    assert!(
        route["hint"]
            .as_str()
            .unwrap()
            .contains(&net.route_table_id)
    );
    assert!(
        codes(&r).contains(&"gateway_endpoint_not_on_route_table".into()),
        "{:?}",
        codes(&r)
    );
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "gateway_endpoint_not_on_route_table")
        .unwrap();
    assert!(f["hint"].as_str().unwrap().contains(&format!(
        "--vpc-endpoint-id {} --add-route-table-ids {}",
        net.endpoint_id, net.route_table_id
    )));
}

#[tokio::test]
async fn private_subnet_without_a_route_times_out_within_the_deadline() {
    let sim = SimVpc::up();
    let net = sim.network(None, false).await;
    sim.bucket("sim-private").await;
    let ec2 = sim.ec2();
    for (cidr, pl) in [(Some("0.0.0.0/0"), None), (None, Some(&net.prefix_list_id))] {
        ec2.delete_route()
            .route_table_id(&net.route_table_id)
            .set_destination_cidr_block(cidr.map(str::to_string))
            .set_destination_prefix_list_id(pl.cloned())
            .send()
            .await
            .unwrap();
    }
    // and the packets really vanish (EC2 and DNS still answer)
    sim.fault("drop", "52.216.0.0/15");
    let run = sim.probe(&[
        "check",
        "--bucket",
        "sim-private",
        "--timeout",
        "6",
        "--connect-timeout",
        "2",
        "--output",
        "json",
    ]);
    fault::assert_sound(&run, 1, Duration::from_secs(6));
    assert!(
        run.elapsed < Duration::from_secs(8),
        "bounded: {:?}",
        run.elapsed
    );
    let r = run.json();
    assert_eq!(
        r["targets"][0]["path"]["verdict"], "no_route",
        "{}",
        r["targets"][0]["path"]
    );
    let head = check(&r, 0, "s3_head_bucket");
    assert_eq!(head["error"]["phase"], "connect", "{head}");
    let c = codes(&r);
    for want in [
        "no_route_to_s3",
        "gateway_endpoint_not_on_route_table",
        "s3_unreachable",
    ] {
        assert!(c.contains(&want.to_string()), "{want}: {c:?}");
    }
}

#[tokio::test]
async fn endpoint_policy_flipped_to_deny_is_named() {
    let sim = SimVpc::up();
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#;
    let net = sim.network(Some(deny), false).await;
    sim.bucket("sim-epdeny").await;
    let run = sim.probe(&["check", "--bucket", "sim-epdeny", "--output", "json"]);
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    assert_eq!(r["targets"][0]["path"]["verdict"], "gateway_endpoint");
    let ep = check(&r, 0, "endpoint_policy");
    assert_eq!(ep["status"], "fail", "{ep}");
    assert_eq!(ep["detail"]["vpc_endpoint_id"], net.endpoint_id);
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "endpoint_policy_denies")
        .unwrap_or_else(|| panic!("{:?}", codes(&r)));
    assert_eq!(f["component"], "endpoint_policy");
    assert!(f["hint"].as_str().unwrap().contains(&net.endpoint_id));
}

#[tokio::test]
async fn bucket_policy_requiring_another_endpoint_is_named() {
    let sim = SimVpc::up();
    let net = sim.network(None, false).await;
    sim.bucket("sim-bp").await;
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "OnlyFromTheOtherEndpoint", "Effect": "Deny", "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::sim-bp", "arn:aws:s3:::sim-bp/*"],
            "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0ffffffffffffffff"}}
        }]
    });
    sim.s3("us-east-1")
        .put_bucket_policy()
        .bucket("sim-bp")
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    let run = sim.probe(&["check", "--bucket", "sim-bp", "--output", "json"]);
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    assert_eq!(check(&r, 0, "bucket_policy")["status"], "fail");
    assert!(
        codes(&r).contains(&"bucket_policy_requires_endpoint".into()),
        "{:?}",
        codes(&r)
    );
    let put = check(&r, 0, "s3_put");
    assert_eq!(put["status"], "fail");
    let hint = put["hint"].as_str().unwrap();
    assert!(
        hint.contains("vpce-0ffffffffffffffff") && hint.contains(&net.endpoint_id),
        "{hint}"
    );
}

#[tokio::test]
async fn subnet_on_the_main_route_table() {
    let sim = SimVpc::up();
    let net = sim.network(None, true).await;
    sim.bucket("sim-main").await;
    let run = sim.probe(&["check", "--bucket", "sim-main", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let r = run.json();
    assert_eq!(r["targets"][0]["path"]["verdict"], "gateway_endpoint");
    assert_eq!(r["network"]["route_table"]["id"], net.route_table_id);
    assert_eq!(r["network"]["route_table"]["main"], true);
}

#[tokio::test]
async fn a_more_specific_route_overrides_the_prefix_list() {
    let sim = SimVpc::up();
    let net = sim.network(None, false).await;
    sim.bucket("sim-specific").await;
    sim.ec2()
        .create_route()
        .route_table_id(&net.route_table_id)
        .destination_cidr_block("52.216.0.0/16")
        .gateway_id(&net.igw_id)
        .send()
        .await
        .unwrap();
    let run = sim.probe(&["check", "--bucket", "sim-specific", "--output", "json"]);
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    let path = &r["targets"][0]["path"];
    assert_eq!(path["verdict"], "internet_gateway", "{path}");
    assert_eq!(path["overridden_endpoint"], net.endpoint_id);
    assert!(
        codes(&r).contains(&"specific_route_overrides_endpoint".into()),
        "{:?}",
        codes(&r)
    );
}

#[tokio::test]
async fn s3_name_resolving_to_a_vpc_address_is_an_interface_endpoint() {
    let sim = SimVpc::up();
    sim.network(None, false).await;
    sim.bucket("sim-iface").await;
    sim.dns("s3.us-east-1.amazonaws.com", "10.0.2.50");
    let run = sim.probe(&[
        "check",
        "--bucket",
        "sim-iface",
        "--expect-path",
        "gateway_endpoint",
        "--output",
        "json",
    ]);
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    assert_eq!(r["targets"][0]["path"]["verdict"], "interface_endpoint");
    assert_eq!(check(&r, 0, "s3_get")["detail"]["peer"], "10.0.2.50:443");
    let c = codes(&r);
    assert!(c.contains(&"interface_endpoint_dns".into()), "{c:?}");
    assert!(c.contains(&"expectation_failed".into()), "{c:?}");
}

#[tokio::test]
async fn bucket_in_another_region_leaves_through_the_igw() {
    let sim = SimVpc::up();
    sim.network(None, false).await;
    create_bucket_in(&sim.s3("eu-west-1"), "sim-far", "eu-west-1").await;
    let run = sim.probe(&["check", "--bucket", "sim-far", "--output", "json"]);
    let r = run.json();
    let t = &r["targets"][0];
    assert_eq!(t["bucket_region"], "eu-west-1");
    assert_eq!(check(&r, 0, "s3_get")["detail"]["peer"], "52.218.0.10:443");
    assert_eq!(t["path"]["verdict"], "internet_gateway", "{}", t["path"]);
    assert!(
        codes(&r).contains(&"bucket_in_other_region".into()),
        "{:?}",
        codes(&r)
    );
}

#[tokio::test]
async fn ec2_api_unreachable_falls_back_to_the_cached_prefix_list() {
    let sim = SimVpc::up();
    sim.network(None, false).await;
    sim.bucket("sim-noec2").await;
    // a first run while EC2 answers leaves the prefix list in the cache
    let first = sim.probe(&["check", "--bucket", "sim-noec2", "--output", "json"]);
    assert_eq!(first.code, 0, "{}", first.stdout);
    sim.fault("blackhole", "54.239.28.85/32");
    let run = sim.probe(&["check", "--bucket", "sim-noec2", "--output", "json"]);
    let r = run.json();
    let pl = run_check(&r, "prefix_list");
    assert_eq!(pl["status"], "warn", "{pl}");
    assert_eq!(pl["detail"]["source"], "cache");
    assert_eq!(pl["error"]["phase"], "connect");
    assert!(
        codes(&r).contains(&"prefix_list_fallback".into()),
        "{:?}",
        codes(&r)
    );
    // S3 itself still works through the endpoint
    assert_eq!(check(&r, 0, "s3_get")["status"], "pass");
    assert_eq!(r["targets"][0]["path"]["verdict"], "unknown");
    fault::assert_sound(&run, 0, fault::DEFAULT_TIMEOUT);
}

#[tokio::test]
async fn silent_vpc_resolver_is_named_within_the_deadline() {
    let sim = SimVpc::up();
    sim.network(None, false).await;
    // the VPC resolver never answers (enableDnsSupport off, or a firewall): every query vanishes
    sim.fault("drop", "10.0.0.2/32");
    let run = sim.probe(&[
        "check",
        "--bucket",
        "sim-silent",
        "--timeout",
        "6",
        "--connect-timeout",
        "2",
        "--output",
        "json",
    ]);
    fault::assert_sound(&run, 1, Duration::from_secs(6));
    assert!(
        run.elapsed < Duration::from_secs(8),
        "bounded by --timeout 6: {:?}",
        run.elapsed
    );
    println!("silent VPC resolver: {:?} (--timeout 6)", run.elapsed);
    let r = run.json();
    assert_eq!(r["resolver"]["servers"][0], "10.0.0.2:53");
    assert_eq!(r["resolver"]["source"], "resolv_conf");
    let dns = check(&r, 0, "dns");
    assert_eq!(dns["status"], "fail", "{dns}");
    let f = finding(&r, "dns_failure");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains("10.0.0.2:53 (the VPC's resolver: VPC CIDR 10.0.0.0/16 base + 2"),
        "{msg}"
    );
    let hint = f["hint"].as_str().unwrap();
    assert!(hint.contains("enableDnsSupport"), "{hint}");
}

#[tokio::test]
async fn silent_custom_resolver_is_called_custom() {
    let sim = SimVpc::up();
    sim.network(None, false).await;
    sim.resolv("10.0.5.53");
    sim.fault("drop", "10.0.5.53/32");
    let run = sim.probe(&[
        "check",
        "--bucket",
        "sim-custom",
        "--timeout",
        "6",
        "--connect-timeout",
        "2",
        "--output",
        "json",
    ]);
    fault::assert_sound(&run, 1, Duration::from_secs(6));
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    println!("silent custom resolver: {:?} (--timeout 6)", run.elapsed);
    let r = run.json();
    let f = finding(&r, "dns_failure");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains(
            "10.0.5.53:53 (a custom resolver, not the VPC's (10.0.0.2), from /etc/resolv.conf)"
        ),
        "{msg}"
    );
    let hint = f["hint"].as_str().unwrap();
    assert!(
        hint.contains("custom resolver 10.0.5.53:53") && hint.contains("10.0.0.2"),
        "{hint}"
    );
    assert!(!hint.contains("enableDnsSupport"), "{hint}");
}

#[tokio::test]
async fn no_credentials_still_proves_the_network_path() {
    let sim = SimVpc::up();
    let net = sim.network(None, false).await;
    sim.bucket("sim-nocreds").await;
    // the same instance, without a role
    sim.imds(serde_json::json!({
        "vpc_id": net.vpc_id,
        "subnet_id": net.subnet_id,
        "vpc_cidrs": ["10.0.0.0/16"],
        "local_ipv4": "10.0.1.10",
    }));
    let run = sim.probe(&["check", "--bucket", "sim-nocreds", "--output", "json"]);
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    assert!(
        codes(&r).contains(&"no_credentials".into()),
        "{:?}",
        codes(&r)
    );
    let u = check(&r, 0, "s3_unsigned");
    assert_eq!(u["status"], "pass", "{u}");
    assert_eq!(u["detail"]["peer"], "52.216.0.10:443");
    assert_eq!(
        u["detail"]["url"],
        "https://sim-nocreds.s3.us-east-1.amazonaws.com/"
    );
    assert!(u["detail"]["http_status"].as_u64().is_some(), "{u}");
    // the peer feeds the path: without credentials the route table cannot be read
    let path = &r["targets"][0]["path"];
    assert_eq!(path["addresses"][0]["address"], "52.216.0.10", "{path}");
    assert_eq!(path["verdict"], "unknown", "{path}");
    assert_eq!(check(&r, 0, "dns")["status"], "pass");

    let human = sim.probe(&["check", "--bucket", "sim-nocreds"]);
    assert!(
        human
            .stdout
            .contains("S3 answered an unsigned request: the network path works"),
        "{}",
        human.stdout
    );
    println!("{}", human.stdout);
}
