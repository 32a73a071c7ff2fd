#!/usr/bin/env python3
"""A fault-injecting front for S3 (stdlib only): it sits where S3 is, forwards every request to
moto, and, per rules it loads from a JSON file, answers some of them the way real S3 would fail
instead -- S3's wire format, which moto does not send (moto answers a denial with a bare 403 and
checks no clock).

Rules (``--rules FILE``, reloaded whenever the file changes: write it to a temporary name and
rename it over FILE) are a JSON object ``{"rules": [RULE, ...]}``; each RULE is::

    {"match": {...}, "fault": {"kind": KIND, ...}, "times": N}

``match`` (every key optional, all must hold): ``method`` ("PUT"), ``op`` (the S3 operation, as
the API names it: "PutObject", "HeadBucket", "GetBucketPolicy", "GetBucketEncryption", ...; see
``s3_operation``), ``bucket``, ``key`` (an fnmatch pattern), ``query`` (a query parameter that
must be present, e.g. "encryption"). ``times``: how many matching requests the rule applies to
(absent: all), so "503 SlowDown twice, then success" is two rules' worth of data, not code.

Fault kinds (``FAULTS``; add one by writing a function and registering it):

* ``error``: answer ``status`` with S3's XML error body (``code``, ``message``, and ``extra``
  elements in order, e.g. RequestTime/ServerTime), the headers S3 sends (x-amz-request-id,
  x-amz-id-2, Date, Content-Type: application/xml, Server: AmazonS3) and no body for HEAD;
  nothing reaches moto.
* ``clock``: the front's clock is ``skew_seconds`` off the real one: every answer's ``Date`` says
  so, and (``enforce``, default true, as S3 does) a request whose ``x-amz-date`` is more than 15
  minutes from that clock is refused with ``RequestTimeTooSkewed`` (403, RequestTime, ServerTime,
  MaxAllowedSkewMilliseconds 900000). Requests within the window are forwarded.

* ``delay``: wait ``seconds`` (default 5), then forward the request: a slow S3 (the request is
  read first, so a put has arrived whole). Other requests are not held up.
* ``age``: forward, and in the listing's answer (ListObjectVersions, ListObjectsV2) make the
  ``LastModified`` of every entry whose key matches ``keys`` (an fnmatch pattern, default all)
  ``seconds`` older (default 7200): what S3 answers for objects written that long ago, which
  moto (it stamps every object with the time it was written) cannot hold.

The first matching rule with a fault that answers wins; ``clock`` rules also set the clock of the
answers of later rules and of forwarded requests.

TLS (the handshake comes before any request, so it is not a rule): the rules file's optional
``"tls"`` key names the certificate the front presents, chosen per connection when the client's
ClientHello arrives (``sni_callback``): ``"sim"`` (default: the sim CA's certificate for S3's
names, ``--cert``/``--key``) or a name given with ``--tls-cert NAME=CERT,KEY`` (``vpc.sh``
gives ``untrusted``: S3's names from an intercepting middlebox's own CA, which the client does
not trust; ``wrong_host``: the sim CA, for www.example.com). A connection given another
certificate than ``sim`` is logged as ``{"event": "tls", "tls": NAME, "sni": ...}``.

Every request is logged, one JSON object per line (``--log FILE``): time, client, method, host,
path, query, op, bucket, key, x_amz_date, rule (index or null), fault, status.

Faults of the data plane (``FAULTS.update`` near the end of this file): they alter how a
forwarded answer, or the connection itself, reaches the client.

* ``truncate``: forward to moto, send its status and headers (the right ``Content-Length``) and
  only the first ``bytes`` of the body (default: half), then close the connection (a FIN, no TLS
  close_notify), as S3 or a middlebox dropping the connection mid-answer would.
* ``trickle``: forward, then send the body ``bytes_per_second`` (default 1) at a time, one chunk a
  second, until done or the client goes away.
* ``flip``: forward, with the byte at ``offset`` (default: the middle) of the body flipped
  (``xor``, default 1). ``checksum``: "keep" (default: the headers as moto sent them), "add"
  (``x-amz-checksum-sha256`` of the body before the flip, as S3 sends it for an object stored with
  a SHA-256 checksum when asked with ``x-amz-checksum-mode: ENABLED``, which moto does not), or
  "drop" (no ``x-amz-checksum-*`` header: only the client's own comparison can notice).
* ``reset``: a TCP RST (``SO_LINGER`` 0, then close). ``"at": "connect"``: right after the TCP
  accept, before the TLS handshake (``match`` may name only ``client``: nothing else is known
  yet; logged with ``op`` null and ``fault`` "reset"); ``"at": "response"`` (default): forward,
  send the status, the headers and the first ``bytes`` of the body (default: half), then reset.
  ``truncate`` and ``reset`` with ``"headers": false`` cut the connection before the status line
  (the request has reached moto: a put is stored, its answer lost).

Their log lines also carry ``length`` (the body's full length) and ``sent`` (the bytes sent).

Prints ``READY <host>:<port>`` on stdout once listening.
"""

import argparse
import base64
import email.utils
import fnmatch
import http.client
import json
import os
import re
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_SKEW_S = 900
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-connection", "content-length", "date", "server"}

# S3 operations by (method, has key, query parameter); the first matching entry wins.
OPS = [
    ("HEAD", False, None, "HeadBucket"),
    ("HEAD", True, None, "HeadObject"),
    ("GET", False, "policy", "GetBucketPolicy"),
    ("GET", False, "encryption", "GetBucketEncryption"),
    ("GET", False, "location", "GetBucketLocation"),
    ("GET", False, "versioning", "GetBucketVersioning"),
    ("GET", False, "list-type", "ListObjectsV2"),
    ("GET", False, "versions", "ListObjectVersions"),
    ("GET", False, None, "ListObjects"),
    ("GET", True, None, "GetObject"),
    ("PUT", False, "policy", "PutBucketPolicy"),
    ("PUT", False, "encryption", "PutBucketEncryption"),
    ("PUT", False, None, "CreateBucket"),
    ("PUT", True, None, "PutObject"),
    ("DELETE", False, "policy", "DeleteBucketPolicy"),
    ("DELETE", False, None, "DeleteBucket"),
    ("DELETE", True, None, "DeleteObject"),
    ("POST", False, "delete", "DeleteObjects"),
]


def s3_operation(method, bucket, key, query):
    """The S3 API operation of a request (None when it is not S3's or unknown)."""
    if not bucket:
        return "ListBuckets" if method == "GET" else None
    for m, has_key, param, op in OPS:
        if m == method and has_key == bool(key) and (param is None or param in query):
            return op
    return None


def bucket_and_key(host, path):
    """Virtual-hosted (``b.s3.<region>.amazonaws.com``) or path-style addressing."""
    host = host.split(":")[0].lower()
    parts = urllib.parse.unquote(path).lstrip("/").split("/", 1)
    for suffix in (".s3.amazonaws.com",):
        if host.endswith(suffix):
            return host[: -len(suffix)], "/".join(p for p in parts if p) or None
    if ".s3." in host and not host.startswith("s3."):
        bucket = host.split(".s3.", 1)[0]
        return bucket, "/".join(p for p in parts if p) or None
    bucket = parts[0] or None
    key = parts[1] if len(parts) > 1 and parts[1] else None
    return bucket, key


def request_id():
    return secrets.token_hex(8).upper()


def host_id():
    return base64.b64encode(secrets.token_bytes(57)).decode()


def http_date(ts):
    return email.utils.formatdate(ts, usegmt=True)


def error_xml(code, message, extra, rid, hid):
    esc = lambda s: (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    inner = f"<Code>{esc(code)}</Code><Message>{esc(message)}</Message>"
    for k, v in extra:
        inner += f"<{k}>{esc(v)}</{k}>"
    inner += f"<RequestId>{rid}</RequestId><HostId>{hid}</HostId>"
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{inner}</Error>'.encode()


class Answer:
    """What the front sends instead of forwarding."""

    def __init__(self, status, code, message, extra=()):
        self.status, self.code, self.message, self.extra = status, code, message, list(extra)


# --- fault kinds: fn(rule's fault dict, request dict, front clock) -> Answer | None ------------

def fault_error(f, req, now):
    extra = list((f.get("extra") or {}).items())
    return Answer(int(f.get("status", 403)), f.get("code", "AccessDenied"),
                  f.get("message", "Access Denied"), extra)


def fault_clock(f, req, now):
    if not f.get("enforce", True):
        return None
    sent = req.get("x_amz_date")
    if not sent:
        return None
    try:
        t = datetime.strptime(sent, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None
    if abs(t - now) <= MAX_SKEW_S:
        return None
    server = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Answer(403, "RequestTimeTooSkewed",
                  "The difference between the request time and the current time is too large.",
                  [("RequestTime", sent), ("ServerTime", server),
                   ("MaxAllowedSkewMilliseconds", MAX_SKEW_S * 1000)])


class Delay:
    """Forward after waiting ``seconds`` (outside the rules' lock)."""

    def __init__(self, seconds):
        self.seconds = seconds


class Age:
    """Forward, then age the listed entries whose key matches ``keys`` by ``seconds``."""

    def __init__(self, seconds, keys):
        self.seconds, self.keys = seconds, keys

    ENTRY = re.compile(rb"<(Version|DeleteMarker|Contents)>(.*?)</\1>", re.S)
    KEY = re.compile(rb"<Key>(.*?)</Key>", re.S)
    MODIFIED = re.compile(rb"<LastModified>(.*?)</LastModified>")

    def older(self, stamp):
        text = stamp.decode()
        for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
            try:
                t = datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
                break
            except ValueError:
                continue
        else:
            return stamp
        t = datetime.fromtimestamp(t.timestamp() - self.seconds, timezone.utc)
        return t.strftime("%Y-%m-%dT%H:%M:%S.000Z").encode()

    def apply(self, body):
        def entry(m):
            inner = m.group(2)
            k = self.KEY.search(inner)
            key = k.group(1).decode() if k else ""
            if not fnmatch.fnmatchcase(key, self.keys):
                return m.group(0)
            inner = self.MODIFIED.sub(lambda t: b"<LastModified>" + self.older(t.group(1))
                                      + b"</LastModified>", inner)
            return b"<" + m.group(1) + b">" + inner + b"</" + m.group(1) + b">"
        return self.ENTRY.sub(entry, body)


def fault_delay(f, req, now):
    return Delay(float(f.get("seconds", 5)))


def fault_age(f, req, now):
    return Age(float(f.get("seconds", 7200)), f.get("keys", "*"))


FAULTS = {"error": fault_error, "clock": fault_clock, "delay": fault_delay, "age": fault_age}


class Rules:
    """The rules file, reloaded when it changes; counts each rule's uses for ``times``."""

    def __init__(self, path, tls_names=("sim",)):
        self.path, self.stamp, self.rules, self.used = path, None, [], []
        self.tls_names, self.tls_name = set(tls_names), "sim"
        self.lock = threading.Lock()

    def current(self):
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        if stamp != self.stamp:
            rules = []
            if stamp is not None:
                with open(self.path) as f:
                    rules = json.load(f).get("rules", [])
                for r in rules:
                    kind = r.get("fault", {}).get("kind")
                    if kind not in FAULTS:
                        raise ValueError(f"unknown fault kind {kind!r} (known: {sorted(FAULTS)})")
            self.tls_name = tls_setting(self.path if stamp is not None else None, self.tls_names)
            self.stamp, self.rules, self.used = stamp, rules, [0] * len(rules)
        return self.rules

    def tls(self):
        """The certificate name the rules file picks for a new connection ("sim" by default)."""
        with self.lock:
            self.current()
            return self.tls_name

    @staticmethod
    def matches(m, req):
        if "method" in m and m["method"].upper() != req["method"]:
            return False
        if "op" in m and m["op"] != req["op"]:
            return False
        if "bucket" in m and m["bucket"] != req["bucket"]:
            return False
        if "key" in m and not fnmatch.fnmatchcase(req["key"] or "", m["key"]):
            return False
        if "query" in m and m["query"] not in req["query"]:
            return False
        return True

    def decide(self, req):
        """(front clock, Answer or None, rule index or None, fault kind or None)."""
        with self.lock:
            rules = self.current()
            skew = 0.0
            for i, r in enumerate(rules):
                if not self.matches(r.get("match", {}), req):
                    continue
                if r.get("times") is not None and self.used[i] >= int(r["times"]):
                    continue
                f = r["fault"]
                if at_connect(f):
                    continue
                if f["kind"] == "clock":
                    skew = float(f.get("skew_seconds", 0))
                ans = FAULTS[f["kind"]](f, req, time.time() + skew)
                if f["kind"] == "clock" and ans is None:
                    continue
                self.used[i] += 1
                return time.time() + skew, ans, i, f["kind"]
            return time.time() + skew, None, None, None


# --- TLS: the certificate presented, per connection ------------------------------------------

def tls_setting(path, known):
    """The rules file's ``tls`` key ("sim" when absent), checked against the known names."""
    if path is None:
        return "sim"
    with open(path) as f:
        name = json.load(f).get("tls", "sim")
    if name not in known:
        raise ValueError(f"unknown tls certificate {name!r} (known: {sorted(known)})")
    return name


def tls_contexts(args):
    """{name: server SSLContext}: "sim" from --cert/--key, one per --tls-cert NAME=CERT,KEY."""
    def ctx(cert, key):
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        c.load_cert_chain(cert, key)
        return c
    out = {"sim": ctx(args.cert, args.key)}
    for spec in args.tls_cert or []:
        name, _, files = spec.partition("=")
        cert, _, key = files.partition(",")
        if not (name and cert and key):
            raise SystemExit(f"--tls-cert {spec!r}: want NAME=CERT,KEY")
        out[name] = ctx(cert, key)
    return out


def pick_certificate(cfg, contexts):
    """An ``sni_callback`` for the "sim" context: switch the connection to the certificate the
    rules file names (the ClientHello has arrived, no certificate has been sent yet)."""
    def pick(sock, server_name, _ctx):
        try:
            name = cfg.rules.tls()
        except Exception as e:  # a broken rules file: say so loudly, keep the sim's certificate
            print(f"s3_front: rules: {e}", file=sys.stderr, flush=True)
            return None
        if name != "sim":
            sock.context = contexts[name]
            try:
                client = sock.getpeername()[0]
            except OSError:
                client = None
            cfg.log({"time": time.time(), "client": client, "event": "tls", "tls": name,
                     "sni": server_name})
        return None
    return pick


class Front(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AmazonS3"
    sys_version = ""

    def log_message(self, fmt, *args):  # the JSON log replaces the default one
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle(self):
        """A connection: reset right away when a connect-stage rule says so."""
        if not reset_at_connect(self):
            super().handle()

    def handle_any(self):
        cfg = self.server.cfg
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        host = self.headers.get("Host", "")
        bucket, key = bucket_and_key(host, url.path)
        req = {
            "time": time.time(), "client": self.client_address[0], "method": self.command,
            "host": host, "path": url.path, "query": sorted(query), "bucket": bucket, "key": key,
            "x_amz_date": self.headers.get("x-amz-date"),
        }
        req["op"] = s3_operation(self.command, bucket, key, query)
        body = self.read_body()
        try:
            now, ans, rule, kind = cfg.rules.decide(req)
            ans = alter_body(self, ans, req)
        except Exception as e:  # a broken rules file: say so loudly, answer 500
            now, ans, rule, kind = time.time(), Answer(500, "InternalError", f"s3_front: {e}"), None, "broken-rules"
            print(f"s3_front: rules: {e}", file=sys.stderr, flush=True)
        if isinstance(ans, Delay):
            time.sleep(ans.seconds)
            status = self.forward(body, now + ans.seconds)
        elif isinstance(ans, Age):
            status = self.forward(body, now, transform=ans.apply)
        elif ans is not None:
            status = self.answer(ans, now)
        else:
            status = self.forward(body, now)
        req.update(rule=rule, fault=kind, status=status)
        cfg.log(req)

    def start(self, status):
        """The status line and S3's Server header (no Date: the caller sends the front's)."""
        self.log_request(status)
        self.send_response_only(status)
        self.send_header("Server", "AmazonS3")

    def answer(self, ans, now):
        rid, hid = request_id(), host_id()
        payload = b"" if self.command == "HEAD" else error_xml(ans.code, ans.message, ans.extra, rid, hid)
        self.start(ans.status)
        self.send_header("x-amz-request-id", rid)
        self.send_header("x-amz-id-2", hid)
        self.send_header("Date", http_date(now))
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)
        return ans.status

    def forward(self, body, now, transform=None):
        cfg = self.server.cfg
        conn = http.client.HTTPSConnection(cfg.upstream_host, cfg.upstream_port,
                                           context=cfg.upstream_tls, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("connection", "keep-alive", "transfer-encoding",
                                            "content-length", "expect")}
            headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if transform is not None and resp.status == 200:
                data = transform(data)
            self.start(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP:
                    self.send_header(k, v)
            self.send_header("Date", http_date(now))
            length = resp.getheader("Content-Length")
            if self.command == "HEAD":
                self.send_header("Content-Length", length or "0")
            else:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD" and data:
                self.wfile.write(data)
            return resp.status
        finally:
            conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Config:
    def __init__(self, args, tls_names=("sim",)):
        self.rules = Rules(args.rules, tls_names)
        self.rules.current()  # a broken file fails the start, loudly
        host, _, port = args.upstream.rpartition(":")
        self.upstream_host, self.upstream_port = host, int(port)
        self.upstream_tls = ssl.create_default_context(cafile=args.ca)
        self.upstream_tls.check_hostname = False  # moto is reached by address
        self.log_path = args.log
        self.log_lock = threading.Lock()

    def log(self, entry):
        with self.log_lock, open(self.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")


# --- data-plane faults: how a forwarded answer (or the connection) reaches the client -------

import hashlib  # noqa: E402  (kept with the faults that use them)
import socket  # noqa: E402
import struct  # noqa: E402


class Forward:
    """Forward to moto, but deliver the answer's body with ``send(handler, data)``, which
    writes it (and may cut the connection) and returns how many bytes it sent; ``headers``
    (optional) edits the answer's header lines: ``headers(lines, body) -> lines``."""

    def __init__(self, send, headers=None, before_headers=False):
        self.send, self.headers, self.before_headers = send, headers, before_headers


class Discard:
    """The ``wfile`` of a connection already cut: what ``forward`` still writes goes nowhere."""

    def write(self, data):
        return len(data)

    def flush(self):
        pass


class AlteredBody:
    """Stands in for the handler's ``wfile`` while ``forward`` answers: it holds the header
    block back until the body comes (so the fault can edit the headers from it), then hands the
    body to the fault's ``send``."""

    def __init__(self, handler, how, req):
        self.handler, self.how, self.req, self.real = handler, how, req, handler.wfile
        self.head = None

    def write(self, data):
        if self.head is None and self.how.before_headers:
            self.handler.wfile = self.real
            self.req.update(sent=self.how.send(self.handler, b""))
            self.handler.wfile = Discard()
            return len(data)
        if self.head is None:
            self.head = data
            if b"\r\nContent-Length: 0\r\n" in data:  # no body will follow
                self.handler.wfile = self.real
                return self.real.write(data)
            return len(data)
        self.handler.wfile = self.real
        head = self.head
        if self.how.headers is not None:
            lines = head.rstrip(b"\r\n").split(b"\r\n")
            head = b"\r\n".join(self.how.headers(lines, data)) + b"\r\n\r\n"
        self.real.write(head)
        self.req.update(length=len(data), sent=self.how.send(self.handler, data))
        return len(data)

    def flush(self):
        self.real.flush()


def alter_body(handler, ans, req):
    """A ``Forward`` answer: forward with the body altered (the handler's ``wfile`` swapped)."""
    if not isinstance(ans, Forward):
        return ans
    if handler.command != "HEAD":
        handler.wfile = AlteredBody(handler, ans, req)
    return None


def part_of(f, data):
    n = f.get("bytes")
    return len(data) // 2 if n is None else max(0, min(int(n), len(data)))


def cut_connection(handler, rst):
    """End the connection now: a RST (SO_LINGER 0) or a plain FIN (no TLS close_notify)."""
    handler.close_connection = True
    sock = handler.connection
    time.sleep(0.2)  # let what was sent reach the client before the connection ends
    try:
        if rst:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass
    handler.rfile.close()  # its reference would keep the socket open
    sock.close()


def fault_truncate(f, req, now):
    def send(handler, data):
        n = part_of(f, data)
        handler.wfile.write(data[:n])
        cut_connection(handler, rst=False)
        return n
    return Forward(send, before_headers=not f.get("headers", True))


def fault_trickle(f, req, now):
    step = max(1, int(f.get("bytes_per_second", 1)))

    def send(handler, data):
        sent = 0
        try:
            while sent < len(data):
                chunk = data[sent:sent + step]
                handler.wfile.write(chunk)
                sent += len(chunk)
                if sent < len(data):
                    time.sleep(1.0)
        except OSError:  # the client gave up
            handler.close_connection = True
        return sent
    return Forward(send)


def fault_flip(f, req, now):
    def send(handler, data):
        if data:
            i = int(f.get("offset", len(data) // 2)) % len(data)
            data = data[:i] + bytes([data[i] ^ int(f.get("xor", 1))]) + data[i + 1:]
        handler.wfile.write(data)
        return len(data)
    def headers(lines, body):
        mode = f.get("checksum", "keep")
        if mode == "keep":
            return lines
        lines = [x for x in lines if not x.lower().startswith(b"x-amz-checksum-")]
        if mode == "add":
            digest = base64.b64encode(hashlib.sha256(body).digest())
            lines += [b"x-amz-checksum-sha256: " + digest, b"x-amz-checksum-type: FULL_OBJECT"]
        return lines
    return Forward(send, headers)


def fault_reset(f, req, now):
    if at_connect(f):
        return None  # decided when the connection is accepted (reset_at_connect)

    def send(handler, data):
        n = part_of(f, data)
        handler.wfile.write(data[:n])
        cut_connection(handler, rst=True)
        return n
    return Forward(send, before_headers=not f.get("headers", True))


def at_connect(fault):
    return fault.get("kind") == "reset" and fault.get("at") == "connect"


def reset_at_connect(handler):
    """Reset a new connection (before its TLS handshake) when a connect-stage rule applies to
    its client (counted for ``times``); True when it did."""
    cfg, client = handler.server.cfg, handler.client_address[0]
    rules, hit = cfg.rules, None
    with rules.lock:
        for i, r in enumerate(rules.current()):
            m = r.get("match", {})
            if not at_connect(r["fault"]) or m.get("client", client) != client:
                continue
            if r.get("times") is not None and rules.used[i] >= int(r["times"]):
                continue
            rules.used[i] += 1
            hit = i
            break
    if hit is None:
        return False
    cfg.log({"time": time.time(), "client": client, "method": None, "op": None, "rule": hit,
             "fault": "reset", "status": None})
    cut_connection(handler, rst=True)
    return True


FAULTS.update(truncate=fault_truncate, trickle=fault_trickle, flip=fault_flip, reset=fault_reset)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", required=True, help="HOST:PORT")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--upstream", required=True, help="moto's HOST:PORT (HTTPS)")
    p.add_argument("--ca", required=True, help="the CA that signed moto's certificate")
    p.add_argument("--rules", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--tls-cert", action="append", metavar="NAME=CERT,KEY",
                   help="another certificate the rules' \"tls\" key may name")
    args = p.parse_args()
    contexts = tls_contexts(args)
    cfg = Config(args, contexts)
    host, _, port = args.listen.rpartition(":")
    srv = ThreadingHTTPServer((host, int(port)), Front)
    srv.daemon_threads = True
    srv.cfg = cfg
    tls = contexts["sim"]
    tls.sni_callback = pick_certificate(cfg, contexts)
    # the handshake happens in the connection's thread, so a slow client blocks nobody
    srv.socket = tls.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    print(f"READY {host}:{port}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
