#!/usr/bin/env bash
# benches/lua/run.sh: the acceptance "Lua-side speed" (see lookup.lua).
#
#   benches/lua/run.sh [TABLE]              (default data/dbip.ipgeo)
#   N=1000000 ROUNDS=7 benches/lua/run.sh   (addresses per list, rounds)
#   JITV=1 benches/lua/run.sh               (also log LuaJIT's trace decisions and
#                                            count trace aborts in the benchmark loops)
#   STRICT=1 benches/lua/run.sh             (exit 1 when a speed target is not met;
#                                            a correctness mismatch always exits 1)
#
# Standalone LuaJIT (OpenResty's luajit2 as `luajit`) loads lua/ipgeo.lua and
# target/release/libipgeo_ffi.so from this checkout. The report also goes to
# run/bench-lua/latest.md.

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TABLE=${1:-${TABLE:-$ROOT/data/dbip.ipgeo}}
N=${N:-1000000}
ROUNDS=${ROUNDS:-7}
LUAJIT=${LUAJIT:-luajit}
OUT=$ROOT/run/bench-lua

[ -f "$TABLE" ] || { echo "run.sh: no table at $TABLE (run make data, or pass a path)" >&2; exit 2; }
[ -f "$ROOT/target/release/libipgeo_ffi.so" ] && [ -x "$ROOT/target/release/ipgeo" ] \
    || { echo "run.sh: run make build first" >&2; exit 2; }
command -v "$LUAJIT" >/dev/null || { echo "run.sh: $LUAJIT not found" >&2; exit 2; }
mkdir -p "$OUT"

JIT_OPT=()
if [ "${JITV:-0}" = 1 ]; then
    JIT_OPT=("-jv=$OUT/jit.log")
fi

rc=0
IPGEO_ROOT=$ROOT "$LUAJIT" "${JIT_OPT[@]}" "$ROOT/benches/lua/lookup.lua" "$TABLE" "$N" "$ROUNDS" \
    | tee "$OUT/latest.md" || rc=$?

if [ "${JITV:-0}" = 1 ]; then
    # "loop unroll limit reached", "leaving loop in root trace" and "inner
    # loop in root trace" are LuaJIT choosing where traces start (it retries);
    # anything else (NYI, a C function, a blacklisted loop...) in lookup.lua
    # or ipgeo.lua would leave code interpreted.
    aborts=$(grep -E '^\[TRACE --- .*(lookup|ipgeo)\.lua' "$OUT/jit.log" \
        | grep -vcE 'loop unroll limit|leaving loop in root trace|inner loop in root trace' || true)
    echo "JIT: $aborts trace aborts in lookup.lua/ipgeo.lua other than trace-selection retries (log: $OUT/jit.log)"
    [ "$aborts" -eq 0 ] || rc=1
fi
if [ "${STRICT:-0}" = 1 ] && grep -q 'NOT MET' "$OUT/latest.md"; then
    rc=1
fi
exit "$rc"
