#!/usr/bin/env bash
# Proves a binary is static (no interpreter, no needed library), built for the right machine, and
# that it runs and names its target triple. A binary for another machine than this one runs under
# qemu-user (qemu-aarch64-static, called explicitly).
# (That names never resolve through glibc's getaddrinfo/NSS is proven by the end-to-end tests.)
#   scripts/static-check.sh BINARY [TARGET]   (TARGET: x86_64-unknown-linux-gnu, the default, or
#                                              aarch64-unknown-linux-gnu)
set -euo pipefail
bin="${1:?usage: static-check.sh BINARY [TARGET]}"
target="${2:-x86_64-unknown-linux-gnu}"
fail() { echo "static-check: FAIL: $*" >&2; exit 1; }
arch="${target%%-*}"
case "$arch" in
  x86_64) machine="x86-64" ;;
  aarch64) machine="ARM aarch64" ;;
  *) fail "unknown target $target" ;;
esac
run=("$bin")
[ "$arch" = "$(uname -m)" ] || run=("qemu-$arch-static" "$bin")
desc="$(file -b "$bin")"
echo "static-check: $bin: $desc"
case "$desc" in
  *"static-pie linked"*|*"statically linked"*) ;;
  *) fail "not a static binary" ;;
esac
case "$desc" in
  "ELF 64-bit LSB"*", $machine,"*) ;;
  *) fail "not an ELF binary for $machine" ;;
esac
# (readelf works for any machine, unlike ldd; a static-pie keeps a DYNAMIC segment for its own
# relocations, but no interpreter and no needed library.)
readelf -lW "$bin" | grep -q " INTERP " && fail "the program headers name an interpreter"
if readelf -dW "$bin" | grep -q "(NEEDED)"; then
  readelf -dW "$bin" | grep "(NEEDED)" >&2; fail "needs shared libraries"
fi
version="$("${run[@]}" --version)"
echo "static-check: ${run[*]} --version: $version"
grep -q "^vpce-probe .*, $target)\$" <<<"$version" || fail "--version does not name $target"
echo "static-check: ok"
