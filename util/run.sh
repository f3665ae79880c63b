#!/usr/bin/env bash
# Start, stop or reload ipgeo's IP-query service (make run / make stop).
#
#   util/run.sh start [TABLE]   write run/nginx.conf, start nginx on 127.0.0.1:8080
#   util/run.sh stop
#   util/run.sh reload          nginx -s reload (HUP)
#
# Everything nginx writes (pid, logs, temp files) stays under run/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN=$ROOT/run
NGINX=${NGINX:-$(command -v openresty || command -v nginx || echo /usr/sbin/nginx)}
PORT=8080

pid() { cat "$RUN/logs/nginx.pid" 2>/dev/null; }
running() { local p; p=$(pid) && kill -0 "$p" 2>/dev/null; }

write_conf() {
    local table=$1 modules=""
    if [[ $NGINX != *openresty* ]]; then
        for m in ndk_http_module ngx_http_lua_module; do
            [ -f "/usr/lib/nginx/modules/$m.so" ] && modules+="load_module /usr/lib/nginx/modules/$m.so;"$'\n'
        done
    fi
    mkdir -p "$RUN/logs"
    cat > "$RUN/nginx.conf" <<CONF
# Written by util/run.sh (make run): ipgeo's IP-query service on 127.0.0.1:$PORT.
${modules}
# One worker per core; each needs a file descriptor per connection (client
# and, for a gateway, upstream), so the limits sit well above the 5,000
# concurrent connections this service is tested with.
worker_processes auto;
worker_rlimit_nofile 262144;
pid logs/nginx.pid;
error_log logs/error.log notice;

events {
    worker_connections 65536;
    multi_accept on;
}

http {
    include $ROOT/nginx-conf/ipgeo_paths.conf;
    include $ROOT/nginx-conf/ipgeo_http.conf;

    # The table: IPGEO_TABLE in the environment of the process starting nginx.
    include $ROOT/nginx-conf/ipgeo_init.conf;

    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    server_tokens off;

    include $ROOT/nginx-conf/ipgeo_api_server.conf;
}
CONF
}

case ${1:-} in
start)
    table=${2:-$ROOT/data/default.ipgeo}
    [ -f "$table" ] || { echo "run: $table is missing (make data)" >&2; exit 1; }
    if running; then
        echo "run: already running (pid $(pid)); restarting" >&2
        "$0" stop
    fi
    write_conf "$table"
    IPGEO_TABLE=$table "$NGINX" -p "$RUN" -c nginx.conf
    for _ in $(seq 50); do
        curl -fsS -o /dev/null "http://127.0.0.1:$PORT/api/ip_query?ip=1.2.4.8" 2>/dev/null && break
        sleep 0.1
    done
    running || { echo "run: nginx did not start; see $RUN/logs/error.log" >&2; exit 1; }
    cat <<MSG
ipgeo is serving on http://127.0.0.1:$PORT (pid $(pid); logs in run/logs/; table $table).
Try:
  curl 'http://127.0.0.1:$PORT/api/ip_query?ip=1.2.4.8'
  curl 'http://127.0.0.1:$PORT/api/ip_query?ip=2001:4860:4860::8888'
  curl -d '{"ips": ["8.8.8.8", "240e:3a1::1", "not-an-ip"]}' http://127.0.0.1:$PORT/api/ip_query
Stop it with: make stop
MSG
    ;;
stop)
    if running; then
        kill -QUIT "$(pid)"
        for _ in $(seq 100); do running || break; sleep 0.1; done
        running && kill -TERM "$(pid)"
        echo "run: stopped"
    else
        echo "run: not running"
    fi
    ;;
reload)
    running || { echo "run: not running" >&2; exit 1; }
    kill -HUP "$(pid)"
    echo "run: reloaded (HUP)"
    ;;
*)
    echo "usage: util/run.sh start [TABLE] | stop | reload" >&2
    exit 2
    ;;
esac
