//! End to end: names resolve through the probe's own resolver (hickory over
//! `/etc/resolv.conf`), never through glibc's getaddrinfo/NSS — the static binary must not
//! depend on NSS at run time. Each test runs the binary in a private mount namespace whose
//! `nsswitch.conf` has no `dns` source, so only a resolver that reads `resolv.conf` itself
//! can find the S3 name, served by a dnsmasq of the test's own.

mod common;

use common::*;

const NSS_FILES_ONLY: &str = "hosts: files\n";

#[tokio::test]
async fn s3_name_resolves_through_the_probes_resolver_not_nss() {
    let moto = Moto::start();
    moto.s3()
        .create_bucket()
        .bucket("dns-bucket")
        .send()
        .await
        .unwrap();
    // The real S3 name (and, by dnsmasq's sub-domain match, `<bucket>.s3...`), served locally.
    let dns = Dnsmasq::start(&[("s3.us-east-1.amazonaws.com", Some("127.0.0.1"))]);
    // As on EC2: a search domain. Fully qualified queries never get it appended.
    let resolv = format!("nameserver {}\nsearch ec2.internal\n", dns.ip);
    let run = Probe::with_etc(&resolv, NSS_FILES_ONLY)
        .no_imds()
        .env_keys()
        .env(
            "AWS_ENDPOINT_URL_S3",
            &format!("http://s3.us-east-1.amazonaws.com:{}", moto.port),
        )
        .args([
            "check",
            "--bucket",
            "dns-bucket",
            "--region",
            "us-east-1",
            "--output",
            "json",
        ])
        .run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let r = run.json();
    assert_eq!(check(&r, 0, "s3_get")["status"], "pass");
    assert_eq!(
        check(&r, 0, "s3_head_bucket")["detail"]["peer"],
        format!("127.0.0.1:{}", moto.port)
    );
    let answers = r["dns"].as_array().unwrap();
    let answer = answers
        .iter()
        .find(|a| a["name"] == "dns-bucket.s3.us-east-1.amazonaws.com")
        .unwrap_or_else(|| panic!("the lookup is recorded: {answers:?}"));
    assert_eq!(answer["addresses"], serde_json::json!(["127.0.0.1"]));
    // Every distinct answer is listed once, however many connections resolved the name.
    let mut seen = std::collections::HashSet::new();
    for a in answers {
        assert!(
            seen.insert(a.to_string().replace(&a["duration_ms"].to_string(), "")),
            "repeated: {answers:?}"
        );
    }
    let queries = dns.queries();
    assert!(
        queries
            .iter()
            .any(|q| q == "A dns-bucket.s3.us-east-1.amazonaws.com"),
        "dnsmasq logged the queries: {queries:?}"
    );
    let expanded: Vec<&String> = queries
        .iter()
        .filter(|q| q.contains("ec2.internal"))
        .collect();
    assert!(
        expanded.is_empty(),
        "names are queried fully qualified: {expanded:?}"
    );
    // virtual-hosted style: the bucket's own name was resolved and used
    let host_line = moto
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("PUT "))
        .count();
    assert!(host_line >= 1, "the probe wrote through the resolved name");
}

#[test]
fn unresolvable_s3_name_is_a_dns_failure() {
    let dns = Dnsmasq::start(&[("nx.probe.test", None)]);
    let run = Probe::with_etc(&format!("nameserver {}\n", dns.ip), NSS_FILES_ONLY)
        .no_imds()
        .env_keys()
        .env("AWS_ENDPOINT_URL_S3", "http://nx.probe.test:9000")
        .args([
            "check",
            "--bucket",
            "dns-bucket",
            "--region",
            "us-east-1",
            "--path-style",
            "--output",
            "json",
        ])
        .run();
    fault::assert_sound(&run, 1, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    let head = check(&r, 0, "s3_head_bucket");
    assert_eq!(head["error"]["phase"], "dns", "{head}");
    assert_eq!(head["error"]["code"], "dns_error");
    assert!(
        head["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nx.probe.test")
    );
    assert!(head["hint"].as_str().unwrap().contains("did not resolve"));
    assert_eq!(check(&r, 0, "s3_list")["detail"]["reason"], "unreachable");
    assert!(finding_codes(&r).contains(&"dns_failure".to_string()));
    assert!(
        run.elapsed < std::time::Duration::from_secs(5),
        "{:?}",
        run.elapsed
    );
}
