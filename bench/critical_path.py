#!/usr/bin/env python3
"""bench/critical_path.py REPORT.json: the probe's wall time against its critical path.

The critical path is the longest chain of operations that had to run one after the other: the
instance context from IMDS and the credential chain (they run side by side, the credentials
starting as soon as IMDS lists the role, so the longer of the two), then the longest of the
branches that run side by side (the EC2 evidence; per bucket, its S3 operations in order). Each operation's time is the sum of its phase timings (dns, connect, tls, ttfb, transfer)
where the report has them, else its latency. wall / critical path says how much of the run is
overhead (process start, scheduling, the report) or lost concurrency."""
import json
import sys

r = json.load(open(sys.argv[1]))


def op_ms(c):
    """One check's time: the sum of its requests' phases, else its latency."""
    d = c.get("detail") or {}
    ph = d.get("phases")
    if isinstance(ph, dict):
        return sum(v for k, v in ph.items() if k.endswith("_ms") and isinstance(v, (int, float)))
    return c.get("duration_ms") or 0


run = {c["name"]: c for c in r.get("checks", [])}
imds = op_ms(run["imds"]) if "imds" in run else 0
creds = op_ms(run["credentials"]) if "credentials" in run else 0
branches = {}
for t in r.get("targets", []):
    chain = 0
    ec2 = 0
    for c in t.get("checks", []):
        n = c["name"]
        if n.startswith("s3_"):
            chain += op_ms(c)
        elif n in ("prefix_list", "route", "security_group", "network_acl", "endpoint_policy"):
            ec2 = max(ec2, op_ms(c))
    branches[t.get("bucket", "?")] = chain
    branches["ec2"] = max(branches.get("ec2", 0), ec2)
longest = max(branches.values() or [0])
critical = max(imds, creds) + longest
wall = r.get("duration_ms") or 0
print(f"critical path {critical:.0f} ms (max(imds {imds:.0f}, credentials {creds:.0f}) + longest "
      f"branch {longest:.0f}: {max(branches, key=branches.get) if branches else '-'}); "
      f"wall {wall:.0f} ms; wall/critical {wall/critical if critical else float('nan'):.2f}")
