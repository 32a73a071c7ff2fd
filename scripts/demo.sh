#!/usr/bin/env bash
# The main job on an embedded default: the probe against a local emulated AWS it starts itself.
#
# As root with `ip netns` (a fresh machine of this kind, CI): a simulated VPC (tests/sim/vpc.sh:
# network namespaces, the VPC's DNS answering the real AWS names, moto over HTTPS at prefix-list
# addresses, IMDS at 169.254.169.254). The demo builds a VPC with an S3 gateway endpoint and runs
# the probe on the "instance" — healthy (human report), as JSON, then after removing the
# endpoint's route from the subnet's route table (exit 1, findings name the route table).
# Otherwise (not root): a plain local moto_server and the IMDS emulator, where the path verdict is
# `unknown` (no VPC), with a bucket whose policy denies writes.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VPCE_PROBE_VENV:-.venv}"
BIN="${VPCE_PROBE_BIN:-target/x86_64-unknown-linux-gnu/release/vpce-probe}"
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null 2>&1 && [ "${VPCE_PROBE_DEMO:-vpc}" = vpc ]; then
  exec scripts/demo-vpc.sh
fi
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

moto_port="$(free_port)"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
cat >"$work/instance.json" <<JSON
{"role": "demo-probe-role", "instance_id": "i-0d3m0c0ffee000001"}
JSON
python3 tests/emulators/imds.py --port 0 --config "$work/instance.json" >"$work/imds.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$moto_port/moto-api/" >/dev/null 2>&1 && grep -q READY "$work/imds.out" && break
  sleep 0.1
done
imds_port="$(awk '/READY/{print $2}' "$work/imds.out")"
[ -n "$imds_port" ] || { echo "demo: the IMDS emulator did not start" >&2; exit 1; }

# Set up the "account": one healthy bucket, one whose bucket policy denies object writes.
"$VENV/bin/python" - "$moto_port" <<'PY'
import json, sys, boto3
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
                  aws_access_key_id="demo", aws_secret_access_key="demo")
s3.create_bucket(Bucket="demo-data-bucket")
s3.create_bucket(Bucket="demo-locked-bucket")
s3.put_bucket_policy(Bucket="demo-locked-bucket", Policy=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Sid": "DenyUnlessFromEndpoint", "Effect": "Deny", "Principal": "*",
                   "Action": ["s3:PutObject", "s3:GetObject"],
                   "Resource": "arn:aws:s3:::demo-locked-bucket/*",
                   "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0demo00000000001"}}}]}))
PY

export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
export AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$imds_port"
export HOME="$work"   # no ~/.aws: credentials come from the (emulated) instance role
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION

echo "== vpce-probe check --bucket demo-data-bucket"
"$BIN" check --bucket demo-data-bucket --color never || true
echo
echo "== vpce-probe check --bucket demo-data-bucket --output json"
"$BIN" check --bucket demo-data-bucket --output json || true
echo
echo "== vpce-probe check --bucket demo-locked-bucket   (bucket policy denies writes: exit 1)"
set +e
"$BIN" check --bucket demo-locked-bucket --color never
echo "exit code: $?"
