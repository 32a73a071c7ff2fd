#!/usr/bin/env bash
# Benchmark: one `vpce-probe check` (IMDS, credentials, DNS, EC2 path evidence, S3 head, list,
# put, get, delete) against the AWS CLI v2 doing the same S3 work (head-bucket, list-objects-v2,
# put-object, get-object, delete-object), both against the same local moto_server and IMDS
# emulator, measured in the same run with hyperfine. Also peak RSS and binary size.
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
echo '{"role":"bench-role"}' >"$work/i.json"
python3 tests/emulators/imds.py --port 0 --config "$work/i.json" >"$work/imds.out" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && grep -q READY "$work/imds.out" && break; sleep 0.1
done
imds="$(awk '/READY/{print $2}' "$work/imds.out")"
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$imds"
export HOME="$work" AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
"$VENV/bin/python" -c "import boto3; boto3.client('s3', endpoint_url='$AWS_ENDPOINT_URL', region_name='us-east-1', aws_access_key_id='a', aws_secret_access_key='a').create_bucket(Bucket='bench-bucket')"
echo hello >"$work/obj"
cat >"$work/cli.sh" <<SH
#!/bin/sh
set -e
# (this CLI predates AWS_ENDPOINT_URL, hence --endpoint-url)
# the AWS CLI joins the IMDS endpoint and the path without a slash
export AWS_EC2_METADATA_SERVICE_ENDPOINT="$AWS_EC2_METADATA_SERVICE_ENDPOINT/"
$AWS --endpoint-url $AWS_ENDPOINT_URL s3api head-bucket --bucket bench-bucket >/dev/null
$AWS --endpoint-url $AWS_ENDPOINT_URL s3api list-objects-v2 --bucket bench-bucket --prefix .vpce-probe/ --max-items 5 >/dev/null
$AWS --endpoint-url $AWS_ENDPOINT_URL s3api put-object --bucket bench-bucket --key bench/k --body $work/obj >/dev/null
$AWS --endpoint-url $AWS_ENDPOINT_URL s3api get-object --bucket bench-bucket --key bench/k $work/out >/dev/null
$AWS --endpoint-url $AWS_ENDPOINT_URL s3api delete-object --bucket bench-bucket --key bench/k >/dev/null
SH
chmod +x "$work/cli.sh"
"$BIN" check --bucket bench-bucket --output json >/dev/null
"$work/cli.sh"
echo "== wall time (hyperfine, $RUNS runs each)"
hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$work/h.json" \
  -n vpce-probe "$BIN check --bucket bench-bucket --output json" \
  -n "aws-cli (5 s3api calls)" "$work/cli.sh"
python3 - "$work/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
p, c = r["vpce-probe"], r["aws-cli (5 s3api calls)"]
print(f"vpce-probe mean {p['mean']*1000:.0f} ms, aws-cli mean {c['mean']*1000:.0f} ms, "
      f"ratio {p['mean']/c['mean']:.3f} (vpce-probe/aws-cli)")
PY
echo "== peak RSS (/usr/bin/time -v)"
rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/{print $2}'; }
p="$(rss "$BIN" check --bucket bench-bucket --output json)"
c="$(AWS_EC2_METADATA_SERVICE_ENDPOINT="$AWS_EC2_METADATA_SERVICE_ENDPOINT/" rss $AWS --endpoint-url "$AWS_ENDPOINT_URL" s3api put-object --bucket bench-bucket --key bench/k2 --body "$work/obj")"
echo "vpce-probe ${p} KiB, one aws-cli call ${c} KiB, ratio $(python3 -c "print(f'{$p/$c:.3f}')")"
echo "== size: $(stat -c %s "$BIN") bytes ($BIN)"
