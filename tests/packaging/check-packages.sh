#!/usr/bin/env bash
# Builds the .deb (cargo deb) and the .rpm (cargo generate-rpm) around a built static binary and
# checks them as an operator would meet them: contents and paths, no run-time dependencies,
# maintainer scripts that enable the timer without starting it, and an extraction into a
# throwaway root whose binary, units and man page work.
#   tests/packaging/check-packages.sh BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:?usage: check-packages.sh BINARY}"
out=target/packaging
fail() { echo "check-packages: FAIL: $*" >&2; exit 1; }
ok() { echo "  ok    $*"; }
for t in cargo-deb cargo-generate-rpm dpkg-deb rpm rpm2cpio cpio gzip; do
  command -v "$t" >/dev/null 2>&1 || fail "$t is missing (scripts/setup.sh installs it)"
done

# Stage what the package metadata points at.
rm -rf "$out" && mkdir -p "$out"
cp "$bin" "$out/vpce-probe"
"$bin" completions bash >"$out/vpce-probe.bash"
"$bin" completions zsh >"$out/_vpce-probe"
"$bin" completions fish >"$out/vpce-probe.fish"
"$bin" man | gzip -9n >"$out/vpce-probe.1.gz"
"$bin" man check | gzip -9n >"$out/vpce-probe-check.1.gz"
"$bin" man iam-policy | gzip -9n >"$out/vpce-probe-iam-policy.1.gz"
"$bin" man explain | gzip -9n >"$out/vpce-probe-explain.1.gz"
scripts/sbom.sh "$out/vpce-probe.cdx.json"

echo "check-packages: .deb"
cargo deb --no-build --no-strip --quiet --output "$out/" >/dev/null
deb="$(ls "$out"/*.deb)"
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
"$root/usr/bin/vpce-probe" --version | grep -q '^vpce-probe ' || fail "the installed binary does not run"
file -b "$root/usr/bin/vpce-probe" | grep -q "static" || fail "the installed binary is not static"
for u in vpce-probe.service vpce-probe.timer; do
  cmp -s "$root/usr/lib/systemd/system/$u" "systemd/$u" || fail "the packaged $u differs from systemd/$u (which units-check verifies)"
done
zcat "$root/usr/share/man/man1/vpce-probe-check.1.gz" | grep -q '^\.TH' || fail "man page"
ok "extracted into a throwaway root: binary runs, static, units as verified, man page reads"

echo "check-packages: .rpm"
cargo generate-rpm --output "$out/" >/dev/null
rpmf="$(ls "$out"/*.rpm)"
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
"$rpmroot/usr/bin/vpce-probe" --version | grep -q '^vpce-probe ' || fail "the rpm's binary does not run"
ok "extracted: binary runs"
echo "check-packages: ok ($(basename "$deb"), $(basename "$rpmf"))"
