//! End to end: the EC2 API's faults (docs/faults.md, "EC2 API"). The built probe asks the EC2
//! Query API through `AWS_ENDPOINT_URL_EC2` pointing at the EC2 front
//! (tests/emulators/ec2_front.py), which forwards to moto's EC2 and injects what moto never
//! does: EC2's throttling (`RequestLimitExceeded`, HTTP 503, EC2's XML error) and answers cut
//! into pages (`nextToken`), including an empty first page. The VPC, subnet, security groups,
//! network ACL and endpoints are real moto resources; IMDS (the emulator) describes an instance
//! in them.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_ec2::types::{IpPermission, IpRange, VpcEndpointType};
use common::fault::assert_sound;
use common::*;
use serde_json::{Value, json};

/// The EC2 front, in front of `moto`, with its request log.
struct Ec2Front {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Ec2Front {
    fn start(moto: &Moto, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("ec2front.log");
        let mut child = Command::new(venv().join("bin/python"))
            .arg(repo().join("tests/emulators/ec2_front.py"))
            .args(["--upstream", &moto.url(), "--log"])
            .arg(&log)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the EC2 front");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the EC2 front did not start: {line:?}"));
        Ec2Front {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request the front saw.
    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The requests of `action`.
    fn of(&self, action: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["action"] == action)
            .collect()
    }
}

impl Drop for Ec2Front {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A local mirror of AWS's ip-ranges document (python's http.server).
struct IpRanges {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl IpRanges {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("ip-ranges.json"),
            r#"{"syncToken":"1","createDate":"2026-11-01-00-00-00","prefixes":[
              {"ip_prefix":"52.216.0.0/15","region":"us-east-1","service":"S3","network_border_group":"us-east-1"}],
              "ipv6_prefixes":[]}"#,
        )
        .unwrap();
        let port = free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
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
        IpRanges {
            child,
            port,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/ip-ranges.json", self.port)
    }
}

impl Drop for IpRanges {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the test built in moto's EC2.
struct Network {
    vpc: String,
    subnet: String,
    route_table: String,
    acl: String,
    groups: Vec<String>,
    endpoints: Vec<String>,
    /// The S3 prefix list's entries as moto holds them.
    s3_cidrs: Vec<String>,
}

/// A VPC with a subnet, its own route table (to an internet gateway), three security groups (each with one egress rule
/// of its own) and two S3 endpoints (gateway and interface), in moto.
async fn network(moto: &Moto) -> Network {
    let ec2 = aws_sdk_ec2::Client::new(&admin_sdk(&moto.url(), "us-east-1", None));
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.0.1.0/24")
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_string();
    let route_table = ec2
        .create_route_table()
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_string();
    ec2.associate_route_table()
        .route_table_id(&route_table)
        .subnet_id(&subnet)
        .send()
        .await
        .unwrap();
    // a way out for what the gateway endpoint does not carry (the loopback S3 of this harness)
    let igw = ec2
        .create_internet_gateway()
        .send()
        .await
        .unwrap()
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_string();
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    ec2.create_route()
        .route_table_id(&route_table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await
        .unwrap();
    let mut groups = Vec::new();
    for (i, cidr) in ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"]
        .iter()
        .enumerate()
    {
        let g = ec2
            .create_security_group()
            .group_name(format!("probe-{i}"))
            .description("e2e")
            .vpc_id(&vpc)
            .send()
            .await
            .unwrap()
            .group_id()
            .unwrap()
            .to_string();
        ec2.authorize_security_group_egress()
            .group_id(&g)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(443)
                    .to_port(443)
                    .ip_ranges(IpRange::builder().cidr_ip(*cidr).build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        groups.push(g);
    }
    let mut endpoints = Vec::new();
    for t in [VpcEndpointType::Gateway, VpcEndpointType::Interface] {
        let mut req = ec2
            .create_vpc_endpoint()
            .vpc_id(&vpc)
            .service_name("com.amazonaws.us-east-1.s3")
            .vpc_endpoint_type(t.clone());
        req = match t {
            VpcEndpointType::Gateway => req.route_table_ids(&route_table),
            _ => req.subnet_ids(&subnet),
        };
        let e = req.send().await.unwrap();
        endpoints.push(
            e.vpc_endpoint()
                .unwrap()
                .vpc_endpoint_id()
                .unwrap()
                .to_string(),
        );
    }
    let acl = ec2
        .describe_network_acls()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("association.subnet-id")
                .values(&subnet)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .network_acls()[0]
        .network_acl_id()
        .unwrap()
        .to_string();
    let pl = s3_prefix_list_id(&ec2).await;
    let s3_cidrs = ec2
        .get_managed_prefix_list_entries()
        .prefix_list_id(&pl)
        .send()
        .await
        .unwrap()
        .entries()
        .iter()
        .filter_map(|e| e.cidr().map(str::to_string))
        .collect();
    Network {
        vpc,
        subnet,
        route_table,
        acl,
        groups,
        endpoints,
        s3_cidrs,
    }
}

/// The IMDS emulator describing an instance in `net`, with a role (credentials from IMDS).
fn imds_in(net: &Network) -> Imds {
    Imds::start(json!({
        "role": "vpce-probe-test-role",
        "vpc_id": net.vpc,
        "subnet_id": net.subnet,
        "security_group_ids": net.groups,
    }))
}

async fn bucket(moto: &Moto, name: &str) {
    moto.s3().create_bucket().bucket(name).send().await.unwrap();
}

/// The bucket is left as found: no object, no version, no delete marker.
async fn assert_bucket_empty(moto: &Moto, name: &str) {
    common::assert_bucket_empty(&moto.s3(), name).await;
}

const TIMEOUT: Duration = Duration::from_secs(8);

fn probe(moto: &Moto, imds: &Imds, front: &Ec2Front, bucket: &str) -> Probe {
    Probe::new()
        .moto(moto)
        .imds(imds)
        .env("AWS_ENDPOINT_URL_EC2", &front.url())
        .args(["-vvv", "check", "--bucket", bucket, "--output", "json"])
        .args(["--timeout", &TIMEOUT.as_secs().to_string()])
}

fn codes(r: &Value) -> Vec<String> {
    finding_codes(r)
}

#[tokio::test]
async fn ec2_throttled_through_every_retry_falls_back_to_ip_ranges() {
    let moto = Moto::start();
    let net = network(&moto).await;
    let imds = imds_in(&net);
    bucket(&moto, "throttled-bucket").await;
    let ranges = IpRanges::start();
    let front = Ec2Front::start(&moto, &["--throttle", "DescribeManagedPrefixLists=-1"]);
    let run = probe(&moto, &imds, &front, "throttled-bucket")
        .args(["--max-attempts", "3"])
        .env("VPCE_PROBE_IP_RANGES_URL", &ranges.url())
        .run();
    assert_sound(&run, 0, TIMEOUT);
    let r = run.json();
    let pl = run_check(&r, "prefix_list");
    assert_eq!(pl["status"], "warn", "{pl}");
    assert_eq!(pl["detail"]["source"], "ip_ranges", "{pl}");
    assert_eq!(pl["detail"]["cidrs"], json!(["52.216.0.0/15"]));
    assert_eq!(pl["error"]["code"], "RequestLimitExceeded", "{pl}");
    assert_eq!(pl["error"]["http_status"], 503, "{pl}");
    let msg = pl["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("after 3 attempts") && msg.contains("request id"),
        "{msg}"
    );
    // a throttled EC2 API is said to be throttled, and IAM is not blamed
    assert!(
        codes(&r).contains(&"ec2_api_throttled".to_string()),
        "{:?}",
        codes(&r)
    );
    assert!(!codes(&r).contains(&"prefix_list_fallback".to_string()));
    let f = finding(&r, "ec2_api_throttled");
    assert_eq!(f["component"], "ec2_api");
    let hint = f["hint"].as_str().unwrap();
    assert!(
        hint.contains("throttled") && !hint.contains("allow ec2:"),
        "{hint}"
    );
    // exactly --max-attempts attempts, each one throttled, none reached moto
    let tried = front.of("DescribeManagedPrefixLists");
    assert_eq!(tried.len(), 3, "{tried:?}");
    assert!(tried.iter().all(|t| t["status"] == 503));
    // the other calls were not throttled and were answered
    assert_eq!(r["network"]["route_table"]["id"], net.route_table.as_str());
    assert_eq!(check(&r, 0, "s3_get")["status"], "pass");
    assert_bucket_empty(&moto, "throttled-bucket").await;
}

#[tokio::test]
async fn ec2_throttled_once_is_retried_and_the_ec2_list_is_used() {
    let moto = Moto::start();
    let net = network(&moto).await;
    let imds = imds_in(&net);
    bucket(&moto, "retried-bucket").await;
    let front = Ec2Front::start(
        &moto,
        &[
            "--throttle",
            "DescribeManagedPrefixLists=1",
            "--throttle",
            "GetManagedPrefixListEntries=1",
            "--throttle",
            "DescribeRouteTables=1",
        ],
    );
    // the default --max-attempts (2): one retry each
    let run = probe(&moto, &imds, &front, "retried-bucket").run();
    assert_sound(&run, 0, TIMEOUT);
    let r = run.json();
    let pl = run_check(&r, "prefix_list");
    assert_eq!(pl["status"], "pass", "{pl}");
    assert_eq!(pl["detail"]["source"], "ec2");
    assert_eq!(pl["detail"]["cidrs"], json!(net.s3_cidrs));
    assert_eq!(r["network"]["route_table"]["id"], net.route_table.as_str());
    assert!(
        !codes(&r)
            .iter()
            .any(|c| c.starts_with("ec2_api") || c.starts_with("prefix_list"))
    );
    for action in [
        "DescribeManagedPrefixLists",
        "GetManagedPrefixListEntries",
        "DescribeRouteTables",
    ] {
        let statuses: Vec<Value> = front
            .of(action)
            .iter()
            .map(|t| t["status"].clone())
            .collect();
        assert_eq!(statuses, [json!(503), json!(200)], "{action}");
    }
    assert_bucket_empty(&moto, "retried-bucket").await;
}

#[tokio::test]
async fn paginated_ec2_answers_are_read_in_full() {
    let moto = Moto::start();
    let net = network(&moto).await;
    assert!(
        net.s3_cidrs.len() > 1,
        "moto's S3 prefix list: {:?}",
        net.s3_cidrs
    );
    let imds = imds_in(&net);
    bucket(&moto, "paged-bucket").await;
    let front = Ec2Front::start(
        &moto,
        &[
            "--page",
            "GetManagedPrefixListEntries=1",
            "--page",
            "DescribeSecurityGroups=1",
            "--page",
            "DescribeVpcEndpoints=1",
            // a filtered answer whose first page is empty: the table and the ACL are on the next
            "--empty-first",
            "DescribeRouteTables",
            "--empty-first",
            "DescribeNetworkAcls",
            "--empty-first",
            "DescribeManagedPrefixLists",
        ],
    );
    let run = probe(&moto, &imds, &front, "paged-bucket").run();
    assert_sound(&run, 0, TIMEOUT);
    let r = run.json();
    let n = &r["network"];
    // every page of the S3 prefix list, in order
    assert_eq!(n["prefix_list"]["source"], "ec2", "{}", n["prefix_list"]);
    assert_eq!(n["prefix_list"]["cidrs"], json!(net.s3_cidrs));
    assert_eq!(
        front.of("GetManagedPrefixListEntries").len(),
        net.s3_cidrs.len(),
        "one request per page"
    );
    // the subnet's own table and ACL, found on the second page (not the main table, not an error)
    assert_eq!(n["route_table"]["id"], net.route_table.as_str(), "{n}");
    assert_eq!(n["route_table"]["main"], false);
    assert_eq!(n["network_acl"]["id"], net.acl.as_str(), "{n}");
    assert_eq!(n["network_acl"]["associated"], true);
    // every group, each with its own egress rule
    let groups: Vec<&str> = n["security_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(groups, net.groups, "{n}");
    for (g, cidr) in n["security_groups"].as_array().unwrap().iter().zip([
        "10.1.0.0/16",
        "10.2.0.0/16",
        "10.3.0.0/16",
    ]) {
        let cidrs: Vec<&Value> = g["egress"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|e| e["cidrs"].as_array().unwrap().iter())
            .collect();
        assert!(cidrs.contains(&&json!(cidr)), "{g}");
    }
    assert_eq!(front.of("DescribeSecurityGroups").len(), 3);
    // both endpoints, one page each
    let mut eps: Vec<&str> = n["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    eps.sort();
    let mut want = net.endpoints.clone();
    want.sort();
    assert_eq!(eps, want, "{n}");
    // the later pages were asked for with the token the previous page gave
    for action in [
        "DescribeRouteTables",
        "DescribeNetworkAcls",
        "DescribeVpcEndpoints",
    ] {
        let tokens: Vec<Value> = front
            .of(action)
            .iter()
            .map(|t| t["next_token"].clone())
            .collect();
        assert_eq!(tokens[0], Value::Null, "{action}: {tokens:?}");
        assert!(
            tokens[1..].iter().all(|t| t.is_string()),
            "{action}: {tokens:?}"
        );
        assert!(tokens.len() >= 2, "{action}: {tokens:?}");
    }
    assert_bucket_empty(&moto, "paged-bucket").await;
}
