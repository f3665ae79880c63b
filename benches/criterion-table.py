#!/usr/bin/env python3
"""Markdown tables of the lookup benchmark (benches/lookup.rs) from
criterion's saved estimates: median ns per address, targets, and ratios.

    benches/criterion-table.py [target/criterion]

Run by `make bench-rust` after `cargo bench --bench lookup`.
"""
import json
import os
import sys

STREAM = 4096  # addresses per iteration (benches/lookup.rs)
ROOT = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"


def ns(group, name):
    """Median ns per address, or None when the benchmark did not run."""
    path = os.path.join(ROOT, group, name, "new", "estimates.json")
    try:
        with open(path) as f:
            est = json.load(f)
    except OSError:
        return None
    return est["median"]["point_estimate"] / STREAM


def fmt(v):
    return "–" if v is None else f"{v:,.1f}"


def verdict(v, limit):
    if v is None:
        return "not run"
    return f"≤ {limit} ns: {'met' if v <= limit else 'NOT met'}"


def ratio(a, b):
    return "–" if a is None or b is None else f"{a / b:.1f}×"


def main():
    rows = []
    for fam in ("v4", "v6"):
        ref, batch = ns(fam, "ipgeo_ref"), ns(fam, "ipgeo_batch")
        fields, mmdb = ns(fam, "ipgeo_fields"), ns(fam, "maxminddb_decode")
        dep = ns("dependent", f"{fam}_ipgeo_ref")
        loc = ns("dependent", f"{fam}_ipgeo_locate")
        limit = 30 if fam == "v4" else 50
        rows.append((fam, ref, batch, fields, mmdb, dep, loc, limit))
    print("| addresses | ipgeo ref | ipgeo batch | ipgeo ref + 5 fields | maxminddb lookup + decode |"
          " maxminddb ÷ ipgeo batch | maxminddb ÷ ipgeo ref | dependent ref (latency) |"
          " dependent locate (latency) | target (stream) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for fam, ref, batch, fields, mmdb, dep, loc, limit in rows:
        label = "random IPv4" if fam == "v4" else "random IPv6 (in DB-IP networks)"
        print(f"| {label} | {fmt(ref)} | {fmt(batch)} | {fmt(fields)} | {fmt(mmdb)} |"
              f" {ratio(mmdb, batch)} | {ratio(mmdb, ref)} | {fmt(dep)} | {fmt(loc)} | {verdict(batch, limit)} |")
    mdep = ns("dependent", "v4_maxminddb_decode")
    print(f"\nmaxminddb dependent IPv4 lookup + decode: {fmt(mdep)} ns. All values: median ns per address.")
    hot4, hot6 = ns("v4", "ipgeo_batch_hot"), ns("v6", "ipgeo_batch_hot")
    print(f"Batch over a hot set (the same 1,024 addresses, cached): IPv4 {fmt(hot4)} ns, IPv6 {fmt(hot6)} ns.")

    merged = [(k, ns("merged", f"{k}_dbip"), ns("merged", f"{k}_default"))
              for k in ("v4_ref", "v4_batch", "v6_batch")]
    if any(d is not None for _, _, d in merged):
        print("\n| same run | DB-IP alone (`dbip.ipgeo`) | merged default (`default.ipgeo`) | change |")
        print("|---|---:|---:|---:|")
        for k, a, b in merged:
            change = "–" if a is None or b is None else f"{(b / a - 1) * 100:+.1f} %"
            print(f"| {k.replace('_', ' ')} | {fmt(a)} | {fmt(b)} | {change} |")
        worst = max(((b / a - 1) * 100 for _, a, b in merged if a and b), default=None)
        if worst is not None:
            ok = "met" if worst <= 10 else "NOT met"
            print(f"\nTarget: merged table within 10 % of DB-IP alone: {ok} (worst {worst:+.1f} %).")


if __name__ == "__main__":
    main()
