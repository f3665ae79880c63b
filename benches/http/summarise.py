#!/usr/bin/env python3
"""benches/http/summarise.py: bench.sh's markdown report and raw JSON.

    summarise.py --results run/bench/results.jsonl [--batch run/bench/batch.json]
                 [--json-out bench-results/http-<time>.json]
                 [--contender NAME=COMMAND]... [--meta KEY=VALUE]...

results.jsonl has one line per wrk run: {"conns", "round", "order",
"contender", "wrk": <the WRK_JSON line of addrs.lua>}. For each connection
count and contender the report gives the median over rounds of req/s, p50
and p99 latency; the total non-2xx responses and socket errors over all
rounds; and the ratios to `return200` and to `geoip2` as the median of the
per-round ratios (both measured in the same round, minutes apart at most),
so that slow drifts in the machine's load cancel.
"""

import argparse
import json
import statistics
import sys
from collections import OrderedDict, defaultdict

BASELINES = ("return200", "geoip2")


def median(xs):
    return statistics.median(xs) if xs else None


def ms(us):
    return "-" if us is None else f"{us / 1000:.2f} ms"


def ratio(x):
    return "-" if x is None else f"{x:.2f}"


def cpu(us):
    return "-" if us is None else f"{us:.1f}"


def socket_errors(e):
    return e["connect"] + e["read"] + e["write"] + e["timeout"]


def summarise(runs, contender_order):
    by_key = defaultdict(list)        # (conns, contender) -> [run]
    by_round = defaultdict(dict)      # (conns, round) -> contender -> rps
    for r in runs:
        by_key[(r["conns"], r["contender"])].append(r)
        by_round[(r["conns"], r["round"])][r["contender"]] = r["wrk"]["rps"]
    conns_list = sorted({r["conns"] for r in runs})
    rows = []
    for conns in conns_list:
        for c in contender_order:
            rs = by_key.get((conns, c))
            if not rs:
                continue
            w = [r["wrk"] for r in rs]
            row = OrderedDict(
                contender=c,
                conns=conns,
                rounds=len(rs),
                rps=median([x["rps"] for x in w]),
                rps_min=min(x["rps"] for x in w),
                rps_max=max(x["rps"] for x in w),
                p50_us=median([x["latency_us"]["p50"] for x in w]),
                p99_us=median([x["latency_us"]["p99"] for x in w]),
                non2xx=sum(x["errors"]["status"] for x in w),
                socket_errors=sum(socket_errors(x["errors"]) for x in w),
                errors={k: sum(x["errors"][k] for x in w) for k in ("connect", "read", "write", "timeout")},
                bytes_per_response=median([x["bytes"] / x["requests"] for x in w if x["requests"]]),
                cpu_us_per_request=median([r["worker_cpu_ticks"] / r["clk_tck"] / r["wrk"]["requests"] * 1e6
                                           for r in rs if r.get("clk_tck") and r["wrk"]["requests"]]),
            )
            for base in BASELINES:
                per_round = []
                for r in rs:
                    b = by_round[(conns, r["round"])].get(base)
                    if b:
                        per_round.append(r["wrk"]["rps"] / b)
                row["vs_" + base] = median(per_round)
            rows.append(row)
    return rows


def markdown(meta, contenders, rows, batch):
    out = []
    w = out.append
    w("## HTTP benchmark (benches/http/bench.sh)")
    w("")
    w(f"- run: {meta.get('started', '?')} to {meta.get('finished', '?')} (UTC), commit {meta.get('commit', '?')}, "
      f"{meta.get('cpus', '?')} CPUs shared by wrk and nginx")
    w(f"- load average (1, 5, 15 min): {meta.get('load_start', '?')} at start, {meta.get('load_end', '?')} at end")
    w(f"- nginx {meta.get('nginx', '?')}, {meta.get('workers', '?')} workers; wrk {meta.get('wrk', '?')}, "
      f"{meta.get('threads', '?')} threads; {meta.get('rounds', '?')} rounds x {meta.get('duration', '?')} s "
      "per contender and connection count, contender order rotated each round")
    w(f"- addresses: {meta.get('addresses', '?')}, a random one per request")
    w(f"- command: `{meta.get('command', '?')}`")
    w("- wrk command lines:")
    for name, cmd in contenders.items():
        w(f"  - {name}: `{cmd}`")
    w("")
    w("Medians over rounds; non-2xx and socket errors (connect/read/write/timeout) are totals over all rounds; "
      "ratios are medians of per-round ratios of req/s. nginx CPU µs/req: the workers' user + system CPU time "
      "(kernel network work included) over the run divided by the requests answered, the least noisy column "
      "on a shared machine. bytes/resp: headers + body as wrk read them.")
    w("")
    w("| contender | conns | req/s | p50 | p99 | non-2xx | socket errors | vs return200 | vs geoip2 "
      "| nginx CPU µs/req | bytes/resp |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        e = r["errors"]
        errs = str(r["socket_errors"])
        if r["socket_errors"]:
            errs += f" (c{e['connect']}/r{e['read']}/w{e['write']}/t{e['timeout']})"
        w(f"| {r['contender']} | {r['conns']} | {r['rps']:,.0f} | {ms(r['p50_us'])} | {ms(r['p99_us'])} | "
          f"{r['non2xx']} | {errs} | {ratio(r['vs_return200'])} | {ratio(r['vs_geoip2'])} | "
          f"{cpu(r['cpu_us_per_request'])} | {r['bytes_per_response']:.0f} |")
    # Issue #4's throughput targets, at 100 connections when measured.
    at100 = {r["contender"]: r for r in rows if r["conns"] == 100}
    targets = (("ipgeo_get", "vs_return200", 0.85, "GET >= 0.85 x return200"),
               ("ipgeo_get", "vs_geoip2", 1.0, "GET >= 1.0 x geoip2"),
               ("ipgeo_post", "vs_return200", 0.75, "POST >= 0.75 x return200"))
    lines = []
    for contender, key, floor, label in targets:
        x = at100.get(contender, {}).get(key)
        if x is not None:
            lines.append(f"- {label}, 100 connections: {'met' if x >= floor else 'NOT MET'} ({x:.2f})")
    if lines:
        w("")
        w("Targets (median of per-round ratios):")
        w("")
        out.extend(lines)
    if batch:
        w("")
        w("### Server time (X-Ipgeo-Time, one keep-alive connection, µs)")
        w("")
        w("| request | n | median | p90 | p99 | max | nginx CPU µs/req | client round trip median | p99 |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for key, label in (("batch", f"POST batch of {batch['size']}"), ("single", "GET one address")):
            s, c = batch[key]["server_us"], batch[key]["client_rtt_us"]
            w(f"| {label} | {s['n']} | {s['p50']:.0f} | {s['p90']:.0f} | {s['p99']:.0f} | {s['max']:.0f} | "
              f"{cpu(batch[key].get('worker_cpu_us_per_request'))} | {c['p50']:.0f} | {c['p99']:.0f} |")
        w("")
        w("Server time: the handler's X-Ipgeo-Time (wall clock from entering serve() to just before the "
          "body is printed, so descheduling on a busy machine counts). nginx CPU µs/req: the workers' CPU time "
          "over the series divided by its requests (includes receiving the request and sending the response).")
        med = batch["batch"]["server_us"]["p50"]
        verdict = "met" if med < 200 else "NOT MET"
        w("")
        w(f"Target: batch of {batch['size']} median server time < 200 µs: {verdict} ({med:.0f} µs).")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", required=True)
    ap.add_argument("--batch")
    ap.add_argument("--json-out")
    ap.add_argument("--contender", action="append", default=[])
    ap.add_argument("--meta", action="append", default=[])
    a = ap.parse_args()

    meta = OrderedDict(kv.split("=", 1) for kv in a.meta)
    contenders = OrderedDict(kv.split("=", 1) for kv in a.contender)
    with open(a.results) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    if not runs:
        sys.exit("summarise.py: no results")
    order = list(contenders) or list(OrderedDict.fromkeys(r["contender"] for r in runs))
    rows = summarise(runs, order)
    batch = None
    if a.batch:
        with open(a.batch) as f:
            batch = json.load(f)
    sys.stdout.write(markdown(meta, contenders, rows, batch))
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump({"meta": meta, "contenders": contenders, "summary": rows, "batch": batch,
                       "runs": runs}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
