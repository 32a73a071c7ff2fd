#!/usr/bin/env bash
# Proves a binary is static (no interpreter, no dynamic section) and that it runs.
# (That names never resolve through glibc's getaddrinfo/NSS is proven by the end-to-end tests.)
set -euo pipefail
bin="${1:?usage: static-check.sh BINARY}"
desc="$(file -b "$bin")"
echo "static-check: $bin: $desc"
case "$desc" in
  *"static-pie linked"*|*"statically linked"*) ;;
  *) echo "static-check: FAIL: not a static binary" >&2; exit 1 ;;
esac
if ldd "$bin" 2>&1 | grep -qv -e "not a dynamic executable" -e "statically linked"; then
  echo "static-check: FAIL: ldd lists libraries:" >&2; ldd "$bin" >&2; exit 1
fi
"$bin" --version
echo "static-check: ok"
