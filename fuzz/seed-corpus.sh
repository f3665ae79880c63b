#!/bin/sh
# Seeds fuzz/corpus/mmdb_import from MaxMind's test and bad-data databases
# (data/maxmind, fetched by util/fetch-data.sh). The corpus is not committed.
#
#   fuzz/seed-corpus.sh
#   cd fuzz && cargo +nightly fuzz run mmdb_import -- -max_len=262144 -timeout=10
#   cd fuzz && cargo +nightly fuzz run table_open -- -max_len=2500000 -timeout=10
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../data/maxmind"
dst="$here/corpus/mmdb_import"
if [ ! -d "$src/test-data" ]; then
    echo "seed-corpus: $src/test-data is missing; run util/fetch-data.sh first" >&2
    exit 1
fi
mkdir -p "$dst"
n=0
for f in "$src"/test-data/*.mmdb "$src"/bad-data/*/*.mmdb; do
    # Files above 256 KiB only slow the fuzzer down.
    if [ "$(wc -c < "$f")" -le 262144 ]; then
        cp "$f" "$dst/$(basename "$f")"
        n=$((n + 1))
    fi
done
echo "seed-corpus: $n files in $dst"

# table_open: small tables built by the CLI (each is about 1.1 MB: the root
# and slot directories have a fixed size).
cli="$here/../target/release/ipgeo"
tdst="$here/corpus/table_open"
mkdir -p "$tdst"
if [ -x "$cli" ]; then
    for db in GeoIP2-City-Test GeoLite2-ASN-Test GeoIP2-Country-Test; do
        "$cli" build -q -o "$tdst/$db.ipgeo" "$src/test-data/$db.mmdb" >/dev/null 2>&1 || true
    done
    echo "seed-corpus: $(ls "$tdst" | wc -l) tables in $tdst"
else
    echo "seed-corpus: build the CLI first (make build) to seed table_open" >&2
fi
