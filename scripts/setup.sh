#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian machine: system packages
# (dnsmasq, iproute2, nftables, file) and a Python venv with the pinned AWS emulator (moto[server]).
# Idempotent: does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"
JSONSCHEMA_VERSION="4.26.0"
VENV="${VPCE_PROBE_VENV:-.venv}"

need_apt=()
command -v file >/dev/null 2>&1 || need_apt+=(file)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v dnsmasq >/dev/null 2>&1 || need_apt+=(dnsmasq-base)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || need_apt+=(nftables)
command -v rpm2cpio >/dev/null 2>&1 || need_apt+=(rpm)
command -v cpio >/dev/null 2>&1 || need_apt+=(cpio)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
# the simulated VPC: security groups and network ACLs, the container, the S3 front (nftables)
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || need_apt+=(nftables)
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then need_apt+=(python3-venv); fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x "$VENV/bin/moto_server" ] || ! "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('moto') == '$MOTO_VERSION' and m.version('jsonschema') == '$JSONSCHEMA_VERSION'" 2>/dev/null; then
  echo "setup: creating $VENV with moto[server]==$MOTO_VERSION" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" "jsonschema==$JSONSCHEMA_VERSION"
fi

# Packaging tools (tests build the .deb and .rpm and lint the fleet artifacts): pinned, installed
# once, only for the tests (`setup.sh --packaging`).
[ "${1:-}" = "--packaging" ] || exit 0
# promtool (Debian ships it in the prometheus package; nothing is started) and cfn-lint, in a venv
# of its own so its dependencies never move moto's.
if ! command -v promtool >/dev/null 2>&1; then
  echo "setup: installing prometheus (for promtool)" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
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
# Release engineering: license/ban/source policy and the SBOM.
CARGO_DENY_VERSION="0.20.2"
CARGO_CYCLONEDX_VERSION="0.5.9"
if ! cargo deny --version 2>/dev/null | grep -q "$CARGO_DENY_VERSION"; then
  echo "setup: installing cargo-deny $CARGO_DENY_VERSION" >&2
  cargo install --locked --quiet cargo-deny --version "$CARGO_DENY_VERSION"
fi
if ! cargo cyclonedx --version 2>/dev/null | grep -q "$CARGO_CYCLONEDX_VERSION"; then
  echo "setup: installing cargo-cyclonedx $CARGO_CYCLONEDX_VERSION" >&2
  cargo install --locked --quiet cargo-cyclonedx --version "$CARGO_CYCLONEDX_VERSION"
fi
CARGO_DEB_VERSION="3.8.0"
CARGO_RPM_VERSION="0.21.1"
if ! cargo deb --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
  echo "setup: installing cargo-deb $CARGO_DEB_VERSION" >&2
  cargo install --locked --quiet cargo-deb --version "$CARGO_DEB_VERSION"
fi
if ! cargo generate-rpm --version 2>/dev/null | grep -q "$CARGO_RPM_VERSION"; then
  echo "setup: installing cargo-generate-rpm $CARGO_RPM_VERSION" >&2
  cargo install --locked --quiet cargo-generate-rpm --version "$CARGO_RPM_VERSION"
fi
