#!/usr/bin/env python3
"""benches/http/addrs.py: a fixed, seeded list of IPv4 addresses the database covers.

    addrs.py CLI TABLE N SEED OUT

Draws random public IPv4 addresses (seeded, so every run gets the same list),
looks them up with `CLI lookup --db TABLE` and keeps the first N that the
table answers with a country_code. TABLE is built from the same DB-IP MMDB the
geoip2 contender reads, so every contender answers 200 for every address.
Writes OUT (one address a line) through a temporary file and a rename.
"""

import ipaddress
import json
import os
import random
import subprocess
import sys

# Not routable on the public internet: never drawn.
RESERVED = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3",
)]
RESERVED_RANGES = [(int(n.network_address), int(n.broadcast_address)) for n in RESERVED]


def public(x):
    return not any(lo <= x <= hi for lo, hi in RESERVED_RANGES)


def draw(rng, count):
    out = []
    while len(out) < count:
        x = rng.getrandbits(32)
        if public(x):
            out.append(str(ipaddress.IPv4Address(x)))
    return out


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    cli, table, n, seed, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    rng = random.Random(seed)
    kept, seen, tried = [], set(), 0
    while len(kept) < n:
        batch = [a for a in draw(rng, (n - len(kept)) * 2 + 100) if a not in seen]
        tried += len(batch)
        proc = subprocess.run([cli, "lookup", "--db", table], input="\n".join(batch) + "\n",
                              capture_output=True, text=True, check=False)
        if proc.returncode not in (0, 1):
            sys.exit(f"addrs.py: {cli} lookup failed ({proc.returncode}): {proc.stderr.strip()}")
        for line in proc.stdout.splitlines():
            rec = json.loads(line)
            ip = rec.get("ip")
            if "error" in rec or not rec.get("country_code") or ip in seen:
                continue
            seen.add(ip)
            kept.append(ip)
            if len(kept) == n:
                break
        if tried > 20 * n:
            sys.exit(f"addrs.py: only {len(kept)} of {tried} random addresses found in {table}")
    tmp = f"{out}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(kept) + "\n")
    os.rename(tmp, out)
    print(f"addrs.py: {n} addresses (of {tried} drawn, seed {seed}) -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
