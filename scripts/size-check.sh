#!/usr/bin/env bash
# The packages ship a binary of at most 8 MiB (issue 10): fails when BINARY is larger, and says
# by how much; otherwise prints its size and the room left. `make packages` and the release
# workflow run it on the dist binaries (docs/packaging.md#binary-size has what each choice costs).
#   scripts/size-check.sh BINARY [LIMIT_BYTES]   (default 8388608, 8 MiB)
set -euo pipefail
bin="${1:?usage: size-check.sh BINARY [LIMIT_BYTES]}"
limit="${2:-8388608}"
[ -f "$bin" ] || { echo "size-check: FAIL: $bin: no such file" >&2; exit 1; }
size="$(stat -c %s "$bin")"
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }
if [ "$size" -gt "$limit" ]; then
  echo "size-check: FAIL: $bin is $size bytes ($(mib "$size")), $((size - limit)) over the limit of $limit ($(mib "$limit"))" >&2
  exit 1
fi
echo "size-check: $bin: $size bytes ($(mib "$size")), $((limit - size)) under $limit ($(mib "$limit"))"
