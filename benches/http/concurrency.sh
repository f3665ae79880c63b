#!/usr/bin/env bash
# benches/http/concurrency.sh: 5,000 concurrent connections on ipgeo's GET API,
# then the same load while a worker is killed with SIGKILL.
#
#   benches/http/concurrency.sh
#   DURATION=20 KILL_DURATION=20 benches/http/concurrency.sh      (shorter)
#
# One nginx (prefix run/bench/concurrency/, 127.0.0.1:$PORT, the same
# nginx.conf.in as bench.sh: worker_processes auto, reuseport,
# worker_connections 65536) serves GET /api/ip_query?ip=<random address
# from the fixed list>.
#
#   1. Sustained: `wrk -t2 -c$CONNS -d$DURATION --timeout $TIMEOUT` (default
#      5000 connections, 60 s, wrk's own 2 s timeout). Required: zero socket
#      errors (connect/read/write/timeout) and zero non-2xx. Reports p50/p99
#      and, halfway through, how the connections spread over the workers.
#   2. Worker crash: the same load for $KILL_DURATION s; after $KILL_AT s one
#      worker's established connections on the port are counted
#      (/proc/<pid>/fd against /proc/net/tcp) and the worker gets kill -9.
#      Required: the master starts a replacement (the worker list before and
#      after, and the error log's "exited on signal 9" / "start worker
#      process" lines), and wrk's failures (socket errors + non-2xx) are at
#      most the killed worker's established connections.
#
# Exits 1 when a requirement is not met. The summary goes to stdout and
# run/bench/concurrency.md, the raw numbers to bench-results/concurrency-<time>.json.

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=benches/http/lib.sh
. "$ROOT/benches/http/lib.sh"

CONNS=${CONNS:-5000}
DURATION=${DURATION:-60}
KILL_DURATION=${KILL_DURATION:-30}
KILL_AT=${KILL_AT:-10}
THREADS=${THREADS:-2}
TIMEOUT=${TIMEOUT:-2s}
PORT=${PORT:-18205}
URL_PATH=/api/ip_query

RUN=$ROOT/run/bench
PREFIX=$RUN/concurrency
OUT=$RUN/concurrency-wrk
RESULTS_DIR=$ROOT/bench-results

[ "$KILL_AT" -lt "$KILL_DURATION" ] || die "KILL_AT ($KILL_AT) must be below KILL_DURATION ($KILL_DURATION)"

WRK_PID=
cleanup() {
    local rc=$?
    if [ -n "$WRK_PID" ] && kill -0 "$WRK_PID" 2>/dev/null; then
        kill "$WRK_PID" 2>/dev/null || true
        wait "$WRK_PID" 2>/dev/null || true
    fi
    stop_nginx "$PREFIX"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check_prereqs
raise_nofile 65536 $(( CONNS + 100 ))
mkdir -p "$OUT" "$RESULTS_DIR"
ADDRS=$(address_file)

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_start=$(loadavg)
start_nginx "$PREFIX" "$PORT"
MASTER=$(master_pid "$PREFIX")
ERROR_LOG=$PREFIX/logs/error.log

wrk_cmd() { # conns secs
    echo wrk -t"$THREADS" -c"$1" -d"$2s" --timeout "$TIMEOUT" --latency -s "$HTTP_DIR/addrs.lua" \
        "http://127.0.0.1:$PORT$URL_PATH" -- "$ADDRS" get "$SEED"
}

# wrk in the background; WRK_PID for the EXIT trap.
start_wrk() { # out conns secs
    # shellcheck disable=SC2046
    $(wrk_cmd "$2" "$3") > "$1" 2>&1 &
    WRK_PID=$!
}
# Waits for wrk; its JSON line to $LAST_JSON. (Not in a $(...) subshell:
# only this shell can wait for wrk.)
LAST_JSON=
finish_wrk() { # out
    wait "$WRK_PID" || die "wrk failed (see $1)"
    WRK_PID=
    LAST_JSON=$(wrk_json "$1")
    [ -n "$LAST_JSON" ] || die "no WRK_JSON line in $1"
}

# Established connections per worker, "pid:count pid:count".
spread() {
    local w s=""
    for w in $(workers_of "$MASTER"); do
        s+="$w:$(python3 "$HTTP_DIR/conns.py" "$w" "$PORT") "
    done
    echo "${s% }"
}

echo "concurrency: warm-up (3 s, 100 connections)" >&2
start_wrk "$OUT/warmup.txt" 100 3
finish_wrk "$OUT/warmup.txt"

# 1. Sustained load.
echo "concurrency: $CONNS connections for ${DURATION}s on GET $URL_PATH" >&2
start_wrk "$OUT/sustained.txt" "$CONNS" "$DURATION"
sleep $(( DURATION / 2 ))
spread_mid=$(spread)
echo "concurrency: established connections per worker at ${DURATION}/2 s: $spread_mid" >&2
finish_wrk "$OUT/sustained.txt"
sustained=$LAST_JSON

# 2. Kill a worker under the same load.
echo "concurrency: $CONNS connections for ${KILL_DURATION}s, kill -9 of a worker at ${KILL_AT}s" >&2
log_offset=$(stat -c %s "$ERROR_LOG")
workers_before=$(workers_of "$MASTER" | tr '\n' ' ')
start_wrk "$OUT/kill.txt" "$CONNS" "$KILL_DURATION"
sleep "$KILL_AT"
victim=$(workers_of "$MASTER" | sed -n 1p)
spread_kill=$(spread)
inflight=$(python3 "$HTTP_DIR/conns.py" "$victim" "$PORT")
kill -9 "$victim"
killed_at=$EPOCHREALTIME
respawn_ms=
for _ in $(seq 100); do
    now=$(workers_of "$MASTER")
    if ! grep -qx "$victim" <<< "$now" && [ "$(wc -l <<< "$now")" -eq "$(wc -w <<< "$workers_before")" ]; then
        respawn_ms=$(python3 -c "import sys; print(round((float(sys.argv[1]) - float(sys.argv[2])) * 1000))" \
                     "$EPOCHREALTIME" "$killed_at")
        break
    fi
    sleep 0.05
done
workers_after=$(workers_of "$MASTER" | tr '\n' ' ')
echo "concurrency: killed $victim (held $inflight established connections); workers before: $workers_before; after: $workers_after" >&2
# wrk reconnects the dropped connections: show that the replacement takes them.
if [ $(( KILL_DURATION - KILL_AT )) -ge 4 ]; then
    sleep 2
    spread_after=$(spread)
else
    spread_after="(run too short to sample)"
fi
finish_wrk "$OUT/kill.txt"
killrun=$LAST_JSON
log_tail=$(tail -c +"$(( log_offset + 1 ))" "$ERROR_LOG")
exited_line=$(grep -m1 "worker process $victim exited on signal 9" <<< "$log_tail" || true)
started_line=$(grep -m1 "start worker process" <<< "$log_tail" || true)

load_end=$(loadavg)
stamp=$(date -u +%Y%m%d-%H%M%S)

export SUSTAINED="$sustained" KILLRUN="$killrun" SPREAD_MID="$spread_mid" SPREAD_KILL="$spread_kill" \
    SPREAD_AFTER="$spread_after" VICTIM="$victim" INFLIGHT="$inflight" WORKERS_BEFORE="$workers_before" \
    WORKERS_AFTER="$workers_after" RESPAWN_MS="$respawn_ms" EXITED_LINE="$exited_line" \
    STARTED_LINE="$started_line" LOAD_START="$load_start" LOAD_END="$load_end" STARTED="$started" \
    CONNS DURATION KILL_DURATION KILL_AT TIMEOUT \
    CMD_SUSTAINED="$(wrk_cmd "$CONNS" "$DURATION" | sed "s|$ROOT/||g")" \
    CMD_KILL="$(wrk_cmd "$CONNS" "$KILL_DURATION" | sed "s|$ROOT/||g")" \
    JSON_OUT="$RESULTS_DIR/concurrency-$stamp.json"
rc=0
python3 - <<'PY' | tee "$RUN/concurrency.md" || rc=$?
import json, os, sys
e = os.environ
s, k = json.loads(e["SUSTAINED"]), json.loads(e["KILLRUN"])
def sock(w): return sum(w["errors"][x] for x in ("connect", "read", "write", "timeout"))
def errs(w):
    x = w["errors"]
    return f"{sock(w)} (connect {x['connect']}, read {x['read']}, write {x['write']}, timeout {x['timeout']})"
ms = lambda us: f"{us / 1000:.2f} ms"
inflight = int(e["INFLIGHT"])
failed = sock(k) + k["errors"]["status"]
ok1 = sock(s) == 0 and s["errors"]["status"] == 0
respawned = bool(e["RESPAWN_MS"]) and bool(e["EXITED_LINE"]) and bool(e["STARTED_LINE"])
bounded = failed <= inflight
print("## Concurrency (benches/http/concurrency.sh)\n")
print(f"- started {e['STARTED']} (UTC); load average {e['LOAD_START']} at start, {e['LOAD_END']} at end")
print(f"- sustained: `{e['CMD_SUSTAINED']}`")
print(f"- worker kill: `{e['CMD_KILL']}`, kill -9 of one worker after {e['KILL_AT']} s\n")
print("| run | req/s | p50 | p99 | max | non-2xx | socket errors |")
print("|---|---:|---:|---:|---:|---:|---|")
for name, w in ((f"{e['CONNS']} conns, {e['DURATION']} s", s), (f"{e['CONNS']} conns, {e['KILL_DURATION']} s, worker killed", k)):
    l = w["latency_us"]
    print(f"| {name} | {w['rps']:,.0f} | {ms(l['p50'])} | {ms(l['p99'])} | {ms(l['max'])} | "
          f"{w['errors']['status']} | {errs(w)} |")
print()
print(f"- established connections per worker (pid:count) halfway through the sustained run: {e['SPREAD_MID']}")
print(f"- sustained run, zero socket errors and zero non-2xx: **{'PASS' if ok1 else 'FAIL'}**")
print(f"- worker kill: workers before `{e['WORKERS_BEFORE'].strip()}`, killed {e['VICTIM']} holding "
      f"{inflight} established connections (all workers: {e['SPREAD_KILL']}); after `{e['WORKERS_AFTER'].strip()}`; "
      f"replacement seen after {e['RESPAWN_MS'] or '?'} ms; connections 2 s after the kill: {e['SPREAD_AFTER']}")
print(f"- error log: `{e['EXITED_LINE'] or '(no exit line)'}` / `{e['STARTED_LINE'] or '(no start line)'}`")
print(f"- master respawned the worker: **{'PASS' if respawned else 'FAIL'}**")
print(f"- failed requests {failed} (socket errors {sock(k)} + non-2xx {k['errors']['status']}) <= the killed "
      f"worker's {inflight} connections: **{'PASS' if bounded else 'FAIL'}**")
with open(e["JSON_OUT"], "w") as f:
    json.dump({"sustained": s, "kill": k, "victim": int(e["VICTIM"]), "victim_established": inflight,
               "workers_before": e["WORKERS_BEFORE"].split(), "workers_after": e["WORKERS_AFTER"].split(),
               "respawn_ms": e["RESPAWN_MS"], "error_log": [e["EXITED_LINE"], e["STARTED_LINE"]],
               "spread_mid": e["SPREAD_MID"], "spread_kill": e["SPREAD_KILL"], "spread_after": e["SPREAD_AFTER"],
               "load_start": e["LOAD_START"], "load_end": e["LOAD_END"], "started": e["STARTED"],
               "commands": [e["CMD_SUSTAINED"], e["CMD_KILL"]],
               "pass": {"sustained": ok1, "respawned": respawned, "bounded": bounded}}, f, indent=1)
sys.exit(0 if ok1 and respawned and bounded else 1)
PY
echo "concurrency: raw results in bench-results/concurrency-$stamp.json" >&2
exit "$rc"
