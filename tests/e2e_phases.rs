//! Phase timings end to end (issue 10, item 2): every S3, EC2 and IMDS request of a healthy run
//! has its phases (DNS, connect, TLS, time to first byte, transfer), a request on a kept-alive
//! connection says `reused` and has no connection phases, the phases add up to no more than the
//! request (and the check) took, the table shows them with `-v` (and without it only for slow
//! requests), and Prometheus has the per-phase series of the S3 operations. On the loopback
//! harness (moto and the IMDS emulator over plain HTTP by IP) and on the simulated VPC (real
//! names through the VPC's DNS, HTTPS to S3 and the EC2 API).

mod common;

use aws_sdk_s3::primitives::ByteStream;
use common::vpc::SimVpc;
use common::*;
use serde_json::Value;

const S3_CHECKS: [&str; 5] = ["s3_head_bucket", "s3_list", "s3_put", "s3_get", "s3_delete"];
const PHASES: [&str; 5] = ["dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "transfer_ms"];

/// The sum of the phases present (ms).
fn sum(p: &Value) -> f64 {
    PHASES.iter().filter_map(|k| p[*k].as_f64()).sum()
}

/// A `phases` object is coherent: numbers ≥ 0, a reused connection has no connection phase, a
/// new one has its connect (and `tls` exactly over HTTPS, `dns` exactly for a name).
fn assert_coherent(p: &Value, https: bool, by_name: bool, what: &str) {
    assert!(p.is_object(), "{what}: no phases");
    for k in PHASES {
        if let Some(v) = p.get(k) {
            assert!(v.as_f64().is_some_and(|v| v >= 0.0), "{what}: {k} = {v}");
        }
    }
    assert!(
        p["ttfb_ms"].is_number(),
        "{what}: an answer has a ttfb: {p}"
    );
    if p["reused"] == true {
        for k in ["dns_ms", "connect_ms", "tls_ms"] {
            assert!(p.get(k).is_none(), "{what}: reused yet {k}: {p}");
        }
    } else {
        assert_eq!(p["reused"], false, "{what}: {p}");
        assert!(p["connect_ms"].is_number(), "{what}: new connection: {p}");
        assert_eq!(p["tls_ms"].is_number(), https, "{what}: tls: {p}");
        assert_eq!(p["dns_ms"].is_number(), by_name, "{what}: dns: {p}");
    }
}

/// Every request timing of `list` answered and is coherent; the phases fit in its duration. A
/// host by name is reached over HTTPS (the simulated VPC's AWS names), one by IP over HTTP
/// (IMDS, the loopback harness).
fn assert_requests(list: &Value, what: &str) -> usize {
    let list = list
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no requests"));
    for (i, q) in list.iter().enumerate() {
        let what = format!("{what}[{i}] {} {}", q["method"], q["path"]);
        assert!(q["http_status"].is_u64(), "{what}: no answer: {q}");
        let by_name = q["host"]
            .as_str()
            .is_some_and(|h| h.parse::<std::net::IpAddr>().is_err());
        assert_coherent(&q["phases"], by_name, by_name, &what);
        let d = q["duration_ms"].as_f64().expect("duration_ms");
        assert!(
            sum(&q["phases"]) <= d + 0.01,
            "{what}: the phases ({}) exceed the request ({d} ms): {q}",
            sum(&q["phases"])
        );
        assert!(q.get("query").is_none() && !q["path"].as_str().unwrap().contains('?'));
    }
    list.len()
}

/// The S3 checks of target 0 each have coherent phases that fit in the check's duration
/// (`duration_ms` is truncated to whole ms: 1 ms of slack).
fn assert_s3_phases(r: &Value, https: bool, by_name: bool) -> Vec<Value> {
    S3_CHECKS
        .iter()
        .map(|name| {
            let c = check(r, 0, name);
            assert_eq!(c["status"], "pass", "{name}: {c}");
            let p = &c["detail"]["phases"];
            assert_coherent(p, https, by_name, name);
            assert!(p["transfer_ms"].is_number(), "{name}: body read: {p}");
            let d = c["duration_ms"].as_f64().unwrap();
            assert!(sum(p) <= d + 1.0, "{name}: phases {} > {d} ms: {p}", sum(p));
            p.clone()
        })
        .collect()
}

/// Under `check`'s line in the table, the phase lines that follow it.
fn phase_lines_under<'a>(table: &'a str, check: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = table.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.trim_start().starts_with(&format!("{check} ")))
        .unwrap_or_else(|| panic!("no {check} line:\n{table}"));
    lines[i + 1..]
        .iter()
        .take_while(|l| l.starts_with("                  "))
        .copied()
        .collect()
}

#[tokio::test]
async fn loopback_every_request_has_its_phases() {
    let moto = Moto::start();
    let imds = Imds::start(instance_with_role());
    let s3 = moto.s3();
    s3.create_bucket()
        .bucket("phases-bucket")
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket("phases-bucket")
        .key("data/x")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    // moto loads its EC2 backend on the first EC2 call, which can outlast the probe's 4 s
    // bound on a loaded machine: load it first.
    aws_sdk_ec2::Client::new(&admin_sdk(&moto.url(), "us-east-1", None))
        .describe_vpcs()
        .send()
        .await
        .unwrap();
    let probe = || Probe::new().moto(&moto).imds(&imds);

    let run = probe()
        .args(["check", "--bucket", "phases-bucket", "--output", "json"])
        .run();
    let r = run.json(); // validated against docs/report.schema.json
    assert!(
        run.code == 0 || run.code == 1,
        "{}\n{}",
        run.stdout,
        run.stderr
    );

    // S3 over plain HTTP to 127.0.0.1: no DNS, no TLS.
    assert_s3_phases(&r, false, false);

    // IMDS: the token first, on a new connection; a later request to the same host on a
    // kept-alive one (the emulator keeps connections open).
    let ctx = &r["context"]["requests"];
    let n = assert_requests(ctx, "context.requests");
    assert!(n >= 8, "the token and the metadata reads: {ctx}");
    assert_eq!(ctx[0]["method"], "PUT");
    assert_eq!(ctx[0]["path"], "/latest/api/token");
    assert_eq!(ctx[0]["phases"]["reused"], false, "{}", ctx[0]);
    assert!(
        ctx.as_array().unwrap()[1..]
            .iter()
            .any(|q| q["phases"]["reused"] == true),
        "{ctx}"
    );
    assert!(
        ctx.as_array()
            .unwrap()
            .iter()
            .all(|q| q["host"] == "127.0.0.1" && !q.to_string().contains("token\":")),
        "{ctx}"
    );

    // The role's credentials.
    let creds = &r["credentials"]["requests"];
    assert!(assert_requests(creds, "credentials.requests") >= 1);
    assert!(
        creds.as_array().unwrap().iter().any(|q| q["path"]
            .as_str()
            .unwrap()
            .starts_with("/latest/meta-data/iam/security-credentials/")),
        "{creds}"
    );

    // The EC2 API: each call named by its action. (moto's first EC2 call can be slow under
    // load: a call that timed out has no answer and is left out of the coherence check.)
    let net = r["network"]["requests"]
        .as_array()
        .expect("network.requests");
    let answered: Vec<Value> = net
        .iter()
        .filter(|q| q["http_status"].is_u64())
        .cloned()
        .collect();
    assert_requests(&Value::Array(answered.clone()), "network.requests");
    let actions: Vec<&str> = answered
        .iter()
        .filter_map(|q| q["action"].as_str())
        .collect();
    for a in [
        "DescribeRouteTables",
        "DescribeVpcEndpoints",
        "DescribeNetworkAcls",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}: {net:?}");
    }

    // The table: every S3 check's phases with -v; without it, only a slow request's.
    let v = probe()
        .args(["check", "--bucket", "phases-bucket", "-v"])
        .run();
    for name in S3_CHECKS {
        let under = phase_lines_under(&v.stdout, name);
        assert!(
            under
                .iter()
                .any(|l| l.contains("phases: ") && l.contains("ttfb ") && l.contains("transfer ")),
            "{name} with -v:\n{}",
            v.stdout
        );
    }
    assert!(
        phase_lines_under(&v.stdout, "imds")
            .iter()
            .any(|l| l.contains("PUT /latest/api/token (200): connect ")),
        "{}",
        v.stdout
    );
    assert!(
        phase_lines_under(&v.stdout, "prefix_list")
            .iter()
            .any(|l| l.contains("DescribeRouteTables (200): ")),
        "{}",
        v.stdout
    );
    let quiet = probe().args(["check", "--bucket", "phases-bucket"]).run();
    for name in S3_CHECKS {
        let line = quiet
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap();
        let ms: u64 = line
            .split_whitespace()
            .nth(2)
            .and_then(|t| t.strip_suffix("ms"))
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("time of {line}"));
        for l in phase_lines_under(&quiet.stdout, name) {
            // shown without -v: the operation took a second, or one phase did
            assert!(
                ms >= 1000 || l.contains(" s ·") || l.ends_with(" s"),
                "{name} ({ms} ms) is not slow, yet: {l}\n{}",
                quiet.stdout
            );
        }
    }

    // Prometheus: the per-phase series of the S3 operations.
    let prom = probe()
        .args([
            "check",
            "--bucket",
            "phases-bucket",
            "--output",
            "prometheus",
        ])
        .run();
    for name in S3_CHECKS {
        for phase in ["ttfb", "transfer"] {
            let series = format!(
                "vpce_probe_request_phase_seconds{{bucket=\"phases-bucket\",region=\"us-east-1\",check=\"{name}\",phase=\"{phase}\"}} "
            );
            assert!(prom.stdout.contains(&series), "{series}\n{}", prom.stdout);
        }
        assert!(prom.stdout.contains(&format!(
            "vpce_probe_connection_reused{{bucket=\"phases-bucket\",region=\"us-east-1\",check=\"{name}\"}} "
        )));
    }
    assert!(!prom.stdout.contains("phase=\"tls\""), "no TLS over HTTP");
}

#[tokio::test]
async fn sim_https_first_request_pays_dns_connect_and_tls_then_reuses() {
    let sim = SimVpc::up();
    sim.network(None, false).await;
    sim.bucket("sim-phases").await;
    // S3's front forwards untouched and keeps connections alive (moto closes each one).
    sim.s3_front(serde_json::json!({"rules": []}));
    let run = sim.probe(&["check", "--bucket", "sim-phases", "--output", "json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let r = run.json();

    // S3 over HTTPS, by name through the VPC's DNS.
    let ps = assert_s3_phases(&r, true, true);
    let first = &ps[0];
    assert_eq!(
        first["reused"], false,
        "the first request opens the connection: {first}"
    );
    for k in ["dns_ms", "connect_ms", "tls_ms"] {
        assert!(first[k].is_number(), "s3_head_bucket {k}: {first}");
    }
    assert!(
        ps[1..].iter().any(|p| p["reused"] == true),
        "a later request to the same host reuses the connection: {ps:?}"
    );

    // The EC2 API over HTTPS by name: its first call pays DNS, connect and TLS.
    let net = &r["network"]["requests"];
    assert_requests(net, "network.requests");
    let ec2: Vec<&Value> = net
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["host"] == "ec2.us-east-1.amazonaws.com")
        .collect();
    assert!(ec2.len() >= 4, "{net}");
    assert!(ec2.iter().all(|q| q["action"].is_string()), "{net}");
    // IMDS at 169.254.169.254 over HTTP: no DNS, no TLS.
    assert_requests(&r["context"]["requests"], "context.requests");
    assert_eq!(r["context"]["requests"][0]["host"], "169.254.169.254");
}
