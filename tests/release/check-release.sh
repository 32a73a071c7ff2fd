#!/usr/bin/env bash
# Release engineering, checked in `make test`:
# - .github/workflows/release.yml validates against the github-workflows schema
#   (check-jsonschema's bundled copy: no network);
# - `cargo deny check licenses bans sources` with deny.toml (advisories need the RustSec database
#   from the network: not here);
# - the CycloneDX SBOM (`cargo cyclonedx`) names the crates the binary is built from, at the
#   versions Cargo.lock pins.
# - scripts/size-check.sh, the 8 MiB gate of the packages, refuses a binary one byte over.
# Each check is first shown a broken variant and must refuse it.
#   tests/release/check-release.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
LINT_VENV="${VPCE_PROBE_LINT_VENV:-.venv-lint}"
fail() { echo "check-release: FAIL: $*" >&2; exit 1; }
ok() { echo "  ok    $*"; }
cj="$LINT_VENV/bin/check-jsonschema"
[ -x "$cj" ] || fail "$cj is missing (scripts/setup.sh --packaging installs it)"
cargo deny --version >/dev/null 2>&1 || fail "cargo-deny is missing (scripts/setup.sh --packaging installs it)"
cargo cyclonedx --version >/dev/null 2>&1 || fail "cargo-cyclonedx is missing (scripts/setup.sh --packaging installs it)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

wf=.github/workflows/release.yml
"$cj" --builtin-schema vendor.github-workflows "$wf" >/dev/null || fail "$wf does not validate"
sed 's/^    runs-on: ubuntu-24.04/    runs_on: ubuntu-24.04/' "$wf" >"$tmp/bad.yml"
if "$cj" --builtin-schema vendor.github-workflows "$tmp/bad.yml" >/dev/null 2>&1; then
  fail "check-jsonschema accepted a workflow whose job has no runs-on"
fi
ok "release workflow: valid against the github-workflows schema (a broken variant is refused)"

cargo deny --log-level error check licenses bans sources || fail "cargo deny"
sed 's/^    "Apache-2.0",$//' deny.toml >"$tmp/deny.toml"
refused="$(cargo deny --log-level error --config "$tmp/deny.toml" check licenses 2>&1 || true)"
grep -q "licenses FAILED" <<<"$refused" || fail "cargo deny accepted a configuration that does not allow Apache-2.0"
ok "cargo deny: licenses, bans, sources (a narrower license list is refused)"

scripts/sbom.sh "$tmp/vpce-probe.cdx.json"
python3 - "$tmp/vpce-probe.cdx.json" Cargo.lock <<'PY' || fail "the SBOM"
import json, re, sys
bom = json.load(open(sys.argv[1]))
assert bom["bomFormat"] == "CycloneDX", bom.get("bomFormat")
assert bom["metadata"]["component"]["name"] == "vpce-probe"
have = {}
def walk(cs):
    for c in cs:
        have[c["name"]] = c.get("version")
        walk(c.get("components", []))
walk(bom.get("components", []))
lock = dict(re.findall(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"', open(sys.argv[2]).read()))
for name in ["aws-sdk-s3", "aws-sigv4", "hickory-resolver", "rustls", "ring", "tokio", "clap"]:
    assert have.get(name) == lock[name], (name, have.get(name), lock.get(name))
assert len(have) > 100, len(have)
print(f"  ok    SBOM: CycloneDX {bom['specVersion']}, {len(have)} components, versions as Cargo.lock pins")
PY

# the size gate of the packages (make packages, the release workflow): 8 MiB, refuses one byte more
head -c 1000 /dev/zero >"$tmp/bin"
scripts/size-check.sh "$tmp/bin" 1000 >/dev/null || fail "size-check refused a binary at its limit"
if scripts/size-check.sh "$tmp/bin" 999 >/dev/null 2>&1; then
  fail "size-check accepted a binary over its limit"
fi
grep -q 'scripts/size-check.sh "target/$TARGET/dist/vpce-probe"' "$wf" || fail "$wf does not run the size check"
ok "size check: 8 MiB gate, in the release workflow (a binary one byte over is refused)"
