#!/usr/bin/env bash
# Checks the fleet artifacts as an operator would meet them:
# - packaging/ssm/vpce-probe-check.yaml: cfn-lint validates it as the Content of an
#   AWS::SSM::Document (rule E3051, SSM's document schema); its parameters' patterns accept real
#   values and refuse shell metacharacters; its script, run with a stand-in vpce-probe, builds
#   the right command line and returns the probe's exit code (so SSM marks failures as Failed);
# - packaging/ssm/association.yaml and packaging/cloudformation/vpce-probe-fleet.yaml: cfn-lint,
#   and the association passes only parameters the document has;
# - packaging/prometheus/vpce-probe.rules.yml: promtool check rules, and its unit tests.
# Each linter is first shown a broken variant and must refuse it (a check that cannot fail is
# no check).
#   tests/packaging/check-fleet.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
LINT_VENV="${VPCE_PROBE_LINT_VENV:-.venv-lint}"
fail() { echo "check-fleet: FAIL: $*" >&2; exit 1; }
ok() { echo "  ok    $*"; }
cfn_lint="$LINT_VENV/bin/cfn-lint"
py="$LINT_VENV/bin/python"
[ -x "$cfn_lint" ] || fail "$cfn_lint is missing (scripts/setup.sh --packaging installs it)"
command -v promtool >/dev/null 2>&1 || fail "promtool is missing (scripts/setup.sh --packaging installs the prometheus package)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
doc=packaging/ssm/vpce-probe-check.yaml

echo "check-fleet: SSM document"
# The document as the Content of an AWS::SSM::Document: cfn-lint checks it against SSM's schema.
wrap() {
  "$py" - "$1" "$2" <<'PY'
import json, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
tpl = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"Doc": {
    "Type": "AWS::SSM::Document",
    "Properties": {"DocumentType": "Command", "DocumentFormat": "YAML", "Content": doc}}}}
json.dump(tpl, open(sys.argv[2], "w"), indent=1)
PY
}
wrap "$doc" "$tmp/doc.json"
"$cfn_lint" "$tmp/doc.json" || fail "$doc is not a valid SSM Command document"
sed 's/^schemaVersion: "2.2"/schemaVersion: "9.9"/' "$doc" >"$tmp/bad-doc.yaml"
wrap "$tmp/bad-doc.yaml" "$tmp/bad-doc.json"
if "$cfn_lint" "$tmp/bad-doc.json" >/dev/null 2>&1; then fail "cfn-lint accepted a document with schemaVersion 9.9"; fi
ok "schema 2.2 Command document (cfn-lint E3051; a broken variant is refused)"

# The parameters' patterns: real values pass, shell metacharacters never do.
"$py" - "$doc" <<'PY' || fail "parameter patterns"
import re, sys, yaml
p = yaml.safe_load(open(sys.argv[1]))["parameters"]
def allowed(name, value):
    spec = p[name]
    if "allowedValues" in spec:
        return value in spec["allowedValues"]
    return re.fullmatch(spec["allowedPattern"], value) is not None
good = {"Buckets": ["", "my-bucket", "a.b.c,logs-2026,x1y"], "Sinks": ["", "cloudwatch-metrics",
        "cloudwatch-metrics,cloudwatch-logs"], "Timeout": ["30", "7.5"], "ExpectPath": ["", "gateway_endpoint"]}
bad = {"Buckets": ["b1;reboot", "b1 b2", "$(id)", "B1", "b1,", "`x`"], "Sinks": ["cloudwatch-metrics;id", "stdout"],
       "Timeout": ["30;id", "-1", "1e9"], "ExpectPath": ["gateway_endpoint;id"], "Output": ["json;id"]}
for name, values in good.items():
    for v in values:
        assert allowed(name, v), f"{name}={v!r} should be allowed"
for name, values in bad.items():
    for v in values:
        assert not allowed(name, v), f"{name}={v!r} must be refused"
for name, spec in p.items():
    assert spec.get("interpolationType") == "ENV_VAR", f"{name} must reach the script as an environment variable"
PY
ok "parameters: patterns refuse shell metacharacters; every one is ENV_VAR-interpolated"

# The script, with a stand-in vpce-probe that records its argv and exits as told.
"$py" - "$doc" "$tmp/run.sh" <<'PY'
import sys, yaml
steps = yaml.safe_load(open(sys.argv[1]))["mainSteps"]
open(sys.argv[2], "w").write("\n".join(steps[0]["inputs"]["runCommand"]) + "\n")
PY
mkdir -p "$tmp/bin"
cat >"$tmp/bin/vpce-probe" <<'SH'
#!/bin/sh
for a in "$@"; do printf '%s\n' "$a"; done >"$STUB_ARGS"
exit "${STUB_EXIT:-0}"
SH
chmod +x "$tmp/bin/vpce-probe"
run_doc() { # EXPECTED_EXIT STUB_EXIT VAR=VALUE...
  local want="$1" code="$2"; shift 2
  local rc=0
  env -i PATH="$tmp/bin" STUB_ARGS="$tmp/args" STUB_EXIT="$code" \
    SSM_Buckets= SSM_ExpectPath= SSM_ExpectAccess= SSM_ReadOnly=false SSM_Sinks= \
    SSM_InstanceDimension=true SSM_Timeout=30 SSM_Output=human "$@" /bin/sh "$tmp/run.sh" 2>/dev/null || rc=$?
  [ "$rc" = "$want" ] || fail "the document's script exited $rc, wants $want ($*)"
}
run_doc 0 0 SSM_Buckets=a-bucket,b.bucket SSM_ExpectPath=gateway_endpoint SSM_Sinks=cloudwatch-metrics
want=$'check\n--timeout\n30\n--output\nhuman\n--color\nnever\n--bucket\na-bucket\n--bucket\nb.bucket\n--sink\ncloudwatch-metrics\n--expect-path\ngateway_endpoint\n--instance-dimension'
[ "$(cat "$tmp/args")" = "$want" ] || fail "command line: $(tr '\n' ' ' <"$tmp/args")"
run_doc 1 1 SSM_Buckets=a-bucket SSM_ReadOnly=true SSM_ExpectAccess=deny SSM_Output=json
want=$'check\n--timeout\n30\n--output\njson\n--color\nnever\n--bucket\na-bucket\n--expect-access\ndeny\n--read-only'
[ "$(cat "$tmp/args")" = "$want" ] || fail "command line: $(tr '\n' ' ' <"$tmp/args")"
run_doc 2 2
[ "$(cat "$tmp/args")" = $'check\n--timeout\n30\n--output\nhuman\n--color\nnever' ] || fail "no bucket: $(tr '\n' ' ' <"$tmp/args")"
rm "$tmp/bin/vpce-probe"
run_doc 127 0
ok "script: the command line from the parameters; the probe's exit code (0, 1, 2) is the step's; 127 when not installed"

echo "check-fleet: CloudFormation"
for t in packaging/ssm/association.yaml packaging/cloudformation/vpce-probe-fleet.yaml; do
  "$cfn_lint" "$t" || fail "$t"
done
sed 's/TreatMissingData: breaching/TreatMissingDat: breaching/' packaging/cloudformation/vpce-probe-fleet.yaml >"$tmp/bad.yaml"
if "$cfn_lint" "$tmp/bad.yaml" >/dev/null 2>&1; then fail "cfn-lint accepted a misspelled property"; fi
"$py" - "$doc" packaging/ssm/association.yaml <<'PY' || fail "the association passes a parameter the document does not have"
import sys, yaml
class L(yaml.SafeLoader): pass
L.add_multi_constructor("!", lambda loader, suffix, node: None)
doc = yaml.safe_load(open(sys.argv[1]))
assoc = yaml.load(open(sys.argv[2]), Loader=L)
used = set(assoc["Resources"]["Association"]["Properties"]["Parameters"])
missing = used - set(doc["parameters"])
assert not missing, missing
PY
ok "fleet dashboard and alarms, State Manager association (cfn-lint; a broken variant is refused)"

echo "check-fleet: Prometheus rules"
promtool check rules packaging/prometheus/vpce-probe.rules.yml >/dev/null || fail "promtool check rules"
(cd packaging/prometheus && promtool test rules vpce-probe.rules.test.yml >/dev/null) || fail "promtool test rules"
ok "alerting rules valid, their unit tests pass"
echo "check-fleet: ok"
