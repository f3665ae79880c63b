#!/usr/bin/env python3
"""benches/http/batch.py: ipgeo's server time per request, from X-Ipgeo-Time.

    batch.py --port P --path /api/ip_query_timed --addrs FILE [--requests 3000]
             [--size 100] [--singles 3000] [--seed 42]

On one keep-alive connection (concurrency 1, so the server time is not
queueing), sends --requests POSTs of {"ips": [--size random addresses from
FILE]} and then --singles GETs ?ip=<one address> to a location whose handler
was made with require("ipgeo.api").new{timing = true}. Every response must be
200 with no per-address errors. Prints JSON: the server time (the handler's
own X-Ipgeo-Time, microseconds) and the client round trip, as percentiles.
The first 10 % of each series is a warm-up and is not counted.

X-Ipgeo-Time is wall-clock (CLOCK_MONOTONIC): on a busy machine it includes
time the worker spent descheduled. With --master-pid, the nginx workers' CPU
time (user + system, /proc/<pid>/stat) over each counted series is divided by
its requests too: CPU per request, less disturbed by other jobs, but it also
counts the worker's share of the kernel's network work.
"""

import argparse
import http.client
import json
import math
import os
import random
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def pct(values, p):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))
    return s[k]


def stats(values):
    return {
        "n": len(values),
        "mean": round(sum(values) / len(values), 1),
        "p50": round(pct(values, 50), 1),
        "p90": round(pct(values, 90), 1),
        "p99": round(pct(values, 99), 1),
        "max": round(max(values), 1),
    }


def worker_ticks(master):
    """User + system clock ticks of master's children (the workers)."""
    if not master:
        return None
    pids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True,
                          text=True, check=False).stdout.split()
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])   # utime, stime (fields 14, 15)
    return total


def series(conn, make_request, count, check, master):
    warm = max(1, count // 10)
    server, rtt = [], []
    t0_ticks = None
    for i in range(warm + count):
        if i == warm:
            t0_ticks = worker_ticks(master)
        method, url, body = make_request()
        headers = {"Content-Type": "application/json"} if body else {}
        t0 = time.perf_counter()
        conn.request(method, url, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        t1 = time.perf_counter()
        if resp.status != 200:
            sys.exit(f"batch.py: {method} {url} answered {resp.status}: {data[:200]!r}")
        hdr = resp.getheader("X-Ipgeo-Time")
        if hdr is None:
            sys.exit("batch.py: no X-Ipgeo-Time header (is the handler made with timing = true?)")
        check(data)
        if i >= warm:
            server.append(float(hdr))
            rtt.append((t1 - t0) * 1e6)
    out = {"server_us": stats(server), "client_rtt_us": stats(rtt)}
    if t0_ticks is not None:
        out["worker_cpu_us_per_request"] = round((worker_ticks(master) - t0_ticks) / CLK_TCK / count * 1e6, 1)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/api/ip_query_timed")
    ap.add_argument("--addrs", required=True)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--singles", type=int, default=None)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--master-pid", type=int, default=None)
    a = ap.parse_args()
    singles = a.requests if a.singles is None else a.singles

    with open(a.addrs) as f:
        addrs = [line.strip() for line in f if line.strip()]
    rng = random.Random(a.seed)
    conn = http.client.HTTPConnection(a.host, a.port, timeout=10)

    def batch_request():
        body = json.dumps({"ips": rng.sample(addrs, a.size)})
        return "POST", a.path, body

    def batch_check(data):
        doc = json.loads(data)
        if len(doc.get("results", [])) != a.size or doc.get("errors"):
            sys.exit(f"batch.py: bad batch answer: {data[:300]!r}")

    def single_request():
        return "GET", f"{a.path}?ip={rng.choice(addrs)}", None

    def single_check(data):
        if b'"country_code"' not in data:
            sys.exit(f"batch.py: bad single answer: {data[:300]!r}")

    out = {
        "size": a.size,
        "batch": series(conn, batch_request, a.requests, batch_check, a.master_pid),
        "single": series(conn, single_request, singles, single_check, a.master_pid),
    }
    conn.close()
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
