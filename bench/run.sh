#!/usr/bin/env bash
# Benchmark: one full `vpce-probe check` cycle (IMDS, credentials, prefix list, route table,
# endpoints, bucket policy, the five S3 operations) against the AWS CLI v2 running the eleven
# commands a person would type to learn the same (sts get-caller-identity, four EC2 reads,
# get-bucket-policy, head-bucket, ls, cp up, cp down, rm), both against the same local
# moto_server (holding a VPC built by bench/setup_vpc.py) and IMDS emulator, measured in the same
# run with hyperfine. Also 10 buckets against 1, the probe's wall time against its critical path
# (bench/critical_path.py, from the report's phase timings), peak RSS and binary size.
# Figures are for ratios (vpce-probe vs the CLI), not absolutes. Not part of the tests.
#
#   bench/run.sh [RUNS]          needs: hyperfine, /usr/bin/aws (apt install hyperfine awscli)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-20}"
VENV="${VPCE_PROBE_VENV:-.venv}"
BIN="${VPCE_PROBE_BIN:-target/x86_64-unknown-linux-gnu/release/vpce-probe}"
AWS=/usr/bin/aws
for t in hyperfine "$AWS" "$BIN" "$VENV/bin/moto_server"; do
  command -v "$t" >/dev/null 2>&1 || [ -x "$t" ] || { echo "bench: missing $t" >&2; exit 1; }
done
work="$(mktemp -d)"; pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done
# what a real instance's probe reads: VPC, subnet, route table with the S3 gateway endpoint, the
# instance, 10 buckets with a policy (bench/setup_vpc.py prints the IMDS emulator's config)
"$VENV/bin/python" bench/setup_vpc.py "http://127.0.0.1:$port" 10 >"$work/i.json"
python3 tests/emulators/imds.py --port 0 --config "$work/i.json" >"$work/imds.out" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do grep -q READY "$work/imds.out" && break; sleep 0.1; done
imds="$(awk '/READY/{print $2}' "$work/imds.out")"
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$imds"
export HOME="$work" AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
vpc="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vpc_id"])' "$work/i.json")"
subnet="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["subnet_id"])' "$work/i.json")"
echo hello >"$work/obj"
# The eleven commands a person types to learn what one probe run reports (this CLI predates
# AWS_ENDPOINT_URL, hence --endpoint-url; it joins the IMDS endpoint and the path without a slash)
cat >"$work/cli.sh" <<SH
#!/bin/sh
set -e
export AWS_EC2_METADATA_SERVICE_ENDPOINT="$AWS_EC2_METADATA_SERVICE_ENDPOINT/"
A="$AWS --endpoint-url $AWS_ENDPOINT_URL"
\$A sts get-caller-identity >/dev/null
\$A ec2 describe-route-tables --filters Name=association.subnet-id,Values=$subnet >/dev/null
\$A ec2 describe-vpc-endpoints --filters Name=vpc-id,Values=$vpc >/dev/null
pl=\$(\$A ec2 describe-managed-prefix-lists --filters Name=prefix-list-name,Values=com.amazonaws.us-east-1.s3 --query 'PrefixLists[0].PrefixListId' --output text)
\$A ec2 get-managed-prefix-list-entries --prefix-list-id "\$pl" >/dev/null
\$A s3api get-bucket-policy --bucket bench-bucket-0 >/dev/null
\$A s3api head-bucket --bucket bench-bucket-0 >/dev/null
\$A s3 ls s3://bench-bucket-0/ >/dev/null
\$A s3 cp $work/obj s3://bench-bucket-0/bench/k >/dev/null
\$A s3 cp s3://bench-bucket-0/bench/k $work/out >/dev/null
\$A s3 rm s3://bench-bucket-0/bench/k >/dev/null
SH
chmod +x "$work/cli.sh"
ten=""; for i in $(seq 0 9); do ten="$ten --bucket bench-bucket-$i"; done
"$BIN" check --bucket bench-bucket-0 --output json >"$work/one.json" || { echo "bench: the probe failed:" >&2; cat "$work/one.json" >&2; exit 1; }
"$BIN" check $ten --output json >/dev/null || { echo "bench: the probe failed on 10 buckets" >&2; exit 1; }
"$work/cli.sh"
echo "== wall time (hyperfine, $RUNS runs each)"
hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$work/h.json" \
  -n "vpce-probe, 1 bucket" "$BIN check --bucket bench-bucket-0 --output json" \
  -n "vpce-probe, 10 buckets" "$BIN check $ten --output json" \
  -n "aws-cli, 11 commands" "$work/cli.sh"
python3 - "$work/h.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
p1, p10, c = r["vpce-probe, 1 bucket"], r["vpce-probe, 10 buckets"], r["aws-cli, 11 commands"]
print(f"vpce-probe 1 bucket {p1*1000:.0f} ms, 10 buckets {p10*1000:.0f} ms, aws-cli 11 commands {c*1000:.0f} ms")
print(f"ratio vpce-probe/aws-cli {p1/c:.3f}; 10 buckets / 1 bucket {p10/p1:.2f}")
PY
echo "== critical path (from the report's phase timings, a warm run)"
"$BIN" check --bucket bench-bucket-0 --output json >"$work/one.json"
python3 bench/critical_path.py "$work/one.json"
echo "== peak RSS (/usr/bin/time -v)"
rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/{print $2}'; }
p="$(rss "$BIN" check --bucket bench-bucket-0 --output json)"
p10="$(rss "$BIN" check $ten --output json)"
c="$(AWS_EC2_METADATA_SERVICE_ENDPOINT="$AWS_EC2_METADATA_SERVICE_ENDPOINT/" rss $AWS --endpoint-url "$AWS_ENDPOINT_URL" s3api put-object --bucket bench-bucket-0 --key bench/k2 --body "$work/obj")"
echo "vpce-probe ${p} KiB (10 buckets ${p10} KiB), one aws-cli call ${c} KiB, ratio $(python3 -c "print(f'{$p/$c:.3f}')")"
echo "== size: $(stat -c %s "$BIN") bytes ($BIN)"
