#!/usr/bin/env bash
# `make demo` on a simulated VPC (see scripts/demo.sh): healthy gateway path, JSON, a security
# group without the S3 rule and its one-line fix, then the classic mistake — the endpoint's route
# missing from the subnet's route table.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VPCE_PROBE_VENV:-.venv}"
BIN="$(pwd)/${VPCE_PROBE_BIN:-target/x86_64-unknown-linux-gnu/release/vpce-probe}"
name="d$(printf '%05x' $((RANDOM * 32 + RANDOM % 32)))"
dir="$(mktemp -d /tmp/vpce-demo.XXXXXX)"
cleanup() { tests/sim/vpc.sh down "$name" "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
tests/sim/vpc.sh up "$name" "$dir" >/dev/null
# shellcheck disable=SC1091
. "$dir/env"

# The "account": a VPC, the instance's subnet with its route table (0.0.0.0/0 → IGW), an S3
# gateway endpoint on that table, a bucket whose policy admits only that endpoint.
"$VENV/bin/python" - "$ADMIN_URL" "$CA_BUNDLE" "$dir" <<'PY'
import json, sys, boto3
url, ca, d = sys.argv[1:4]
kw = dict(endpoint_url=url, verify=ca, region_name="us-east-1",
          aws_access_key_id="demo", aws_secret_access_key="demo")
ec2, s3 = boto3.client("ec2", **kw), boto3.client("s3", **kw)
vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
ec2.associate_route_table(RouteTableId=rtb, SubnetId=subnet)
ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
vpce = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.s3",
                               VpcEndpointType="Gateway", RouteTableIds=[rtb])["VpcEndpoint"]["VpcEndpointId"]
pl = ec2.describe_managed_prefix_lists(Filters=[{"Name": "prefix-list-name",
     "Values": ["com.amazonaws.us-east-1.s3"]}])["PrefixLists"][0]["PrefixListId"]
sg = ec2.create_security_group(GroupName="demo-instance", Description="the demo instance",
                               VpcId=vpc)["GroupId"]
s3.create_bucket(Bucket="demo-data-bucket")
json.dump({"role": "demo-probe-role", "instance_id": "i-0d3m0c0ffee000001", "vpc_id": vpc,
           "subnet_id": subnet, "vpc_cidrs": ["10.0.0.0/16"], "local_ipv4": "10.0.1.10",
           "security_group_ids": [sg]},
          open(f"{d}/demo-instance.json", "w"))
json.dump({"rtb": rtb, "pl": pl, "vpce": vpce, "sg": sg}, open(f"{d}/demo-ids.json", "w"))
PY
tests/sim/vpc.sh imds "$name" "$dir" "$dir/demo-instance.json" >/dev/null
# the sim enforces the instance's security group and the subnet's network ACL as moto holds them
tests/sim/vpc.sh firewall "$name" "$dir"
ec2py() {
  "$VENV/bin/python" - "$ADMIN_URL" "$CA_BUNDLE" "$dir" "$@" <<'PY'
import json, re, sys, boto3
url, ca, d, what = sys.argv[1:5]
ids = json.load(open(f"{d}/demo-ids.json"))
ec2 = boto3.client("ec2", endpoint_url=url, verify=ca, region_name="us-east-1",
                   aws_access_key_id="demo", aws_secret_access_key="demo")
if what == "egress-without-s3":
    ec2.revoke_security_group_egress(GroupId=ids["sg"], IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_egress(GroupId=ids["sg"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "54.239.28.0/24", "Description": "the EC2 API"}]}])
else:  # the finding's `aws ec2 authorize-security-group-egress ...`, through moto
    g = re.search(r"--group-id (\S+) .*FromPort=(\d+),ToPort=(\d+),PrefixListIds=\[\{PrefixListId=([\w-]+)", what)
    ec2.authorize_security_group_egress(GroupId=g[1], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": int(g[2]), "ToPort": int(g[3]),
         "PrefixListIds": [{"PrefixListId": g[4]}]}])
PY
}

probe() {
  tests/sim/vpc.sh exec "$name" "$dir" -- env -i PATH="$PATH" HOME="$dir" \
    AWS_CA_BUNDLE="$CA_BUNDLE" VPCE_PROBE_STATE_DIR="$dir/state" "$BIN" "$@"
}

echo "== on the instance: vpce-probe check --bucket demo-data-bucket"
probe check --bucket demo-data-bucket --color never || true
echo
echo "== vpce-probe check --bucket demo-data-bucket --output json"
probe check --bucket demo-data-bucket --output json || true
echo
echo "== the instance's security group allows HTTPS only to the EC2 API: vpce-probe check --bucket demo-data-bucket --timeout 6 --connect-timeout 2"
ec2py egress-without-s3
tests/sim/vpc.sh firewall "$name" "$dir"
set +e
probe check --bucket demo-data-bucket --timeout 6 --connect-timeout 2 --color never | tee "$dir/sg.out"
echo "exit code: ${PIPESTATUS[0]}"
set -e
fix="$(grep -o "aws ec2 authorize-security-group-egress --group-id [^']*'[^']*'" "$dir/sg.out" | head -n 1)"
[ -n "$fix" ] || { echo "demo: no authorize-security-group-egress command in the finding" >&2; exit 1; }
echo
echo "== the fix, the finding's command, applied (through moto): $fix"
ec2py "$fix"
tests/sim/vpc.sh firewall "$name" "$dir"
probe check --bucket demo-data-bucket --color never >/dev/null && echo "vpce-probe check --bucket demo-data-bucket: exit code 0"
echo
echo "== someone removes the endpoint's route from the subnet's route table; the bucket policy"
echo "== admits only the endpoint: vpce-probe check --bucket demo-data-bucket --expect-path gateway_endpoint"
"$VENV/bin/python" - "$ADMIN_URL" "$CA_BUNDLE" "$dir" <<'PY'
import json, sys, boto3
url, ca, d = sys.argv[1:4]
ids = json.load(open(f"{d}/demo-ids.json"))
kw = dict(endpoint_url=url, verify=ca, region_name="us-east-1",
          aws_access_key_id="demo", aws_secret_access_key="demo")
boto3.client("ec2", **kw).delete_route(RouteTableId=ids["rtb"], DestinationPrefixListId=ids["pl"])
boto3.client("s3", **kw).put_bucket_policy(Bucket="demo-data-bucket", Policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Sid": "OnlyThroughTheEndpoint", "Effect": "Deny",
    "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::demo-data-bucket",
    "arn:aws:s3:::demo-data-bucket/*"], "Condition": {"StringNotEquals": {"aws:SourceVpce": ids["vpce"]}}}]}))
PY
set +e
probe check --bucket demo-data-bucket --expect-path gateway_endpoint --color never
echo "exit code: $?"
