#!/usr/bin/env bash
# Checks the systemd units of vpce-probe without a running systemd (containers, CI):
#   (a) `systemd-analyze verify` on both units, with ExecStart pointing at BINARY;
#   (b) the timer and the service reference each other, and the service runs the binary the
#       way it can today (flags that exist, --timeout below TimeoutStartSec, the example
#       EnvironmentFile's VPCE_PROBE_ARGS accepted by the binary, offline);
#   (c) `systemd-analyze security --offline=yes`: prints the exposure score and fails above
#       MAX_EXPOSURE; plus a list of hardening settings that must stay (several of them do not
#       move the score on their own, because DynamicUser= implies them).
#
# Usage: tests/systemd/check-units.sh BINARY
#   BINARY  the built vpce-probe (e.g. target/x86_64-unknown-linux-gnu/debug/vpce-probe)
# Environment: VPCE_PROBE_MAX_EXPOSURE overrides the exposure threshold (e.g. on another
# systemd version, whose checks and weights differ).
# Needs: bash, systemd (systemd-analyze), sed, awk. Exit status: 0 all checks passed, 1 a
# check failed, 2 bad usage or a missing tool.
set -euo pipefail

# Measured with systemd 252 (Debian 12) on systemd/vpce-probe.service: 1.1. Every remaining
# point is inherent to a network probe (PrivateNetwork= 0.5, AF_INET/AF_INET6 0.3, no
# IPAddressDeny= allow list 0.2, AF_UNIX 0.1, host root 0.1, char-rtc:r from ProtectClock= 0.1).
# Single hardening settings are worth 0.1 to 1.9 each, so the threshold is the measured value
# itself: any regression that moves the score fails.
MAX_EXPOSURE=${VPCE_PROBE_MAX_EXPOSURE:-1.1}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
service_src=$repo/systemd/vpce-probe.service
timer_src=$repo/systemd/vpce-probe.timer
env_example=$repo/packaging/vpce-probe.env.example
packaged_bin=/usr/bin/vpce-probe

if [[ $# -ne 1 ]]; then
    echo "usage: $0 BINARY   (the built vpce-probe, e.g. target/x86_64-unknown-linux-gnu/debug/vpce-probe)" >&2
    exit 2
fi
if [[ ! -f $1 || ! -x $1 ]]; then
    echo "$0: $1: not an executable file (build it first)" >&2
    exit 2
fi
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
if ! command -v systemd-analyze >/dev/null; then
    echo "$0: systemd-analyze not found: install the systemd package (apt-get install systemd)" >&2
    exit 2
fi
for f in "$service_src" "$timer_src" "$env_example"; do
    [[ -f $f ]] || { echo "$0: missing $f" >&2; exit 2; }
done

export SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 SYSTEMD_LOG_COLOR=0 LC_ALL=C.UTF-8

failures=0
ok() { printf '  ok    %s\n' "$*"; }
fail() { printf '  FAIL  %s\n' "$*"; failures=$((failures + 1)); }
note() { printf '  note  %s\n' "$*"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The values of KEY in [SECTION] of a unit file, one per line (a simple unit-file reader:
# comments, sections, KEY=VALUE; no line continuations, which these units do not use).
unit_values() {
    awk -v want_section="[$2]" -v key="$3" '
        /^[ \t]*[#;]/ || /^[ \t]*$/ { next }
        /^[ \t]*\[/ { section = $0; gsub(/[ \t]/, "", section); next }
        section == want_section {
            line = $0; sub(/^[ \t]+/, "", line)
            eq = index(line, "="); if (eq == 0) next
            k = substr(line, 1, eq - 1); sub(/[ \t]+$/, "", k)
            if (k == key) { v = substr(line, eq + 1); sub(/^[ \t]+/, "", v); print v }
        }' "$1"
}
has_section() { grep -q "^[[:space:]]*\[$2\][[:space:]]*$" "$1"; }
usec() { systemd-analyze timespan "$1" 2>/dev/null | awk '$1 == "μs:" || $1 == "us:" { print $2 }'; }

echo "vpce-probe systemd units ($(systemctl --version 2>/dev/null | head -n1 || echo 'systemd version unknown'))"
echo "  binary: $bin"

# ---------------------------------------------------------------------------------------------
echo "(a) systemd-analyze verify"
# verify insists that ExecStart's binary exists: check copies whose ExecStart runs BINARY.
if grep -q "^ExecStart=$packaged_bin " "$service_src"; then
    ok "ExecStart runs the packaged path $packaged_bin"
else
    fail "ExecStart of vpce-probe.service does not run $packaged_bin"
fi
sed "s#^ExecStart=$packaged_bin #ExecStart=$bin #" "$service_src" >"$work/vpce-probe.service"
cp "$timer_src" "$work/vpce-probe.timer"
set +e
verify_out=$(cd "$work" && systemd-analyze verify --man=no \
    "$work/vpce-probe.service" "$work/vpce-probe.timer" 2>&1)
verify_rc=$?
set -e
ours=0
while IFS= read -r line; do
    [[ -z $line ]] && continue
    if [[ $line == *vpce-probe* ]]; then
        printf '        %s\n' "$line"
        ours=$((ours + 1))
    else
        note "about a unit outside this project: $line"
    fi
done <<<"$verify_out"
if [[ $verify_rc -eq 0 && $ours -eq 0 ]]; then
    ok "systemd-analyze verify vpce-probe.service vpce-probe.timer: no error, no warning"
else
    fail "systemd-analyze verify: exit $verify_rc, $ours message(s) about our units (above)"
fi

# ---------------------------------------------------------------------------------------------
echo "(b) the timer, the service and the binary fit together"
timer_unit=$(unit_values "$timer_src" Timer Unit | tail -n1)
triggered=${timer_unit:-$(basename "$timer_src" .timer).service}
if [[ $triggered == vpce-probe.service && -f $repo/systemd/$triggered ]]; then
    ok "vpce-probe.timer triggers $triggered (Unit=${timer_unit:-<implied by the name>}), which is systemd/$triggered"
else
    fail "vpce-probe.timer triggers '$triggered', expected vpce-probe.service in systemd/"
fi
if unit_values "$timer_src" Install WantedBy | tr ' ' '\n' | grep -qx timers.target; then
    ok "vpce-probe.timer: [Install] WantedBy=timers.target"
else
    fail "vpce-probe.timer: no [Install] WantedBy=timers.target"
fi
for k in OnBootSec OnUnitActiveSec; do
    v=$(unit_values "$timer_src" Timer "$k" | tail -n1)
    if [[ -n $v && -n $(usec "$v") ]]; then ok "vpce-probe.timer: $k=$v"; else fail "vpce-probe.timer: $k missing or invalid"; fi
done
if has_section "$service_src" Install; then
    fail "vpce-probe.service has an [Install] section: only the timer is meant to be enabled"
else
    ok "vpce-probe.service has no [Install] section (started by the timer only)"
fi
if [[ $(unit_values "$service_src" Service Type | tail -n1) == oneshot ]]; then
    ok "vpce-probe.service: Type=oneshot"
else
    fail "vpce-probe.service: Type is not oneshot"
fi
# Only 143 (the probe stopped by SIGTERM: `systemctl stop`, shutdown) may count as success:
# exit 1, a failed check, must leave the unit failed.
success_status=$(unit_values "$service_src" Service SuccessExitStatus | tr '\n' ' ' | xargs)
if [[ -z $success_status || $success_status == 143 ]]; then
    ok "vpce-probe.service: SuccessExitStatus='$success_status' (exit 1, a failed check, leaves the unit failed)"
else
    fail "vpce-probe.service: SuccessExitStatus=$success_status: only 143 may be a success"
fi
exec_start=$(unit_values "$service_src" Service ExecStart | tail -n1)
env_file=$(unit_values "$service_src" Service EnvironmentFile | tail -n1)
if [[ $exec_start == "$packaged_bin check --output json \$VPCE_PROBE_ARGS" ]]; then
    ok "ExecStart=$exec_start"
else
    fail "ExecStart is '$exec_start', expected '$packaged_bin check --output json \$VPCE_PROBE_ARGS'"
fi
if [[ $env_file == "-/etc/vpce-probe/vpce-probe.env" ]]; then
    ok "EnvironmentFile=$env_file (optional)"
else
    fail "EnvironmentFile is '$env_file', expected -/etc/vpce-probe/vpce-probe.env"
fi
check_help=$("$bin" check --help)
if grep -q -- '--output <OUTPUT>' <<<"$check_help" && grep -qE -- '- json:|possible values:.*json' <<<"$check_help"; then
    ok "the binary has 'check --output json'"
else
    fail "the binary has no 'check --output json'"
fi
# The run's deadline (--timeout, default from the binary's help) must end before systemd's.
probe_timeout=$(awk '/--timeout <SECS>/ { t = 1 } t && /\[default:/ { gsub(/.*\[default: |\].*/, ""); print; exit }' <<<"$check_help")
start_timeout=$(unit_values "$service_src" Service TimeoutStartSec | tail -n1)
start_usec=$(usec "${start_timeout:-infinity}" || true)
probe_usec=$(awk -v s="${probe_timeout:-0}" 'BEGIN { printf "%d", s * 1000000 }')
if [[ -z $probe_timeout ]]; then
    fail "cannot read the default of --timeout from 'vpce-probe check --help'"
elif [[ -n $start_usec ]] && ((start_usec > probe_usec)); then
    ok "TimeoutStartSec=$start_timeout is above the probe's default deadline (--timeout ${probe_timeout}s)"
else
    fail "TimeoutStartSec='${start_timeout}' is not above the probe's default deadline (${probe_timeout}s)"
fi
# systemd reads the example as the EnvironmentFile: split VPCE_PROBE_ARGS at whitespace as
# systemd does for $VAR and run the binary offline, in the environment of the unit (no HOME,
# the unit's Environment=): IMDS disabled, a region, no credentials, so no packet leaves and
# no S3 request is made. Exit 2 would mean the example's flags are wrong. VPCE_PROBE_LOG=debug
# only so that there are log lines whose format can be checked.
example_args=$(sed -n 's/^VPCE_PROBE_ARGS=//p' "$env_example" | tail -n1)
example_args=${example_args#\"}
example_args=${example_args%\"}
read -r -a args <<<"$example_args"
unit_env=()
while IFS= read -r e; do
    read -r -a kv <<<"$e"
    unit_env+=("${kv[@]}")
done < <(unit_values "$service_src" Service Environment)
if [[ ${#args[@]} -eq 0 ]]; then
    fail "packaging/vpce-probe.env.example sets no VPCE_PROBE_ARGS"
else
    mkdir -p "$work/run/state"
    set +e
    (cd "$work/run" && env -i PATH=/usr/bin:/bin "${unit_env[@]}" \
        STATE_DIRECTORY="$work/run/state" AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1 \
        VPCE_PROBE_LOG=debug \
        "$bin" check --output json "${args[@]}" >"$work/run/report.json" 2>"$work/run/stderr")
    rc=$?
    set -e
    if [[ $rc -eq 0 || $rc -eq 1 ]]; then
        ok "example VPCE_PROBE_ARGS (${args[*]}) accepted by the binary (offline run, exit $rc)"
    else
        fail "example VPCE_PROBE_ARGS (${args[*]}): the binary exited $rc: $(head -c 400 "$work/run/stderr")"
    fi
    if [[ ! -s $work/run/report.json ]]; then
        fail "that run wrote no report on stdout"
    elif command -v python3 >/dev/null; then
        if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/run/report.json" 2>/dev/null; then
            ok "stdout of that run is one JSON document (the report)"
        else
            fail "stdout of that run is not one JSON document"
        fi
    else
        note "no python3: the JSON report on stdout was not parsed"
    fi
    bad_log=$(grep -cv '^{.*}$' "$work/run/stderr" || true)
    if [[ ! -s $work/run/stderr ]]; then
        fail "that run wrote no log line at VPCE_PROBE_LOG=debug: the log format cannot be checked"
    elif [[ $bad_log -eq 0 ]]; then
        ok "stderr of that run: $(wc -l <"$work/run/stderr") line(s), all JSON (VPCE_PROBE_LOG_FORMAT from the unit)"
    else
        fail "stderr of that run has $bad_log non-JSON line(s): $(head -c 400 "$work/run/stderr")"
    fi
fi

# ---------------------------------------------------------------------------------------------
echo "(c) hardening"
# Settings that must stay, whether or not they move the score.
required=(
    DynamicUser=yes StateDirectory=vpce-probe ConfigurationDirectory=vpce-probe UMask=0077
    NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes
    PrivateUsers=yes PrivateMounts=yes ProtectKernelTunables=yes ProtectKernelModules=yes
    ProtectKernelLogs=yes ProtectControlGroups=yes ProtectClock=yes ProtectHostname=yes
    ProtectProc=invisible ProcSubset=pid "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"
    CapabilityBoundingSet= AmbientCapabilities= RestrictNamespaces=yes RestrictRealtime=yes
    RestrictSUIDSGID=yes LockPersonality=yes MemoryDenyWriteExecute=yes
    SystemCallArchitectures=native SystemCallFilter=@system-service
    "SystemCallFilter=~@privileged @resources"
)
missing=()
for r in "${required[@]}"; do
    grep -qxF "$r" "$service_src" || missing+=("$r")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    ok "all ${#required[@]} required hardening settings present"
else
    fail "hardening settings missing or changed: ${missing[*]}"
fi
for k in IPAddressAllow IPAddressDeny PrivateNetwork; do
    if [[ -n $(unit_values "$service_src" Service "$k") ]]; then
        fail "$k= is set: the probe must reach IMDS, DNS and AWS endpoints at any address"
    fi
done

if ! systemd-analyze --help 2>&1 | grep -q -- '--offline'; then
    note "SKIPPED: this systemd-analyze has no --offline (systemd < 250): the exposure score"
    note "cannot be computed without a running systemd; the checks above still ran"
else
    set +e
    sec_out=$(systemd-analyze security --offline=yes --no-pager "$work/vpce-probe.service" 2>&1)
    sec_rc=$?
    set -e
    # The items that still count, then the total.
    grep -E '^✗' <<<"$sec_out" | sed 's/^/        /' || true
    score=$(sed -n 's/.*Overall exposure level for vpce-probe\.service: \([0-9.]*\).*/\1/p' <<<"$sec_out")
    if [[ -z $score ]]; then
        printf '%s\n' "$sec_out" | sed 's/^/        /'
        fail "systemd-analyze security --offline=yes gave no exposure level (exit $sec_rc)"
    else
        echo "  exposure score: $score (threshold $MAX_EXPOSURE; 0 = fully locked down, 10 = unprotected)"
        if awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m + 0.0001) }'; then
            ok "exposure $score <= $MAX_EXPOSURE"
        else
            fail "exposure $score > $MAX_EXPOSURE: a hardening setting was lost (see the ✗ items)"
        fi
    fi
fi

echo
if [[ $failures -eq 0 ]]; then
    echo "check-units: all checks passed"
else
    echo "check-units: $failures check(s) FAILED"
    exit 1
fi
