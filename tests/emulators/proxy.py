#!/usr/bin/env python3
"""A forward HTTP proxy for the simulated VPC (tests/sim/vpc.sh `proxy`): CONNECT tunnels only,
Python stdlib. Every CONNECT is logged, one line each, so a test can prove which traffic went
through it:

    CONNECT <host>:<port> from <client ip> -> <status>

Proxy-Authorization is accepted and ignored (never logged). Prints READY when listening.
"""
import argparse
import asyncio
import sys


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
    if len(parts) != 3 or parts[0] != "CONNECT":
        log(f"{parts[0] if parts else '?'} {parts[1] if len(parts) > 1 else '?'} from {client} -> 405")
        writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()
        return
    target = parts[1]
    host, _, port = target.rpartition(":")
    try:
        up_r, up_w = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 10)
    except Exception as e:
        log(f"CONNECT {target} from {client} -> 502 ({e})")
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()
        return
    log(f"CONNECT {target} from {client} -> 200")
    writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
    await writer.drain()
    await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=3128)
    a = ap.parse_args()
    server = await asyncio.start_server(handle, a.host, a.port)
    log(f"READY {a.host}:{a.port}")
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
