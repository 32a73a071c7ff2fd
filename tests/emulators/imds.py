#!/usr/bin/env python3
"""A small IMDSv2 emulator for vpce-probe's tests and demo (stdlib only).

moto's IMDS handler cannot serve the Rust SDK (no TTL header on the token response, no
network/interfaces/macs tree), so the project ships its own. It behaves like the real service in
the ways the probe depends on:

* ``PUT /latest/api/token`` needs ``X-aws-ec2-metadata-token-ttl-seconds`` (1..21600) and answers
  with a token and the same TTL header;
* every ``GET`` needs a valid ``X-aws-ec2-metadata-token`` (IMDSv1 is refused with 401);
* the meta-data tree the probe reads: placement, instance id, MAC → VPC/subnet/CIDRs/SGs,
  IAM role and its temporary credentials, the instance identity document.

The instance is described by a JSON file (``--config``); ``GET /_emulator/stats`` reports how many
requests were seen, and how many came without a token (tests assert the probe never uses v1),
the count per ``METHOD path`` (``by_path``: tests assert there is no retry storm, and that the
role's credentials are read once) and the most requests ever in flight at once
(``max_in_flight``: the probe's independent reads run concurrently).
Faults for tests: ``"fault": "hang"`` (accepts, never answers), ``"fault": "no-ttl"`` (token
response without the TTL header, like moto), ``"fault": "token-403"`` (IMDSv2 disabled/hop limit),
``"fault": "slow"`` (every answer, or those of ``"slow_paths"``, sent ``"slow_seconds"`` late),
``"fault": "credentials-500"`` (the role's credentials answered HTTP 500),
``"fault": "credentials-malformed"`` (the role's credentials document is not valid JSON),
``"token_max_ttl": N`` (a token TTL above N refused with 400, as a metadata proxy that caps
tokens does; the SDKs ask for 21600 s). ``"latency": S`` delays every answer by S seconds (not a
fault: a round trip long enough to tell concurrent reads from sequential ones).

The token's answer is sent with IP TTL = ``http_put_response_hop_limit`` (default 1, as on EC2),
so one forwarding hop further (a container behind the instance) it dies in transit: the client
times out, it never sees an error. The TTL stays on that connection (a retransmission must not
carry a larger one).

Prints ``READY <port>`` on stdout once listening.
"""

import argparse
import json
import secrets
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULTS = {
    "region": "us-east-1",
    "instance_id": "i-0123456789abcdef0",
    "availability_zone": "us-east-1a",
    "availability_zone_id": "use1-az1",
    "account_id": "123456789012",
    "mac": "0e:12:34:56:78:9a",
    "local_ipv4": "10.0.1.10",
    "vpc_id": "vpc-0a1b2c3d4e5f60718",
    "subnet_id": "subnet-0a1b2c3d4e5f60718",
    "vpc_cidrs": ["10.0.0.0/16"],
    "security_group_ids": ["sg-0a1b2c3d4e5f60718"],
    "role": None,
    "credentials": None,
    "fault": None,
    "slow_seconds": 5.0,
    "slow_paths": None,
    "token_max_ttl": None,
    "latency": 0.0,
    "http_put_response_hop_limit": 1,
}


class State:
    def __init__(self, cfg):
        self.cfg = cfg
        self.tokens = {}
        self.lock = threading.Lock()
        self.requests = 0
        self.tokenless_gets = 0
        self.token_puts = 0
        self.by_path = {}
        self.in_flight = 0
        self.max_in_flight = 0

    def arrive(self, method, path):
        """Count a request (not the stats endpoint's) and mark it in flight."""
        key = f"{method} {path.split('?', 1)[0]}"
        with self.lock:
            self.requests += 1
            self.by_path[key] = self.by_path.get(key, 0) + 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self):
        with self.lock:
            self.in_flight -= 1

    def tree(self):
        c = self.cfg
        mac = c["mac"]
        md = {
            "instance-id": c["instance_id"],
            "mac": mac,
            "local-ipv4": c["local_ipv4"],
            "placement/region": c["region"],
            "placement/availability-zone": c["availability_zone"],
            "placement/availability-zone-id": c["availability_zone_id"],
            f"network/interfaces/macs/{mac}/vpc-id": c["vpc_id"],
            f"network/interfaces/macs/{mac}/subnet-id": c["subnet_id"],
            f"network/interfaces/macs/{mac}/vpc-ipv4-cidr-blocks": "\n".join(c["vpc_cidrs"]),
            f"network/interfaces/macs/{mac}/vpc-ipv4-cidr-block": c["vpc_cidrs"][0],
            f"network/interfaces/macs/{mac}/security-group-ids": "\n".join(c["security_group_ids"]),
        }
        if c.get("role"):
            role = c["role"]
            md["iam/info"] = json.dumps({
                "Code": "Success",
                "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "InstanceProfileArn": f"arn:aws:iam::{c['account_id']}:instance-profile/{role}",
                "InstanceProfileId": "AIPAEXAMPLEPROFILEID0",
            })
            md["iam/security-credentials/"] = role
            creds = c.get("credentials") or {}
            md[f"iam/security-credentials/{role}"] = json.dumps({
                "Code": "Success",
                "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "Type": "AWS-HMAC",
                "AccessKeyId": creds.get("AccessKeyId", "ASIAEMULATEDIMDSKEY0"),
                "SecretAccessKey": creds.get("SecretAccessKey", "emulated-imds-secret-key"),
                "Token": creds.get("Token", "emulated-imds-session-token"),
                "Expiration": time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 6 * 3600)),
            })
        doc = {
            "accountId": c["account_id"],
            "availabilityZone": c["availability_zone"],
            "instanceId": c["instance_id"],
            "privateIp": c["local_ipv4"],
            "region": c["region"],
            "version": "2017-09-30",
        }
        tree = {f"/latest/meta-data/{k}": v for k, v in md.items()}
        tree["/latest/dynamic/instance-identity/document"] = json.dumps(doc, indent=2)
        return tree


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "EC2ws"

        def log_message(self, fmt, *args):  # keep test output quiet
            pass

        def reply(self, status, body=b"", headers=None):
            if isinstance(body, str):
                body = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def fault(self):
            return state.cfg.get("fault")

        def delay(self):
            """Wait as configured before answering: the latency, and the slow fault."""
            c = state.cfg
            wait = float(c.get("latency") or 0)
            paths = c.get("slow_paths")
            if self.fault() == "slow" and (paths is None or self.path.split("?", 1)[0] in paths):
                wait += float(c.get("slow_seconds") or 0)
            if wait > 0:
                time.sleep(wait)

        def role_credentials_path(self):
            role = state.cfg.get("role")
            return bool(role) and self.path.split("?", 1)[0] == (
                f"/latest/meta-data/iam/security-credentials/{role}")

        def do_PUT(self):
            state.arrive("PUT", self.path)
            try:
                self.delay()
                self.put()
            except OSError:
                pass  # the client gave up (its deadline) and closed the connection
            finally:
                state.leave()

        def put(self):
            if self.fault() == "hang":
                time.sleep(3600)
                return
            if self.path != "/latest/api/token":
                return self.reply(404, "Not Found")
            if self.fault() == "token-403":
                return self.reply(403, "Forbidden")
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            try:
                ttl_n = int(ttl)
            except (TypeError, ValueError):
                return self.reply(400, "Bad Request")
            if not 1 <= ttl_n <= 21600:
                return self.reply(400, "Bad Request")
            cap = state.cfg.get("token_max_ttl")
            if cap is not None and ttl_n > int(cap):
                return self.reply(400, "Bad Request")
            hops = int(state.cfg.get("http_put_response_hop_limit") or 1)
            self.connection.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, max(1, min(hops, 64)))
            token = secrets.token_urlsafe(32)
            with state.lock:
                state.tokens[token] = time.time() + ttl_n
                state.token_puts += 1
            headers = {} if self.fault() == "no-ttl" else {
                "X-aws-ec2-metadata-token-ttl-seconds": str(ttl_n)}
            self.reply(200, token, headers)

        def do_GET(self):
            if self.path == "/_emulator/stats":
                with state.lock:
                    body = json.dumps({
                        "requests": state.requests,
                        "tokenless_gets": state.tokenless_gets,
                        "token_puts": state.token_puts,
                        "by_path": state.by_path,
                        "max_in_flight": state.max_in_flight,
                    })
                return self.reply(200, body)
            state.arrive("GET", self.path)
            try:
                self.delay()
                self.get()
            except OSError:
                pass  # the client gave up (its deadline) and closed the connection
            finally:
                state.leave()

        def get(self):
            if self.fault() == "hang":
                time.sleep(3600)
                return
            token = self.headers.get("X-aws-ec2-metadata-token")
            if not token:
                with state.lock:
                    state.tokenless_gets += 1
                return self.reply(401, "Unauthorized")
            with state.lock:
                expiry = state.tokens.get(token)
            if expiry is None or expiry < time.time():
                return self.reply(401, "Unauthorized")
            if self.role_credentials_path() and self.fault() == "credentials-500":
                return self.reply(500, "Internal Server Error")
            if self.role_credentials_path() and self.fault() == "credentials-malformed":
                # cut short mid-document (as by a broken metadata proxy): not JSON, but the
                # secrets are in it, and must not leak through an error message
                creds = state.cfg.get("credentials") or {}
                return self.reply(200, (
                    '{\n  "Code" : "Success",\n  "Type" : "AWS-HMAC",\n'
                    f'  "AccessKeyId" : "{creds.get("AccessKeyId", "ASIAEMULATEDIMDSKEY0")}",\n'
                    f'  "SecretAccessKey" : "{creds.get("SecretAccessKey", "emulated-imds-secret-key")}",\n'
                    f'  "Token" : "{creds.get("Token", "emulated-imds-session-token")}",\n'
                    '  "Expiration" : '))
            tree = state.tree()
            path = self.path.split("?", 1)[0]
            if path in tree:
                return self.reply(200, tree[path])
            # directory listings, as IMDS does for a path ending in '/'
            if path.endswith("/"):
                children = sorted({k[len(path):].split("/", 1)[0] + ("/" if "/" in k[len(path):] else "")
                                   for k in tree if k.startswith(path) and k != path})
                if children:
                    return self.reply(200, "\n".join(children))
            self.reply(404, "Not Found")

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--config", help="JSON file describing the instance")
    args = ap.parse_args()
    cfg = dict(DEFAULTS)
    if args.config:
        with open(args.config) as f:
            cfg.update(json.load(f))
    server = ThreadingHTTPServer((args.host, args.port), make_handler(State(cfg)))
    server.daemon_threads = True
    print(f"READY {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
