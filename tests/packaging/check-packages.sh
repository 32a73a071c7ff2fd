#!/usr/bin/env bash
# Builds the .deb (cargo deb) and the .rpm (cargo generate-rpm) around a built static binary and
# checks them as an operator would meet them: architecture, contents and paths, no run-time
# dependencies, maintainer scripts that enable the timer without starting it, and an extraction
# into a throwaway root whose binary (static, of the right machine), units and man page work.
# The aarch64 binary runs under qemu-aarch64-static (called explicitly) on another machine.
#   tests/packaging/check-packages.sh BINARY [TARGET]
# TARGET: x86_64-unknown-linux-gnu (the default; amd64 .deb, x86_64 .rpm) or
# aarch64-unknown-linux-gnu (arm64 .deb, aarch64 .rpm). The packages are left in
# target/packaging/, beside those of the other architecture.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:?usage: check-packages.sh BINARY [TARGET]}"
target="${2:-x86_64-unknown-linux-gnu}"
out=target/packaging
fail() { echo "check-packages: FAIL: $*" >&2; exit 1; }
ok() { echo "  ok    $*"; }
arch="${target%%-*}"
case "$arch" in
  x86_64) deb_arch=amd64 machine="x86-64" ;;
  aarch64) deb_arch=arm64 machine="ARM aarch64" ;;
  *) fail "unknown target $target" ;;
esac
rpm_arch="$arch"
run=()
[ "$arch" = "$(uname -m)" ] || run=("qemu-$arch-static")
for t in cargo-deb cargo-generate-rpm dpkg-deb rpm rpm2cpio cpio gzip file "${run[@]}"; do
  command -v "$t" >/dev/null 2>&1 || fail "$t is missing (scripts/setup.sh installs it)"
done
echo "check-packages: $target ($deb_arch .deb, $rpm_arch .rpm)${run:+, run under ${run[*]}}"

# Stage what the package metadata points at (this architecture's packages are replaced).
mkdir -p "$out"
rm -f "$out"/*_"$deb_arch".deb "$out"/*."$rpm_arch".rpm
cp "$bin" "$out/vpce-probe"
"${run[@]}" "$bin" completions bash >"$out/vpce-probe.bash"
"${run[@]}" "$bin" completions zsh >"$out/_vpce-probe"
"${run[@]}" "$bin" completions fish >"$out/vpce-probe.fish"
"${run[@]}" "$bin" man | gzip -9n >"$out/vpce-probe.1.gz"
"${run[@]}" "$bin" man check | gzip -9n >"$out/vpce-probe-check.1.gz"
"${run[@]}" "$bin" man iam-policy | gzip -9n >"$out/vpce-probe-iam-policy.1.gz"
"${run[@]}" "$bin" man explain | gzip -9n >"$out/vpce-probe-explain.1.gz"
scripts/sbom.sh "$out/vpce-probe.cdx.json" "$target"

# The extracted binary: static, for this machine, runs and names its target.
check_binary() {
  local b="$1" what="$2" desc
  desc="$(file -b "$b")"
  case "$desc" in *"static-pie linked"*|*"statically linked"*) ;; *) fail "$what is not static: $desc" ;; esac
  case "$desc" in "ELF 64-bit LSB"*", $machine,"*) ;; *) fail "$what is not for $machine: $desc" ;; esac
  "${run[@]}" "$b" --version | grep -q "^vpce-probe .*, $target)\$" || fail "$what does not run or name $target"
}

echo "check-packages: .deb"
cargo deb --no-build --no-strip --quiet --target "$target" --output "$out/" >/dev/null
deb="$(ls "$out"/*_"$deb_arch".deb)"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$deb_arch" ] || fail "$deb: Architecture is not $deb_arch"
ok "Architecture: $deb_arch"
contents="$(dpkg-deb -c "$deb")"
for p in ./usr/bin/vpce-probe ./usr/lib/systemd/system/vpce-probe.service ./usr/lib/systemd/system/vpce-probe.timer \
         ./usr/share/doc/vpce-probe/examples/config.toml ./usr/share/man/man1/vpce-probe.1.gz \
         ./usr/share/bash-completion/completions/vpce-probe ./usr/share/doc/vpce-probe/copyright \
         ./usr/share/doc/vpce-probe/examples/ssm/vpce-probe-check.yaml \
         ./usr/share/doc/vpce-probe/examples/prometheus/vpce-probe.rules.yml \
         ./usr/share/doc/vpce-probe/sbom.cdx.json; do
  grep -q " $p\$" <<<"$contents" || fail "$deb lacks $p"
done
ok "contents: binary, units, example config, docs, man pages, completions"
grep -qE "^ Depends: *[^ ]" <(dpkg-deb -I "$deb") && fail "a static binary needs no Depends"
ok "no run-time dependencies"
ctl="$(mktemp -d)"; trap 'rm -rf "$ctl"' EXIT
dpkg-deb -e "$deb" "$ctl/DEBIAN"
grep -q "deb-systemd-helper.*enable.*vpce-probe.timer\|deb-systemd-helper enable" "$ctl/DEBIAN/postinst" || fail "postinst does not enable the timer"
grep -v '^[[:space:]]*#' "$ctl/DEBIAN/postinst" | grep -qE "deb-systemd-invoke start|systemctl (--system )?start|enable --now" && fail "postinst starts units: no probe may run during install"
ok "postinst enables the timer and starts nothing"
root="$ctl/root"; mkdir -p "$root"
dpkg-deb -x "$deb" "$root"
check_binary "$root/usr/bin/vpce-probe" "the installed binary"
for u in vpce-probe.service vpce-probe.timer; do
  cmp -s "$root/usr/lib/systemd/system/$u" "systemd/$u" || fail "the packaged $u differs from systemd/$u (which units-check verifies)"
done
zcat "$root/usr/share/man/man1/vpce-probe-check.1.gz" | grep -q '^\.TH' || fail "man page"
ok "extracted into a throwaway root: binary static for $machine and runs, units as verified, man page reads"

echo "check-packages: .rpm"
cargo generate-rpm --target "$target" --output "$out/" >/dev/null
rpmf="$(ls "$out"/*."$rpm_arch".rpm)"
[ "$(rpm -qp --qf '%{ARCH}' "$rpmf" 2>/dev/null)" = "$rpm_arch" ] || fail "$rpmf: ARCH is not $rpm_arch"
ok "ARCH: $rpm_arch"
list="$(rpm -qlp "$rpmf" 2>/dev/null)"
for p in /usr/bin/vpce-probe /usr/lib/systemd/system/vpce-probe.service /usr/lib/systemd/system/vpce-probe.timer \
         /usr/share/doc/vpce-probe/examples/config.toml /usr/share/man/man1/vpce-probe.1.gz \
         /usr/share/doc/vpce-probe/examples/ssm/vpce-probe-check.yaml \
         /usr/share/doc/vpce-probe/examples/prometheus/vpce-probe.rules.yml \
         /usr/share/doc/vpce-probe/sbom.cdx.json; do
  grep -qx "$p" <<<"$list" || fail "$rpmf lacks $p"
done
ok "contents"
scripts="$(rpm -qp --scripts "$rpmf" 2>/dev/null)"
grep -q "systemctl enable vpce-probe.timer" <<<"$scripts" || fail "the rpm does not enable the timer"
grep -q "systemctl start\|enable --now" <<<"$scripts" && fail "the rpm starts units on install"
ok "scripts enable the timer and start nothing"
rpmroot="$ctl/rpmroot"; mkdir -p "$rpmroot"
# (Debian's rpm2cpio exits 1 on these packages after writing the whole archive: the files
# themselves are the check.)
(cd "$rpmroot" && { rpm2cpio "$OLDPWD/$rpmf" || true; } | cpio -idm --quiet)
check_binary "$rpmroot/usr/bin/vpce-probe" "the rpm's binary"
ok "extracted: binary static for $machine and runs"
echo "check-packages: ok ($(basename "$deb"), $(basename "$rpmf"))"
