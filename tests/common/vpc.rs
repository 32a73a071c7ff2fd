//! The simulated VPC of `tests/sim/vpc.sh`: network namespaces, routes, dnsmasq answering the
//! real AWS names, moto behind TLS on 443, and the IMDS emulator at 169.254.169.254 — so the
//! probe resolves, routes and connects exactly as on EC2, with no endpoint override.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use aws_sdk_ec2::types::{Filter, VpcEndpointType};
use serde_json::{Value, json};
use tempfile::TempDir;

use super::{Run, repo, run_bounded};

fn sim_script() -> PathBuf {
    repo().join("tests/sim/vpc.sh")
}

/// One running simulation; torn down on drop.
pub struct SimVpc {
    pub name: String,
    pub env: HashMap<String, String>,
    dir: TempDir,
    state: TempDir,
}

/// What the harness created in moto's EC2 for a scenario.
#[derive(Debug, Clone)]
pub struct Network {
    pub vpc_id: String,
    pub subnet_id: String,
    pub route_table_id: String,
    pub igw_id: String,
    pub endpoint_id: String,
    pub prefix_list_id: String,
    /// The instance's security group (IMDS names it; moto's default egress: all traffic).
    pub security_group_id: String,
    /// The subnet's network ACL (the VPC's default, associated by moto).
    pub network_acl_id: String,
}

fn run_script(args: &[&str]) -> std::process::Output {
    Command::new(sim_script())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tests/sim/vpc.sh")
}

impl SimVpc {
    /// Build a simulation (needs root, as `make test` runs).
    pub fn up() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("vpcsim")
            .tempdir()
            .expect("tempdir");
        let name = format!("v{:05x}", fastrand::u32(..0xfffff));
        let out = run_script(&["up", &name, dir.path().to_str().unwrap()]);
        assert!(
            out.status.success(),
            "tests/sim/vpc.sh up failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let env = std::fs::read_to_string(dir.path().join("env"))
            .expect("DIR/env")
            .lines()
            .filter_map(|l| {
                l.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        SimVpc {
            name,
            env,
            dir,
            state: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn var(&self, k: &str) -> &str {
        self.env
            .get(k)
            .unwrap_or_else(|| panic!("{k} missing from the sim's env"))
    }

    fn dir(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    fn sdk(&self, region: &str) -> aws_config::SdkConfig {
        let ca = std::fs::read(self.var("CA_BUNDLE")).expect("CA bundle");
        super::admin_sdk(self.var("ADMIN_URL"), region, Some(&ca))
    }

    /// An admin S3 client (through the harness's own way into the sim).
    /// Create bucket `name` in us-east-1 (through the admin way in).
    pub async fn bucket(&self, name: &str) {
        self.s3("us-east-1")
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .unwrap();
    }

    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk(region))
                .force_path_style(true)
                .build(),
        )
    }

    /// An admin EC2 client.
    pub fn ec2(&self) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.sdk("us-east-1"))
    }

    /// The classic setup: a VPC, the instance's subnet with its own route table (0.0.0.0/0 →
    /// IGW), an S3 gateway endpoint on that table (`policy`: None = full access), and the
    /// instance's security group. The IMDS emulator is restarted to describe an instance in that
    /// subnet and group with a role, and the sim enforces the group and the subnet's network ACL
    /// as moto holds them ([`SimVpc::firewall`]).
    pub async fn network(&self, policy: Option<&str>, subnet_on_main_table: bool) -> Network {
        let ec2 = self.ec2();
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .send()
            .await
            .unwrap()
            .vpc
            .unwrap()
            .vpc_id
            .unwrap();
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block("10.0.1.0/24")
            .send()
            .await
            .unwrap()
            .subnet
            .unwrap()
            .subnet_id
            .unwrap();
        let igw = ec2
            .create_internet_gateway()
            .send()
            .await
            .unwrap()
            .internet_gateway
            .unwrap()
            .internet_gateway_id
            .unwrap();
        ec2.attach_internet_gateway()
            .internet_gateway_id(&igw)
            .vpc_id(&vpc)
            .send()
            .await
            .unwrap();
        let rtb = if subnet_on_main_table {
            ec2.describe_route_tables()
                .filters(Filter::builder().name("vpc-id").values(&vpc).build())
                .filters(
                    Filter::builder()
                        .name("association.main")
                        .values("true")
                        .build(),
                )
                .send()
                .await
                .unwrap()
                .route_tables()[0]
                .route_table_id()
                .unwrap()
                .to_string()
        } else {
            let rtb = ec2
                .create_route_table()
                .vpc_id(&vpc)
                .send()
                .await
                .unwrap()
                .route_table
                .unwrap()
                .route_table_id
                .unwrap();
            ec2.associate_route_table()
                .route_table_id(&rtb)
                .subnet_id(&subnet)
                .send()
                .await
                .unwrap();
            rtb
        };
        ec2.create_route()
            .route_table_id(&rtb)
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id(&igw)
            .send()
            .await
            .unwrap();
        let mut req = ec2
            .create_vpc_endpoint()
            .vpc_id(&vpc)
            .service_name("com.amazonaws.us-east-1.s3")
            .vpc_endpoint_type(VpcEndpointType::Gateway)
            .route_table_ids(&rtb);
        if let Some(p) = policy {
            req = req.policy_document(p);
        }
        let vpce = req
            .send()
            .await
            .unwrap()
            .vpc_endpoint
            .unwrap()
            .vpc_endpoint_id
            .unwrap();
        let pl = super::s3_prefix_list_id(&ec2).await;
        let sg = ec2
            .create_security_group()
            .group_name("vpce-probe-sim-instance")
            .description("the simulated instance")
            .vpc_id(&vpc)
            .send()
            .await
            .unwrap()
            .group_id
            .unwrap();
        let acl = ec2
            .describe_network_acls()
            .filters(
                Filter::builder()
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
        self.imds(json!({
            "role": "vpce-probe-sim-role",
            "vpc_id": vpc,
            "subnet_id": subnet,
            "vpc_cidrs": ["10.0.0.0/16"],
            "local_ipv4": "10.0.1.10",
            "security_group_ids": [sg],
        }));
        self.firewall();
        Network {
            vpc_id: vpc,
            subnet_id: subnet,
            route_table_id: rtb,
            igw_id: igw,
            endpoint_id: vpce,
            prefix_list_id: pl,
            security_group_id: sg,
            network_acl_id: acl,
        }
    }

    /// Restart the IMDS emulator with this instance description.
    pub fn imds(&self, instance: Value) {
        let f = self.dir.path().join("instance-new.json");
        std::fs::write(&f, instance.to_string()).unwrap();
        let out = run_script(&["imds", &self.name, self.dir(), f.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "vpc.sh imds: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Enforce, in the instance namespace, the security groups and network ACL moto holds for
    /// the instance IMDS describes (`vpc.sh firewall`): call after changing them in moto.
    pub fn firewall(&self) {
        let out = run_script(&["firewall", &self.name, self.dir()]);
        assert!(
            out.status.success(),
            "vpc.sh firewall: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A network fault in the instance namespace (`blackhole`, `drop`, `unreachable`, `clear`).
    pub fn fault(&self, kind: &str, cidr: &str) {
        let out = run_script(&["fault", &self.name, kind, cidr]);
        assert!(
            out.status.success(),
            "vpc.sh fault: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Override what the VPC DNS answers for `host` (an IPv4, `nx`, `timeout`, `default`).
    pub fn dns(&self, host: &str, value: &str) {
        let out = run_script(&["dns", &self.name, self.dir(), host, value]);
        assert!(
            out.status.success(),
            "vpc.sh dns: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Start the forward proxy (`vpc.sh proxy`) at `PROXY_URL`; its CONNECTs go to
    /// [`SimVpc::proxy_log`].
    pub fn proxy(&self) {
        let out = run_script(&["proxy", &self.name, self.dir()]);
        assert!(
            out.status.success(),
            "vpc.sh proxy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Put S3's fault-injecting front (`tests/emulators/s3_front.py`) in the instance's path to
    /// S3 with these rules (`{"rules": [...]}`), or replace its rules; `{"rules": []}` forwards
    /// everything untouched.
    pub fn s3_front(&self, rules: Value) {
        let f = self.dir.path().join("s3front-new.json");
        std::fs::write(&f, rules.to_string()).unwrap();
        let out = run_script(&["s3front", &self.name, self.dir(), f.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "vpc.sh s3front: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The probe's state directory (`VPCE_PROBE_STATE_DIR`: caches, the sinks' spool).
    pub fn state_dir(&self) -> &std::path::Path {
        self.state.path()
    }

    /// The proxy's CONNECT lines so far.
    pub fn proxy_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.var("PROXY_LOG"))
            .expect("proxy.log: was the proxy started?")
            .lines()
            .filter(|l| l.contains(" from ") && !l.starts_with("READY"))
            .map(str::to_string)
            .collect()
    }

    /// Make the proxy refuse tunnels (tests/emulators/proxy.py `--rules`, read again for every
    /// CONNECT): e.g. `{"require_auth": "user:pw"}`, `{"deny": [".amazonaws.com"]}`.
    pub fn proxy_rules(&self, rules: serde_json::Value) {
        std::fs::write(
            std::path::Path::new(self.dir()).join("proxy-rules.json"),
            rules.to_string(),
        )
        .expect("write proxy-rules.json");
    }

    /// The proxy's URL.
    pub fn proxy_url(&self) -> String {
        self.var("PROXY_URL").to_string()
    }

    /// Rewrite the instance's resolv.conf (`vpc.sh resolv`): `IPv4[,IPv4…]` or `default`.
    pub fn resolv(&self, value: &str) {
        let out = run_script(&["resolv", &self.name, self.dir(), value]);
        assert!(
            out.status.success(),
            "vpc.sh resolv: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// [`SimVpc::probe_env`], started and left running (to signal it), then waited for.
    pub fn spawn_probe(&self, args: &[&str], env: &[(&str, &str)]) -> super::Running {
        let home = tempfile::tempdir().unwrap();
        let cmd = self.command_in("exec", args, env, home.path());
        super::Running::spawn(cmd, home)
    }

    /// The S3 front's log lines for one S3 operation (`PutObject`, `DeleteObject`, ...).
    pub fn s3_front_seen(&self, op: &str) -> Vec<Value> {
        self.s3_front_log()
            .into_iter()
            .filter(|l| l["op"] == op)
            .collect()
    }

    /// Every request the S3 front saw, in order (one JSON object each).
    pub fn s3_front_log(&self) -> Vec<Value> {
        std::fs::read_to_string(self.var("S3_FRONT_LOG"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line of s3front.log"))
            .collect()
    }

    /// Run `vpce-probe ARGS…` on the simulated instance: real names, HTTPS, IMDS credentials.
    pub fn probe(&self, args: &[&str]) -> Run {
        self.probe_in("exec", args, &[])
    }

    /// [`SimVpc::probe`] with more environment variables (`AWS_REGION`, `AWS_CONFIG_FILE`, …).
    pub fn probe_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.probe_in("exec", args, env)
    }

    /// Put a "container" behind the instance (`vpc.sh container`): its own netns on a
    /// 172.17.0.0/16 bridge, forwarded and masqueraded by the instance, one hop further from IMDS.
    pub fn container(&self) {
        let out = run_script(&["container", &self.name]);
        assert!(
            out.status.success(),
            "vpc.sh container: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Run `vpce-probe ARGS…` in the container made by [`SimVpc::container`].
    pub fn probe_in_container(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.probe_in("exec-container", args, env)
    }

    fn probe_in(&self, how: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let home = tempfile::tempdir().unwrap();
        run_bounded(self.command_in(how, args, env, home.path()))
    }

    /// The command [`SimVpc::probe`] runs, for a test to start and follow itself (e.g. a
    /// long-running `check --watch`): its pid is the probe's. `home` becomes its HOME.
    pub fn probe_command(&self, args: &[&str], home: &std::path::Path) -> Command {
        self.command_in("exec", args, &[], home)
    }

    fn command_in(
        &self,
        how: &str,
        args: &[&str],
        env: &[(&str, &str)],
        home: &std::path::Path,
    ) -> Command {
        let mut cmd = Command::new(sim_script());
        cmd.args([how, &self.name, self.dir(), "--"])
            .args(super::probe_argv())
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("NO_COLOR", "1")
            .env("AWS_CA_BUNDLE", self.var("CA_BUNDLE"))
            .env("VPCE_PROBE_STATE_DIR", self.state.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null());
        cmd
    }
}

impl Drop for SimVpc {
    fn drop(&mut self) {
        let _ = run_script(&["down", &self.name, self.dir()]);
    }
}
