#!/usr/bin/env bash
# util/measure-memory.sh: the acceptance test "Memory".
#
#   util/measure-memory.sh [TABLE]            (default data/dbip.ipgeo)
#   WORKER_COUNTS="1 2 4 8" LOOKUPS=1000000 util/measure-memory.sh
#
# For each worker count it starts nginx (prefix run/measure-memory/, port
# $PORT, default 18182) with ipgeo opened in init_by_lua, and drives every
# worker through the same phases (a timer in each worker polls a shared dict
# for the phase, so every worker runs it, not only those that get requests):
#
#   lookups  $LOOKUPS db:record() calls on random addresses (80 % IPv4 over
#            1-223.x minus 10/8 and 127/8, 20 % IPv6 in the RIRs' /12s): what
#            real traffic does, and it fills the record cache;
#   touch    reads one byte of every page of the table's mapping (found in
#            /proc/self/maps by the table's checksum), so every page is
#            resident in every worker's page tables: the worst case a
#            long-running worker reaches, and the one where sharing matters;
#   reload   the table file is replaced by rename with a copy (new inode,
#            same contents); every worker reloads it; then touch again.
#
# After each phase it reads /proc/<pid>/smaps of the master and the workers,
# sums Pss of the table's mapping(s) (the snapshot under /dev/shm/ipgeo-<uid>/,
# "(deleted)" once unlinked) and compares the sum with the mapping's Rss in
# one worker: shared pages give a ratio of 1.00 (pass: within 5 %).
#
# Private memory: the same nginx config minus ipgeo (same lua module, same
# timer, the same address generation without the lookups) is the baseline;
# ipgeo's private cost per worker is USS (Private_Clean + Private_Dirty of
# every mapping except the table's) minus the baseline's.
#
# Writes only under run/measure-memory/. Exit 1 if a sharing ratio is off by
# more than 5 %: after the full read (the acceptance criterion) or, unless
# STRICT_RELOAD=0, after the reload (the same promise, kept across reloads).

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TABLE=${1:-${TABLE:-$ROOT/data/dbip.ipgeo}}
PORT=${PORT:-18182}
WORKER_COUNTS=${WORKER_COUNTS:-1 2 4 8}
LOOKUPS=${LOOKUPS:-1000000}
STRICT_RELOAD=${STRICT_RELOAD:-1}   # 0: the after-reload ratio is reported, not checked
NGINX=${NGINX:-$(command -v openresty || command -v nginx || echo /usr/sbin/nginx)}
CLI=$ROOT/target/release/ipgeo
RUN=$ROOT/run/measure-memory
PREFIX=$RUN/nginx
LIVE=$RUN/table.ipgeo
SEED_MB=300

die() { echo "measure-memory: $*" >&2; exit 2; }

[ -f "$TABLE" ] || die "no table at $TABLE (run make data, or pass a path)"
[ -x "$CLI" ] && [ -f "$ROOT/target/release/libipgeo_ffi.so" ] || die "run make build first"
[ -f "$ROOT/nginx-conf/ipgeo_paths.conf" ] || die "nginx-conf/ipgeo_paths.conf missing: run make build"
[ -r /proc/self/smaps_rollup ] || die "needs /proc/<pid>/smaps_rollup (Linux >= 4.14)"
if curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then die "port $PORT is in use"; fi

MASTER=
stop_nginx() {
    [ -n "$MASTER" ] || return 0
    if kill -0 "$MASTER" 2>/dev/null; then
        kill -QUIT "$MASTER" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$MASTER" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$MASTER" 2>/dev/null && kill -TERM "$MASTER" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$MASTER" 2>/dev/null || break; sleep 0.1; done
    fi
    MASTER=
}
trap 'stop_nginx; rm -f "$LIVE" "$RUN/.table.tmp"' EXIT
trap 'exit 130' INT TERM

rm -rf "$PREFIX"
mkdir -p "$PREFIX/conf" "$PREFIX/logs"
cp "$TABLE" "$LIVE"
SUM=$("$CLI" info "$LIVE" | awk '$1 == "checksum:" { print $2 }')
SIZE=$(stat -c %s "$LIVE")

MODULES=
if [ -z "$(echo "$NGINX" | grep openresty || true)" ]; then
    for m in ndk_http_module ngx_http_lua_module; do
        [ -f "/usr/lib/nginx/modules/$m.so" ] && MODULES+="load_module /usr/lib/nginx/modules/$m.so;"$'\n'
    done
fi

# The worker side of the phases, shared by both configs. $1: "ipgeo" or
# "baseline".
write_conf() {
    local kind=$1 workers=$2 ipgeo_http= ipgeo_init= ipgeo_worker=
    if [ "$kind" = ipgeo ]; then
        ipgeo_http="include $ROOT/nginx-conf/ipgeo_paths.conf;
    include $ROOT/nginx-conf/ipgeo_http.conf;"
        ipgeo_init="require(\"ipgeo\").init{ path = \"$LIVE\", check_interval = 1 }"
        ipgeo_worker="require(\"ipgeo\").init_worker()"
    fi
    cat > "$PREFIX/conf/nginx.conf" <<EOF
# Written by util/measure-memory.sh ($kind, $workers workers).
$MODULES
worker_processes $workers;
pid logs/nginx.pid;
error_log logs/error.log notice;

events {
    worker_connections 1024;
}

http {
    access_log off;
    $ipgeo_http
    lua_shared_dict memtest 1m;

    init_by_lua_block {
        $ipgeo_init
        MEMTEST_KIND = "$kind"
    }

    init_worker_by_lua_block {
        $ipgeo_worker
        local ffi = require "ffi"
        local dict = ngx.shared.memtest
        local pid = ngx.worker.pid()
        local done = {}
        local V6 = { 0x2001, 0x2400, 0x2600, 0x2800, 0x2a00, 0x2c00 }
        local random, fmt = math.random, string.format

        local function address()
            if random() < 0.8 then
                local a
                repeat a = random(1, 223) until a ~= 10 and a ~= 127
                return fmt("%d.%d.%d.%d", a, random(0, 255), random(0, 255), random(0, 255))
            end
            local h = V6[random(#V6)]
            if h ~= 0x2001 then h = h + random(0, 15) end
            return fmt("%x:%x:%x:%x:%x:%x:%x:%x", h, random(0, 65535), random(0, 65535),
                       random(0, 65535), random(0, 65535), random(0, 65535),
                       random(0, 65535), random(0, 65535))
        end

        local function lookups()
            local db = MEMTEST_KIND == "ipgeo" and require("ipgeo").get()
            local found = 0
            for _ = 1, $LOOKUPS do
                local ip = address()
                if db and db:record(ip) then found = found + 1 end
            end
            return "found=" .. found
        end

        -- Reads one byte per page of every mapping of the table (matched by
        -- its checksum in the snapshot's name).
        local function touch()
            if MEMTEST_KIND ~= "ipgeo" then return "pages=0" end
            local sum = require("ipgeo").get():info().checksum
            local pages, acc = 0, 0
            for line in io.lines("/proc/self/maps") do
                local a, b, path = line:match("^(%x+)-(%x+) r%-%-s %x+ %S+ %d+%s+(.*)$")
                if path and path:find("/ipgeo-", 1, true) and path:find(sum, 1, true) then
                    local lo, hi = tonumber(a, 16), tonumber(b, 16)
                    local p = ffi.cast("const volatile uint8_t *", lo)
                    for off = 0, hi - lo - 1, 4096 do
                        acc = acc + p[off]
                        pages = pages + 1
                    end
                end
            end
            return "pages=" .. pages .. " acc=" .. acc
        end

        local function state()
            local db = MEMTEST_KIND == "ipgeo" and require("ipgeo").get()
            collectgarbage()
            return fmt(" cached=%d lua_kb=%d gen=%d", db and db.cached or 0,
                       collectgarbage("count"), db and db:generation() or 0)
        end

        local function poll(premature)
            if premature then return end
            local phase = dict:get("phase")
            if phase and not done[phase] then
                done[phase] = true
                local ok, res = pcall(phase:find("^touch") and touch or lookups)
                dict:set("done:" .. phase .. ":" .. pid, (ok and res or ("error " .. tostring(res))) .. state())
            end
        end
        assert(ngx.timer.every(0.05, poll))
    }

    server {
        listen 127.0.0.1:$PORT;
        location = /phase {
            content_by_lua_block {
                ngx.shared.memtest:set("phase", ngx.var.arg_p)
                ngx.say("ok")
            }
        }
        location = /done {
            content_by_lua_block {
                local d = ngx.shared.memtest
                for _, k in ipairs(d:get_keys(0)) do
                    if k:sub(1, #("done:" .. ngx.var.arg_p .. ":")) == "done:" .. ngx.var.arg_p .. ":" then
                        ngx.say(k:match(":(%d+)$"), " ", d:get(k))
                    end
                end
            }
        }
        location = /status {
            content_by_lua_block {
                local st = MEMTEST_KIND == "ipgeo" and require("ipgeo").status()
                local out = {}
                for pid, v in pairs(st and st.workers or {}) do out[#out + 1] = pid .. "=" .. v.generation end
                ngx.say(table.concat(out, " "))
            }
        }
    }
}
EOF
}

start_nginx() {
    local kind=$1 workers=$2
    write_conf "$kind" "$workers"
    : > "$PREFIX/logs/error.log"
    "$NGINX" -p "$PREFIX/" -c conf/nginx.conf -e logs/error.log
    MASTER=$(cat "$PREFIX/logs/nginx.pid")
    for _ in $(seq 100); do
        [ "$(worker_pids | wc -l)" -eq "$workers" ] && curl -s -o /dev/null "http://127.0.0.1:$PORT/done" && return 0
        sleep 0.1
    done
    die "nginx ($kind, $workers workers) did not start: $(tail -3 "$PREFIX/logs/error.log")"
}

worker_pids() { ps -o pid=,args= --ppid "$MASTER" | awk '/worker process/ { print $1 }'; }

# Runs a phase in every worker; leaves "pid info" lines in $PHASE_OUT.
run_phase() {
    local phase=$1 workers=$2
    curl -s -o /dev/null "http://127.0.0.1:$PORT/phase?p=$phase"
    for _ in $(seq 1200); do
        PHASE_OUT=$(curl -s "http://127.0.0.1:$PORT/done?p=$phase")
        [ "$(grep -c . <<<"$PHASE_OUT")" -ge "$workers" ] && break
        sleep 0.1
    done
    [ "$(grep -c . <<<"$PHASE_OUT")" -ge "$workers" ] || die "phase $phase did not finish in every worker"
    if grep -q ' error ' <<<"$PHASE_OUT"; then die "phase $phase failed: $PHASE_OUT"; fi
}

# kB of the table's mapping(s) in a process: "rss pss private".
table_kb() {
    awk -v sum="$SUM" '
        /^[0-9a-f]+-[0-9a-f]+ / { on = ($0 ~ "/ipgeo-[0-9]+/" && index($0, sum) > 0) ; next }
        on && /^Rss:/ { rss += $2 } on && /^Pss:/ { pss += $2 }
        on && /^Private_(Clean|Dirty):/ { priv += $2 }
        END { printf "%d %d %d\n", rss, pss, priv }' "/proc/$1/smaps"
}

# kB of a whole process: "rss pss uss".
rollup_kb() {
    awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { u += $2 }
         END { printf "%d %d %d\n", r, p, u }' "/proc/$1/smaps_rollup"
}

# kB of RAM held by the distinct table snapshot files that the master and
# the workers map (tmpfs pages are RAM whether or not a process has touched
# them; an unlinked file lives until its last mapping goes): "files kb".
snapshot_files_kb() {
    local pid
    for pid in "$MASTER" $(worker_pids); do
        awk -v sum="$SUM" '$6 ~ "/ipgeo-[0-9]+/" && index($6, sum) > 0 { print $1, $4 ":" $5 }' \
            "/proc/$pid/maps" | while read -r range id; do
            echo "$id $(stat -L -c %b "/proc/$pid/map_files/$range" 2>/dev/null || echo 0)"
        done
    done | sort -u -k1,1 | awk '{ n++; k += $2 / 2 } END { printf "%d %d\n", n, k }'
}

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# Sharing after a phase: prints "rss_one_worker sum_pss_workers sum_pss_all
# master_rss ratio".
sharing() {
    local rss_one=0 sum_w=0 master r p _ n=0 rss_max=0
    for w in $(worker_pids); do
        read -r r p _ < <(table_kb "$w")
        sum_w=$((sum_w + p))
        [ "$r" -gt "$rss_max" ] && rss_max=$r
        n=$((n + 1))
    done
    rss_one=$rss_max
    read -r master p _ < <(table_kb "$MASTER")
    local sum_all=$((sum_w + p))
    local ratio
    ratio=$(awk -v a="$sum_all" -v b="$rss_one" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')
    echo "$rss_one $sum_w $sum_all $master $ratio"
}

# Mean USS of the workers, all mappings and without the table's: "uss uss_ex".
worker_uss() {
    local tot=0 ex=0 n=0 u tp
    for w in $(worker_pids); do
        read -r _ _ u < <(rollup_kb "$w")
        read -r _ _ tp < <(table_kb "$w")
        tot=$((tot + u)); ex=$((ex + u - tp)); n=$((n + 1))
    done
    echo "$((tot / n)) $((ex / n))"
}

# kB: Σ Pss of every mapping of the master and the workers (the instance's
# whole footprint, each shared page counted once).
total_pss_kb() {
    local t=0 p pid
    for pid in "$MASTER" $(worker_pids); do
        read -r _ p _ < <(rollup_kb "$pid")
        t=$((t + p))
    done
    echo "$t"
}

declare -a SHARE_ROWS PRIV_ROWS
FAIL=()
echo "measure-memory: table $TABLE ($SUM, $SIZE bytes); $LOOKUPS lookups per worker; nginx $("$NGINX" -v 2>&1 | sed 's/.*\///')" >&2

for n in $WORKER_COUNTS; do
    # Baseline first: the same config minus ipgeo.
    start_nginx baseline "$n"
    run_phase lookups "$n"
    read -r b_uss _ < <(worker_uss)
    b_lua_kb=$(sed -n 's/.* lua_kb=\([0-9]*\).*/\1/p' <<<"$PHASE_OUT" | sort -n | tail -1)
    stop_nginx

    start_nginx ipgeo "$n"
    read -r s0_rss s0_sw s0_sa s0_m s0_r < <(sharing)
    run_phase lookups "$n"
    read -r s1_rss s1_sw s1_sa s1_m s1_r < <(sharing)
    read -r i_uss i_uss_ex < <(worker_uss)
    cached=$(sed -n 's/.* cached=\([0-9]*\).*/\1/p' <<<"$PHASE_OUT" | sort -n | tail -1)
    lua_kb=$(sed -n 's/.* lua_kb=\([0-9]*\).*/\1/p' <<<"$PHASE_OUT" | sort -n | tail -1)
    found=$(sed -n 's/.*found=\([0-9]*\).*/\1/p' <<<"$PHASE_OUT" | head -1)
    run_phase touch "$n"
    read -r s2_rss s2_sw s2_sa s2_m s2_r < <(sharing)
    read -r t_uss t_uss_ex < <(worker_uss)
    read -r f2_n f2_kb < <(snapshot_files_kb)
    total2=$(total_pss_kb)

    # A reload: a copy renamed over the file (new inode, same contents).
    cp "$LIVE" "$RUN/.table.tmp"
    mv "$RUN/.table.tmp" "$LIVE"
    for _ in $(seq 200); do
        st=$(curl -s "http://127.0.0.1:$PORT/status")
        [ "$(grep -o '=2' <<<"$st" | wc -l)" -ge "$n" ] && break
        sleep 0.05
    done
    [ "$(grep -o '=2' <<<"$st" | wc -l)" -ge "$n" ] || die "the workers did not reload: $st"
    run_phase touch_reloaded "$n"
    read -r s3_rss s3_sw s3_sa s3_m s3_r < <(sharing)
    read -r r_uss r_uss_ex < <(worker_uss)
    read -r f3_n f3_kb < <(snapshot_files_kb)
    stop_nginx

    ok=$(awk -v r="$s2_r" 'BEGIN { print (r >= 0.95 && r <= 1.05) ? "yes" : "**no**" }')
    [ "$ok" = yes ] || FAIL+=("$n workers: sum Pss / Rss = $s2_r after the full read")
    ok_reload=$(awk -v r="$s3_r" 'BEGIN { print (r >= 0.95 && r <= 1.05) ? "yes" : "**no**" }')
    [ "$ok_reload" = yes ] || [ "$STRICT_RELOAD" = 0 ] \
        || FAIL+=("$n workers: after a reload, sum Pss / Rss = $s3_r: the workers do not share the reloaded table")
    SHARE_ROWS+=("| $n | $(mb "$s1_rss") / $(mb "$s1_sa") = $s1_r | $(mb "$s2_rss") | $(mb "$s2_sw") | $(mb "$s2_m") | $(mb "$s2_sa") | **$s2_r** ($ok) | $f2_n, $(mb "$f2_kb") | $(mb "$s3_rss") / $(mb "$s3_sa") = $s3_r ($ok_reload) | $f3_n, $(mb "$f3_kb") |")
    PRIV_ROWS+=("| $n | $(mb "$b_uss") | $(mb "$i_uss_ex") | **$(mb $((i_uss_ex - b_uss)))** | $(mb "$t_uss") | $(mb "$r_uss") | $cached | $(mb "$lua_kb") / $(mb "$b_lua_kb") | $(mb "$total2") | $SEED_MB × $n = $((SEED_MB * n)) |")
    echo "measure-memory: $n workers done (ratio $s2_r, after reload $s3_r)" >&2
done

cat <<EOF

### Memory ($(date -u +%Y-%m-%d), nginx $("$NGINX" -v 2>&1 | sed 's/.*\///'), table $(basename "$TABLE"): $(mb $((SIZE / 1024))) MB)

Sharing of the table's mapping (MB, from /proc/<pid>/smaps). "Full read": every worker read one byte of
every page of the mapping. Ratio = Σ Pss (master + workers) / Rss in one worker; 1.00 means one copy in RAM.
"Snapshot files mapped": distinct table files mapped by the master and the workers, and the RAM their
tmpfs pages hold (st_blocks through /proc/<pid>/map_files), touched or not.

| workers | after $LOOKUPS lookups: Rss / Σ Pss = ratio | full read: Rss, one worker | Σ Pss workers | master Rss | Σ Pss all | ratio (±5 %) | snapshot files mapped: count, RAM | after a reload + full read: Rss / Σ Pss = ratio | snapshot files mapped: count, RAM |
|---:|---|---:|---:|---:|---:|---|---|---|---|
$(printf '%s\n' "${SHARE_ROWS[@]}")

Private memory per worker (MB; USS = Private_Clean + Private_Dirty, mean over the workers). Baseline: the
same config without ipgeo, same timer and address generation. "ex. table" leaves out the table's mapping,
whose pages count as private when only one process maps them.

| workers | USS baseline | USS ipgeo, ex. table, after lookups | ipgeo's private cost | USS ipgeo incl. table, after full read | same after a reload | records cached | Lua heap ipgeo / baseline (MB) | whole nginx: Σ Pss, after full read | seed: 300 MB per gunicorn worker |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
$(printf '%s\n' "${PRIV_ROWS[@]}")
EOF

if [ "${#FAIL[@]}" -gt 0 ]; then
    echo
    echo "**FAIL**"
    printf -- '- %s\n' "${FAIL[@]}"
    exit 1
fi
echo
echo "**PASS**: Σ Pss is within 5 % of one worker's Rss for every worker count, after the full read$([ "$STRICT_RELOAD" = 0 ] || echo " and after a reload")."
