#!/bin/sh
# Seeds fuzz/corpus/mmdb_import from MaxMind's test and bad-data databases
# (data/maxmind, fetched by util/fetch-data.sh). The corpus is not committed.
#
#   fuzz/seed-corpus.sh
#   cd fuzz && cargo +nightly fuzz run mmdb_import -- -max_len=262144 -timeout=10
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
