#!/usr/bin/env bash
# benches/http/bench.sh: the HTTP API against nginx baselines (make bench-http).
#
#   benches/http/bench.sh                    5 rounds x 10 s, 100 and 1000 connections
#   QUICK=1 benches/http/bench.sh            1 round x 3 s (a smoke run: numbers are rough)
#   ROUNDS=7 DURATION=20 CONNS="100 1000 5000" CONTENDERS="return200 ipgeo_get" benches/http/bench.sh
#
# One nginx (prefix run/bench/nginx/, 127.0.0.1:$PORT, worker_processes auto,
# tuned like util/run.sh) serves every contender on its own location:
#
#   return200   nginx `return 200` with a small JSON body
#   geoip2      ngx_http_geoip2_module on the DB-IP IPv4 MMDB, JSON from its variables
#   lua_say     content_by_lua_block { ngx.say("ok") }: the cost of entering Lua
#   ipgeo_get   ipgeo's API, GET /api/ip_query?ip=...
#   ipgeo_post  ipgeo's API, POST /api/ip_query {"ip": "..."}
#
# Every request asks about a random address from a fixed list ($NADDR random
# IPv4 addresses, seed $SEED, all covered by the database). For each
# connection count, each of $ROUNDS rounds runs every contender in turn
# (the order rotates each round) for $DURATION seconds with
# `wrk -t$THREADS -c<conns> --latency`. The report gives medians over rounds,
# and ratios as medians of per-round ratios, so that the noise of this shared
# machine cancels. It also reports the nginx workers' CPU time per request
# (/proc/<pid>/stat, user + system, including the kernel's network work),
# which other jobs on the machine disturb much less than req/s. Then the batch server time: $BATCH_REQUESTS POSTs of
# $BATCH_SIZE addresses on one keep-alive connection to a handler with
# timing = true, summarising its X-Ipgeo-Time header.
#
# Output: the markdown report on stdout and in run/bench/latest.md; the raw
# results as JSON in bench-results/http-<time>.json; wrk's own output in
# run/bench/wrk/.

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=benches/http/lib.sh
. "$ROOT/benches/http/lib.sh"

if [ "${QUICK:-0}" = 1 ]; then
    ROUNDS=${ROUNDS:-1} DURATION=${DURATION:-3} WARMUP=${WARMUP:-1} BATCH_REQUESTS=${BATCH_REQUESTS:-500}
fi
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CONNS=${CONNS:-100 1000}
THREADS=${THREADS:-2}
PORT=${PORT:-18200}
CONTENDERS=${CONTENDERS:-return200 geoip2 lua_say ipgeo_get ipgeo_post}
BATCH_REQUESTS=${BATCH_REQUESTS:-3000}
BATCH_SIZE=${BATCH_SIZE:-100}

RUN=$ROOT/run/bench
PREFIX=$RUN/nginx
WRK_OUT=$RUN/wrk
RESULTS_DIR=$ROOT/bench-results

declare -A PATH_OF=([return200]=/return200 [geoip2]=/geoip2 [lua_say]=/lua_say
                    [ipgeo_get]=/api/ip_query [ipgeo_post]=/api/ip_query)
declare -A MODE_OF=([return200]=get [geoip2]=get [lua_say]=get [ipgeo_get]=get [ipgeo_post]=post)

read -r -a contenders <<< "$CONTENDERS"
read -r -a conns_list <<< "$CONNS"
for c in "${contenders[@]}"; do
    [ -n "${PATH_OF[$c]:-}" ] || die "unknown contender $c (known: ${!PATH_OF[*]})"
done

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
max_conns=0
for c in "${conns_list[@]}"; do [ "$c" -gt "$max_conns" ] && max_conns=$c; done
raise_nofile 65536 $(( max_conns + 100 ))

mkdir -p "$RUN" "$WRK_OUT" "$RESULTS_DIR"
rm -f "$WRK_OUT"/*.txt
ADDRS=$(address_file)
RESULTS=$RUN/results.jsonl
: > "$RESULTS"

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_start=$(loadavg)
start_nginx "$PREFIX" "$PORT"
MASTER=$(master_pid "$PREFIX")
workers=$(workers_of "$MASTER" | wc -l)
CLK_TCK=$(getconf CLK_TCK)

# One wrk run; its output goes to $2, its JSON summary line to $LAST_JSON.
# (Not in a $(...) subshell: the EXIT trap must see WRK_PID.)
LAST_JSON=
run_wrk() {
    local name=$1 out=$2 conns=$3 secs=$4
    local t0 t1
    t0=$(worker_ticks "$MASTER")
    wrk -t"$THREADS" -c"$conns" -d"${secs}s" --latency -s "$HTTP_DIR/addrs.lua" \
        "http://127.0.0.1:$PORT${PATH_OF[$name]}" -- "$ADDRS" "${MODE_OF[$name]}" "$SEED" > "$out" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || die "wrk failed for $name (see $out)"
    WRK_PID=
    t1=$(worker_ticks "$MASTER")
    LAST_TICKS=$(( t1 - t0 ))
    LAST_JSON=$(wrk_json "$out")
    [ -n "$LAST_JSON" ] || die "no WRK_JSON line from wrk for $name (see $out)"
}

# Every contender must answer 200 with a body before anything is timed.
probe=$(head -n1 "$ADDRS")
for c in "${contenders[@]}"; do
    if [ "${MODE_OF[$c]}" = post ]; then
        body=$(curl -fsS -d "{\"ip\":\"$probe\"}" "http://127.0.0.1:$PORT${PATH_OF[$c]}") \
            || die "$c does not answer 200 for $probe"
    else
        body=$(curl -fsS "http://127.0.0.1:$PORT${PATH_OF[$c]}?ip=$probe") \
            || die "$c does not answer 200 for $probe"
    fi
    printf '%-11s %s\n' "$c" "$body" >&2
done

total=$(( ${#conns_list[@]} * ROUNDS * ${#contenders[@]} * DURATION + ${#contenders[@]} * WARMUP ))
echo "bench-http: ${#contenders[@]} contenders x {${CONNS}} connections x $ROUNDS rounds x ${DURATION}s" \
     "(about $(( total / 60 + 1 )) min of wrk), $workers workers, load average $load_start" >&2

# Warm-up (not recorded): JIT traces, page cache of both databases.
for c in "${contenders[@]}"; do
    run_wrk "$c" "$WRK_OUT/warmup-$c.txt" "${conns_list[0]}" "$WARMUP"
done

n=${#contenders[@]}
for conns in "${conns_list[@]}"; do
    for round in $(seq 1 "$ROUNDS"); do
        for i in $(seq 0 $(( n - 1 ))); do
            c=${contenders[$(( (i + round - 1) % n ))]}
            run_wrk "$c" "$WRK_OUT/c$conns-r$round-$c.txt" "$conns" "$DURATION"
            json=$LAST_JSON
            printf '{"conns":%d,"round":%d,"order":%d,"contender":"%s","worker_cpu_ticks":%d,"clk_tck":%d,"wrk":%s}\n' \
                "$conns" "$round" "$i" "$c" "$LAST_TICKS" "$CLK_TCK" "$json" >> "$RESULTS"
            printf '  c=%-5s round %d/%d %-11s %s req/s\n' "$conns" "$round" "$ROUNDS" "$c" \
                "$(python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])["rps"]))' "$json")" >&2
        done
    done
done

echo "bench-http: batch server time ($BATCH_REQUESTS x $BATCH_SIZE addresses)" >&2
python3 "$HTTP_DIR/batch.py" --port "$PORT" --path /api/ip_query_timed --addrs "$ADDRS" \
    --requests "$BATCH_REQUESTS" --size "$BATCH_SIZE" --seed "$SEED" --master-pid "$MASTER" > "$RUN/batch.json"

load_end=$(loadavg)
finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)
stamp=$(date -u +%Y%m%d-%H%M%S)

cmdline="ROUNDS=$ROUNDS DURATION=$DURATION CONNS=\"$CONNS\" THREADS=$THREADS benches/http/bench.sh"
contender_meta=()
for c in "${contenders[@]}"; do
    contender_meta+=(--contender "$c=wrk -t$THREADS -c<conns> -d${DURATION}s --latency -s benches/http/addrs.lua http://127.0.0.1:$PORT${PATH_OF[$c]} -- ${ADDRS#"$ROOT"/} ${MODE_OF[$c]} $SEED")
done
python3 "$HTTP_DIR/summarise.py" --results "$RESULTS" --batch "$RUN/batch.json" \
    --json-out "$RESULTS_DIR/http-$stamp.json" "${contender_meta[@]}" \
    --meta "command=$cmdline" --meta "started=$started" --meta "finished=$finished" \
    --meta "load_start=$load_start" --meta "load_end=$load_end" --meta "workers=$workers" \
    --meta "threads=$THREADS" --meta "rounds=$ROUNDS" --meta "duration=$DURATION" \
    --meta "addresses=$NADDR random IPv4 (seed $SEED) covered by $(basename "$TABLE")" \
    --meta "nginx=$("$NGINX" -v 2>&1 | sed 's/^nginx version: nginx\///')" \
    --meta "wrk=$(wrk --version 2>&1 | head -n1 | awk '{print $2}')" \
    --meta "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --meta "cpus=$(nproc)" \
    | tee "$RUN/latest.md"
echo "bench-http: raw results in bench-results/http-$stamp.json" >&2
