#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian machine: system packages
# (dnsmasq, iproute2, nftables, file) and a Python venv with the pinned AWS emulator (moto[server]).
# Idempotent: does nothing that is already done.
#   scripts/setup.sh              the demo: system packages and the venv
#   scripts/setup.sh --packaging  the tests (make test): all of the above, the aarch64 cross
#                                 toolchain, the packaging, lint and release tools
#   scripts/setup.sh --cross      only the aarch64 cross toolchain (make cross)
#   scripts/setup.sh --release    the cross toolchain and the packaging tools, no venv (the release
#                                 workflow)
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-}"
case "$MODE" in
  ""|--packaging|--cross|--release) ;;
  *) echo "usage: scripts/setup.sh [--packaging|--cross|--release]" >&2; exit 2 ;;
esac
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# The aarch64 (Graviton) cross build, with Debian's own packages: rustc 1.96 (`rustc-web`, at
# /usr/bin/rustc) and its arm64 standard library, the cross linker and C library, and qemu to run
# the aarch64 binary in the tests (called explicitly: binfmt_misc is not needed). `make cross`.
install_cross() {
  local pkgs=(rustc-web libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static)
  dpkg -s "${pkgs[@]}" >/dev/null 2>&1 && return 0
  echo "setup: installing the aarch64 cross toolchain (${pkgs[*]})" >&2
  dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
}
if [ "$MODE" = --cross ]; then install_cross; exit 0; fi

MOTO_VERSION="5.2.5"
JSONSCHEMA_VERSION="4.26.0"
VENV="${VPCE_PROBE_VENV:-.venv}"

need_apt=()
# the packages' inspection (tests/packaging/check-packages.sh)
command -v file >/dev/null 2>&1 || need_apt+=(file)
command -v rpm2cpio >/dev/null 2>&1 || need_apt+=(rpm)
command -v cpio >/dev/null 2>&1 || need_apt+=(cpio)
if [ "$MODE" != --release ]; then
  command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
  command -v dnsmasq >/dev/null 2>&1 || need_apt+=(dnsmasq-base)
  command -v curl >/dev/null 2>&1 || need_apt+=(curl)
  command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
  # the simulated VPC: security groups and network ACLs, the container, the S3 front (nftables)
  command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || need_apt+=(nftables)
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then need_apt+=(python3-venv); fi
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ "$MODE" != --release ] && { [ ! -x "$VENV/bin/moto_server" ] || ! "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('moto') == '$MOTO_VERSION' and m.version('jsonschema') == '$JSONSCHEMA_VERSION'" 2>/dev/null; }; then
  echo "setup: creating $VENV with moto[server]==$MOTO_VERSION" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" "jsonschema==$JSONSCHEMA_VERSION"
fi

# The tests (--packaging) and the release workflow (--release) build the aarch64 binary and the
# .deb and .rpm of both architectures with their SBOM: the cross toolchain and the packaging tools,
# pinned, installed once.
[ "$MODE" = --packaging ] || [ "$MODE" = --release ] || exit 0
install_cross
CARGO_DEB_VERSION="3.8.0"
CARGO_RPM_VERSION="0.21.1"
CARGO_CYCLONEDX_VERSION="0.5.9"
if ! cargo deb --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
  echo "setup: installing cargo-deb $CARGO_DEB_VERSION" >&2
  cargo install --locked --quiet cargo-deb --version "$CARGO_DEB_VERSION"
fi
if ! cargo generate-rpm --version 2>/dev/null | grep -q "$CARGO_RPM_VERSION"; then
  echo "setup: installing cargo-generate-rpm $CARGO_RPM_VERSION" >&2
  cargo install --locked --quiet cargo-generate-rpm --version "$CARGO_RPM_VERSION"
fi
if ! cargo cyclonedx --version 2>/dev/null | grep -q "$CARGO_CYCLONEDX_VERSION"; then
  echo "setup: installing cargo-cyclonedx $CARGO_CYCLONEDX_VERSION" >&2
  cargo install --locked --quiet cargo-cyclonedx --version "$CARGO_CYCLONEDX_VERSION"
fi
# Only the tests lint the fleet artifacts and check the release engineering.
[ "$MODE" = --packaging ] || exit 0
# promtool (Debian ships it in the prometheus package; nothing is started) and cfn-lint, in a venv
# of its own so its dependencies never move moto's.
if ! command -v promtool >/dev/null 2>&1; then
  echo "setup: installing prometheus (for promtool)" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
CFN_LINT_VERSION="1.58.0"
CHECK_JSONSCHEMA_VERSION="0.39.0"
LINT_VENV="${VPCE_PROBE_LINT_VENV:-.venv-lint}"
if ! "$LINT_VENV/bin/python" -c "import importlib.metadata as m; assert m.version('cfn-lint') == '$CFN_LINT_VERSION' and m.version('check-jsonschema') == '$CHECK_JSONSCHEMA_VERSION'" 2>/dev/null; then
  echo "setup: creating $LINT_VENV with cfn-lint==$CFN_LINT_VERSION check-jsonschema==$CHECK_JSONSCHEMA_VERSION" >&2
  python3 -m venv "$LINT_VENV"
  "$LINT_VENV/bin/pip" install -q --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION" "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
fi
# Release engineering: the license/ban/source policy.
CARGO_DENY_VERSION="0.20.2"
if ! cargo deny --version 2>/dev/null | grep -q "$CARGO_DENY_VERSION"; then
  echo "setup: installing cargo-deny $CARGO_DENY_VERSION" >&2
  cargo install --locked --quiet cargo-deny --version "$CARGO_DENY_VERSION"
fi
