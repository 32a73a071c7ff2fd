#!/usr/bin/env python3
"""A forward HTTP proxy for the simulated VPC (tests/sim/vpc.sh `proxy`), Python stdlib: CONNECT
tunnels (https), and plain-HTTP requests in absolute form (`GET http://host/path`), forwarded
one per connection (`Connection: close`). Every request is logged, one line each, so a test can
prove which traffic went through it:

    CONNECT <host>:<port> from <client ip> -> <status> [auth=basic:<user>]
    <METHOD> http://<host>[:port]/<path> from <client ip> -> <status> [auth=basic:<user>]

Only the Basic user name of a Proxy-Authorization is logged (never the password), so that a test
can prove the client sent the proxy its credentials. `--rules FILE` (JSON, read again for every
CONNECT; absent: none) makes it refuse tunnels as real proxies do:

    {"require_auth": "user:password"}   407 unless the CONNECT carries those Basic credentials
    {"deny": [".amazonaws.com"]}        403 for targets whose host ends with one of them
    {"close": true}                     close the connection without answering

Prints READY when listening.
"""
import argparse
import asyncio
import base64
import json
import sys

RULES = None


def rules():
    try:
        with open(RULES) as f:
            return json.load(f)
    except (TypeError, OSError):
        return {}


def proxy_authorization(head):
    """The Proxy-Authorization of a request head, as (scheme, decoded Basic credentials or None),
    else None when it has none."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"proxy-authorization":
            scheme, _, cred = value.strip().partition(b" ")
            if scheme.lower() != b"basic":
                return ("other", None)
            try:
                return ("basic", base64.b64decode(cred, validate=True).decode())
            except Exception:
                return ("invalid", None)
    return None


def credentials_of(head):
    """The decoded Basic Proxy-Authorization (`user:password`), else None."""
    a = proxy_authorization(head)
    return a[1] if a else None


def auth_of(head):
    """` auth=basic:<user>` (never the password) when the head carries Basic
    Proxy-Authorization, ` auth=other|invalid` for another one, else ''."""
    a = proxy_authorization(head)
    if a is None:
        return ""
    scheme, cred = a
    return f" auth=basic:{cred.split(':', 1)[0]}" if cred is not None else f" auth={scheme}"


async def answer_and_close(writer, status):
    """Answer `status` (e.g. b"403 Forbidden") with no body and close the connection."""
    writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    await writer.drain()
    writer.close()


def log(line):
    print(line, flush=True)


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def handle(reader, writer):
    peer = writer.get_extra_info("peername")
    client = peer[0] if peer else "?"
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    except Exception:
        writer.close()
        return
    first = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = first.split()
    if len(parts) == 3 and parts[0] != "CONNECT" and parts[1].startswith("http://"):
        await forward(reader, writer, head, parts, client)
        return
    if len(parts) != 3 or parts[0] != "CONNECT":
        log(f"{parts[0] if parts else '?'} {parts[1] if len(parts) > 1 else '?'} from {client} -> 405")
        await answer_and_close(writer, b"405 Method Not Allowed")
        return
    target = parts[1]
    host, _, port = target.rpartition(":")
    r = rules()
    refusal = None
    if r.get("close"):
        log(f"CONNECT {target} from {client} -> closed{auth_of(head)}")
        writer.close()
        return
    if r.get("require_auth") and credentials_of(head) != r["require_auth"]:
        refusal = b"407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"sim\""
    elif any(host.endswith(d) for d in r.get("deny", [])):
        refusal = b"403 Forbidden"
    if refusal:
        log(f"CONNECT {target} from {client} -> {refusal[:3].decode()}{auth_of(head)}")
        await answer_and_close(writer, refusal)
        return
    try:
        up_r, up_w = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 10)
    except Exception as e:
        log(f"CONNECT {target} from {client} -> 502 ({e})")
        await answer_and_close(writer, b"502 Bad Gateway")
        return
    log(f"CONNECT {target} from {client} -> 200{auth_of(head)}")
    writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
    await writer.drain()
    await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))


async def forward(reader, writer, head, parts, client):
    """Forward one absolute-form plain-HTTP request to its origin and its answer back, then
    close. The proxy's own headers (Proxy-Authorization, Proxy-Connection) are not forwarded."""
    method, url, version = parts
    rest = url[len("http://"):]
    authority, slash, path = rest.partition("/")
    host, _, port = authority.partition(":")
    lines = head.split(b"\r\n")[1:]
    keep, length = [], 0
    for line in lines:
        name, _, value = line.partition(b":")
        n = name.strip().lower()
        if not line or n in (b"proxy-authorization", b"proxy-connection", b"connection"):
            continue
        if n == b"content-length":
            length = int(value.strip() or 0)
        keep.append(line)
    body = await reader.readexactly(length) if length else b""
    out = f"{method} /{path} {version}\r\n".encode() + b"\r\n".join(keep)
    out += b"\r\nConnection: close\r\n\r\n" + body
    try:
        up_r, up_w = await asyncio.wait_for(asyncio.open_connection(host, int(port or 80)), 10)
        up_w.write(out)
        await up_w.drain()
        answer = await asyncio.wait_for(up_r.read(), 10)
        up_w.close()
    except Exception as e:
        log(f"{method} {url} from {client} -> 502 ({e}){auth_of(head)}")
        await answer_and_close(writer, b"502 Bad Gateway")
        return
    status = answer.split(b"\r\n", 1)[0].split(b" ")[1:2]
    log(f"{method} {url} from {client} -> {status[0].decode() if status else '?'}{auth_of(head)}")
    # this connection ends with the answer: say so, or the client would keep it for another
    # request (the origin's own Connection header is about the proxy's connection to it)
    ahead, sep, abody = answer.partition(b"\r\n\r\n")
    alines = [l for l in ahead.split(b"\r\n") if not l.lower().startswith(b"connection:")]
    answer = b"\r\n".join(alines) + b"\r\nConnection: close" + sep + abody
    writer.write(answer)
    await writer.drain()
    writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=3128)
    ap.add_argument("--rules")
    a = ap.parse_args()
    global RULES
    RULES = a.rules
    server = await asyncio.start_server(handle, a.host, a.port)
    log(f"READY {a.host}:{a.port}")
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
