//! End to end on the simulated VPC (`tests/sim/vpc.sh`) with an HTTP proxy in it
//! (tests/emulators/proxy.py at 10.0.3.128:3128): S3 through `HTTPS_PROXY` is the `proxy` path,
//! `NO_PROXY` keeps the gateway path, a proxy that refuses the tunnel is blamed with its status,
//! `HTTP_PROXY` carries IMDS in absolute form; the proxy's credentials reach the proxy and no
//! output.

mod common;

use std::time::Duration;

use common::vpc::SimVpc;
use common::*;

/// The proxy URL with credentials that must never appear in any output.
fn proxy_with_password(sim: &SimVpc) -> String {
    sim.proxy_url()
        .replace("http://", "http://probe-user:s3cr3t-pw@")
}

#[tokio::test]
async fn https_proxy_without_no_proxy_is_the_path() {
    let sim = SimVpc::up();
    sim.network(None, false).await;
    sim.bucket("sim-proxy").await;
    sim.proxy();
    let url = proxy_with_password(&sim);
    let run = sim.probe_env(
        &["check", "--bucket", "sim-proxy", "--output", "json"],
        &[
            ("HTTPS_PROXY", &url),
            ("NO_PROXY", "localhost,169.254.169.254"),
        ],
    );
    // a warning: the probe worked, through the proxy
    fault::assert_sound(&run, 0, fault::DEFAULT_TIMEOUT);
    assert!(!run.stdout.contains("s3cr3t") && !run.stderr.contains("s3cr3t"));
    let r = run.json();
    let path = &r["targets"][0]["path"];
    assert_eq!(path["verdict"], "proxy", "{path}");
    assert_eq!(path["proxy"], "http://10.0.3.128:3128 (HTTPS_PROXY)");
    // the peer of the S3 requests is the proxy
    assert_eq!(check(&r, 0, "s3_put")["detail"]["peer"], "10.0.3.128:3128");
    assert_eq!(r["proxy"]["https"]["url"], "http://10.0.3.128:3128");
    assert_eq!(r["proxy"]["https"]["credentials"], true);
    let f = finding(&r, "proxy_in_path");
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["component"], "proxy");
    let hint = f["hint"].as_str().unwrap();
    assert!(
        hint.contains("s3.us-east-1.amazonaws.com,.s3.us-east-1.amazonaws.com")
            && hint.contains("NO_PROXY=localhost,169.254.169.254,s3.us-east-1"),
        "{hint}"
    );
    assert_eq!(check(&r, 0, "route")["status"], "warn");
    assert_eq!(check(&r, 0, "s3_unsigned")["status"], "skip");
    // the probe's own connector opened the tunnel, with the proxy's credentials
    let log = sim.proxy_log();
    assert!(
        log.iter().any(|l| l
            .starts_with("CONNECT sim-proxy.s3.us-east-1.amazonaws.com:443 from 10.0.1.10")
            && l.ends_with("-> 200 auth=basic:probe-user")),
        "{log:?}"
    );
    // phases through the proxy: every S3 request says so; a new connection has its connect
    // (to the proxy and through its tunnel) and its TLS handshake (with S3, in the tunnel)
    let phases: Vec<&serde_json::Value> = r["targets"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"].as_str().is_some_and(|n| n.starts_with("s3_")))
        .map(|c| &c["detail"]["phases"])
        .filter(|p| p.is_object())
        .collect();
    assert!(!phases.is_empty(), "{r}");
    assert!(phases.iter().all(|p| p["via_proxy"] == true), "{phases:?}");
    assert!(
        phases
            .iter()
            .any(|p| p["connect_ms"].is_number() && p["tls_ms"].is_number()),
        "{phases:?}"
    );

    let human = sim.probe_env(
        &["check", "--bucket", "sim-proxy"],
        &[("HTTPS_PROXY", &url)],
    );
    assert!(!human.stdout.contains("s3cr3t") && !human.stderr.contains("s3cr3t"));
    assert!(
        human
            .stdout
            .contains("path: S3 requests → HTTP proxy http://10.0.3.128:3128 (HTTPS_PROXY)"),
        "{}",
        human.stdout
    );
    println!("{}", human.stdout);
}

#[tokio::test]
async fn a_proxy_that_refuses_the_tunnel_is_blamed_with_its_status() {
    let sim = SimVpc::up();
    sim.network(None, false).await;
    sim.bucket("sim-proxy-refuses").await;
    sim.proxy();
    sim.proxy_rules(serde_json::json!({"require_auth": "probe-user:s3cr3t-pw"}));
    let run_with = |proxy: &str| {
        sim.probe_env(
            &[
                "check",
                "--bucket",
                "sim-proxy-refuses",
                "--output",
                "json",
                "--timeout",
                "6",
            ],
            &[("HTTPS_PROXY", proxy), ("NO_PROXY", "169.254.169.254")],
        )
    };
    // `status`: the proxy's (none when it closed without answering); `hint`: what both
    // findings' hints say of it
    let refused = |run: &Run, status: Option<u16>, hint: &str| {
        fault::assert_sound(run, 1, Duration::from_secs(6));
        assert!(!run.stdout.contains("s3cr3t") && !run.stderr.contains("s3cr3t"));
        let r = run.json();
        let head = check(&r, 0, "s3_head_bucket");
        assert_eq!(head["status"], "fail", "{head}");
        assert_eq!(head["error"]["code"], "proxy_refused", "{head}");
        assert_eq!(
            head["error"]["http_status"],
            serde_json::json!(status),
            "{head}"
        );
        let (s3, ec2) = proxy_refusals(&r);
        assert_eq!(s3["severity"], "error");
        let h = s3["hint"].as_str().unwrap();
        assert!(
            h.contains(hint) && h.contains("NO_PROXY=169.254.169.254,s3.us-east-1.amazonaws.com"),
            "{h}"
        );
        // the EC2 API, through the same proxy, was refused too: a warning (the prefix list
        // comes from a fallback) that names the proxy and the EC2 API's host
        assert_eq!(ec2["severity"], "warning");
        let h = ec2["hint"].as_str().unwrap();
        assert!(
            h.contains(hint)
                && h.contains("did not open the tunnel to the EC2 API")
                && h.contains("NO_PROXY=169.254.169.254,ec2.us-east-1.amazonaws.com"),
            "{h}"
        );
        // neither S3, the network, IAM nor the EC2 API is blamed
        let codes = finding_codes(&r);
        assert!(
            !codes.iter().any(|c| [
                "s3_unreachable",
                "s3_error",
                "prefix_list_fallback",
                "prefix_list_unavailable"
            ]
            .contains(&c.as_str())),
            "{codes:?}"
        );
    };

    // no credentials for a proxy that requires them: 407
    let run = run_with(&sim.proxy_url());
    refused(&run, Some(407), "HTTPS_PROXY has none");
    // the right ones: the proxy checks them and opens the tunnel
    let run = run_with(&proxy_with_password(&sim));
    fault::assert_sound(&run, 0, Duration::from_secs(6));
    // wrong ones: 407 again, blamed on the credentials given
    let wrong = sim
        .proxy_url()
        .replace("http://", "http://probe-user:wr0ng@");
    refused(
        &run_with(&wrong),
        Some(407),
        "refused the credentials in HTTPS_PROXY",
    );
    // its access rules deny S3's names: 403
    sim.proxy_rules(serde_json::json!({"deny": [".amazonaws.com"]}));
    refused(
        &run_with(&sim.proxy_url()),
        Some(403),
        "access rules deny the tunnel",
    );
    // it closes without answering
    sim.proxy_rules(serde_json::json!({"close": true}));
    refused(
        &run_with(&sim.proxy_url()),
        None,
        "closed the connection without answering",
    );
    let log = sim.proxy_log();
    for want in [
        "-> 407",
        "-> 200 auth=basic:probe-user",
        "-> 403",
        "-> closed",
    ] {
        assert!(log.iter().any(|l| l.contains(want)), "{want}: {log:?}");
    }
    // a refusal for credentials or rules (4xx) is not retried: one CONNECT to S3 per such run
    let s3_refusals = |status: &str| {
        log.iter()
            .filter(|l| l.starts_with("CONNECT sim-proxy-refuses.s3.") && l.contains(status))
            .count()
    };
    assert_eq!(s3_refusals("-> 407"), 2, "{log:?}");
    assert_eq!(s3_refusals("-> 403"), 1, "{log:?}");
}

/// The two `proxy_refused` findings of a run: for the S3 request and for the EC2 API (the
/// prefix list), both blaming the proxy.
fn proxy_refusals(r: &serde_json::Value) -> (&serde_json::Value, &serde_json::Value) {
    let all: Vec<&serde_json::Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "proxy_refused")
        .collect();
    assert!(all.iter().all(|f| f["component"] == "proxy"), "{all:?}");
    let of = |check: &str| {
        *all.iter()
            .find(|f| f["message"].as_str().unwrap().starts_with(check))
            .unwrap_or_else(|| panic!("no proxy_refused for {check}: {all:?}"))
    };
    (of("s3_head_bucket:"), of("prefix_list:"))
}

#[tokio::test]
async fn http_proxy_carries_imds_in_absolute_form_with_its_credentials() {
    let sim = SimVpc::up();
    sim.network(None, false).await;
    sim.bucket("sim-http-proxy").await;
    sim.proxy();
    let url = proxy_with_password(&sim);
    // HTTP_PROXY without 169.254.169.254 in NO_PROXY: IMDS goes through the proxy (as botocore
    // does); S3 is exempt
    let run = sim.probe_env(
        &["check", "--bucket", "sim-http-proxy", "--output", "json"],
        &[("HTTP_PROXY", &url), ("NO_PROXY", ".amazonaws.com")],
    );
    fault::assert_sound(&run, 0, fault::DEFAULT_TIMEOUT);
    assert!(!run.stdout.contains("s3cr3t") && !run.stderr.contains("s3cr3t"));
    let log = sim.proxy_log();
    for want in [
        "PUT http://169.254.169.254/latest/api/token from 10.0.1.10 -> 200 auth=basic:probe-user",
        "GET http://169.254.169.254/latest/meta-data/instance-id from 10.0.1.10 -> 200 auth=basic:probe-user",
    ] {
        assert!(log.iter().any(|l| l == want), "{want}: {log:?}");
    }
    assert!(!log.iter().any(|l| l.starts_with("CONNECT")), "{log:?}");
    let r = run.json();
    assert_eq!(r["proxy"]["http"]["variable"], "HTTP_PROXY");
    let ctx = r["context"]["requests"].as_array().unwrap();
    assert!(
        !ctx.is_empty() && ctx.iter().all(|q| q["phases"]["via_proxy"] == true),
        "{ctx:?}"
    );
    assert_eq!(
        r["targets"][0]["path"]["verdict"], "gateway_endpoint",
        "{}",
        r["targets"][0]["path"]
    );
}

#[tokio::test]
async fn proxy_with_a_source_vpce_bucket_policy_is_an_error() {
    let sim = SimVpc::up();
    let net = sim.network(None, false).await;
    sim.bucket("sim-proxy-bp").await;
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "OnlyThroughTheEndpoint", "Effect": "Deny", "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::sim-proxy-bp", "arn:aws:s3:::sim-proxy-bp/*"],
            "Condition": {"StringNotEquals": {"aws:SourceVpce": net.endpoint_id}}
        }]
    });
    sim.s3("us-east-1")
        .put_bucket_policy()
        .bucket("sim-proxy-bp")
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    sim.proxy();
    let run = sim.probe_env(
        &["check", "--bucket", "sim-proxy-bp", "--output", "json"],
        &[("https_proxy", &sim.proxy_url())],
    );
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    assert_eq!(r["targets"][0]["path"]["verdict"], "proxy");
    let f = finding(&r, "proxy_in_path");
    assert_eq!(f["severity"], "error");
    let hint = f["hint"].as_str().unwrap();
    assert!(
        hint.contains(&net.endpoint_id) && hint.contains("denied"),
        "{hint}"
    );
    assert_eq!(check(&r, 0, "route")["status"], "fail");
    assert!(!sim.proxy_log().is_empty());
}

#[tokio::test]
async fn no_proxy_exempting_s3_keeps_the_gateway_path() {
    let sim = SimVpc::up();
    let net = sim.network(None, false).await;
    sim.bucket("sim-noproxy").await;
    sim.proxy();
    let run = sim.probe_env(
        &["check", "--bucket", "sim-noproxy", "--output", "json"],
        &[
            ("HTTPS_PROXY", &sim.proxy_url()),
            ("NO_PROXY", ".amazonaws.com"),
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let r = run.json();
    let path = &r["targets"][0]["path"];
    assert_eq!(path["verdict"], "gateway_endpoint", "{path}");
    assert_eq!(path["vpc_endpoint_id"], net.endpoint_id);
    assert_eq!(check(&r, 0, "s3_put")["detail"]["peer"], "52.216.0.10:443");
    assert_eq!(r["proxy"]["no_proxy"][0], ".amazonaws.com");
    assert!(finding_codes(&r).is_empty(), "{:?}", finding_codes(&r));
    assert!(sim.proxy_log().is_empty(), "{:?}", sim.proxy_log());
}
