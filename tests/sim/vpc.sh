#!/usr/bin/env bash
# vpc.sh — a simulated VPC built from real parts (network namespaces, veth pairs, routes, dnsmasq,
# moto_server behind TLS), so vpce-probe resolves, routes and connects exactly as on EC2: the REAL
# AWS host names, HTTPS on 443, no endpoint override. Needs root (as `make test` runs).
#
#   vpc.sh up     NAME DIR              build the sim; NAME = [a-z0-9]{1,6}, unique per run; DIR is
#                                       created if missing and gets certs, logs, pids, env
#   vpc.sh exec   NAME DIR -- CMD ARGS… run CMD in the instance netns with DIR/resolv.conf bind-mounted
#                                       over /etc/resolv.conf (private mount ns); env passes through;
#                                       exits with CMD's status
#   vpc.sh dns    NAME [DIR] HOST VALUE override what the VPC DNS answers for HOST and its sub-names,
#                                       then restart dnsmasq (~30 ms). VALUE: an IPv4 (or a,b,c for
#                                       several A records) | nx (NXDOMAIN) | timeout (never answers)
#                                       | servfail | default (the record `up` wrote) | remove
#   vpc.sh fault  NAME KIND CIDR        in the instance netns: KIND blackhole (connect fails at once,
#                                       EINVAL) | unreachable (EHOSTUNREACH) | prohibit (EACCES) |
#                                       drop (silent: SYNs vanish, connect hangs until its timeout) |
#                                       clear (remove the fault route for CIDR)
#   vpc.sh imds   NAME [DIR] [CONFIG]   restart the IMDS emulator (with CONFIG copied to
#                                       DIR/instance.json, or DIR/instance.json as it is); its
#                                       "http_put_response_hop_limit" (default 1) is the IP TTL of
#                                       the token's answer, as on EC2
#   vpc.sh container NAME               a "container" behind the instance, one hop further: netns
#                                       A-c, 172.17.0.2/16 on A-c0, default via the instance's
#                                       "docker0" A-b0 172.17.0.1; the instance forwards for it
#                                       (ip_forward=1) and masquerades it out of A-i0 (nft), like
#                                       Docker's bridge network. Forwarding decrements the TTL, so a
#                                       token answer sent with hop limit 1 dies on the way
#   vpc.sh exec-container NAME DIR -- CMD ARGS…  as exec, in the container netns
#   vpc.sh proxy  NAME [DIR]            start a forward proxy (tests/emulators/proxy.py: CONNECT and
#                                       plain HTTP) at PROXY_IP:3128 in the aws netns, resolving through
#                                       the VPC DNS; one line per request in DIR/proxy.log
#                                       ("CONNECT host:443 from …", "GET http://… from …"); it
#                                       refuses tunnels as DIR/proxy-rules.json says (re-read per CONNECT)
#   vpc.sh resolv NAME [DIR] VALUE      rewrite DIR/resolv.conf (what `exec` mounts): VALUE = IPv4[,IPv4…]
#                                       (nameserver lines; an address nothing serves never answers:
#                                       the aws netns does not forward) | default (the VPC DNS)
#   vpc.sh s3front NAME [DIR] RULES|off put S3's fault-injecting front (tests/emulators/s3_front.py)
#                                       in the path: RULES (JSON, see the front's docstring) is
#                                       copied to DIR/s3front.rules.json, which the front rereads
#                                       on change; the first call starts it (the sim's TLS cert)
#                                       and sends the instance's HTTPS to S3 (S3_IP:443) to it
#                                       (nft DNAT in the aws netns; it forwards to moto). Every
#                                       request it saw is a JSON line in DIR/s3front.log.
#                                       The rules' "tls" key picks the certificate per
#                                       connection: "sim" (default), "untrusted" (a middlebox's
#                                       own CA, DIR/tls-untrusted.pem), "wrong_host" (the sim
#                                       CA, for www.example.com: DIR/tls-wrong-host.pem)
#                                       `off`: stop it and remove the DNAT
#   vpc.sh firewall NAME [DIR]          (re)apply, as nftables rules in the instance netns, what moto
#                                       holds for the instance of DIR/instance.json: its security
#                                       groups (egress union, stateful) and its subnet's network
#                                       ACL (stateless, first match by rule number, `*` denies, both
#                                       directions). Derived by tests/sim/firewall.py from moto's
#                                       state (never declared twice): call it after changing SGs or
#                                       ACLs in moto. DNS, IMDS and loopback are not filtered (as in
#                                       AWS). Until first called, nothing is filtered. Needs nft.
#   vpc.sh down   NAME [DIR]            kill everything started inside the sim, delete the
#                                       namespaces and veths; idempotent, also after a partial `up`
#   vpc.sh status NAME                  print DIR/env of a running sim
#   (DIR may be left out after `up`: /run/vpce-sim/NAME links to it.)
#
# Topology (A = NAME):
#
#   netns A-c "container" (after `container`): A-c0 172.17.0.2/16 <== veth ==> A-b0 172.17.0.1/16 in A-i
#   netns A-i "instance"                    netns A-a "aws" (ip_forward=0)
#   A-i0 10.0.1.10/24  <== veth ==>  A-a0 10.0.1.1/24 (the VPC router)
#   default via 10.0.1.1                    lo: 52.216.0.10  S3 us-east-1 (in moto's pl 52.216.0.0/15)
#   (MAC 0e:12:34:56:78:9a = imds.py's)         52.218.0.10  S3 eu-west-1
#                                               54.239.28.85 EC2, .86 STS, .87 Logs, .88 CloudWatch
#                                               10.0.2.50    "interface endpoint" (in 10.0.0.0/16)
#                                               10.0.0.2, 169.254.169.253  VPC DNS (dnsmasq :53)
#                                               169.254.169.254  IMDS (tests/emulators/imds.py :80)
#                                               10.0.3.128  forward proxy :3128 (after `proxy`)
#                                           moto_server 0.0.0.0:443, TLS with a per-run CA
#   root netns: A-h ADMIN/30 .1 <== veth ==> A-m ADMIN/30 .2 (in A-a): the harness's admin way in,
#     ADMIN_URL=https://<.2> with DIR/ca.pem (the .2 is an IP SAN of the cert). The /30 lies in
#     198.18.0.0/15, its slot is cksum(NAME) (the next free one on a clash, under a lock).
#
# The instance netns has no route to the root netns (A-a does not forward). Every address sits on
# the aws lo, so the one moto answers them all and they share its state. moto_server picks the
# service from the SigV4 credential scope (Authorization header), NOT from Host, and falls back to
# S3 when a request is unsigned: a raw `curl` to EC2 needs an `Authorization: AWS4-HMAC-SHA256
# Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0` header.
# S3 takes the bucket from Host (virtual-hosted) or the path. Through the interface-endpoint name
# https://bucket.VPCE_S3_HOST only path-style works (moto parses mybucket.bucket.vpce-… wrongly);
# the "private DNS" case (`dns NAME s3.us-east-1.amazonaws.com 10.0.2.50`) works in both styles.
# moto.log shows the client address: 10.0.1.10 = the instance, the admin .1 = the harness.
# Names without a record get NXDOMAIN (no upstream). IMDS counters, from the root netns:
#   ip netns exec A-a curl -s http://169.254.169.254/_emulator/stats
#
# DIR after `firewall`: firewall.nft (the ruleset applied). DIR after `up`: ca.pem ca.key server.pem server.key
#   tls-untrusted.pem/.key tls-wrong-host.pem/.key (the front's TLS faults) resolv.conf env dnsmasq.conf dns.records
#   moto.log dnsmasq.log (one line per query) imds.log *.pid. DIR/env has KEY=VALUE lines (no
#   quoting; DIR must not contain whitespace or quotes): NAME NS_INSTANCE NS_AWS IF_INSTANCE
#   INSTANCE_IP ROUTER_IP DNS_IP S3_IP S3_EU_IP EC2_IP STS_IP ENDPOINT_IP VPCE_S3_HOST ADMIN_IP
#   ADMIN_URL CA_BUNDLE RESOLV_CONF MOTO_LOG DNS_LOG IMDS_URL IMDS_LOG PROXY_IP PROXY_URL PROXY_LOG
#   SIM DIR S3_FRONT_LOG.
#
# The S3 front keeps S3's real name and address: moto holds 0.0.0.0:443 in the aws netns (so no
# other process can bind :443 there, and restarting moto would lose its state), so the front
# listens on S3_IP:8443 and an nft table `s3front` in the aws netns DNATs what arrives from the
# instance's veth for S3_IP:443 to it. The probe still connects to 52.216.0.10:443 (its report's
# peer); DIR/s3front.log proves the front saw each request. The front's own connections to moto
# and the admin way in (ADMIN_URL) do not arrive on that veth: they never pass through it.
#
# Environment: VPCE_PROBE_VENV (default: the repo's .venv), VPC_SIM_IMDS=0 (no IMDS emulator).
# An IMDS config (imds.py --config JSON) placed at DIR/instance.json before `up` is used.
#
# Example:
#   tests/sim/vpc.sh up t1 /tmp/t1 && . /tmp/t1/env
#   AWS_CA_BUNDLE=$CA_BUNDLE .venv/bin/python -c "import boto3; boto3.client('s3', \
#     endpoint_url='$ADMIN_URL', region_name='us-east-1', aws_access_key_id='a', \
#     aws_secret_access_key='a').create_bucket(Bucket='mybucket')"
#   tests/sim/vpc.sh exec t1 /tmp/t1 -- curl --cacert /tmp/t1/ca.pem https://mybucket.s3.us-east-1.amazonaws.com/
#   tests/sim/vpc.sh fault t1 drop 52.216.0.0/15; tests/sim/vpc.sh dns t1 s3.us-east-1.amazonaws.com 10.0.2.50
#   tests/sim/vpc.sh down t1 /tmp/t1
set -euo pipefail

PROG=vpc.sh
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${VPCE_PROBE_VENV:-$REPO/.venv}"
REG="/run/vpce-sim"
ORIG_PATH="$PATH"
PATH="$PATH:/usr/sbin:/sbin"

INSTANCE_IP=10.0.1.10
ROUTER_IP=10.0.1.1
DROP_GW=10.0.1.99
DROP_MAC=02:00:00:00:00:99
INSTANCE_MAC=0e:12:34:56:78:9a
DNS_IP=10.0.0.2
DNS_IP2=169.254.169.253
IMDS_IP=169.254.169.254
S3_IP=52.216.0.10
S3_EU_IP=52.218.0.10
EC2_IP=54.239.28.85
STS_IP=54.239.28.86
LOGS_IP=54.239.28.87
CW_IP=54.239.28.88
ENDPOINT_IP=10.0.2.50
S3_FRONT_PORT=8443
VPCE_ID=vpce-0a1b2c3d4e5f60718-abcdefgh
VPCE_S3_HOST="$VPCE_ID.s3.us-east-1.vpce.amazonaws.com"
SERVFAIL_PORT=5998
PROXY_IP=10.0.3.128
PROXY_PORT=3128

die() { echo "$PROG: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

check_name() {
  [[ "${1:-}" =~ ^[a-z0-9]{1,6}$ ]] || die "NAME must be 1-6 chars of [a-z0-9] (got '${1:-}')"
  N="$1"; NS_I="$N-i"; NS_A="$N-a"; NS_C="$N-c"
  IF_I="$N-i0"; IF_A="$N-a0"; IF_H="$N-h"; IF_M="$N-m"; IF_C="$N-c0"; IF_B="$N-b0"
}

# DIR from the argument, else from the registry link made by `up`.
resolve_dir() {
  if [ -n "${1:-}" ]; then
    mkdir -p "$1"; D="$(cd "$1" && pwd)"
  elif [ -L "$REG/$N" ]; then
    D="$(readlink "$REG/$N")"
  else
    die "sim '$N' is not up (no $REG/$N); give DIR"
  fi
  [[ "$D" =~ ^[A-Za-z0-9_./+,:@=-]+$ ]] || die "DIR must not contain whitespace or quotes: '$D'"
}

# (never background in_a/in_i: $! would be a subshell, not the process; use ip netns exec)
in_a() { ip netns exec "$NS_A" "$@"; }
in_i() { ip netns exec "$NS_I" "$@"; }

# A process runs (exists and is not a zombie: PID 1 here may reap late or never).
running() {
  local st
  st="$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# pid from DIR/X.pid if that process still runs inside netns NS (guards against pid reuse).
live_pid() {
  local f="$D/$1.pid" p
  [ -s "$f" ] || return 1
  p="$(tr -dc 0-9 <"$f")"
  [ -n "$p" ] && running "$p" || return 1
  [ "$(ip netns identify "$p" 2>/dev/null)" = "$2" ] || return 1
  echo "$p"
}

# Kill the given pids (TERM, then KILL after ~1 s; SIG=KILL at once) and wait until they are gone.
kill_pids() {
  [ $# -gt 0 ] || return 0
  kill -"${SIG:-TERM}" "$@" 2>/dev/null || true
  local i p alive
  for i in $(seq 1 300); do
    alive=()
    for p in "$@"; do running "$p" && alive+=("$p"); done
    [ ${#alive[@]} -eq 0 ] && return 0
    [ "$i" -eq 100 ] && kill -KILL "${alive[@]}" 2>/dev/null || true
    sleep 0.01
  done
  echo "$PROG: warning: pids still alive: ${alive[*]}" >&2
}

preflight() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, port 53/443, mount --bind)"
  local c
  for c in ip dnsmasq unshare mount curl nft; do
    command -v "$c" >/dev/null 2>&1 || die "'$c' not found: run scripts/setup.sh (iproute2, dnsmasq-base, curl, nftables)"
  done
  [ -x "$VENV/bin/moto_server" ] || die "$VENV/bin/moto_server not found: run scripts/setup.sh or set VPCE_PROBE_VENV"
  [ -x "$VENV/bin/python" ] || die "$VENV/bin/python not found: run scripts/setup.sh or set VPCE_PROBE_VENV"
  ip netns list >/dev/null 2>&1 || die "'ip netns' does not work here"
}

# ---------------------------------------------------------------------------------------------
gen_certs() {
  "$VENV/bin/python" - "$D" "$ADMIN_IP" "$VPCE_S3_HOST" <<'PY' || die "certificate generation failed (is 'cryptography' in the venv?)"
import datetime, ipaddress, os, sys
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

d, admin_ip, vpce = sys.argv[1], sys.argv[2], sys.argv[3]
now = datetime.datetime.now(datetime.timezone.utc)
nb, na = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
pem = lambda c: c.public_bytes(serialization.Encoding.PEM)
keypem = lambda k: k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())

ca_key = ec.generate_private_key(ec.SECP256R1())
ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vpce-probe sim"),
                     x509.NameAttribute(NameOID.COMMON_NAME, f"vpce-probe sim CA {os.path.basename(d)}")])
ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
      .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
      .not_valid_before(nb).not_valid_after(na)
      .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
      .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                   content_commitment=False, key_encipherment=False,
                                   data_encipherment=False, key_agreement=False,
                                   encipher_only=False, decipher_only=False), critical=True)
      .add_extension(ca_ski, critical=False)
      .sign(ca_key, hashes.SHA256()))

names = []
for r in ("us-east-1", "eu-west-1"):
    names += [f"s3.{r}.amazonaws.com", f"*.s3.{r}.amazonaws.com"]
names += ["s3.amazonaws.com", "*.s3.amazonaws.com"]
for s in ("ec2", "sts", "logs", "monitoring"):
    names.append(f"{s}.us-east-1.amazonaws.com")
names += [vpce, f"*.{vpce}"] + [f"*.{k}.{vpce}" for k in ("bucket", "accesspoint", "control")]
san = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(admin_ip))]

key = ec.generate_private_key(ec.SECP256R1())
leaf = (x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "s3.us-east-1.amazonaws.com")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(nb).not_valid_after(na)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256()))

def write(name, data, mode=0o644):
    p = os.path.join(d, name)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, mode)

write("ca.pem", pem(ca)); write("ca.key", keypem(ca_key), 0o600)
write("server.pem", pem(leaf)); write("server.key", keypem(key), 0o600)

# The S3 front's TLS faults (s3_front.py --tls-cert): an intercepting middlebox's certificate
# for the same names from its own CA, which nothing trusts (tls-untrusted.pem: leaf + that CA,
# as a middlebox sends them), and a certificate from the sim CA for another name
# (tls-wrong-host.pem).
def leaf_for(cn, sans, issuer_name, issuer_key, issuer_ski):
    k = ec.generate_private_key(ec.SECP256R1())
    c = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(issuer_name).public_key(k.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(nb).not_valid_after(na)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
         .add_extension(x509.SubjectAlternativeName(sans), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False)
         .sign(issuer_key, hashes.SHA256()))
    return c, k

mitm_key = ec.generate_private_key(ec.SECP256R1())
mitm_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp TLS inspection"),
                       x509.NameAttribute(NameOID.COMMON_NAME, "Example Corp Intercepting Proxy CA")])
mitm_ski = x509.SubjectKeyIdentifier.from_public_key(mitm_key.public_key())
mitm_ca = (x509.CertificateBuilder().subject_name(mitm_name).issuer_name(mitm_name)
           .public_key(mitm_key.public_key()).serial_number(x509.random_serial_number())
           .not_valid_before(nb).not_valid_after(na)
           .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
           .add_extension(mitm_ski, critical=False)
           .sign(mitm_key, hashes.SHA256()))
c, k = leaf_for("s3.us-east-1.amazonaws.com", san, mitm_name, mitm_key, mitm_ski)
write("tls-untrusted.pem", pem(c) + pem(mitm_ca)); write("tls-untrusted.key", keypem(k), 0o600)
c, k = leaf_for("www.example.com", [x509.DNSName("www.example.com")], ca_name, ca_key, ca_ski)
write("tls-wrong-host.pem", pem(c)); write("tls-wrong-host.key", keypem(k), 0o600)
PY
}

# ---------------------------------------------------------------------------------------------
# DNS: DIR/dns.records ("HOST VALUE" lines) -> DIR/dnsmasq.conf -> (re)start dnsmasq.
default_records() {
  cat <<EOF
s3.us-east-1.amazonaws.com $S3_IP
s3.amazonaws.com $S3_IP
s3.eu-west-1.amazonaws.com $S3_EU_IP
ec2.us-east-1.amazonaws.com $EC2_IP
sts.us-east-1.amazonaws.com $STS_IP
logs.us-east-1.amazonaws.com $LOGS_IP
monitoring.us-east-1.amazonaws.com $CW_IP
$VPCE_S3_HOST $ENDPOINT_IP
EOF
}

write_dnsmasq_conf() {
  local host val ip
  {
    echo "# generated by vpc.sh from dns.records"
    echo "port=53"
    echo "listen-address=$DNS_IP,$DNS_IP2"
    echo "bind-interfaces"
    echo "no-resolv"
    echo "no-hosts"
    echo "no-poll"
    echo "local-ttl=5"
    echo "log-queries"
    echo "log-facility=$D/dnsmasq.log"
    echo "pid-file=$D/dnsmasq.pid"
    echo "user=root"
    echo "group=root"
    # any name without a record: NXDOMAIN (like a public name that does not exist)
    echo "address=/#/"
    while read -r host val; do
      [ -n "$host" ] || continue
      case "$val" in
        nx) echo "address=/$host/" ;;
        timeout) echo "server=/$host/127.0.0.1#9" ;;    # nothing listens there: never answers
        servfail) echo "server=/$host/127.0.0.1#$SERVFAIL_PORT" ;;
        *)
          for ip in ${val//,/ }; do echo "address=/$host/$ip"; done
          echo "local=/$host/" ;;                     # AAAA: empty NOERROR, not REFUSED
      esac
    done <"$D/dns.records"
  } >"$D/dnsmasq.conf.new"
  mv "$D/dnsmasq.conf.new" "$D/dnsmasq.conf"
}

start_servfail_responder() {
  live_pid servfail "$NS_A" >/dev/null && return 0
  ip netns exec "$NS_A" "$VENV/bin/python" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    q, a = s.recvfrom(4096)
    if len(q) < 12:
        continue
    i = 12
    while i < len(q) and q[i]:
        i += 1 + q[i]
    i += 5
    flags = bytes([0x80 | (q[2] & 0x79), 0x80 | 2])  # QR, opcode+RD kept, RA, rcode SERVFAIL
    s.sendto(q[:2] + flags + b"\x00\x01\x00\x00\x00\x00\x00\x00" + q[12:i], a)
' "$SERVFAIL_PORT" </dev/null >>"$D/servfail.log" 2>&1 &
  echo $! >"$D/servfail.pid"
}

restart_dnsmasq() {
  local p
  if p="$(live_pid dnsmasq "$NS_A")"; then kill_pids "$p"; fi
  rm -f "$D/dnsmasq.pid"
  grep -q ' servfail$' "$D/dns.records" && start_servfail_responder
  # dnsmasq daemonizes only once its sockets are bound: when this returns, it answers.
  in_a dnsmasq --conf-file="$D/dnsmasq.conf" </dev/null >>"$D/dnsmasq.out" 2>&1 \
    || die "dnsmasq failed to start: $(tail -n 3 "$D/dnsmasq.out" 2>/dev/null)"
}

# ---------------------------------------------------------------------------------------------
start_imds() {
  local p cfg=()
  if p="$(live_pid imds "$NS_A")"; then kill_pids "$p"; fi
  [ -s "$D/instance.json" ] && cfg=(--config "$D/instance.json")
  : >"$D/imds.log"
  ip netns exec "$NS_A" "$VENV/bin/python" "$REPO/tests/emulators/imds.py" --host "$IMDS_IP" --port 80 "${cfg[@]}" \
    </dev/null >>"$D/imds.log" 2>&1 &
  echo $! >"$D/imds.pid"
}

wait_imds() {
  local i
  for i in $(seq 1 200); do
    grep -q '^READY' "$D/imds.log" 2>/dev/null && return 0
    running "$(cat "$D/imds.pid")" || die "the IMDS emulator died: $(tail -n 5 "$D/imds.log")"
    sleep 0.02
  done
  die "the IMDS emulator did not start in 4 s: $(tail -n 5 "$D/imds.log")"
}

# ---------------------------------------------------------------------------------------------
# A /30 in 198.18.0.0/15 for the admin veth, derived from NAME; the next free one on a clash.
pick_admin_net() {
  local h i b used
  h=$(( $(printf '%s' "$N" | cksum | cut -d' ' -f1) % 32768 ))
  used="$(ip -4 -o addr show | awk '{print $4}')"
  for i in $(seq 0 63); do
    b=$(( (h + i) % 32768 ))
    # 32768 blocks = 2 (second octet) * 256 (third octet) * 64 (/30s per /24)
    local s=$(( b / 16384 )) t=$(( (b / 64) % 256 )) u=$(( (b % 64) * 4 ))
    ADMIN_NET="198.$(( 18 + s )).$t.$u"
    ADMIN_HOST_IP="198.$(( 18 + s )).$t.$(( u + 1 ))"
    ADMIN_IP="198.$(( 18 + s )).$t.$(( u + 2 ))"
    if ! grep -qx "$ADMIN_HOST_IP/30" <<<"$used"; then return 0; fi
  done
  die "no free admin /30 in 198.18.0.0/15 near slot $h"
}

cmd_up() {
  check_name "${1:-}"; [ -n "${2:-}" ] || usage
  preflight
  resolve_dir "$2"
  mkdir -p "$REG"
  if ip netns list | grep -qE "^($NS_I|$NS_A)( |$)" || ip link show "$IF_H" >/dev/null 2>&1; then
    die "sim '$N' already exists (netns $NS_I/$NS_A or link $IF_H): run '$PROG down $N' first"
  fi
  local t0
  UP_OK=0
  t0=$(date +%s%N)
  trap '[ "$UP_OK" = 1 ] || { echo "$PROG: up failed, cleaning up" >&2; cmd_down "$N" "$D" >/dev/null 2>&1 || true; }' EXIT
  ln -sfn "$D" "$REG/$N"
  rm -f "$D"/*.pid "$D/dnsmasq.log" "$D/dnsmasq.out" "$D/moto.log" "$D/imds.log" "$D/servfail.log"

  # admin subnet + veths under a lock, so parallel `up`s never pick the same /30
  exec 9>"$REG/.lock"; flock 9
  pick_admin_net
  ip netns add "$NS_I"
  ip netns add "$NS_A"
  ip link add "$IF_I" address "$INSTANCE_MAC" netns "$NS_I" type veth peer name "$IF_A" netns "$NS_A"
  ip link add "$IF_H" type veth peer name "$IF_M" netns "$NS_A"
  ip addr add "$ADMIN_HOST_IP/30" dev "$IF_H"
  ip link set "$IF_H" up
  flock -u 9; exec 9>&-

  gen_certs &
  local certs_pid=$!

  in_a sysctl -qw net.ipv4.ip_forward=0
  in_a ip link set lo up
  in_a ip addr add "$ROUTER_IP/24" dev "$IF_A"
  in_a ip link set "$IF_A" up
  in_a ip addr add "$ADMIN_IP/30" dev "$IF_M"
  in_a ip link set "$IF_M" up
  local a
  for a in "$S3_IP" "$S3_EU_IP" "$EC2_IP" "$STS_IP" "$LOGS_IP" "$CW_IP" "$ENDPOINT_IP" \
           "$DNS_IP" "$DNS_IP2" "$IMDS_IP"; do
    in_a ip addr add "$a/32" dev lo
  done
  in_i ip link set lo up
  in_i ip addr add "$INSTANCE_IP/24" dev "$IF_I"
  in_i ip link set "$IF_I" up
  in_i ip route add default via "$ROUTER_IP" dev "$IF_I"

  wait "$certs_pid" || die "certificate generation failed"

  # moto: one server for every service, TLS on 443 of every address of the aws netns
  MOTO_S3_CUSTOM_ENDPOINTS="https://bucket.$VPCE_S3_HOST" \
    ip netns exec "$NS_A" "$VENV/bin/moto_server" -H 0.0.0.0 -p 443 -c "$D/server.pem" -k "$D/server.key" \
    </dev/null >>"$D/moto.log" 2>&1 &
  echo $! >"$D/moto.pid"
  local tm; tm=$(date +%s%N)

  echo "nameserver $DNS_IP" >"$D/resolv.conf"
  default_records >"$D/dns.records"
  cp "$D/dns.records" "$D/dns.defaults"
  write_dnsmasq_conf
  restart_dnsmasq
  [ "${VPC_SIM_IMDS:-1}" = 0 ] || start_imds

  cat >"$D/env" <<EOF
NAME=$N
NS_INSTANCE=$NS_I
NS_AWS=$NS_A
IF_INSTANCE=$IF_I
INSTANCE_IP=$INSTANCE_IP
ROUTER_IP=$ROUTER_IP
DNS_IP=$DNS_IP
S3_IP=$S3_IP
S3_EU_IP=$S3_EU_IP
EC2_IP=$EC2_IP
STS_IP=$STS_IP
ENDPOINT_IP=$ENDPOINT_IP
VPCE_S3_HOST=$VPCE_S3_HOST
ADMIN_IP=$ADMIN_IP
ADMIN_URL=https://$ADMIN_IP
CA_BUNDLE=$D/ca.pem
RESOLV_CONF=$D/resolv.conf
MOTO_LOG=$D/moto.log
DNS_LOG=$D/dnsmasq.log
IMDS_URL=$( [ "${VPC_SIM_IMDS:-1}" = 0 ] || echo "http://$IMDS_IP" )
IMDS_LOG=$D/imds.log
PROXY_IP=$PROXY_IP
PROXY_URL=http://$PROXY_IP:$PROXY_PORT
PROXY_LOG=$D/proxy.log
SIM=$SELF
DIR=$D
S3_FRONT_LOG=$D/s3front.log
EOF

  [ "${VPC_SIM_IMDS:-1}" = 0 ] || wait_imds
  # moto: ready when a real HTTPS request through the admin veth verifies against ca.pem
  local i
  for i in $(seq 1 300); do
    if curl -sf -o /dev/null --max-time 1 --cacert "$D/ca.pem" "https://$ADMIN_IP/moto-api/"; then
      UP_OK=1
      break
    fi
    running "$(cat "$D/moto.pid")" || die "moto_server died: $(tail -n 5 "$D/moto.log")"
    sleep 0.05
  done
  [ "$UP_OK" = 1 ] || die "moto_server did not answer on https://$ADMIN_IP in 15 s: $(tail -n 5 "$D/moto.log")"
  local t1; t1=$(date +%s%N)
  echo "$PROG: sim '$N' up in $(( (t1 - t0) / 1000000 )) ms (moto ready $(( (t1 - tm) / 1000000 )) ms after start); env in $D/env" >&2
}

cmd_down() {
  check_name "${1:-}"
  [ "$(id -u)" -eq 0 ] || die "must run as root"
  local d="${2:-}"
  if [ -z "$d" ] && [ -L "$REG/$N" ]; then d="$(readlink "$REG/$N")"; fi
  D="${d:-/nonexistent}"
  local pids=() p ns f
  # everything still running inside the two namespaces (moto, dnsmasq, imds, exec'd commands)
  for ns in "$NS_A" "$NS_I" "$NS_C"; do
    if ip netns list | grep -qE "^$ns( |$)"; then
      for p in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$p"); done
    fi
  done
  # and our recorded pids if they still sit in a namespace of ours (netns name already gone)
  for f in moto dnsmasq imds servfail proxy s3front; do
    if p="$(live_pid "$f" "$NS_A")"; then pids+=("$p"); fi
  done
  # SIGKILL: nothing in the sim keeps state worth flushing, and moto needs ~0.4-1 s to exit on TERM
  [ ${#pids[@]} -eq 0 ] || SIG=KILL kill_pids $(printf '%s\n' "${pids[@]}" | sort -u)
  for ns in "$NS_C" "$NS_I" "$NS_A"; do
    ip netns del "$ns" 2>/dev/null || true
  done
  ip link del "$IF_H" 2>/dev/null || true
  [ -d "$D" ] && rm -f "$D"/*.pid
  [ -L "$REG/$N" ] && rm -f "$REG/$N"
  return 0
}

cmd_exec() {
  check_name "${1:-}"; shift
  local ns="${EXEC_NS:-$NS_I}"
  local d=""
  if [ "${1:-}" != "--" ]; then d="${1:-}"; shift || true; fi
  [ "${1:-}" = "--" ] || usage
  shift
  [ $# -gt 0 ] || usage
  resolve_dir "$d"
  [ -f "$D/resolv.conf" ] || die "$D/resolv.conf missing: is sim '$N' up with this DIR?"
  # the same pid all the way down (ip, unshare, sh all exec): killing it kills CMD; the env is
  # passed through unchanged (PATH as the caller had it; sh adds PWD and SHLVL)
  local ipb unb mtb
  ipb="$(command -v ip)"; unb="$(command -v unshare)"; mtb="$(command -v mount)"
  ip netns list | grep -qE "^$ns( |$)" || die "no netns $ns (is sim '$N' up, and its container made?)"
  PATH="$ORIG_PATH" exec "$ipb" netns exec "$ns" "$unb" -m /bin/sh -c \
    "$mtb"' --bind "$0" /etc/resolv.conf && exec "$@"' "$D/resolv.conf" "$@"
}

cmd_dns() {
  check_name "${1:-}"; shift
  local d=""
  [ $# -eq 3 ] && { d="$1"; shift; }
  [ $# -eq 2 ] || usage
  local host="${1%.}" val="$2"
  [[ "$host" =~ ^[A-Za-z0-9.-]+$ ]] || die "bad host name '$host'"
  resolve_dir "$d"
  [ -f "$D/dns.records" ] || die "$D/dns.records missing: is sim '$N' up with this DIR?"
  case "$val" in
    nx|timeout|servfail|remove|default) ;;
    *) [[ "$val" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}(,([0-9]{1,3}\.){3}[0-9]{1,3})*$ ]] \
         || die "VALUE must be IPv4[,IPv4…] | nx | timeout | servfail | default | remove (got '$val')" ;;
  esac
  local new
  new="$(awk -v h="$host" 'tolower($1) != tolower(h)' "$D/dns.records")"
  case "$val" in
    remove) ;;
    default)
      local def; def="$(awk -v h="$host" 'tolower($1) == tolower(h)' "$D/dns.defaults")"
      [ -n "$def" ] || die "no default record for $host"
      new="$new"$'\n'"$def" ;;
    *) new="$new"$'\n'"$host $val" ;;
  esac
  printf '%s\n' "$new" | sed '/^$/d' >"$D/dns.records"
  write_dnsmasq_conf
  restart_dnsmasq
}

cmd_fault() {
  check_name "${1:-}"
  local kind="${2:-}" cidr="${3:-}"
  [[ "$cidr" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}(/[0-9]{1,2})?$ ]] || die "CIDR must be IPv4 a.b.c.d[/n] (got '$cidr')"
  ip netns list | grep -qE "^$NS_I( |$)" || die "sim '$N' is not up (no netns $NS_I)"
  case "$kind" in
    blackhole|unreachable|prohibit) in_i ip route replace "$kind" "$cidr" ;;
    drop)
      in_i ip neigh replace "$DROP_GW" lladdr "$DROP_MAC" dev "$IF_I" nud permanent
      in_i ip route replace "$cidr" via "$DROP_GW" dev "$IF_I" ;;
    clear)
      in_i ip route del "$cidr" 2>/dev/null || true ;;
    *) die "KIND must be blackhole | unreachable | prohibit | drop | clear (got '$kind')" ;;
  esac
}

cmd_imds() {
  check_name "${1:-}"; shift
  local d="" cfg=""
  case $# in
    0) ;;
    1) if [ -d "$1" ]; then d="$1"; else cfg="$1"; fi ;;
    2) d="$1"; cfg="$2" ;;
    *) usage ;;
  esac
  resolve_dir "$d"
  [ -z "$cfg" ] || cp "$cfg" "$D/instance.json"
  start_imds
  wait_imds
}

cmd_container() {
  check_name "${1:-}"
  [ "$(id -u)" -eq 0 ] || die "must run as root"
  ip netns list | grep -qE "^$NS_I( |$)" || die "sim '$N' is not up (no netns $NS_I)"
  ! ip netns list | grep -qE "^$NS_C( |$)" || die "container of sim '$N' already exists ($NS_C)"
  ip netns add "$NS_C"
  ip link add "$IF_C" netns "$NS_C" type veth peer name "$IF_B" netns "$NS_I"
  in_i ip addr add 172.17.0.1/16 dev "$IF_B"
  in_i ip link set "$IF_B" up
  in_i sysctl -qw net.ipv4.ip_forward=1
  # Docker's bridge network: the container's traffic leaves with the instance's address
  printf '%s\n' "table ip vpcsim_container {" \
    "  chain post {" "    type nat hook postrouting priority srcnat; policy accept;" \
    "    ip saddr 172.17.0.0/16 oifname \"$IF_I\" masquerade" "  }" "}" \
    | in_i nft -f - || die "nft masquerade failed in $NS_I (nf_nat?)"
  ip netns exec "$NS_C" ip link set lo up
  ip netns exec "$NS_C" ip addr add 172.17.0.2/16 dev "$IF_C"
  ip netns exec "$NS_C" ip link set "$IF_C" up
  ip netns exec "$NS_C" ip route add default via 172.17.0.1 dev "$IF_C"
}

cmd_proxy() {
  check_name "${1:-}"
  resolve_dir "${2:-}"
  local p i
  if p="$(live_pid proxy "$NS_A")"; then kill_pids "$p"; fi
  in_a ip addr replace "$PROXY_IP/32" dev lo
  # the proxy resolves S3 names as a proxy in the VPC would: through the VPC DNS
  echo "nameserver $DNS_IP" >"$D/proxy-resolv.conf"
  : >"$D/proxy.log"
  local unb mtb
  unb="$(command -v unshare)"; mtb="$(command -v mount)"
  ip netns exec "$NS_A" "$unb" -m /bin/sh -c \
    "$mtb"' --bind "$0" /etc/resolv.conf && exec "$@"' "$D/proxy-resolv.conf" \
    "$VENV/bin/python" "$REPO/tests/emulators/proxy.py" --host "$PROXY_IP" --port "$PROXY_PORT" \
    --rules "$D/proxy-rules.json" \
    </dev/null >>"$D/proxy.log" 2>&1 &
  echo $! >"$D/proxy.pid"
  for i in $(seq 1 200); do
    grep -q '^READY' "$D/proxy.log" 2>/dev/null && return 0
    running "$(cat "$D/proxy.pid")" || die "the proxy died: $(tail -n 5 "$D/proxy.log")"
    sleep 0.02
  done
  die "the proxy did not start in 4 s: $(tail -n 5 "$D/proxy.log")"
}

cmd_resolv() {
  check_name "${1:-}"; shift
  local d=""
  [ $# -eq 2 ] && { d="$1"; shift; }
  [ $# -eq 1 ] || usage
  resolve_dir "$d"
  [ -f "$D/resolv.conf" ] || die "$D/resolv.conf missing: is sim '$N' up with this DIR?"
  case "$1" in
    default) echo "nameserver $DNS_IP" >"$D/resolv.conf" ;;
    *) [[ "$1" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}(,([0-9]{1,3}\.){3}[0-9]{1,3})*$ ]] \
         || die "VALUE must be IPv4[,IPv4…] | default (got '$1')"
       tr ',' '\n' <<<"$1" | sed 's/^/nameserver /' >"$D/resolv.conf" ;;
  esac
}

cmd_s3front() {
  check_name "${1:-}"; shift
  local d=""
  [ $# -eq 2 ] && { d="$1"; shift; }
  [ $# -eq 1 ] || usage
  local rules="$1" p
  resolve_dir "$d"
  [ -f "$D/dns.records" ] || die "$D/dns.records missing: is sim '$N' up with this DIR?"
  if [ "$rules" = off ]; then
    in_a nft delete table ip s3front 2>/dev/null || true
    if p="$(live_pid s3front "$NS_A")"; then kill_pids "$p"; fi
    rm -f "$D/s3front.pid"
    return 0
  fi
  [ -f "$rules" ] || die "no rules file '$rules'"
  "$VENV/bin/python" -c 'import json, sys; json.load(open(sys.argv[1]))' "$rules" \
    || die "rules file '$rules' is not JSON"
  # atomic: the front rereads the file when it changes and must never see half of it
  cp "$rules" "$D/s3front.rules.json.new"
  mv "$D/s3front.rules.json.new" "$D/s3front.rules.json"
  live_pid s3front "$NS_A" >/dev/null && return 0
  command -v nft >/dev/null 2>&1 || die "'nft' not found: run scripts/setup.sh (nftables)"
  : >"$D/s3front.out"; touch "$D/s3front.log"
  ip netns exec "$NS_A" "$VENV/bin/python" "$REPO/tests/emulators/s3_front.py" \
    --listen "$S3_IP:$S3_FRONT_PORT" --cert "$D/server.pem" --key "$D/server.key" \
    --tls-cert "untrusted=$D/tls-untrusted.pem,$D/tls-untrusted.key" \
    --tls-cert "wrong_host=$D/tls-wrong-host.pem,$D/tls-wrong-host.key" \
    --upstream "$S3_IP:443" --ca "$D/ca.pem" --rules "$D/s3front.rules.json" --log "$D/s3front.log" \
    </dev/null >>"$D/s3front.out" 2>&1 &
  echo $! >"$D/s3front.pid"
  local i
  for i in $(seq 1 200); do
    grep -q '^READY' "$D/s3front.out" 2>/dev/null && break
    running "$(cat "$D/s3front.pid")" || die "the S3 front died: $(tail -n 5 "$D/s3front.out")"
    sleep 0.02
  done
  grep -q '^READY' "$D/s3front.out" || die "the S3 front did not start in 4 s: $(tail -n 5 "$D/s3front.out")"
  in_a nft -f - <<NFT || die "nft: cannot DNAT S3 to the front"
table ip s3front {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "$IF_A" ip daddr $S3_IP tcp dport 443 dnat to $S3_IP:$S3_FRONT_PORT
  }
}
NFT
}

cmd_firewall() {
  check_name "${1:-}"
  resolve_dir "${2:-}"
  command -v nft >/dev/null 2>&1 || die "'nft' not found: run scripts/setup.sh (nftables)"
  [ -s "$D/instance.json" ] || die "$D/instance.json missing: the instance (its security groups) is what IMDS serves; run '$PROG imds' with a config first"
  ip netns list | grep -qE "^$NS_I( |$)" || die "sim '$N' is not up (no netns $NS_I)"
  "$VENV/bin/python" "$HERE/firewall.py" "$D" >"$D/firewall.nft.new" \
    || die "deriving the firewall from moto failed (see above)"
  mv "$D/firewall.nft.new" "$D/firewall.nft"
  in_i nft -f "$D/firewall.nft" || die "nft rejected $D/firewall.nft"
}

cmd_status() {
  check_name "${1:-}"
  resolve_dir "${2:-}"
  cat "$D/env"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  exec) shift; cmd_exec "$@" ;;
  exec-container) shift; EXEC_NS="${1:-x}-c" cmd_exec "$@" ;;
  container) shift; cmd_container "$@" ;;
  dns) shift; cmd_dns "$@" ;;
  fault) shift; cmd_fault "$@" ;;
  imds) shift; cmd_imds "$@" ;;
  proxy) shift; cmd_proxy "$@" ;;
  resolv) shift; cmd_resolv "$@" ;;
  firewall) shift; cmd_firewall "$@" ;;
  status) shift; cmd_status "$@" ;;
  s3front) shift; cmd_s3front "$@" ;;
  -h|--help|help|"") usage ;;
  *) die "unknown command '$1' (up, exec, exec-container, container, dns, fault, imds, proxy, resolv, s3front, firewall, down, status)" ;;
esac
