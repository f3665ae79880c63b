#!/usr/bin/env python3
"""Reference reader driver for ip2region xdb files (tests/xdb.rs).

    xdb_lookup.py FILE.xdb < addresses

Reads one address per line from standard input and prints one JSON object
per line: {"ip": ADDRESS, "region": REGION} where REGION is what the
official binding's Searcher.search returns ("" for no data), or
{"ip": ADDRESS, "error": MESSAGE}. The binding (py-ip2region 3.0.6) is
looked for in $IPGEO_XDB_BINDING, else data/ip2region/py of the repository.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get(
    "IPGEO_XDB_BINDING", os.path.join(HERE, "..", "..", "data", "ip2region", "py")))

from ip2region.searcher import new_with_buffer  # noqa: E402
import ip2region.util as util  # noqa: E402


def main():
    path = sys.argv[1]
    header = util.load_header_from_file(path)
    version = util.version_from_header(header)
    if version is None:
        sys.exit("xdb_lookup: unsupported header: " + str(header))
    searcher = new_with_buffer(version, util.load_content_from_file(path))
    out = sys.stdout
    for line in sys.stdin:
        ip = line.strip()
        if not ip:
            continue
        try:
            out.write(json.dumps({"ip": ip, "region": searcher.search(ip)},
                                 ensure_ascii=False))
        except Exception as e:  # noqa: BLE001 - reported per address
            out.write(json.dumps({"ip": ip, "error": str(e)}))
        out.write("\n")
    out.flush()


if __name__ == "__main__":
    main()
