#!/usr/bin/env bash
# Writes the CycloneDX SBOM of the binary (cargo cyclonedx, JSON) to OUT.
#   scripts/sbom.sh OUT [TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: sbom.sh OUT [TARGET]}"
target="${2:-x86_64-unknown-linux-gnu}"
cargo cyclonedx --format json --target "$target" --override-filename vpce-probe.cdx >/dev/null
mkdir -p "$(dirname "$out")"
mv vpce-probe.cdx.json "$out"
