//! End to end on the simulated VPC, beyond the route table: the instance's security group and its
//! subnet's network ACL, changed in moto and enforced by the sim (`vpc.sh firewall` derives
//! nftables rules from moto's state). A silent drop must be blamed on the component that drops
//! it, with the command that fixes it; and that command, applied, must fix it.

mod common;

use std::time::Duration;

use aws_sdk_ec2::types::{IpPermission, IpRange, PortRange, PrefixListId, RuleAction};
use common::vpc::{Network, SimVpc};
use common::*;
use serde_json::Value;

/// What the EC2 API is reached at in the sim (so the probe can still describe the network).
const EC2_API: &str = "54.239.28.0/24";
/// The run's bounds in the scenarios where S3 connections hang.
const TIMEOUT_S: u64 = 6;
const ARGS_BOUNDED: [&str; 4] = ["--timeout", "6", "--connect-timeout", "2"];

fn tcp443() -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443)
}

/// Replace the group's egress (moto's default: all traffic) by `rules`, and enforce it.
async fn egress_only(sim: &SimVpc, net: &Network, rules: Vec<IpPermission>) {
    let ec2 = sim.ec2();
    ec2.revoke_security_group_egress()
        .group_id(&net.security_group_id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    ec2.authorize_security_group_egress()
        .group_id(&net.security_group_id)
        .set_ip_permissions(Some(rules))
        .send()
        .await
        .unwrap();
    sim.firewall();
}

fn to_ec2_api() -> IpPermission {
    tcp443()
        .ip_ranges(IpRange::builder().cidr_ip(EC2_API).build())
        .build()
}

/// A run whose S3 connections hang: exit 1 within the deadline, the S3 step failed at connect,
/// and the route is not blamed.
fn hung(sim: &SimVpc, bucket: &str) -> Value {
    let mut args = vec!["check", "--bucket", bucket, "--output", "json"];
    args.extend(ARGS_BOUNDED);
    let run = sim.probe(&args);
    eprintln!("bounded run: {:?} (--timeout {TIMEOUT_S})", run.elapsed);
    fault::assert_sound(&run, 1, Duration::from_secs(TIMEOUT_S));
    let r = run.json();
    let head = check(&r, 0, "s3_head_bucket");
    assert_eq!(head["error"]["code"], "connect_timeout", "{head}");
    assert_eq!(check(&r, 0, "route")["status"], "pass");
    assert_eq!(r["targets"][0]["path"]["verdict"], "gateway_endpoint");
    let codes = finding_codes(&r);
    for wrong in [
        "no_route_to_s3",
        "s3_unreachable",
        "gateway_endpoint_not_on_route_table",
    ] {
        assert!(!codes.contains(&wrong.to_string()), "{wrong}: {codes:?}");
    }
    r
}

#[tokio::test]
async fn a_group_that_allows_s3_by_the_prefix_list_is_healthy() {
    let sim = SimVpc::up();
    let net = sim.network(None, false).await;
    sim.bucket("sim-sgpl").await;
    let s3_rule = tcp443()
        .prefix_list_ids(
            PrefixListId::builder()
                .prefix_list_id(&net.prefix_list_id)
                .build(),
        )
        .build();
    egress_only(&sim, &net, vec![s3_rule, to_ec2_api()]).await;
    let run = sim.probe(&["check", "--bucket", "sim-sgpl", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let r = run.json();
    let sg = check(&r, 0, "security_group");
    assert_eq!(sg["status"], "pass", "{sg}");
    let by = sg["detail"]["allowed_by"].as_str().unwrap();
    assert!(
        by.starts_with(&net.security_group_id) && by.contains(&net.prefix_list_id),
        "{by}"
    );
    assert_eq!(check(&r, 0, "network_acl")["status"], "pass");
    assert!(finding_codes(&r).is_empty(), "{:?}", r["findings"]);
    // the evidence is in the report: the group as the EC2 API described it
    assert_eq!(
        r["network"]["security_groups"][0]["id"],
        net.security_group_id
    );
}

#[tokio::test]
async fn a_group_without_an_s3_rule_is_blamed_and_its_fix_works() {
    let sim = SimVpc::up();
    let net = sim.network(None, false).await;
    sim.bucket("sim-sgno").await;
    egress_only(&sim, &net, vec![to_ec2_api()]).await;
    let r = hung(&sim, "sim-sgno");
    let sg = check(&r, 0, "security_group");
    assert_eq!(sg["status"], "fail", "{sg}");
    let f = finding(&r, "security_group_blocks_s3");
    assert_eq!(f["component"], "security_group");
    assert_eq!(f["severity"], "error");
    let command = format!(
        "aws ec2 authorize-security-group-egress --group-id {} --ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,PrefixListIds=[{{PrefixListId={}}}]'",
        net.security_group_id, net.prefix_list_id
    );
    assert!(
        f["hint"].as_str().unwrap().ends_with(&command),
        "{}",
        f["hint"]
    );
    let head_hint = check(&r, 0, "s3_head_bucket")["hint"].as_str().unwrap();
    assert!(
        head_hint.contains("silently dropped by the security group"),
        "{head_hint}"
    );

    // the hint's command, applied through moto, fixes it
    sim.ec2()
        .authorize_security_group_egress()
        .group_id(&net.security_group_id)
        .ip_permissions(
            tcp443()
                .prefix_list_ids(
                    PrefixListId::builder()
                        .prefix_list_id(&net.prefix_list_id)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    sim.firewall();
    let run = sim.probe(&["check", "--bucket", "sim-sgno", "--output", "json"]);
    fault::assert_sound(&run, 0, fault::DEFAULT_TIMEOUT);
}

#[tokio::test]
async fn a_silent_drop_behind_a_group_reference_rule_is_the_groups_not_the_routes() {
    let sim = SimVpc::up();
    let net = sim.network(None, false).await;
    sim.bucket("sim-sgref").await;
    // "HTTPS to the proxies' group": a group reference never matches an S3 address
    let proxies = sim
        .ec2()
        .create_security_group()
        .group_name("proxies")
        .description("the proxy fleet")
        .vpc_id(&net.vpc_id)
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    let to_proxies = tcp443()
        .user_id_group_pairs(
            aws_sdk_ec2::types::UserIdGroupPair::builder()
                .group_id(&proxies)
                .build(),
        )
        .build();
    egress_only(&sim, &net, vec![to_proxies, to_ec2_api()]).await;
    let r = hung(&sim, "sim-sgref");
    let f = finding(&r, "security_group_blocks_s3");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "naming {proxies} matches only members of that group"
        )),
        "{message}"
    );
}

#[tokio::test]
async fn an_acl_without_the_ephemeral_ports_inbound_is_blamed_and_its_fix_works() {
    let sim = SimVpc::up();
    let net = sim.network(None, false).await;
    sim.bucket("sim-acl").await;
    let ec2 = sim.ec2();
    let acl = ec2
        .create_network_acl()
        .vpc_id(&net.vpc_id)
        .send()
        .await
        .unwrap()
        .network_acl
        .unwrap()
        .network_acl_id
        .unwrap();
    // HTTPS out; in: HTTPS, and the answers of the EC2 API only (the classic mistake for S3)
    for (n, egress, cidr, ports) in [
        (100, true, "0.0.0.0/0", (443, 443)),
        (90, false, EC2_API, (1024, 65535)),
        (100, false, "0.0.0.0/0", (443, 443)),
    ] {
        ec2.create_network_acl_entry()
            .network_acl_id(&acl)
            .rule_number(n)
            .egress(egress)
            .protocol("6")
            .rule_action(RuleAction::Allow)
            .cidr_block(cidr)
            .port_range(PortRange::builder().from(ports.0).to(ports.1).build())
            .send()
            .await
            .unwrap();
    }
    let association = ec2
        .describe_network_acls()
        .network_acl_ids(&net.network_acl_id)
        .send()
        .await
        .unwrap()
        .network_acls()[0]
        .associations()
        .iter()
        .find(|a| a.subnet_id() == Some(net.subnet_id.as_str()))
        .and_then(|a| a.network_acl_association_id())
        .unwrap()
        .to_string();
    ec2.replace_network_acl_association()
        .association_id(association)
        .network_acl_id(&acl)
        .send()
        .await
        .unwrap();
    sim.firewall();

    let r = hung(&sim, "sim-acl");
    assert_eq!(check(&r, 0, "security_group")["status"], "pass");
    let c = check(&r, 0, "network_acl");
    assert_eq!(c["status"], "fail", "{c}");
    assert_eq!(c["detail"]["network_acl_id"], acl);
    assert_eq!(c["detail"]["local_ports"], "32768-60999");
    let f = finding(&r, "network_acl_blocks_s3");
    assert_eq!(f["component"], "network_acl");
    let hint = f["hint"].as_str().unwrap();
    let want = format!(
        "aws ec2 create-network-acl-entry --network-acl-id {acl} --ingress --rule-number 110 --protocol tcp --port-range From=1024,To=65535 --cidr-block "
    );
    assert!(hint.contains(&want), "{hint}");
    // the S3 prefix list's block that holds the address
    let cidr = hint[hint.find(&want).unwrap() + want.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(
        r["network"]["prefix_list"]["cidrs"]
            .as_array()
            .unwrap()
            .contains(&Value::from(cidr.clone())),
        "{cidr}"
    );
    assert!(
        check(&r, 0, "s3_head_bucket")["hint"]
            .as_str()
            .unwrap()
            .contains("silently dropped by the network acl")
    );

    // the healthy twin: the hint's entry, applied through moto
    ec2.create_network_acl_entry()
        .network_acl_id(&acl)
        .rule_number(110)
        .egress(false)
        .protocol("6")
        .rule_action(RuleAction::Allow)
        .cidr_block(&cidr)
        .port_range(PortRange::builder().from(1024).to(65535).build())
        .send()
        .await
        .unwrap();
    sim.firewall();
    let run = sim.probe(&["check", "--bucket", "sim-acl", "--output", "json"]);
    fault::assert_sound(&run, 0, fault::DEFAULT_TIMEOUT);
    let r = run.json();
    assert_eq!(check(&r, 0, "network_acl")["status"], "pass");
    assert!(finding_codes(&r).is_empty(), "{:?}", r["findings"]);
}
