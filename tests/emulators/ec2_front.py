#!/usr/bin/env python3
"""A fault-injecting front for the EC2 Query API (stdlib only): it listens where the probe's
``AWS_ENDPOINT_URL_EC2`` points, forwards every request to moto's EC2, and injects what moto
never does:

* ``--throttle ACTION=N``: answer the first N requests of ACTION (``-1``: every one) the way EC2
  throttles: HTTP 503 with EC2's XML error body (``<Response><Errors><Error><Code>
  RequestLimitExceeded</Code>...<RequestID>``); nothing reaches moto.
* ``--page ACTION=SIZE``: moto answers every Describe call in one piece (it ignores MaxResults and
  NextToken for these calls), so the front pages moto's real answer: the items of the answer's
  list element (``entrySet``, ``securityGroupInfo``, ...) are cut into pages of SIZE, each with a
  ``nextToken`` (the offset of the next page) until the last; a request's ``NextToken`` picks
  its page.
* ``--empty-first ACTION``: the first page of ACTION (no NextToken) holds no item but a
  ``nextToken``, as EC2 answers a filtered request whose first page of candidates matched nothing.

Every request is logged, one JSON object per line (``--log FILE``): time, action, next_token,
status, fault. Prints ``READY <host>:<port>`` on stdout once listening.
"""

import argparse
import email.utils
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
ET.register_namespace("", EC2_NS)

# The list element of each paged answer.
LISTS = {
    "DescribeRouteTables": "routeTableSet",
    "DescribeManagedPrefixLists": "prefixListSet",
    "GetManagedPrefixListEntries": "entrySet",
    "DescribeVpcEndpoints": "vpcEndpointSet",
    "DescribeSecurityGroups": "securityGroupInfo",
    "DescribeNetworkAcls": "networkAclSet",
}

LOCK = threading.Lock()


def local(tag):
    return tag.rsplit("}", 1)[-1]


def page_of(xml, action, offset, size, empty_first):
    """The page at `offset` of moto's answer `xml`, with a nextToken when more follow."""
    root = ET.fromstring(xml)
    lst = next((c for c in root if local(c.tag) == LISTS[action]), None)
    for c in list(root):
        if local(c.tag) == "nextToken":
            root.remove(c)
    items = list(lst) if lst is not None else []
    if empty_first and offset is None:
        keep, nxt = [], 0
    else:
        offset = offset or 0
        keep = items[offset:offset + size]
        nxt = offset + size if offset + size < len(items) else None
    if lst is not None:
        for c in list(lst):
            lst.remove(c)
        lst.extend(keep)
    if nxt is not None:
        tok = ET.SubElement(root, f"{{{EC2_NS}}}nextToken")
        tok.text = f"page-{nxt}"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        cfg = self.server.cfg
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
        action = form.get("Action", [""])[0]
        token = form.get("NextToken", [None])[0]
        entry = {"time": time.time(), "action": action, "next_token": token, "fault": None}
        with LOCK:
            left = cfg.throttle.get(action, 0)
            if left != 0:
                cfg.throttle[action] = left - 1 if left > 0 else left
        if left != 0:
            rid = str(uuid.uuid4())
            err = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                   "<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
                   f"</Error></Errors><RequestID>{rid}</RequestID></Response>").encode()
            entry.update(status=503, fault="throttle")
            self.log(entry)
            return self.answer(503, err, [("Content-Type", "text/xml;charset=UTF-8"),
                                          ("Date", email.utils.formatdate(usegmt=True)),
                                          ("Server", "AmazonEC2")])
        paged = action in cfg.page or action in cfg.empty_first
        if paged:
            # moto answers in one piece: ask for all of it, then cut the page
            kept = [(k, v) for k, vs in form.items() for v in vs
                    if k not in ("NextToken", "MaxResults")]
            body = urllib.parse.urlencode(kept).encode()
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "content-length", "connection")}
        req = urllib.request.Request(cfg.upstream + "/", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, data, ctype = r.status, r.read(), r.headers.get("Content-Type", "text/xml")
        except urllib.error.HTTPError as e:
            status, data, ctype = e.code, e.read(), e.headers.get("Content-Type", "text/xml")
        if paged and status == 200:
            offset = int(token.split("-", 1)[1]) if token else None
            data = page_of(data, action, offset, cfg.page.get(action, 1 << 30),
                           action in cfg.empty_first)
            entry["fault"] = "page"
        entry["status"] = status
        self.log(entry)
        self.answer(status, data, [("Content-Type", ctype),
                                   ("Date", email.utils.formatdate(usegmt=True))])

    def log(self, entry):
        with LOCK, open(self.server.cfg.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


def pairs(values, conv):
    out = {}
    for v in values or []:
        k, _, n = v.partition("=")
        out[k] = conv(n)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--upstream", required=True, help="moto's URL, e.g. http://127.0.0.1:5000")
    ap.add_argument("--log", required=True)
    ap.add_argument("--throttle", action="append", metavar="ACTION=N")
    ap.add_argument("--page", action="append", metavar="ACTION=SIZE")
    ap.add_argument("--empty-first", action="append", metavar="ACTION", default=[])
    a = ap.parse_args()
    for action in list(pairs(a.page, int)) + a.empty_first:
        if action not in LISTS:
            sys.exit(f"cannot page {action}: one of {', '.join(LISTS)}")
    host, _, port = a.listen.rpartition(":")
    srv = ThreadingHTTPServer((host, int(port)), Handler)
    srv.cfg = argparse.Namespace(upstream=a.upstream.rstrip("/"), log=a.log,
                                 throttle=pairs(a.throttle, int), page=pairs(a.page, int),
                                 empty_first=set(a.empty_first))
    open(a.log, "a").close()
    print(f"READY {host}:{srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
